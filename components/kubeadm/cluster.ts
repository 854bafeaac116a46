// A self-managed kubeadm cluster carried through one deployment, as the upstream guide does it by hand:
// pre-flight → etcd snapshot → first control plane node (`kubeadm upgrade apply`) → other control plane
// nodes (`kubeadm upgrade node`), one at a time → each control plane node's kubelet (drain, packages,
// restart, Ready, uncordon), one at a time → CNI → workers in batches → validation.
// One chain of remote (SSH) and local (kubectl) commands, each triggered by the target version.

import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import type { KubeadmNode, KubeadmSettings } from "../config";
import type { ClusterPlan } from "../plan";
import { preflightEnvironment } from "../removed-apis";
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
        const steps = new KubeadmSteps(name, args, this);
        this.kubeconfig = pulumi.secret(args.kubeconfig);
        const controlPlaneNodes = steps.kubeadm.controlPlaneNodes;

        const cpMoves = plan.controlPlane.change === "minor" || plan.controlPlane.change === "patch";
        let last = steps.preflight();
        if (cpMoves) last = steps.upgradeControlPlane(last);
        const workers = steps.movingWorkers();
        last = steps.upgradeWorkers(workers, last);

        const selectors = [...(cpMoves ? controlPlaneNodes : []), ...workers].map((node) =>
            pulumi.output(hostSelector(node.name)),
        );
        // A first deployment adopts a running cluster: it only checks that every node runs the configured version.
        if (!plan.exists) selectors.push(pulumi.output("kubernetes.io/hostname"));
        // Validation compares minors; every upgraded node must also report the exact target (a patch included).
        if (plan.exists && selectors.length > 0)
            last = [steps.checkVersions([...controlPlaneNodes.filter(() => cpMoves), ...workers], last)];
        const validation = validationStep(
            { parent: this, name, plan, kubeconfig: steps.kubeconfigB64 },
            last,
            selectors,
        );

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

/** The chain of one kubeadm cluster's deployment: remote (SSH) and local (kubectl) steps, each after the last. */
class KubeadmSteps {
    readonly kubeadm: KubeadmSettings;
    readonly kubeconfigB64: pulumi.Output<string>;
    private readonly name: string;
    private readonly plan: ClusterPlan;
    private readonly sshPrivateKey: pulumi.Output<string>;
    private readonly parent: pulumi.Resource;
    private readonly target: string;
    private readonly targetMinor: string;
    private readonly nodeParams: Record<string, string>;
    private readonly drainOne: Record<string, string>;

    constructor(name: string, args: KubeadmClusterArgs, parent: pulumi.Resource) {
        const { plan } = args;
        const cfg = plan.cluster;
        this.name = name;
        this.plan = plan;
        this.parent = parent;
        this.kubeadm = cfg.kubeadm!;
        this.sshPrivateKey = args.sshPrivateKey;
        this.target = cfg.kubernetesVersion;
        this.targetMinor = formatMinor(requireVersion(this.target));
        const from = plan.running ? requireVersion(plan.running.controlPlaneVersion) : undefined;
        const switchRepository = String(from !== undefined && compareMinor(from, requireVersion(this.target)) < 0);
        this.kubeconfigB64 = base64Secret(args.kubeconfig);
        this.nodeParams = {
            K8SU_TARGET_VERSION: this.target,
            K8SU_PACKAGE_MANAGER: this.kubeadm.packageManager,
            K8SU_SWITCH_REPOSITORY: switchRepository,
        };
        this.drainOne = { ...drainEnvironment(cfg.workers.drain), K8SU_BATCH_SIZE: "1", K8SU_SOAK_SECONDS: "0" };
    }

    preflight(): pulumi.Resource[] {
        if (!this.plan.preflight) return [];
        return [this.local(`${this.name}-preflight`, "preflight", preflightEnvironment(this.targetMinor), [])];
    }

    /**
     * An etcd snapshot (stacked etcd), `kubeadm upgrade apply` on the first control plane node and `kubeadm upgrade
     * node` on the others, one at a time, then each one's kubelet, one at a time, then the CNI.
     */
    upgradeControlPlane(after: pulumi.Resource[]): pulumi.Resource[] {
        const { kubeadm, target } = this;
        let last = after;
        const [first] = kubeadm.controlPlaneNodes;
        if (!kubeadm.etcd.external) {
            last = [
                this.remote(
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
                this.remote(
                    node,
                    "kubeadm",
                    "kubeadm-control-plane",
                    { ...this.nodeParams, K8SU_FIRST: String(i === 0) },
                    last,
                ),
            ];
        });
        for (const node of kubeadm.controlPlaneNodes) last = [this.kubeletStep(node, "control-plane", last)];
        if (kubeadm.cniUpgradeCommand)
            last = [this.local(`${this.name}-cni`, "local-command", { K8SU_COMMAND: kubeadm.cniUpgradeCommand }, last)];
        return last;
    }

