// The snapshot rehearsal held to reality. Each test builds a cluster on a real control plane from one of the test
// snapshots (test/fixtures/snapshots: the LKE cluster of the test-owned stack `rehearse`, its pools at 1.30), lets
// the real controllers and scheduler make and place its pods, and snapshots it with the command the README gives
// users. It rehearses the upgrade on that snapshot, adds the nodes the plan adds (the green pools), runs drain.sh
// for every drain step of the plan, in the plan's order and with its settings, on the same cluster, and compares:
// the same blockers (node, pod and budget, or the capacity check's words), the same evictions per workload, and
// the drains' duration within 25 % of the prediction. Each test has its own control plane: the snapshot is of the
// whole cluster, as a user's is.
import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, test } from "node:test";
import type { ClusterPlan } from "../components/plan";
import { drainEnvironment } from "../components/scripts";
import { type RehearseResult, rehearse } from "../tools/rehearse";
import { loadStackPlan } from "../tools/rehearse/load";
import {
    type KubeObject,
    parseSnapshot,
    SNAPSHOT_COMMAND,
    type Snapshot,
    workloadKeyOf,
} from "../tools/rehearse/snapshot";
import { recordedSelector } from "../tools/rehearse/worker-phase";
import { KUBECTL_FOR_SERVER, RealCluster } from "./fixture/real-cluster";
import { kubectlBin, runScript, type ScriptRun } from "./fixture/run-script";
import { buildFromSnapshot, createNodes, type PodTiming, watchTerminations } from "./fixture/snapshot-cluster";

const DIR = path.join(__dirname, "fixtures", "snapshots");
/** What kwok is told (pod annotations) and the rehearsal assumes: below the plan's 5 s grace period. */
const POD_TIMING: PodTiming = { exitSeconds: 3, readySeconds: 3 };
/** The tolerance the rehearsal is held to, on the drains' duration. */
const TOLERANCE = 0.25;

/**
 * How long starting kubectl takes on this machine now, in seconds. The model counts a fixed 0.5 s per kubectl drain
 * and nothing for the calls a failed drain makes after it (the listing of what is left, the budgets); on a busy
 * machine each takes longer, so the upper bound also allows, per node drained and per script, a few kubectl starts
 * as measured just before. On an idle machine that adds well under a second per node.
 */
function kubectlStartSeconds(): number {
    const started = Date.now();
    execFileSync(path.join(kubectlBin(KUBECTL_FOR_SERVER), "kubectl"), ["version", "--client", "-o", "json"], {
        stdio: "ignore",
    });
    return (Date.now() - started) / 1000;
}

const plan = (): ClusterPlan => loadStackPlan("rehearse", DIR).plans[0];

interface RealRun {
    /** Each drain script's run; `drainMs` from its first eviction to its end (0 when it evicted nothing). */
    runs: Array<ScriptRun & { selector: string; drainMs: number }>;
    /** Pods evicted ("namespace/name"), with when they were first seen terminating. */
    evicted: Map<string, number>;
    /** kubectl's start time just before the drains, in seconds. */
    kubectlStart: number;
}

async function withCluster<T>(name: string, body: (rc: RealCluster) => Promise<T>): Promise<T> {
    const rc = new RealCluster(name);
    await rc.start();
    try {
        return await body(rc);
    } finally {
        await rc.stop();
    }
}

/** The user's snapshot: the README's kubectl command against the cluster, written to a file. */
function snapshotOf(rc: RealCluster, dir: string): string {
    const kubeconfig = path.join(dir, "kubeconfig");
    fs.writeFileSync(kubeconfig, rc.kubeconfig(), { mode: 0o600 });
    const [, ...args] = SNAPSHOT_COMMAND.split(" ");
    const json = execFileSync(path.join(kubectlBin(KUBECTL_FOR_SERVER), "kubectl"), args, {
        env: { ...process.env, KUBECONFIG: kubeconfig },
        encoding: "utf8",
        maxBuffer: 64 * 1024 * 1024,
    });
    const file = path.join(dir, "cluster.json");
    fs.writeFileSync(file, json);
    return file;
}

