// Raw provider resources as CrossGuard shows them in any program: which types are control planes and which are
// worker pools, where each keeps its Kubernetes version, and how a pool is matched to its control plane (through
// the reference its cluster property was built from, else by the cluster's name or id).
import type { PolicyResource, UnknownValueError as UnknownValueErrorClass } from "@pulumi/policy";

// From its own module: the package's index also loads the analyzer server's code and the whole Pulumi SDK (about
// 770 modules), which the offline plan, evaluating the rules as functions, never needs. The index re-exports this
// same class (@pulumi/policy index.js), so `instanceof` holds for values the pack's proxy throws; the module's
// declaration file declares nothing, hence the type from the index.
const { UnknownValueError } = require("@pulumi/policy/proxy") as { UnknownValueError: typeof UnknownValueErrorClass };

import type { OfferingProvider } from "./supported-versions";
import { type KubeVersion, parseProviderVersion } from "./versions";

type Props = Record<string, unknown>;

/** A value CrossGuard marks unknown (a computed output during preview): reading it throws; here it is UNKNOWN. */
export const UNKNOWN = Symbol("unknown");
export type Read = unknown | typeof UNKNOWN;

/** Reads a dotted path; a value unknown during preview reads as UNKNOWN instead of throwing. */
export function read(props: unknown, path: string): Read {
    let value: unknown = props;
    try {
        for (const key of path.split(".")) {
            if (value === null || typeof value !== "object") return undefined;
            value = (value as Props)[key];
        }
        return value;
    } catch (e) {
        if (e instanceof UnknownValueError) return UNKNOWN;
        throw e;
    }
}

const asText = (v: Read): string | undefined =>
    typeof v === "string" && v !== "" ? v : typeof v === "number" ? String(v) : undefined;

/** A Kubernetes version read from a resource: parsed, absent, unknown until the update, or unreadable. */
export type VersionRead =
    | { kind: "version"; text: string; version: KubeVersion }
    | { kind: "absent" }
    | { kind: "unknown" }
    | { kind: "unreadable"; text: string };

export function readVersion(props: unknown, path: string): VersionRead {
    const v = read(props, path);
    if (v === UNKNOWN) return { kind: "unknown" };
    if (v === undefined || v === null || v === "") return { kind: "absent" };
    const text = String(v);
    const version = parseProviderVersion(text);
    return version ? { kind: "version", text, version } : { kind: "unreadable", text };
}

export interface ControlPlaneKind {
    provider: string;
    /** The provider's row in the version table (./supported-versions.ts). */
    versionTable: OfferingProvider;
    matches(type: string): boolean;
    /** Where the control plane's version is written (the first present one counts). */
    versionPaths: string[];
    /** Where the provider reports what actually runs, in a resource's recorded outputs (the first present one counts). */
    runningPaths: string[];
    /** Names and ids a pool may use to refer to this control plane. */
    identities(r: PolicyResource): string[];
}

export interface PoolKind {
    provider: string;
    matches(type: string): boolean;
    /** Where the pool's kubelet version is written; absent means the pool follows its control plane. */
    versionPath: string;
    /** The input that names the pool's cluster; its property dependencies lead to the control plane resource. */
    referenceKey: string;
    /** The identities the pool names its control plane by. */
    references(r: PolicyResource, all: PolicyResource[]): string[];
    controlPlane: ControlPlaneKind;
}

const texts = (...values: Read[]) => values.map(asText).filter((x): x is string => x !== undefined);
/** "projects/p/locations/l/clusters/name" → "name". */
const lastSegment = (s: string) => s.slice(s.lastIndexOf("/") + 1);

