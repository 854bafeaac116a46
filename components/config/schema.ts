// The stack config as one schema. It gives the runtime validation (messages say what is allowed and what to do),
// the TypeScript types the rest of the program uses, and the JSON Schema editors complete stack files with.
// Cross-field rules that need what runs now (one minor at a time, promotion, node-group lag) live in the planner.
import { z } from "zod";
import { type Rollout, type RolloutInput, resolveRollout } from "../rollout";
import { compareMinor, formatMinor, formatVersion, kubeletSkew, parseVersion } from "../versions";
import { didYouMean } from "./issues";
import * as r from "./rules";

export const PROVIDERS = ["lke", "eks", "kubeadm", "capi-aws", "aks", "gke"] as const;
export type ProviderName = (typeof PROVIDERS)[number];
export const STRATEGIES = ["blue-green", "in-place", "recycle"] as const;
export type Strategy = (typeof STRATEGIES)[number];
export const TAINT_EFFECTS = ["NoSchedule", "PreferNoSchedule", "NoExecute"] as const;
export const EKS_ADDONS = ["vpc-cni", "coredns", "kube-proxy"] as const;
export const EKS_UPDATE_STRATEGIES = ["DEFAULT", "MINIMAL"] as const;
export const PACKAGE_MANAGERS = ["apt", "dnf", "yum"] as const;

export const DEFAULT_DRAIN = { timeoutSeconds: 900, batchSize: 1, soakSeconds: 30, deleteEmptyDirData: false };
export const DEFAULT_READY_TIMEOUT_SECONDS = 1200;
export const DEFAULT_LKE_ANCHOR_POOL = { type: "g6-standard-1", count: 1 };

/** A schema's message: what is allowed and what to do, read back by the issue formatter. */
export interface Said {
    allowed: string;
    hint?: string;
    /** Set for unknown keys: the keys this map takes. */
    keys?: string[];
}
/** What a provider id to import may look like at all; each provider's own form is checked after. */
const IMPORT_ID = /^[A-Za-z0-9][\w.:-]{0,254}$/;
const says = (allowed: string, hint?: string) => ({ error: JSON.stringify({ allowed, hint } satisfies Said) });

function strict<S extends z.ZodRawShape>(shape: S, what: string, hint?: string) {
    const keys = Object.keys(shape);
    return z.strictObject(shape, {
        error: (iss) =>
            JSON.stringify(
                (iss.code === "unrecognized_keys"
                    ? { allowed: `one of the keys ${keys.join(", ")}`, keys }
                    : { allowed: what, hint }) satisfies Said,
            ),
    });
}

function text(pattern: RegExp, allowed: string, hint?: string, max = 253) {
    return z.string(says(allowed, hint)).max(max, says(allowed, hint)).regex(pattern, says(allowed, hint));
}

function int(bound: keyof typeof r.BOUNDS, hint?: string) {
    const [min, max] = r.BOUNDS[bound];
    const e = says(`a whole number from ${min} to ${max}`, hint);
    return z.number(e).int(e).min(min, e).max(max, e);
}

const bool = () => z.boolean(says("true or false", "Write true or false without quotes."));

function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
    return z.enum(values, {
        error: (iss) =>
            JSON.stringify({
                allowed: `one of ${values.join(", ")}`,
                hint: didYouMean(iss.input, values),
            } satisfies Said),
    });
}

/** YAML reads an unquoted 1.30 as the number 1.3: say how to write what the user meant. */
export function quoteHint(n: number): string {
    const written = String(n);
    const meant = /^\d+\.\d$/.test(written) ? `${written}0` : written;
    return `YAML read it as a number; quote it: "${meant}".`;
}

const version = z
    .string({
        error: (iss) =>
            JSON.stringify({
                allowed: r.VERSION_RULE,
                hint: typeof iss.input === "number" ? quoteHint(iss.input) : undefined,
            } satisfies Said),
    })
    .regex(r.VERSION, says(r.VERSION_RULE))
    .transform((v) => formatVersion(parseVersion(v)!))
    .meta({ description: 'Kubernetes version, quoted: "1.31" or "1.31.4". The upgrade is a change of this value.' });

const resourceName = text(r.RESOURCE_NAME, r.RESOURCE_NAME_RULE, "It is used in resource names and cloud labels.", 24);
const dnsName = text(r.DNS1123_SUBDOMAIN, r.DNS1123_SUBDOMAIN_RULE, "Write the name exactly as kubectl get shows it.");
const configKey = text(
    r.CONFIG_KEY,
    "a config key name such as sshPrivateKey (letters, digits, '-', '_')",
    undefined,
    64,
);

const labelMap = z.record(
    z.string().max(317, says(r.QUALIFIED_NAME_RULE)).regex(r.QUALIFIED_NAME, says(r.QUALIFIED_NAME_RULE)),
    text(r.LABEL_VALUE, r.LABEL_VALUE_RULE, "Quote values YAML would read as numbers or booleans.", 63),
    says("a map of label names to string values"),
);
const labels = labelMap.prefault({});

const taint = strict(
    {
        key: z
            .string(says(r.QUALIFIED_NAME_RULE))
            .max(317, says(r.QUALIFIED_NAME_RULE))
            .regex(r.QUALIFIED_NAME, says(r.QUALIFIED_NAME_RULE)),
        value: text(r.LABEL_VALUE, r.LABEL_VALUE_RULE, undefined, 63).default(""),
        effect: oneOf(TAINT_EFFECTS),
    },
    "a map with key, value and effect",
);

const autoscaler = strict({ min: int("count"), max: int("count") }, "a map with min and max");

const nodePool = strict(
    {
        name: resourceName,
        count: int("count", "The number of nodes the pool runs.").meta({ description: "Nodes in the pool." }),
        type: text(
            r.MACHINE_TYPE,
            "a machine type such as g6-standard-4 (LKE), m6i.large (EKS, Cluster API on AWS), Standard_D4s_v5 (AKS) or e2-standard-4 (GKE)",
            undefined,
            63,
        ),
        autoscaler: autoscaler.optional(),
        labels: labels.meta({ description: "Kubernetes labels on the pool's nodes." }),
        taints: z.array(taint, says("a list of {key, value, effect}")).max(50, says("at most 50 taints")).prefault([]),
        kubernetesVersion: version.optional(),
    },
    "a map with name, count and type",
);

const drain = strict(
    {
        gracePeriodSeconds: int("gracePeriodSeconds")
            .optional()
            .meta({ description: "Unset: each pod's own grace period." }),
        timeoutSeconds: int("timeoutSeconds").default(DEFAULT_DRAIN.timeoutSeconds),
        batchSize: int("batchSize").default(DEFAULT_DRAIN.batchSize),
        soakSeconds: int("soakSeconds").default(DEFAULT_DRAIN.soakSeconds),
        deleteEmptyDirData: bool()
            .optional()
            .meta({ description: "Allow evicting pods with emptyDir data (it is lost). Default false." }),
    },
    "a map of drain settings",
);

