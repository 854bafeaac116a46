// Starting and stopping the test control plane (see control-plane.ts), its nodes and its accounts.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { KubeApi } from "./api";
import { componentCommands, type Kubeconfigs } from "./commands";
import {
    apiserverReady,
    type Binaries,
    type ClusterState,
    COMPONENTS,
    type Component,
    freePort,
    isAlive,
    kwokStages,
    logTail,
    makePki,
    type Pki,
    type Ports,
    pidsFile,
    portTaken,
    probe,
    readState,
    startComponent,
    waitFor,
    writeKubeconfig,
} from "./control-plane";

export interface NodeSpec {
    name: string;
    labels?: Record<string, string>;
    cpu?: string;
    memory?: string;
    pods?: string;
    /** The kubelet version the node reports; the server's version by default. */
    kubeletVersion?: string;
    taints?: Array<{ key: string; value?: string; effect: string }>;
}

export interface StartOptions {
    dir: string;
    binaries: Binaries;
    /** Fixed ports (the CLI's); free ones when absent (the tests'). */
    ports?: Partial<Ports>;
    nodes?: NodeSpec[];
    log?: (line: string) => void;
    /** Stop the components when this process ends (tests, the bench); `up` leaves them running. */
    stopWithThisProcess?: boolean;
}

export interface Cluster {
    state: ClusterState;
    pki: Pki;
    api: KubeApi;
    /** Admin, a ServiceAccount allowed only to read, and a token the apiserver does not know. */
    kubeconfigs: { admin: string; restricted: string; wrongToken: string };
}

async function choosePorts(given: Partial<Ports> = {}): Promise<Ports> {
    const ports: Ports = {
        etcd: given.etcd ?? (await freePort()),
        etcdPeer: given.etcdPeer ?? (await freePort()),
        apiserver: given.apiserver ?? (await freePort()),
        kwok: given.kwok ?? (await freePort()),
    };
    const names: Record<keyof Ports, string> = {
        etcd: "etcd (client)",
        etcdPeer: "etcd (peer)",
        apiserver: "kube-apiserver",
        kwok: "kwok",
    };
    const taken = [];
    for (const k of Object.keys(ports) as Array<keyof Ports>) {
        if (given[k] !== undefined && (await portTaken(ports[k]))) taken.push(`${ports[k]} (${names[k]})`);
    }
    if (taken.length) {
        throw new Error(
            `${taken.length > 1 ? "ports" : "port"} ${taken.join(", ")} ${taken.length > 1 ? "are" : "is"} already taken on 127.0.0.1; another cluster may be up ` +
                "(npm run cluster -- down stops ours), or choose other ports",
        );
    }
    return ports;
}

/** Refuses a folder whose cluster still runs, and clears one whose processes are all gone. */
export function claimDir(dir: string): void {
    const old = readState(dir);
    const alive = old ? COMPONENTS.filter((c) => isAlive(old.pids[c])) : [];
    if (alive.length) {
        throw new Error(
            `a cluster is still running from ${dir} (${alive.map((c) => `${c} pid ${old?.pids[c]}`).join(", ")}); ` +
                "stop it first with npm run cluster -- down",
        );
    }
    // Nothing of the old cluster runs: its data goes, so that a new control plane never starts on it.
    for (const sub of ["etcd", "pki", "logs", "state.json", "pids", "kubeconfig"]) {
        fs.rmSync(path.join(dir, sub), { recursive: true, force: true });
    }
    fs.mkdirSync(path.join(dir, "logs"), { recursive: true, mode: 0o700 });
}

function kubeconfigsFor(dir: string, server: string, pki: Pki): Kubeconfigs {
    const kc = (name: string, user: string, token: string) =>
        writeKubeconfig(path.join(dir, name), server, pki.caCert, user, token);
    return {
        admin: kc("kubeconfig", "k8su-admin", pki.tokens.admin),
        controllerManager: kc("controller-manager.kubeconfig", "controller-manager", pki.tokens.controllerManager),
        scheduler: kc("scheduler.kubeconfig", "scheduler", pki.tokens.scheduler),
        kwok: kc("kwok.kubeconfig", "kwok", pki.tokens.kwok),
    };
}

