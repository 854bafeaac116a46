// Which version each EKS managed add-on goes to in this deployment. Pure.
// Add-ons move only with a control plane upgrade (or a pin in config), never because a newer build appeared:
// otherwise any `pulumi up`, in prod too, would move them outside promotion. A promoted stack takes what its
// source stack runs at the same minor. EKS refuses a VPC CNI update that moves more than one minor at a time.
import { type ConfigIssue, EKS_ADDONS } from "../config";
import type { ClusterPlan } from "../plan";
import type { RunningCluster } from "../running";
import { compareMinor, requireVersion } from "../versions";

export type AddonName = (typeof EKS_ADDONS)[number];
/** undefined: leave the add-on at what runs (the provider keeps the version when none is given). */
export type AddonVersions = Record<AddonName, string | undefined>;

export interface AddonDecision {
    versions: AddonVersions;
    /** Add-ons whose version must be looked up (the most recent compatible with the target). */
    lookups: AddonName[];
    issues: ConfigIssue[];
}

/** "v1.19.2-eksbuild.1" -> [1, 19]; undefined when it is not such a version. */
export function addonMinor(version: string): [number, number] | undefined {
    const m = /^v?(\d+)\.(\d+)\./.exec(version);
    return m ? [Number(m[1]), Number(m[2])] : undefined;
}

/** The decision before lookups: pins, recorded versions, promoted versions, and which need a lookup. */
export function decideAddons(plan: ClusterPlan, source?: RunningCluster): AddonDecision {
    const pins = plan.cluster.eks?.addonVersions ?? {};
    const recorded = plan.running?.addons ?? {};
    const upgrading = !plan.exists || plan.controlPlane.change === "minor";
    const target = requireVersion(plan.cluster.kubernetesVersion);
    const promoted =
        source && compareMinor(requireVersion(source.controlPlaneVersion), target) === 0 ? (source.addons ?? {}) : {};
    const versions = {} as AddonVersions;
    const lookups: AddonName[] = [];
    for (const addon of EKS_ADDONS) {
        if (pins[addon]) versions[addon] = pins[addon];
        else if (upgrading && promoted[addon]) versions[addon] = promoted[addon];
        else if (upgrading) lookups.push(addon);
        else versions[addon] = recorded[addon];
    }
    return { versions, lookups, issues: [] };
}

/** Completes the decision with looked-up versions, refusing a VPC CNI move of more than one minor. */
export function finishAddons(
    plan: ClusterPlan,
    index: number,
    decision: AddonDecision,
    found: Partial<Record<AddonName, string>>,
): AddonDecision {
    const versions = { ...decision.versions };
    for (const addon of decision.lookups) versions[addon] = found[addon];
    const issues = [...decision.issues];
    const from = plan.running?.addons?.["vpc-cni"];
    const to = versions["vpc-cni"];
    const a = from ? addonMinor(from) : undefined;
    const b = to ? addonMinor(to) : undefined;
    if (from && to && a && b && (a[0] !== b[0] || Math.abs(b[1] - a[1]) > 1)) {
        const next = `v${a[0]}.${a[1] + (b[1] > a[1] ? 1 : -1)}`;
        issues.push({
            stack: plan.stack,
            cluster: plan.cluster.name,
            field: `clusters[${index}].eks.addonVersions.vpc-cni`,
            given: to,
            allowed: `a ${next}.x build (one minor from ${from}, what runs)`,
            hint: `EKS refuses a VPC CNI update that moves more than one minor at a time ("Updating VPC-CNI can only go up or down 1 minor version at a time"). Pin eks.addonVersions.vpc-cni to the newest ${next} build (aws eks describe-addon-versions --addon-name vpc-cni --kubernetes-version ${plan.cluster.kubernetesVersion}), deploy, repeat one minor at a time up to ${to}, then remove the pin.`,
        });
    }
    return { versions, lookups: [], issues };
}
