// The one module that builds the shell run on the user's machine during `pulumi up`.
// Each script is standalone bash: the shared helpers (scripts/lib.sh) followed by one body.
// Parameters and secrets arrive through the environment only, so script text is constant per kind,
// reviewable in a diff, and lintable with shellcheck.
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { gzipSync } from "node:zlib";
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
    "kubeadm-wait-ready",
    "capi-retire",
    "eks-nodegroup-version",
    "aks-system-pool",
    "lke-shrink-pool",
    "rollout-soak",
] as const;
export type ScriptKind = (typeof SCRIPT_KINDS)[number];

/** Scripts that run on a node over SSH; their parameters are written into the script (see buildRemoteScript). */
export const REMOTE_SCRIPT_KINDS = [
    "kubeadm-etcd-snapshot",
    "kubeadm-control-plane",
    "kubeadm-kubelet",
    "kubeadm-etcd-restore",
] as const;
export type RemoteScriptKind = (typeof REMOTE_SCRIPT_KINDS)[number];
/** The parameters each remote script takes, all required. */
export const REMOTE_SCRIPT_PARAMS: Record<RemoteScriptKind, readonly string[]> = {
    "kubeadm-etcd-snapshot": ["K8SU_TARGET_VERSION", "K8SU_SNAPSHOT_DIR"],
    "kubeadm-control-plane": ["K8SU_TARGET_VERSION", "K8SU_PACKAGE_MANAGER", "K8SU_SWITCH_REPOSITORY", "K8SU_FIRST"],
    "kubeadm-kubelet": ["K8SU_TARGET_VERSION", "K8SU_PACKAGE_MANAGER", "K8SU_SWITCH_REPOSITORY", "K8SU_ROLE"],
    // Never part of a deployment: only `npm run restore` sends it (tools/restore.ts).
    "kubeadm-etcd-restore": [
        "K8SU_SNAPSHOT",
        "K8SU_TARGET_VERSION",
        "K8SU_PACKAGE_MANAGER",
        "K8SU_SWITCH_REPOSITORY",
        "K8SU_NODE_NAME",
        "K8SU_TIMEOUT_SECONDS",
    ],
};

/** The interpreter every generated script runs under. */
export const INTERPRETER = ["/usr/bin/env", "bash", "-c"];

/**
 * The folder the builders read: scripts/ beside this module. K8SU_SCRIPT_DIR points them at a mutated copy for
 * the shell mutation runner (tools/mutate-scripts.ts) and nowhere else: it is honoured only with NODE_ENV=test and
 * K8SU_SCRIPT_MUTANTS=1, and never when the Pulumi engine runs the program (its language host sets
 * PULUMI_NODEJS_MONITOR), so a real `pulumi up` or destroy cannot be made to run other scripts. Set anywhere
 * else, it stops the program with an error rather than being ignored in silence.
 */
export function scriptDir(env: NodeJS.ProcessEnv = process.env): string {
    const own = path.join(__dirname, "scripts");
    const other = env.K8SU_SCRIPT_DIR;
    if (other === undefined || other === "") return own;
    const underEngine = Boolean(env.PULUMI_NODEJS_MONITOR || env.PULUMI_NODEJS_ENGINE);
    if (env.NODE_ENV === "test" && env.K8SU_SCRIPT_MUTANTS === "1" && !underEngine) return other;
    throw new Error(
        `K8SU_SCRIPT_DIR is set to ${JSON.stringify(other)}${underEngine ? " while the Pulumi engine runs the program" : ""}, ` +
            "but only the script mutation runner may point the step scripts at another folder " +
            "(NODE_ENV=test and K8SU_SCRIPT_MUTANTS=1, outside the Pulumi engine). " +
            `Unset K8SU_SCRIPT_DIR: the program runs the scripts in ${own}.`,
    );
}
const cache = new Map<ScriptKind, string>();

export function buildScript(kind: ScriptKind): string {
    const cached = cache.get(kind);
    if (cached) return cached;
    const dir = scriptDir();
    const lib = fs.readFileSync(path.join(dir, "lib.sh"), "utf8");
    const body = fs.readFileSync(path.join(dir, `${kind}.sh`), "utf8");
    const script = `#!/usr/bin/env bash\n# k8s-upgrades: ${kind} (generated; do not edit the copy in state)\n${lib}\n${body}`;
    cache.set(kind, script);
    return script;
}

/** The sha256 of a script as buildScript builds it: what the step forms below name and check. */
export function scriptDigest(kind: ScriptKind): string {
    return createHash("sha256").update(buildScript(kind)).digest("hex");
}

/**
 * Where the step scripts live, relative to the project directory (the command provider's working directory):
 * components/scripts/run.sh in this checkout, node_modules/k8s-upgrades/dist/components/scripts/run.sh for a
 * program that installed the package. Relative, so that every machine plans the same text.
 */