const workers = strict(
    {
        strategy: oneOf(STRATEGIES).meta({
            description:
                "blue-green: a new pool, the old one drained then removed; in-place: one surge node; recycle: one node down at a time.",
        }),
        drain: drain.prefault({}),
        retainPreviousPool: bool().default(false),
        readyTimeoutSeconds: int("readyTimeoutSeconds").default(DEFAULT_READY_TIMEOUT_SECONDS),
    },
    "a map with strategy and drain settings",
    "Choose a strategy: blue-green (new pool, old one drained; no capacity lost), in-place (one surge node), or recycle (one node down at a time).",
);

const lke = strict(
    {
        region: text(
            r.LKE_REGION,
            "a Linode region such as us-ord or eu-central",
            "linode-cli regions list shows them.",
            32,
        ),
        tags: z
            .array(text(/^[^\s].{1,48}[^\s]$/, "a tag of 3 to 50 characters", undefined, 50), says("a list of tags"))
            .max(50)
            .prefault([]),
        highAvailability: bool().default(false),
        anchorPool: strict(
            {
                type: text(r.LINODE_TYPE, "a Linode plan such as g6-standard-1", undefined, 63).default(
                    DEFAULT_LKE_ANCHOR_POOL.type,
                ),
                count: int("anchorCount").default(DEFAULT_LKE_ANCHOR_POOL.count),
            },
            "a map with type and count",
        ).prefault({}),
    },
    "a map with at least region",
    'LKE clusters need lke.region, e.g. "us-ord".',
);

const awsRegion = text(r.AWS_REGION, "an AWS region such as us-east-1", undefined, 32);
const roleArn = text(
    r.IAM_ROLE_ARN,
    "an IAM role ARN (arn:aws:iam::123456789012:role/name)",
    "Leave it out to let the program create the role.",
    2048,
);
const addonVersion = text(
    /^v\d+\.\d+\.\d+-eksbuild\.\d+$/,
    'an add-on version such as "v1.19.0-eksbuild.1"',
    undefined,
    64,
);
const awsTags = z
    .record(
        z.string().min(1, says("a tag key of 1 to 128 characters")).max(128, says("a tag key of 1 to 128 characters")),
        z.string(says("a tag value of at most 256 characters")).max(256, says("a tag value of at most 256 characters")),
        says("a map of tag names to string values"),
    )
    .prefault({});

const eks = strict(
    {
        region: awsRegion.optional(),
        subnetIds: z
            .array(
                text(r.SUBNET_ID, "subnet ids such as subnet-0a1b2c3d4e5f60001", undefined, 32),
                says("a list of at least 2 subnet ids"),
            )
            .min(2, says("a list of at least 2 subnet ids", "EKS needs subnets in at least two availability zones."))
            .max(16, says("at most 16 subnet ids")),
        securityGroupIds: z
            .array(
                text(r.SECURITY_GROUP_ID, "security group ids such as sg-0a1b2c3d4e5f60001", undefined, 32),
                says("a list of security group ids"),
            )
            .max(5, says("at most 5 security group ids"))
            .prefault([]),
        clusterRoleArn: roleArn.optional(),
        nodeRoleArn: roleArn.optional(),
        endpointPublicAccess: bool().default(true),
        endpointPrivateAccess: bool().default(false),
        addonVersions: strict(
            {
                "vpc-cni": addonVersion.optional(),
                coredns: addonVersion.optional(),
                "kube-proxy": addonVersion.optional(),
            },
            `a map of ${EKS_ADDONS.join(", ")} to versions`,
        ).prefault({}),
        maxUnavailable: int("maxUnavailable").optional(),
        maxUnavailablePercentage: int("percentage").optional(),
        updateStrategy: oneOf(EKS_UPDATE_STRATEGIES).default("DEFAULT"),
        forceUpdateVersion: bool().default(false),
        tags: awsTags,
    },
    "a map with at least subnetIds",
    "EKS clusters live in existing subnets: list at least two, in different availability zones.",
);

const kubeadmNode = strict(
    {
        name: dnsName,
        host: text(r.HOST, r.HOST_RULE).refine(r.isHost, says(r.HOST_RULE)),
        pool: resourceName.optional(),
    },
    "a map with name (as in kubectl get nodes) and host (for SSH)",
);

const kubeadm = strict(
    {
        controlPlaneNodes: z
            .array(kubeadmNode, says("a list of at least 1 {name, host}"))
            .min(1, says("a list of at least 1 {name, host}"))
            .max(9, says("at most 9 control plane nodes")),
        workerNodes: z.array(kubeadmNode, says("a list of {name, host, pool}")).max(5000).prefault([]),
        ssh: strict(
            {
                user: text(r.UNIX_USER, "a user name (lower-case letters, digits, '_' and '-')", undefined, 32),
                port: int("port").default(22),
                privateKeySecret: configKey.default("sshPrivateKey"),
            },
            "a map with user, and optionally port and privateKeySecret",
        ),
        kubeconfigSecret: configKey.default("kubeconfig"),
        packageManager: oneOf(PACKAGE_MANAGERS),
        workersAtOnce: int("workersAtOnce").default(1),
        cniUpgradeCommand: z.string(says("a shell command")).min(1, says("a shell command")).max(4096).optional(),
        etcd: strict(
            {
                external: bool().default(false),
                snapshotDir: text(
                    r.ABSOLUTE_PATH,
                    "an absolute path on the first control plane node",
                    undefined,
                    1024,
                ).default("/var/backups/etcd"),
            },
            "a map with external and snapshotDir",
        ).prefault({}),
    },
    "a map with controlPlaneNodes, workerNodes, ssh and packageManager",
);

