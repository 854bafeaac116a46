// The public cluster classes: `new k8su.LkeCluster(name, args)` and its siblings. Each decides its plan (schema,
// running record, planner, promotion gate, provider lookups) and then registers the provider's upgrade component
// under the same name and type the config program registers, so a stack can move between the two without a change.
// The config program constructs the same classes from its stack-wide decision (see `decided`).
import * as pulumi from "@pulumi/pulumi";
import { AksUpgradeCluster } from "../aks/cluster";
import { CapiAwsUpgradeCluster } from "../capi-aws/cluster";
import { EksUpgradeCluster } from "../eks/cluster";
import { GkeUpgradeCluster } from "../gke/cluster";
import { KubeadmUpgradeCluster } from "../kubeadm/cluster";
import { LkeUpgradeCluster } from "../lke/cluster";
import type { ClusterPlan } from "../plan";
import type { RunningCluster } from "../running";
import type {
    AksClusterArgs,
    CapiAwsClusterArgs,
    ClusterArgsOf,
    EksClusterArgs,
    GkeClusterArgs,
    KubeadmClusterArgs,
    LibraryProvider,
    LkeClusterArgs,
    SecretArgsOf,
} from "./args";
import { type Decision, decideCluster } from "./decide";

/** What every provider's upgrade component exposes. */
interface UpgradeComponent extends pulumi.ComponentResource {
    readonly runningState: pulumi.Output<RunningCluster>;
}

const DECISION: unique symbol = Symbol("k8s-upgrades decision");

/**
 * A cluster already decided with every other cluster of its stack (the config program: one refusal that lists every
 * problem, each lookup made once), with the secrets its component needs. Not exported from the package.
 */
export type Decided<P extends LibraryProvider> = SecretArgsOf[P] & { readonly [DECISION]: Decision };

/** The argument that makes a class register `decision` at once instead of deciding its own plan. */
export function decided<P extends LibraryProvider>(decision: Decision, secrets: SecretArgsOf[P]): Decided<P> {
    return { ...secrets, [DECISION]: decision };
}

function isDecided<P extends LibraryProvider>(source: ClusterArgsOf[P] | Decided<P>): source is Decided<P> {
    return DECISION in source;
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
    /**
     * @internal The component when it was registered during construction: only for a cluster built from a stack-wide
     * decision, whose rollout waves need it at once. Undefined otherwise; use `component`.
     */
    readonly registered: C | undefined;
    /** What this deployment decided: the phases, holds and warnings the offline plan prints. */
    readonly plan: Promise<ClusterPlan>;
    /** What runs once this deployment succeeds; the running record's entry for this cluster. */
    readonly runningState: pulumi.Output<RunningCluster>;

    protected constructor(
        provider: P,
        name: string,
        source: ClusterArgsOf[P] | Decided<P>,
        register: (decision: Decision) => C,
    ) {
        this.name = name;
        const registerLogged = (d: Decision): C => {
            for (const w of d.plan.warnings) void pulumi.log.warn(`cluster ${name}: ${w}`);
            for (const h of d.plan.holds) void pulumi.log.info(`cluster ${name}: ${h}`);
            return register(d);
        };
        if (isDecided(source)) {
            const decision = source[DECISION];
            const component = registerLogged(decision);
            this.registered = component;
            this.component = Promise.resolve(component);
            this.plan = Promise.resolve(decision.plan);
            this.runningState = component.runningState;
            return;
        }
        this.registered = undefined;
        // The program must not end while the history is read and the component not yet registered.
        const done = pulumi.runtime.rpcKeepAlive();
        const decision = decideCluster(provider, name, source);
        this.plan = decision.then((d) => d.plan);
        this.component = decision.then(registerLogged);
        this.component.then(done, done);
        this.runningState = pulumi.output(this.component.then((c) => c.runningState));
    }
}

/** A component's kubeconfig as a class exposes it: a secret, at once when the component is registered at once. */
function kubeconfigOf<C extends UpgradeComponent & { kubeconfig: pulumi.Output<string> }>(
    cluster: UpgradeCluster<LibraryProvider, C>,
): pulumi.Output<string> {
    const now = cluster.registered;
    return pulumi.secret(now ? now.kubeconfig : pulumi.output(cluster.component.then((c) => c.kubeconfig)));
}

/** A Linode Kubernetes Engine cluster, upgraded one minor per deployment with drained pools. */
export class LkeCluster extends UpgradeCluster<"lke", LkeUpgradeCluster> {
    /** The cluster's kubeconfig (a Pulumi secret). */
    readonly kubeconfig: pulumi.Output<string>;

    constructor(name: string, args: LkeClusterArgs, opts?: pulumi.ComponentResourceOptions);
    /** @internal A cluster of a stack-wide decision: registered during construction. */
    constructor(name: string, args: Decided<"lke">, opts?: pulumi.ComponentResourceOptions);
    constructor(name: string, args: LkeClusterArgs | Decided<"lke">, opts?: pulumi.ComponentResourceOptions) {
        super("lke", name, args, ({ plan }) => {
            const linodeToken = args.linodeToken
                ? pulumi.secret(args.linodeToken)
                : new pulumi.Config("linode").getSecret("token");
            return new LkeUpgradeCluster(name, { plan, linodeToken }, opts);
        });
        this.kubeconfig = kubeconfigOf(this);
    }
}

