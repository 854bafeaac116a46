// The fault matrix: every generated script that calls an API, against every fault the test API server can
// make (connection refused, 401, 403, 429, 500, a hang, a slow answer, a failing exec credential plugin),
// each at the first call, a middle call and the last call of a clean run. Every cell must fail closed: exit
// non-zero, say what failed, and leave nothing deleted, shrunk or uncordoned that should not have been.
// Plus SIGTERM in the middle of a drain.
//
// FAULTS_SCRIPTS_DIR=<folder> runs the matrix against the script sources in that folder (an older version,
// to count how many cells it failed open) and only reports; by default the generated scripts run and every
// cell is asserted.

import * as assert from "node:assert/strict";
import * as os from "node:os";
import { test } from "node:test";
import { preflightEnvironment } from "../components/removed-apis";
import type { ScriptKind } from "../components/scripts";
import { type FaultMode, KubeApiFixture } from "./fixture/kube-api";
import { runScript, type ScriptRun, scriptFrom, startScript } from "./fixture/run-script";

const KUBECTL = "1.31";
const OLD_SCRIPTS = process.env.FAULTS_SCRIPTS_DIR;
// No deadline here may depend on how fast the machine is: a clean run of every script must pass with both cores
// busy. The request timeout is what the hang and slow cells assert (a request that gets no answer is given up),
// so it is well above what any answered request takes under load, and the slow answer comes well after it.
const REQUEST_TIMEOUT_SECONDS = 10;
/** The scripts' own deadlines (drain, waits): only upper bounds in these cells, so generous. */
const DEADLINE_SECONDS = "120";
/** Cells at once: most of a cell's time is spent waiting on the fixture or a timeout, not on the CPU. */
const CONCURRENCY = Math.max(6, Math.min(12, os.cpus().length * 6));
/** A cell still running after this long failed open in its own way: it hung. Only an upper bound, so generous:
 *  well past the scripts' own deadlines, which a fault can make a script wait out. */
const CELL_KILL_MS = OLD_SCRIPTS ? 20_000 : 600_000;

type Mode = FaultMode | "exec-plugin";
const MODES: Mode[] = ["refused", "401", "403", "429", "500", "hang", "slow", "exec-plugin"];
/** What a message must contain to name the fault. */
const NAMES: Record<Mode, RegExp> = {
    refused: /refused|reset|EOF|connect|Empty reply|cannot be reached/i,
    "401": /401|Unauthorized|logged in|provide credentials/i,
    "403": /403|Forbidden/i,
    "429": /429|TooManyRequests|too many requests/i,
    "500": /500|InternalError|Internal Server Error|etcdserver/i,
    hang: /time(d)? ?out|Timeout|deadline|awaiting headers|request canceled/i,
    slow: /time(d)? ?out|Timeout|deadline|awaiting headers|request canceled/i,
    "exec-plugin": /credential|get-token|expired|exec/i,
};

interface Scenario {
    kind: ScriptKind;
    build(f: KubeApiFixture): void;
    env(f: KubeApiFixture): Record<string, string>;
    /** Whether the script's job is to uncordon. */
    uncordons?: boolean;
    /** Whether the script's job leaves nodes alone (checks and waits). */
    readOnly?: boolean;
}

const drainEnv = {
    K8SU_CLUSTER: "apps",
    K8SU_BATCH_SIZE: "2",
    K8SU_SOAK_SECONDS: "0",
    // The older scripts require a grace period; the current ones take each pod's own when it is empty.
    K8SU_GRACE_SECONDS: OLD_SCRIPTS ? "5" : "",
    K8SU_DRAIN_TIMEOUT_SECONDS: DEADLINE_SECONDS,
    K8SU_DELETE_EMPTYDIR_DATA: "false",
};

function blueGreen(f: KubeApiFixture): void {
    for (const n of ["blue-1", "blue-2", "blue-3"])
        f.addNode(n, { labels: { pool: "blue" }, kubeletVersion: "1.30.9" });
    for (const n of ["green-1", "green-2", "green-3"]) f.addNode(n, { labels: { pool: "green" } });
    f.addDaemonSet("kube-system", "kube-proxy");
    f.addReplicaSet("default", "web", 4, ["blue-1", "blue-2", "blue-3"], { requests: { cpu: 250, memory: 256e6 } });
    f.addPdb({ namespace: "default", name: "web", selector: { app: "web" }, maxUnavailable: 3 });
}