export const SCRIPT_RUNNER = runnerPath();

function runnerPath(): string {
    // Through real paths: the offline plan's compiled build (tools/capture-build.ts) links scripts/ to the checkout's.
    const real = (p: string) => (fs.existsSync(p) ? fs.realpathSync(p) : p);
    const relative = path
        .relative(real(process.cwd()), path.join(real(path.join(__dirname, "scripts")), "run.sh"))
        .split(path.sep)
        .join("/");
    return /^[\w./-]+$/.test(relative) ? relative : shellQuote(relative);
}

/**
 * A step's create script as it sits in the Command's inputs: two lines that run the script from the project's
 * checkout after checking its sha256. Create and update run during the `pulumi up` of that same checkout, so the
 * text stays the same between upgrades (the parameters are in the environment) and a preview shows one line.
 */
export function checkoutScript(kind: ScriptKind): string {
    const digest = scriptDigest(kind);
    return `# k8s-upgrades: ${kind} (components/scripts; parameters in the environment)\nexec bash ${SCRIPT_RUNNER} ${kind} ${digest}\n`;
}

const embeddedCache = new Map<ScriptKind, string>();
/**
 * A step's delete script as it sits in the Command's inputs. The engine runs it from state, possibly after the
 * package was upgraded and the checkout's scripts changed, so it carries the whole script as deployed (gzip and
 * base64, one line) and checks its sha256 before running it. Its text only changes when the script does.
 */
export function embeddedScript(kind: ScriptKind): string {
    const cached = embeddedCache.get(kind);
    if (cached) return cached;
    const gz = gzipSync(Buffer.from(buildScript(kind)), { level: 9 });
    gz[9] = 0xff; // the gzip header's OS byte, fixed so that every machine embeds the same text
    const digest = scriptDigest(kind);
    const text = [
        `# k8s-upgrades: ${kind} (components/scripts/lib.sh + ${kind}.sh as deployed, embedded; sha256 ${digest})`,
        "set -euo pipefail",
        `s="$(mktemp)"; trap 'rm -f "$s"' EXIT`,
        `printf '%s' '${gz.toString("base64")}' | base64 -d | gzip -dc > "$s" || { echo "[k8s-upgrades] FAILED: cannot unpack the embedded ${kind} script (needs base64 and gzip)" >&2; exit 1; }`,
        `sum="$({ sha256sum 2>/dev/null || shasum -a 256; } < "$s")" || { echo "[k8s-upgrades] FAILED: neither sha256sum nor shasum is installed" >&2; exit 1; }`,
        `[ "\${sum%% *}" = ${digest} ] || { echo "[k8s-upgrades] FAILED: the embedded ${kind} script does not match its sha256" >&2; exit 1; }`,
        `bash "$s"`,
        "",
    ].join("\n");
    embeddedCache.set(kind, text);
    return text;
}

/** The header's reader belongs to the policy pack, which recognises these scripts in any program. */
export { scriptKindOf } from "../policy/script-header";

/** Single-quotes a value for bash. */
export function shellQuote(value: string): string {
    return `'${value.replace(/'/g, `'\\''`)}'`;
}

const remoteCache = new Map<RemoteScriptKind, string>();
/**
 * A script run over SSH as `bash -s`. Remote environment variables depend on the server's AcceptEnv, so the
 * (non-secret) parameters are written into the script as quoted assignments after its header.
 */
export function buildRemoteScript(kind: RemoteScriptKind, params: Record<string, string>): string {
    let body = remoteCache.get(kind);
    if (!body) {
        const read = (f: string) => fs.readFileSync(path.join(scriptDir(), f), "utf8");
        body = `${read("lib.sh")}\n${read("kubeadm-lib.sh")}\n${read(`${kind}.sh`)}`;
        remoteCache.set(kind, body);
    }
    const expected = REMOTE_SCRIPT_PARAMS[kind];
    const given = Object.keys(params).sort();
    if (given.join() !== [...expected].sort().join())
        throw new Error(`${kind} takes ${expected.join(", ")}; given ${given.join(", ")}`);
    const assignments = expected.map((k) => `${k}=${shellQuote(params[k])}`);
    // bash reads a script from stdin as it runs it, so a child that reads stdin (a dpkg conffile prompt, sudo
    // asking for a password) would swallow the rest of the script, and bash would end early with status 0. The
    // whole body is one function, read to its closing brace before anything runs, then called with stdin from
    // /dev/null: nothing it starts can read the script.
    return [
        "#!/usr/bin/env bash",
        `# k8s-upgrades: ${kind} (generated; do not edit the copy in state)`,
        ...assignments,
        "k8su_main() {",
        body,
        "}",
        "k8su_main </dev/null",
        "",
    ].join("\n");
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
