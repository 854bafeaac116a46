// The fault matrix on the real control plane: every generated script that calls the Kubernetes API, against every
// fault (a connection reset, 401, 403, 429, 500, a hang, a slow answer, a failing exec credential plugin), each at the
// first call, a middle call and the last call of a clean run. Every cell must fail closed: exit non-zero, say what
// failed, and leave nothing deleted, evicted or uncordoned that should not have been (a check or a wait changes
// nothing). Then SIGTERM in the middle of a drain, and SIGKILL of the script alone: two drains side by side, each
// test waiting until every process the script started is gone (test/real-drain.test.ts kills one drain and looks only
// for its kubectl).
//
// How a cell is made. The real kube-apiserver cannot be told to fail its Nth request, so every cell runs its script
// through its own `FaultProxy` (test/fixture/fault-proxy.ts), which counts the requests and, from the Nth on, answers
// the status with the Status body the apiserver writes (429 with Retry-After), resets the connection, holds the
// request unanswered (a hang) or answers it late (slow). The reset is the matrix's stand-in for a refused connection:
// it drops the connection after the request arrived; a refused connection proper (the apiserver stopped, nothing
// listening) is tested in test/real-faults.test.ts, which stops the apiserver. The exec-plugin cells use a kubeconfig
// whose user runs a small credential plugin written here: it prints an ExecCredential with the admin token and fails
// from its Nth run (counted in a file), as an expired login does. A cell then judges what the script did from what the
// proxy passed and the apiserver accepted (node patches with their bodies, evictions, deletions, any other write) and
// from the real objects before and after (the cell's nodes' spec.unschedulable, its pods and their nodes).
//
// Isolation. Cells share one control plane; each cell has its own namespace, nodes named and labelled (`test`) after
// the cell, and workloads that select them, and is cleaned up when it ends. Most checks read only the cell's own
// selectors. Those that read the whole cluster:
// - pre-flight reads every node (each must be Ready), every kube-system pod and every budget (none may allow zero
//   evictions). Another cell's node is NotReady for its first seconds and a drain's budget allows nothing while the
//   drain runs, so the pre-flight cells run first, alone: one set of objects built once for all of them (they only
//   read it), its DaemonSet in kube-system, removed (pods gone) before any other cell starts. One more control plane
//   would cost a start and a second set of processes on a loaded machine; an ordering costs nothing.
// - the drain's node-count floor (K8SU_MIN_READY_ELSEWHERE) counts every Ready, schedulable node outside the pool. The
//   cell's own three green nodes meet the floor of 3 by themselves and other cells can only add to the count, so its
//   outcome does not depend on them; the capacity check places pods by their nodeSelector, which names the cell.
// - validate reads kube-system's pods; after the pre-flight cells nothing runs there. Its node selector is the cell's.
// The LKE scripts (lke-control-plane, lke-in-place, lke-recycle-pool) also call the Linode API: their matrix, with the
// Linode API stand-in's faults beside these, is test/lke-faults.test.ts.
//
// No deadline here depends on how fast the machine is: a cell's scripts, builds and waits have bounds far above what
// they take on a loaded machine, and the request timeout (what the hang and slow cells wait out) is well above what
// an answered request takes under load.
//
// FAULTS_SCRIPTS_DIR=<folder> runs the matrix against the script sources in that folder (an older version, to count
// how many cells it failed open) and only reports; by default the generated scripts run and every cell is asserted.
// FAULTS_SCENARIOS=<kind>,<kind> limits the matrix to those scripts.

import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import { parse, stringify } from "yaml";
import { preflightEnvironment } from "../components/removed-apis";
import type { ScriptKind } from "../components/scripts";
import { addNodes } from "../tools/cluster/cluster";
import { FaultProxy, type ProxyFault, type ProxyRecord } from "./fixture/fault-proxy";
import { KUBECTL_FOR_SERVER, realCluster, sleep } from "./fixture/real-cluster";
import { runScript, type ScriptRun, scriptFrom, startScript } from "./fixture/run-script";

const rc = realCluster("fault-matrix");

const OLD_SCRIPTS = process.env.FAULTS_SCRIPTS_DIR;
const ONLY = process.env.FAULTS_SCENARIOS?.split(",").filter(Boolean);
/** Every call gives up after this long: what the hang and slow cells wait out. */
const REQUEST_TIMEOUT_SECONDS = 15;
/** A slow answer comes this long after its request: well after the client gave up. */
const SLOW_MS = 2 * REQUEST_TIMEOUT_SECONDS * 1000;
/** The scripts' own deadlines (drain, waits): only upper bounds in these cells, so generous. */
const DEADLINE_SECONDS = 120;
/** Cells at once: the control plane is one set of processes on a loaded two-core machine. Most of a cell's time is
 *  spent waiting out a request timeout or a retry, not on a CPU. */