const capiAws = strict(
    {
        namespace: text(r.DNS1123_LABEL, "a Kubernetes namespace (DNS-1123 label)", undefined, 63).default("default"),
        clusterName: dnsName.optional(),
        managementKubeconfigSecret: configKey.default("managementKubeconfig"),
        region: awsRegion.optional(),
        controlPlane: strict(
            {
                name: dnsName.optional(),
                replicas: int("replicas").default(3),
                maxSurge: int("controlPlaneSurge", "KubeadmControlPlane rolls one machine at a time.").default(1),
                instanceType: text(r.EC2_TYPE, "an EC2 instance type such as m6i.large", undefined, 63),
            },
            "a map with instanceType, and optionally name, replicas and maxSurge",
        ),
        amis: z
            .record(
                z.string().regex(/^v?1\.\d{1,2}\.\d{1,3}$/, says('full patch versions as keys, e.g. "1.31.4"')),
                text(r.AMI_ID, "an AMI id such as ami-0123456789abcdef0", undefined, 32),
                says("a map of Kubernetes versions to AMI ids"),
            )
            .prefault({}),
        amiLookup: strict(
            {
                owners: z
                    .array(
                        text(
                            /^(\d{12}|self|amazon|aws-marketplace)$/,
                            "AWS account ids (12 digits), self or amazon",
                            undefined,
                            32,
                        ),
                    )
                    .min(1, says("a list of at least 1 owner")),
                namePattern: z.string(says("an AMI name pattern")).min(1).max(256).optional(),
            },
            "a map with owners and optionally namePattern",
        ).optional(),
        iamInstanceProfile: text(/^[\w+=,.@-]{1,128}$/, "an IAM instance profile name", undefined, 128).default(
            "nodes.cluster-api-provider-aws.sigs.k8s.io",
        ),
        controlPlaneIamInstanceProfile: text(
            /^[\w+=,.@-]{1,128}$/,
            "an IAM instance profile name",
            undefined,
            128,
        ).default("control-plane.cluster-api-provider-aws.sigs.k8s.io"),
        sshKeyName: text(/^[\x21-\x7e]{1,255}$/, "an EC2 key pair name", undefined, 255).optional(),
        maxSurge: int("machineDeploymentPace").default(1),
        maxUnavailable: int("machineDeploymentPace").default(0),
    },
    "a map with at least controlPlane.instanceType, and amis or amiLookup",
);

// GKE (provider gke): where the cluster lives, and how GKE moves a pool in place (its own upgradeSettings).
export const GKE_UPGRADE_STRATEGIES = ["SURGE", "BLUE_GREEN"] as const;
export const GKE_RELEASE_CHANNELS = ["UNSPECIFIED", "RAPID", "REGULAR", "STABLE", "EXTENDED"] as const;
/** GKE's durations are seconds with an "s" ("3600s"); soaks are at most 7 days. */
export const GKE_DURATION = /^\d{1,6}s$/;
export const GKE_MAX_SOAK_SECONDS = 604800;
const gkeDuration = text(
    GKE_DURATION,
    'a duration in seconds such as "600s" (at most "604800s", 7 days)',
    undefined,
    8,
);
const gke = strict(
    {
        project: text(r.GCP_PROJECT, "a Google Cloud project id such as my-project-123", undefined, 30).optional(),
        location: text(
            r.GCP_LOCATION,
            "a region (us-central1: a regional cluster) or a zone (us-central1-a: a zonal cluster)",
            "gcloud compute regions list shows them.",
            32,
        ),
        nodeLocations: z
            .array(text(r.GCP_ZONE, "zones such as us-central1-a", undefined, 32), says("a list of zones"))
            .max(10, says("at most 10 zones"))
            .prefault([])
            .meta({ description: "The zones node pools run in; needed for a regional location. Counts are totals." }),
        network: text(r.GCP_RESOURCE, "a VPC network name or self link", undefined, 1024).optional(),
        subnetwork: text(r.GCP_RESOURCE, "a subnetwork name or self link", undefined, 1024).optional(),
        releaseChannel: oneOf(GKE_RELEASE_CHANNELS)
            .default("UNSPECIFIED")
            .meta({ description: "Only UNSPECIFIED: on a release channel Google upgrades the cluster on its own." }),
        nodeAutoUpgrade: bool()
            .default(false)
            .meta({ description: "Only false: with node auto-upgrade Google moves pools on its own schedule." }),
        deletionProtection: bool().default(true),
        diskSizeGb: int("diskSizeGb").default(100),
        serviceAccount: text(r.GCP_SERVICE_ACCOUNT, "a service account email", undefined, 254).optional(),
        resourceLabels: z
            .record(
                text(r.GCP_LABEL_KEY, r.GCP_LABEL_RULE, undefined, 63),
                text(r.GCP_LABEL_VALUE, r.GCP_LABEL_RULE, undefined, 63),
                says("a map of Google Cloud label names to values"),
            )
            .prefault({}),
        upgradeSettings: strict(
            {
                strategy: oneOf(GKE_UPGRADE_STRATEGIES).default("SURGE"),
                maxSurge: z
                    .number(says("a whole number from 0 to 20"))
                    .int(says("a whole number from 0 to 20"))
                    .min(0, says("a whole number from 0 to 20"))
                    .max(20, says("a whole number from 0 to 20"))
                    .optional(),
                maxUnavailable: z
                    .number(says("a whole number from 0 to 20"))
                    .int(says("a whole number from 0 to 20"))
                    .min(0, says("a whole number from 0 to 20"))
                    .max(20, says("a whole number from 0 to 20"))
                    .optional(),
                blueGreenSettings: strict(
                    {
                        standardRolloutPolicy: strict(
                            {
                                batchNodeCount: int("count").optional(),
                                batchPercentage: z
                                    .number(says("a fraction of the pool above 0 and at most 1, such as 0.25"))
                                    .gt(0, says("a fraction of the pool above 0 and at most 1, such as 0.25"))
                                    .max(1, says("a fraction of the pool above 0 and at most 1, such as 0.25"))
                                    .optional(),
                                batchSoakDuration: gkeDuration.optional(),
                            },
                            "a map with batchNodeCount or batchPercentage, and batchSoakDuration",
                        ),
                        nodePoolSoakDuration: gkeDuration.optional(),
                    },
                    "a map with standardRolloutPolicy and nodePoolSoakDuration",
                ).optional(),
            },
            "a map with strategy (SURGE or BLUE_GREEN) and its settings",
        ).prefault({}),
    },
    "a map with at least location",
    'GKE clusters need gke.location, e.g. "us-central1".',
);

