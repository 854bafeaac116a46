// Stack config: the user's whole interface. Validated in full, every problem reported at once,
// before any resource is registered. Pure: no Pulumi here, so the policy pack and tools reuse it.
import { closest, distance } from "fastest-levenshtein";
import { compareMinor, formatMinor, formatVersion, kubeletSkew, parseVersion } from "./versions";

export const PROVIDERS = ["lke", "eks", "kubeadm", "capi-aws"] as const;
export type ProviderName = (typeof PROVIDERS)[number];

export const STRATEGIES = ["blue-green", "in-place", "recycle"] as const;
export type Strategy = (typeof STRATEGIES)[number];

export const TAINT_EFFECTS = ["NoSchedule", "PreferNoSchedule", "NoExecute"] as const;

export interface Autoscaler {
    min: number;
    max: number;
}
export interface Taint {
    key: string;
    value: string;
    effect: (typeof TAINT_EFFECTS)[number];
}

export interface NodePoolConfig {
    name: string;
    count: number;
    /** Machine type: a Linode plan, an EC2 instance type, ... */
    type: string;
    autoscaler?: Autoscaler;
    labels: Record<string, string>;
    taints: Taint[];
    /** Normalised; defaults to the cluster's. */
    kubernetesVersion: string;
}

export interface DrainSettings {
    /** Overrides every pod's terminationGracePeriodSeconds during drains; unset keeps each pod's own. */
    gracePeriodSeconds?: number;
    timeoutSeconds: number;
    batchSize: number;
    soakSeconds: number;
    deleteEmptyDirData: boolean;
    /** Whether the user wrote deleteEmptyDirData down: losing emptyDir data should be a conscious choice. */
    deleteEmptyDirDataExplicit: boolean;
}

export interface WorkersConfig {
    strategy: Strategy;
    drain: DrainSettings;
    /** Blue-green: keep the drained, cordoned old pool until the next deployment, as a fallback. */
    retainPreviousPool: boolean;
    /** How long a new node may take to become Ready. */
    readyTimeoutSeconds: number;
}

export interface LkeSettings {
    region: string;
    tags: string[];
    highAvailability: boolean;
    /** The inline pool LKE requires: small, tainted, carries no workloads. */
    anchorPool: { type: string; count: number };
}

export const EKS_ADDONS = ["vpc-cni", "coredns", "kube-proxy"] as const;
export const EKS_UPDATE_STRATEGIES = ["DEFAULT", "MINIMAL"] as const;

export interface EksSettings {
    /** Defaults to the aws:region config. */
    region?: string;
    /** Existing subnets (at least two, in different availability zones). */
    subnetIds: string[];
    securityGroupIds: string[];
    /** Existing IAM roles; created when not given. */
    clusterRoleArn?: string;
    nodeRoleArn?: string;
    endpointPublicAccess: boolean;
    endpointPrivateAccess: boolean;
    /** Pinned add-on versions; otherwise the most recent compatible with the target. */
    addonVersions: Partial<Record<(typeof EKS_ADDONS)[number], string>>;
    /** The managed rolling update (in-place): one of the two, default maxUnavailable 1. */
    maxUnavailable?: number;
    maxUnavailablePercentage?: number;
    updateStrategy: (typeof EKS_UPDATE_STRATEGIES)[number];
    /** Evict even when PodDisruptionBudgets block (EKS otherwise fails the update after 15 minutes). */
    forceUpdateVersion: boolean;
    tags: Record<string, string>;
}

export const PACKAGE_MANAGERS = ["apt", "dnf", "yum"] as const;

export interface KubeadmNode {
    name: string;
    host: string;
    pool?: string;
}

export interface KubeadmSettings {
    /** Control plane nodes in upgrade order: the first runs `kubeadm upgrade apply`. */
    controlPlaneNodes: KubeadmNode[];
    /** Worker nodes, each in a pool (the first pool when not said). */
    workerNodes: KubeadmNode[];
    ssh: { user: string; port: number; privateKeySecret: string };
    /** The secret config key holding an admin kubeconfig, for the local kubectl steps. */
    kubeconfigSecret: string;
    packageManager: (typeof PACKAGE_MANAGERS)[number];
    /** Workers upgraded at once. */
    workersAtOnce: number;
    /** Run locally with the kubeconfig after the control plane, e.g. `kubectl apply -f calico.yaml`. */
    cniUpgradeCommand?: string;
    etcd: { external: boolean; snapshotDir: string };
}

export interface CapiAwsSettings {
    namespace: string;
    /** The Cluster API Cluster's name in the management cluster. */
    clusterName: string;
    /** The secret config key holding the management cluster's kubeconfig. */
    managementKubeconfigSecret: string;
    region?: string;
    controlPlane: { name: string; replicas: number; maxSurge: 0 | 1; instanceType: string };
    /** AMIs per Kubernetes version ("1.31.4": "ami-…"); else looked up by the image's kubernetes_version tag. */
    amis: Record<string, string>;
    amiLookup?: { owners: string[]; namePattern?: string };
    iamInstanceProfile: string;
    controlPlaneIamInstanceProfile: string;
    sshKeyName?: string;
    /** MachineDeployment rolling update. */
    maxSurge: number;
    maxUnavailable: number;
}

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
}

export interface StackConfig {
    stack: string;
    clusters: ClusterConfig[];
    promotesFrom?: string;
}

/** One thing wrong with the config, said so a user can fix it. */
export interface ConfigIssue {
    stack: string;
    cluster?: string;
    field: string;
    given: unknown;
    allowed: string;
    hint?: string;
}

