// `npm run bench [-- --record]`: what moving workers blue → green costs the workloads, for our drain (every blue
// node cordoned first, then drained in batches: the generated drain script) against the runbook's node-at-a-time
// procedure (cordon one node, drain it, next), both run with the real kubectl against the API fixture.
// Two scheduler models: "spread", the baseline, is what the default kube-scheduler does (topology spread of a
// ReplicaSet's pods over nodes, then least allocated); "image-locality" is a labelled worst case in which the
// node that already runs a pod of the same ReplicaSet wins. Each cell runs BENCH_REPEATS times (at least 5) and
// reports the median and the spread. Results go to a temporary file; only --record writes
// bench/results/drain.json and the README table, so a partial run never replaces the committed figures.

import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { KubeApiFixture } from "../test/fixture/kube-api";
import { kubectlBin, runScript } from "../test/fixture/run-script";

const KUBECTL = "1.31";
const SIZES = (process.env.BENCH_SIZES ?? "3,10,30").split(",").map(Number);
const REPEATS = Math.max(5, Number(process.env.BENCH_REPEATS ?? "5"));
const RECORD = process.argv.includes("--record");
const SCHEDULERS = ["spread", "image-locality"] as const;
const SCHEDULER_LABEL: Record<(typeof SCHEDULERS)[number], string> = {
    spread: "spread (kube-scheduler default, baseline)",
    "image-locality": "image-locality (worst case)",
};
const WORKLOADS = [
    { name: "web", pdb: { maxUnavailable: 1 } },
    { name: "api", pdb: { maxUnavailable: 1 } },
    { name: "worker", pdb: { maxUnavailable: 2 } },
];

interface Measure {
    procedure: "ours" | "runbook";
    scheduler: string;
    nodes: number;
    workloadPods: number;
    evictions: number;
    evictionsPerPod: number;
    /** Lowest ready count seen minus what the budget promises, over all workloads (never below 0 is the goal). */
    worstMarginOverBudget: number;
    minReady: Record<string, number>;
    promised: Record<string, number>;
    drainSeconds: number;
}

function build(f: KubeApiFixture, n: number, scheduler: (typeof SCHEDULERS)[number]): string[] {
    f.scheduler = scheduler;
    f.maxPodsPerNode = WORKLOADS.length + 1;
    f.timing = { terminationMs: 50, scheduleMs: 50, readyMs: 500, nodeReadyMs: 0, controlPlaneMs: 0 };
    const blue = Array.from({ length: n }, (_, i) => `blue-${String(i + 1).padStart(2, "0")}`);
    for (const b of blue) f.addNode(b, { labels: { pool: "blue" }, kubeletVersion: "1.30.9" });
    for (let i = 1; i <= n; i++) f.addNode(`green-${String(i).padStart(2, "0")}`, { labels: { pool: "green" } });
    f.addDaemonSet("kube-system", "kube-proxy");
    for (const w of WORKLOADS) {
        f.addReplicaSet("default", w.name, n, blue);
        f.addPdb({ namespace: "default", name: w.name, selector: { app: w.name }, ...w.pdb });
    }
    return blue;
}

function runbook(f: KubeApiFixture, nodes: string[]): Promise<number> {
    // The runbook by hand: for each old node, cordon it, drain it, move on.
    const loop =
        'for n in $NODES; do kubectl cordon "$n" >/dev/null && kubectl drain "$n" --ignore-daemonsets --grace-period=5 --timeout=600s >/dev/null 2>&1 || exit 1; done';
    const kubeconfig = path.join(fs.mkdtempSync("/tmp/bench-"), "config");
    fs.writeFileSync(kubeconfig, f.kubeconfig());
    return new Promise((resolve) => {
        const child = spawn("bash", ["-c", loop], {
            env: {
                PATH: `${kubectlBin(KUBECTL)}:/usr/bin:/bin`,
                KUBECONFIG: kubeconfig,
                NODES: nodes.join(" "),
                HOME: "/tmp",
            },
            stdio: "ignore",
        });
        child.on("close", (code) => resolve(code ?? 1));
    });
}

async function measure(
    procedure: Measure["procedure"],
    n: number,
    scheduler: (typeof SCHEDULERS)[number],
): Promise<Measure> {
    const f = new KubeApiFixture("1.31.4");
    await f.start();
    try {
        const blue = build(f, n, scheduler);
        const minReady: Record<string, number> = Object.fromEntries(WORKLOADS.map((w) => [w.name, n]));
        f.onChange(() => {
            for (const w of WORKLOADS)
                minReady[w.name] = Math.min(minReady[w.name], f.readyPods("default", { app: w.name }));
        });
        const started = Date.now();
        let code: number;
        if (procedure === "ours") {
            const r = await runScript(
                "drain",
                {
                    K8SU_KUBECONFIG: f.kubeconfig(),
                    K8SU_CLUSTER: "bench",
                    K8SU_SELECTOR: "pool=blue",
                    K8SU_MIN_READY_ELSEWHERE: String(n),
                    K8SU_BATCH_SIZE: "1",
                    K8SU_SOAK_SECONDS: "0",
                    K8SU_GRACE_SECONDS: "5",
                    K8SU_DRAIN_TIMEOUT_SECONDS: "600",
                    K8SU_DELETE_EMPTYDIR_DATA: "false",
                },
                KUBECTL,
            );
            code = r.code;
        } else {
            code = await runbook(f, blue);
        }
        const drainSeconds = (Date.now() - started) / 1000;
        if (code !== 0) throw new Error(`${procedure} drain failed for n=${n} (${scheduler})`);
        // Let the last replacements become Ready before counting.
        await new Promise((r) => setTimeout(r, f.timing.readyMs + 300));
        const evictions = f.events.filter((e) => e.kind === "evicted").length;
        const workloadPods = WORKLOADS.length * n;
        const promised = Object.fromEntries(WORKLOADS.map((w) => [w.name, n - w.pdb.maxUnavailable]));
        return {
            procedure,
            scheduler,
            nodes: n,
            workloadPods,
            evictions,
            evictionsPerPod: evictions / workloadPods,
            worstMarginOverBudget: Math.min(...WORKLOADS.map((w) => minReady[w.name] - promised[w.name])),
            minReady,
            promised,
            drainSeconds,
        };
    } finally {
        await f.stop();
    }
}