function lkeInPlace(f: KubeApiFixture): void {
    f.controlPlaneVersion = "1.31.1";
    f.servedVersion = "1.31.1";
    // (The older in-place script cannot finish under the autoscaler's minimum at all; without one it can.)
    const nodes = f.addLkePool(21, 2, "1.30.9", OLD_SCRIPTS ? undefined : { enabled: true, min: 2, max: 4 });
    f.addDaemonSet("kube-system", "kube-proxy");
    f.addReplicaSet("default", "web", 2, nodes);
}

const linode = (f: KubeApiFixture) => ({
    LINODE_API_URL: f.linodeUrl(),
    LINODE_TOKEN: f.linodeToken,
    K8SU_LKE_CLUSTER_ID: String(f.clusterId),
});

const SCENARIOS: Scenario[] = [
    { kind: "preflight", build: blueGreen, env: () => preflightEnvironment("1.32"), readOnly: true },
    {
        kind: "wait-ready",
        build: blueGreen,
        env: () => ({
            K8SU_SELECTOR: "pool=green",
            K8SU_EXPECTED_NODES: "3",
            K8SU_TARGET_MINOR: "1.31",
            K8SU_TIMEOUT_SECONDS: DEADLINE_SECONDS,
        }),
        readOnly: true,
    },
    {
        kind: "wait-resource",
        build: (f) =>
            f.addCustomObject(
                {
                    group: "controlplane.cluster.x-k8s.io",
                    version: "v1beta1",
                    plural: "kubeadmcontrolplanes",
                    kind: "KubeadmControlPlane",
                },
                "default",
                "prod-control-plane",
                { spec: { version: "v1.31.4", replicas: 3 }, status: { version: "v1.31.4", updatedReplicas: 3 } },
            ),
        env: () => ({
            K8SU_RESOURCE: "kubeadmcontrolplanes.controlplane.cluster.x-k8s.io/prod-control-plane",
            K8SU_NAMESPACE: "default",
            K8SU_CONDITIONS: "{.status.version}=v1.31.4\n{.status.updatedReplicas}=3",
            K8SU_TIMEOUT_SECONDS: DEADLINE_SECONDS,
        }),
        readOnly: true,
    },
    { kind: "cordon", build: blueGreen, env: () => ({ K8SU_SELECTORS: "pool=blue\npool=green" }) },
    {
        kind: "uncordon",
        build: (f) => {
            blueGreen(f);
            for (const n of f.nodes.values()) n.unschedulable = true;
        },
        env: () => ({ K8SU_SELECTORS: "pool=blue\npool=green" }),
        uncordons: true,
    },
    {
        kind: "drain",
        build: blueGreen,
        env: () => ({ ...drainEnv, K8SU_SELECTOR: "pool=blue", K8SU_MIN_READY_ELSEWHERE: "3" }),
    },
    {
        kind: "validate",
        build: blueGreen,
        env: () => ({ K8SU_TARGET_MINOR: "1.31", K8SU_SELECTORS: "pool=green" }),
        readOnly: true,
    },
    {
        kind: "local-command",
        build: blueGreen,
        env: () => ({
            K8SU_COMMAND: `kubectl get nodes --request-timeout=${REQUEST_TIMEOUT_SECONDS}s >/dev/null && kubectl get pods -A --request-timeout=${REQUEST_TIMEOUT_SECONDS}s >/dev/null`,
        }),
        readOnly: true,
    },
    {
        kind: "lke-control-plane",
        build: (f) => {
            f.controlPlaneVersion = "1.30.9";
            f.servedVersion = "1.30.9";
            f.addLkePool(11, 1, "1.30.9");
        },
        env: (f) => ({ ...linode(f), K8SU_TARGET_MINOR: "1.31", K8SU_TIMEOUT_SECONDS: DEADLINE_SECONDS }),
        readOnly: true,
    },
    {
        kind: "lke-in-place",
        build: lkeInPlace,
        env: (f) => ({
            ...linode(f),
            K8SU_LKE_POOL_ID: "21",
            K8SU_POOL_COUNT: "2",
            ...(OLD_SCRIPTS ? {} : { K8SU_AUTOSCALER_MIN: "2", K8SU_AUTOSCALER_MAX: "4" }),
            K8SU_TARGET_MINOR: "1.31",
            K8SU_READY_TIMEOUT_SECONDS: DEADLINE_SECONDS,
            ...drainEnv,
        }),
    },
    {
        kind: "lke-recycle-pool",
        build: (f) => {
            f.controlPlaneVersion = "1.31.1";
            f.servedVersion = "1.31.1";
            f.addLkePool(1, 1, "1.30.9");
            f.addDaemonSet("kube-system", "kube-proxy");
        },
        env: (f) => ({
            ...linode(f),
            K8SU_LKE_POOL_ID: "1",
            K8SU_POOL_COUNT: "1",
            K8SU_TARGET_MINOR: "1.31",
            K8SU_READY_TIMEOUT_SECONDS: DEADLINE_SECONDS,
        }),
    },
];

