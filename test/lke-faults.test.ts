// The fault matrix for the LKE scripts (lke-control-plane, lke-in-place, lke-recycle-pool), which call two APIs: the
// Linode API, through the stand-in of test/fixture/linode-api.ts (its pools are kwok Nodes of the real control
// plane), and the Kubernetes API, through a FaultProxy (test/fixture/fault-proxy.ts) in front of the real
// kube-apiserver (for the control plane, in front of the ServedVersionFront that answers /version with the minor the
// stand-in's control plane serves). test/faults.test.ts is the same matrix for the scripts that call Kubernetes only.
//
// How cells are chosen. A clean run of each script first: it must succeed, and it counts the calls it makes to each
// API (the stand-in's `calls`, the proxy's `records`). A cell is one fault, from one call of that count on:
// - Linode: 500, 401, slow (answered REQUEST_TIMEOUT_SECONDS + 5 s late, after curl gave up; the stand-in still
//   carries the call out, as a server does) and refused (the listener closes at that call and stays closed);
// - Kubernetes: reset (the connection dropped after the request arrived), 403, 429 with Retry-After, 500 and hang
//   (never answered until the client gives up), every request from that one on.
// The positions are the first call, the middle one (ceil((n + 1) / 2): with two calls, the second) and the last,
// fewer where the clean run has fewer calls (the control plane and the pool recycle make two Linode calls). A run that
// ends before it reaches its fault (the number of polls varies with timing) must have succeeded; the cell then moves
// its fault to that run's last call, as test/faults.test.ts does.
// Calls no position reaches. in-place's first, middle and last Linode calls are reads and autoscaler updates; its
// surge (the pool's count raised by one), node recycle and node delete fall between them. Each of those gets its own
// cells, a Linode 500 and a refused connection at its first occurrence (matched by method and path), each run again
// without the fault. The clean run checks that each is made, and that the first pool update is the surge.
//
// What is cut, and why. The faults a script waits out (Linode slow, Kubernetes 429 and hang: a request timeout, or
// client-go's ten retries after Retry-After, on every call from there on) are run at the middle call only; the quick
// ones at all three. The full matrix of the waited-out kinds would add sixteen cells, most of their time spent in
// kubectl's and curl's timeouts (in-place's hang cell alone takes over a minute), for no path the quick kinds at the
// same calls do not already take; with them the file would run well past the four minutes it takes on this loaded
// two-core machine. curl runs with K8SU_CURL_RETRIES=0: with retries a fault that lasts is only reported later.
//
// What a cell asserts (fail closed). Once its fault was reached, the script exits non-zero, not killed; its FAILED
// line names the API (for Linode: "Linode API <method> <path> failed", the faulted call itself, on the only FAILED
// line: a script that logged the failure and went on until something else stopped it did not stop at the call; for
// Kubernetes: kubectl's call, the API server or the drain, never the Linode API) and the whole message names the fault. Whatever
// it did before the fault, and whatever the stand-in carried out after it (a slow call): no Node deleted with
// workload pods on it (the stand-in's `gone`), no pool count below the start (in-place promises never to go below;
// the pool recycle replaces the workload-free anchor pool one node at a time), no pool update lowering the count,
// no node uncordoned (no such patch passed the proxy), and every node the script cordoned either still cordoned or
// gone (moved). For every script, API and fault kind, the middle cell then runs the script again with the fault
// cleared (the stand-in listening again after a refusal): it must exit 0 and reach the target (the pool at its
// start count, every node at the target minor, the autoscaler restored; the control plane serving the target).
//
// Isolation. One control plane for the file. Each cell has its own Linode cluster (stand-in, port, cluster id), its
// own pool ids, namespace and workloads (selecting the pool's `test` label), and its own proxy; so cells run side by
// side, CONCURRENCY at a time. in-place's capacity check reads every node, but places pods by their nodeSelector (the
// cell's own) and needs one eligible node outside: other cells' nodes can only add to it.
//
// LKE_FAULTS_SCRIPTS=<kind>,<kind> limits the matrix to those scripts.
import * as assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ANCHOR_TAINT } from "../components/lke/cluster";
import type { ScriptKind } from "../components/scripts";
import { FaultProxy, type ProxyFault } from "./fixture/fault-proxy";
import { LinodeApi, type LinodeCall, type LinodeFault, ServedVersionFront } from "./fixture/linode-api";
import { KUBECTL_FOR_SERVER, realCluster, sleep } from "./fixture/real-cluster";
import { runScript, type ScriptRun } from "./fixture/run-script";

