// A self-managed kubeadm cluster carried through one deployment, as the upstream guide does it by hand:
// pre-flight → etcd snapshot → first control plane node (`kubeadm upgrade apply`) → other control plane
// nodes (`kubeadm upgrade node`), one at a time → each control plane node's kubelet (drain, packages,
// restart, Ready, uncordon), one at a time → CNI → workers in batches → validation.
// One chain of remote (SSH) and local (kubectl) commands, each triggered by the target version.

import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import type { KubeadmNode } from "../config";
import type { ClusterPlan } from "../plan";
import type { RunningCluster } from "../running";
import { buildRemoteScript, drainEnvironment, type RemoteScriptKind } from "../scripts";
import { base64Secret, scriptStep } from "../steps";
import { compareMinor, formatMinor, requireVersion } from "../versions";
import { componentInputs, runningStateOf, validationStep } from "../workers";

export const KUBEADM_COMPONENT_TYPE = "k8s-upgrades:kubeadm:Cluster";

export interface KubeadmClusterArgs {
    plan: ClusterPlan;
    /** The SSH private key (secret config). */
    sshPrivateKey: pulumi.Output<string>;
    /** An admin kubeconfig (secret config), for the local kubectl steps. */
    kubeconfig: pulumi.Output<string>;
}

/** How every remote script runs: bash reading the script from stdin, whatever the SSH user's login shell is. */
export const REMOTE_INTERPRETER = "bash -s";

export const hostSelector = (node: string) => `kubernetes.io/hostname=${node}`;

export class KubeadmUpgradeCluster extends pulumi.ComponentResource {
    readonly kubeconfig: pulumi.Output<string>;
    readonly runningState: pulumi.Output<RunningCluster>;

