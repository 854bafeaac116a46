// From the raw `k8s-upgrades:*` config to a typed StackConfig, or one ConfigError that lists every problem.
import { distance } from "fastest-levenshtein";
import type { z } from "zod";
import { ConfigError, type ConfigIssue, didYouMean, stackFile, suggest } from "./issues";
import { rolloutOf, type Said, type StackConfig, stackInput } from "./schema";

export const CONFIG_NAMESPACE = "k8s-upgrades";
export const STACK_KEYS = ["clusters", "promotesFrom", "firstDeployment", "rollout"] as const;

export interface ParseOptions {
    /** The stack's keys in other namespaces ("linode:token") with their values, to catch a misspelt namespace. */
    otherConfig?: Record<string, unknown>;
    /** Keys of this namespace (without the prefix) whose values Pulumi marks secret. */
    secretKeys?: readonly string[];
    /** Values Pulumi marks secret: scrubbed from every message whatever key they sit under. */
    secretValues?: readonly string[];
}

type Path = readonly PropertyKey[];

function isObject(x: unknown): x is Record<string, unknown> {
    return typeof x === "object" && x !== null && !Array.isArray(x);
}

function at(value: unknown, path: Path): unknown {
    let v = value;
    for (const p of path) {
        if (Array.isArray(v) && typeof p === "number") v = v[p];
        else if (isObject(v) && typeof p === "string") v = v[p];
        else return undefined;
    }
    return v;
}

/** `clusters[0].nodePools[1].labels["app.kubernetes.io/name"]`; a stack key alone is `k8s-upgrades:clusters`. */
export function fieldOf(path: Path): string {
    if (path.length <= 1) return `${CONFIG_NAMESPACE}:${String(path[0] ?? "")}`;
    return path
        .map((p, i) => {
            if (typeof p === "number") return `[${p}]`;
            const key = String(p);
            if (!/^[A-Za-z0-9_-]+$/.test(key)) return `[${JSON.stringify(key)}]`;
            return i === 0 ? key : `.${key}`;
        })
        .join("");
}

function clusterOf(raw: Record<string, unknown>, path: Path): string | undefined {
    if (path[0] !== "clusters" || typeof path[1] !== "number") return undefined;
    const name = at(raw, ["clusters", path[1], "name"]);
    return typeof name === "string" && name !== "" ? name : `#${path[1]}`;
}

function said(message: string): Said & { given?: unknown } {
    try {
        const parsed = JSON.parse(message) as Said;
        if (parsed && typeof parsed.allowed === "string") return parsed;
    } catch {
        /* zod's own wording */
    }
    return { allowed: message };
}

/** Zod's issues as ours: one per unknown key, the value looked up in what the user wrote. */
function toIssues(
    stack: string,
    raw: Record<string, unknown>,
    zodIssues: z.core.$ZodIssue[],
    secretKeys: readonly string[],
): ConfigIssue[] {
    const out: ConfigIssue[] = [];
    const push = (path: Path, given: unknown, s: Said) =>
        out.push({
            stack,
            cluster: clusterOf(raw, path),
            field: fieldOf(path),
            given,
            allowed: s.allowed,
            hint: s.hint,
            sensitive: secretKeys.includes(String(path[0])),
        });
    // A value of the wrong type gets one refusal: a length or range check zod still ran on it adds only noise.
    const mistyped = new Set(zodIssues.filter((i) => i.code === "invalid_type").map((i) => JSON.stringify(i.path)));
    for (const issue of zodIssues) {
        if (issue.code !== "invalid_type" && mistyped.has(JSON.stringify(issue.path))) continue;
        const s = said(issue.message);
        if (issue.code === "unrecognized_keys") {
            for (const key of issue.keys) {
                const path = [...issue.path, key];
                push(path, at(raw, path), {
                    allowed: s.allowed,
                    hint:
                        didYouMean(key, s.keys ?? []) ?? "Remove it, or check the config reference in docs/config.md.",
                });
            }
        } else if (issue.code === "invalid_key") {
            const inner = said(issue.issues[0]?.message ?? issue.message);
            push(issue.path, issue.path[issue.path.length - 1], inner);
        } else if (issue.code === "custom") {
            const withGiven = s as Said & { given?: unknown };
            // What the user wrote, unless the rule names one value inside it (a duplicate name in a list).
            const written = at(raw, issue.path);
            const named = withGiven.given;
            const given =
                named === undefined || typeof named === "object" || typeof written !== "object" ? written : named;
            push(issue.path, given, s);
        } else push(issue.path, at(raw, issue.path), s);
    }
    return out;
}

/** The secret keys clusters name (SSH keys, kubeconfigs): they live beside clusters in the namespace. */
function referencedSecrets(raw: Record<string, unknown>): string[] {
    const clusters = Array.isArray(raw.clusters) ? raw.clusters.filter(isObject) : [];
    return clusters.flatMap((c) => {
        const k = isObject(c.kubeadm) ? c.kubeadm : undefined;
        const capi = isObject(c["capi-aws"]) ? c["capi-aws"] : undefined;
        const ssh = k && isObject(k.ssh) ? k.ssh : {};
        return [
            ...(k ? [String(ssh.privateKeySecret ?? "sshPrivateKey"), String(k.kubeconfigSecret ?? "kubeconfig")] : []),
            ...(capi ? [String(capi.managementKubeconfigSecret ?? "managementKubeconfig")] : []),
        ];
    });
}

