// Which GKE versions a deployment asks for, decided before any resource is registered. Pure.
//
// The control plane takes the target minor as minMasterVersion ("1.31"): GKE picks the newest patch of that minor,
// and the provider only ever upgrades the master when it runs older than that (it never reads the value back).
// Node pools need an exact version ("1.31.4-gke.1234"): the provider reads the pool's version back, so a fuzzy one
// would differ on every run and re-issue an upgrade. The exact version a minor's pools run is recorded, so a new GKE
// patch release never moves a pool, as long as GKE still offers the recorded one (validNodeVersions); once it does
// not, a new pool could not be created at it, so the minor takes the newest patch offered, with a warning. A minor
// no pool ran before takes the newest the location offers for it.
import { CONFIG_NAMESPACE, type ConfigIssue } from "../config";
import type { ClusterPlan } from "../plan";
import { compareVersions, formatMinor, parseProviderVersion, requireVersion } from "../versions";

/** What getEngineVersions says the cluster's location offers. */
export interface OfferedVersions {
    location: string;
    validMasterVersions: string[];
    validNodeVersions: string[];
}

export interface GkeVersions {
    /** The cluster's minMasterVersion: the target minor. */
    masterVersion: string;
    /** The exact node version for each kubelet minor this deployment registers a pool at. */
    nodeVersions: Record<string, string>;
}

/** The newest of the versions offered within a minor ("1.31" → "1.31.6-gke.1020000"), if any. */
export function newestOfMinor(offered: string[], minor: string): string | undefined {
    const within = offered.filter((v) => {
        const parsed = parseProviderVersion(v);
        return parsed !== undefined && formatMinor(parsed) === minor;
    });
    return within.sort((a, b) => compareProviderVersions(b, a))[0];
}

/** Orders GKE versions by Kubernetes version, then by the gke.N build. */
function compareProviderVersions(a: string, b: string): number {
    const byVersion = compareVersions(requireVersion(a.split("-")[0]), requireVersion(b.split("-")[0]));
    if (byVersion !== 0) return byVersion;
    const build = (v: string) => Number(/-gke\.(\d+)/.exec(v)?.[1] ?? 0);
    return build(a) - build(b);
}

/** The minors of the node pools this deployment registers (retained blue pools included). */
export function poolMinors(plan: ClusterPlan): string[] {
    const minors = [
        ...plan.pools.map((p) => p.version),
        ...plan.pools.filter((p) => p.blue && p.retainBlue).map((p) => p.blue!.version),
    ].map((v) => formatMinor(requireVersion(v)));
    return [...new Set(minors)];
}

/**
 * The versions a GKE cluster's deployment asks for, or the refusals: a target minor the location does not offer for
 * the control plane, or a pool minor it offers no node version of (and that no pool runs already).
 */
export function decideGkeVersions(
    plan: ClusterPlan,
    index: number,
    offered: OfferedVersions,
): { versions: GkeVersions; issues: ConfigIssue[]; warnings: string[] } {
    const cfg = plan.cluster;
    const target = formatMinor(requireVersion(cfg.kubernetesVersion));
    const issues: ConfigIssue[] = [];
    const warnings: string[] = [];
    const field = (rest: string) => `${CONFIG_NAMESPACE}:clusters[${index}].${rest}`;
    const masterMinors = offeredMinors(offered.validMasterVersions);
    const movesControlPlane = plan.controlPlane.change === "create" || plan.controlPlane.change === "minor";
    if (movesControlPlane && !masterMinors.includes(target))
        issues.push({
            stack: plan.stack,
            cluster: cfg.name,
            field: field("kubernetesVersion"),
            given: cfg.kubernetesVersion,
            allowed: `a minor GKE offers for control planes in ${offered.location}: ${listOrNone(masterMinors)}`,
            hint: `Check 'gcloud container get-server-config --location ${offered.location}'; choose an offered minor, or wait until GKE offers ${target} there.`,
        });
    const recorded = plan.running?.nodeVersions ?? {};
    const nodeVersions: Record<string, string> = {};
    for (const minor of poolMinors(plan)) {
        const newest = newestOfMinor(offered.validNodeVersions, minor);
        const kept = recorded[minor];
        const stillOffered = kept !== undefined && offered.validNodeVersions.includes(kept);
        const exact = stillOffered ? kept : newest;
        if (kept !== undefined && !stillOffered && newest)
            warnings.push(
                `GKE no longer offers node version ${kept} (recorded for ${minor}) in ${offered.location}: pools at ${minor} take ${newest}, the newest ${minor} patch offered; a pool already running ${kept} gets GKE's in-place upgrade to it (upgradeSettings)`,
            );
        if (exact) {
            nodeVersions[minor] = exact;
            continue;
        }
        const i = cfg.nodePools.findIndex((p) => formatMinor(requireVersion(p.kubernetesVersion)) === minor);
        const pinned = i >= 0 && cfg.nodePools[i].kubernetesVersion !== cfg.kubernetesVersion;
        issues.push({
            stack: plan.stack,
            cluster: cfg.name,
            field: field(pinned ? `nodePools[${i}].kubernetesVersion` : "kubernetesVersion"),
            given: pinned ? cfg.nodePools[i].kubernetesVersion : cfg.kubernetesVersion,
            allowed: `a minor GKE offers for node pools in ${offered.location}: ${listOrNone(offeredMinors(offered.validNodeVersions))}`,
            hint: `GKE offers no node version of ${minor} in ${offered.location}; choose an offered minor.`,
        });
    }
    return { versions: { masterVersion: target, nodeVersions }, issues, warnings };
}

function offeredMinors(versions: string[]): string[] {
    const minors = versions.map((v) => parseProviderVersion(v)).filter((v) => v !== undefined);
    return [...new Set(minors.map(formatMinor))].sort((a, b) => compareVersions(requireVersion(a), requireVersion(b)));
}

function listOrNone(minors: string[]): string {
    return minors.length > 0 ? minors.join(", ") : "none (the location lists no versions)";
}