export function formatIssue(i: ConfigIssue): string {
    const where = `stack "${i.stack}"${i.cluster !== undefined ? `, cluster "${i.cluster}"` : ""}, field ${i.field}`;
    const given = i.given === undefined ? "nothing" : JSON.stringify(i.given);
    return `${where}: given ${given}; allowed: ${i.allowed}.${i.hint ? ` ${i.hint}` : ""}`;
}

/** Thrown when config or the upgrade it asks for is refused; carries every issue at once. */
export class ConfigError extends Error {
    constructor(readonly issues: ConfigIssue[]) {
        super(
            `k8s-upgrades refused the stack config (${issues.length} problem${issues.length === 1 ? "" : "s"}); nothing was changed:\n` +
                issues.map((i) => `  - ${formatIssue(i)}`).join("\n"),
        );
        this.name = "ConfigError";
    }
}

export const DEFAULT_DRAIN: Omit<DrainSettings, "deleteEmptyDirDataExplicit"> = {
    gracePeriodSeconds: undefined,
    timeoutSeconds: 900,
    batchSize: 1,
    soakSeconds: 30,
    deleteEmptyDirData: false,
};
export const DEFAULT_READY_TIMEOUT_SECONDS = 1200;
export const DEFAULT_LKE_ANCHOR_POOL = { type: "g6-standard-1", count: 1 };

const NAME_PATTERN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const NAME_RULE =
    "lower-case letters, digits and '-', starting and ending with a letter or digit, at most 24 characters";
const STACK_KEYS = ["clusters", "promotesFrom"];
const KUBEADM_KEYS = [
    "controlPlaneNodes",
    "workerNodes",
    "ssh",
    "kubeconfigSecret",
    "packageManager",
    "workersAtOnce",
    "cniUpgradeCommand",
    "etcd",
];
const CLUSTER_KEYS = ["name", "provider", "kubernetesVersion", "nodePools", "workers", ...PROVIDERS];
const POOL_KEYS = ["name", "count", "type", "autoscaler", "labels", "taints", "kubernetesVersion"];
const WORKERS_KEYS = ["strategy", "drain", "retainPreviousPool", "readyTimeoutSeconds"];
const DRAIN_KEYS = ["gracePeriodSeconds", "timeoutSeconds", "batchSize", "soakSeconds", "deleteEmptyDirData"];
const LKE_KEYS = ["region", "tags", "highAvailability", "anchorPool"];
const EKS_KEYS = [
    "region",
    "subnetIds",
    "securityGroupIds",
    "clusterRoleArn",
    "nodeRoleArn",
    "endpointPublicAccess",
    "endpointPrivateAccess",
    "addonVersions",
    "maxUnavailable",
    "maxUnavailablePercentage",
    "updateStrategy",
    "forceUpdateVersion",
    "tags",
];

/** "did you mean" for a misspelt word among the allowed ones, when one is close enough. */
export function suggest(given: string, allowed: readonly string[]): string | undefined {
    if (allowed.length === 0) return undefined;
    const best = closest(given, allowed as string[]);
    const limit = Math.max(2, Math.floor(best.length / 3));
    return distance(given.toLowerCase(), best.toLowerCase()) <= limit ? best : undefined;
}

function isObject(x: unknown): x is Record<string, unknown> {
    return typeof x === "object" && x !== null && !Array.isArray(x);
}

function isWholeNumber(x: unknown): x is number {
    return typeof x === "number" && Number.isInteger(x);
}

/** Collects issues for one place in the config. */
class Checker {
    readonly issues: ConfigIssue[] = [];
    constructor(readonly stack: string) {}

    add(cluster: string | undefined, field: string, given: unknown, allowed: string, hint?: string): void {
        this.issues.push({ stack: this.stack, cluster, field, given, allowed, hint });
    }

    unknownKeys(
        cluster: string | undefined,
        prefix: string,
        obj: Record<string, unknown>,
        known: readonly string[],
    ): void {
        for (const key of Object.keys(obj)) {
            if (known.includes(key)) continue;
            const guess = suggest(key, known);
            this.add(
                cluster,
                `${prefix}${key}`,
                obj[key],
                `one of the keys ${known.join(", ")}`,
                guess ? `Did you mean "${guess}"?` : "Remove it, or check the config reference in the README.",
            );
        }
    }

    oneOf<T extends string>(
        cluster: string | undefined,
        field: string,
        given: unknown,
        allowed: readonly T[],
        fallback?: T,
    ): T | undefined {
        if (given === undefined && fallback !== undefined) return fallback;
        if (typeof given === "string" && (allowed as readonly string[]).includes(given)) return given as T;
        const guess = typeof given === "string" ? suggest(given, allowed) : undefined;
        this.add(cluster, field, given, `one of ${allowed.join(", ")}`, guess ? `Did you mean "${guess}"?` : undefined);
        return undefined;
    }

    wholeNumber(
        cluster: string | undefined,
        field: string,
        given: unknown,
        min: number,
        fallback?: number,
    ): number | undefined {
        if (given === undefined && fallback !== undefined) return fallback;
        if (isWholeNumber(given) && given >= min) return given;
        this.add(cluster, field, given, `a whole number of at least ${min}`);
        return undefined;
    }

    bool(cluster: string | undefined, field: string, given: unknown, fallback: boolean): boolean {
        if (given === undefined) return fallback;
        if (typeof given === "boolean") return given;
        this.add(cluster, field, given, "true or false");
        return fallback;
    }