// AKS: the cluster's own settings, its inline system pool, the surge settings of its agent pools, and the
// auto-upgrade channels (only "none" keeps the version where the config puts it).
export const AKS_UPGRADE_CHANNELS = ["none", "patch", "stable", "rapid", "node-image"] as const;
export const AKS_NODE_OS_CHANNELS = ["None", "Unmanaged", "SecurityPatch", "NodeImage"] as const;
export const AKS_UNDRAINABLE_NODE_BEHAVIORS = ["Schedule", "Cordon"] as const;
export const DEFAULT_AKS_UPGRADE_SETTINGS = {
    maxSurge: "10%",
    drainTimeoutInMinutes: 30,
    nodeSoakDurationInMinutes: 0,
    undrainableNodeBehavior: "Schedule",
} as const;
export const DEFAULT_AKS_SYSTEM_POOL = { vmSize: "Standard_D2s_v5", count: 1 };
const azureName = (allowed: string, max: number) => text(r.AZURE_NAME, allowed, undefined, max);
const aks = strict(
    {
        location: text(
            r.AZURE_LOCATION,
            "an Azure region such as westeurope or eastus2",
            "az account list-locations shows them.",
            40,
        ),
        resourceGroupName: azureName("an existing resource group name (letters, digits, '-', '_', '.', '(', ')')", 90),
        clusterName: text(
            r.AKS_CLUSTER_NAME,
            "an AKS cluster name: letters, digits, '-' and '_', at most 63",
            undefined,
            63,
        )
            .optional()
            .meta({ description: "Default: the cluster's name." }),
        dnsPrefix: text(
            r.AKS_CLUSTER_NAME,
            "a DNS prefix: letters, digits and '-', at most 54",
            undefined,
            54,
        ).optional(),
        systemPool: strict(
            {
                vmSize: text(r.AZURE_VM_SIZE, "an Azure VM size such as Standard_D2s_v5", undefined, 64).default(
                    DEFAULT_AKS_SYSTEM_POOL.vmSize,
                ),
                count: int("anchorCount").default(DEFAULT_AKS_SYSTEM_POOL.count),
            },
            "a map with vmSize and count",
        )
            .prefault({})
            .meta({
                description: "The System pool AKS requires inside the cluster resource; tainted CriticalAddonsOnly.",
            }),
        upgradeSettings: strict(
            {
                maxSurge: text(
                    r.AKS_MAX_SURGE,
                    'a node count such as "1" or a percentage such as "33%", quoted',
                    "AKS adds this many nodes before it drains old ones.",
                    4,
                ).default(DEFAULT_AKS_UPGRADE_SETTINGS.maxSurge),
                drainTimeoutInMinutes: int("aksDrainTimeoutMinutes").default(
                    DEFAULT_AKS_UPGRADE_SETTINGS.drainTimeoutInMinutes,
                ),
                nodeSoakDurationInMinutes: int("aksSoakMinutes").default(
                    DEFAULT_AKS_UPGRADE_SETTINGS.nodeSoakDurationInMinutes,
                ),
                undrainableNodeBehavior: oneOf(AKS_UNDRAINABLE_NODE_BEHAVIORS).default(
                    DEFAULT_AKS_UPGRADE_SETTINGS.undrainableNodeBehavior,
                ),
            },
            "a map of maxSurge, drainTimeoutInMinutes, nodeSoakDurationInMinutes and undrainableNodeBehavior",
        )
            .prefault({})
            .meta({
                description: "AKS's own surge upgrade of each agent pool (strategy in-place), as AKS names them.",
            }),
        autoUpgradeProfile: strict(
            {
                upgradeChannel: oneOf(AKS_UPGRADE_CHANNELS).default("none"),
                nodeOSUpgradeChannel: oneOf(AKS_NODE_OS_CHANNELS).default("NodeImage"),
            },
            "a map with upgradeChannel and nodeOSUpgradeChannel",
        ).prefault({}),
        tags: awsTags,
    },
    "a map with at least location and resourceGroupName",
    "AKS clusters live in an existing resource group: give location and resourceGroupName.",
);

/** Provider IDs of resources that exist already: the first deployment adopts them (Pulumi's import option). */
const adoption = strict(
    {
        cluster: text(
            /^[A-Za-z0-9][\w.:-]{0,254}$/,
            "the provider's id of the cluster: the LKE cluster id (12345) or the EKS cluster name",
            "linode-cli lke clusters-list or aws eks list-clusters shows it.",
            255,
        ),
        pools: z
            .record(
                resourceName,
                text(
                    IMPORT_ID,
                    "the provider's id of the pool: the LKE pool id (67890) or <cluster>:<node group> for EKS",
                    undefined,
                    255,
                ),
                says("a map of pool names (as in nodePools) to provider ids"),
            )
            .prefault({}),
    },
    "a map with cluster and pools",
    'Write the IDs of what runs: import: { cluster: "12345", pools: { general: "67890" } }.',
);

export const clusterInput = strict(
    {
        name: resourceName.meta({ description: "Unique in the stack; used in resource names." }),
        provider: oneOf(PROVIDERS).meta({
            description: "Who runs the cluster: lke, eks, kubeadm, capi-aws, aks or gke.",
        }),
        kubernetesVersion: version,
        nodePools: z
            .array(nodePool, says("a non-empty list of node pools", "Every cluster needs worker capacity to upgrade."))
            .min(1, says("a non-empty list of node pools", "Every cluster needs worker capacity to upgrade."))
            .max(100, says("at most 100 node pools")),
        workers: workers.meta({ description: "How worker nodes move to a new version, and how they are drained." }),
        lke: lke.optional().meta({ description: "LKE settings (provider lke)." }),
        eks: eks.optional().meta({ description: "EKS settings (provider eks)." }),
        kubeadm: kubeadm.optional().meta({ description: "Self-managed kubeadm settings (provider kubeadm)." }),
        "capi-aws": capiAws.optional().meta({ description: "Cluster API on AWS settings (provider capi-aws)." }),
        aks: aks.optional().meta({ description: "Azure Kubernetes Service settings (provider aks)." }),
        gke: gke.optional().meta({ description: "GKE settings (provider gke)." }),
        labels: labels.meta({ description: "Labels of the cluster itself, for rollout.waves[].matchLabels." }),
        import: adoption.optional().meta({
            description: "Adopt a cluster that already runs (lke, eks): the provider IDs of the cluster and its pools.",
        }),
    },
    "a map with name, provider, kubernetesVersion, nodePools and workers",
);

export type ClusterInput = z.output<typeof clusterInput>;
export const clusterSchema = clusterInput.superRefine(crossCheckCluster).transform(toClusterConfig);

// ---------------------------------------------------------------------------------------------------------------
// The rollout across the stack's clusters (k8s-upgrades:rollout): waves, a pace inside a wave, a soak between waves.

export const DEFAULT_SOAK_MINUTES = 0;
export const MAX_SOAK_MINUTES = 1440;
/** How long one job may run on GitHub-hosted runners: 6 hours (docs.github.com, Actions limits). */
export const DEFAULT_RUN_TIME_LIMIT_MINUTES = 360;
/** The longest job self-hosted runners allow: 5 days. */
export const MAX_RUN_TIME_LIMIT_MINUTES = 7200;

function bounded(min: number, max: number, hint?: string) {
    const e = says(`a whole number from ${min} to ${max}`, hint);
    return z.number(e).int(e).min(min, e).max(max, e);
}