interface CellResult {
    cell: string;
    /** Why the cell failed open; empty when it failed closed. */
    problems: string[];
    reached: boolean;
    ms: number;
}

/** Runs one script once, optionally with one fault from a given position; returns the run and the fixture's verdicts. */
async function runCell(
    s: Scenario,
    mode: Mode | undefined,
    at: number,
): Promise<{ run: ScriptRun; requests: number; pluginRuns: number; reached: boolean; problems: string[] }> {
    const f = new KubeApiFixture("1.31.4");
    f.timing = { ...f.timing, nodeReadyMs: 150, readyMs: 100, linodeDeleteMs: 100 };
    await f.start();
    try {
        s.build(f);
        const cordonedBefore = new Set([...f.nodes.values()].filter((n) => n.unschedulable).map((n) => n.name));
        const plugin = f.execPluginKubeconfig(mode === "exec-plugin" ? at : Number.POSITIVE_INFINITY);
        if (mode && mode !== "exec-plugin")
            f.injectFault({ mode, at, delayMs: mode === "slow" ? (REQUEST_TIMEOUT_SECONDS + 10) * 1000 : undefined });
        const env = {
            K8SU_KUBECONFIG: plugin.kubeconfig,
            K8SU_REQUEST_TIMEOUT_SECONDS: String(REQUEST_TIMEOUT_SECONDS),
            K8SU_CURL_RETRIES: "0",
            ...s.env(f),
        };
        const run = await runScript(s.kind, env, KUBECTL, {
            script: OLD_SCRIPTS ? scriptFrom(OLD_SCRIPTS, s.kind) : undefined,
            killAfterMs: CELL_KILL_MS,
        });
        const reached = mode === "exec-plugin" ? plugin.runs() >= at : f.faultHits() > 0;
        const problems: string[] = [];
        if (mode && reached) {
            if (run.signal) problems.push(`still running after ${CELL_KILL_MS / 1000}s (killed)`);
            else if (run.code === 0) problems.push("exited 0");
            else if (!NAMES[mode].test(run.stderr))
                problems.push(`message does not name the fault: ${tail(run.stderr)}`);
        }
        for (const e of f.events) {
            if (e.kind === "uncordoned" && !s.uncordons) problems.push(`uncordoned ${e.object}`);
            if (e.kind === "uncordoned" && s.uncordons && !cordonedBefore.has(e.object))
                problems.push(`uncordoned ${e.object}, which was not cordoned`);
            if (e.kind === "node-deleted" && e.detail) problems.push(`deleted ${e.object} with ${e.detail} on it`);
            if (s.readOnly && (e.kind === "cordoned" || e.kind === "evicted" || e.kind === "node-deleted"))
                problems.push(`a check changed the cluster: ${e.kind} ${e.object}`);
        }
        for (const u of f.linodePoolUpdates)
            if (typeof u.body.count === "number" && u.body.count < u.before)
                problems.push(`pool ${u.pool} shrunk through the pool API: ${u.before} -> ${u.body.count}`);
        return { run, requests: f.requests.length, pluginRuns: plugin.runs(), reached, problems };
    } finally {
        await f.stop();
    }
}