    text(cluster: string | undefined, field: string, given: unknown, fallback?: string): string | undefined {
        if (given === undefined && fallback !== undefined) return fallback;
        if (typeof given === "string" && given.trim() !== "") return given;
        this.add(cluster, field, given, "a non-empty string");
        return undefined;
    }

    version(cluster: string | undefined, field: string, given: unknown): string | undefined {
        const parsed = parseVersion(given);
        if (parsed && parsed.major === 1) return formatVersion(parsed);
        this.add(
            cluster,
            field,
            given,
            `a Kubernetes version such as "1.31" or "1.31.4" (a leading v is accepted)`,
            typeof given === "number" ? `YAML read it as a number; quote it: "${given}".` : undefined,
        );
        return undefined;
    }
}

/**
 * Validates the raw `k8s-upgrades:*` config of one stack. Throws a ConfigError listing every problem.
 * `raw` holds the namespace's keys without the prefix: { clusters, promotesFrom }.
 */
export function parseStackConfig(stack: string, raw: Record<string, unknown>): StackConfig {
    const c = new Checker(stack);
    // Secret keys that kubeadm clusters name (SSH keys, kubeconfigs) live beside clusters in the namespace.
    const referenced = (Array.isArray(raw.clusters) ? raw.clusters : [])
        .flatMap((cl) => {
            const k = isObject(cl) && isObject(cl.kubeadm) ? cl.kubeadm : undefined;
            if (!k) return [];
            const ssh = isObject(k.ssh) ? k.ssh : {};
            return [String(ssh.privateKeySecret ?? "sshPrivateKey"), String(k.kubeconfigSecret ?? "kubeconfig")];
        })
        .concat(
            (Array.isArray(raw.clusters) ? raw.clusters : []).flatMap((cl) => {
                const k = isObject(cl) && isObject(cl["capi-aws"]) ? cl["capi-aws"] : undefined;
                return k ? [String(k.managementKubeconfigSecret ?? "managementKubeconfig")] : [];
            }),
        );
    c.unknownKeys(undefined, "k8s-upgrades:", raw, [...STACK_KEYS, ...referenced]);

    let promotesFrom: string | undefined;
    if (raw.promotesFrom !== undefined && raw.promotesFrom !== "") {
        promotesFrom = c.text(undefined, "k8s-upgrades:promotesFrom", raw.promotesFrom);
        if (promotesFrom === stack)
            c.add(
                undefined,
                "k8s-upgrades:promotesFrom",
                promotesFrom,
                "another stack's name",
                "A stack cannot promote from itself.",
            );
    }

    const clusters: ClusterConfig[] = [];
    if (!Array.isArray(raw.clusters) || raw.clusters.length === 0) {
        c.add(
            undefined,
            "k8s-upgrades:clusters",
            raw.clusters,
            "a non-empty list of clusters",
            "Add at least one cluster; see Pulumi.dev.yaml for an example.",
        );
    } else {
        const seen = new Set<string>();
        raw.clusters.forEach((entry, index) => {
            const cluster = parseCluster(c, entry, index);
            if (!cluster) return;
            if (seen.has(cluster.name)) {
                c.add(
                    cluster.name,
                    `clusters[${index}].name`,
                    cluster.name,
                    "a name no other cluster in this stack has",
                    "Rename one of the two clusters.",
                );
            }
            seen.add(cluster.name);
            clusters.push(cluster);
        });
    }
    if (c.issues.length > 0) throw new ConfigError(c.issues);
    return { stack, clusters, promotesFrom };
}

function parseCluster(c: Checker, entry: unknown, index: number): ClusterConfig | undefined {
    const at = `clusters[${index}]`;
    if (!isObject(entry)) {
        c.add(undefined, at, entry, "a map with name, provider, kubernetesVersion, nodePools and workers");
        return undefined;
    }
    const name = typeof entry.name === "string" && entry.name !== "" ? entry.name : `#${index}`;
    const before = c.issues.length;
    c.unknownKeys(name, `${at}.`, entry, CLUSTER_KEYS);
    if (typeof entry.name !== "string" || !NAME_PATTERN.test(entry.name) || entry.name.length > 24) {
        c.add(name, `${at}.name`, entry.name, NAME_RULE, "It is used in resource names and cloud labels.");
    }
    const provider = c.oneOf(name, `${at}.provider`, entry.provider, PROVIDERS);
    const version = c.version(name, `${at}.kubernetesVersion`, entry.kubernetesVersion);

    const pools: NodePoolConfig[] = [];
    if (!Array.isArray(entry.nodePools) || entry.nodePools.length === 0) {
        c.add(
            name,
            `${at}.nodePools`,
            entry.nodePools,
            "a non-empty list of node pools",
            "Every cluster needs worker capacity to upgrade.",
        );
    } else {
        const seen = new Set<string>();
        entry.nodePools.forEach((p, i) => {
            const pool = parsePool(c, name, `${at}.nodePools[${i}]`, p, version);
            if (!pool) return;
            if (seen.has(pool.name))
                c.add(
                    name,
                    `${at}.nodePools[${i}].name`,
                    pool.name,
                    "a name no other pool of this cluster has",
                    "Rename one of the two pools.",
                );
            seen.add(pool.name);
            pools.push(pool);
        });
    }

    const workers = parseWorkers(c, name, `${at}.workers`, entry.workers);
    const lke = provider === "lke" ? parseLke(c, name, `${at}.lke`, entry.lke) : undefined;
    const eks = provider === "eks" ? parseEks(c, name, `${at}.eks`, entry.eks) : undefined;
    const kubeadm =
        provider === "kubeadm" ? parseKubeadm(c, name, `${at}.kubeadm`, entry.kubeadm, pools, version) : undefined;
    const capiAws =
        provider === "capi-aws" ? parseCapiAws(c, name, at, entry["capi-aws"], version, entry.name) : undefined;
    if (c.issues.length > before || !provider || !version || !workers) return undefined;
    return {
        name: entry.name as string,
        provider,
        kubernetesVersion: version,
        nodePools: pools,
        workers,
        lke,
        eks,
        kubeadm,
        capiAws,
    };
}

