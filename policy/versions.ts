// Kubernetes version rules: parsing, transitions and the official version-skew policy.
// Pure, dependency-free and owned by the policy pack, which is published on its own; the program, the planner
// and the tools reach them through components/versions.ts, so there is one copy of every rule.

/** A Kubernetes version as written in config: a minor ("1.31") or a full patch version ("1.31.4"). */
export interface KubeVersion {
    major: number;
    minor: number;
    /** Undefined when only the minor was given. */
    patch?: number;
}

// Numeric parts as semver writes them: no leading zeros.
const NUMBER = "(0|[1-9]\\d*)";
const VERSION_PATTERN = new RegExp(`^v?${NUMBER}\\.${NUMBER}(?:\\.${NUMBER})?$`);
/** A provider's version string: a Kubernetes version, then optionally a build suffix ("1.31.4-gke.1000", "1.31.4+k3s1"). */
const PROVIDER_VERSION_PATTERN = new RegExp(`^v?${NUMBER}\\.${NUMBER}(?:\\.${NUMBER})?(?:[-+][0-9A-Za-z.+-]*)?$`);

function fromMatch(match: RegExpExecArray | null): KubeVersion | undefined {
    if (!match) return undefined;
    const [major, minor, patch] = [match[1], match[2], match[3]].map((x) => (x === undefined ? undefined : Number(x)));
    if (![major, minor, patch ?? 0].every((n) => Number.isSafeInteger(n))) return undefined;
    return { major: major!, minor: minor!, patch };
}

/** Parses "1.31", "1.31.4", "v1.31.4". Returns undefined for anything else (pre-releases included). */
export function parseVersion(text: unknown): KubeVersion | undefined {
    return typeof text === "string" ? fromMatch(VERSION_PATTERN.exec(text.trim())) : undefined;
}

/**
 * Parses a version as providers report it, build suffixes allowed: GKE's "1.31.4-gke.1000", EKS's "1.31",
 * AKS's "1.31.2". The suffix is ignored: it names a build of the same Kubernetes version.
 */
export function parseProviderVersion(text: unknown): KubeVersion | undefined {
    return typeof text === "string" ? fromMatch(PROVIDER_VERSION_PATTERN.exec(text.trim())) : undefined;
}

/** Parses or throws; for values already validated by the config module. */
export function requireVersion(text: string): KubeVersion {
    const v = parseVersion(text);
    if (!v) throw new Error(`not a Kubernetes version: ${JSON.stringify(text)}`);
    return v;
}

/** "1.31" or "1.31.4", without the leading v. */
export function formatVersion(v: KubeVersion): string {
    return v.patch === undefined ? `${v.major}.${v.minor}` : `${v.major}.${v.minor}.${v.patch}`;
}

/** "1.31": the form managed services (LKE, EKS) take. */
export function formatMinor(v: KubeVersion): string {
    return `${v.major}.${v.minor}`;
}

/** Compares minors only: negative when a's minor is older than b's. */
export function compareMinor(a: KubeVersion, b: KubeVersion): number {
    return a.major !== b.major ? a.major - b.major : a.minor - b.minor;
}

/** Number of minors from `from` to `to` within the same major (negative when `to` is older). */
export function minorDistance(from: KubeVersion, to: KubeVersion): number {
    if (from.major !== to.major) throw new Error("Kubernetes has no major-version upgrades; both versions must be 1.x");
    return to.minor - from.minor;
}

/**
 * Full comparison: minor, then patch. A minor-only version stands for "whatever patch the provider runs":
 * it equals any patch of that minor.
 */
export function compareVersions(a: KubeVersion, b: KubeVersion): number {
    const byMinor = compareMinor(a, b);
    if (byMinor !== 0) return byMinor;
    if (a.patch === undefined || b.patch === undefined) return 0;
    return a.patch - b.patch;
}