/** The secrets clusters name must be set, and kept secret: a plain value sits readable in the stack file. */
function unsafeSecrets(stack: string, raw: Record<string, unknown>, secretKeys: readonly string[]): ConfigIssue[] {
    return [...new Set(referencedSecrets(raw))].flatMap((key): ConfigIssue[] => {
        const field = `${CONFIG_NAMESPACE}:${key}`;
        const set = `pulumi config set --secret ${key} < FILE`;
        if (raw[key] === undefined)
            return [
                { stack, field, given: undefined, allowed: "a secret value a cluster names", hint: `Set it: ${set}.` },
            ];
        if (secretKeys.includes(key)) return [];
        return [
            {
                stack,
                field,
                given: raw[key],
                sensitive: true,
                allowed: "a value Pulumi keeps secret",
                hint: `It is stored in plain text in ${stackFile(stack)}: set it again with ${set}, and rotate it if the file was ever committed.`,
            },
        ];
    });
}

/** Keys whose namespace is a misspelling of ours (k8s-upgrade:clusters): Pulumi would ignore them without a word. */
function misspeltNamespaces(
    stack: string,
    other: Record<string, unknown>,
    secretValues: readonly string[],
): ConfigIssue[] {
    return Object.entries(other).flatMap(([full, value]) => {
        const colon = full.indexOf(":");
        if (colon < 0) return [];
        const ns = full.slice(0, colon);
        if (ns === CONFIG_NAMESPACE || distance(ns.toLowerCase(), CONFIG_NAMESPACE) > 3) return [];
        const key = full.slice(colon + 1);
        const known = suggest(key, STACK_KEYS) ?? key;
        return [
            {
                stack,
                field: full,
                given: value,
                sensitive: typeof value === "string" && secretValues.includes(value),
                allowed: `keys in the namespace ${CONFIG_NAMESPACE}`,
                hint: `Did you mean "${CONFIG_NAMESPACE}:${known}"? Keys in another namespace are ignored.`,
            },
        ];
    });
}

/**
 * Validates the raw `k8s-upgrades:*` config of one stack. Throws a ConfigError listing every problem.
 * `raw` holds the namespace's keys without the prefix: { clusters, promotesFrom, firstDeployment, <secret keys> }.
 */
export function parseStackConfig(stack: string, raw: Record<string, unknown>, opts: ParseOptions = {}): StackConfig {
    const secretKeys = opts.secretKeys ?? [];
    const issues: ConfigIssue[] = misspeltNamespaces(stack, opts.otherConfig ?? {}, opts.secretValues ?? []);
    const known = [...STACK_KEYS, ...referencedSecrets(raw)];
    for (const key of Object.keys(raw).filter((k) => !known.includes(k)))
        issues.push({
            stack,
            field: `${CONFIG_NAMESPACE}:${key}`,
            given: raw[key],
            allowed: `one of the keys ${STACK_KEYS.join(", ")}, or a secret key a cluster names`,
            hint: didYouMean(key, STACK_KEYS) ?? "Remove it, or check the config reference in docs/config.md.",
            sensitive: secretKeys.includes(key),
        });
    if (opts.secretKeys) issues.push(...unsafeSecrets(stack, raw, opts.secretKeys));
    const input = {
        clusters: raw.clusters,
        promotesFrom: raw.promotesFrom === "" ? undefined : raw.promotesFrom,
        firstDeployment: raw.firstDeployment,
        rollout: raw.rollout,
    };
    if (input.promotesFrom === stack)
        issues.push({
            stack,
            field: `${CONFIG_NAMESPACE}:promotesFrom`,
            given: stack,
            allowed: "another stack's name",
            hint: "A stack cannot promote from itself.",
        });
    const names = (Array.isArray(raw.clusters) ? raw.clusters : []).map((c) => (isObject(c) ? c.name : undefined));
    names.forEach((name, i) => {
        if (typeof name === "string" && names.indexOf(name) !== i)
            issues.push({
                stack,
                cluster: name,
                field: `clusters[${i}].name`,
                given: name,
                allowed: "a name no other cluster in this stack has",
                hint: "Rename one of the two clusters.",
            });
    });
    const parsed = stackInput.safeParse(input);
    if (!parsed.success) {
        // One message per problem: a value can fail several checks of the same rule (type, bounds, pattern).
        const seen = new Set<string>();
        for (const i of toIssues(stack, raw, parsed.error.issues, secretKeys)) {
            const key = `${i.field}\u0000${i.allowed}`;
            if (!seen.has(key)) issues.push(i);
            seen.add(key);
        }
    }
    if (issues.length > 0 || !parsed.success) throw new ConfigError(issues, opts.secretValues);
    const { clusters, promotesFrom, firstDeployment } = parsed.data;
    const rollout = rolloutOf(clusters, parsed.data.rollout);
    return {
        stack,
        clusters,
        promotesFrom,
        ...(firstDeployment ? { firstDeployment } : {}),
        ...(rollout ? { rollout } : {}),
    };
}
