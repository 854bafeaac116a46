// Checks each cluster's target against which Kubernetes minors its provider offers, as of the date the table was read.
// A version no provider can run (not released yet, or older than any package repository) is refused; one outside the
// provider's current list is a warning, since the table ages and the provider has the last word.
import {
    NEWEST_RELEASED_MINOR,
    OLDEST_INSTALLABLE_MINOR,
    PROVIDER_VERSIONS,
    SUPPORTED_AS_OF,
} from "../../policy/supported-versions";
import { compareMinor, formatMinor, parseVersion } from "../versions";
import type { ConfigIssue } from "./issues";
import type { ProviderName, StackConfig } from "./schema";

// The table itself lives in the policy pack (policy/supported-versions.ts), which publishes on its own and uses it for
// its default support window; it is re-exported here for the program and the tools.
export {
    NEWEST_RELEASED_MINOR,
    OLDEST_INSTALLABLE_MINOR,
    PROVIDER_VERSIONS,
    STALE_AFTER_DAYS,
    SUPPORTED_AS_OF,
    staleTableWarning,
    versionTableAge,
} from "../../policy/supported-versions";

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