async function startAll(state: ClusterState, pki: Pki, log: (l: string) => void): Promise<void> {
    startComponent(state, "etcd");
    await waitFor(
        state,
        "etcd",
        "answering /health",
        async () => (await probe(`http://127.0.0.1:${state.ports.etcd}/health`)) === 200,
    );
    log(`etcd up on 127.0.0.1:${state.ports.etcd}`);
    startComponent(state, "kube-apiserver");
    await waitFor(state, "kube-apiserver", "/readyz answering 200", () => apiserverReady(state, pki, pki.tokens.admin));
    log(`kube-apiserver ${state.version} up at ${state.server}`);
    for (const c of ["kube-controller-manager", "kube-scheduler", "kwok"] as const) {
        startComponent(state, c);
        log(`${c} started (pid ${state.pids[c]})`);
    }
}

/** Starts every component in `opts.dir`, adds the nodes and accounts, and returns when the nodes are Ready. */
export async function startCluster(opts: StartOptions): Promise<Cluster> {
    const log = opts.log ?? (() => {});
    claimDir(opts.dir);
    const ports = await choosePorts(opts.ports);
    const pki = makePki(path.join(opts.dir, "pki"));
    const server = `https://127.0.0.1:${ports.apiserver}`;
    const kc = kubeconfigsFor(opts.dir, server, pki);
    fs.writeFileSync(path.join(opts.dir, "kwok-stages.yaml"), kwokStages(opts.binaries.kwokStageDir));
    const state: ClusterState = {
        dir: opts.dir,
        version: opts.binaries.version,
        server,
        kubeconfig: kc.admin,
        ports,
        commands: componentCommands(opts.binaries, opts.dir, pki, ports, kc),
        pids: {},
    };
    if (opts.stopWithThisProcess) stopWithThisProcess(state);
    const cluster: Cluster = {
        state,
        pki,
        api: new KubeApi(server, pki.caCert, pki.tokens.admin),
        kubeconfigs: { admin: kc.admin, restricted: "", wrongToken: "" },
    };
    try {
        await startAll(state, pki, log);
        cluster.kubeconfigs.restricted = await restrictedAccount(cluster);
        cluster.kubeconfigs.wrongToken = writeKubeconfig(
            path.join(opts.dir, "wrong-token.kubeconfig"),
            server,
            pki.caCert,
            "nobody",
            "0".repeat(48),
        );
        await addNodes(cluster, opts.nodes ?? []);
        await waitForDefaultServiceAccount(cluster, "default");
    } catch (err) {
        await stopCluster(opts.dir);
        throw err;
    }
    return cluster;
}

/** A ServiceAccount that may only get, list and watch nodes and pods; its kubeconfig (a TokenRequest token). */
async function restrictedAccount(c: Cluster): Promise<string> {
    const { api } = c;
    await api.create("/api/v1/namespaces/default/serviceaccounts", { metadata: { name: "k8su-restricted" } });
    await api.create("/apis/rbac.authorization.k8s.io/v1/clusterroles", {
        metadata: { name: "k8su-read-only" },
        rules: [{ apiGroups: [""], resources: ["nodes", "pods"], verbs: ["get", "list", "watch"] }],
    });
    await api.create("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", {
        metadata: { name: "k8su-read-only" },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "k8su-read-only" },
        subjects: [{ kind: "ServiceAccount", name: "k8su-restricted", namespace: "default" }],
    });
    const tr = (await api.create("/api/v1/namespaces/default/serviceaccounts/k8su-restricted/token", {
        apiVersion: "authentication.k8s.io/v1",
        kind: "TokenRequest",
        spec: { expirationSeconds: 86400 },
    })) as { status: { token: string } };
    return writeKubeconfig(
        path.join(c.state.dir, "restricted.kubeconfig"),
        c.state.server,
        c.pki.caCert,
        "k8su-restricted",
        tr.status.token,
    );
}

export function nodeManifest(n: NodeSpec, serverVersion: string): Record<string, unknown> {
    const resources = { cpu: n.cpu ?? "4", memory: n.memory ?? "16Gi", pods: n.pods ?? "110" };
    return {
        apiVersion: "v1",
        kind: "Node",
        metadata: {
            name: n.name,
            annotations: { "kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0" },
            labels: {
                "kubernetes.io/hostname": n.name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                type: "kwok",
                ...n.labels,
            },
        },
        spec: { taints: n.taints },
        status: {
            allocatable: resources,
            capacity: resources,
            nodeInfo: { kubeletVersion: n.kubeletVersion ?? serverVersion, kubeProxyVersion: "" },
        },
    };
}