const CONCURRENCY = 6;
/** A cell still running after this long failed open in its own way: it hung. Only an upper bound, well past the
 *  scripts' own deadlines, which a fault can make a script wait out (older scripts: just past them, to keep the
 *  report mode's hung cells from taking ten minutes each). */
const CELL_KILL_MS = OLD_SCRIPTS ? (DEADLINE_SECONDS + 60) * 1000 : 600_000;
/** Building a cell's nodes and pods: a bound only. */
const BUILD_DEADLINE_MS = 300_000;

type Mode = "reset" | "401" | "403" | "429" | "500" | "hang" | "slow" | "exec-plugin";
const MODES: Mode[] = ["reset", "401", "403", "429", "500", "hang", "slow", "exec-plugin"];
const PROXY_FAULTS: Record<Exclude<Mode, "exec-plugin">, ProxyFault> = {
    reset: { reset: true },
    "401": { status: 401 },
    "403": { status: 403 },
    "429": { status: 429 },
    "500": { status: 500 },
    hang: { hang: true },
    slow: { delayMs: SLOW_MS },
};
/** The faults a script waits out (a request timeout, or client-go's retries after Retry-After). */
const WAITED_OUT: Mode[] = ["hang", "slow", "429", "reset"];
/** What a message must contain to name the fault. */
const NAMES: Record<Mode, RegExp> = {
    reset: /refused|reset|EOF|connect|Empty reply|cannot be reached/i,
    "401": /401|Unauthorized|logged in|provide credentials/i,
    "403": /403|Forbidden/i,
    "429": /429|TooManyRequests|too many requests/i,
    "500": /500|InternalError|Internal Server Error|etcdserver/i,
    hang: /time(d)? ?out|Timeout|deadline|awaiting headers|request canceled/i,
    slow: /time(d)? ?out|Timeout|deadline|awaiting headers|request canceled/i,
    "exec-plugin": /credential|get-token|expired|exec/i,
};

/** A cell's share of the cluster: its namespace (named `id`) and the nodes labelled test=<id>. */
interface World {
    id: string;
    nodes: string[];
    /** Objects outside the namespace that go with it (a kube-system DaemonSet). */
    systemDaemonSet?: string;
}

interface Scenario {
    kind: ScriptKind;
    build(w: World): Promise<void>;
    env(w: World): Record<string, string>;
    /** Whether the script's job is to uncordon. */
    uncordons?: boolean;
    /** Whether the script's job leaves the cluster alone (checks and waits). */
    readOnly?: boolean;
    /** Whether it reads the whole cluster: its cells run alone, on one set of objects built for all of them. */
    clusterWide?: boolean;
}

const serverMinor = () => rc.c.state.version.replace(/^v(\d+\.\d+).*$/, "$1");
/** The kubelet an old pool runs: one minor behind the control plane. */
const oldKubelet = () => `v1.${Number(serverMinor().split(".")[1]) - 1}.7`;

const drainEnv = {
    K8SU_CLUSTER: "apps",
    K8SU_BATCH_SIZE: "2",
    K8SU_SOAK_SECONDS: "0",
    // The older scripts require a grace period; the current ones take each pod's own when it is empty.
    K8SU_GRACE_SECONDS: OLD_SCRIPTS ? "5" : "",
    K8SU_DRAIN_TIMEOUT_SECONDS: String(DEADLINE_SECONDS),
    K8SU_DELETE_EMPTYDIR_DATA: "false",
};

async function newWorld(): Promise<World> {
    return { id: await rc.namespace("fm"), nodes: [] };
}

/** Nodes `<id>-<colour>-N`, labelled pool=<id>-<colour> and test=<id>, Ready and untainted. */
async function addPool(w: World, colour: "blue" | "green", n: number, kubeletVersion?: string): Promise<string[]> {
    const names = Array.from({ length: n }, (_, i) => `${w.id}-${colour}-${i + 1}`);
    w.nodes.push(...names);
    const labels = { pool: `${w.id}-${colour}`, test: w.id };
    await addNodes(
        rc.c,
        names.map((name) => ({ name, labels, kubeletVersion })),
        BUILD_DEADLINE_MS,
    );
    return names;
}

/** Waits until the disruption controller has computed a budget for the pods it selects. */
async function budgetComputed(ns: string, name: string, expectedPods: number): Promise<void> {
    const until = Date.now() + BUILD_DEADLINE_MS;
    while (Date.now() < until) {
        const pdb = await rc.api.get<{ status?: { expectedPods?: number; currentHealthy?: number } }>(
            `/apis/policy/v1/namespaces/${ns}/poddisruptionbudgets/${name}`,
        );
        if (pdb.status?.expectedPods === expectedPods && pdb.status.currentHealthy === expectedPods) return;
        rc.assertHealthy();
        await sleep(250);
    }
    throw new Error(`the disruption controller never computed ${ns}/${name}`);
}