const wave = strict(
    {
        name: resourceName.optional().meta({ description: 'Shown in the plan; default "wave <n>".' }),
        clusters: z
            .array(resourceName, says("a list of cluster names"))
            .max(1000, says("at most 1000 clusters"))
            .prefault([])
            .meta({ description: "Clusters of the wave by name." }),
        matchLabels: labelMap
            .optional()
            .meta({ description: "Clusters of the wave by their labels: every label given must match." }),
    },
    "a map with clusters (names) and/or matchLabels (cluster labels)",
);

const rollout = strict(
    {
        waves: z
            .array(wave, says("an ordered list of waves", "Each wave upgrades after the one before it passed."))
            .min(1, says("an ordered list of at least 1 wave"))
            .max(100, says("at most 100 waves")),
        maxConcurrentClusters: bounded(1, 1000, "How many clusters of one wave upgrade at once.")
            .optional()
            .meta({ description: "Clusters of one wave upgrading at once; unset: all of them." }),
        soakMinutes: bounded(0, MAX_SOAK_MINUTES, "The hold between two waves, in minutes (at most a day).")
            .default(DEFAULT_SOAK_MINUTES)
            .meta({ description: "Minutes to hold after a wave passed validation, before the next starts." }),
        runTimeLimitMinutes: bounded(
            1,
            MAX_RUN_TIME_LIMIT_MINUTES,
            "How long one run of pulumi up may last where it runs (a CI job's limit), in minutes.",
        )
            .default(DEFAULT_RUN_TIME_LIMIT_MINUTES)
            .meta({
                description:
                    "How long one run of pulumi up may last: the CI job's time limit (default 360, GitHub-hosted runners). Every soak must fit in it.",
            }),
    },
    "a map with waves, and optionally maxConcurrentClusters, soakMinutes and runTimeLimitMinutes",
    "List the waves in order: - clusters: [canary] then - matchLabels: {tier: prod}.",
);

/** The waves must name real clusters, each once, all of them: checked on the parsed clusters. */
function checkRollout(stack: { clusters: ClusterConfig[]; rollout?: z.output<typeof rollout> }, ctx: Ctx): void {
    if (!stack.rollout) return;
    const { rollout: resolved, problems } = resolveRollout(stack.clusters, stack.rollout);
    for (const p of problems)
        ctx.addIssue({
            code: "custom",
            path: p.path,
            input: p.given,
            message: JSON.stringify({ allowed: p.allowed, hint: p.hint, given: p.given }),
        });
    if (resolved) checkSoaksFit(resolved, stack.rollout.runTimeLimitMinutes, ctx);
}

/**
 * Every soak of a rollout runs inside one `pulumi up`, which runs inside one CI job: soaks that fill the job's time
 * limit leave no time for the upgrades, and the job would be killed mid-rollout. Refused, saying what to do.
 */
function checkSoaksFit(resolved: Rollout, limit: number, ctx: Ctx): void {
    const soaked = resolved.waves.slice(0, -1);
    const total = resolved.soakMinutes * soaked.length;
    if (soaked.length === 0 || total < limit) return;
    const which = soaked.map((w) => `${w.number} (${w.name})`).join(", ");
    const hosted = limit === DEFAULT_RUN_TIME_LIMIT_MINUTES ? ", the job limit of GitHub-hosted runners" : "";
    const fits = Math.ceil(limit / soaked.length) - 1;
    problem(
        ctx,
        ["rollout", "soakMinutes"],
        resolved.soakMinutes,
        `soaks that fit in one run of pulumi up: the soaks after waves ${which} hold ${resolved.soakMinutes} min each, ${total} min in all, and a run may last ${limit} min (rollout.runTimeLimitMinutes${hosted}), with the upgrades themselves still to run`,
        `Shorten soakMinutes to at most ${fits}${fits > 0 ? "" : " (no soak)"}, or split the waves into stacks that deploy in separate runs (for example a canary stack promoted before the rest); on self-hosted runners with a longer job limit, set rollout.runTimeLimitMinutes to it.`,
    );
}

/** The resolved rollout of a stack whose config parsed (checkRollout has refused any problem). */
export function rolloutOf(clusters: ClusterConfig[], input: RolloutInput | undefined): Rollout | undefined {
    if (!input) return undefined;
    const { rollout: resolved, problems } = resolveRollout(clusters, input);
    if (!resolved) throw new Error(`rollout: ${problems.map((p) => p.allowed).join("; ")}`);
    return resolved;
}

export const stackInput = strict(
    {
        clusters: z
            .array(
                clusterSchema,
                says(
                    "a non-empty list of clusters",
                    "Add at least one cluster; see the config reference in docs/config.md.",
                ),
            )
            .min(
                1,
                says(
                    "a non-empty list of clusters",
                    "Add at least one cluster; see the config reference in docs/config.md.",
                ),
            ),
        promotesFrom: z
            .string(says("a stack name"))
            .max(100, says("a stack name"))
            .optional()
            .meta({ description: "The stack whose running versions bound this stack's targets." }),
        firstDeployment: bool().optional().meta({
            description: "true only for a stack never deployed: required when no previous outputs can be read.",
        }),
        rollout: rollout.optional().meta({
            description:
                "Upgrade the clusters in waves: each wave after the previous one passed validation and soaked.",
        }),
    },
    "the keys clusters, promotesFrom, firstDeployment and rollout",
).superRefine((stack, ctx) => checkRollout(stack, ctx));

// ---------------------------------------------------------------------------------------------------------------
// The types, from the schema.

