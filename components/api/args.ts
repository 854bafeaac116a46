// The arguments a user writes by hand for each public cluster class, and their translation into the stack config's
// cluster shape, so one schema (components/config/schema.ts) validates both the library and the config program.
import type * as pulumi from "@pulumi/pulumi";
import type { z } from "zod";
import type { ConfigIssue, clusterInput, Strategy } from "../config";

/** What the schema accepts for one cluster, before defaults: the provider blocks below reuse it. */
type ClusterInputShape = z.input<typeof clusterInput>;

/** One worker pool. */
export interface NodePoolArgs {
    /** Unique in the cluster; part of resource names (lower-case letters, digits and '-'). */
    name: string;
    /** A machine type: a Linode plan (g6-standard-4), an EC2 instance type (m6i.large). */
    type: string;
    /** The nodes the pool runs. */
    count: number;
    /** The kubelet version of this pool; defaults to the cluster's. Inside the skew window of the control plane. */
    kubernetesVersion?: string;
    /** Scale between min and max; count is then the starting size. */
    autoscaler?: { min: number; max: number };
    /** Kubernetes labels on the pool's nodes. */
    labels?: Record<string, string>;
    taints?: { key: string; value?: string; effect: "NoSchedule" | "PreferNoSchedule" | "NoExecute" }[];
}

/** How nodes are drained before their capacity goes away. */
export interface DrainArgs {
    /** Nodes drained at once. Default 1. */
    batchSize?: number;
    /** How long one node's drain may take. Default 900. */
    timeoutSeconds?: number;
    /** Pause after each batch, for workloads to settle. Default 30. */
    soakSeconds?: number;
    /** Unset: each pod's own terminationGracePeriodSeconds. */
    gracePeriodSeconds?: number;
    /** Allow evicting pods with emptyDir data (it is lost). Default false. */
    deleteEmptyDirData?: boolean;
}

/** How worker nodes move to a new version. */
export interface WorkersArgs {
    /** blue-green: a new pool, the old one drained then removed; in-place: one surge node; recycle: one node down at a time. */
    strategy: Strategy;
    /** Keep the drained blue pool one more deployment as a fallback. Default false. */
    retainPreviousPool?: boolean;
    /** How long new nodes may take to become Ready. Default 1200. */
    readyTimeoutSeconds?: number;
    drain?: DrainArgs;
}

/** Where the running record comes from, and the promotion gate. */
export interface HistoryArgs {
    /**
     * The running record of the previous deployment (the `k8sUpgrades` stack output, as `pulumi stack output --json`
     * prints it). Unset: read from `historyStack`'s outputs through a StackReference.
     */
    previous?: unknown;
    /** The stack whose `k8sUpgrades` output is this cluster's history. Default: the current stack. */
    historyStack?: string;
    /** A stack whose running versions bound this cluster's target (dev → staging → prod). */
    promotesFrom?: string;
    /** True only when no running record exists because the cluster is created by this deployment. */
    firstDeployment?: boolean;
}

/** Provider IDs of resources that exist already: registered with Pulumi's `import` option instead of created. */
export interface ImportArgs {
    /** The cluster's provider ID (LKE cluster id; EKS cluster name). */
    cluster: string;
    /** Each pool's provider ID by pool name (LKE pool id; EKS `<cluster>:<node group>`). */
    pools?: Record<string, string>;
}

export interface CommonClusterArgs extends HistoryArgs {
    /** The control plane's target: "1.31" or "1.31.4". It moves at most one minor per deployment, never down. */
    kubernetesVersion: string;
    nodePools: NodePoolArgs[];
    workers: WorkersArgs;
}

/** A Linode Kubernetes Engine cluster. */
export interface LkeClusterArgs extends CommonClusterArgs {
    /** A Linode region such as us-ord. */
    region: string;
    tags?: string[];
    /** The HA control plane. Default false. */
    highAvailability?: boolean;
    /** The small tainted pool LKE requires inside the cluster resource. Default g6-standard-1 × 1. */
    anchorPool?: { type?: string; count?: number };
    /** The Linode API token; unset: `linode:token` config, or LINODE_TOKEN in the environment of `pulumi up`. */
    linodeToken?: pulumi.Input<string>;
    /** Adopt a cluster that already runs (see docs/adopt.md). */
    import?: ImportArgs;
}

/** An Amazon EKS cluster: the `eks` block of the stack config, at the top level. */
export type EksClusterArgs = CommonClusterArgs &
    NonNullable<ClusterInputShape["eks"]> & {
        /** Adopt a cluster that already runs (see docs/adopt.md). */
        import?: ImportArgs;
    };