function parsePool(
    c: Checker,
    cluster: string,
    at: string,
    entry: unknown,
    clusterVersion: string | undefined,
): NodePoolConfig | undefined {
    if (!isObject(entry)) {
        c.add(cluster, at, entry, "a map with name, count and type");
        return undefined;
    }
    const before = c.issues.length;
    c.unknownKeys(cluster, `${at}.`, entry, POOL_KEYS);
    if (typeof entry.name !== "string" || !NAME_PATTERN.test(entry.name) || entry.name.length > 24) {
        c.add(cluster, `${at}.name`, entry.name, NAME_RULE);
    }
    const count = c.wholeNumber(cluster, `${at}.count`, entry.count, 1);
    const type = c.text(cluster, `${at}.type`, entry.type);

    let autoscaler: Autoscaler | undefined;
    if (entry.autoscaler !== undefined) {
        if (!isObject(entry.autoscaler)) {
            c.add(cluster, `${at}.autoscaler`, entry.autoscaler, "a map with min and max");
        } else {
            c.unknownKeys(cluster, `${at}.autoscaler.`, entry.autoscaler, ["min", "max"]);
            const min = c.wholeNumber(cluster, `${at}.autoscaler.min`, entry.autoscaler.min, 1);
            const max = c.wholeNumber(cluster, `${at}.autoscaler.max`, entry.autoscaler.max, 1);
            if (min !== undefined && max !== undefined) {
                if (min > max) {
                    c.add(
                        cluster,
                        `${at}.autoscaler`,
                        entry.autoscaler,
                        "min at most max",
                        `Swap them, or raise max to at least ${min}.`,
                    );
                } else if (count !== undefined && (count < min || count > max)) {
                    c.add(
                        cluster,
                        `${at}.count`,
                        count,
                        `a count between autoscaler.min ${min} and autoscaler.max ${max}`,
                    );
                }
                autoscaler = { min, max };
            }
        }
    }

    const labels: Record<string, string> = {};
    if (entry.labels !== undefined) {
        if (!isObject(entry.labels) || Object.values(entry.labels).some((x) => typeof x !== "string")) {
            c.add(cluster, `${at}.labels`, entry.labels, "a map of label names to string values");
        } else Object.assign(labels, entry.labels);
    }

    const taints: Taint[] = [];
    if (entry.taints !== undefined) {
        if (!Array.isArray(entry.taints))
            c.add(cluster, `${at}.taints`, entry.taints, "a list of {key, value, effect}");
        else
            entry.taints.forEach((t, i) => {
                if (!isObject(t)) {
                    c.add(cluster, `${at}.taints[${i}]`, t, "a map with key, value and effect");
                    return;
                }
                c.unknownKeys(cluster, `${at}.taints[${i}].`, t, ["key", "value", "effect"]);
                const key = c.text(cluster, `${at}.taints[${i}].key`, t.key);
                const effect = c.oneOf(cluster, `${at}.taints[${i}].effect`, t.effect, TAINT_EFFECTS);
                const value = t.value === undefined ? "" : typeof t.value === "string" ? t.value : undefined;
                if (value === undefined) c.add(cluster, `${at}.taints[${i}].value`, t.value, "a string");
                if (key && effect && value !== undefined) taints.push({ key, value, effect });
            });
    }

    let version = clusterVersion;
    if (entry.kubernetesVersion !== undefined) {
        version = c.version(cluster, `${at}.kubernetesVersion`, entry.kubernetesVersion);
        const pool = parseVersion(version);
        const cp = parseVersion(clusterVersion);
        if (pool && cp) {
            const skew = kubeletSkew(cp, pool);
            if (!skew.ok) {
                const newer = compareMinor(pool, cp) > 0;
                c.add(
                    cluster,
                    `${at}.kubernetesVersion`,
                    entry.kubernetesVersion,
                    `a version from the kubelet window of the control plane ${formatMinor(cp)}: not newer than it, and at most three minors older (two below 1.25)`,
                    newer
                        ? "Raise the cluster's kubernetesVersion first; workers follow the control plane."
                        : `${skew.reason}. Upgrade this pool before moving the control plane further.`,
                );
            }
        }
    }
    if (c.issues.length > before || count === undefined || type === undefined || version === undefined)
        return undefined;
    return { name: entry.name as string, count, type, autoscaler, labels, taints, kubernetesVersion: version };
}