function rehearsed(file: string): RehearseResult {
    return rehearse({
        stack: "rehearse",
        cluster: "apps",
        snapshot: file,
        stackDir: DIR,
        timing: {
            nodeReadySeconds: 0,
            podExitSeconds: POD_TIMING.exitSeconds,
            podReadySeconds: POD_TIMING.readySeconds,
        },
    });
}

/** drain.sh for every drain step of the plan, in order, after the plan's new nodes are Ready. */
async function realDrains(rc: RealCluster, p: ClusterPlan, result: RehearseResult): Promise<RealRun> {
    await createNodes(rc, result.run!.addedNodes);
    const steps = [...p.pools.flatMap((pool) => (pool.blue ? [pool.blue] : [])), ...p.retired.map((r) => r.pool)];
    // The plan's cordon step: every old pool cordoned before the first drain.
    const cordon = await runScript(
        "cordon",
        { K8SU_KUBECONFIG: rc.kubeconfig(), K8SU_SELECTORS: steps.map((pool) => recordedSelector(p, pool)).join("\n") },
        KUBECTL_FOR_SERVER,
    );
    assert.equal(cordon.code, 0, cordon.stderr);
    const kubectlStart = kubectlStartSeconds();
    const watch = watchTerminations(rc);
    const runs: RealRun["runs"] = [];
    try {
        for (const pool of steps) {
            const selector = recordedSelector(p, pool);
            const started = Date.now();
            const r = await runScript(
                "drain",
                {
                    K8SU_KUBECONFIG: rc.kubeconfig(),
                    K8SU_CLUSTER: p.cluster.name,
                    K8SU_SELECTOR: selector,
                    K8SU_MIN_READY_ELSEWHERE: String(pool.count),
                    ...drainEnvironment(p.cluster.workers.drain),
                },
                KUBECTL_FOR_SERVER,
            );
            const times = [...watch.seen.values()].filter((t) => t >= started);
            runs.push({ ...r, selector, drainMs: times.length ? started + r.ms - Math.min(...times) : 0 });
            if (r.code !== 0) break;
        }
    } finally {
        await watch.stop();
    }
    return { runs, evicted: watch.seen, kubectlStart };
}

function evictionsByWorkload(snapshot: Snapshot, evicted: Map<string, number>): Record<string, number> {
    const out: Record<string, number> = {};
    for (const key of evicted.keys()) {
        const [ns, name] = key.split("/");
        const pod = snapshot.pods.find((p) => p.metadata.namespace === ns && p.metadata.name === name);
        const k = pod ? workloadKeyOf(snapshot, pod) : `replacement ${key}`;
        out[k] = (out[k] ?? 0) + 1;
    }
    return out;
}

function predictedEvictions(result: RehearseResult): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [key, cost] of result.run!.state.costs) if (cost.evictions > 0) out[key] = cost.evictions;
    return out;
}

function assertDuration(result: RehearseResult, real: RealRun): { predicted: number; actual: number } {
    const predicted = result.run!.drains.reduce((n, d) => n + d.end - d.start, 0);
    const actual = real.runs.reduce((n, r) => n + r.drainMs, 0) / 1000;
    if (process.env.K8SU_DEBUG_REHEARSE === "1") {
        for (const d of result.run!.drains)
            for (const n of d.drains)
                console.log(`model ${n.node} batch ${n.batch} ${n.start}-${n.end} evicted ${n.evicted}`);
        for (const r of real.runs) console.log(r.stderr);
        for (const [pod, at] of real.evicted) console.log(`evicted ${pod} at ${at}`);
    }
    console.log(
        `drains: predicted ${result.run!.drains.map((d) => d.end - d.start).join(" + ")}s; real ${real.runs.map((r) => (r.drainMs / 1000).toFixed(1)).join(" + ")}s`,
    );
    const nodes = result.run!.drains.reduce((n, d) => n + d.drains.length, 0);
    const load = real.kubectlStart * (2 * nodes + 4 * real.runs.length);
    assert.ok(
        actual >= predicted * (1 - TOLERANCE) && actual <= predicted * (1 + TOLERANCE) + load,
        `the drains took ${actual.toFixed(1)}s; the rehearsal predicted ${predicted.toFixed(1)}s (allowed ±${TOLERANCE * 100}%, plus ${load.toFixed(1)}s above for kubectl starts at ${real.kubectlStart.toFixed(2)}s each on this machine now)`,
    );
    return { predicted, actual };
}

