// Which Kubernetes minors each provider offers, with the date the table was last checked against the providers'
// published calendars. The program warns about a target outside its provider's list, the policy pack's default
// support window is each provider's oldest minor here, and the offline plan says how old the table is. Pure and
// owned by the policy pack (published on its own); the program reaches it through components/config.
//
// Read on 2026-12-07 from:
// - upstream, kubernetes.io/releases/1.34 … /1.37 and kubernetes/sig-release releases/release-1.38/README.md:
//   1.34 reached end of life on 2026-10-27; 1.35 is maintained until 2027-02-28, 1.36 until 2027-06-28, 1.37
//   (1.37.0 on 2026-08-26) until 2027-10-28; 1.38.0 is scheduled for 2026-12-16, so 1.37 is the newest release.
// - LKE, techdocs.akamai.com/cloud-computing/docs/lke-versioning-and-life-cycle-policy: a minor arrives 4-8 weeks
//   after upstream and leaves shortly before its upstream end of life. Derived from that rule and the upstream
//   dates above (1.34 gone, 1.37 arrived by late October), not from an LKE release note.
// - EKS, docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html (release calendar) and its standard
//   support notes ("Kubernetes 1.36 is now available in Amazon EKS"): 1.31's extended support ended 2026-11-26;
//   extended support runs for 1.32 until 2027-03-23, 1.33 until 2027-07-29, 1.34 until 2027-12-02 (its standard
//   support ended 2026-12-02); 1.35 (on EKS since 2026-01-28) and 1.36 are in standard support. No source seen
//   says 1.37 is on EKS yet, so it is not listed.
// - AKS, learn.microsoft.com/azure/aks/supported-kubernetes-versions (release calendar of 2026-08-05): 1.34 reached
//   end of life in November 2026 (platform support only, no new clusters); 1.35 until March 2027, 1.36 until June
//   2027; 1.37 generally available from October 2026 as that calendar planned it. The upgrade profile read at
//   preview time has the last word.
// - GKE: its own list is read per location at preview time (getEngineVersions); this fallback is upstream's.
// - kubeadm and Cluster API: the maintained upstream minors.
import { compareMinor, parseVersion } from "./versions";

/** The day this table was last checked against the sources above (YYYY-MM-DD). */
export const SUPPORTED_AS_OF = "2026-12-07";
/** After this many days the offline plan warns that the table may no longer say what the providers offer. */
export const STALE_AFTER_DAYS = 90;
/** The newest minor released upstream on that date. */
export const NEWEST_RELEASED_MINOR = "1.37";
/** The oldest minor the community package repositories (pkgs.k8s.io) serve; older ones cannot be installed. */
export const OLDEST_INSTALLABLE_MINOR = "1.24";

/** The providers the table covers: the program's provider names. */
export type OfferingProvider = "lke" | "eks" | "kubeadm" | "capi-aws" | "gke" | "aks";

export interface ProviderVersions {
    /** The minors offered for new clusters and upgrades, oldest first. */
    minors: string[];
    source: string;
}

const UPSTREAM = "the upstream release calendar (maintained minors)";

export const PROVIDER_VERSIONS: Record<OfferingProvider, ProviderVersions> = {
    lke: { minors: ["1.35", "1.36", "1.37"], source: "the LKE versioning and life cycle policy" },
    eks: {
        minors: ["1.32", "1.33", "1.34", "1.35", "1.36"],
        source: "the EKS Kubernetes version calendar (standard and extended support)",
    },
    kubeadm: { minors: ["1.35", "1.36", "1.37"], source: UPSTREAM },
    "capi-aws": { minors: ["1.35", "1.36", "1.37"], source: UPSTREAM },
    gke: { minors: ["1.35", "1.36", "1.37"], source: UPSTREAM },
    aks: {
        minors: ["1.35", "1.36", "1.37"],
        source: "the AKS Kubernetes release calendar (generally available minors; the upgrade profile has the last word)",
    },
};

/** The oldest minor `provider` offers in the table, or undefined for a provider the table does not cover. */
export function oldestOfferedMinor(provider: string): string | undefined {
    const minors = PROVIDER_VERSIONS[provider as OfferingProvider]?.minors ?? [];
    return [...minors].sort((a, b) => compareMinor(parseVersion(a)!, parseVersion(b)!))[0];
}

/** "lke 1.35, eks 1.32, …": each provider's oldest offered minor, for messages and the policy's documentation. */
export function oldestOfferedMinors(): string {
    return Object.keys(PROVIDER_VERSIONS)
        .map((p) => `${p} ${oldestOfferedMinor(p)}`)
        .join(", ");
}

const DAY_MS = 24 * 60 * 60 * 1000;

export interface TableAge {
    /** The day the table was checked. */
    checked: string;
    /** Whole days from that day to `today` (negative if `today` is earlier). */
    days: number;
    /** More than STALE_AFTER_DAYS old. */
    stale: boolean;
}

/** How old the table is on `today` (the day is read in UTC). */
export function versionTableAge(today: Date, checked = SUPPORTED_AS_OF): TableAge {
    const start = Date.parse(`${checked}T00:00:00Z`);
    const day = Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate());
    const days = Math.round((day - start) / DAY_MS);
    return { checked, days, stale: days > STALE_AFTER_DAYS };
}

/** The plan's warning when the table is more than STALE_AFTER_DAYS old on `today`; undefined otherwise. */
export function staleTableWarning(today: Date, checked = SUPPORTED_AS_OF): string | undefined {
    const age = versionTableAge(today, checked);
    if (!age.stale) return undefined;
    return (
        `the version table was last checked on ${age.checked}, ${age.days} days ago (more than ${STALE_AFTER_DAYS}): ` +
        "providers may have added or retired minors since, so its offered-version warnings and the policy's support " +
        "window may be wrong. Update k8s-upgrades, or check your providers' version calendars before trusting them."
    );
}