/** The old pool with a DaemonSet and a Deployment under a budget, then the new pool beside it. */
async function blueGreen(w: World, daemonSetNamespace = w.id): Promise<void> {
    const selector = { test: w.id };
    await addPool(w, "blue", 3, oldKubelet());
    const ds = daemonSetNamespace === w.id ? "kube-proxy" : `kube-proxy-${w.id}`;
    if (daemonSetNamespace !== w.id) w.systemDaemonSet = ds;
    await rc.daemonSet(daemonSetNamespace, ds, { nodeSelector: selector, exitAfter: "1s" });
    await rc.deployment(w.id, "web", {
        nodeSelector: selector,
        replicas: 4,
        cpu: "250m",
        memory: "256M",
        exitAfter: "1s",
    });
    await rc.pdb(w.id, "web", { maxUnavailable: 3 });
    await rc.waitReady(w.id, "web", 4, BUILD_DEADLINE_MS);
    await rc.waitReady(daemonSetNamespace, ds, 3, BUILD_DEADLINE_MS);
    await addPool(w, "green", 3);
    await budgetComputed(w.id, "web", 4);
    if (daemonSetNamespace !== w.id) await rc.waitReady(daemonSetNamespace, ds, 6, BUILD_DEADLINE_MS);
}

async function bothPools(w: World): Promise<void> {
    await addPool(w, "blue", 3, oldKubelet());
    await addPool(w, "green", 3);
}

const KCP = { group: "controlplane.cluster.x-k8s.io", version: "v1beta1", plural: "kubeadmcontrolplanes" };

/** The CustomResourceDefinition a KubeadmControlPlane is served from, once for the file; waits until it is served. */
async function controlPlaneCrd(): Promise<void> {
    const exists = await rc.api.request(
        "GET",
        `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${KCP.plural}.${KCP.group}`,
    );
    if (exists.status !== 200)
        await rc.api.create("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", {
            metadata: { name: `${KCP.plural}.${KCP.group}` },
            spec: {
                group: KCP.group,
                names: { kind: "KubeadmControlPlane", plural: KCP.plural, singular: "kubeadmcontrolplane" },
                scope: "Namespaced",
                versions: [
                    {
                        name: KCP.version,
                        served: true,
                        storage: true,
                        subresources: { status: {} },
                        schema: { openAPIV3Schema: { type: "object", "x-kubernetes-preserve-unknown-fields": true } },
                    },
                ],
            },
        });
    const until = Date.now() + BUILD_DEADLINE_MS;
    while (Date.now() < until) {
        const r = await rc.api.request("GET", `/apis/${KCP.group}/${KCP.version}/namespaces/default/${KCP.plural}`);
        if (r.status === 200) return;
        await sleep(250);
    }
    throw new Error("the KubeadmControlPlane CustomResourceDefinition was never served");
}

async function controlPlaneObject(w: World): Promise<void> {
    const base = `/apis/${KCP.group}/${KCP.version}/namespaces/${w.id}/${KCP.plural}`;
    await rc.api.create(base, {
        apiVersion: `${KCP.group}/${KCP.version}`,
        kind: "KubeadmControlPlane",
        metadata: { name: "prod-control-plane" },
        spec: { version: "v1.31.4", replicas: 3 },
    });
    await rc.api.patch(`${base}/prod-control-plane/status`, { status: { version: "v1.31.4", updatedReplicas: 3 } });
}

