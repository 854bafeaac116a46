// The machine-readable output of `plan`, `rehearse` and `promote` (--json): one JSON document per run, in the
// shape schema/command-output.schema.json documents. CI gates read this rather than the text. Pure.
import type { PolicyReport } from "../policy/evaluate";
import type { CapturedResource } from "./capture-types";
import type { Change, Step } from "./graph";
import { scriptKind } from "./graph";
import type { Findings } from "./rehearse/findings";
import { clusterOfName, stepsByCluster } from "./review";

/** Bumped when a field changes meaning or goes; new fields may come without a bump. */
export const OUTPUT_SCHEMA_VERSION = 1;

export type Outcome = "ok" | "refused" | "incomplete";

export interface Refusal {
    /** The config field the refusal is about (`clusters[0].kubernetesVersion`), or null when it is about none. */
    field: string | null;
    cluster: string | null;
    message: string;
}

const ACTION = { "+": "create", "-": "delete", "~": "update" } as const;

/** What the program's refusal says, one entry per problem, with the field path where the message names one. */
export function refusalsOf(error: string): Refusal[] {
    const text = error.trim();
    const items = text
        .split("\n")
        .filter((l) => /^\s+- /.test(l))
        .map((l) => l.replace(/^\s+- /, ""));
    return (items.length > 0 ? items : [text]).map((message) => ({
        field: /, field ([^:]+?): (?:given|\S)/.exec(message)?.[1] ?? null,
        cluster: /, cluster "([^"]+)"/.exec(message)?.[1] ?? null,
        message,
    }));
}

export function outcomeOf(exitCode: number): Outcome {
    return exitCode === 0 ? "ok" : exitCode === 3 ? "incomplete" : "refused";
}

export function stepsJson(steps: Step[], clusters: string[]) {
    const clusterOf = new Map<string, string>();
    for (const [cluster, list] of stepsByCluster(steps, clusters))
        for (const s of list) clusterOf.set(s.resource.name, cluster);
    return steps.map((s) => ({
        level: s.level,
        name: s.resource.name,
        kind: scriptKind(s.resource) ?? s.resource.type,
        target: clusterOf.get(s.resource.name) ?? "(stack)",
        description: s.what,
        waitsFor: s.after,
        ...(s.change ? { change: s.change } : {}),
    }));
}

/** The resources deleted after every step (those the previous deployment registered and this one does not). */
export function deletedJson(
    deleted: Array<{ name: string; resource: CapturedResource; what: string }>,
    clusters: string[],
) {
    return deleted.map((d) => ({
        name: d.name,
        kind: scriptKind(d.resource, "delete") ?? d.resource.type,
        target: clusterOfName(d.name, clusters),
        description: d.what,
    }));
}

export function changesJson(changes: Change[]) {
    return changes.map((c) => ({ action: ACTION[c.sign], text: c.text }));
}

export function policiesJson(report: PolicyReport) {
    const violations = (list: PolicyReport["mandatory"]) =>
        list.map((v) => ({
            policy: v.policy,
            resource: v.urn ? (v.urn.split("::").pop() ?? null) : null,
            message: v.message,
        }));
    return {
        evaluated: report.evaluated,
        resources: report.resources,
        mandatory: violations(report.mandatory),
        advisory: violations(report.advisory),
    };
}

export function findingsJson(f: Findings) {
    return {
        wouldFail: f.wouldFail,
        incomplete: f.incomplete,
        failure: f.failure ?? null,
        blockers: f.blockers.map((b) => ({ kind: b.kind, text: b.text })),
        phases: f.phases,
        totalSeconds: f.totalSeconds,
        evictions: f.evictions,
        workloads: f.workloads,
        surplus: f.surplus,
        notRehearsed: f.notRehearsed,
    };
}

/** The document as printed: two-space indented, one trailing newline. */
export function printJson(doc: Record<string, unknown>): string {
    return `${JSON.stringify({ schemaVersion: OUTPUT_SCHEMA_VERSION, ...doc }, null, 2)}\n`;
}
