// One problem with the stack config, said so a user can fix it: file, stack, cluster, field, what was given
// (never a secret), what is allowed, what to do next.
import { closest, distance } from "fastest-levenshtein";
import { isSensitiveKey, REDACTED, redactValue, scrub } from "./redact";

export interface ConfigIssue {
    stack: string;
    cluster?: string;
    field: string;
    given: unknown;
    allowed: string;
    hint?: string;
    /** The value is secret (Pulumi marks it so, or it sits under a secret key): never shown. */
    sensitive?: boolean;
    /**
     * Set when the cluster was declared in code through a public class, not in a stack file: the class and name
     * (`LkeCluster "prod"`), and `field` is then the argument's path (`nodePools[0].count`).
     */
    declaredBy?: string;
}

/** Pulumi's convention: the stack's settings live in Pulumi.<stack>.yaml beside Pulumi.yaml. */
export function stackFile(stack: string): string {
    return `Pulumi.${stack}.yaml`;
}

function lastKey(field: string): string {
    return (
        field
            .replace(/\[\d+\]$/, "")
            .split(/[.:]/)
            .pop() ?? field
    );
}

/** What was given, as a message shows it. */
export function renderGiven(i: Pick<ConfigIssue, "given" | "field" | "sensitive">): string {
    if (i.given === undefined) return "nothing";
    if (i.sensitive || (isSensitiveKey(lastKey(i.field)) && !/\.taints\[\d+\]\.key$/.test(i.field))) return REDACTED;
    const redacted = redactValue(i.given);
    if (redacted === REDACTED) return REDACTED;
    const shown = JSON.stringify(redacted);
    return shown.length > 200 ? `${shown.slice(0, 200)}…` : shown;
}

export function formatIssue(i: ConfigIssue, secretValues: readonly string[] = []): string {
    const cluster = i.cluster !== undefined ? `, cluster "${i.cluster}"` : "";
    const where = i.declaredBy
        ? `${i.declaredBy} in stack "${i.stack}", argument ${i.field}`
        : `${stackFile(i.stack)}: stack "${i.stack}"${cluster}, field ${i.field}`;
    return scrub(
        `${where}: given ${renderGiven(i)}; allowed: ${i.allowed}.${i.hint ? ` ${i.hint}` : ""}`,
        secretValues,
    );
}

/** Thrown when config or the upgrade it asks for is refused; carries every issue at once. */
export class ConfigError extends Error {
    constructor(
        readonly issues: ConfigIssue[],
        secretValues: readonly string[] = [],
    ) {
        const count = `${issues.length} problem${issues.length === 1 ? "" : "s"}`;
        const what =
            issues.length > 0 && issues.every((i) => i.declaredBy) ? "the cluster's arguments" : "the stack config";
        super(
            `k8s-upgrades refused ${what} (${count}); nothing was changed:\n` +
                issues.map((i) => `  - ${formatIssue(i, secretValues)}`).join("\n"),
        );
        this.name = "ConfigError";
    }
}

/** "Did you mean": the closest allowed word, compared without case, when it is close enough. */
export function suggest(given: string, allowed: readonly string[]): string | undefined {
    if (allowed.length === 0 || given === "") return undefined;
    const lower = given.toLowerCase();
    const exact = allowed.find((a) => a.toLowerCase() === lower);
    if (exact) return exact;
    const byLower = new Map(allowed.map((a) => [a.toLowerCase(), a]));
    const best = closest(lower, [...byLower.keys()]);
    const limit = Math.max(2, Math.floor(best.length / 3));
    return distance(lower, best) <= limit ? byLower.get(best) : undefined;
}

export function didYouMean(given: unknown, allowed: readonly string[]): string | undefined {
    const guess = typeof given === "string" ? suggest(given, allowed) : undefined;
    return guess ? `Did you mean "${guess}"?` : undefined;
}