const ALL_SCENARIOS: Scenario[] = [
    {
        kind: "preflight",
        build: (w) => blueGreen(w, "kube-system"),
        // The removed-API table's newest entry, so that pre-flight also lists an API version by its live objects
        // (flowcontrol v1beta3, which this server no longer serves: the listing's NotFound is part of a clean run).
        env: () => preflightEnvironment("1.32"),
        readOnly: true,
        clusterWide: true,
    },
    {
        kind: "wait-ready",
        build: async (w) => void (await addPool(w, "green", 3)),
        env: (w) => ({
            K8SU_SELECTOR: `pool=${w.id}-green`,
            K8SU_EXPECTED_NODES: "3",
            K8SU_TARGET_MINOR: serverMinor(),
            K8SU_TIMEOUT_SECONDS: String(DEADLINE_SECONDS),
        }),
        readOnly: true,
    },
    {
        kind: "wait-resource",
        build: controlPlaneObject,
        env: (w) => ({
            K8SU_RESOURCE: `${KCP.plural}.${KCP.group}/prod-control-plane`,
            K8SU_NAMESPACE: w.id,
            K8SU_CONDITIONS: "{.status.version}=v1.31.4\n{.status.updatedReplicas}=3",
            K8SU_TIMEOUT_SECONDS: String(DEADLINE_SECONDS),
        }),
        readOnly: true,
    },
    { kind: "cordon", build: bothPools, env: (w) => ({ K8SU_SELECTORS: `pool=${w.id}-blue\npool=${w.id}-green` }) },
    {
        kind: "uncordon",
        build: async (w) => {
            await bothPools(w);
            for (const n of w.nodes) await rc.api.patch(`/api/v1/nodes/${n}`, { spec: { unschedulable: true } });
        },
        env: (w) => ({ K8SU_SELECTORS: `pool=${w.id}-blue\npool=${w.id}-green` }),
        uncordons: true,
    },
    {
        kind: "drain",
        build: (w) => blueGreen(w),
        env: (w) => ({ ...drainEnv, K8SU_SELECTOR: `pool=${w.id}-blue`, K8SU_MIN_READY_ELSEWHERE: "3" }),
    },
    {
        kind: "validate",
        build: async (w) => void (await addPool(w, "green", 3)),
        env: (w) => ({ K8SU_TARGET_MINOR: serverMinor(), K8SU_SELECTORS: `pool=${w.id}-green` }),
        readOnly: true,
    },
    {
        kind: "local-command",
        build: async (w) => void (await addPool(w, "green", 2)),
        env: () => ({
            K8SU_COMMAND: `kubectl get nodes --request-timeout=${REQUEST_TIMEOUT_SECONDS}s >/dev/null && kubectl get pods -A --request-timeout=${REQUEST_TIMEOUT_SECONDS}s >/dev/null`,
        }),
        readOnly: true,
    },
];
const SCENARIOS = ALL_SCENARIOS.filter((s) => !ONLY || ONLY.includes(s.kind));

async function buildWorld(s: Scenario): Promise<World> {
    const w = await newWorld();
    await s.build(w);
    return w;
}

/** Removes a cell's objects. A kube-system DaemonSet's pods are waited out: validate reads kube-system. */
async function teardown(w: World): Promise<void> {
    if (w.systemDaemonSet) {
        await rc.api.request("DELETE", `/apis/apps/v1/namespaces/kube-system/daemonsets/${w.systemDaemonSet}`);
        const until = Date.now() + BUILD_DEADLINE_MS;
        while ((await rc.pods("kube-system", `app=${w.systemDaemonSet}`)).length > 0) {
            if (Date.now() > until) throw new Error(`the pods of kube-system/${w.systemDaemonSet} never went`);
            await sleep(250);
        }
    }
    await rc.api.request("DELETE", `/api/v1/namespaces/${w.id}`);
    for (const n of w.nodes) await rc.api.request("DELETE", `/api/v1/nodes/${n}`);
}

// ---- what a cell did ----

interface Snapshot {
    /** The cell's nodes: whether each is cordoned. */
    nodes: Map<string, boolean>;
    /** The cell's pods by name: their node, whether terminating, whether a DaemonSet's. */
    pods: Map<string, { node?: string; terminating: boolean; daemon: boolean }>;
}

async function snapshot(w: World): Promise<Snapshot> {
    const list = await rc.api.get<{ items: Array<{ metadata: { name: string }; spec?: { unschedulable?: boolean } }> }>(
        `/api/v1/nodes?labelSelector=${encodeURIComponent(`test=${w.id}`)}`,
    );
    const pods = await rc.pods(w.id);
    return {
        nodes: new Map(list.items.map((n) => [n.metadata.name, n.spec?.unschedulable === true])),
        pods: new Map(
            pods.map((p) => [p.name, { node: p.node, terminating: p.terminating, daemon: p.owner === "DaemonSet" }]),
        ),
    };
}

type ChangeKind = "cordoned" | "uncordoned" | "evicted" | "pod-deleted" | "node-deleted" | "written";
interface Change {
    kind: ChangeKind;
    object: string;
}

/** The writes a cell can make, by method and path; a node patch is a cordon or an uncordon by its body. */
const WRITES: Array<{ method: string; path: RegExp; kind: (body: string) => ChangeKind }> = [
    {
        method: "PATCH",
        path: /^\/api\/v1\/nodes\/([^/]+)$/,
        kind: (body) => {
            const to = /"unschedulable"\s*:\s*(true|false)/.exec(body)?.[1];
            return to === "false" ? "uncordoned" : to === "true" ? "cordoned" : "written";
        },
    },
    { method: "POST", path: /^\/api\/v1\/namespaces\/([^/]+\/)pods\/([^/]+)\/eviction$/, kind: () => "evicted" },
    { method: "DELETE", path: /^\/api\/v1\/namespaces\/([^/]+\/)pods\/([^/]+)$/, kind: () => "pod-deleted" },
    { method: "DELETE", path: /^\/api\/v1\/nodes\/([^/]+)$/, kind: () => "node-deleted" },
];