interface Cell {
    scheduler: string;
    nodes: number;
    procedure: Measure["procedure"];
    runs: number;
    /** Median and [min, max] over the runs. */
    evictionsPerPod: { median: number; min: number; max: number };
    worstMarginOverBudget: { median: number; min: number; max: number };
    drainSeconds: { median: number; min: number; max: number };
    /** Median drain time over the runbook's median in the same cell. */
    timeVsRunbook: number;
}

function stats(values: number[]): { median: number; min: number; max: number } {
    const sorted = [...values].sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    return { median, min: sorted[0], max: sorted[sorted.length - 1] };
}

const range = (s: { median: number; min: number; max: number }, digits: number, unit = "") =>
    s.min === s.max
        ? `${s.median.toFixed(digits)}${unit}`
        : `${s.median.toFixed(digits)}${unit} (${s.min.toFixed(digits)}–${s.max.toFixed(digits)})`;

function markdownTable(cells: Cell[]): string {
    const rows = [
        "| scheduler | N | procedure | evictions per pod | lowest ready − budget's promise | drain time | time vs runbook |",
        "| --- | --- | --- | --- | --- | --- | --- |",
        ...cells.map(
            (c) =>
                `| ${SCHEDULER_LABEL[c.scheduler as (typeof SCHEDULERS)[number]]} | ${c.nodes} | ${c.procedure} | ${range(c.evictionsPerPod, 2)} | ${range(c.worstMarginOverBudget, 0)} | ${range(c.drainSeconds, 1, " s")} | ${c.timeVsRunbook.toFixed(2)} |`,
        ),
    ];
    return `${rows.join("\n")}\n`;
}

const README_START = "<!-- bench:drain:start -->";
const README_END = "<!-- bench:drain:end -->";

async function main(): Promise<void> {
    console.log(
        `kubectl ${KUBECTL}; ${WORKLOADS.length} Deployments of N replicas each (one pod of each per blue node), budgets ${WORKLOADS.map((w) => `${w.name} maxUnavailable ${w.pdb.maxUnavailable}`).join(", ")}; batch size 1 for both procedures; ${REPEATS} runs per cell\n`,
    );
    const runs: Measure[] = [];
    const cells: Cell[] = [];
    for (const scheduler of SCHEDULERS) {
        for (const n of SIZES) {
            const byProcedure: Record<Measure["procedure"], Measure[]> = { runbook: [], ours: [] };
            for (let i = 0; i < REPEATS; i++) {
                // Alternate the order so that neither procedure always runs on a warmer machine.
                const order: Measure["procedure"][] = i % 2 ? ["ours", "runbook"] : ["runbook", "ours"];
                for (const procedure of order) byProcedure[procedure].push(await measure(procedure, n, scheduler));
            }
            const runbookMedian = stats(byProcedure.runbook.map((m) => m.drainSeconds)).median;
            for (const procedure of ["ours", "runbook"] as const) {
                const ms = byProcedure[procedure];
                runs.push(...ms);
                const drainSeconds = stats(ms.map((m) => m.drainSeconds));
                const cell: Cell = {
                    scheduler,
                    nodes: n,
                    procedure,
                    runs: ms.length,
                    evictionsPerPod: stats(ms.map((m) => m.evictionsPerPod)),
                    worstMarginOverBudget: stats(ms.map((m) => m.worstMarginOverBudget)),
                    drainSeconds,
                    timeVsRunbook: drainSeconds.median / runbookMedian,
                };
                cells.push(cell);
                console.log(markdownTable([cell]).split("\n")[2]);
            }
        }
    }
    const table = markdownTable(cells);
    console.log(`\n${table}`);
    const result = {
        measuredAt: new Date().toISOString(),
        kubectl: KUBECTL,
        node: process.version,
        cpus: os.cpus().length,
        repeats: REPEATS,
        sizes: SIZES,
        cells,
        runs,
    };
    const out = RECORD
        ? path.join(__dirname, "results", "drain.json")
        : path.join(fs.mkdtempSync(path.join(os.tmpdir(), "drain-bench-")), "drain.json");
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
    console.log(
        `wrote ${out}${RECORD ? "" : " (pass --record to replace bench/results/drain.json and the README table)"}`,
    );
    if (RECORD) {
        const readme = path.join(__dirname, "..", "README.md");
        const text = fs.readFileSync(readme, "utf8");
        const a = text.indexOf(README_START);
        const b = text.indexOf(README_END);
        if (a < 0 || b < a) throw new Error(`README.md has no ${README_START} … ${README_END} section to regenerate`);
        const when = result.measuredAt.slice(0, 10);
        const intro = `Measured with \`npm run bench -- --record\` on ${result.cpus} CPU(s), N = ${SIZES.join(", ")}, ${REPEATS} runs per cell, median (min–max) (${when}):\n\n`;
        fs.writeFileSync(readme, `${text.slice(0, a + README_START.length)}\n${intro}${table}${text.slice(b)}`);
        console.log("regenerated the README table");
    }
}

main().catch((err) => {
    console.error(err);
    process.exit(1);
});