function tail(text: string): string {
    return text.trim().split("\n").slice(-3).join(" | ").slice(0, 400);
}

async function pool<T>(jobs: Array<() => Promise<T>>, size: number): Promise<T[]> {
    const results: T[] = new Array(jobs.length);
    let next = 0;
    await Promise.all(
        Array.from({ length: size }, async () => {
            while (next < jobs.length) {
                const i = next++;
                results[i] = await jobs[i]();
            }
        }),
    );
    return results;
}

/** The positions a fault is injected at: the first call, one in the middle, the last. */
function positions(total: number): number[] {
    return [...new Set([1, Math.ceil(total / 2), total])].filter((n) => n >= 1);
}

test("fault matrix: every script fails closed under every fault, at the first, a middle and the last call", async (t) => {
    const started = Date.now();
    // A clean run of each script first: it must pass, and it says how many calls there are to fault.
    const baselines = await pool(
        SCENARIOS.map((s) => async () => ({ s, base: await runCell(s, undefined, 0) })),
        CONCURRENCY,
    );
    for (const { s, base } of baselines) {
        if (OLD_SCRIPTS && base.run.code !== 0) {
            t.diagnostic(`${s.kind} fails without a fault: ${tail(base.run.stderr)}`);
            continue;
        }
        assert.equal(base.run.code, 0, `${s.kind} fails without a fault:\n${base.run.stderr}`);
        assert.deepEqual(base.problems, [], `${s.kind} without a fault`);
    }
    const jobs: Array<() => Promise<CellResult>> = [];
    for (const { s, base } of baselines)
        for (const mode of MODES) {
            const total = mode === "exec-plugin" ? base.pluginRuns : base.requests;
            for (const at of positions(total))
                jobs.push(async () => {
                    // A clean run's call count varies a little (polling); when the fault lies past the end of
                    // this run, the run must have succeeded, and the fault moves one call earlier.
                    for (let p = at; p >= 1; p--) {
                        const r = await runCell(s, mode, p);
                        const cell = `${s.kind} × ${mode} @ call ${p}/${total}`;
                        if (r.reached || p === 1)
                            return { cell, problems: r.problems, reached: r.reached, ms: r.run.ms };
                        if (r.run.code !== 0)
                            return {
                                cell,
                                problems: [`failed without the fault: ${tail(r.run.stderr)}`],
                                reached: false,
                                ms: r.run.ms,
                            };
                    }
                    throw new Error("unreachable");
                });
        }
    const cells = await pool(jobs, CONCURRENCY);
    const open = cells.filter((c) => c.problems.length > 0);
    const summary = `fault matrix: ${cells.length} cells over ${SCENARIOS.length} scripts × ${MODES.length} faults, ${open.length} failed open, ${cells.filter((c) => !c.reached).length} not reached, ${((Date.now() - started) / 1000).toFixed(0)}s`;
    t.diagnostic(summary);
    for (const c of open) t.diagnostic(`OPEN ${c.cell}: ${c.problems.join("; ")}`);
    if (OLD_SCRIPTS) return;
    assert.equal(cells.filter((c) => !c.reached).length, 0, "every fault was reached");
    assert.deepEqual(
        open.map((c) => `${c.cell}: ${c.problems.join("; ")}`),
        [],
        summary,
    );
});