    constructor(name: string, args: KubeadmClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        const { plan } = args;
        super(KUBEADM_COMPONENT_TYPE, name, componentInputs(plan), opts);
        const cfg = plan.cluster;
        const kubeadm = cfg.kubeadm!;
        const target = cfg.kubernetesVersion;
        const targetMinor = formatMinor(requireVersion(target));
        const from = plan.running ? requireVersion(plan.running.controlPlaneVersion) : undefined;
        const switchRepository = String(from !== undefined && compareMinor(from, requireVersion(target)) < 0);
        this.kubeconfig = pulumi.secret(args.kubeconfig);
        const kubeconfigB64 = base64Secret(args.kubeconfig);
        const secrets = { K8SU_KUBECONFIG_B64: kubeconfigB64 };
        const triggers = [target];
        const parent = this;

        const remote = (
            node: KubeadmNode,
            step: string,
            kind: RemoteScriptKind,
            params: Record<string, string>,
            after: pulumi.Resource[],
        ) =>
            new command.remote.Command(
                `${name}-${node.name}-${step}`,
                {
                    connection: {
                        host: node.host,
                        port: kubeadm.ssh.port,
                        user: kubeadm.ssh.user,
                        privateKey: pulumi.secret(args.sshPrivateKey),
                    },
                    // The SSH server runs a command through the user's login shell, which may be dash or sh; the
                    // scripts need bash, so bash reads them from stdin (sudo, when needed, happens inside).
                    create: REMOTE_INTERPRETER,
                    stdin: buildRemoteScript(kind, params),
                    triggers,
                },
                { parent, dependsOn: after },
            );
        const local = (
            stepName: string,
            kind: Parameters<typeof scriptStep>[1]["create"],
            environment: Record<string, string>,
            after: pulumi.Resource[],
        ) => scriptStep(stepName, { create: kind, environment, secrets, triggers }, { parent, dependsOn: after });
        const nodeParams = {
            K8SU_TARGET_VERSION: target,
            K8SU_PACKAGE_MANAGER: kubeadm.packageManager,
            K8SU_SWITCH_REPOSITORY: switchRepository,
        };
        const drainOne = { ...drainEnvironment(cfg.workers.drain), K8SU_BATCH_SIZE: "1", K8SU_SOAK_SECONDS: "0" };

        /** Drain, packages and kubelet restart over SSH, wait Ready at the target, uncordon. */
        const kubeletStep = (
            node: KubeadmNode,
            role: "control-plane" | "worker",
            after: pulumi.Resource[],
        ): pulumi.Resource => {
            const drain = local(
                `${name}-${node.name}-drain`,
                "drain",
                {
                    K8SU_CLUSTER: name,
                    K8SU_SELECTOR: hostSelector(node.name),
                    K8SU_MIN_READY_ELSEWHERE: "1",
                    ...drainOne,
                },
                after,
            );
            const packages = remote(node, "kubelet", "kubeadm-kubelet", { ...nodeParams, K8SU_ROLE: role }, [drain]);
            // The full version: after a patch upgrade the minor matches before the restarted kubelet reports.
            const ready = local(
                `${name}-${node.name}-ready`,
                "kubeadm-wait-ready",
                {
                    K8SU_SELECTOR: hostSelector(node.name),
                    K8SU_EXPECTED_NODES: "1",
                    K8SU_TARGET_VERSION: target,
                    K8SU_TIMEOUT_SECONDS: String(cfg.workers.readyTimeoutSeconds),
                },
                [packages],
            );
            return local(`${name}-${node.name}-uncordon`, "uncordon", { K8SU_SELECTORS: hostSelector(node.name) }, [
                ready,
            ]);
        };

        let last: pulumi.Resource[] = [];
        const selectors: pulumi.Output<string>[] = [];
        const cpMoves = plan.controlPlane.change === "minor" || plan.controlPlane.change === "patch";
        if (plan.preflight) last = [local(`${name}-preflight`, "preflight", { K8SU_TARGET_MINOR: targetMinor }, [])];

        if (cpMoves) {
            const [first] = kubeadm.controlPlaneNodes;
            if (!kubeadm.etcd.external) {
                last = [
                    remote(
                        first,
                        "etcd-snapshot",
                        "kubeadm-etcd-snapshot",
                        { K8SU_TARGET_VERSION: target, K8SU_SNAPSHOT_DIR: kubeadm.etcd.snapshotDir },
                        last,
                    ),
                ];
            }
            kubeadm.controlPlaneNodes.forEach((node, i) => {
                last = [
                    remote(
                        node,
                        "kubeadm",
                        "kubeadm-control-plane",
                        { ...nodeParams, K8SU_FIRST: String(i === 0) },
                        last,
                    ),
                ];
            });
            for (const node of kubeadm.controlPlaneNodes) {
                last = [kubeletStep(node, "control-plane", last)];
                selectors.push(pulumi.output(hostSelector(node.name)));
            }
            if (kubeadm.cniUpgradeCommand)
                last = [local(`${name}-cni`, "local-command", { K8SU_COMMAND: kubeadm.cniUpgradeCommand }, last)];
        }

        // Workers of the pools that move, in batches of workersAtOnce; a batch starts when the one before is uncordoned.
        const moving = new Set(plan.pools.filter((p) => p.action === "in-place").map((p) => p.name));
        const firstPool = cfg.nodePools[0]?.name;
        const workers = kubeadm.workerNodes.filter((w) => moving.has(w.pool ?? firstPool));
        for (let i = 0; i < workers.length; i += kubeadm.workersAtOnce) {
            last = workers.slice(i, i + kubeadm.workersAtOnce).map((node) => kubeletStep(node, "worker", last));
        }
        for (const node of workers) selectors.push(pulumi.output(hostSelector(node.name)));

        // A first deployment adopts a running cluster: it only checks that every node runs the configured version.
        if (!plan.exists) selectors.push(pulumi.output("kubernetes.io/hostname"));
        // Validation compares minors; every upgraded node must also report the exact target (a patch included).
        if (plan.exists && selectors.length > 0) {
            const nodes = [...kubeadm.controlPlaneNodes.filter(() => cpMoves), ...workers];
            last = [
                local(
                    `${name}-versions`,
                    "kubeadm-wait-ready",
                    {
                        K8SU_SELECTOR: `kubernetes.io/hostname in (${nodes.map((n) => n.name).join(",")})`,
                        K8SU_EXPECTED_NODES: String(nodes.length),
                        K8SU_TARGET_VERSION: target,
                        K8SU_TIMEOUT_SECONDS: String(cfg.workers.readyTimeoutSeconds),
                    },
                    last,
                ),
            ];
        }
        const validation = validationStep({ parent: this, name, plan, kubeconfig: kubeconfigB64 }, last, selectors);

        const done = [validation, ...last].filter((r): r is pulumi.Resource => r !== undefined);
        const pools = plan.pools.map((p) => ({
            running: {
                name: p.name,
                resourceName: p.resourceName,
                version: p.version,
                type: p.config.type,
                count: p.config.count,
            },
            id: pulumi.output(p.name),
        }));
        this.runningState = runningStateOf(plan, name, done, pools);
        this.registerOutputs({ kubeconfig: this.kubeconfig, runningState: this.runningState });
    }
}