function parseWorkers(c: Checker, cluster: string, at: string, entry: unknown): WorkersConfig | undefined {
    if (!isObject(entry)) {
        c.add(
            cluster,
            at,
            entry,
            "a map with strategy and drain settings",
            `Choose a strategy: blue-green (new pool, old one drained; no capacity lost), in-place (one surge node), or recycle (one node down at a time).`,
        );
        return undefined;
    }
    const before = c.issues.length;
    c.unknownKeys(cluster, `${at}.`, entry, WORKERS_KEYS);
    const strategy = c.oneOf(cluster, `${at}.strategy`, entry.strategy, STRATEGIES);
    const drainRaw = entry.drain ?? {};
    let drain: DrainSettings | undefined;
    if (!isObject(drainRaw)) {
        c.add(cluster, `${at}.drain`, drainRaw, "a map of drain settings");
    } else {
        c.unknownKeys(cluster, `${at}.drain.`, drainRaw, DRAIN_KEYS);
        const graceGiven = drainRaw.gracePeriodSeconds !== undefined;
        const grace = graceGiven
            ? c.wholeNumber(cluster, `${at}.drain.gracePeriodSeconds`, drainRaw.gracePeriodSeconds, 0)
            : DEFAULT_DRAIN.gracePeriodSeconds;
        const timeout = c.wholeNumber(
            cluster,
            `${at}.drain.timeoutSeconds`,
            drainRaw.timeoutSeconds,
            1,
            DEFAULT_DRAIN.timeoutSeconds,
        );
        const batch = c.wholeNumber(cluster, `${at}.drain.batchSize`, drainRaw.batchSize, 1, DEFAULT_DRAIN.batchSize);
        const soak = c.wholeNumber(
            cluster,
            `${at}.drain.soakSeconds`,
            drainRaw.soakSeconds,
            0,
            DEFAULT_DRAIN.soakSeconds,
        );
        const emptyDir = c.bool(
            cluster,
            `${at}.drain.deleteEmptyDirData`,
            drainRaw.deleteEmptyDirData,
            DEFAULT_DRAIN.deleteEmptyDirData,
        );
        if (grace !== undefined && timeout !== undefined && grace > timeout) {
            c.add(
                cluster,
                `${at}.drain.gracePeriodSeconds`,
                grace,
                `at most drain.timeoutSeconds (${timeout})`,
                "A pod's grace period must fit inside the drain timeout.",
            );
        }
        if (
            (grace !== undefined || !graceGiven) &&
            timeout !== undefined &&
            batch !== undefined &&
            soak !== undefined
        ) {
            drain = {
                ...(grace !== undefined ? { gracePeriodSeconds: grace } : {}),
                timeoutSeconds: timeout,
                batchSize: batch,
                soakSeconds: soak,
                deleteEmptyDirData: emptyDir,
                deleteEmptyDirDataExplicit: drainRaw.deleteEmptyDirData !== undefined,
            };
        }
    }
    const retainPreviousPool = c.bool(cluster, `${at}.retainPreviousPool`, entry.retainPreviousPool, false);
    if (retainPreviousPool && strategy && strategy !== "blue-green") {
        c.add(
            cluster,
            `${at}.retainPreviousPool`,
            true,
            "true only with strategy blue-green",
            "Only blue-green has a previous pool to keep.",
        );
    }
    const readyTimeout = c.wholeNumber(
        cluster,
        `${at}.readyTimeoutSeconds`,
        entry.readyTimeoutSeconds,
        1,
        DEFAULT_READY_TIMEOUT_SECONDS,
    );
    if (c.issues.length > before || !strategy || !drain || readyTimeout === undefined) return undefined;
    return { strategy, drain, retainPreviousPool, readyTimeoutSeconds: readyTimeout };
}

function parseLke(c: Checker, cluster: string, at: string, entry: unknown): LkeSettings | undefined {
    if (!isObject(entry)) {
        c.add(cluster, at, entry, "a map with at least region", `LKE clusters need lke.region, e.g. "us-ord".`);
        return undefined;
    }
    const before = c.issues.length;
    c.unknownKeys(cluster, `${at}.`, entry, LKE_KEYS);
    const region = c.text(cluster, `${at}.region`, entry.region);
    let tags: string[] = [];
    if (entry.tags !== undefined) {
        if (!Array.isArray(entry.tags) || entry.tags.some((t) => typeof t !== "string"))
            c.add(cluster, `${at}.tags`, entry.tags, "a list of strings");
        else tags = entry.tags as string[];
    }
    const highAvailability = c.bool(cluster, `${at}.highAvailability`, entry.highAvailability, false);
    let anchorPool = { ...DEFAULT_LKE_ANCHOR_POOL };
    if (entry.anchorPool !== undefined) {
        if (!isObject(entry.anchorPool))
            c.add(cluster, `${at}.anchorPool`, entry.anchorPool, "a map with type and count");
        else {
            c.unknownKeys(cluster, `${at}.anchorPool.`, entry.anchorPool, ["type", "count"]);
            const type = c.text(cluster, `${at}.anchorPool.type`, entry.anchorPool.type, DEFAULT_LKE_ANCHOR_POOL.type);
            const count = c.wholeNumber(
                cluster,
                `${at}.anchorPool.count`,
                entry.anchorPool.count,
                1,
                DEFAULT_LKE_ANCHOR_POOL.count,
            );
            if (type && count) anchorPool = { type, count };
        }
    }
    if (c.issues.length > before || !region) return undefined;
    return { region, tags, highAvailability, anchorPool };
}

function stringList(c: Checker, cluster: string, field: string, given: unknown, min: number): string[] | undefined {
    if (given === undefined && min === 0) return [];
    if (Array.isArray(given) && given.length >= min && given.every((x) => typeof x === "string" && x !== ""))
        return given as string[];
    c.add(
        cluster,
        field,
        given,
        min > 0 ? `a list of at least ${min} non-empty strings` : "a list of non-empty strings",
    );
    return undefined;
}

