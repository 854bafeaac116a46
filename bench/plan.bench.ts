// `npm run bench -- plan [--sizes 1,10,100,500] [--repeats 3] [--from-source] [--record]`: what the offline plan
// costs for a fleet of N LKE clusters with two blue-green pools each. It times the real command,
// `npm run plan -- fleet --first-deployment` (the CLI and its capture child), against a baseline measured in the
// same run: bench/raw-lke-fleet.ts, which registers the same resource types and count directly under the same
// mocks and the same capture child, with no planner (bench/raw-fleet-child.ts). Both start as `npm run plan`
// does, from the compiled build (tools/compiled.cjs). --from-source adds the plan with its capture run through
// tsx with every stack trace kept (K8SU_CAPTURE_FROM_SOURCE=1), as it ran before the compiled build, and checks
// that both print the same plan, byte for byte.
// Each cell runs --repeats times (at least 3), in alternating order; the table gives the median (min–max) of the
// wall time, the CPU time (user + system, the child included: steadier than wall time on a shared machine) and
// the peak RSS of the largest process. Results go to a temporary file; only --record writes
// bench/results/plan.json and the table in docs/benchmarks.md.
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs, promisify } from "node:util";
import * as YAML from "yaml";
import { PROVIDER_VERSIONS } from "../components/config/supported-versions";
import { FROM_SOURCE_ENV } from "../tools/harness";
import { BENCH_PAGE, writeBenchTable } from "./doc-table";

const ROOT = path.join(__dirname, "..");
const STACK = "fleet";
const TIME = "/usr/bin/time";
const VARIANTS = ["baseline", "plan", "plan-from-source"] as const;
type Variant = (typeof VARIANTS)[number];
const LABEL: Record<Variant, string> = {
    baseline: "raw registration (baseline)",
    plan: "plan --first-deployment",
    "plan-from-source": "plan, capture from source (before)",
};

interface Run {
    variant: Variant;
    clusters: number;
    resources: number;
    wallSeconds: number;
    cpuSeconds: number;
    peakRssMb: number;
}

interface Spread {
    median: number;
    min: number;
    max: number;
}

interface Cell {
    variant: Variant;
    clusters: number;
    resources: number;
    runs: number;
    wallSeconds: Spread;
    cpuSeconds: Spread;
    peakRssMb: Spread;
    /** Median against the baseline's median at the same N. */
    wallVsBaseline: number;
    cpuVsBaseline: number;
}

/** A stack file of n LKE clusters, two pools each, moved blue-green, at a version LKE offers. */
export function fleetConfig(n: number): string {
    const version = PROVIDER_VERSIONS.lke.minors.at(-1);
    const clusters = Array.from({ length: n }, (_, i) => ({
        name: `c${String(i).padStart(3, "0")}`,
        provider: "lke",
        kubernetesVersion: version,
        lke: { region: "us-ord" },
        nodePools: [
            { name: "web", count: 3, type: "g6-standard-2" },
            { name: "batch", count: 2, type: "g6-dedicated-4" },
        ],
        workers: { strategy: "blue-green", drain: { deleteEmptyDirData: false } },
    }));
    return YAML.stringify({ config: { "k8s-upgrades:clusters": clusters } });
}

function commandFor(variant: Variant, stackDir: string): { args: string[]; env: NodeJS.ProcessEnv } {
    const env = { ...process.env };
    delete env[FROM_SOURCE_ENV];
    // Both sides start as `npm run plan` does (tools/compiled.cjs); the from-source variant runs all of it
    // through tsx, as the plan ran before the compiled build.
    const launcher = path.join(ROOT, "tools", "compiled.cjs");
    if (variant === "baseline") return { args: [launcher, "bench/raw-fleet-child", stackDir], env };
    if (variant === "plan-from-source") env[FROM_SOURCE_ENV] = "1";
    return { args: [launcher, "tools/plan", STACK, "--first-deployment", "--stack-dir", stackDir], env };
}