export const EKS_CLUSTER: ControlPlaneKind = {
    provider: "EKS",
    versionTable: "eks",
    matches: (t) => t === "aws:eks/cluster:Cluster",
    versionPaths: ["version"],
    runningPaths: ["version"],
    identities: (r) => texts(read(r.props, "name"), read(r.props, "id")),
};
export const LKE_CLUSTER: ControlPlaneKind = {
    provider: "LKE",
    versionTable: "lke",
    matches: (t) => t === "linode:index/lkeCluster:LkeCluster",
    versionPaths: ["k8sVersion"],
    runningPaths: ["k8sVersion"],
    identities: (r) => texts(read(r.props, "id")),
};
export const KUBEADM_CONTROL_PLANE: ControlPlaneKind = {
    provider: "Cluster API",
    versionTable: "capi-aws",
    matches: (t) => /^kubernetes:controlplane\.cluster\.x-k8s\.io\/[^:]+:KubeadmControlPlane(Patch)?$/.test(t),
    versionPaths: ["spec.version"],
    runningPaths: ["status.version", "spec.version"],
    identities: (r) => texts(read(r.props, "metadata.name")).map((n) => `${namespaceOf(r)}/${n}`),
};
export const AKS_CLUSTER: ControlPlaneKind = {
    provider: "AKS",
    versionTable: "aks",
    matches: (t) => t === "azure-native:containerservice:ManagedCluster",
    versionPaths: ["kubernetesVersion", "currentKubernetesVersion"],
    runningPaths: ["currentKubernetesVersion", "kubernetesVersion"],
    identities: (r) => {
        const group = asText(read(r.props, "resourceGroupName"));
        const names = texts(read(r.props, "resourceName"), read(r.props, "name"));
        return [...names.map((n) => `${group ?? ""}/${n}`), ...texts(read(r.props, "id"))];
    },
};
export const GKE_CLUSTER: ControlPlaneKind = {
    provider: "GKE",
    versionTable: "gke",
    matches: (t) => t === "gcp:container/cluster:Cluster",
    // minMasterVersion is what the program asks for; GKE may run newer (masterVersion), never older.
    versionPaths: ["minMasterVersion", "masterVersion"],
    runningPaths: ["masterVersion", "minMasterVersion"],
    identities: (r) => {
        const ids = texts(read(r.props, "name"), read(r.props, "id"));
        return [...ids, ...ids.map(lastSegment)];
    },
};
export const CONTROL_PLANES = [EKS_CLUSTER, LKE_CLUSTER, KUBEADM_CONTROL_PLANE, AKS_CLUSTER, GKE_CLUSTER];

function namespaceOf(r: PolicyResource): string {
    return asText(read(r.props, "metadata.namespace")) ?? "default";
}

export const isMachineDeployment = (t: string) => /^kubernetes:cluster\.x-k8s\.io\/[^:]+:MachineDeployment$/.test(t);
const isCapiCluster = (t: string) => /^kubernetes:cluster\.x-k8s\.io\/[^:]+:Cluster$/.test(t);

export const EKS_NODE_GROUP: PoolKind = {
    provider: "EKS",
    matches: (t) => t === "aws:eks/nodeGroup:NodeGroup",
    versionPath: "version",
    referenceKey: "clusterName",
    references: (r) => texts(read(r.props, "clusterName")),
    controlPlane: EKS_CLUSTER,
};
export const LKE_NODE_POOL: PoolKind = {
    provider: "LKE",
    matches: (t) => t === "linode:index/lkeNodePool:LkeNodePool",
    // Only LKE Enterprise pools carry their own version; others follow the cluster.
    versionPath: "k8sVersion",
    referenceKey: "clusterId",
    references: (r) => texts(read(r.props, "clusterId")),
    controlPlane: LKE_CLUSTER,
};
export const MACHINE_DEPLOYMENT: PoolKind = {
    provider: "Cluster API",
    matches: isMachineDeployment,
    versionPath: "spec.template.spec.version",
    referenceKey: "spec",
    // spec.clusterName names the Cluster API Cluster; its controlPlaneRef names the KubeadmControlPlane. Without
    // the Cluster in the program, the control plane labelled with that cluster name, else the only one in the namespace.
    references: (r, all) => {
        const ns = namespaceOf(r);
        const clusterName = asText(read(r.props, "spec.clusterName"));
        if (!clusterName) return [];
        const cluster = all.find(
            (c) =>
                isCapiCluster(c.type) &&
                asText(read(c.props, "metadata.name")) === clusterName &&
                namespaceOf(c) === ns,
        );
        const ref = cluster && asText(read(cluster.props, "spec.controlPlaneRef.name"));
        if (ref) return [`${ns}/${ref}`];
        const planes = all.filter((c) => KUBEADM_CONTROL_PLANE.matches(c.type) && namespaceOf(c) === ns);
        const byLabel = planes.filter((c) => {
            const labels = read(c.props, "metadata.labels");
            return labels !== UNKNOWN && asText(read(labels, "cluster.x-k8s.io/cluster-name")) === clusterName;
        });
        const chosen = byLabel.length > 0 ? byLabel : planes.length === 1 ? planes : [];
        return chosen.flatMap((c) => KUBEADM_CONTROL_PLANE.identities(c));
    },
    controlPlane: KUBEADM_CONTROL_PLANE,
};
export const AKS_AGENT_POOL: PoolKind = {
    provider: "AKS",
    matches: (t) => t === "azure-native:containerservice:AgentPool",
    versionPath: "orchestratorVersion",
    referenceKey: "resourceName",
    references: (r) => {
        const group = asText(read(r.props, "resourceGroupName"));
        return texts(read(r.props, "resourceName")).map((n) => `${group ?? ""}/${n}`);
    },
    controlPlane: AKS_CLUSTER,
};
export const GKE_NODE_POOL: PoolKind = {
    provider: "GKE",
    matches: (t) => t === "gcp:container/nodePool:NodePool",
    versionPath: "version",
    referenceKey: "cluster",
    references: (r) => texts(read(r.props, "cluster")).flatMap((c) => [c, lastSegment(c)]),
    controlPlane: GKE_CLUSTER,
};
export const POOLS = [EKS_NODE_GROUP, LKE_NODE_POOL, MACHINE_DEPLOYMENT, AKS_AGENT_POOL, GKE_NODE_POOL];