const rc = realCluster("lke-faults");

const ONLY = process.env.LKE_FAULTS_SCRIPTS?.split(",").filter(Boolean);
/** Every kubectl request and curl call gives up after this long: what the hang and slow cells wait out. Above what
 *  client-go's ten retries of a 429 after its Retry-After (1 s) take, so that the 429 itself is reported. */
const REQUEST_TIMEOUT_SECONDS = 15;
/** A slow Linode answer comes this long after its request: after curl gave up. */
const SLOW_MS = (REQUEST_TIMEOUT_SECONDS + 5) * 1000;
/** The control plane's wait for the served minor, which retries a failed read until then: what its Kubernetes
 *  cells wait out. */
const CONTROL_PLANE_WAIT_SECONDS = 20;
/** in-place's drain: only an upper bound (a 429 on an eviction is retried by kubectl drain until then). */
const DRAIN_TIMEOUT_SECONDS = 45;
/** Waits for nodes: only upper bounds. */
const READY_TIMEOUT_SECONDS = 120;
/** Cells at once: most of a cell's time is spent waiting for a join, a timeout or a retry, not on a CPU. */
const CONCURRENCY = 8;
/** A script still running after this long hung: an upper bound only. */
const KILL_MS = 300_000;
/** Waiting for the stand-in's own work to end after a run: an upper bound only. */
const QUIET_MS = SLOW_MS + 60_000;

type LinodeKind = LinodeFault["kind"];
type KubeKind = "reset" | "403" | "429" | "500" | "hang";
type Fault = { api: "linode"; kind: LinodeKind } | { api: "kube"; kind: KubeKind };

const LINODE_KINDS: LinodeKind[] = ["500", "401", "slow", "refused"];
const KUBE_KINDS: KubeKind[] = ["reset", "403", "429", "500", "hang"];
const KUBE_FAULTS: Record<KubeKind, ProxyFault> = {
    reset: { reset: true },
    "403": { status: 403 },
    "429": { status: 429 },
    "500": { status: 500 },
    hang: { hang: true },
};
/** Run at the middle call only (see the header). */
const WAITED_OUT = new Set(["linode:slow", "kube:429", "kube:hang"]);
/** The faults put on a named call (see the header). */
const NAMED_CALL_KINDS: LinodeKind[] = ["500", "refused"];

