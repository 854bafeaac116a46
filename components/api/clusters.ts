// The public cluster classes: `new k8su.LkeCluster(name, args)` and its siblings. Each decides its plan (schema,
// running record, planner, promotion gate) and then registers the provider's upgrade component under the same
// name and type the config program registers, so a stack can move between the two without a change.
import * as pulumi from "@pulumi/pulumi";
import { CapiAwsUpgradeCluster } from "../capi-aws/cluster";
import { EksUpgradeCluster } from "../eks/cluster";
import { KubeadmUpgradeCluster } from "../kubeadm/cluster";
import { LkeUpgradeCluster } from "../lke/cluster";
import type { ClusterPlan } from "../plan";
import type { RunningCluster } from "../running";
import type {
    CapiAwsClusterArgs,
    ClusterArgsOf,
    EksClusterArgs,
    KubeadmClusterArgs,
    LibraryProvider,
    LkeClusterArgs,
} from "./args";
import { type Decision, decideCluster } from "./decide";

/** What every provider's upgrade component exposes. */
interface UpgradeComponent extends pulumi.ComponentResource {
    readonly runningState: pulumi.Output<RunningCluster>;
}

/**
 * One cluster and its upgrade. The component (`k8s-upgrades:<provider>:Cluster`) is registered once the running
 * record has been read; until then `component` is pending. Outputs resolve once every step has succeeded.
 */
export abstract class UpgradeCluster<P extends LibraryProvider, C extends UpgradeComponent = UpgradeComponent> {
    /** The cluster's name: its key in the running record and the prefix of its resource names. */
    readonly name: string;
    /** The registered upgrade component; usable in `dependsOn`. Rejects when the upgrade is refused. */
    readonly component: Promise<C>;
    /** What this deployment decided: the phases, holds and warnings the offline plan prints. */
    readonly plan: Promise<ClusterPlan>;
    /** What runs once this deployment succeeds; the running record's entry for this cluster. */
    readonly runningState: pulumi.Output<RunningCluster>;

    protected constructor(provider: P, name: string, args: ClusterArgsOf[P], register: (decision: Decision) => C) {
        this.name = name;
        // The program must not end while the history is read and the component not yet registered.
        const done = pulumi.runtime.rpcKeepAlive();
        const decision = decideCluster(provider, name, args);
        this.plan = decision.then((d) => d.plan);
        this.component = decision.then((d) => {
            for (const w of d.plan.warnings) void pulumi.log.warn(`cluster ${name}: ${w}`);
            for (const h of d.plan.holds) void pulumi.log.info(`cluster ${name}: ${h}`);
            return register(d);
        });
        this.component.then(done, done);
        this.runningState = pulumi.output(this.component.then((c) => c.runningState));
    }
}

/** A Linode Kubernetes Engine cluster, upgraded one minor per deployment with drained pools. */
export class LkeCluster extends UpgradeCluster<"lke", LkeUpgradeCluster> {
    /** The cluster's kubeconfig (a Pulumi secret). */
    readonly kubeconfig: pulumi.Output<string>;

    constructor(name: string, args: LkeClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("lke", name, args, ({ plan }) => {
            const linodeToken = args.linodeToken
                ? pulumi.secret(args.linodeToken)
                : new pulumi.Config("linode").getSecret("token");
            return new LkeUpgradeCluster(name, { plan, linodeToken }, opts);
        });
        this.kubeconfig = pulumi.secret(pulumi.output(this.component.then((c) => c.kubeconfig)));
    }
}

/** An Amazon EKS cluster with managed node groups. */
export class EksCluster extends UpgradeCluster<"eks", EksUpgradeCluster> {
    /** A kubeconfig that authenticates with `aws eks get-token` (a Pulumi secret). */
    readonly kubeconfig: pulumi.Output<string>;

    constructor(name: string, args: EksClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("eks", name, args, (d) => {
            if (!d.addons) throw new Error(`cluster ${name}: the EKS add-on versions were not decided`);
            return new EksUpgradeCluster(
                name,
                { plan: d.plan, addonVersions: d.addons, defaultRegion: d.defaultRegion },
                opts,
            );
        });
        this.kubeconfig = pulumi.secret(pulumi.output(this.component.then((c) => c.kubeconfig)));
    }
}

/** A self-managed kubeadm cluster, upgraded in place over SSH. */
export class KubeadmCluster extends UpgradeCluster<"kubeadm", KubeadmUpgradeCluster> {
    /** The admin kubeconfig given (a Pulumi secret). */
    readonly kubeconfig: pulumi.Output<string>;

    constructor(name: string, args: KubeadmClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("kubeadm", name, args, ({ plan }) => {
            const sshPrivateKey = pulumi.secret(args.sshPrivateKey);
            const kubeconfig = pulumi.secret(args.kubeconfig);
            return new KubeadmUpgradeCluster(name, { plan, sshPrivateKey, kubeconfig }, opts);
        });
        this.kubeconfig = pulumi.secret(pulumi.output(this.component.then((c) => c.kubeconfig)));
    }
}

/** A Cluster API cluster on AWS, driven through its management cluster. */
export class CapiAwsCluster extends UpgradeCluster<"capi-aws", CapiAwsUpgradeCluster> {
    constructor(name: string, args: CapiAwsClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("capi-aws", name, args, (d) => {
            if (!d.amis) throw new Error(`cluster ${name}: the Cluster API images were not resolved`);
            const managementKubeconfig = pulumi.secret(args.managementKubeconfig);
            return new CapiAwsUpgradeCluster(name, { plan: d.plan, amis: d.amis, managementKubeconfig }, opts);
        });
    }
}