    /** The worker nodes of the pools that move (a node without a pool belongs to the first). */
    movingWorkers(): KubeadmNode[] {
        const moving = new Set(this.plan.pools.filter((p) => p.action === "in-place").map((p) => p.name));
        const firstPool = this.plan.cluster.nodePools[0]?.name;
        return this.kubeadm.workerNodes.filter((w) => moving.has(w.pool ?? firstPool));
    }

    /** Workers in batches of workersAtOnce; a batch starts when the one before is uncordoned. */
    upgradeWorkers(workers: KubeadmNode[], after: pulumi.Resource[]): pulumi.Resource[] {
        let last = after;
        for (let i = 0; i < workers.length; i += this.kubeadm.workersAtOnce) {
            last = workers
                .slice(i, i + this.kubeadm.workersAtOnce)
                .map((node) => this.kubeletStep(node, "worker", last));
        }
        return last;
    }

    /** Every upgraded node Ready at the exact target version. */
    checkVersions(nodes: KubeadmNode[], after: pulumi.Resource[]): pulumi.Resource {
        return this.local(
            `${this.name}-versions`,
            "kubeadm-wait-ready",
            {
                K8SU_SELECTOR: `kubernetes.io/hostname in (${nodes.map((n) => n.name).join(",")})`,
                K8SU_EXPECTED_NODES: String(nodes.length),
                K8SU_TARGET_VERSION: this.target,
                K8SU_TIMEOUT_SECONDS: String(this.plan.cluster.workers.readyTimeoutSeconds),
            },
            after,
        );
    }

    /** Drain, packages and kubelet restart over SSH, wait Ready at the target, uncordon. */
    private kubeletStep(
        node: KubeadmNode,
        role: "control-plane" | "worker",
        after: pulumi.Resource[],
    ): pulumi.Resource {
        const { name } = this;
        const drain = this.local(
            `${name}-${node.name}-drain`,
            "drain",
            {
                K8SU_CLUSTER: name,
                K8SU_SELECTOR: hostSelector(node.name),
                K8SU_MIN_READY_ELSEWHERE: "1",
                ...this.drainOne,
            },
            after,
        );
        const packages = this.remote(node, "kubelet", "kubeadm-kubelet", { ...this.nodeParams, K8SU_ROLE: role }, [
            drain,
        ]);
        // The full version: after a patch upgrade the minor matches before the restarted kubelet reports.
        const ready = this.local(
            `${name}-${node.name}-ready`,
            "kubeadm-wait-ready",
            {
                K8SU_SELECTOR: hostSelector(node.name),
                K8SU_EXPECTED_NODES: "1",
                K8SU_TARGET_VERSION: this.target,
                K8SU_TIMEOUT_SECONDS: String(this.plan.cluster.workers.readyTimeoutSeconds),
            },
            [packages],
        );
        return this.local(`${name}-${node.name}-uncordon`, "uncordon", { K8SU_SELECTORS: hostSelector(node.name) }, [
            ready,
        ]);
    }

    private remote(
        node: KubeadmNode,
        step: string,
        kind: RemoteScriptKind,
        params: Record<string, string>,
        after: pulumi.Resource[],
    ): command.remote.Command {
        const { ssh } = this.kubeadm;
        return new command.remote.Command(
            `${this.name}-${node.name}-${step}`,
            {
                connection: {
                    host: node.host,
                    port: ssh.port,
                    user: ssh.user,
                    privateKey: pulumi.secret(this.sshPrivateKey),
                },
                // The SSH server runs a command through the user's login shell, which may be dash or sh; the
                // scripts need bash, so bash reads them from stdin (sudo, when needed, happens inside).
                create: REMOTE_INTERPRETER,
                stdin: buildRemoteScript(kind, params),
                triggers: [this.target],
            },
            { parent: this.parent, dependsOn: after },
        );
    }

    private local(
        stepName: string,
        kind: Parameters<typeof scriptStep>[1]["create"],
        environment: Record<string, string>,
        after: pulumi.Resource[],
    ): pulumi.Resource {
        const secrets = { K8SU_KUBECONFIG_B64: this.kubeconfigB64 };
        return scriptStep(
            stepName,
            { create: kind, environment, secrets, triggers: [this.target] },
            { parent: this.parent, dependsOn: after },
        );
    }
}
