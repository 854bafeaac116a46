// Adopting a cluster that already runs: its first deployment registers the cluster and its pools with Pulumi's
// `import` option (the engine reads them and refuses any input that differs), and records what they report.
import * as pulumi from "@pulumi/pulumi";
import type { ClusterPlan } from "./plan";
import type { RunningCluster } from "./running";
import { formatMinor, formatVersion, parseVersion, requireVersion } from "./versions";

export interface Adoption {
    cluster: string;
    pools: Record<string, string>;
}

/** The IDs to import in this deployment: only while the running record does not know the cluster yet. */
export function adoptionOf(plan: ClusterPlan): Adoption | undefined {
    return plan.cluster.import && !plan.running ? plan.cluster.import : undefined;
}

/**
 * An LKE node pool's import ID: terraform-provider-linode's lkenodepool importer parses `<cluster_id>,<pool_id>`
 * (the SDK's example `150003,12345`); the pool's id after the import is the pool id alone.
 */
export function lkePoolImportId(adoption: Adoption | undefined, pool: string): string | undefined {
    const id = adoption?.pools[pool];
    return id === undefined ? undefined : `${adoption?.cluster},${id}`;
}

/** The `import` resource option for one ID, or nothing. */
export function importOption(id: string | undefined): pulumi.CustomResourceOptions {
    return id === undefined ? {} : { import: id };
}

/** What an adopted pool reports, by its resource name. */
export interface ReportedPool {
    /** The pool's own Kubernetes version as the provider reports it (EKS node groups have one). */
    version?: pulumi.Input<string | undefined>;
    /**
     * True for pools that have no version of their own and run the control plane's (LKE pools). Otherwise a
     * version the pool does not report, or not readably, fails the deployment: it is never taken from the
     * control plane.
     */
    followsControlPlane?: boolean;
    count: pulumi.Input<number | undefined>;
    type: pulumi.Input<string | undefined>;
}

/** A version as the provider reports it ("1.31", "v1.31.4-eks-…"), as the record writes it; empty when unreadable. */
function reportedVersion(v: string | undefined): string {
    const parsed = parseVersion(v?.replace(/-.*$/, ""));
    return parsed ? formatVersion(parsed) : "";
}

type Reported = { version?: string; followsControlPlane?: boolean; count?: number; type?: string };

/**
 * The running record of an adopted cluster from what its resources reported (resolved): the control plane's
 * version, and each pool's version, size and type. Throws on any value it cannot read.
 */
export function recordReported(
    name: string,
    state: RunningCluster,
    cp: string | undefined,
    byName: Record<string, Reported>,
): RunningCluster {
    const control = reportedVersion(cp);
    if (!control)
        throw new pulumi.RunError(
            `cluster ${name}: the adopted cluster reports no readable Kubernetes version (${JSON.stringify(cp)}); nothing is recorded. Check the import ID and run 'pulumi refresh'.`,
        );
    const recorded = state.pools.map((p) => {
        const r = byName[p.resourceName];
        if (!r) return p;
        const version = r.followsControlPlane ? control : reportedVersion(r.version);
        if (!version)
            throw new pulumi.RunError(
                `cluster ${name}: the adopted pool ${p.name} reports no readable Kubernetes version (${r.version === undefined ? "none" : JSON.stringify(r.version)}); it is not recorded at the control plane's ${control}, since a pool may lag it. Nothing is recorded. Check its import ID and run 'pulumi refresh'.`,
            );
        if (typeof r.count !== "number" || !r.type)
            throw new pulumi.RunError(
                `cluster ${name}: the adopted pool ${p.name} reports version ${JSON.stringify(r.version)}, count ${JSON.stringify(r.count)}, type ${JSON.stringify(r.type)}; nothing is recorded. Check its import ID.`,
            );
        // An autoscaled pool's live size belongs to the autoscaler: the record keeps the configured count.
        return { ...p, version, count: p.autoscaler ? p.count : r.count, type: r.type };
    });
    const minor = (v: string) => formatMinor(requireVersion(v));
    return {
        ...state,
        controlPlaneVersion: control,
        pools: recorded,
        upgradeInProgress: recorded.some((p) => minor(p.version) !== minor(control)),
        // Nothing was validated by this program yet: the next deployment's pre-flight is the first check.
        validatedVersion: undefined,
    };
}

/**
 * The running record of an adopted cluster from what the imported resources report, never from config: the
 * control plane's version, and each pool's version, size and type. Unreadable values fail the deployment.
 */
export function reportedRunningState(
    name: string,
    fromPlan: pulumi.Output<RunningCluster>,
    controlPlaneVersion: pulumi.Input<string | undefined>,
    pools: Record<string, ReportedPool>,
): pulumi.Output<RunningCluster> {
    const reported = pulumi.output(pools);
    return pulumi
        .all([fromPlan, pulumi.output(controlPlaneVersion), reported])
        .apply(([state, cp, byName]) => recordReported(name, state, cp, byName as Record<string, Reported>));
}