type KubeadmShape = NonNullable<ClusterInputShape["kubeadm"]>;
/** A self-managed kubeadm cluster: the `kubeadm` block of the stack config, secrets given as values. */
export type KubeadmClusterArgs = CommonClusterArgs &
    Omit<KubeadmShape, "kubeconfigSecret" | "ssh"> & {
        ssh: { user: string; port?: number };
        /** The SSH private key for the nodes (keep it a Pulumi secret). */
        sshPrivateKey: pulumi.Input<string>;
        /** An admin kubeconfig for the local kubectl steps (keep it a Pulumi secret). */
        kubeconfig: pulumi.Input<string>;
    };

/** A Cluster API cluster on AWS: the `capi-aws` block of the stack config, the kubeconfig given as a value. */
export type CapiAwsClusterArgs = CommonClusterArgs &
    Omit<NonNullable<ClusterInputShape["capi-aws"]>, "managementKubeconfigSecret"> & {
        /** The management cluster's kubeconfig (keep it a Pulumi secret). */
        managementKubeconfig: pulumi.Input<string>;
    };

/**
 * An Azure Kubernetes Service cluster: the `aks` block of the stack config, at the top level. Credentials come from
 * the azure-native provider's configuration.
 */
export type AksClusterArgs = CommonClusterArgs & NonNullable<ClusterInputShape["aks"]>;

/**
 * A Google Kubernetes Engine cluster: the `gke` block of the stack config, at the top level. Credentials come from
 * the gcp provider's configuration.
 */
export type GkeClusterArgs = CommonClusterArgs & NonNullable<ClusterInputShape["gke"]>;

/** The providers the public classes cover: every provider of the stack config. */
export type LibraryProvider = keyof ClusterArgsOf;
export type ClusterArgsOf = {
    lke: LkeClusterArgs;
    eks: EksClusterArgs;
    kubeadm: KubeadmClusterArgs;
    "capi-aws": CapiAwsClusterArgs;
    aks: AksClusterArgs;
    gke: GkeClusterArgs;
};

/** The arguments of each class that are not in the stack config's cluster: secrets given as values. */
export type SecretArgsOf = {
    lke: Pick<LkeClusterArgs, "linodeToken">;
    eks: Record<never, never>;
    kubeadm: Pick<KubeadmClusterArgs, "sshPrivateKey" | "kubeconfig">;
    "capi-aws": Pick<CapiAwsClusterArgs, "managementKubeconfig">;
    aks: Record<never, never>;
    gke: Record<never, never>;
};

/** Keys of the arguments that are not part of the cluster's config (history, secrets, adoption). */
const NOT_CONFIG = [
    "previous",
    "historyStack",
    "promotesFrom",
    "firstDeployment",
    "linodeToken",
    "sshPrivateKey",
    "kubeconfig",
    "managementKubeconfig",
] as const;
const COMMON = ["kubernetesVersion", "nodePools", "workers", "import"] as const;

/** The cluster as the stack config writes it: `{name, provider, kubernetesVersion, …, <provider>: {…}}`. */
export function toClusterInput<P extends LibraryProvider>(
    provider: P,
    name: string,
    args: ClusterArgsOf[P],
): Record<string, unknown> {
    const block: Record<string, unknown> = {};
    const out: Record<string, unknown> = { name, provider };
    for (const [key, value] of Object.entries(args as object)) {
        if ((NOT_CONFIG as readonly string[]).includes(key) || value === undefined) continue;
        if ((COMMON as readonly string[]).includes(key)) out[key] = value;
        else block[key] = value;
    }
    out[provider] = block;
    return out;
}

/** The public class of each provider, as a refusal names it. */
const CLASS_OF: Record<LibraryProvider, string> = {
    lke: "LkeCluster",
    eks: "EksCluster",
    kubeadm: "KubeadmCluster",
    "capi-aws": "CapiAwsCluster",
    aks: "AksCluster",
    gke: "GkeCluster",
};

/**
 * A problem found in the stack-config form of a class's arguments (toClusterInput), said in the terms the user
 * wrote: the class and its name, and the argument's path rather than the config key (`clusters[0].lke.region`
 * is the `region` argument, `clusters[0].nodePools[1].count` is `nodePools[1].count`).
 */
export function asArgumentIssue(provider: LibraryProvider, name: string, issue: ConfigIssue): ConfigIssue {
    const field = issue.field
        .replace(/^k8s-upgrades:/, "")
        .replace(/^clusters\[0\]\.?/, "")
        .replace(new RegExp(`^${provider.replace("-", "\\-")}\\.?`), "");
    return {
        ...issue,
        declaredBy: `${CLASS_OF[provider]} "${name}"`,
        field: field === "" ? "(the arguments as a whole)" : field,
    };
}