test("SIGTERM in the middle of a drain stops the kubectl drains, exits non-zero and leaves every node cordoned; a re-run converges", async () => {
    const f = new KubeApiFixture("1.31.4");
    await f.start();
    try {
        blueGreen(f);
        // Slow pods keep the drains busy long enough to be interrupted.
        f.addReplicaSet("default", "slow", 2, ["blue-1", "blue-2"], {
            terminationGracePeriodSeconds: 30,
            shutdownSeconds: 30,
        });
        f.timing = { ...f.timing, secondMs: 100 };
        const env = {
            K8SU_KUBECONFIG: f.kubeconfig(),
            ...drainEnv,
            K8SU_DRAIN_TIMEOUT_SECONDS: "60",
            K8SU_SELECTOR: "pool=blue",
            K8SU_MIN_READY_ELSEWHERE: "3",
        };
        const { child, done } = startScript("drain", env, KUBECTL, {
            script: OLD_SCRIPTS ? scriptFrom(OLD_SCRIPTS, "drain") : undefined,
            killAfterMs: 60_000,
        });
        // Wait for the first eviction: the drains are running.
        const deadline = Date.now() + 120_000;
        while (!f.events.some((e) => e.kind === "evicted") && Date.now() < deadline)
            await new Promise((r) => setTimeout(r, 50));
        assert.ok(
            f.events.some((e) => e.kind === "evicted"),
            "the drain started evicting",
        );
        child.kill("SIGTERM");
        const r = await done;
        assert.notEqual(r.code, 0, "a killed drain does not report success");
        assert.match(r.stderr, /stopped by SIGTERM/);
        const evictionsAtStop = f.events.filter((e) => e.kind === "evicted").length;
        // No kubectl drain is left running: no eviction after the script ended.
        await new Promise((r) => setTimeout(r, 1500));
        assert.equal(f.events.filter((e) => e.kind === "evicted").length, evictionsAtStop, "evictions after the stop");
        assert.ok(
            ["blue-1", "blue-2", "blue-3"].every((n) => f.nodes.get(n)!.unschedulable),
            "every blue node stays cordoned",
        );
        assert.equal(f.events.filter((e) => e.kind === "uncordoned").length, 0);
        const again = await runScript("drain", env, KUBECTL);
        assert.equal(again.code, 0, again.stderr);
        for (const n of ["blue-1", "blue-2", "blue-3"])
            assert.deepEqual(
                f.podsOn(n).filter((p) => p.owner?.kind !== "DaemonSet"),
                [],
                `${n} is empty after the re-run`,
            );
    } finally {
        await f.stop();
    }
});

test("SIGKILL of the script (how pulumi-command cancels a command) still stops its kubectl drains; nodes stay cordoned", async () => {
    const f = new KubeApiFixture("1.31.4");
    await f.start();
    try {
        blueGreen(f);
        f.addReplicaSet("default", "slow", 2, ["blue-1", "blue-2"], {
            terminationGracePeriodSeconds: 30,
            shutdownSeconds: 30,
        });
        f.timing = { ...f.timing, secondMs: 100 };
        const { child, done } = startScript(
            "drain",
            {
                K8SU_KUBECONFIG: f.kubeconfig(),
                ...drainEnv,
                K8SU_DRAIN_TIMEOUT_SECONDS: "60",
                K8SU_SELECTOR: "pool=blue",
                K8SU_MIN_READY_ELSEWHERE: "3",
            },
            KUBECTL,
            // Its own process group (killAfterMs), so that the test can see when every process under it is gone.
            { script: OLD_SCRIPTS ? scriptFrom(OLD_SCRIPTS, "drain") : undefined, killAfterMs: 600_000 },
        );
        const deadline = Date.now() + 120_000;
        while (!f.events.some((e) => e.kind === "evicted") && Date.now() < deadline)
            await new Promise((r) => setTimeout(r, 50));
        child.kill("SIGKILL");
        // The drains notice that the script is gone and stop their kubectl: waited for as an event (the script's
        // process group empties), not for a time that a busy machine may overrun. The bound is only a bound.
        const group = child.pid!;
        const alive = () => {
            try {
                process.kill(-group, 0);
                return true;
            } catch {
                return false;
            }
        };
        const gone = Date.now() + 120_000;
        while (alive() && Date.now() < gone) await new Promise((r) => setTimeout(r, 100));
        assert.equal(alive(), false, "the kubectl drains outlived the killed script");
        const evictions = f.events.filter((e) => e.kind === "evicted").length;
        await new Promise((r) => setTimeout(r, 1000));
        assert.equal(f.events.filter((e) => e.kind === "evicted").length, evictions, "a drain went on evicting");
        assert.ok(["blue-1", "blue-2", "blue-3"].every((n) => f.nodes.get(n)!.unschedulable));
        await Promise.race([done, new Promise((r) => setTimeout(r, 5000))]);
    } finally {
        await f.stop();
    }
});
