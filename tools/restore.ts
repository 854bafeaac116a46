// `npm run restore -- <stack> --cluster NAME --snapshot PATH --version X.Y.Z --confirm NAME`: puts a kubeadm
// control plane back to the etcd snapshot taken before an upgrade (components/scripts/kubeadm-etcd-restore.sh,
// sent over SSH to the first control plane node as `bash -s`). Never part of a deployment and never automatic:
// without --confirm naming the cluster it only says what it would do. Managed control planes cannot go back.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { type ClusterConfig, CONFIG_NAMESPACE, parseStackConfig } from "../components/config";
import { REMOTE_INTERPRETER } from "../components/kubeadm/cluster";
import { buildRemoteScript } from "../components/scripts";
import { compareMinor, compareVersions, formatVersion, minorDistance, parseVersion } from "../components/versions";
import { type Command, EXIT, requireStack, runCommand, UsageError, unknownCluster } from "./cli";
import { ROOT, readStackFile } from "./harness";

export interface RestoreOptions {
    stack: string;
    cluster: string;
    /** The snapshot's path on the first control plane node. */
    snapshot: string;
    /** The full version the cluster ran when the snapshot was taken (1.30.6). */
    version: string;
    stackDir?: string;
    timeoutSeconds?: number;
}

export interface RestorePlan {
    cluster: string;
    node: { name: string; host: string };
    ssh: { user: string; port: number };
    script: string;
    /** What the restore does, one line each, as printed before it runs. */
    steps: string[];
}

/** The snapshot step's name, `etcd-before-v1.31.4-20261122T041500Z.db`: the version the upgrade went to. */
const SNAPSHOT_NAME = /^etcd-before-v(\d+\.\d+\.\d+)-\d{8}T\d{6}Z\.db$/;

function refuseCluster(stack: string, c: ClusterConfig | undefined, name: string, names: string[]): void {
    if (!c) throw unknownCluster(name, stack, names);
    if (c.provider !== "kubeadm")
        throw new Error(
            `cluster "${name}" of stack "${stack}" is provider ${c.provider}: a managed control plane (LKE, EKS, AKS, GKE) cannot be downgraded, and there is no etcd snapshot to restore. Workers can go back while a retained pool exists (docs/rollback.md); the control plane only forward.`,
        );
    const kubeadm = c.kubeadm!;
    if (kubeadm.etcd.external)
        throw new Error(
            `cluster "${name}" of stack "${stack}" has kubeadm.etcd.external: true: its etcd is not kubeadm's, and no snapshot was taken by the upgrade; restore it with that etcd's own procedure`,
        );
    if (kubeadm.controlPlaneNodes.length > 1)
        throw new Error(
            `cluster "${name}" of stack "${stack}" has ${kubeadm.controlPlaneNodes.length} control plane nodes: restoring a stacked etcd of several members means stopping every member and restoring each from the same snapshot with the whole --initial-cluster, which this command does not do; follow etcd's disaster recovery guide (etcdutl snapshot restore on each member)`,
        );
}

/** The version to return to: a full version, older than what the snapshot preceded, at most one minor back. */
function checkVersion(opts: RestoreOptions, c: ClusterConfig): string {
    const v = parseVersion(opts.version);
    if (!v || v.patch === undefined)
        throw new UsageError(
            `--version must be the full version the cluster ran when the snapshot was taken, such as 1.30.6; given "${opts.version}"`,
        );
    const snap = SNAPSHOT_NAME.exec(path.posix.basename(opts.snapshot));
    const before = snap ? parseVersion(snap[1]) : undefined;
    if (before && compareVersions(v, before) >= 0)
        throw new Error(
            `the snapshot ${opts.snapshot} was taken before the upgrade to ${snap![1]}; the cluster ran an older version then, not ${formatVersion(v)}`,
        );
    if (before && minorDistance(v, before) > 1)
        throw new Error(
            `the snapshot was taken before the upgrade to ${snap![1]}, one minor at a time: the cluster ran ${before.major}.${before.minor - 1}.x or ${before.major}.${before.minor}.x then, not ${formatVersion(v)}`,
        );
    const configured = parseVersion(c.kubernetesVersion);
    if (configured && compareMinor(v, configured) > 0)
        throw new Error(
            `--version ${formatVersion(v)} is newer than the configured ${c.kubernetesVersion}: a restore goes back, never forward`,
        );
    return formatVersion(v);
}

