// `npm run cluster -- up|down|status`: a real local Kubernetes control plane (etcd, kube-apiserver,
// kube-controller-manager, kube-scheduler, and kwok for the kubelets) that stays up between commands, for trying
// the generated scripts by hand. The tests start their own, one per test file (test/fixture/real-cluster.ts).
import * as os from "node:os";
import * as path from "node:path";
import { type Command, didYouMean, runCommand, UsageError } from "./cli";
import { type NodeSpec, startCluster, stopCluster } from "./cluster/cluster";
import { binaries, COMPONENTS, isAlive, logFile, readState } from "./cluster/control-plane";

interface ClusterValues {
    nodes?: string;
    version?: string;
    dir?: string;
    label?: string[];
    "apiserver-port"?: string;
}

/** Where `up` keeps the cluster: K8SU_CLUSTER_DIR, else beside the built binaries. */
export function defaultClusterDir(): string {
    if (process.env.K8SU_CLUSTER_DIR) return path.resolve(process.env.K8SU_CLUSTER_DIR);
    const cache =
        process.env.K8SU_CACHE ??
        path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), ".cache"), "k8s-upgrades");
    return path.join(cache, "cluster");
}

function wholeNumber(flag: string, text: string | undefined, fallback: number, max: number): number {
    if (text === undefined) return fallback;
    if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > max)
        throw new UsageError(`${flag} ${text}: give a whole number from 1 to ${max}`);
    return Number(text);
}

function labels(given: string[] | undefined): Record<string, string> {
    const out: Record<string, string> = {};
    for (const l of given ?? ["lke.linode.com/pool-id=1001"]) {
        const m = /^([A-Za-z0-9./_-]+)=([A-Za-z0-9._-]*)$/.exec(l);
        if (!m) throw new UsageError(`--label ${l}: give KEY=VALUE, for example lke.linode.com/pool-id=1001`);
        out[m[1]] = m[2];
    }
    return out;
}

async function up(values: ClusterValues, dir: string): Promise<number> {
    const count = wholeNumber("--nodes", values.nodes, 3, 500);
    const apiserverPort = wholeNumber("--apiserver-port", values["apiserver-port"], 16443, 65535);
    const version = values.version;
    if (version !== undefined && !/^1\.\d+$/.test(version))
        throw new UsageError(`--version ${version}: give a minor such as 1.34`);
    const poolLabels = labels(values.label);
    const nodes: NodeSpec[] = Array.from({ length: count }, (_, i) => ({
        name: `k8su-node-${i + 1}`,
        labels: poolLabels,
    }));
    const started = Date.now();
    const bins = binaries(version);
    const cluster = await startCluster({
        dir,
        binaries: bins,
        ports: {
            apiserver: apiserverPort,
            etcd: apiserverPort - 4064,
            etcdPeer: apiserverPort - 4063,
            kwok: apiserverPort - 6195,
        },
        nodes,
        log: (l) => process.stderr.write(`${l}\n`),
    });
    process.stderr.write(
        `${count} node(s) Ready (${Object.entries(poolLabels)
            .map(([k, v]) => `${k}=${v}`)
            .join(", ")}); ` +
            `up in ${((Date.now() - started) / 1000).toFixed(1)}s; logs in ${path.join(dir, "logs")}\n` +
            `restricted ServiceAccount (read-only): ${cluster.kubeconfigs.restricted}\n` +
            "stop it with: npm run cluster -- down\n",
    );
    process.stdout.write(`export KUBECONFIG=${cluster.state.kubeconfig}\n`);
    return 0;
}

async function down(dir: string): Promise<number> {
    const state = readState(dir);
    if (!state) {
        process.stderr.write(`no cluster recorded in ${dir}; nothing to stop\n`);
        return 0;
    }
    const stuck = await stopCluster(dir);
    if (stuck.length) {
        process.stderr.write(`these would not stop: ${stuck.join(", ")}\n`);
        return 1;
    }
    process.stderr.write(`stopped ${COMPONENTS.join(", ")} (logs stay in ${path.join(dir, "logs")})\n`);
    return 0;
}

function status(dir: string): number {
    const state = readState(dir);
    if (!state) {
        process.stdout.write(`no cluster recorded in ${dir}\n`);
        return 1;
    }
    let running = 0;
    for (const c of COMPONENTS) {
        const alive = isAlive(state.pids[c]);
        if (alive) running++;
        process.stdout.write(
            `${c.padEnd(24)} ${alive ? `running, pid ${state.pids[c]}` : "stopped"}  ${logFile(dir, c)}\n`,
        );
    }
    process.stdout.write(`server ${state.server} (${state.version}); export KUBECONFIG=${state.kubeconfig}\n`);
    return running === COMPONENTS.length ? 0 : 1;
}

export const clusterCommand: Command<ClusterValues> = {
    name: "cluster",
    usage: "npm run cluster -- up [--nodes N] [--version 1.3x] [--label KEY=VALUE]… [--dir DIR] [--apiserver-port P] | down | status",
    description:
        "up: builds the pinned etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok when they are " +
        "not in the cache (~/.cache/k8s-upgrades), starts them on 127.0.0.1, creates N kwok nodes labelled as a " +
        "provider labels a pool, and prints `export KUBECONFIG=…`; the cluster stays up until `down`, which stops " +
        "every process `up` started. status: which components run. Refuses (exit 1) an `up` over a cluster that " +
        "still runs or onto ports that are taken.",
    help: [
        ["--nodes N", "kwok nodes to create (default 3)"],
        ["--version 1.3x", "the Kubernetes minor to run (default 1.34; pinned releases in tools/cluster/pins.sh)"],
        ["--label KEY=VALUE", "a label of every node, repeatable (default lke.linode.com/pool-id=1001)"],
        ["--dir DIR", "where the cluster keeps its data, logs and kubeconfigs (default ~/.cache/k8s-upgrades/cluster)"],
        [
            "--apiserver-port P",
            "the apiserver's port (default 16443; etcd, its peer port and kwok take P-4064, P-4063, P-6195)",
        ],
        ["-h, --help", "this text"],
    ],
    options: {
        nodes: { type: "string" },
        version: { type: "string" },
        dir: { type: "string" },
        label: { type: "string", multiple: true },
        "apiserver-port": { type: "string" },
    },
    run(values, positionals) {
        const [verb, ...rest] = positionals;
        if (rest.length) throw new UsageError(`one of up, down, status (given: ${positionals.join(" ")})`);
        const dir = values.dir ? path.resolve(values.dir) : defaultClusterDir();
        if (verb === "up") return up(values, dir);
        if (verb === "down") return down(dir);
        if (verb === "status") return status(dir);
        throw new UsageError(
            `one of up, down, status (given: ${verb ?? "nothing"})${verb ? didYouMean(verb, ["up", "down", "status"]) : ""}`,
        );
    },
};

if (require.main === module) void runCommand(clusterCommand);