/** What the apiserver accepted, from the requests the proxy passed: node patches, evictions, deletions, other writes. */
function changesSeen(records: ProxyRecord[]): Change[] {
    const out: Change[] = [];
    for (const r of records) {
        if (r.method === "GET" || typeof r.answer !== "number" || r.answer >= 300) continue;
        const p = r.path.split("?")[0];
        const write = WRITES.find((x) => x.method === r.method && x.path.test(p));
        const m = write?.path.exec(p);
        if (write && m) out.push({ kind: write.kind(r.body ?? ""), object: m.slice(1).join("") });
        else out.push({ kind: "written", object: `${r.method} ${p}` });
    }
    return out;
}

/** Why a cell failed open, from what the proxy passed and the cell's objects before and after; empty when closed. */
function openings(s: Scenario, w: World, before: Snapshot, after: Snapshot, seen: Change[]): string[] {
    const problems = new Set<string>();
    const nodeKinds: ChangeKind[] = ["cordoned", "uncordoned", "node-deleted"];
    const podsOn = (node: string) =>
        [...before.pods].filter(([, p]) => p.node === node && !p.daemon).map(([name]) => `${w.id}/${name}`);
    for (const c of seen) {
        if (nodeKinds.includes(c.kind) && !before.nodes.has(c.object))
            problems.add(`${c.kind} ${c.object}, a node outside the cell`);
        if (c.kind === "uncordoned" && !s.uncordons) problems.add(`uncordoned ${c.object}`);
        if (c.kind === "uncordoned" && s.uncordons && before.nodes.get(c.object) === false)
            problems.add(`uncordoned ${c.object}, which was not cordoned`);
        if (c.kind === "node-deleted" && podsOn(c.object).length)
            problems.add(`deleted ${c.object} with ${podsOn(c.object).join(" ")} on it`);
        if (s.readOnly && c.kind !== "uncordoned") problems.add(`a check changed the cluster: ${c.kind} ${c.object}`);
    }
    for (const [node, cordoned] of before.nodes) {
        const now = after.nodes.get(node);
        if (now === undefined && podsOn(node).length)
            problems.add(`deleted ${node} with ${podsOn(node).join(" ")} on it`);
        if (now === undefined && s.readOnly) problems.add(`a check changed the cluster: node-deleted ${node}`);
        if (cordoned && now === false && !s.uncordons) problems.add(`uncordoned ${node}`);
        if (!cordoned && now === true && s.readOnly) problems.add(`a check changed the cluster: cordoned ${node}`);
    }
    if (s.readOnly)
        for (const [name, p] of before.pods) {
            const now = after.pods.get(name);
            if (!p.terminating && (!now || now.terminating))
                problems.add(`a check changed the cluster: evicted ${w.id}/${name}`);
        }
    return [...problems];
}

// ---- the exec credential plugin ----

/** The admin's bearer token, read from the cluster's kubeconfig. */
function adminToken(): string {
    const kc = parse(rc.kubeconfig()) as { users: Array<{ user: { token?: string } }> };
    const token = kc.users[0]?.user.token;
    if (!token) throw new Error("the test cluster's admin kubeconfig has no token");
    return token;
}

/**
 * A kubeconfig for `server` whose user authenticates through an exec credential plugin (as `aws eks get-token` or
 * `kubelogin` do): it hands out the admin token (kept in a 0600 file beside it) until its `failFrom`th run, then exits
 * 1 as an expired login does. `runs()` says how often kubectl ran it.
 */
function execPlugin(server: string, failFrom: number): { kubeconfig: string; runs(): number; remove(): void } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "k8su-exec-plugin-"));
    const plugin = path.join(dir, "get-token");
    const counter = path.join(dir, "runs");
    fs.writeFileSync(path.join(dir, "token"), adminToken(), { mode: 0o600 });
    const limit = Number.isFinite(failFrom) ? failFrom : 0;
    fs.writeFileSync(
        plugin,
        [
            "#!/usr/bin/env bash",
            "set -euo pipefail",
            // Parallel kubectl drains run it at once: one at a time, so that every run is counted.
            `exec 9>>'${dir}/lock'`,
            "flock 9",
            `n=$(( $(cat '${counter}' 2>/dev/null || echo 0) + 1 ))`,
            `echo "$n" > '${counter}'`,
            `if [ ${limit} -gt 0 ] && [ "$n" -ge ${limit} ]; then`,
            '  echo "get-token: the session token has expired; log in again" >&2',
            "  exit 1",
            "fi",
            `printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"%s"}}' "$(cat '${dir}/token')"`,
            "",
        ].join("\n"),
        { mode: 0o700 },
    );
    const kc = parse(rc.kubeconfigFor(server)) as { users: Array<{ user: unknown }> };
    for (const u of kc.users)
        u.user = { exec: { apiVersion: "client.authentication.k8s.io/v1", command: plugin, interactiveMode: "Never" } };
    return {
        kubeconfig: stringify(kc),
        runs: () => (fs.existsSync(counter) ? Number(fs.readFileSync(counter, "utf8")) : 0),
        remove: () => fs.rmSync(dir, { recursive: true, force: true }),
    };
}

