// Before an AKS control plane moves, the cluster's upgrade profile (what `az aks get-upgrades` shows) must offer the
// target minor. The provider has no typed invoke for that endpoint, so the generic resource read fetches it: GET
// .../managedClusters/<name>/upgradeProfiles/default. A profile that cannot be read, that does not say which version
// runs, or does not offer the target, is a refusal at preview, before any resource changes.
import * as resources from "@pulumi/azure-native/resources";
import { type ClusterConfig, type ConfigIssue, stackFile } from "../config";
import type { ClusterPlan } from "../plan";
import { compareMinor, formatMinor, parseVersion, requireVersion } from "../versions";

/** The ManagedCluster API version of @pulumi/azure-native v3's containerservice module, used for the read as well. */
export const AKS_API_VERSION = "2025-09-01";

export interface AksUpgradeProfile {
    /** The version the control plane runs (controlPlaneProfile.kubernetesVersion). */
    controlPlaneVersion?: string;
    /** The versions it can move to (controlPlaneProfile.upgrades[].kubernetesVersion). */
    upgrades: string[];
}

/** The cluster's name in Azure: aks.clusterName, else the cluster's name in config. */
export function aksClusterName(cluster: ClusterConfig): string {
    return cluster.aks?.clusterName ?? cluster.name;
}

/** The profile from the resource's properties, or undefined when they do not have its shape. */
export function readUpgradeProfile(properties: unknown): AksUpgradeProfile | undefined {
    const cp = (properties as { controlPlaneProfile?: unknown } | undefined)?.controlPlaneProfile as
        | { kubernetesVersion?: unknown; upgrades?: unknown }
        | undefined;
    if (!cp || !Array.isArray(cp.upgrades)) return undefined;
    const upgrades = cp.upgrades
        .map((u) => (u as { kubernetesVersion?: unknown } | null)?.kubernetesVersion)
        .filter((v): v is string => typeof v === "string");
    return {
        controlPlaneVersion: typeof cp.kubernetesVersion === "string" ? cp.kubernetesVersion : undefined,
        upgrades,
    };
}

/** The refusal when the profile does not offer the target minor (none when the control plane already runs it). */
export function upgradeProfileIssues(
    plan: ClusterPlan,
    index: number,
    profile: AksUpgradeProfile | Error | undefined,
): ConfigIssue[] {
    const cfg = plan.cluster;
    const target = requireVersion(cfg.kubernetesVersion);
    const name = aksClusterName(cfg);
    const group = cfg.aks?.resourceGroupName ?? "";
    const issue = (allowed: string, hint: string): ConfigIssue[] => [
        {
            stack: plan.stack,
            cluster: cfg.name,
            field: `clusters[${index}].kubernetesVersion`,
            given: cfg.kubernetesVersion,
            allowed,
            hint,
        },
    ];
    const ask = `az aks get-upgrades --resource-group ${group} --name ${name}`;
    if (!profile || profile instanceof Error)
        return issue(
            `a version the upgrade profile of AKS cluster ${group}/${name} offers, which could not be read${profile ? ` (${profile.message})` : " (the answer had no controlPlaneProfile.upgrades)"}`,
            `Nothing was changed. Check that the credentials of 'pulumi up' can read Microsoft.ContainerService/managedClusters/upgradeProfiles, and try '${ask}'.`,
        );
    const running = parseVersion(profile.controlPlaneVersion);
    // The offer is only judged against what runs: a profile that does not say it is not read as offering anything.
    if (!running)
        return issue(
            `a version the upgrade profile of AKS cluster ${group}/${name} offers, which could not be judged: the profile reports no readable current version (controlPlaneProfile.kubernetesVersion ${profile.controlPlaneVersion === undefined ? "absent" : JSON.stringify(profile.controlPlaneVersion)})`,
            `Nothing was changed. Check that the import ID or aks.clusterName names the cluster that runs, and try '${ask}'.`,
        );
    if (compareMinor(running, target) === 0) return [];
    const offered = profile.upgrades.map((v) => parseVersion(v)).filter((v) => v !== undefined);
    if (offered.some((v) => compareMinor(v, target) === 0)) return [];
    const minors = [...new Set(offered.map(formatMinor))];
    return issue(
        minors.length > 0
            ? `one of ${minors.join(", ")}: what AKS offers cluster ${group}/${name} (now at ${profile.controlPlaneVersion ?? "an unknown version"})`
            : `nothing: AKS offers cluster ${group}/${name} no upgrade now (at ${profile.controlPlaneVersion ?? "an unknown version"})`,
        `Nothing was changed. AKS does not offer ${formatMinor(target)} to this cluster (a version leaves the list when AKS retires it, and minors come one at a time). Choose an offered version in ${stackFile(plan.stack)}; '${ask}' lists them.`,
    );
}

/** Reads the profile through the provider and judges the plan's target; only when the control plane moves a minor. */
export async function checkUpgradeProfile(plan: ClusterPlan, index: number): Promise<ConfigIssue[]> {
    if (!plan.running || plan.controlPlane.change !== "minor") return [];
    const cfg = plan.cluster;
    let profile: AksUpgradeProfile | Error | undefined;
    try {
        const found = await resources.getResource({
            apiVersion: AKS_API_VERSION,
            resourceGroupName: cfg.aks!.resourceGroupName,
            resourceProviderNamespace: "Microsoft.ContainerService",
            parentResourcePath: `managedClusters/${aksClusterName(cfg)}`,
            resourceType: "upgradeProfiles",
            resourceName: "default",
        });
        profile = readUpgradeProfile(found.properties);
    } catch (err) {
        profile = err instanceof Error ? err : new Error(String(err));
    }
    return upgradeProfileIssues(plan, index, profile);
}