export type NodePoolConfig = Omit<ClusterInput["nodePools"][number], "kubernetesVersion"> & {
    /** Normalised; defaults to the cluster's. */
    kubernetesVersion: string;
};
export type Autoscaler = NonNullable<NodePoolConfig["autoscaler"]>;
export type Taint = NodePoolConfig["taints"][number];
export type DrainSettings = Omit<ClusterInput["workers"]["drain"], "deleteEmptyDirData"> & {
    deleteEmptyDirData: boolean;
    /** Whether the user wrote deleteEmptyDirData down: losing emptyDir data should be a conscious choice. */
    deleteEmptyDirDataExplicit: boolean;
};
export type WorkersConfig = Omit<ClusterInput["workers"], "drain"> & { drain: DrainSettings };
export type LkeSettings = NonNullable<ClusterInput["lke"]>;
export type EksSettings = NonNullable<ClusterInput["eks"]>;
export type KubeadmSettings = NonNullable<ClusterInput["kubeadm"]>;
export type AksSettings = NonNullable<ClusterInput["aks"]>;
export type GkeSettings = NonNullable<ClusterInput["gke"]>;
export type KubeadmNode = KubeadmSettings["controlPlaneNodes"][number];
type CapiInput = NonNullable<ClusterInput["capi-aws"]>;
export type CapiAwsSettings = Omit<CapiInput, "clusterName" | "controlPlane"> & {
    clusterName: string;
    controlPlane: Omit<CapiInput["controlPlane"], "name" | "maxSurge"> & { name: string; maxSurge: 0 | 1 };
};
export interface ClusterConfig {
    name: string;
    provider: ProviderName;
    /** Normalised ("1.31" or "1.31.4", no leading v). */
    kubernetesVersion: string;
    nodePools: NodePoolConfig[];
    workers: WorkersConfig;
    lke?: LkeSettings;
    eks?: EksSettings;
    kubeadm?: KubeadmSettings;
    capiAws?: CapiAwsSettings;
    aks?: AksSettings;
    gke?: GkeSettings;
    /** The cluster's own labels (set only when given), for rollout waves. */
    labels?: Record<string, string>;
    /** Provider IDs of a cluster that already runs: its first deployment adopts them instead of creating. */
    import?: AdoptionSettings;
}
export type AdoptionSettings = NonNullable<ClusterInput["import"]>;
export interface StackConfig {
    stack: string;
    clusters: ClusterConfig[];
    /** The waves, resolved (set only when k8s-upgrades:rollout is). */
    rollout?: Rollout;
    promotesFrom?: string;
    /** The user says this stack has never been deployed (required when no previous outputs can be read). */
    firstDeployment?: boolean;
}

function toClusterConfig(c: ClusterInput): ClusterConfig {
    const { drain, ...workerRest } = c.workers;
    const capi = c["capi-aws"];
    const clusterName = capi?.clusterName ?? c.name;
    return {
        name: c.name,
        provider: c.provider,
        kubernetesVersion: c.kubernetesVersion,
        nodePools: c.nodePools.map((p) => ({ ...p, kubernetesVersion: p.kubernetesVersion ?? c.kubernetesVersion })),
        workers: {
            ...workerRest,
            drain: {
                ...drain,
                deleteEmptyDirData: drain.deleteEmptyDirData ?? DEFAULT_DRAIN.deleteEmptyDirData,
                deleteEmptyDirDataExplicit: drain.deleteEmptyDirData !== undefined,
            },
        },
        ...(c.import ? { import: c.import } : {}),
        lke: c.lke,
        eks: c.eks,
        kubeadm: c.kubeadm,
        aks: c.aks,
        gke: c.gke,
        capiAws: capi && {
            ...capi,
            clusterName,
            controlPlane: {
                ...capi.controlPlane,
                name: capi.controlPlane.name ?? `${clusterName}-control-plane`,
                maxSurge: capi.controlPlane.maxSurge === 0 ? 0 : 1,
            },
        },
        ...(Object.keys(c.labels).length > 0 ? { labels: c.labels } : {}),
    };
}

// ---------------------------------------------------------------------------------------------------------------
// Rules across the fields of one cluster that need nothing but its config.

type Ctx = z.RefinementCtx;
function problem(ctx: Ctx, path: (string | number)[], input: unknown, allowed: string, hint?: string): void {
    ctx.addIssue({ code: "custom", path, input, message: JSON.stringify({ allowed, hint, given: input }) });
}

const POOL_TYPES: Partial<Record<ProviderName, [RegExp, string]>> = {
    lke: [r.LINODE_TYPE, "a Linode plan such as g6-standard-4"],
    eks: [r.EC2_TYPE, "an EC2 instance type such as m6i.large"],
    "capi-aws": [r.EC2_TYPE, "an EC2 instance type such as m6i.large"],
    aks: [r.AZURE_VM_SIZE, "an Azure VM size such as Standard_D4s_v5"],
    gke: [r.GCE_TYPE, "a Compute Engine machine type such as e2-standard-4"],
};

/** Zod runs this even when some fields failed (they are reported already): a value of the wrong shape is skipped. */
function crossCheckCluster(c: ClusterInput, ctx: Ctx): void {
    try {
        crossCheckShapedCluster(c, ctx);
    } catch {
        /* a field this rule reads has the wrong shape, and zod has said so */
    }
}

function crossCheckShapedCluster(c: ClusterInput, ctx: Ctx): void {
    checkProviderBlocks(c, ctx);
    checkPools(c, ctx);
    checkWorkers(c, ctx);
    if (c.kubeadm) checkKubeadm(c, c.kubeadm, ctx);
    checkCapiAndEks(c, ctx);
    checkAdoption(c, ctx);
    if (c.gke) {
        checkGke(c.gke, ctx);
        checkGkeZones(c, c.gke, ctx);
    }
    if (c.aks) checkAks(c, c.aks, ctx);
}

/** An auto-upgrade channel would move the cluster's version behind the program's back, between deployments. */
function checkAks(c: ClusterInput, a: NonNullable<ClusterInput["aks"]>, ctx: Ctx): void {
    const target = parseVersion(c.kubernetesVersion);
    if (target?.patch !== undefined)
        problem(
            ctx,
            ["kubernetesVersion"],
            c.kubernetesVersion,
            `a minor such as "${formatMinor(target)}"`,
            "AKS installs the newest patch of a minor when the cluster or a pool moves to it; this program moves minors only.",
        );
    const channel = a.autoUpgradeProfile.upgradeChannel;
    if (channel !== "none")
        problem(
            ctx,
            ["aks", "autoUpgradeProfile", "upgradeChannel"],
            channel,
            "none: the version is the one in kubernetesVersion, and changes only when the config does",
            `AKS's ${channel} channel upgrades the cluster on its own schedule, without the pre-flight, the drains or the validation. Set upgradeChannel: none (or leave it out) and upgrade by changing kubernetesVersion; nodeOSUpgradeChannel may stay, as it moves node images, not Kubernetes versions.`,
        );
}