function newProxy(): FaultProxy {
    const { pki, state } = rc.c;
    return new FaultProxy(state.server, { cert: pki.serverCert, key: pki.serverKey, ca: pki.caCert });
}

// ---- the matrix ----

interface CellRun {
    run: ScriptRun;
    requests: number;
    pluginRuns: number;
    reached: boolean;
    problems: string[];
}

interface CellResult {
    cell: string;
    /** Why the cell failed open; empty when it failed closed. */
    problems: string[];
    reached: boolean;
    ms: number;
}

/** Runs one script once, optionally with one fault from a given position, on its own objects or shared ones. */
async function runCell(s: Scenario, mode: Mode | undefined, at: number, shared?: World): Promise<CellRun> {
    const w = shared ?? (await buildWorld(s));
    const proxy = newProxy();
    const plugin = execPlugin(await proxy.start(), mode === "exec-plugin" ? at : Number.POSITIVE_INFINITY);
    try {
        const before = await snapshot(w);
        if (mode && mode !== "exec-plugin") proxy.inject({ ...PROXY_FAULTS[mode], fromNth: at });
        const env = {
            K8SU_KUBECONFIG: plugin.kubeconfig,
            K8SU_REQUEST_TIMEOUT_SECONDS: String(REQUEST_TIMEOUT_SECONDS),
            ...s.env(w),
        };
        const run = await runScript(s.kind, env, KUBECTL_FOR_SERVER, {
            script: OLD_SCRIPTS ? scriptFrom(OLD_SCRIPTS, s.kind) : undefined,
            killAfterMs: CELL_KILL_MS,
        });
        // Nothing held back reaches the apiserver once the script is over.
        await proxy.stop();
        const after = await snapshot(w);
        const reached = mode === "exec-plugin" ? plugin.runs() >= at : proxy.faultHits > 0;
        const problems: string[] = [];
        if (mode && reached) {
            if (run.signal) problems.push(`still running after ${CELL_KILL_MS / 1000}s (killed)`);
            else if (run.code === 0) problems.push("exited 0");
            else if (!NAMES[mode].test(run.stderr))
                problems.push(`message does not name the fault: ${tail(run.stderr)}`);
        }
        problems.push(...openings(s, w, before, after, changesSeen(proxy.records)));
        return { run, requests: proxy.records.length, pluginRuns: plugin.runs(), reached, problems };
    } finally {
        await proxy.stop();
        plugin.remove();
        if (!shared) await teardown(w);
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

/** One cell: the fault at `at`; when a run ends before reaching it (a clean run's call count varies with timing),
 *  that run must have succeeded, and the fault moves to that run's last call. */
async function cellJob(s: Scenario, mode: Mode, at: number, total: number, shared?: World): Promise<CellResult> {
    for (let p = at; ; ) {
        const r = await runCell(s, mode, p, shared);
        const cell = `${s.kind} × ${mode} @ call ${p}/${total}`;
        if (r.reached || p === 1) return { cell, problems: r.problems, reached: r.reached, ms: r.run.ms };
        if (r.run.code !== 0)
            return {
                cell,
                problems: [`failed without the fault: ${tail(r.run.stderr)}`, ...r.problems],
                reached: false,
                ms: r.run.ms,
            };
        p = Math.max(1, Math.min(p - 1, mode === "exec-plugin" ? r.pluginRuns : r.requests));
    }
}

/** The clean runs, then every cell, of a set of scenarios run side by side. */
async function matrix(scenarios: Scenario[], diagnostic: (line: string) => void): Promise<CellResult[]> {
    const shared = new Map<Scenario, World>();
    try {
        for (const s of scenarios.filter((x) => x.clusterWide)) shared.set(s, await buildWorld(s));
        // A clean run of each script first: it must pass, and it says how many calls there are to fault.
        const baselines = await pool(
            scenarios.map((s) => async () => ({ s, base: await runCell(s, undefined, 0, shared.get(s)) })),
            CONCURRENCY,
        );
        const jobs: Array<{ s: Scenario; mode: Mode; run: () => Promise<CellResult> }> = [];
        for (const { s, base } of baselines) {
            if (OLD_SCRIPTS && base.run.code !== 0) {
                diagnostic(`${s.kind} fails without a fault: ${tail(base.run.stderr)}`);
                continue;
            }
            assert.equal(base.run.code, 0, `${s.kind} fails without a fault:\n${base.run.stderr}`);
            assert.deepEqual(base.problems, [], `${s.kind} without a fault`);
            diagnostic(
                `${s.kind}: a clean run makes ${base.requests} requests, runs the plugin ${base.pluginRuns} times`,
            );
            for (const mode of MODES) {
                const total = mode === "exec-plugin" ? base.pluginRuns : base.requests;
                for (const at of positions(total))
                    jobs.push({ s, mode, run: () => cellJob(s, mode, at, total, shared.get(s)) });
            }
        }
        // The longest first (drains, and the faults a script waits out), so that no long cell runs alone at the end.
        const rank = (j: (typeof jobs)[number]) =>
            (j.s.kind === "drain" ? 0 : 2) + (WAITED_OUT.includes(j.mode) ? 0 : 1);
        return await pool(
            [...jobs].sort((a, b) => rank(a) - rank(b)).map((j) => j.run),
            CONCURRENCY,
        );
    } finally {
        for (const w of shared.values()) await teardown(w);
    }
}

test("fault matrix: every script fails closed under every fault, at the first, a middle and the last call", async (t) => {
    const started = Date.now();
    const diagnostic = (line: string) => t.diagnostic(line);
    if (SCENARIOS.some((s) => s.kind === "wait-resource")) await controlPlaneCrd();
    // The scripts that read the whole cluster first, with nothing else running; then the others side by side.
    const cells = [
        ...(await matrix(
            SCENARIOS.filter((s) => s.clusterWide),
            diagnostic,
        )),
        ...(await matrix(
            SCENARIOS.filter((s) => !s.clusterWide),
            diagnostic,
        )),
    ];
    const open = cells.filter((c) => c.problems.length > 0);
    const summary = `fault matrix: ${cells.length} cells over ${SCENARIOS.length} scripts × ${MODES.length} faults, ${open.length} failed open, ${cells.filter((c) => !c.reached).length} not reached, ${((Date.now() - started) / 1000).toFixed(0)}s`;
    t.diagnostic(summary);
    for (const s of SCENARIOS) {
        const mine = cells.filter((c) => c.cell.startsWith(`${s.kind} ×`)).sort((a, b) => b.ms - a.ms);
        const secs = (ms: number) => `${(ms / 1000).toFixed(0)}s`;
        if (mine.length)
            t.diagnostic(
                `${s.kind}: ${mine.length} cells, scripts ran ${secs(mine.reduce((n, c) => n + c.ms, 0))} in all; longest ${mine[0].cell} (${secs(mine[0].ms)})`,
            );
    }
    for (const c of open) t.diagnostic(`OPEN ${c.cell}: ${c.problems.join("; ")}`);
    rc.assertHealthy();
    if (OLD_SCRIPTS) return;
    assert.equal(cells.filter((c) => !c.reached).length, 0, "every fault was reached");
    assert.deepEqual(
        open.map((c) => `${c.cell}: ${c.problems.join("; ")}`),
        [],
        summary,
    );
});

// ---- signals in the middle of a drain ----

/**
 * Two blue nodes drained side by side (a batch of two) through a proxy that only records: web under a budget, slow
 * pods that keep a drain waiting for their 30 s grace period, and a ledger pod whose budget allows nothing, which
 * keeps its drain in kubectl's eviction retry loop. Returns once the drains have evicted a pod and been refused the
 * ledger's eviction.
 */
async function drainUnderWay(): Promise<{
    w: World;
    blue: string[];
    proxy: FaultProxy;
    env: Record<string, string>;
    drain: ReturnType<typeof startScript>;
}> {
    const w = await newWorld();
    const selector = { test: w.id };
    const blue = await addPool(w, "blue", 2, oldKubelet());
    await rc.daemonSet(w.id, "kube-proxy", { nodeSelector: selector, exitAfter: "1s" });
    await rc.deployment(w.id, "web", { nodeSelector: selector, replicas: 4, exitAfter: "1s" });
    await rc.pdb(w.id, "web", { maxUnavailable: 3 });
    await rc.deployment(w.id, "slow", { nodeSelector: selector, replicas: 2, graceSeconds: 30 });
    await rc.deployment(w.id, "ledger", { nodeSelector: selector, replicas: 1, exitAfter: "1s" });
    await rc.pdb(w.id, "ledger", { minAvailable: 1 });
    for (const [app, n] of [
        ["web", 4],
        ["slow", 2],
        ["ledger", 1],
        ["kube-proxy", 2],
    ] as const)
        await rc.waitReady(w.id, app, n, BUILD_DEADLINE_MS);
    await addPool(w, "green", 2);
    await budgetComputed(w.id, "web", 4);
    await budgetComputed(w.id, "ledger", 1);
    const proxy = newProxy();
    const env = {
        K8SU_KUBECONFIG: rc.kubeconfigFor(await proxy.start()),
        ...drainEnv,
        K8SU_SELECTOR: `pool=${w.id}-blue`,
        K8SU_MIN_READY_ELSEWHERE: "2",
    };
    // Its own process group (killAfterMs), so that the test can see when every process under it is gone.
    const drain = startScript("drain", env, KUBECTL_FOR_SERVER, {
        script: OLD_SCRIPTS ? scriptFrom(OLD_SCRIPTS, "drain") : undefined,
        killAfterMs: CELL_KILL_MS,
    });
    const underWay = () =>
        evictions(proxy).some((r) => r.answer === 201) &&
        evictions(proxy).some((r) => r.path.includes("/pods/ledger-") && r.answer === 429);
    const until = Date.now() + BUILD_DEADLINE_MS;
    while (!underWay() && Date.now() < until) await sleep(100);
    if (!underWay()) {
        process.kill(-drain.child.pid!, "SIGKILL");
        await proxy.stop();
        assert.fail(
            `the drains never evicted a pod and were refused the ledger's eviction:\n${(await drain.done).stderr}`,
        );
    }
    return { w, blue, proxy, env, drain };
}

/** Every eviction request the proxy saw, whatever its answer. */
function evictions(proxy: FaultProxy): ProxyRecord[] {
    return proxy.records.filter((r) => r.method === "POST" && /\/pods\/[^/]+\/eviction(\?|$)/.test(r.path));
}

/** Waits until no process of the script's group is left; false when some outlived the bound. */
async function groupGone(pid: number): Promise<boolean> {
    const alive = () => {
        try {
            process.kill(-pid, 0);
            return true;
        } catch {
            return false;
        }
    };
    const until = Date.now() + 120_000;
    while (alive() && Date.now() < until) await sleep(100);
    return !alive();
}

async function assertCordonedAndNotUncordoned(blue: string[], proxy: FaultProxy): Promise<void> {
    for (const n of blue) assert.equal((await rc.node(n)).unschedulable, true, `${n} stays cordoned`);
    assert.deepEqual(
        changesSeen(proxy.records).filter((c) => c.kind === "uncordoned"),
        [],
    );
}

test("SIGTERM in the middle of a drain stops the kubectl drains, exits non-zero and leaves every node cordoned; a re-run converges", async () => {
    const { w, blue, proxy, env, drain } = await drainUnderWay();
    try {
        drain.child.kill("SIGTERM");
        const r = await drain.done;
        assert.notEqual(r.code, 0, "a stopped drain does not report success");
        assert.match(r.stderr, /stopped by SIGTERM/);
        assert.ok(await groupGone(drain.child.pid!), "a kubectl drain outlived the stopped script");
        // No kubectl drain is left running: no eviction after the script ended.
        const atStop = evictions(proxy).length;
        await sleep(1500);
        assert.equal(evictions(proxy).length, atStop, "evictions after the stop");
        await assertCordonedAndNotUncordoned(blue, proxy);
        // The ledger's budget relaxed, as its owner would; an eviction cut off by the stop may hold a budget for the
        // disruption controller's two minutes (DeletionTimeout), so the re-run has more time than that.
        await rc.api.patch(`/apis/policy/v1/namespaces/${w.id}/poddisruptionbudgets/ledger`, {
            spec: { minAvailable: 0 },
        });
        const again = await runScript("drain", { ...env, K8SU_DRAIN_TIMEOUT_SECONDS: "300" }, KUBECTL_FOR_SERVER);
        assert.equal(again.code, 0, again.stderr);
        const left = (await rc.pods(w.id)).filter((p) => blue.includes(p.node ?? "") && p.owner !== "DaemonSet");
        assert.deepEqual(left, [], "the blue nodes are empty after the re-run");
    } finally {
        await proxy.stop();
    }
    rc.assertHealthy();
});

test("SIGKILL of the script (how pulumi-command cancels a command) still stops its kubectl drains; nodes stay cordoned", async () => {
    const { w, blue, proxy, drain } = await drainUnderWay();
    try {
        // The script alone, as Go's exec.CommandContext kills it: the drains notice that it is gone and stop their
        // kubectl, waited for as an event (the group empties), not for a time that a busy machine may overrun.
        drain.child.kill("SIGKILL");
        assert.ok(await groupGone(drain.child.pid!), "the kubectl drains outlived the killed script");
        const atKill = evictions(proxy).length;
        // With the ledger's budget relaxed, a drain still running would evict it at its next retry.
        await rc.api.patch(`/apis/policy/v1/namespaces/${w.id}/poddisruptionbudgets/ledger`, {
            spec: { minAvailable: 0 },
        });
        await sleep(1000);
        assert.equal(evictions(proxy).length, atKill, "a drain went on evicting");
        await assertCordonedAndNotUncordoned(blue, proxy);
        await Promise.race([drain.done, sleep(5000)]);
    } finally {
        await proxy.stop();
    }
    rc.assertHealthy();
});