/** An Amazon EKS cluster with managed node groups. */
export class EksCluster extends UpgradeCluster<"eks", EksUpgradeCluster> {
    /** A kubeconfig that authenticates with `aws eks get-token` (a Pulumi secret). */
    readonly kubeconfig: pulumi.Output<string>;

    constructor(name: string, args: EksClusterArgs, opts?: pulumi.ComponentResourceOptions);
    /** @internal A cluster of a stack-wide decision: registered during construction. */
    constructor(name: string, args: Decided<"eks">, opts?: pulumi.ComponentResourceOptions);
    constructor(name: string, args: EksClusterArgs | Decided<"eks">, opts?: pulumi.ComponentResourceOptions) {
        super("eks", name, args, (d) => {
            if (!d.addons) throw new Error(`cluster ${name}: the EKS add-on versions were not decided`);
            return new EksUpgradeCluster(
                name,
                { plan: d.plan, addonVersions: d.addons, defaultRegion: d.defaultRegion },
                opts,
            );
        });
        this.kubeconfig = kubeconfigOf(this);
    }
}

/** A self-managed kubeadm cluster, upgraded in place over SSH. */
export class KubeadmCluster extends UpgradeCluster<"kubeadm", KubeadmUpgradeCluster> {
    /** The admin kubeconfig given (a Pulumi secret). */
    readonly kubeconfig: pulumi.Output<string>;

    constructor(name: string, args: KubeadmClusterArgs, opts?: pulumi.ComponentResourceOptions);
    /** @internal A cluster of a stack-wide decision: registered during construction. */
    constructor(name: string, args: Decided<"kubeadm">, opts?: pulumi.ComponentResourceOptions);
    constructor(name: string, args: KubeadmClusterArgs | Decided<"kubeadm">, opts?: pulumi.ComponentResourceOptions) {
        super("kubeadm", name, args, ({ plan }) => {
            const sshPrivateKey = pulumi.secret(args.sshPrivateKey);
            const kubeconfig = pulumi.secret(args.kubeconfig);
            return new KubeadmUpgradeCluster(name, { plan, sshPrivateKey, kubeconfig }, opts);
        });
        this.kubeconfig = kubeconfigOf(this);
    }
}

/** A Cluster API cluster on AWS, driven through its management cluster. */
export class CapiAwsCluster extends UpgradeCluster<"capi-aws", CapiAwsUpgradeCluster> {
    constructor(name: string, args: CapiAwsClusterArgs, opts?: pulumi.ComponentResourceOptions);
    /** @internal A cluster of a stack-wide decision: registered during construction. */
    constructor(name: string, args: Decided<"capi-aws">, opts?: pulumi.ComponentResourceOptions);
    constructor(name: string, args: CapiAwsClusterArgs | Decided<"capi-aws">, opts?: pulumi.ComponentResourceOptions) {
        super("capi-aws", name, args, (d) => {
            if (!d.amis) throw new Error(`cluster ${name}: the Cluster API images were not resolved`);
            const managementKubeconfig = pulumi.secret(args.managementKubeconfig);
            return new CapiAwsUpgradeCluster(name, { plan: d.plan, amis: d.amis, managementKubeconfig }, opts);
        });
    }
}

/** An Azure Kubernetes Service cluster: AKS's own surge upgrade in place, or blue-green agent pools. */
export class AksCluster extends UpgradeCluster<"aks", AksUpgradeCluster> {
    /** The cluster-user kubeconfig AKS returns (a Pulumi secret). */
    readonly kubeconfig: pulumi.Output<string>;

    constructor(name: string, args: AksClusterArgs, opts?: pulumi.ComponentResourceOptions);
    /** @internal A cluster of a stack-wide decision: registered during construction. */
    constructor(name: string, args: Decided<"aks">, opts?: pulumi.ComponentResourceOptions);
    constructor(name: string, args: AksClusterArgs | Decided<"aks">, opts?: pulumi.ComponentResourceOptions) {
        super("aks", name, args, ({ plan }) => new AksUpgradeCluster(name, { plan }, opts));
        this.kubeconfig = kubeconfigOf(this);
    }
}

/** A Google Kubernetes Engine cluster without a release channel: GKE's own pool upgrade, or blue-green pools. */
export class GkeCluster extends UpgradeCluster<"gke", GkeUpgradeCluster> {
    /** A kubeconfig that authenticates through gke-gcloud-auth-plugin (a Pulumi secret). */
    readonly kubeconfig: pulumi.Output<string>;

    constructor(name: string, args: GkeClusterArgs, opts?: pulumi.ComponentResourceOptions);
    /** @internal A cluster of a stack-wide decision: registered during construction. */
    constructor(name: string, args: Decided<"gke">, opts?: pulumi.ComponentResourceOptions);
    constructor(name: string, args: GkeClusterArgs | Decided<"gke">, opts?: pulumi.ComponentResourceOptions) {
        super("gke", name, args, (d) => {
            if (!d.gkeVersions) throw new Error(`cluster ${name}: the GKE versions were not looked up`);
            return new GkeUpgradeCluster(name, { plan: d.plan, versions: d.gkeVersions }, opts);
        });
        this.kubeconfig = kubeconfigOf(this);
    }
}