/** Adoption is carried out for LKE and EKS; its pools must be pools the cluster declares. */
function checkAdoption(c: ClusterInput, ctx: Ctx): void {
    if (!c.import) return;
    if (c.provider !== "lke" && c.provider !== "eks")
        problem(
            ctx,
            ["import"],
            c.import,
            "import only for lke and eks clusters",
            "Remove it: kubeadm and Cluster API clusters are not created by this program, so they need no adoption.",
        );
    const names = c.nodePools.map((p) => p.name);
    for (const pool of Object.keys(c.import.pools).filter((k) => !names.includes(k)))
        problem(
            ctx,
            ["import", "pools"],
            pool,
            `a pool named in nodePools (${names.join(", ")})`,
            "Name each pool as nodePools does, or add the pool to nodePools with its running type and count.",
        );
    if (c.provider === "eks")
        for (const key of ["clusterRoleArn", "nodeRoleArn"] as const)
            if (!c.eks?.[key])
                problem(
                    ctx,
                    ["eks", key],
                    undefined,
                    `the ARN of the role the adopted cluster uses, when import is set`,
                    "aws eks describe-cluster (roleArn) and describe-nodegroup (nodeRole) show them; a new role would differ from what runs.",
                );
    if (c.provider === "lke" && !/^\d+$/.test(c.import.cluster))
        problem(ctx, ["import", "cluster"], c.import.cluster, "a numeric LKE cluster id such as 12345");
    // The program writes each pool's import ID in its provider's form: LKE `<cluster>,<pool>` from the two ids,
    // EKS `<cluster>:<node group>` as given.
    for (const [pool, id] of Object.entries(c.import.pools)) {
        // An id the field's own pattern refused already has its line; one problem, one line.
        if (c.provider === "lke" && IMPORT_ID.test(id) && !/^\d+$/.test(id))
            problem(
                ctx,
                ["import", "pools", pool],
                id,
                "a numeric LKE pool id such as 67890",
                "linode-cli lke pools-list <cluster id> shows it; the program imports it as <cluster id>,<pool id>.",
            );
        if (c.provider === "eks" && !id.startsWith(`${c.import.cluster}:`))
            problem(
                ctx,
                ["import", "pools", pool],
                id,
                `<cluster>:<node group>, the cluster being ${c.import.cluster}`,
                `aws eks list-nodegroups --cluster-name ${c.import.cluster} shows the node groups; write ${c.import.cluster}:<node group>.`,
            );
    }
}

function checkProviderBlocks(c: ClusterInput, ctx: Ctx): void {
    const block = c.provider;
    if (c[block] === undefined)
        problem(
            ctx,
            [block],
            undefined,
            `settings under ${block}:, which every ${c.provider} cluster needs`,
            "Add it; see the config reference in docs/config.md.",
        );
    for (const other of PROVIDERS.filter((p) => p !== block && c[p] !== undefined))
        problem(
            ctx,
            [other],
            c[other],
            `only the settings of the cluster's provider (${c.provider})`,
            `Remove the ${other}: block, or change provider.`,
        );
    if (
        (c.provider === "kubeadm" || c.provider === "capi-aws") &&
        parseVersion(c.kubernetesVersion)?.patch === undefined
    )
        problem(
            ctx,
            ["kubernetesVersion"],
            c.kubernetesVersion,
            `a full patch version such as "${c.kubernetesVersion}.4"`,
            c.provider === "kubeadm"
                ? "kubeadm installs exact package versions."
                : "Cluster API machines run an exact version, built into their AMI.",
        );
}

function checkWorkers(c: ClusterInput, ctx: Ctx): void {
    const d = c.workers.drain;
    if (d.gracePeriodSeconds !== undefined && d.gracePeriodSeconds > d.timeoutSeconds)
        problem(
            ctx,
            ["workers", "drain", "gracePeriodSeconds"],
            d.gracePeriodSeconds,
            `at most drain.timeoutSeconds (${d.timeoutSeconds})`,
            "A pod's grace period must fit inside the drain timeout.",
        );
    if (c.workers.retainPreviousPool && c.workers.strategy !== "blue-green")
        problem(
            ctx,
            ["workers", "retainPreviousPool"],
            true,
            "true only with strategy blue-green",
            "Only blue-green has a previous pool to keep.",
        );
}

function checkCapiAndEks(c: ClusterInput, ctx: Ctx): void {
    if (c.eks?.maxUnavailable !== undefined && c.eks.maxUnavailablePercentage !== undefined)
        problem(
            ctx,
            ["eks", "maxUnavailablePercentage"],
            c.eks.maxUnavailablePercentage,
            "maxUnavailable or maxUnavailablePercentage, not both",
            "EKS takes one of the two.",
        );
    const capi = c["capi-aws"];
    if (capi) {
        if (capi.controlPlane.replicas % 2 === 0)
            problem(
                ctx,
                ["capi-aws", "controlPlane", "replicas"],
                capi.controlPlane.replicas,
                "an odd number (etcd quorum)",
                "Use 1, 3 or 5.",
            );
        if (capi.maxSurge === 0 && capi.maxUnavailable === 0)
            problem(
                ctx,
                ["capi-aws", "maxUnavailable"],
                0,
                "at least 1 when maxSurge is 0",
                "A rolling update needs room to surge or to take a machine down.",
            );
    }
}

function checkPools(c: ClusterInput, ctx: Ctx): void {
    const seen = new Set<string>();
    const cp = parseVersion(c.kubernetesVersion);
    c.nodePools.forEach((p, i) => {
        if (seen.has(p.name))
            problem(
                ctx,
                ["nodePools", i, "name"],
                p.name,
                "a name no other pool of this cluster has",
                "Rename one of the two pools.",
            );
        seen.add(p.name);
        const typeRule = POOL_TYPES[c.provider];
        if (typeRule && !typeRule[0].test(p.type))
            problem(
                ctx,
                ["nodePools", i, "type"],
                p.type,
                typeRule[1],
                `Pools of ${c.provider} clusters run on these machine types.`,
            );
        if (p.autoscaler) {
            const { min, max } = p.autoscaler;
            if (min > max)
                problem(
                    ctx,
                    ["nodePools", i, "autoscaler"],
                    p.autoscaler,
                    "min at most max",
                    `Swap them, or raise max to at least ${min}.`,
                );
            else if (p.count < min || p.count > max)
                problem(
                    ctx,
                    ["nodePools", i, "count"],
                    p.count,
                    `a count between autoscaler.min ${min} and autoscaler.max ${max}`,
                    "Change the count or the autoscaler range.",
                );
        }
        const pool = parseVersion(p.kubernetesVersion);
        if (pool && cp && p.kubernetesVersion !== undefined) {
            const skew = kubeletSkew(cp, pool);
            if (!skew.ok)
                problem(
                    ctx,
                    ["nodePools", i, "kubernetesVersion"],
                    p.kubernetesVersion,
                    `a version from the kubelet window of the control plane ${formatMinor(cp)}: not newer than it, and at most three minors older (two below 1.25)`,
                    compareMinor(pool, cp) > 0
                        ? "Raise the cluster's kubernetesVersion first; workers follow the control plane."
                        : `${skew.reason}. Upgrade this pool before moving the control plane further.`,
                );
        }
    });
}

