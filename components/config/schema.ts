// The stack config as one schema. It gives the runtime validation (messages say what is allowed and what to do),
// the TypeScript types the rest of the program uses, and the JSON Schema editors complete stack files with.
// Cross-field rules that need what runs now (one minor at a time, promotion, node-group lag) live in the planner.
import { z } from "zod";
import { compareMinor, formatMinor, formatVersion, kubeletSkew, parseVersion } from "../versions";
import { didYouMean } from "./issues";
import * as r from "./rules";

export const PROVIDERS = ["lke", "eks", "kubeadm", "capi-aws"] as const;
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

const labels = z
    .record(
        z.string().max(317, says(r.QUALIFIED_NAME_RULE)).regex(r.QUALIFIED_NAME, says(r.QUALIFIED_NAME_RULE)),
        text(r.LABEL_VALUE, r.LABEL_VALUE_RULE, "Quote values YAML would read as numbers or booleans.", 63),
        says("a map of label names to string values"),
    )
    .prefault({});

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
        type: text(r.MACHINE_TYPE, "a machine type such as g6-standard-4 (LKE) or m6i.large (EKS)", undefined, 63),
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
                    /^[A-Za-z0-9][\w.:-]{0,254}$/,
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
        provider: oneOf(PROVIDERS).meta({ description: "Who runs the cluster: lke, eks, kubeadm or capi-aws." }),
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
        import: adoption.optional().meta({
            description: "Adopt a cluster that already runs (lke, eks): the provider IDs of the cluster and its pools.",
        }),
    },
    "a map with name, provider, kubernetesVersion, nodePools and workers",
);

export type ClusterInput = z.output<typeof clusterInput>;
export const clusterSchema = clusterInput.superRefine(crossCheckCluster).transform(toClusterConfig);

export const stackInput = strict(
    {
        clusters: z
            .array(
                clusterSchema,
                says("a non-empty list of clusters", "Add at least one cluster; see the README's config reference."),
            )
            .min(
                1,
                says("a non-empty list of clusters", "Add at least one cluster; see the README's config reference."),
            ),
        promotesFrom: z
            .string(says("a stack name"))
            .max(100, says("a stack name"))
            .optional()
            .meta({ description: "The stack whose running versions bound this stack's targets." }),
        firstDeployment: bool().optional().meta({
            description: "true only for a stack never deployed: required when no previous outputs can be read.",
        }),
    },
    "the keys clusters, promotesFrom and firstDeployment",
);

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
    /** Provider IDs of a cluster that already runs: its first deployment adopts them instead of creating. */
    import?: AdoptionSettings;
}
export type AdoptionSettings = NonNullable<ClusterInput["import"]>;
export interface StackConfig {
    stack: string;
    clusters: ClusterConfig[];
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
        capiAws: capi && {
            ...capi,
            clusterName,
            controlPlane: {
                ...capi.controlPlane,
                name: capi.controlPlane.name ?? `${clusterName}-control-plane`,
                maxSurge: capi.controlPlane.maxSurge === 0 ? 0 : 1,
            },
        },
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
}

function checkProviderBlocks(c: ClusterInput, ctx: Ctx): void {
    const block = c.provider;
    if (c[block] === undefined)
        problem(
            ctx,
            [block],
            undefined,
            `settings under ${block}:, which every ${c.provider} cluster needs`,
            "Add it; see the README's config reference.",
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
