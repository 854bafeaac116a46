// `npm run bench [-- drain] [-- --record]`: what moving workers blue → green costs the workloads, for our drain
// (every blue node cordoned first, then drained in batches: the generated drain script) against the runbook's
// node-at-a-time procedure (cordon one node, drain it, next), both with the real kubectl against the real control
// plane (tools/cluster): kube-apiserver's eviction API, the disruption controller, the ReplicaSet controller, the
// default kube-scheduler placing every replacement, and kwok's kubelets (a pod is Ready READY_AFTER after it is
// placed, and exits EXIT_AFTER after it is evicted). One control plane for the whole bench; each run has its own
// namespace and nodes. Each cell runs BENCH_REPEATS times (at least 5) and reports the median and the range.
// Results go to a temporary file; only --record writes bench/results/drain.json and the table in docs/benchmarks.md.

import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { KUBECTL_FOR_SERVER, podTemplate } from "../test/fixture/real-cluster";
import { kubectlBin, runScript } from "../test/fixture/run-script";
import { type KubeApi, watch } from "../tools/cluster/api";
import { type Cluster, startCluster, stopCluster } from "../tools/cluster/cluster";
import { binaries } from "../tools/cluster/control-plane";
import { BENCH_PAGE, writeBenchTable } from "./doc-table";

const KUBECTL = KUBECTL_FOR_SERVER;
const SIZES = (process.env.BENCH_SIZES ?? "3,10,30").split(",").map(Number);
const REPEATS = Math.max(5, Number(process.env.BENCH_REPEATS ?? "5"));
const RECORD = process.argv.includes("--record");
const READY_AFTER = "500ms";
const EXIT_AFTER = "100ms";
const SCHEDULER = "kube-scheduler (default profile)";
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

let runNo = 0;

async function waitFor(what: string, check: () => Promise<boolean>, ms = 300_000): Promise<void> {
    const until = Date.now() + ms;
    while (!(await check())) {
        if (Date.now() > until) throw new Error(`bench: ${what} did not happen within ${ms / 1000}s`);
        await new Promise((r) => setTimeout(r, 250));
    }
}

interface PodLite {
    metadata: { name: string; labels?: Record<string, string>; deletionTimestamp?: string };
    status?: { conditions?: Array<{ type: string; status: string }> };
}
const isReady = (p: PodLite) =>
    !p.metadata.deletionTimestamp && !!p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True");

/** N blue nodes running N pods of each workload (the scheduler spreads them), then N empty green nodes. */
async function build(c: Cluster, n: number): Promise<{ ns: string; blue: string[]; tag: string }> {
    const tag = `r${++runNo}`;
    const ns = `bench-${tag}`;
    const api = c.api;
    const node = (pool: string, i: number) => `${tag}-${pool}-${String(i).padStart(2, "0")}`;
    const blue = Array.from({ length: n }, (_, i) => node("blue", i + 1));
    const { addNodes, waitForDefaultServiceAccount } = await import("../tools/cluster/cluster");
    // Room for one pod of each workload per node: after the move, the green pool holds exactly what blue did.
    const nodeSpec = (name: string, pool: string) => ({
        name,
        pods: String(WORKLOADS.length),
        labels: { pool: `${tag}-${pool}`, bench: tag },
    });
    await addNodes(
        c,
        blue.map((b) => nodeSpec(b, "blue")),
    );
    await api.create("/api/v1/namespaces", { metadata: { name: ns } });
    await waitForDefaultServiceAccount(c, ns);
    for (const w of WORKLOADS) {
        const template = podTemplate(w.name, {
            replicas: n,
            nodeSelector: { bench: tag },
            readyAfter: READY_AFTER,
            exitAfter: EXIT_AFTER,
            graceSeconds: 5,
        });
        await api.create(`/apis/apps/v1/namespaces/${ns}/deployments`, {
            metadata: { name: w.name },
            spec: { replicas: n, selector: { matchLabels: { app: w.name } }, template },
        });
        await api.create(`/apis/policy/v1/namespaces/${ns}/poddisruptionbudgets`, {
            metadata: { name: w.name },
            spec: { selector: { matchLabels: { app: w.name } }, ...w.pdb },
        });
    }
    await waitFor(`${ns}: every pod Ready`, async () => {
        const pods = await api.get<{ items: PodLite[] }>(`/api/v1/namespaces/${ns}/pods`);
        return pods.items.filter(isReady).length === WORKLOADS.length * n;
    });
    await waitFor(`${ns}: the budgets computed`, async () => {
        const pdbs = await api.get<{ items: Array<{ status?: { expectedPods?: number } }> }>(
            `/apis/policy/v1/namespaces/${ns}/poddisruptionbudgets`,
        );
        return pdbs.items.every((p) => p.status?.expectedPods === n);
    });
    await addNodes(
        c,
        Array.from({ length: n }, (_, i) => nodeSpec(node("green", i + 1), "green")),
    );
    return { ns, blue, tag };
}

