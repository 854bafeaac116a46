// A real local Kubernetes control plane for the tests and for `npm run cluster`: etcd, kube-apiserver (TLS, RBAC,
// token authentication), kube-controller-manager, kube-scheduler and kwok playing the kubelets, each its own
// process on loopback, built from pinned releases by tools/cluster/build.sh. Everything it writes stays in one
// folder: pki/, etcd/, logs/ (one log per component), kubeconfigs and state.json (the processes and ports), so
// `down` can stop what `up` started from another process.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as https from "node:https";
import * as net from "node:net";
import * as path from "node:path";
import { kwokStages } from "./kwok-stages";
import { makePki, type Pki, writeKubeconfig } from "./pki";

export const COMPONENTS = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"] as const;
export type Component = (typeof COMPONENTS)[number];

export interface Ports {
    etcd: number;
    etcdPeer: number;
    apiserver: number;
    kwok: number;
}

export interface ClusterState {
    dir: string;
    /** The server's version as pinned, "v1.34.4". */
    version: string;
    server: string;
    kubeconfig: string;
    ports: Ports;
    /** The command line of each component, to start it again (a test stops and restarts the apiserver). */
    commands: Record<Component, string[]>;
    pids: Partial<Record<Component, number>>;
}

export interface Binaries {
    version: string;
    bins: Record<Component, string>;
    kwokStageDir: string;
}

/** The repository: the nearest folder above this file with tools/cluster/build.sh (the compiled copy runs from .build/). */
function repoRoot(): string {
    for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) {
        if (fs.existsSync(path.join(dir, "tools", "cluster", "build.sh"))) return dir;
    }
    throw new Error(`tools/cluster/build.sh not found above ${__dirname}`);
}

/** Builds (or finds in the cache) the binaries for a minor; one progress line per component built. */
export function binaries(minor?: string): Binaries {
    const args = [path.join(repoRoot(), "tools/cluster/build.sh"), ...(minor ? ["--version", minor] : [])];
    const run = (extra: string[]) =>
        execFileSync("bash", [...args, ...extra], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] })
            .trim()
            .split("\n");
    const paths = run([...COMPONENTS, "kwok-stages"]);
    const bins = Object.fromEntries(COMPONENTS.map((c, i) => [c, paths[i]])) as Record<Component, string>;
    const version = run(["--print-kubernetes-version"])[0];
    return { version, bins, kwokStageDir: paths[COMPONENTS.length] };
}

/** A free TCP port on 127.0.0.1 (asked of the kernel, then released). */
export function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const srv = net.createServer();
        srv.once("error", reject);
        srv.listen(0, "127.0.0.1", () => {
            const port = (srv.address() as net.AddressInfo).port;
            srv.close(() => resolve(port));
        });
    });
}

/** True when something already listens on 127.0.0.1:port. */
export function portTaken(port: number): Promise<boolean> {
    return new Promise((resolve) => {
        const srv = net.createServer();
        srv.once("error", () => resolve(true));
        srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(false)));
    });
}

export function isAlive(pid: number | undefined): boolean {
    if (!pid) return false;
    try {
        process.kill(pid, 0);
        return true;
    } catch {
        return false;
    }
}

export function logFile(dir: string, c: Component): string {
    return path.join(dir, "logs", `${c}.log`);
}

/** The last `lines` lines of a component's log. */
export function logTail(dir: string, c: Component, lines = 20): string {
    const file = logFile(dir, c);
    if (!fs.existsSync(file)) return "(no log)";
    return fs.readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
}

export function readState(dir: string): ClusterState | undefined {
    const file = path.join(dir, "state.json");
    return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, "utf8")) as ClusterState) : undefined;
}

/** One pid a line: what a watchdog kills when the process that started the cluster is gone. */
export function pidsFile(dir: string): string {
    return path.join(dir, "pids");
}

function saveState(state: ClusterState): void {
    fs.writeFileSync(path.join(state.dir, "state.json"), `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
    const pids = Object.values(state.pids).filter((p): p is number => !!p);
    fs.writeFileSync(pidsFile(state.dir), `${pids.join("\n")}\n`, { mode: 0o600 });
}

/** Starts one component in its own process group, its output appended to its log. */
export function startComponent(state: ClusterState, c: Component): ChildProcess {
    const [bin, ...args] = state.commands[c];
    const fd = fs.openSync(logFile(state.dir, c), "a");
    const child = spawn(bin, args, { detached: true, stdio: ["ignore", fd, fd] });
    fs.closeSync(fd);
    child.unref();
    state.pids[c] = child.pid;
    saveState(state);
    return child;
}

function sleep(ms: number): Promise<void> {
    return new Promise((r) => setTimeout(r, ms));
}

/** GET over HTTPS (or HTTP) with a deadline; resolves with the status code, or 0 when nothing answered. */
export function probe(url: string, opts: { ca?: string; token?: string; timeoutMs?: number } = {}): Promise<number> {
    return new Promise((resolve) => {
        const u = new URL(url);
        const mod = u.protocol === "https:" ? https : require("node:http");
        const req = mod.get(
            url,
            {
                ca: opts.ca ? fs.readFileSync(opts.ca) : undefined,
                headers: opts.token ? { Authorization: `Bearer ${opts.token}` } : {},
                timeout: opts.timeoutMs ?? 2000,
            },
            (res: { statusCode?: number; resume(): void }) => {
                res.resume();
                resolve(res.statusCode ?? 0);
            },
        );
        req.on("timeout", () => req.destroy());
        req.on("error", () => resolve(0));
    });
}

/** Waits until `check` holds, failing with the component's last log lines when it dies or the deadline passes. */
export async function waitFor(
    state: ClusterState,
    c: Component,
    what: string,
    check: () => Promise<boolean>,
    deadlineMs = 60_000,
): Promise<void> {
    const until = Date.now() + deadlineMs;
    while (Date.now() < until) {
        if (await check()) return;
        if (!isAlive(state.pids[c])) {
            throw new Error(`${c} exited before ${what}; its last log lines:\n${logTail(state.dir, c)}`);
        }
        await sleep(250);
    }
    throw new Error(
        `${c}: ${what} did not happen in ${deadlineMs / 1000}s; its last log lines:\n${logTail(state.dir, c)}`,
    );
}

export function apiserverReady(state: ClusterState, pki: { caCert: string }, adminToken: string): Promise<boolean> {
    return probe(`${state.server}/readyz`, { ca: pki.caCert, token: adminToken }).then((s) => s === 200);
}

export { kwokStages, makePki, type Pki, writeKubeconfig };