/**
 * Promotion: may a stack target `target` when its promotesFrom stack runs `source`? Never ahead of the source,
 * and a pinned patch counts only when the source ran that patch or a newer one: a source that records only the
 * minor ("1.31") does not prove "1.31.5". Returns why not, or undefined when allowed.
 */
export function promotionRefusal(target: KubeVersion, source: KubeVersion): string | undefined {
    const byMinor = compareMinor(target, source);
    if (byMinor < 0) return undefined;
    if (byMinor > 0) return `${formatVersion(target)} is a newer minor than ${formatVersion(source)}`;
    if (target.patch === undefined) return undefined;
    if (source.patch === undefined)
        return `${formatVersion(target)} pins a patch, but the source records only the minor ${formatVersion(source)}`;
    return target.patch > source.patch
        ? `${formatVersion(target)} is a newer patch than ${formatVersion(source)}`
        : undefined;
}

export type Transition =
    | { kind: "none" }
    | { kind: "patch" }
    | { kind: "minor" }
    | { kind: "skip"; minors: number; path: string[] }
    | { kind: "downgrade" }
    | { kind: "major" };

/**
 * What moving the control plane from `running` to `target` means.
 * The apiserver must never skip a minor, even with one instance, and this product never goes down.
 */
export function controlPlaneTransition(running: KubeVersion, target: KubeVersion): Transition {
    if (running.major !== target.major) return { kind: "major" };
    const cmp = compareVersions(running, target);
    if (cmp === 0) return { kind: "none" };
    if (cmp > 0) return { kind: "downgrade" };
    const minors = minorDistance(running, target);
    if (minors === 0) return { kind: "patch" };
    if (minors === 1) return { kind: "minor" };
    return { kind: "skip", minors, path: minorPath(running, target) };
}

/** The minors an upgrade passes through, each one a separate deployment: 1.29 → 1.32 gives ["1.30","1.31","1.32"]. */
export function minorPath(from: KubeVersion, to: KubeVersion): string[] {
    const steps: string[] = [];
    for (let m = from.minor + 1; m <= to.minor && from.major === to.major; m++) steps.push(`${from.major}.${m}`);
    return steps;
}

/** How many minors a kubelet (or kube-proxy) may lag the apiserver: three, or two for kubelets older than 1.25. */
export function maxKubeletLag(kubelet: KubeVersion): number {
    return kubelet.major === 1 && kubelet.minor < 25 ? 2 : 3;
}

export interface SkewVerdict {
    ok: boolean;
    /** Why not, in the policy's words; empty when ok. */
    reason: string;
}

const OK: SkewVerdict = { ok: true, reason: "" };

function verdict(ok: boolean, reason: string): SkewVerdict {
    return ok ? OK : { ok, reason };
}

/**
 * kubelet: never newer than the apiserver; up to three minors older (two below 1.25).
 * With several apiservers (HA, mid-upgrade) the window is judged against each of them: the oldest
 * bounds "never newer", the newest bounds the lag.
 */
export function kubeletSkew(apiservers: KubeVersion | KubeVersion[], kubelet: KubeVersion): SkewVerdict {
    const list = Array.isArray(apiservers) ? apiservers : [apiservers];
    if (list.length === 0) throw new Error("kubeletSkew needs at least one apiserver version");
    const oldest = list.reduce((a, b) => (compareMinor(a, b) <= 0 ? a : b));
    const newest = list.reduce((a, b) => (compareMinor(a, b) >= 0 ? a : b));
    if (compareMinor(kubelet, oldest) > 0) {
        return verdict(
            false,
            `kubelet ${formatMinor(kubelet)} is newer than the apiserver ${formatMinor(oldest)}; kubelets must never be newer than the apiserver`,
        );
    }
    const lag = minorDistance(kubelet, newest);
    const max = maxKubeletLag(kubelet);
    return verdict(
        lag <= max,
        `kubelet ${formatMinor(kubelet)} is ${lag} minors older than the apiserver ${formatMinor(newest)}; at most ${max} are supported${max === 2 ? " for kubelets older than 1.25" : ""}`,
    );
}