/** One timed run under GNU time, which reports the largest RSS of the process and the children it waited for. */
async function measure(variant: Variant, clusters: number, stackDir: string): Promise<{ run: Run; stdout: string }> {
    const { args, env } = commandFor(variant, stackDir);
    const timeFile = path.join(stackDir, "time.txt");
    const { stdout } = await promisify(execFile)(
        TIME,
        ["-f", "%e %U %S %M", "-o", timeFile, process.execPath, ...args],
        { cwd: ROOT, env, maxBuffer: 256 * 1024 * 1024 },
    );
    const fields = fs.readFileSync(timeFile, "utf8").trim().split("\n").at(-1)?.split(" ").map(Number) ?? [];
    if (fields.length !== 4 || fields.some((f) => !Number.isFinite(f)))
        throw new Error(`${TIME} wrote no timing for ${variant} at N = ${clusters}`);
    const [wall, user, system, rssKb] = fields;
    const count = /resources: (\d+)|policies evaluated over (\d+) resources/.exec(stdout);
    if (!count) throw new Error(`${variant} at N = ${clusters} printed no resource count:\n${stdout.slice(0, 2000)}`);
    const run: Run = {
        variant,
        clusters,
        resources: Number(count[1] ?? count[2]),
        wallSeconds: wall,
        cpuSeconds: Number((user + system).toFixed(2)),
        peakRssMb: Math.round(rssKb / 1024),
    };
    return { run, stdout };
}

/** The plan's text must not depend on how its capture ran: every plan run at one N prints the same bytes. */
function checkSamePlan(texts: Map<number, string>, variant: Variant, clusters: number, stdout: string): void {
    if (variant === "baseline") return;
    const first = texts.get(clusters);
    if (first === undefined) texts.set(clusters, stdout);
    else if (first !== stdout) throw new Error(`N = ${clusters}: ${LABEL[variant]} printed another plan`);
}

function spread(values: number[]): Spread {
    const sorted = [...values].sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    return { median, min: sorted[0], max: sorted[sorted.length - 1] };
}

function cellsFor(runs: Run[], clusters: number, variants: readonly Variant[]): Cell[] {
    const of = (v: Variant) => runs.filter((r) => r.variant === v && r.clusters === clusters);
    const base = of("baseline");
    const counts = new Set(runs.filter((r) => r.clusters === clusters).map((r) => r.resources));
    if (counts.size !== 1)
        throw new Error(`N = ${clusters}: the baseline no longer registers what the plan does (${[...counts]})`);
    const baseWall = spread(base.map((r) => r.wallSeconds)).median;
    const baseCpu = spread(base.map((r) => r.cpuSeconds)).median;
    return variants.map((variant) => {
        const rs = of(variant);
        const wallSeconds = spread(rs.map((r) => r.wallSeconds));
        const cpuSeconds = spread(rs.map((r) => r.cpuSeconds));
        return {
            variant,
            clusters,
            resources: rs[0].resources,
            runs: rs.length,
            wallSeconds,
            cpuSeconds,
            peakRssMb: spread(rs.map((r) => r.peakRssMb)),
            wallVsBaseline: wallSeconds.median / baseWall,
            cpuVsBaseline: cpuSeconds.median / baseCpu,
        };
    });
}

function range(s: Spread, digits: number, unit: string): string {
    return `${s.median.toFixed(digits)}${unit} (${s.min.toFixed(digits)}–${s.max.toFixed(digits)})`;
}

export function markdownTable(cells: Cell[]): string {
    const rows = [
        "| N clusters | resources | run | wall time | CPU time | peak RSS | wall vs baseline | CPU vs baseline |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
        ...cells.map(
            (c) =>
                `| ${c.clusters} | ${c.resources} | ${LABEL[c.variant]} | ${range(c.wallSeconds, 1, " s")} | ${range(c.cpuSeconds, 1, " s")} | ${range(c.peakRssMb, 0, " MB")} | ${c.wallVsBaseline.toFixed(2)} | ${c.cpuVsBaseline.toFixed(2)} |`,
        ),
    ];
    return `${rows.join("\n")}\n`;
}

/** Peak RSS per added cluster between consecutive sizes: flat when memory grows linearly. */
function memorySlopes(cells: Cell[], variant: Variant): string {
    const own = cells.filter((c) => c.variant === variant);
    const slopes = own.slice(1).map((c, i) => {
        const prev = own[i];
        const mb = (c.peakRssMb.median - prev.peakRssMb.median) / (c.clusters - prev.clusters);
        return `${prev.clusters}→${c.clusters}: ${mb.toFixed(2)} MB`;
    });
    return slopes.length > 0 ? `${LABEL[variant]}, peak RSS per added cluster: ${slopes.join(", ")}` : "";
}