function checkKubeadm(c: ClusterInput, k: KubeadmSettings, ctx: Ctx): void {
    const names = [...k.controlPlaneNodes, ...k.workerNodes].map((n) => n.name);
    const dupe = names.find((n, i) => names.indexOf(n) !== i);
    if (dupe)
        problem(
            ctx,
            ["kubeadm", "workerNodes"],
            dupe,
            "each node listed once",
            "Remove the second entry of this node.",
        );
    const poolNames = c.nodePools.map((p) => p.name);
    k.workerNodes.forEach((w, i) => {
        if (w.pool !== undefined && !poolNames.includes(w.pool))
            problem(
                ctx,
                ["kubeadm", "workerNodes", i, "pool"],
                w.pool,
                `one of the nodePools: ${poolNames.join(", ")}`,
                didYouMean(w.pool, poolNames) ?? "Add the pool to nodePools, or fix the name.",
            );
    });
    c.nodePools.forEach((p, i) => {
        const listed = k.workerNodes.filter((w) => (w.pool ?? poolNames[0]) === p.name).length;
        if (listed !== p.count)
            problem(
                ctx,
                ["nodePools", i, "count"],
                p.count,
                `${listed}, the number of workerNodes in pool ${p.name}`,
                "kubeadm upgrades the machines you list; the count must match them.",
            );
    });
}

// GKE: Google moves a cluster on a release channel, and a pool with auto-upgrade, on its own schedule; and
// upgradeSettings take either the surge numbers or the blue-green settings, as the GKE API does.
function checkGke(g: GkeSettings, ctx: Ctx): void {
    if (g.releaseChannel !== "UNSPECIFIED")
        problem(
            ctx,
            ["gke", "releaseChannel"],
            g.releaseChannel,
            "UNSPECIFIED",
            "On a release channel GKE upgrades the control plane and every pool itself, behind the program's back. Set gke.releaseChannel: UNSPECIFIED (GKE allows leaving a channel only at a version the no-channel option offers) and upgrade by changing kubernetesVersion.",
        );
    if (g.nodeAutoUpgrade)
        problem(
            ctx,
            ["gke", "nodeAutoUpgrade"],
            true,
            "false",
            "With node auto-upgrade GKE moves pools on its own schedule, undrained by this program. Remove the key (false is the default) and upgrade pools by changing kubernetesVersion.",
        );
    if (g.upgradeSettings.strategy === "SURGE") checkGkeSurge(g.upgradeSettings, ctx);
    else checkGkeBlueGreen(g.upgradeSettings, ctx);
}

type GkeUpgradeSettings = GkeSettings["upgradeSettings"];
const GKE_UPGRADE_SETTINGS = ["gke", "upgradeSettings"];

/** SURGE: no blue-green settings, and room to surge or to take a node down. */
function checkGkeSurge(u: GkeUpgradeSettings, ctx: Ctx): void {
    if (u.blueGreenSettings !== undefined)
        problem(
            ctx,
            [...GKE_UPGRADE_SETTINGS, "blueGreenSettings"],
            u.blueGreenSettings,
            "no blueGreenSettings with strategy SURGE",
            "Set strategy: BLUE_GREEN to use them, or remove them.",
        );
    // Both at 0, not a sum of 0: a number out of range has its own refusal and must not read as "no room".
    if ((u.maxSurge ?? 1) === 0 && (u.maxUnavailable ?? 0) === 0)
        problem(
            ctx,
            [...GKE_UPGRADE_SETTINGS, "maxSurge"],
            u.maxSurge,
            "maxSurge or maxUnavailable above 0",
            "GKE needs room to surge (maxSurge: 1) or to take a node down; maxSurge: 1 keeps capacity.",
        );
}

/** BLUE_GREEN: no surge numbers, one way to size the batches, and soaks within GKE's 7 days. */
function checkGkeBlueGreen(u: GkeUpgradeSettings, ctx: Ctx): void {
    for (const key of ["maxSurge", "maxUnavailable"] as const)
        if (u[key] !== undefined)
            problem(
                ctx,
                [...GKE_UPGRADE_SETTINGS, key],
                u[key],
                `no ${key} with strategy BLUE_GREEN`,
                "Blue-green batches are set in blueGreenSettings.standardRolloutPolicy.",
            );
    const policy = u.blueGreenSettings?.standardRolloutPolicy;
    if (!policy || (policy.batchNodeCount === undefined) === (policy.batchPercentage === undefined))
        problem(
            ctx,
            [...GKE_UPGRADE_SETTINGS, "blueGreenSettings", "standardRolloutPolicy"],
            policy,
            "exactly one of batchNodeCount or batchPercentage",
            "Say how many blue nodes GKE drains at a time: batchNodeCount: 1, or batchPercentage: 0.25.",
        );
    const soaks = [
        ["nodePoolSoakDuration", u.blueGreenSettings?.nodePoolSoakDuration],
        ["standardRolloutPolicy.batchSoakDuration", policy?.batchSoakDuration],
    ] as const;
    for (const [key, value] of soaks)
        if (value !== undefined && Number.parseInt(value, 10) > GKE_MAX_SOAK_SECONDS)
            problem(
                ctx,
                [...GKE_UPGRADE_SETTINGS, "blueGreenSettings", ...key.split(".")],
                value,
                'at most "604800s" (7 days)',
                "GKE keeps a blue pool at most 7 days.",
            );
}

// GKE counts a pool's nodes per zone; config counts them in total, so the zones must be known and divide the count.
function checkGkeZones(c: ClusterInput, g: GkeSettings, ctx: Ctx): void {
    const regional = !r.GCP_ZONE.test(g.location);
    if (regional && g.nodeLocations.length === 0) {
        problem(
            ctx,
            ["gke", "nodeLocations"],
            undefined,
            `the zones of ${g.location} the pools run in, e.g. [${g.location}-a, ${g.location}-b]`,
            "GKE counts nodes per zone: with the zones listed, each pool's count is the exact total.",
        );
        return;
    }
    for (const [i, zone] of g.nodeLocations.entries())
        if (regional ? !zone.startsWith(`${g.location}-`) : !zone.startsWith(g.location.replace(/-[a-z]$/, "-")))
            problem(
                ctx,
                ["gke", "nodeLocations", i],
                zone,
                `a zone of ${g.location}`,
                "Pools run in the cluster's region.",
            );
    const zones = Math.max(g.nodeLocations.length, 1);
    c.nodePools.forEach((p, i) => {
        for (const [key, n] of [
            ["count", p.count],
            ["autoscaler", p.autoscaler?.min],
            ["autoscaler", p.autoscaler?.max],
        ] as const)
            if (n !== undefined && n % zones !== 0)
                problem(
                    ctx,
                    ["nodePools", i, key],
                    key === "count" ? n : p.autoscaler,
                    `a multiple of ${zones}, the number of gke.nodeLocations`,
                    "GKE runs the same number of nodes in each zone of a pool.",
                );
    });
}