function runbook(kubeconfig: string, nodes: string[]): Promise<number> {
    // The runbook by hand: for each old node, cordon it, drain it, move on.
    const loop =
        'for n in $NODES; do kubectl cordon "$n" >/dev/null && kubectl drain "$n" --ignore-daemonsets --timeout=600s >/dev/null 2>&1 || exit 1; done';
    // A fresh HOME, as runScript gives our drain: both procedures start each run with kubectl's discovery cache
    // cold, as on a new CI runner.
    const home = fs.mkdtempSync(path.join(os.tmpdir(), "bench-"));
    const file = path.join(home, "config");
    fs.writeFileSync(file, kubeconfig, { mode: 0o600 });
    return new Promise((resolve) => {
        const child = spawn("bash", ["-c", loop], {
            env: {
                PATH: `${kubectlBin(KUBECTL)}:/usr/bin:/bin`,
                KUBECONFIG: file,
                NODES: nodes.join(" "),
                HOME: home,
            },
            stdio: "ignore",
        });
        child.on("close", (code) => resolve(code ?? 1));
    });
}

/** Follows the namespace's pods: the fewest Ready per workload and every pod name ever seen. */
async function follow(api: KubeApi, ns: string) {
    const ready = new Map<string, PodLite>();
    const seen = new Set<string>();
    const minReady: Record<string, number> = {};
    const count = (app: string) => [...ready.values()].filter((p) => p.metadata.labels?.app === app).length;
    const initial = await api.get<{ items: PodLite[]; metadata: { resourceVersion: string } }>(
        `/api/v1/namespaces/${ns}/pods`,
    );
    for (const p of initial.items) {
        seen.add(p.metadata.name);
        if (isReady(p)) ready.set(p.metadata.name, p);
    }
    for (const w of WORKLOADS) minReady[w.name] = count(w.name);
    const w = await watch(
        api,
        `/api/v1/namespaces/${ns}/pods?resourceVersion=${initial.metadata.resourceVersion}`,
        (e) => {
            const p = e.object as unknown as PodLite;
            if (!p.metadata?.name) return;
            seen.add(p.metadata.name);
            if (e.type !== "DELETED" && isReady(p)) ready.set(p.metadata.name, p);
            else ready.delete(p.metadata.name);
            const app = p.metadata.labels?.app;
            if (app && app in minReady) minReady[app] = Math.min(minReady[app], count(app));
        },
    );
    return { initial: initial.items.length, seen, minReady, stop: () => w.stop() };
}

async function measure(c: Cluster, kubeconfig: string, procedure: Measure["procedure"], n: number): Promise<Measure> {
    const { ns, blue, tag } = await build(c, n);
    const f = await follow(c.api, ns);
    const started = Date.now();
    let code: number;
    if (procedure === "ours") {
        const r = await runScript(
            "drain",
            {
                K8SU_KUBECONFIG: kubeconfig,
                K8SU_CLUSTER: "bench",
                K8SU_SELECTOR: `pool=${tag}-blue`,
                K8SU_MIN_READY_ELSEWHERE: String(n),
                K8SU_BATCH_SIZE: "1",
                K8SU_SOAK_SECONDS: "0",
                K8SU_GRACE_SECONDS: "",
                K8SU_DRAIN_TIMEOUT_SECONDS: "600",
                K8SU_DELETE_EMPTYDIR_DATA: "false",
            },
            KUBECTL,
        );
        code = r.code;
        if (code !== 0) console.error(r.stderr);
    } else {
        code = await runbook(kubeconfig, blue);
    }
    const drainSeconds = (Date.now() - started) / 1000;
    if (code !== 0) {
        const all = await c.api.get<{
            items: Array<{
                metadata: { namespace: string; name: string; deletionTimestamp?: string };
                spec: { nodeName?: string };
            }>;
        }>(`/api/v1/pods`);
        const onRun = all.items.filter((p) => p.spec.nodeName?.startsWith(`${tag}-`));
        const where = onRun.map(
            (p) =>
                `${p.spec.nodeName} ${p.metadata.namespace}/${p.metadata.name}${p.metadata.deletionTimestamp ? " (terminating)" : ""}`,
        );
        throw new Error(
            `${procedure} drain failed for n=${n}; the pods on this run's nodes:\n${where.sort().join("\n")}`,
        );
    }
    await waitFor(`${ns}: every replacement Ready`, async () => {
        const pods = await c.api.get<{ items: PodLite[] }>(`/api/v1/namespaces/${ns}/pods`);
        return pods.items.filter(isReady).length === WORKLOADS.length * n;
    });
    f.stop();
    // Each eviction of a ReplicaSet's pod makes the controller create one replacement under a new name.
    const evictions = f.seen.size - f.initial;
    const workloadPods = WORKLOADS.length * n;
    const promised = Object.fromEntries(WORKLOADS.map((w) => [w.name, n - w.pdb.maxUnavailable]));
    await c.api.request("DELETE", `/api/v1/namespaces/${ns}`);
    for (const b of blue) await c.api.request("DELETE", `/api/v1/nodes/${b}`);
    return {
        procedure,
        scheduler: SCHEDULER,
        nodes: n,
        workloadPods,
        evictions,
        evictionsPerPod: evictions / workloadPods,
        worstMarginOverBudget: Math.min(...WORKLOADS.map((w) => f.minReady[w.name] - promised[w.name])),
        minReady: f.minReady,
        promised,
        drainSeconds,
    };
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
        "| N | procedure | evictions per pod | lowest ready − budget's promise | drain time | time vs runbook |",
        "| --- | --- | --- | --- | --- | --- |",
        ...cells.map(
            (c) =>
                `| ${c.nodes} | ${c.procedure} | ${range(c.evictionsPerPod, 2)} | ${range(c.worstMarginOverBudget, 0)} | ${range(c.drainSeconds, 1, " s")} | ${c.timeVsRunbook.toFixed(2)} |`,
        ),
    ];
    return `${rows.join("\n")}\n`;
}