/** What the message must say to name the fault. */
const NAMES: Record<string, RegExp> = {
    "linode:500": /\b500\b[\s\S]*the API server failed/,
    "linode:401": /\b401\b[\s\S]*the credentials were refused/,
    "linode:slow": new RegExp(`timed out[\\s\\S]*no answer within ${REQUEST_TIMEOUT_SECONDS}s`),
    "linode:refused": /(Empty reply|refused|reset|Couldn't connect|Failed to connect)[\s\S]*cannot be reached/,
    "kube:reset": /refused|reset|EOF|connect|Empty reply|cannot be reached/i,
    "kube:403": /403|Forbidden/i,
    "kube:429": /429|TooManyRequests|too many requests/i,
    "kube:500": /500|InternalError|Internal Server Error|etcdserver/i,
    "kube:hang": /time(d)? ?out|Timeout|deadline|awaiting headers|request canceled/i,
};

let nextClusterId = 9100;
let nextPoolId = 300;

function versions(): { target: string; old: string; oldKubelet: string } {
    const [major, minor] = rc.c.state.version.slice(1).split(".");
    const old = `${major}.${Number(minor) - 1}`;
    return { target: `${major}.${minor}`, old, oldKubelet: `v${old}.7` };
}
const minorOf = (v: string) => v.replace(/^v?(\d+\.\d+).*$/, "$1");
const tls = () => ({ cert: rc.c.pki.serverCert, key: rc.c.pki.serverKey, ca: rc.c.pki.caCert });

/** One cell's share: its Linode cluster, its pool (none for the control plane), what the proxy forwards to. */
interface World {
    lke: LinodeApi;
    poolId?: number;
    /** The pool's count at the start. */
    startCount: number;
    /** The kube-apiserver, or the front that answers /version for the control plane. */
    upstream: string;
    front?: ServedVersionFront;
    ns?: string;
}

/** A Linode call of a script's own, faulted at its first occurrence wherever it falls in the run. */
interface NamedCall {
    name: string;
    /** Matched against "METHOD /v4/path". */
    match: RegExp;
    /** Why the first call matched is not the one meant (checked on the clean run); empty when it is. */
    check?(call: LinodeCall, w: World): string[];
}

interface Scenario {
    kind: ScriptKind;
    build(): Promise<World>;
    env(w: World): Record<string, string>;
    /** Why the world has not reached the target after a successful run; empty when it has. */
    converged(w: World, run: ScriptRun): Promise<string[]>;
    namedCalls?: NamedCall[];
}

function baseEnv(w: World, kubeconfig: string): Record<string, string> {
    return {
        K8SU_KUBECONFIG: kubeconfig,
        LINODE_API_URL: w.lke.url,
        LINODE_TOKEN: w.lke.token,
        K8SU_LKE_CLUSTER_ID: String(w.lke.clusterId),
        K8SU_CURL_RETRIES: "0",
        K8SU_REQUEST_TIMEOUT_SECONDS: String(REQUEST_TIMEOUT_SECONDS),
        K8SU_POLL_SECONDS: "1",
        K8SU_TARGET_MINOR: versions().target,
    };
}

async function newLke(k8sVersion: string): Promise<LinodeApi> {
    const lke = new LinodeApi(rc.api, {
        clusterId: nextClusterId++,
        k8sVersion,
        // The control plane serves the new minor a few polls after its upgrade, so that its wait has a first, a
        // middle and a last call.
        timing: { joinMs: 1000, deleteMs: 1000, controlPlaneMs: 5000 },
    });
    await lke.start();
    return lke;
}

/** Builds a world; a stand-in left listening by a failed build would keep the test process from ending. */
async function building(lke: LinodeApi, body: () => Promise<World>): Promise<World> {
    try {
        return await body();
    } catch (err) {
        await lke.close();
        throw err;
    }
}

/** Why the pool is not at the target: every node Ready at the target minor, as many as at the start. */
async function poolProblems(w: World): Promise<string[]> {
    const problems: string[] = [];
    const nodes = await w.lke.nodesOf(w.poolId!);
    const count = w.lke.pool(w.poolId!).count;
    if (count !== w.startCount) problems.push(`pool count ${count}, not ${w.startCount}`);
    if (nodes.length !== w.startCount) problems.push(`${nodes.length} node(s), not ${w.startCount}`);
    const off = nodes.filter((n) => minorOf(n.version) !== versions().target || !n.usable || n.cordoned);
    if (off.length) problems.push(`not Ready and schedulable at the target: ${JSON.stringify(off)}`);
    return problems;
}

const IN_PLACE_AUTOSCALER = { enabled: true, min: 2, max: 4 };

const ALL_SCENARIOS: Scenario[] = [
    {
        kind: "lke-control-plane",
        build: async () => {
            const lke = await newLke(versions().old);
            return building(lke, async () => {
                const front = new ServedVersionFront(rc.c.state.server, tls(), lke);
                return { lke, front, startCount: 0, upstream: await front.start() };
            });
        },
        env: () => ({ K8SU_TIMEOUT_SECONDS: String(CONTROL_PLANE_WAIT_SECONDS), K8SU_POLL_SECONDS: "2" }),
        converged: async (w, run) => {
            const problems: string[] = [];
            if (w.lke.k8sVersion !== versions().target) problems.push(`LKE's k8s_version is ${w.lke.k8sVersion}`);
            if (!/API server serves v/.test(run.stderr)) problems.push("it never saw the target served");
            return problems;
        },
    },
    {
        kind: "lke-in-place",
        build: async () => {
            const lke = await newLke(versions().target);
            return building(lke, async () => {
                const poolId = nextPoolId++;
                const ns = await rc.namespace("lf");
                const selector = { test: ns };
                await lke.addPool({
                    id: poolId,
                    count: 2,
                    kubeletVersion: versions().oldKubelet,
                    autoscaler: IN_PLACE_AUTOSCALER,
                    labels: selector,
                });
                await rc.daemonSet(ns, "agent", { nodeSelector: selector, exitAfter: "1s" });
                await rc.deployment(ns, "web", { nodeSelector: selector, replicas: 2, exitAfter: "1s" });
                await rc.pdb(ns, "web", { maxUnavailable: 1 });
                await rc.waitReady(ns, "web", 2, 300_000);
                await rc.waitReady(ns, "agent", 2, 300_000);
                return { lke, poolId, ns, startCount: 2, upstream: rc.c.state.server };
            });
        },
        env: (w) => ({
            K8SU_CLUSTER: "apps",
            K8SU_LKE_POOL_ID: String(w.poolId),
            K8SU_POOL_COUNT: "2",
            K8SU_AUTOSCALER_MIN: String(IN_PLACE_AUTOSCALER.min),
            K8SU_AUTOSCALER_MAX: String(IN_PLACE_AUTOSCALER.max),
            K8SU_READY_TIMEOUT_SECONDS: String(READY_TIMEOUT_SECONDS),
            K8SU_GRACE_SECONDS: "",
            K8SU_DRAIN_TIMEOUT_SECONDS: String(DRAIN_TIMEOUT_SECONDS),
            K8SU_DELETE_EMPTYDIR_DATA: "false",
        }),
        converged: async (w) => {
            const problems = await poolProblems(w);
            const a = w.lke.pool(w.poolId!).autoscaler;
            if (JSON.stringify(a) !== JSON.stringify(IN_PLACE_AUTOSCALER))
                problems.push(`autoscaler ${JSON.stringify(a)}, not restored`);
            return problems;
        },
        namedCalls: [
            {
                name: "the surge",
                match: /^PUT \/v4\/lke\/clusters\/\d+\/pools\/\d+$/,
                check: (call, w) => {
                    const count = (call.body as { count?: unknown } | undefined)?.count;
                    return count === w.startCount + 1
                        ? []
                        : [`the first pool update sets count ${JSON.stringify(count)}, not ${w.startCount + 1}`];
                },
            },
            { name: "the node recycle", match: /^POST \/v4\/lke\/clusters\/\d+\/nodes\/[^/]+\/recycle$/ },
            { name: "the node delete", match: /^DELETE \/v4\/lke\/clusters\/\d+\/nodes\/[^/]+$/ },
        ],
    },
    {
        kind: "lke-recycle-pool",
        build: async () => {
            const lke = await newLke(versions().target);
            return building(lke, async () => {
                const poolId = nextPoolId++;
                await lke.addPool({
                    id: poolId,
                    count: 1,
                    kubeletVersion: versions().oldKubelet,
                    labels: { "k8s-upgrades/role": "anchor", test: `anchor-${poolId}` },
                    taints: [ANCHOR_TAINT],
                });
                return { lke, poolId, startCount: 1, upstream: rc.c.state.server };
            });
        },
        env: (w) => ({
            K8SU_LKE_POOL_ID: String(w.poolId),
            K8SU_POOL_COUNT: "1",
            K8SU_READY_TIMEOUT_SECONDS: String(READY_TIMEOUT_SECONDS),
        }),
        converged: (w) => poolProblems(w),
    },
];
const SCENARIOS = ALL_SCENARIOS.filter((s) => !ONLY || ONLY.includes(s.kind));

async function teardown(w: World): Promise<void> {
    await w.lke.close();
    await w.front?.stop();
    if (w.ns) await rc.api.request("DELETE", `/api/v1/namespaces/${w.ns}`);
    if (w.poolId !== undefined)
        for (const n of await w.lke.nodesOf(w.poolId)) await rc.api.request("DELETE", `/api/v1/nodes/${n.name}`);
}

/** Waits until the stand-in has carried out what it was told (a slow call included) and has nothing under way. */
async function quiet(w: World): Promise<void> {
    const until = Date.now() + QUIET_MS;
    while (!w.lke.idle) {
        if (Date.now() > until) throw new Error(`the stand-in of cluster ${w.lke.clusterId} never settled`);
        await sleep(200);
    }
}

// ---- one run ----

interface Run {
    run: ScriptRun;
    /** Calls made to each API. */
    linodeCalls: number;
    kubeRequests: number;
    reached: boolean;
    /** Why the run failed open; empty when it failed closed. */
    problems: string[];
}

/** The FAILED line(s) of a run. */
const failedLines = (stderr: string) =>
    stderr
        .split("\n")
        .filter((l) => l.includes("FAILED:"))
        .join("\n");

function tail(text: string): string {
    return text.trim().split("\n").slice(-4).join(" | ").slice(0, 600);
}

/** Whether the message names the API and the fault; `call` is the faulted Linode call. */
function messageProblems(fault: Fault, call: LinodeCall | undefined, stderr: string): string[] {
    const failed = failedLines(stderr);
    const problems: string[] = [];
    if (!failed) return [`no FAILED line: ${tail(stderr)}`];
    if (fault.api === "linode") {
        if (!call) return [`no Linode call was faulted: ${tail(failed)}`];
        const named = `Linode API ${call.method} ${call.path.replace(/^\/v4/, "")} failed`;
        if (!failed.includes(named)) problems.push(`the message does not name "${named}": ${tail(failed)}`);
        else if (failed.split("\n").length > 1) problems.push(`it went on after "${named}": ${tail(failed)}`);
    } else if (/Linode API/.test(failed) || !/kubectl .* failed against|API server|drain did not finish/.test(failed))
        problems.push(`the message does not name the Kubernetes API: ${tail(failed)}`);
    if (!NAMES[`${fault.api}:${fault.kind}`].test(stderr))
        problems.push(`the message does not name the ${fault.api} ${fault.kind}: ${tail(failed)}`);
    return problems;
}

/** What the run left that it should not have: capacity lost, a node uncordoned, a cordoned node left schedulable. */
async function safetyProblems(w: World, proxy: FaultProxy, fewestCount: number): Promise<string[]> {
    const problems: string[] = [];
    for (const g of w.lke.gone.filter((x) => x.pods.length > 0))
        problems.push(`node ${g.node} deleted with ${g.pods.join(" ")} on it`);
    if (w.poolId !== undefined && fewestCount < w.startCount)
        problems.push(`pool count fell to ${fewestCount}, below the ${w.startCount} at the start`);
    for (const u of w.lke.poolUpdates)
        if (typeof u.body.count === "number" && u.body.count < u.before)
            problems.push(`a pool update lowered the count: ${JSON.stringify(u)}`);
    const cordoned = new Set<string>();
    for (const r of proxy.records) {
        const node = /^\/api\/v1\/nodes\/([^/?]+)/.exec(r.path)?.[1];
        if (r.method !== "PATCH" || !node || typeof r.answer !== "number" || r.answer >= 300) continue;
        // kubectl uncordon's patch removes the field (null); a merge patch may set it false.
        if (/"unschedulable"\s*:\s*(false|null)/.test(r.body ?? "")) problems.push(`uncordoned ${node}`);
        if (/"unschedulable"\s*:\s*true/.test(r.body ?? "")) cordoned.add(node);
    }
    for (const node of cordoned) {
        const r = await rc.api.request("GET", `/api/v1/nodes/${node}`);
        const unschedulable = (r.body as { spec?: { unschedulable?: boolean } }).spec?.unschedulable === true;
        if (r.status === 200 && !unschedulable) problems.push(`${node}, cordoned for its move, is schedulable again`);
    }
    if (w.lke.errors.length) problems.push(`the stand-in's own work failed: ${w.lke.errors.join("; ")}`);
    return problems;
}

/**
 * Runs the script once on the world, through a fresh proxy, with the fault (if any) from call `at` on; a Linode fault
 * counts only the calls `match` matches (every call without it).
 */
async function runOnce(s: Scenario, w: World, fault: Fault | undefined, at: number, match = /./): Promise<Run> {
    const proxy = new FaultProxy(w.upstream, tls());
    const server = await proxy.start();
    let fewestCount = w.startCount;
    const sampler = setInterval(() => {
        if (w.poolId !== undefined) fewestCount = Math.min(fewestCount, w.lke.pool(w.poolId).count);
    }, 50);
    try {
        const linodeBefore = w.lke.calls.length;
        if (fault?.api === "kube") proxy.inject({ ...KUBE_FAULTS[fault.kind], fromNth: at });
        if (fault?.api === "linode") w.lke.inject({ match, kind: fault.kind, fromNth: at, delayMs: SLOW_MS });
        const env = { ...baseEnv(w, rc.kubeconfigFor(server)), ...s.env(w) };
        const run = await runScript(s.kind, env, KUBECTL_FOR_SERVER, { killAfterMs: KILL_MS });
        await proxy.stop();
        await quiet(w);
        const linodeCalls = w.lke.calls.length - linodeBefore;
        const faulted = w.lke.calls.slice(linodeBefore).filter((c) => match.test(c.line))[at - 1];
        const reached = fault?.api === "kube" ? proxy.faultHits > 0 : fault ? faulted !== undefined : false;
        const problems: string[] = [];
        if (fault && reached) {
            if (run.signal) problems.push(`still running after ${KILL_MS / 1000}s (killed)`);
            else if (run.code === 0) problems.push("exited 0");
            else problems.push(...messageProblems(fault, faulted, run.stderr));
        }
        problems.push(...(await safetyProblems(w, proxy, fewestCount)));
        return { run, linodeCalls, kubeRequests: proxy.records.length, reached, problems };
    } finally {
        clearInterval(sampler);
        await proxy.stop();
    }
}

// ---- the cells ----

interface CellResult {
    cell: string;
    problems: string[];
    reached: boolean;
    ms: number;
    reran: boolean;
}

/** Runs jobs with at most `size` at once across every test of the file. */
function limiter(size: number): <T>(job: () => Promise<T>) => Promise<T> {
    let active = 0;
    const waiting: Array<() => void> = [];
    return async (job) => {
        while (active >= size) await new Promise<void>((r) => waiting.push(r));
        active++;
        try {
            return await job();
        } finally {
            active--;
            waiting.shift()?.();
        }
    };
}
const limit = limiter(CONCURRENCY);

/** After the fault: cleared, the stand-in listening again; the script run again must converge. */
async function rerun(s: Scenario, w: World, fault: Fault): Promise<string[]> {
    w.lke.clearFaults();
    if (fault.kind === "refused") await w.lke.start();
    const again = await runOnce(s, w, undefined, 0);
    if (again.run.code !== 0) return [`the re-run failed: ${tail(again.run.stderr)}`, ...again.problems];
    return [...again.problems, ...(await s.converged(w, again.run)).map((p) => `after the re-run: ${p}`)];
}

/**
 * One cell: the fault from call `at`; when a run ends before reaching it, that run must have succeeded, and the fault
 * moves to that run's last call on a new world. With `converge`, the script then runs again without the fault. With
 * `named`, the fault is at the first call matching it, and a run that never makes that call fails the cell.
 */
async function cell(
    s: Scenario,
    fault: Fault,
    at: number,
    total: number,
    converge: boolean,
    named?: NamedCall,
): Promise<CellResult> {
    for (let p = named ? 1 : at; ; ) {
        const w = await s.build();
        try {
            const r = await runOnce(s, w, fault, p, named?.match);
            const name = `${s.kind} × ${fault.api} ${fault.kind} @ ${named ? named.name : `call ${p}/${total}`}`;
            if (r.reached || p === 1) {
                const problems = [...r.problems];
                if (!r.reached) problems.push("the fault was never reached");
                else if (converge && problems.length === 0) problems.push(...(await rerun(s, w, fault)));
                return { cell: name, problems, reached: r.reached, ms: r.run.ms, reran: converge };
            }
            if (r.run.code !== 0)
                return {
                    cell: name,
                    problems: [`failed before its fault: ${tail(r.run.stderr)}`, ...r.problems],
                    reached: false,
                    ms: r.run.ms,
                    reran: false,
                };
            p = Math.max(1, Math.min(p - 1, fault.api === "linode" ? r.linodeCalls : r.kubeRequests));
        } finally {
            await teardown(w);
        }
    }
}

/** The first call, the middle one and the last, as positions from 1. */
function positions(total: number): { first: number; middle: number; last: number } {
    return { first: 1, middle: Math.max(1, Math.ceil((total + 1) / 2)), last: Math.max(1, total) };
}

async function matrix(s: Scenario, diagnostic: (line: string) => void): Promise<CellResult[]> {
    const w = await limit(() => s.build());
    let clean: Run;
    try {
        clean = await limit(() => runOnce(s, w, undefined, 0));
        assert.equal(clean.run.code, 0, `${s.kind} fails without a fault:\n${clean.run.stderr}`);
        assert.deepEqual(clean.problems, [], `${s.kind} without a fault`);
        assert.deepEqual(await s.converged(w, clean.run), [], `${s.kind}: the clean run reached the target`);
        for (const named of s.namedCalls ?? []) {
            const first = w.lke.calls.find((c) => named.match.test(c.line));
            assert.ok(first, `${s.kind}: the clean run never makes ${named.name} (${named.match})`);
            assert.deepEqual(named.check?.(first, w) ?? [], [], `${s.kind}: ${named.name} is ${first.line}`);
        }
    } finally {
        await teardown(w);
    }
    diagnostic(
        `${s.kind}: a clean run makes ${clean.linodeCalls} Linode calls and ${clean.kubeRequests} Kubernetes requests (${(clean.run.ms / 1000).toFixed(0)}s)`,
    );
    const faults: Fault[] = [
        ...LINODE_KINDS.map((kind) => ({ api: "linode" as const, kind })),
        ...KUBE_KINDS.map((kind) => ({ api: "kube" as const, kind })),
    ];
    const jobs: Array<() => Promise<CellResult>> = [];
    for (const fault of faults) {
        const total = fault.api === "linode" ? clean.linodeCalls : clean.kubeRequests;
        const { first, middle, last } = positions(total);
        const at = WAITED_OUT.has(`${fault.api}:${fault.kind}`) ? [middle] : [...new Set([first, middle, last])];
        for (const p of at) jobs.push(() => limit(() => cell(s, fault, p, total, p === middle)));
    }
    for (const named of s.namedCalls ?? [])
        for (const kind of NAMED_CALL_KINDS)
            jobs.push(() => limit(() => cell(s, { api: "linode", kind }, 1, clean.linodeCalls, true, named)));
    return Promise.all(jobs.map((j) => j()));
}

function report(kind: string, cells: CellResult[], started: number, diagnostic: (line: string) => void): void {
    const open = cells.filter((c) => c.problems.length > 0);
    const secs = (ms: number) => `${(ms / 1000).toFixed(0)}s`;
    const longest = [...cells].sort((a, b) => b.ms - a.ms)[0];
    diagnostic(
        `${kind}: ${cells.length} cells (${cells.filter((c) => c.reran).length} run again after the fault), ${open.length} failed open, ${secs(Date.now() - started)}; the faulted runs took ${secs(cells.reduce((n, c) => n + c.ms, 0))} in all, the longest ${longest?.cell} (${secs(longest?.ms ?? 0)})`,
    );
    for (const c of open) diagnostic(`OPEN ${c.cell}: ${c.problems.join("; ")}`);
}

describe("LKE scripts under Linode and Kubernetes API faults", { concurrency: true }, () => {
    for (const s of SCENARIOS)
        test(`${s.kind} fails closed under every fault of either API, at the first, a middle and the last call; a re-run converges`, async (t) => {
            const started = Date.now();
            const cells = await matrix(s, (line) => t.diagnostic(line));
            report(s.kind, cells, started, (line) => t.diagnostic(line));
            rc.assertHealthy();
            assert.deepEqual(
                cells.filter((c) => c.problems.length > 0).map((c) => `${c.cell}: ${c.problems.join("; ")}`),
                [],
            );
        });
});