/** The control plane's version: the first of its version fields that is present (or of its running fields). */
export function controlPlaneVersion(
    kind: ControlPlaneKind,
    r: Pick<PolicyResource, "props">,
    paths: string[] = kind.versionPaths,
): VersionRead & { path: string } {
    for (const path of paths) {
        const v = readVersion(r.props, path);
        if (v.kind !== "absent") return { ...v, path };
    }
    return { kind: "absent", path: paths[0] };
}

/** Pools written inside their cluster resource (AKS agentPoolProfiles, GKE's default pool and nodePools). */
export function inlinePools(r: PolicyResource): Array<{ name: string; version: VersionRead; path: string }> {
    const out: Array<{ name: string; version: VersionRead; path: string }> = [];
    const list = (path: string, versionKey: string) => {
        const items = read(r.props, path);
        if (!Array.isArray(items)) return;
        items.forEach((_, i) => {
            const name = asText(read(r.props, `${path}.${i}.name`)) ?? `${path}[${i}]`;
            out.push({
                name,
                version: readVersion(r.props, `${path}.${i}.${versionKey}`),
                path: `${path}[${i}].${versionKey}`,
            });
        });
    };
    if (AKS_CLUSTER.matches(r.type)) list("agentPoolProfiles", "orchestratorVersion");
    if (GKE_CLUSTER.matches(r.type)) {
        out.push({ name: "default pool", version: readVersion(r.props, "nodeVersion"), path: "nodeVersion" });
        list("nodePools", "version");
    }
    return out;
}

const REFERENCE_DEPTH = 3;

/**
 * The control plane resources a pool belongs to: those its cluster property was built from (followed through
 * components), else those whose name or id the pool names. Empty when the stack holds none.
 */
export function controlPlanesOf(pool: PolicyResource, kind: PoolKind, all: PolicyResource[]): PolicyResource[] {
    const byReference = new Map<string, PolicyResource>();
    const seen = new Set<string>();
    // The reference may pass through a component's output (a @pulumi/eks cluster, say): follow what it was built
    // from, a few steps deep, and stop at the first control plane on each path.
    let frontier = [...(pool.propertyDependencies?.[kind.referenceKey] ?? [])];
    for (let depth = 0; depth < REFERENCE_DEPTH && byReference.size === 0 && frontier.length > 0; depth++) {
        const next: PolicyResource[] = [];
        for (const r of frontier) {
            if (seen.has(r.urn)) continue;
            seen.add(r.urn);
            if (kind.controlPlane.matches(r.type)) byReference.set(r.urn, r);
            else next.push(...r.dependencies, ...Object.values(r.propertyDependencies ?? {}).flat());
        }
        frontier = next;
    }
    if (byReference.size > 0) return [...byReference.values()];
    const wanted = new Set(kind.references(pool, all));
    if (wanted.size === 0) return [];
    return all.filter(
        (c) => kind.controlPlane.matches(c.type) && kind.controlPlane.identities(c).some((i) => wanted.has(i)),
    );
}

/** True for resources a k8s-upgrades cluster component owns (its type is in the URN's parent chain). */
export const insideComponent = (urn: string) => /(::|\$)k8s-upgrades:[a-z-]+:Cluster\$/.test(urn);