/** Both procedures at one size, REPEATS times each, alternating which goes first. */
async function cellsFor(c: Cluster, kubeconfig: string, n: number, runs: Measure[]): Promise<Cell[]> {
    const byProcedure: Record<Measure["procedure"], Measure[]> = { runbook: [], ours: [] };
    for (let i = 0; i < REPEATS; i++) {
        // Alternate the order so that neither procedure always runs on a warmer machine.
        const order: Measure["procedure"][] = i % 2 ? ["ours", "runbook"] : ["runbook", "ours"];
        for (const procedure of order) byProcedure[procedure].push(await measure(c, kubeconfig, procedure, n));
    }
    const runbookMedian = stats(byProcedure.runbook.map((m) => m.drainSeconds)).median;
    return (["ours", "runbook"] as const).map((procedure) => {
        const ms = byProcedure[procedure];
        runs.push(...ms);
        const drainSeconds = stats(ms.map((m) => m.drainSeconds));
        const cell: Cell = {
            scheduler: SCHEDULER,
            nodes: n,
            procedure,
            runs: ms.length,
            evictionsPerPod: stats(ms.map((m) => m.evictionsPerPod)),
            worstMarginOverBudget: stats(ms.map((m) => m.worstMarginOverBudget)),
            drainSeconds,
            timeVsRunbook: drainSeconds.median / runbookMedian,
        };
        console.log(markdownTable([cell]).split("\n")[2]);
        return cell;
    });
}

async function main(): Promise<void> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "k8su-bench-"));
    const c = await startCluster({ dir, binaries: binaries(), stopWithThisProcess: true });
    const kubeconfig = fs.readFileSync(c.kubeconfigs.admin, "utf8");
    console.log(
        `Kubernetes ${c.state.version} (kube-apiserver, kube-controller-manager, ${SCHEDULER}), kwok kubelets; kubectl ${KUBECTL}; ${WORKLOADS.length} Deployments of N replicas each, budgets ${WORKLOADS.map((w) => `${w.name} maxUnavailable ${w.pdb.maxUnavailable}`).join(", ")}; pods Ready ${READY_AFTER} after placement and gone ${EXIT_AFTER} after eviction; batch size 1 for both procedures; ${REPEATS} runs per cell\n`,
    );
    const runs: Measure[] = [];
    const cells: Cell[] = [];
    try {
        for (const n of SIZES) cells.push(...(await cellsFor(c, kubeconfig, n, runs)));
    } finally {
        await stopCluster(dir);
        fs.rmSync(dir, { recursive: true, force: true });
    }
    const table = markdownTable(cells);
    console.log(`\n${table}`);
    const result = {
        measuredAt: new Date().toISOString(),
        kubernetes: c.state.version,
        scheduler: SCHEDULER,
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
        `wrote ${out}${RECORD ? "" : ` (pass --record to replace bench/results/drain.json and the table in ${BENCH_PAGE})`}`,
    );
    if (RECORD) {
        const when = result.measuredAt.slice(0, 10);
        const intro = `Measured with \`npm run bench -- --record\` against Kubernetes ${result.kubernetes} with ${SCHEDULER} and kwok kubelets, on ${result.cpus} CPU(s), N = ${SIZES.join(", ")}, ${REPEATS} runs per cell, median (min–max) (${when}):\n\n`;
        console.log(`regenerated the table in ${writeBenchTable("drain", `${intro}${table}`)}`);
    }
}

main().catch((err) => {
    console.error(err);
    process.exit(1);
});
