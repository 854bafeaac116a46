// The one module that builds the shell run on the user's machine during `pulumi up`.
// Each script is standalone bash: the shared helpers (scripts/lib.sh) followed by one body.
// Parameters and secrets arrive through the environment only, so script text is constant per kind,
// reviewable in a diff, and lintable with shellcheck.
import * as fs from "node:fs";
import * as path from "node:path";
import type { DrainSettings } from "./config";

export const SCRIPT_KINDS = [
    "preflight",
    "wait-ready",
    "wait-resource",
    "cordon",
    "uncordon",
    "drain",
    "drain-guard-create",
    "validate",
    "local-command",
    "lke-control-plane",
    "lke-in-place",
    "lke-recycle-pool",
] as const;
export type ScriptKind = (typeof SCRIPT_KINDS)[number];

/** Scripts that run on a node over SSH; their parameters are written into the script (see buildRemoteScript). */
export const REMOTE_SCRIPT_KINDS = ["kubeadm-etcd-snapshot", "kubeadm-control-plane", "kubeadm-kubelet"] as const;
export type RemoteScriptKind = (typeof REMOTE_SCRIPT_KINDS)[number];
/** The parameters each remote script takes, all required. */
export const REMOTE_SCRIPT_PARAMS: Record<RemoteScriptKind, readonly string[]> = {
    "kubeadm-etcd-snapshot": ["K8SU_TARGET_VERSION", "K8SU_SNAPSHOT_DIR"],
    "kubeadm-control-plane": ["K8SU_TARGET_VERSION", "K8SU_PACKAGE_MANAGER", "K8SU_SWITCH_REPOSITORY", "K8SU_FIRST"],
    "kubeadm-kubelet": ["K8SU_TARGET_VERSION", "K8SU_PACKAGE_MANAGER", "K8SU_SWITCH_REPOSITORY", "K8SU_ROLE"],
};

/** The interpreter every generated script runs under. */
export const INTERPRETER = ["/usr/bin/env", "bash", "-c"];

const SCRIPT_DIR = path.join(__dirname, "scripts");
const cache = new Map<ScriptKind, string>();

export function buildScript(kind: ScriptKind): string {
    const cached = cache.get(kind);
    if (cached) return cached;
    const lib = fs.readFileSync(path.join(SCRIPT_DIR, "lib.sh"), "utf8");
    const body = fs.readFileSync(path.join(SCRIPT_DIR, `${kind}.sh`), "utf8");
    const script = `#!/usr/bin/env bash\n# k8s-upgrades: ${kind} (generated; do not edit the copy in state)\n${lib}\n${body}`;
    cache.set(kind, script);
    return script;
}

/** The kind a generated script was built as, read from its header line; undefined for any other text. */
export function scriptKindOf(text: unknown): string | undefined {
    return typeof text === "string" ? /# k8s-upgrades: ([a-z-]+)/.exec(text)?.[1] : undefined;
}

/** Single-quotes a value for bash. */
export function shellQuote(value: string): string {
    return `'${value.replace(/'/g, `'\\''`)}'`;
}

const remoteCache = new Map<RemoteScriptKind, string>();
/**
 * A script run over SSH. Remote environment variables depend on the server's AcceptEnv, so the
 * (non-secret) parameters are written into the script as quoted assignments after its header.
 */
export function buildRemoteScript(kind: RemoteScriptKind, params: Record<string, string>): string {
    let body = remoteCache.get(kind);
    if (!body) {
        const read = (f: string) => fs.readFileSync(path.join(SCRIPT_DIR, f), "utf8");
        body = `${read("lib.sh")}\n${read("kubeadm-lib.sh")}\n${read(`${kind}.sh`)}`;
        remoteCache.set(kind, body);
    }
    const expected = REMOTE_SCRIPT_PARAMS[kind];
    const given = Object.keys(params).sort();
    if (given.join() !== [...expected].sort().join())
        throw new Error(`${kind} takes ${expected.join(", ")}; given ${given.join(", ")}`);
    const assignments = expected.map((k) => `${k}=${shellQuote(params[k])}`);
    return `#!/usr/bin/env bash\n# k8s-upgrades: ${kind} (generated; do not edit the copy in state)\n${assignments.join("\n")}\n${body}`;
}

/**
 * The drain settings as the scripts read them. An unset grace period is an empty K8SU_GRACE_SECONDS: the drain
 * then passes no --grace-period, and each pod keeps its own terminationGracePeriodSeconds.
 */
export function drainEnvironment(d: DrainSettings): Record<string, string> {
    return {
        K8SU_BATCH_SIZE: String(d.batchSize),
        K8SU_SOAK_SECONDS: String(d.soakSeconds),
        K8SU_GRACE_SECONDS: d.gracePeriodSeconds === undefined ? "" : String(d.gracePeriodSeconds),
        K8SU_DRAIN_TIMEOUT_SECONDS: String(d.timeoutSeconds),
        K8SU_DELETE_EMPTYDIR_DATA: d.deleteEmptyDirData ? "true" : "false",
    };
}
