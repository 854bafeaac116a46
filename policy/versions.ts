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

/** True when the control plane may go from `running` to `target` in one deployment. */
export function isAllowedControlPlaneStep(running: KubeVersion, target: KubeVersion): boolean {
    const t = controlPlaneTransition(running, target);
    return t.kind === "none" || t.kind === "patch" || t.kind === "minor";
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

/** The oldest kubelet minor an apiserver supports. */
export function oldestSupportedKubelet(apiserver: KubeVersion): KubeVersion {
    for (let lag = 3; lag >= 0; lag--) {
        const candidate = { major: apiserver.major, minor: apiserver.minor - lag };
        if (candidate.minor >= 0 && kubeletSkew(apiserver, candidate).ok) return candidate;
    }
    return { major: apiserver.major, minor: apiserver.minor };
}

/** kube-proxy: like the kubelet against the apiserver, and within three minors (two below 1.25) of the kubelet beside it. */
export function kubeProxySkew(apiserver: KubeVersion, kubeProxy: KubeVersion, kubelet?: KubeVersion): SkewVerdict {
    const lag = minorDistance(kubeProxy, apiserver);
    if (lag < 0)
        return {
            ok: false,
            reason: `kube-proxy ${formatMinor(kubeProxy)} is newer than the apiserver ${formatMinor(apiserver)}`,
        };
    if (lag > maxKubeletLag(kubeProxy)) {
        return {
            ok: false,
            reason: `kube-proxy ${formatMinor(kubeProxy)} is ${lag} minors older than the apiserver ${formatMinor(apiserver)}; at most ${maxKubeletLag(kubeProxy)} are supported`,
        };
    }
    if (kubelet) {
        const gap = Math.abs(minorDistance(kubelet, kubeProxy));
        const max = Math.min(maxKubeletLag(kubelet), maxKubeletLag(kubeProxy));
        if (gap > max)
            return {
                ok: false,
                reason: `kube-proxy ${formatMinor(kubeProxy)} is ${gap} minors from the kubelet ${formatMinor(kubelet)} beside it; at most ${max} are supported`,
            };
    }
    return OK;
}

/** kube-controller-manager, kube-scheduler, cloud-controller-manager: never newer than the apiserver, at most one minor older. */
export function controllerSkew(apiservers: KubeVersion | KubeVersion[], component: KubeVersion): SkewVerdict {
    const list = Array.isArray(apiservers) ? apiservers : [apiservers];
    for (const api of list) {
        const lag = minorDistance(component, api);
        if (lag < 0)
            return {
                ok: false,
                reason: `controller ${formatMinor(component)} is newer than the apiserver ${formatMinor(api)}`,
            };
        if (lag > 1)
            return {
                ok: false,
                reason: `controller ${formatMinor(component)} is ${lag} minors older than the apiserver ${formatMinor(api)}; at most one is supported`,
            };
    }
    return OK;
}

/** kubectl: within one minor, older or newer, of the apiserver. */
export function kubectlSkew(apiserver: KubeVersion, kubectl: KubeVersion): SkewVerdict {
    const gap = Math.abs(minorDistance(apiserver, kubectl));
    return verdict(
        gap <= 1,
        `kubectl ${formatMinor(kubectl)} is ${gap} minors from the apiserver ${formatMinor(apiserver)}; kubectl supports one minor either way`,
    );
}

/** HA control planes: the newest and oldest apiserver are within one minor. */
export function apiserverSkew(apiservers: KubeVersion[]): SkewVerdict {
    if (apiservers.length < 2) return OK;
    const minors = apiservers.map((v) => v.minor);
    const spread = Math.max(...minors) - Math.min(...minors);
    return verdict(
        spread <= 1,
        `apiservers span ${spread} minors; in an HA control plane the newest and oldest must be within one minor`,
    );
}