interface NodeStatus {
    spec?: { taints?: Array<{ key: string }> };
    status?: { conditions?: Array<{ type: string; status: string }> };
}

/** Ready, and free of the taints the node-lifecycle controller keeps on a node until it has seen it Ready. */
export function usable(node: NodeStatus): boolean {
    const lifecycleTaint = node.spec?.taints?.some((t) => t.key.startsWith("node.kubernetes.io/"));
    return !lifecycleTaint && !!node.status?.conditions?.some((x) => x.type === "Ready" && x.status === "True");
}

/** Creates kwok nodes and waits until each is usable. */
export async function addNodes(c: Cluster, nodes: NodeSpec[], deadlineMs = 60_000): Promise<void> {
    for (const n of nodes) await c.api.create("/api/v1/nodes", nodeManifest(n, c.state.version));
    for (const n of nodes) {
        await waitFor(
            c.state,
            "kwok",
            `node ${n.name} Ready and untainted`,
            async () => usable(await c.api.get<NodeStatus>(`/api/v1/nodes/${n.name}`)),
            deadlineMs,
        );
    }
}

/** The ServiceAccount admission plugin refuses pods until the namespace's default ServiceAccount exists. */
export async function waitForDefaultServiceAccount(c: Cluster, ns: string): Promise<void> {
    await waitFor(c.state, "kube-controller-manager", `the default ServiceAccount of ${ns}`, async () => {
        const r = await c.api.request("GET", `/api/v1/namespaces/${ns}/serviceaccounts/default`);
        return r.status === 200;
    });
}

async function stopPid(pid: number, graceMs: number): Promise<boolean> {
    const signal = (s: NodeJS.Signals) => {
        try {
            process.kill(-pid, s);
        } catch {
            try {
                process.kill(pid, s);
            } catch {}
        }
    };
    signal("SIGCONT");
    signal("SIGTERM");
    const until = Date.now() + graceMs;
    while (Date.now() < until && isAlive(pid)) await new Promise((r) => setTimeout(r, 100));
    if (isAlive(pid)) signal("SIGKILL");
    await new Promise((r) => setTimeout(r, 100));
    return !isAlive(pid);
}

/** Stops one component (TERM, then KILL after `graceMs`); true when it is gone. */
export async function stopComponent(state: ClusterState, c: Component, graceMs = 10_000): Promise<boolean> {
    const pid = state.pids[c];
    if (!pid) return true;
    return stopPid(pid, graceMs);
}

/** Stops every process recorded in `dir`, newest first; returns those that would not stop. */
export async function stopCluster(dir: string): Promise<string[]> {
    const state = readState(dir);
    if (!state) return [];
    const stuck: string[] = [];
    for (const c of [...COMPONENTS].reverse()) {
        if (!(await stopComponent(state, c))) stuck.push(`${c} (pid ${state.pids[c]})`);
    }
    return stuck;
}

/** The components that have died, each with its last log lines; empty while all run. */
export function deadComponents(state: ClusterState): string[] {
    return COMPONENTS.filter((c) => state.pids[c] && !isAlive(state.pids[c])).map(
        (c) => `${c} is not running; its last log lines:\n${logTail(state.dir, c)}`,
    );
}

/**
 * Stops the cluster's processes when this process ends, however it ends, SIGKILL included: a watchdog (bash, in
 * its own process group) waits for this process to go, then kills every component listed in the folder's `pids`
 * file. A test file or bench that is interrupted leaves no control plane behind. `up` does not use it: its cluster
 * outlives the command.
 */
export function stopWithThisProcess(state: ClusterState): void {
    const script =
        'while kill -0 "$1" 2>/dev/null; do sleep 1; done; ' +
        'if [ -f "$2" ]; then while read -r p; do [ -n "$p" ] && kill -KILL -- "-$p" 2>/dev/null; done < "$2"; fi';
    const watchdog = spawn("bash", ["-c", script, "k8su-watchdog", String(process.pid), pidsFile(state.dir)], {
        detached: true,
        stdio: "ignore",
    });
    watchdog.unref();
}
