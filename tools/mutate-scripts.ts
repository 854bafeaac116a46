// `npm run mutants:scripts -- [--max N] [--seed S] [--script NAME]... [--operator OP]... [--timeout SECONDS] [--list]`
// Mutation testing for the bash in components/scripts/, which Stryker cannot mutate. Each mutant is one small
// change to a copy of the scripts folder; the script tests run against it (the builders read K8SU_SCRIPT_DIR),
// and a mutant they do not notice is a line of an upgrade whose behaviour no test checks.
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { ROOT } from "./harness";

export const OPERATORS = ["drop-line", "flip-comparison", "exit-status", "drop-flag", "swap-cordon"] as const;
export type Operator = (typeof OPERATORS)[number];

export interface ScriptMutant {
    id: string;
    script: string;
    /** 1-based line number in the script. */
    line: number;
    operator: Operator;
    original: string;
    mutated: string;
}

// Lines that open or close a block: dropping one only breaks the syntax, which proves nothing about the tests.
const STRUCTURE =
    /^\s*(?:fi|done|esac|then|else|do|\{|\}|\)|;;|if\b|elif\b|for\b|while\b|until\b|case\b|[A-Za-z_][\w-]*\s*\(\)|.*\)\s*$|.*\\\s*$|.*[{(]\s*$)/;
const COMPARISONS: Array<[RegExp, string]> = [
    [/ -eq /, " -ne "],
    [/ -ne /, " -eq "],
    [/ -lt /, " -ge "],
    [/ -ge /, " -lt "],
    [/ -gt /, " -le "],
    [/ -le /, " -gt "],
    [/ != /, " = "],
    [/ == /, " != "],
    [/(\[\[? [^\]]*?) = /, "$1 != "],
    [/(\[\[?) -z /, "$1 -n "],
    [/(\[\[?) -n /, "$1 -z "],
];

/** One flag of a kubectl or curl command, quoted or not, with its value ("--flag=v", "--flag v", "-l v"). */
const FLAG =
    /\s(?:"--[a-z][a-z-]*(?:=[^"]*)?"|--[a-z][a-z-]*(?:=(?:"[^"]*"|'[^']*'|[^\s)]+)| (?!"?-)(?:"[^"]*"|'[^']*'|[^\s)]+))?|-l (?:"[^"]*"|[^\s)]+))/g;

function isCommentOrBlank(line: string): boolean {
    return /^\s*(#|$)/.test(line);
}

/** Every mutant of one script, in line order. */
export function mutantsOf(script: string, text: string): ScriptMutant[] {
    const lines = text.split("\n");
    const out: ScriptMutant[] = [];
    const add = (i: number, operator: Operator, mutated: string) => {
        if (mutated === lines[i]) return;
        out.push({
            id: `${script}:${i + 1}:${operator}:${out.filter((m) => m.line === i + 1 && m.operator === operator).length}`,
            script,
            line: i + 1,
            operator,
            original: lines[i],
            mutated,
        });
    };
    // A command may continue over several lines; its flags are on all of them.
    let inKubectl = false;
    lines.forEach((line, i) => {
        if (isCommentOrBlank(line)) {
            inKubectl = false;
            return;
        }
        // kubectl and curl arguments are written on their line or gathered in an args array first.
        const kubectlLine = inKubectl || /\b(kubectl|curl)\b|\bargs\+?=\(/.test(line);
        inKubectl = kubectlLine && /\\\s*$/.test(line);
        const continued = i > 0 && /\\\s*$/.test(lines[i - 1]);
        if (!STRUCTURE.test(line) && !continued) add(i, "drop-line", "");
        for (const [from, to] of COMPARISONS) if (from.test(line)) add(i, "flip-comparison", line.replace(from, to));
        if (/\b(exit|return) 1\b/.test(line)) add(i, "exit-status", line.replace(/\b(exit|return) 1\b/, "$1 0"));
        if (kubectlLine) {
            for (const flag of line.match(FLAG) ?? []) add(i, "drop-flag", line.replace(flag, ""));
            if (/\bkubectl\b.*\buncordon\b/.test(line)) add(i, "swap-cordon", line.replace(/\buncordon\b/, "cordon"));
            else if (/\bkubectl\b.*\bcordon\b/.test(line))
                add(i, "swap-cordon", line.replace(/\bcordon\b/, "uncordon"));
        }
    });
    return out;
}

/** Scripts whose runs against a stand-in live in their provider's test file. */
const OWN_TESTS: Record<string, string[]> = {
    "aks-system-pool.sh": ["test/aks.test.ts"],
    "capi-retire.sh": ["test/capi.test.ts", "test/real-capi.test.ts"],
    "eks-nodegroup-version.sh": ["test/eks.test.ts"],
    "kubeadm-etcd-restore.sh": ["test/kubeadm-restore.test.ts"],
    // Every remote script carries kubeadm-lib.sh, the restore included.
    "kubeadm-lib.sh": ["test/kubeadm-restore.test.ts"],
    "kubeadm-wait-ready.sh": ["test/real-checks.test.ts"],
};

/**
 * The scripts' tests on the real control plane, after the quicker ones (each file starts its own control plane):
 * the tests that name single mutants first, then the LKE scripts' own (against the Linode API stand-in), then the
 * rest, and the fault matrices last, the longest of them (the LKE scripts' own, then the one for every other script).
 */
function realClusterTests(script: string): string[] {
    const lib = script === "lib.sh";
    const shrink = script === "lke-shrink-pool.sh" || lib ? ["test/shrink.test.ts"] : [];
    const lke = (script.startsWith("lke-") && script !== "lke-shrink-pool.sh") || lib;
    return [
        "test/mutant-kills.test.ts",
        ...shrink,
        ...(lke ? ["test/real-lke.test.ts"] : []),
        "test/real-checks.test.ts",
        "test/real-drain.test.ts",
        "test/real-faults.test.ts",
        ...(lke ? ["test/lke-faults.test.ts"] : []),
        "test/faults.test.ts",
    ];
}

/**
 * The test files that run a script, the ones that name single bugs first within the quick ones and within the
 * real-cluster ones (a mutant stops at the first failing test): kubeadm node scripts have their own, and the etcd
 * restore its own; lib.sh is everyone's; the LKE scripts have theirs on the real control plane.
 */
export function testFilesFor(script: string): string[] {
    const exists = (f: string) => fs.existsSync(path.join(ROOT, f));
    if (script.startsWith("kubeadm-")) return ["test/kubeadm-scripts.test.ts", ...(OWN_TESTS[script] ?? [])];
    const kubeadm = script === "lib.sh" ? ["test/kubeadm-scripts.test.ts"] : [];
    return [
        ...(OWN_TESTS[script] ?? []),
        "test/eviction-rules.test.ts",
        "test/script-regressions.test.ts",
        "test/scripts.test.ts",
        ...kubeadm,
        ...realClusterTests(script),
    ].filter(exists);
}

/** A small deterministic generator, so that a sample can be repeated with --seed. */
function random(seed: number): () => number {
    let s = seed >>> 0 || 1;
    return () => {
        s ^= s << 13;
        s ^= s >>> 17;
        s ^= s << 5;
        return (s >>> 0) / 4294967296;
    };
}

/** The mutants shuffled with `next`, then drawn in turn from each operator, so rare operators come early. */
function byOperator(items: ScriptMutant[], next: () => number): ScriptMutant[] {
    const groups = OPERATORS.map((op) => {
        const g = items.filter((m) => m.operator === op);
        for (let i = g.length - 1; i > 0; i--) {
            const j = Math.floor(next() * (i + 1));
            [g[i], g[j]] = [g[j], g[i]];
        }
        return g;
    });
    const out: ScriptMutant[] = [];
    while (out.length < items.length) for (const g of groups) if (g.length > 0) out.push(g.shift()!);
    return out;
}

/**
 * Up to `max` mutants, drawn in turn from each script and, within a script, from each operator (shuffled with
 * `seed`): every script gets mutants before any gets a second one, and rare operators are always tried.
 */
export function sample(items: ScriptMutant[], max: number, seed: number): ScriptMutant[] {
    const next = random(seed);
    const scripts = [...new Set(items.map((m) => m.script))].sort();
    const queues = scripts.map((s) =>
        byOperator(
            items.filter((m) => m.script === s),
            next,
        ),
    );
    const out: ScriptMutant[] = [];
    while (out.length < Math.min(max, items.length))
        for (const q of queues) if (q.length > 0 && out.length < max) out.push(q.shift()!);
    return out;
}

type Outcome = "killed" | "survived" | "timeout" | "invalid";

/** Runs test files against a scripts folder; stops at the first failing test. */
function runTests(
    files: string[],
    scriptDir: string,
    timeoutSeconds: number,
): Promise<{ outcome: Outcome; detail: string }> {
    return new Promise((resolve) => {
        const child = spawn(
            process.execPath,
            ["--import", "tsx", "--test", "--test-reporter=tap", "--test-concurrency=1", ...files],
            {
                cwd: ROOT,
                env: { ...process.env, NODE_ENV: "test", K8SU_SCRIPT_MUTANTS: "1", K8SU_SCRIPT_DIR: scriptDir },
                detached: true,
            },
        );
        let out = "";
        let settled = false;
        const finish = (outcome: Outcome, detail: string) => {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            try {
                // The test runner's own children (bash, kubectl, the fixture) go with it.
                process.kill(-child.pid!, "SIGKILL");
            } catch {
                // already gone
            }
            resolve({ outcome, detail });
        };
        const timer = setTimeout(() => finish("timeout", `no result in ${timeoutSeconds}s`), timeoutSeconds * 1000);
        child.stdout.on("data", (d) => {
            out += d;
            const failed = /^\s*not ok \d+ - (.*)$/m.exec(out);
            if (failed) finish("killed", failed[1]);
        });
        child.stderr.on("data", () => {});
        child.on("close", (code) =>
            finish(code === 0 ? "survived" : "killed", code === 0 ? "" : `test run exited ${code}`),
        );
    });
}

function syntaxOk(file: string): boolean {
    return spawnSync("bash", ["-n", file]).status === 0;
}

/** The command line, or exit 2 with what was wrong. */
function readOptions() {
    const { values } = parseArgs({
        options: {
            max: { type: "string", default: "40" },
            seed: { type: "string", default: "1" },
            script: { type: "string", multiple: true },
            operator: { type: "string", multiple: true },
            timeout: { type: "string", default: "300" },
            budget: { type: "string" },
            id: { type: "string", multiple: true },
            list: { type: "boolean" },
        },
    });
    const options = {
        max: Number(values.max),
        seed: Number(values.seed),
        timeout: Number(values.timeout),
        budget: values.budget === undefined ? Number.POSITIVE_INFINITY : Number(values.budget),
        operators: (values.operator ?? [...OPERATORS]) as Operator[],
        scripts: values.script,
        ids: values.id,
        list: !!values.list,
    };
    if (!(options.max > 0) || !Number.isInteger(options.seed) || !(options.timeout > 0) || !(options.budget > 0)) {
        console.error("--max, --timeout and --budget take positive numbers, --seed an integer");
        process.exit(2);
    }
    const unknown = options.operators.filter((o) => !OPERATORS.includes(o));
    if (unknown.length > 0) {
        console.error(`unknown operator ${unknown.join(", ")}; operators: ${OPERATORS.join(", ")}`);
        process.exit(2);
    }
    return options;
}
type Options = ReturnType<typeof readOptions>;

/** Every mutant of the chosen scripts and operators, and the ones this run takes (by id, or a sample). */
function chooseMutants(options: Options, source: string) {
    const scripts = fs
        .readdirSync(source)
        // run.sh is the step runner, run by path from the checkout (not through the builders), so a mutated copy
        // would never run; test/preview.test.ts runs it.
        .filter((f) => f.endsWith(".sh") && f !== "run.sh")
        .filter((f) => !options.scripts || options.scripts.some((s) => f === s || f === `${s}.sh`))
        .sort();
    const all = scripts
        .flatMap((s) => mutantsOf(s, fs.readFileSync(path.join(source, s), "utf8")))
        .filter((m) => options.operators.includes(m.operator));
    const ids = options.ids;
    const missing = (ids ?? []).filter((id) => !all.some((m) => m.id === id));
    if (missing.length > 0) {
        console.error(`no mutant ${missing.join(", ")}; --list shows the ids`);
        process.exit(2);
    }
    // Run in the sample's order (every script before any gets a second mutant), so a budget cuts evenly.
    const chosen = ids ? all.filter((m) => ids.includes(m.id)) : sample(all, options.max, options.seed);
    return { scripts, all, chosen };
}

type MutantResult = ScriptMutant & { outcome: Outcome; detail: string; seconds: number };

/** Runs each mutant's tests against a copy of the scripts with its one line changed, until the deadline. */
async function runMutants(chosen: ScriptMutant[], source: string, timeout: number, deadline: number) {
    const results: MutantResult[] = [];
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "k8s-upgrades-script-mutants-"));
    for (const [n, m] of chosen.entries()) {
        if (Date.now() > deadline) break;
        const dir = path.join(work, String(n));
        fs.cpSync(source, dir, { recursive: true });
        const file = path.join(dir, m.script);
        const lines = fs.readFileSync(file, "utf8").split("\n");
        lines[m.line - 1] = m.mutated;
        fs.writeFileSync(file, lines.join("\n"));
        const started = Date.now();
        const r = syntaxOk(file)
            ? await runTests(testFilesFor(m.script), dir, timeout)
            : { outcome: "invalid" as const, detail: "bash -n refuses the mutant" };
        const seconds = Math.round((Date.now() - started) / 1000);
        results.push({ ...m, ...r, seconds });
        console.log(`[${n + 1}/${chosen.length}] ${r.outcome.padEnd(8)} ${m.id} (${seconds}s) ${r.detail}`);
        fs.rmSync(dir, { recursive: true, force: true });
    }
    fs.rmSync(work, { recursive: true, force: true });
    return results;
}

/** The counts and the survivors on stdout; every outcome in reports/mutation/scripts.json. */
function reportResults(results: MutantResult[], chosen: ScriptMutant[], options: Options): void {
    const counted = results.filter((r) => r.outcome !== "invalid");
    const killed = counted.filter((r) => r.outcome !== "survived").length;
    const timeouts = counted.filter((r) => r.outcome === "timeout").length;
    console.log(
        `\n${killed}/${counted.length} killed (${counted.length ? Math.round((100 * killed) / counted.length) : 0}%, ` +
            `${timeouts} of them by timeout), ${results.length - counted.length} invalid, ` +
            `${chosen.length - results.length} not run (budget)`,
    );
    const survivors = results.filter((r) => r.outcome === "survived");
    if (survivors.length > 0) {
        console.log("\nSurvivors (a change no script test notices):");
        for (const s of survivors)
            console.log(`${s.id}\n  - ${s.original.trim()}\n  + ${s.mutated.trim() || "(line dropped)"}`);
    }
    const report = path.join(ROOT, "reports", "mutation", "scripts.json");
    fs.mkdirSync(path.dirname(report), { recursive: true });
    const { seed, max, operators } = options;
    const notRun = chosen.slice(results.length).map((m) => m.id);
    fs.writeFileSync(report, `${JSON.stringify({ seed, max, operators, notRun, results }, null, 2)}\n`);
    console.log(`\nreport: ${path.relative(ROOT, report)}`);
}

async function main(): Promise<void> {
    const options = readOptions();
    const source = path.join(ROOT, "components", "scripts");
    const { scripts, all, chosen } = chooseMutants(options, source);
    console.log(
        `${all.length} mutants in ${scripts.length} script(s); running ${chosen.length} (seed ${options.seed})`,
    );
    if (options.list) {
        for (const m of chosen) console.log(`${m.id}\n  - ${m.original.trim()}\n  + ${m.mutated.trim()}`);
        return;
    }
    const runStarted = Date.now();
    const baseline = await runTests([...new Set(scripts.flatMap(testFilesFor))], source, options.timeout);
    if (baseline.outcome !== "survived") {
        console.error(`the script tests fail without any mutant (${baseline.detail}); fix them first`);
        process.exit(1);
    }
    // --budget (minutes, baseline included) stops starting mutants; the ones left are reported as not run.
    const results = await runMutants(chosen, source, options.timeout, runStarted + options.budget * 60_000);
    reportResults(results, chosen, options);
}

if (require.main === module)
    main().catch((err) => {
        console.error(err);
        process.exit(1);
    });
