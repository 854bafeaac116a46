// Which Kubernetes minors each provider offers, kept in the code with the date it was read. A version no provider
// can run (not released yet, or older than any package repository) is refused; one outside the provider's current
// list is a warning, since the table ages and the provider has the last word.
import { compareMinor, formatMinor, parseVersion } from "../versions";
import type { ConfigIssue } from "./issues";
import type { ProviderName, StackConfig } from "./schema";

export const SUPPORTED_AS_OF = "2026-11-30";
/** The newest minor released upstream on that date (1.37.1 shipped on 2026-09-15). */
export const NEWEST_RELEASED_MINOR = "1.37";
/** The oldest minor the community package repositories (pkgs.k8s.io) serve; older ones cannot be installed. */
export const OLDEST_INSTALLABLE_MINOR = "1.24";

interface ProviderVersions {
    minors: string[];
    source: string;
}

/**
 * LKE: versions arrive 4-8 weeks after upstream and leave shortly before upstream end of life (1.34: 2026-10-28).
 * EKS: standard support 14 months, then extended support 12 months; 1.31's extended support ended 2026-11-26,
 * 1.32 runs in extended support until 2027-03-23, 1.33 until 2027-07-29; 1.34 is in standard support until
 * 2026-12-02. kubeadm and Cluster API: the maintained upstream minors.
 */
export const PROVIDER_VERSIONS: Record<ProviderName, ProviderVersions> = {
    lke: { minors: ["1.35", "1.36", "1.37"], source: "the LKE versioning and life cycle policy" },
    eks: {
        minors: ["1.32", "1.33", "1.34", "1.35", "1.36"],
        source: "the EKS Kubernetes version calendar (standard and extended support)",
    },
    kubeadm: { minors: ["1.35", "1.36", "1.37"], source: "the upstream release calendar (maintained minors)" },
    "capi-aws": { minors: ["1.35", "1.36", "1.37"], source: "the upstream release calendar (maintained minors)" },
    // GKE's own list is read per location at preview (getEngineVersions); this is the fallback's upstream calendar.
    gke: { minors: ["1.35", "1.36", "1.37"], source: "the upstream release calendar (maintained minors)" },
    aks: {
        minors: ["1.34", "1.35", "1.36"],
        source: "the AKS Kubernetes release calendar (generally available minors; the upgrade profile has the last word)",
    },
};

export interface VersionCheck {
    issues: ConfigIssue[];
    warnings: string[];
}

/**
 * Checks each cluster's target against what its provider offers. `running` maps cluster names to the control plane
 * version the previous deployment recorded: a version that does not change is never refused for its age.
 */
export function checkSupportedVersions(
    config: StackConfig,
    running: Record<string, string | undefined>,
    /** Minors the provider's own API listed at preview time; they replace the table where present. */
    live: Partial<Record<ProviderName, string[]>> = {},
): VersionCheck {
    const out: VersionCheck = { issues: [], warnings: [] };
    config.clusters.forEach((cluster, index) => {
        const target = parseVersion(cluster.kubernetesVersion);
        if (!target) return;
        const minor = formatMinor(target);
        const fetched = live[cluster.provider];
        const table = fetched?.length
            ? { minors: fetched, from: `as listed by the ${cluster.provider} API now` }
            : {
                  ...PROVIDER_VERSIONS[cluster.provider],
                  from: `as of ${SUPPORTED_AS_OF}, from ${PROVIDER_VERSIONS[cluster.provider].source}`,
              };
        const valid = `${table.minors.join(", ")} on ${cluster.provider} (${table.from})`;
        const now = parseVersion(running[cluster.name]);
        const unchanged = now !== undefined && compareMinor(now, target) === 0;
        const issue = (allowed: string, hint: string) =>
            out.issues.push({
                stack: config.stack,
                cluster: cluster.name,
                field: `clusters[${index}].kubernetesVersion`,
                given: cluster.kubernetesVersion,
                allowed,
                hint,
            });
        if (compareMinor(target, parseVersion(NEWEST_RELEASED_MINOR)!) > 0)
            issue(
                valid,
                `Kubernetes ${minor} was not released as of ${SUPPORTED_AS_OF} (the newest minor was ${NEWEST_RELEASED_MINOR}). If it has been since, update k8s-upgrades, whose version table carries that date.`,
            );
        else if (!unchanged && compareMinor(target, parseVersion(OLDEST_INSTALLABLE_MINOR)!) < 0)
            issue(
                valid,
                `Kubernetes ${minor} is older than any version a provider or package repository still offers (${OLDEST_INSTALLABLE_MINOR} is the oldest installable). Choose one of the versions above.`,
            );
        else if (!unchanged && !table.minors.includes(minor))
            out.warnings.push(
                `cluster ${cluster.name}: Kubernetes ${minor} is not among the versions ${cluster.provider} offers: ${valid}. The provider may refuse it.`,
            );
    });
    return out;
}
