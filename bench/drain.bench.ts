// `npm run bench`: what moving workers blue → green costs the workloads, for our drain (every blue node
// cordoned first, then drained in batches: the generated drain script) against the runbook's
// node-at-a-time procedure (cordon one node, drain it, next), both run in the same process with the real
// kubectl against the API fixture. Prints a table and writes bench/results/drain.json.

import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { KubeApiFixture } from "../test/fixture/kube-api";
import { kubectlBin, runScript } from "../test/fixture/run-script";

const KUBECTL = "1.31";
const SIZES = (process.env.BENCH_SIZES ?? "3,10,30").split(",").map(Number);
const SCHEDULERS = ["least-loaded", "image-locality"] as const;
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

async function main(): Promise<void> {
    const results: Measure[] = [];
    console.log(
        `kubectl ${KUBECTL}; ${WORKLOADS.length} Deployments of N replicas each (one pod of each per blue node), budgets ${WORKLOADS.map((w) => `${w.name} maxUnavailable ${w.pdb.maxUnavailable}`).join(", ")}; batch size 1 for both procedures\n`,
    );
    const header = [
        "scheduler",
        "N",
        "procedure",
        "evictions/pod",
        "min ready − promised",
        "drain s",
        "time vs runbook",
    ];
    console.log(header.join(" | "));
    console.log(header.map(() => "---").join(" | "));
    for (const scheduler of SCHEDULERS) {
        for (const n of SIZES) {
            const runbookResult = await measure("runbook", n, scheduler);
            const ours = await measure("ours", n, scheduler);
            results.push(runbookResult, ours);
            for (const m of [ours, runbookResult]) {
                console.log(
                    [
                        scheduler,
                        n,
                        m.procedure,
                        m.evictionsPerPod.toFixed(2),
                        m.worstMarginOverBudget,
                        m.drainSeconds.toFixed(1),
                        (m.drainSeconds / runbookResult.drainSeconds).toFixed(2),
                    ].join(" | "),
                );
            }
        }
    }
    const out = path.join(__dirname, "results", "drain.json");
    fs.mkdirSync(path.dirname(out), { recursive: true });
    const previous = fs.existsSync(out)
        ? (JSON.parse(fs.readFileSync(out, "utf8")) as { results: Measure[] })
        : undefined;
    fs.writeFileSync(
        out,
        `${JSON.stringify(
            { measuredAt: new Date().toISOString(), kubectl: KUBECTL, node: process.version, results },
            null,
            2,
        )}\n`,
    );
    console.log(`\nwrote ${path.relative(process.cwd(), out)}`);
    if (previous) {
        for (const m of results) {
            const before = previous.results.find(
                (p) => p.procedure === m.procedure && p.scheduler === m.scheduler && p.nodes === m.nodes,
            );
            if (before && before.evictionsPerPod !== m.evictionsPerPod)
                console.log(
                    `changed since the last recorded run: ${m.scheduler} N=${m.nodes} ${m.procedure} evictions/pod ${before.evictionsPerPod.toFixed(2)} → ${m.evictionsPerPod.toFixed(2)}`,
                );
        }
    }
}

main().catch((err) => {
    console.error(err);
    process.exit(1);
});