function parseEks(c: Checker, cluster: string, at: string, entry: unknown): EksSettings | undefined {
    if (!isObject(entry)) {
        c.add(
            cluster,
            at,
            entry,
            "a map with at least subnetIds",
            "EKS clusters live in existing subnets: list at least two, in different availability zones.",
        );
        return undefined;
    }
    const before = c.issues.length;
    c.unknownKeys(cluster, `${at}.`, entry, EKS_KEYS);
    const region = entry.region === undefined ? undefined : c.text(cluster, `${at}.region`, entry.region);
    const subnetIds = stringList(c, cluster, `${at}.subnetIds`, entry.subnetIds, 2);
    const securityGroupIds = stringList(c, cluster, `${at}.securityGroupIds`, entry.securityGroupIds, 0);
    const arn = (key: "clusterRoleArn" | "nodeRoleArn") => {
        if (entry[key] === undefined) return undefined;
        if (typeof entry[key] === "string" && /^arn:aws[a-z-]*:iam::\d{12}:role\//.test(entry[key] as string))
            return entry[key] as string;
        c.add(
            cluster,
            `${at}.${key}`,
            entry[key],
            "an IAM role ARN (arn:aws:iam::123456789012:role/name)",
            "Leave it out to let the program create the role.",
        );
        return undefined;
    };
    const addonVersions: EksSettings["addonVersions"] = {};
    if (entry.addonVersions !== undefined) {
        if (!isObject(entry.addonVersions))
            c.add(cluster, `${at}.addonVersions`, entry.addonVersions, `a map of ${EKS_ADDONS.join(", ")} to versions`);
        else {
            c.unknownKeys(cluster, `${at}.addonVersions.`, entry.addonVersions, EKS_ADDONS);
            for (const a of EKS_ADDONS) {
                const v = entry.addonVersions[a];
                if (v === undefined) continue;
                if (typeof v === "string" && v !== "") addonVersions[a] = v;
                else c.add(cluster, `${at}.addonVersions.${a}`, v, 'an add-on version such as "v1.19.0-eksbuild.1"');
            }
        }
    }
    const maxUnavailable =
        entry.maxUnavailable === undefined
            ? undefined
            : c.wholeNumber(cluster, `${at}.maxUnavailable`, entry.maxUnavailable, 1);
    const maxUnavailablePercentage =
        entry.maxUnavailablePercentage === undefined
            ? undefined
            : c.wholeNumber(cluster, `${at}.maxUnavailablePercentage`, entry.maxUnavailablePercentage, 1);
    if (maxUnavailable !== undefined && maxUnavailablePercentage !== undefined) {
        c.add(
            cluster,
            `${at}.maxUnavailablePercentage`,
            maxUnavailablePercentage,
            "maxUnavailable or maxUnavailablePercentage, not both",
            "EKS takes one of the two.",
        );
    }
    if (maxUnavailablePercentage !== undefined && maxUnavailablePercentage > 100)
        c.add(cluster, `${at}.maxUnavailablePercentage`, maxUnavailablePercentage, "a percentage from 1 to 100");
    const updateStrategy = c.oneOf(
        cluster,
        `${at}.updateStrategy`,
        entry.updateStrategy,
        EKS_UPDATE_STRATEGIES,
        "DEFAULT",
    );
    const tags: Record<string, string> = {};
    if (entry.tags !== undefined) {
        if (!isObject(entry.tags) || Object.values(entry.tags).some((v) => typeof v !== "string"))
            c.add(cluster, `${at}.tags`, entry.tags, "a map of tag names to string values");
        else Object.assign(tags, entry.tags);
    }
    const settings: EksSettings = {
        region,
        subnetIds: subnetIds ?? [],
        securityGroupIds: securityGroupIds ?? [],
        clusterRoleArn: arn("clusterRoleArn"),
        nodeRoleArn: arn("nodeRoleArn"),
        endpointPublicAccess: c.bool(cluster, `${at}.endpointPublicAccess`, entry.endpointPublicAccess, true),
        endpointPrivateAccess: c.bool(cluster, `${at}.endpointPrivateAccess`, entry.endpointPrivateAccess, false),
        addonVersions,
        maxUnavailable,
        maxUnavailablePercentage,
        updateStrategy: updateStrategy ?? "DEFAULT",
        forceUpdateVersion: c.bool(cluster, `${at}.forceUpdateVersion`, entry.forceUpdateVersion, false),
        tags,
    };
    return c.issues.length > before ? undefined : settings;
}

function parseNodes(
    c: Checker,
    cluster: string,
    field: string,
    given: unknown,
    min: number,
): KubeadmNode[] | undefined {
    if (!Array.isArray(given) || given.length < min) {
        c.add(cluster, field, given, `a list of at least ${min} {name, host}`);
        return undefined;
    }
    const nodes: KubeadmNode[] = [];
    given.forEach((n, i) => {
        if (!isObject(n)) {
            c.add(cluster, `${field}[${i}]`, n, "a map with name (as in kubectl get nodes) and host (for SSH)");
            return;
        }
        c.unknownKeys(cluster, `${field}[${i}].`, n, ["name", "host", "pool"]);
        const name = c.text(cluster, `${field}[${i}].name`, n.name);
        const host = c.text(cluster, `${field}[${i}].host`, n.host);
        const pool = n.pool === undefined ? undefined : c.text(cluster, `${field}[${i}].pool`, n.pool);
        if (name && host) nodes.push({ name, host, pool });
    });
    return nodes;
}

function parseKubeadm(
    c: Checker,
    cluster: string,
    at: string,
    entry: unknown,
    pools: NodePoolConfig[],
    version: string | undefined,
): KubeadmSettings | undefined {
    if (!isObject(entry)) {
        c.add(cluster, at, entry, "a map with controlPlaneNodes, workerNodes, ssh and packageManager");
        return undefined;
    }
    const before = c.issues.length;
    const clusterAt = at.replace(/\.kubeadm$/, "");
    c.unknownKeys(cluster, `${at}.`, entry, KUBEADM_KEYS);
    if (version && parseVersion(version)?.patch === undefined) {
        c.add(
            cluster,
            `${clusterAt}.kubernetesVersion`,
            version,
            `a full patch version such as "${version}.4"`,
            "kubeadm installs exact package versions.",
        );
    }
    const controlPlaneNodes = parseNodes(c, cluster, `${at}.controlPlaneNodes`, entry.controlPlaneNodes, 1);
    const workerNodes = parseNodes(c, cluster, `${at}.workerNodes`, entry.workerNodes ?? [], 0);
    const names = [...(controlPlaneNodes ?? []), ...(workerNodes ?? [])].map((n) => n.name);
    const dupe = names.find((n, i) => names.indexOf(n) !== i);
    if (dupe) c.add(cluster, `${at}.workerNodes`, dupe, "each node listed once");
    for (const [i, w] of (workerNodes ?? []).entries()) {
        if (w.pool !== undefined && !pools.some((p) => p.name === w.pool))
            c.add(
                cluster,
                `${at}.workerNodes[${i}].pool`,
                w.pool,
                `one of the nodePools: ${pools.map((p) => p.name).join(", ")}`,
                suggest(
                    w.pool,
                    pools.map((p) => p.name),
                )
                    ? `Did you mean "${suggest(
                          w.pool,
                          pools.map((p) => p.name),
                      )}"?`
                    : undefined,
            );
    }
    pools.forEach((p, i) => {
        const listed = (workerNodes ?? []).filter((w) => (w.pool ?? pools[0].name) === p.name).length;
        if (workerNodes && listed !== p.count)
            c.add(
                cluster,
                `${clusterAt}.nodePools[${i}].count`,
                p.count,
                `${listed}, the number of workerNodes in pool ${p.name}`,
                "kubeadm upgrades the machines you list; the count must match them.",
            );
    });
    const sshRaw = isObject(entry.ssh) ? entry.ssh : undefined;
    if (!sshRaw) c.add(cluster, `${at}.ssh`, entry.ssh, "a map with user, and optionally port and privateKeySecret");
    else c.unknownKeys(cluster, `${at}.ssh.`, sshRaw, ["user", "port", "privateKeySecret"]);
    const user = sshRaw ? c.text(cluster, `${at}.ssh.user`, sshRaw.user) : undefined;
    const port = sshRaw ? c.wholeNumber(cluster, `${at}.ssh.port`, sshRaw.port, 1, 22) : undefined;
    const privateKeySecret = sshRaw
        ? c.text(cluster, `${at}.ssh.privateKeySecret`, sshRaw.privateKeySecret, "sshPrivateKey")
        : undefined;
    const kubeconfigSecret = c.text(cluster, `${at}.kubeconfigSecret`, entry.kubeconfigSecret, "kubeconfig");
    const packageManager = c.oneOf(cluster, `${at}.packageManager`, entry.packageManager, PACKAGE_MANAGERS);
    const workersAtOnce = c.wholeNumber(cluster, `${at}.workersAtOnce`, entry.workersAtOnce, 1, 1);
    const cniUpgradeCommand =
        entry.cniUpgradeCommand === undefined
            ? undefined
            : c.text(cluster, `${at}.cniUpgradeCommand`, entry.cniUpgradeCommand);
    const etcdRaw = entry.etcd === undefined ? {} : entry.etcd;
    let etcd = { external: false, snapshotDir: "/var/backups/etcd" };
    if (!isObject(etcdRaw)) c.add(cluster, `${at}.etcd`, etcdRaw, "a map with external and snapshotDir");
    else {
        c.unknownKeys(cluster, `${at}.etcd.`, etcdRaw, ["external", "snapshotDir"]);
        const snapshotDir = c.text(cluster, `${at}.etcd.snapshotDir`, etcdRaw.snapshotDir, etcd.snapshotDir);
        if (snapshotDir && !snapshotDir.startsWith("/"))
            c.add(cluster, `${at}.etcd.snapshotDir`, snapshotDir, "an absolute path on the first control plane node");
        etcd = {
            external: c.bool(cluster, `${at}.etcd.external`, etcdRaw.external, false),
            snapshotDir: snapshotDir ?? etcd.snapshotDir,
        };
    }
    if (
        c.issues.length > before ||
        !controlPlaneNodes ||
        !workerNodes ||
        !user ||
        !port ||
        !privateKeySecret ||
        !kubeconfigSecret ||
        !packageManager ||
        !workersAtOnce
    )
        return undefined;
    return {
        controlPlaneNodes,
        workerNodes,
        ssh: { user, port, privateKeySecret },
        kubeconfigSecret,
        packageManager,
        workersAtOnce,
        cniUpgradeCommand,
        etcd,
    };
}

const CAPI_KEYS = [
    "namespace",
    "clusterName",
    "managementKubeconfigSecret",
    "region",
    "controlPlane",
    "amis",
    "amiLookup",
    "iamInstanceProfile",
    "controlPlaneIamInstanceProfile",
    "sshKeyName",
    "maxSurge",
    "maxUnavailable",
];

function parseCapiAws(
    c: Checker,
    cluster: string,
    clusterAt: string,
    entry: unknown,
    version: string | undefined,
    name: unknown,
): CapiAwsSettings | undefined {
    const at = `${clusterAt}.capi-aws`;
    if (!isObject(entry)) {
        c.add(cluster, at, entry, "a map with at least controlPlane.instanceType, and amis or amiLookup");
        return undefined;
    }
    const before = c.issues.length;
    c.unknownKeys(cluster, `${at}.`, entry, CAPI_KEYS);
    if (version && parseVersion(version)?.patch === undefined) {
        c.add(
            cluster,
            `${clusterAt}.kubernetesVersion`,
            version,
            `a full patch version such as "${version}.4"`,
            "Cluster API machines run an exact version, built into their AMI.",
        );
    }
    const clusterName = c.text(
        cluster,
        `${at}.clusterName`,
        entry.clusterName,
        typeof name === "string" ? name : undefined,
    );
    const cpRaw = isObject(entry.controlPlane) ? entry.controlPlane : undefined;
    if (!cpRaw)
        c.add(
            cluster,
            `${at}.controlPlane`,
            entry.controlPlane,
            "a map with instanceType, and optionally name, replicas and maxSurge",
        );
    else c.unknownKeys(cluster, `${at}.controlPlane.`, cpRaw, ["name", "replicas", "maxSurge", "instanceType"]);
    const replicas = cpRaw ? c.wholeNumber(cluster, `${at}.controlPlane.replicas`, cpRaw.replicas, 1, 3) : undefined;
    if (replicas !== undefined && replicas % 2 === 0)
        c.add(cluster, `${at}.controlPlane.replicas`, replicas, "an odd number (etcd quorum)");
    const maxSurge = cpRaw ? c.wholeNumber(cluster, `${at}.controlPlane.maxSurge`, cpRaw.maxSurge, 0, 1) : undefined;
    if (maxSurge !== undefined && maxSurge > 1)
        c.add(
            cluster,
            `${at}.controlPlane.maxSurge`,
            maxSurge,
            "0 or 1",
            "KubeadmControlPlane rolls one machine at a time.",
        );
    const amis: Record<string, string> = {};
    if (entry.amis !== undefined) {
        if (!isObject(entry.amis)) c.add(cluster, `${at}.amis`, entry.amis, "a map of Kubernetes versions to AMI ids");
        else
            for (const [v, id] of Object.entries(entry.amis)) {
                const pv = parseVersion(v);
                if (!pv || pv.patch === undefined)
                    c.add(cluster, `${at}.amis`, v, 'full patch versions as keys, e.g. "1.31.4"');
                else if (typeof id !== "string" || !/^ami-[0-9a-f]{8,17}$/.test(id))
                    c.add(cluster, `${at}.amis.${v}`, id, "an AMI id such as ami-0123456789abcdef0");
                else amis[formatVersion(pv)] = id;
            }
    }
    let amiLookup: CapiAwsSettings["amiLookup"];
    if (entry.amiLookup !== undefined) {
        if (!isObject(entry.amiLookup))
            c.add(cluster, `${at}.amiLookup`, entry.amiLookup, "a map with owners and optionally namePattern");
        else {
            c.unknownKeys(cluster, `${at}.amiLookup.`, entry.amiLookup, ["owners", "namePattern"]);
            const owners = stringList(c, cluster, `${at}.amiLookup.owners`, entry.amiLookup.owners, 1);
            const namePattern =
                entry.amiLookup.namePattern === undefined
                    ? undefined
                    : c.text(cluster, `${at}.amiLookup.namePattern`, entry.amiLookup.namePattern);
            if (owners) amiLookup = { owners, namePattern };
        }
    }
    const settings: CapiAwsSettings = {
        namespace: c.text(cluster, `${at}.namespace`, entry.namespace, "default") ?? "default",
        clusterName: clusterName ?? "",
        managementKubeconfigSecret:
            c.text(
                cluster,
                `${at}.managementKubeconfigSecret`,
                entry.managementKubeconfigSecret,
                "managementKubeconfig",
            ) ?? "",
        region: entry.region === undefined ? undefined : c.text(cluster, `${at}.region`, entry.region),
        controlPlane: {
            name:
                (cpRaw
                    ? c.text(cluster, `${at}.controlPlane.name`, cpRaw.name, `${clusterName}-control-plane`)
                    : undefined) ?? "",
            replicas: replicas ?? 3,
            maxSurge: maxSurge === 0 ? 0 : 1,
            instanceType:
                (cpRaw ? c.text(cluster, `${at}.controlPlane.instanceType`, cpRaw.instanceType) : undefined) ?? "",
        },
        amis,
        amiLookup,
        iamInstanceProfile:
            c.text(
                cluster,
                `${at}.iamInstanceProfile`,
                entry.iamInstanceProfile,
                "nodes.cluster-api-provider-aws.sigs.k8s.io",
            ) ?? "",
        controlPlaneIamInstanceProfile:
            c.text(
                cluster,
                `${at}.controlPlaneIamInstanceProfile`,
                entry.controlPlaneIamInstanceProfile,
                "control-plane.cluster-api-provider-aws.sigs.k8s.io",
            ) ?? "",
        sshKeyName: entry.sshKeyName === undefined ? undefined : c.text(cluster, `${at}.sshKeyName`, entry.sshKeyName),
        maxSurge: c.wholeNumber(cluster, `${at}.maxSurge`, entry.maxSurge, 0, 1) ?? 1,
        maxUnavailable: c.wholeNumber(cluster, `${at}.maxUnavailable`, entry.maxUnavailable, 0, 0) ?? 0,
    };
    if (settings.maxSurge === 0 && settings.maxUnavailable === 0)
        c.add(
            cluster,
            `${at}.maxUnavailable`,
            0,
            "at least 1 when maxSurge is 0",
            "A rolling update needs room to surge or to take a machine down.",
        );
    return c.issues.length > before ? undefined : settings;
}