/** Reads the stack, checks the request, and builds the script; throws with what to do when it must refuse. */
export function planRestore(opts: RestoreOptions): RestorePlan {
    if (!path.posix.isAbsolute(opts.snapshot) || /[\s'"\\]/.test(opts.snapshot))
        throw new UsageError(
            `--snapshot must be an absolute path on the node without spaces or quotes, as the snapshot step printed it; given "${opts.snapshot}"`,
        );
    const { config } = readStackFile(opts.stack, opts.stackDir ?? ROOT);
    const prefix = `${CONFIG_NAMESPACE}:`;
    const raw = Object.fromEntries(
        Object.entries(config)
            .filter(([k]) => k.startsWith(prefix))
            .map(([k, v]) => [k.slice(prefix.length), v]),
    );
    const stack = parseStackConfig(opts.stack, raw);
    const c = stack.clusters.find((x) => x.name === opts.cluster);
    refuseCluster(
        opts.stack,
        c,
        opts.cluster,
        stack.clusters.map((x) => x.name),
    );
    const cluster = c!;
    const version = checkVersion(opts, cluster);
    const kubeadm = cluster.kubeadm!;
    const [node] = kubeadm.controlPlaneNodes;
    const script = buildRemoteScript("kubeadm-etcd-restore", {
        K8SU_SNAPSHOT: opts.snapshot,
        K8SU_TARGET_VERSION: version,
        K8SU_PACKAGE_MANAGER: kubeadm.packageManager,
        // Switching to the minor the node already uses is a no-op, so always.
        K8SU_SWITCH_REPOSITORY: "true",
        K8SU_NODE_NAME: node.name,
        K8SU_TIMEOUT_SECONDS: String(opts.timeoutSeconds ?? 600),
    });
    const steps = [
        `lost: every write to the cluster since the snapshot was taken (objects created, changed or deleted after it go back to how they were then)`,
        `on ${node.name} (${kubeadm.ssh.user}@${node.host}:${kubeadm.ssh.port}), over SSH:`,
        `check: ${opts.snapshot} exists and verifies; the etcd manifest names the data directory and member, and etcd lists that member as its only one (etcdctl member list); kubeadm's backup under /etc/kubernetes/tmp holds the v${version} manifests`,
        "stop: the etcd, kube-apiserver, kube-controller-manager and kube-scheduler manifests moved aside, their containers waited gone",
        "restore: etcdutl snapshot restore into a new data directory; swapped in, the old data directory kept beside it",
        `packages: the v${version.replace(/\.\d+$/, "")} repository, kubeadm, kubelet and kubectl at exactly ${version}, held`,
        `manifests: the v${version} static pod manifests from kubeadm's backup; kubelet restarted`,
        `wait: the API server ready, ${node.name} Ready at v${version}, and no kubelet newer than the API server`,
    ];
    return { cluster: cluster.name, node, ssh: { user: kubeadm.ssh.user, port: kubeadm.ssh.port }, script, steps };
}

/** Runs the script on the node through the system's ssh; the script goes on stdin, nothing secret on the command line. */
function runOverSsh(plan: RestorePlan, identity: string | undefined, deadlineSeconds: number): Promise<number> {
    const args = ["-o", "BatchMode=yes", "-o", "ConnectTimeout=20", "-p", String(plan.ssh.port)];
    if (identity) args.push("-i", identity, "-o", "IdentitiesOnly=yes");
    args.push(`${plan.ssh.user}@${plan.node.host}`, REMOTE_INTERPRETER);
    return new Promise((resolve, reject) => {
        const child = spawn("ssh", args, { stdio: ["pipe", "inherit", "inherit"] });
        const timer = setTimeout(() => {
            process.stderr.write(
                `restore: no answer from ${plan.node.name} within ${deadlineSeconds}s; stopping ssh\n`,
            );
            child.kill("SIGTERM");
        }, deadlineSeconds * 1000);
        child.on("error", (err) => {
            clearTimeout(timer);
            reject(new Error(`cannot run ssh: ${err.message}`));
        });
        child.on("close", (code, signal) => {
            clearTimeout(timer);
            resolve(code ?? (signal ? 128 : 1));
        });
        child.stdin.end(plan.script);
    });
}

interface RestoreValues {
    cluster?: string;
    snapshot?: string;
    version?: string;
    confirm?: string;
    identity?: string;
    timeout?: string;
    "stack-dir"?: string;
}

const required = (v: string | undefined, flag: string): string => {
    if (!v) throw new UsageError(`${flag} is required`);
    return v;
};

export const restoreCommand: Command<RestoreValues> = {
    name: "restore",
    usage: "npm run restore -- <stack> --cluster NAME --snapshot PATH --version X.Y.Z [--confirm NAME] [--identity FILE] [--timeout SECONDS] [--stack-dir DIR]",
    description:
        "Restores a kubeadm cluster's control plane from the etcd snapshot taken before an upgrade, on its first control plane node over SSH: control plane stopped, snapshot restored to a new data directory and swapped in (the old one kept), kubeadm, kubelet and kubectl back at --version, kubeadm's backed-up manifests of that version, kubelet restarted, API server and node waited for. Without --confirm it only prints what it would do. Managed control planes (LKE, EKS, AKS, GKE) cannot be downgraded.",
    help: [
        ["--cluster NAME", "the cluster, as named in Pulumi.<stack>.yaml (provider kubeadm)"],
        ["--snapshot PATH", "the snapshot's path on the first control plane node (the etcd-snapshot step prints it)"],
        ["--version X.Y.Z", "the version the cluster ran when the snapshot was taken"],
        ["--confirm NAME", "the cluster's name again: without it nothing runs"],
        ["--identity FILE", "the SSH private key file (else ssh's own configuration and agent)"],
        ["--timeout SECONDS", "the deadline of each step on the node (default 600)"],
        ["--stack-dir DIR", "read Pulumi.<stack>.yaml from another folder"],
        ["-h, --help", "this text"],
    ],
    options: {
        cluster: { type: "string" },
        snapshot: { type: "string" },
        version: { type: "string" },
        confirm: { type: "string" },
        identity: { type: "string" },
        timeout: { type: "string" },
        "stack-dir": { type: "string" },
    },
    async run(values, positionals) {
        if (positionals.length !== 1) throw new UsageError("give exactly one stack");
        requireStack(positionals[0], values["stack-dir"] ?? ROOT);
        const timeout = values.timeout === undefined ? 600 : Number(values.timeout);
        if (!Number.isInteger(timeout) || timeout < 1)
            throw new UsageError("--timeout must be a whole number of seconds");
        if (values.identity !== undefined && !fs.existsSync(values.identity))
            throw new UsageError(`--identity ${values.identity}: no such file`);
        const plan = planRestore({
            stack: positionals[0],
            cluster: required(values.cluster, "--cluster"),
            snapshot: required(values.snapshot, "--snapshot"),
            version: required(values.version, "--version"),
            stackDir: values["stack-dir"],
            timeoutSeconds: timeout,
        });
        process.stderr.write(`restore of cluster ${plan.cluster}:\n${plan.steps.map((s) => `  - ${s}`).join("\n")}\n`);
        if (values.confirm !== plan.cluster) {
            process.stderr.write(
                `nothing ran: this stops the control plane and replaces its etcd data. Run again with --confirm ${plan.cluster} to do it.\n`,
            );
            return EXIT.refused;
        }
        // Each of the script's waits has its own deadline; this bounds the whole in case the connection hangs.
        const code = await runOverSsh(plan, values.identity, timeout * 5 + 600);
        if (code !== 0) {
            process.stderr.write(
                `restore: failed on ${plan.node.name} (exit ${code}); its last lines say what to do\n`,
            );
            return EXIT.refused;
        }
        process.stderr.write(
            `restored. The stack's record (output k8sUpgrades) still says ${plan.cluster} runs the version the snapshot preceded, and the program refuses to go down from it: before the next pulumi up of ${positionals[0]}, set kubernetesVersion of ${plan.cluster} to ${values.version} in Pulumi.${positionals[0]}.yaml and correct the record (docs/rollback.md).\n`,
        );
        return EXIT.ok;
    },
};

if (require.main === module) void runCommand(restoreCommand);