function options() {
    const { values } = parseArgs({
        options: {
            sizes: { type: "string", default: "1,10,100,500" },
            repeats: { type: "string", default: "3" },
            "from-source": { type: "boolean", default: false },
            record: { type: "boolean", default: false },
        },
    });
    const sizes = values.sizes.split(",").map(Number);
    if (sizes.some((n) => !Number.isInteger(n) || n < 1))
        throw new Error(`--sizes ${values.sizes}: give whole numbers of clusters, such as 1,10,100`);
    const repeats = Number(values.repeats);
    if (!Number.isInteger(repeats) || repeats < 3) throw new Error(`--repeats ${values.repeats}: give 3 or more`);
    const variants = VARIANTS.filter((v) => v !== "plan-from-source" || values["from-source"]);
    return { sizes, repeats, variants, record: values.record };
}

function writeResults(result: Record<string, unknown>, table: string, record: boolean, sizes: number[]): void {
    const out = record
        ? path.join(__dirname, "results", "plan.json")
        : path.join(fs.mkdtempSync(path.join(os.tmpdir(), "plan-bench-")), "plan.json");
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
    console.log(
        `wrote ${out}${record ? "" : ` (pass --record to replace bench/results/plan.json and the table in ${BENCH_PAGE})`}`,
    );
    if (!record) return;
    const when = String(result.measuredAt).slice(0, 10);
    const intro = `Measured with \`npm run bench -- plan --record\` on ${os.cpus().length} CPU(s), N = ${sizes.join(", ")}, ${result.repeats} runs per cell, median (min–max) (${when}):\n\n`;
    console.log(`regenerated the table in ${writeBenchTable("plan", `${intro}${table}`)}`);
}

export async function main(): Promise<void> {
    const opts = options();
    if (!fs.existsSync(TIME)) throw new Error(`${TIME} (GNU time) is needed for the peak RSS of the child process`);
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "plan-bench-"));
    const stackDir = (n: number) => path.join(work, String(n));
    for (const n of [...new Set([1, ...opts.sizes])]) {
        fs.mkdirSync(stackDir(n));
        fs.writeFileSync(path.join(stackDir(n), `Pulumi.${STACK}.yaml`), fleetConfig(n));
    }
    // Untimed: builds the compiled capture and fills tsx's cache, which a timed run must not pay for.
    for (const v of opts.variants) await measure(v, 1, stackDir(1));
    console.log(`${opts.variants.map((v) => LABEL[v]).join(" / ")}; ${opts.repeats} runs per cell\n`);
    const runs: Run[] = [];
    const cells: Cell[] = [];
    const texts = new Map<number, string>();
    for (const n of opts.sizes) {
        for (let i = 0; i < opts.repeats; i++) {
            // Alternate the order so that no variant always runs on a warmer (or busier) machine.
            const order = i % 2 ? [...opts.variants].reverse() : opts.variants;
            for (const v of order) {
                const { run, stdout } = await measure(v, n, stackDir(n));
                checkSamePlan(texts, v, n, stdout);
                runs.push(run);
            }
        }
        const these = cellsFor(runs, n, opts.variants);
        cells.push(...these);
        console.log(markdownTable(these).split("\n").slice(2).join("\n").trimEnd());
    }
    fs.rmSync(work, { recursive: true, force: true });
    const table = markdownTable(cells);
    const slopes = opts.variants.map((v) => memorySlopes(cells, v)).filter((s) => s !== "");
    console.log(`\n${table}\n${slopes.join("\n")}`);
    const result = {
        measuredAt: new Date().toISOString(),
        node: process.version,
        cpus: os.cpus().length,
        loadAverage: os.loadavg(),
        repeats: opts.repeats,
        sizes: opts.sizes,
        cells,
        runs,
    };
    writeResults(result, table, opts.record, opts.sizes);
}

if (require.main === module) {
    main().catch((err) => {
        console.error(err instanceof Error ? err.message : err);
        process.exit(1);
    });
}