/** The snapshot file's objects, with `edit` applied. */
function itemsOf(name: string, edit: (items: KubeObject[]) => KubeObject[] = (i) => i): KubeObject[] {
    const doc = JSON.parse(fs.readFileSync(path.join(DIR, `${name}.json`), "utf8")) as { items: KubeObject[] };
    return edit(doc.items);
}

interface Scenario {
    snapshot: Snapshot;
    result: RehearseResult;
    real: RealRun;
}

/** Builds the cluster, snapshots it, rehearses, then runs the real drains on it. */
async function scenario(rc: RealCluster, items: KubeObject[]): Promise<Scenario> {
    await buildFromSnapshot(rc, items, POD_TIMING);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "k8su-real-rehearse-"));
    try {
        const file = snapshotOf(rc, dir);
        const snapshot = parseSnapshot(fs.readFileSync(file, "utf8"), file);
        const result = rehearsed(file);
        const real = await realDrains(rc, plan(), result);
        rc.assertHealthy();
        return { snapshot, result, real };
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

/** kubectl drain's refusals in a run's output, by pod ("namespace/name"). */
function refusals(stderr: string): string[] {
    return [...stderr.matchAll(/error when evicting pods\/"([^"]+)" -n "([^"]+)".*disruption budget/g)].map(
        (m) => `${m[2]}/${m[1]}`,
    );
}

describe("the snapshot rehearsal against the real cluster it was taken of", () => {
    test("healthy: predicted to pass; the real drains pass with the same evictions per workload, within 25 % of the predicted time", async () => {
        await withCluster("rehearse-healthy", async (rc) => {
            const { snapshot, result, real } = await scenario(rc, itemsOf("healthy"));
            assert.equal(result.exitCode, 0, result.text);
            assert.deepEqual(result.findings!.blockers, []);
            assert.deepEqual(
                real.runs.map((r) => r.code),
                [0, 0],
                real.runs.map((r) => r.stderr).join("\n"),
            );
            assert.deepEqual(evictionsByWorkload(snapshot, real.evicted), predictedEvictions(result));
            const d = assertDuration(result, real);
            console.log(`healthy: predicted ${d.predicted.toFixed(1)}s, real ${d.actual.toFixed(1)}s`);
        });
    });

    test("blocking budget: predicted to fail on the same node, pod and budget as the script, after the same evictions", async () => {
        await withCluster("rehearse-blocking", async (rc) => {
            const { snapshot, result, real } = await scenario(rc, itemsOf("blocking-pdb"));
            assert.equal(result.exitCode, 1, result.text);
            const failure = result.run!.failure!;
            assert.equal(failure.kind, "budget");
            assert.deepEqual(failure.budgets, ["payments/ledger"]);
            const node = result.run!.drains.at(-1)!.drains.find((d) => d.failure)!.node;
            assert.equal(real.runs.length, result.run!.drains.length, "the script stops at the same pool");
            const last = real.runs.at(-1)!;
            assert.equal(last.code, 1, last.stderr);
            assert.match(last.stderr, new RegExp(`drain did not finish for ${node};`));
            for (const pod of failure.pods) assert.ok(last.stderr.includes(`  - ${pod}`), `the script names ${pod}`);
            const refused = refusals(real.runs.map((r) => r.stderr).join("\n"));
            assert.deepEqual(
                [...new Set(refused.map((p) => p.replace(/-[a-z0-9]+-[a-z0-9]+$/, "")))],
                ["payments/ledger"],
            );
            assert.equal(
                refused.length,
                result.run!.drains.at(-1)!.drains.reduce((n, d) => n + (d.refused.ledger ?? 0), 0),
                "as many refused evictions as predicted (kubectl retries every 5 s until its timeout)",
            );
            assert.deepEqual(evictionsByWorkload(snapshot, real.evicted), predictedEvictions(result));
            const d = assertDuration(result, real);
            console.log(`blocking budget: predicted ${d.predicted.toFixed(1)}s, real ${d.actual.toFixed(1)}s`);
        });
    });

    test("short of capacity: predicted to stop at the drain's capacity check, before any eviction, in the check's own words", async () => {
        await withCluster("rehearse-short", async (rc) => {
            const { result, real } = await scenario(rc, itemsOf("short-of-capacity"));
            assert.equal(result.exitCode, 1, result.text);
            const failure = result.run!.failure!;
            assert.equal(failure.kind, "capacity");
            assert.equal(real.runs.length, 1);
            assert.equal(real.runs[0].code, 1);
            assert.ok(real.runs[0].stderr.includes(failure.message), `${real.runs[0].stderr}\n---\n${failure.message}`);
            assert.doesNotMatch(real.runs[0].stderr, /evicting pod/, "nothing evicted");
            assert.equal(real.evicted.size, 0, "nothing evicted");
            assert.deepEqual(predictedEvictions(result), {});
        });
    });

    test("a bare pod and an emptyDir pod: predicted where kubectl drain refuses them, after the same evictions", async () => {
        // The healthy cluster with a pod that has no controller and a one-replica Deployment whose pod has an
        // emptyDir volume, both on the third node of the web pool.
        const node = "lke746937-737356-3c4d5e6f";
        const items = itemsOf("healthy", (all) => {
            const checkout = all.find((i) => i.kind === "Deployment" && i.metadata.name === "checkout")!;
            const scratch = structuredClone(checkout);
            scratch.metadata = { name: "scratch", namespace: "shop", labels: { app: "scratch" } };
            const template = (scratch.spec as { template: { metadata: KubeObject["metadata"]; spec: object } })
                .template;
            scratch.spec = {
                replicas: 1,
                selector: { matchLabels: { app: "scratch" } },
                template: {
                    metadata: { ...template.metadata, labels: { app: "scratch" } },
                    spec: { ...template.spec, nodeName: node, volumes: [{ name: "scratch", emptyDir: {} }] },
                },
            };
            const bare: KubeObject = {
                kind: "Pod",
                metadata: { name: "debug-shell", namespace: "default", labels: { app: "debug-shell" } },
                spec: { ...template.spec, nodeName: node },
            };
            return [...all.filter((i) => i.kind !== "Pod" && i.kind !== "ReplicaSet"), scratch, bare];
        });
        await withCluster("rehearse-undrainable", async (rc) => {
            const { snapshot, result, real } = await scenario(rc, items);
            assert.equal(result.exitCode, 1, result.text);
            assert.deepEqual(
                result.findings!.blockers.map((b) => b.kind),
                ["bare-pod", "emptydir"],
            );
            const failure = result.run!.failure!;
            const scratchPod = snapshot.pods.find((p) => p.metadata.name.startsWith("scratch-"))!.metadata.name;
            assert.deepEqual(failure.pods.sort(), ["default/debug-shell", `shop/${scratchPod}`]);
            const last = real.runs.at(-1)!;
            assert.equal(real.runs.length, 1);
            assert.equal(last.code, 1);
            assert.match(last.stderr, new RegExp(`drain did not finish for ${node};`));
            assert.match(last.stderr, /declare no controller[^\n]*default\/debug-shell/);
            assert.match(last.stderr, new RegExp(`local storage[^\\n]*shop/${scratchPod}`));
            assert.deepEqual(evictionsByWorkload(snapshot, real.evicted), predictedEvictions(result));
            const d = assertDuration(result, real);
            console.log(`bare and emptyDir pods: predicted ${d.predicted.toFixed(1)}s, real ${d.actual.toFixed(1)}s`);
        });
    });
});
