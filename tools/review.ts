// The plan as a pull-request comment: a summary first, one Mermaid subgraph per cluster with linear edges (one
// node per dependency level), and each cluster's steps collapsed in a <details> block. It stays under GitHub's
// comment limit for any fleet: what does not fit is named and left to the full plan in the run's artifact.
import { clusterGates, describeRollout, type Rollout, soakStepName } from "../components/rollout";
import type { Step } from "./graph";

/** GitHub refuses a comment body longer than this. */
export const GITHUB_COMMENT_LIMIT = 65_536;
/** Mermaid refuses a flowchart with more edges than this (its maxEdges default). */
export const MERMAID_MAX_EDGES = 500;

export interface ReviewInput {
    /** The lines above the summary (title and where the outputs came from), already Markdown. */
    header: string[];
    clusters: string[];
    steps: Step[];
    /** Changes against the previous deployment, signed ("~ cluster apps: control plane 1.30 → 1.31"). */
    changes: string[];
    /** Pools and clusters that leave after every step, per cluster. */
    removals: Array<{ cluster: string; text: string }>;
    policies: string[];
    notes: string[];
    drift?: string;
    refused?: string;
    /** The stack's waves, when it rolls out in waves: the flowchart groups the clusters by wave. */
    rollout?: Rollout;
    /**
     * Resources the previous deployment registered and this one does not, deleted after every step; undefined when
     * the plan does not mark its steps (then `steps` carry no `change`).
     */
    deleted?: string[];
}

export interface ReviewOptions {
    /** The most characters the whole text may take; the rest goes to the artifact. */
    maxChars?: number;
    /** Where the full plan is, said wherever something was left out. */
    artifact?: string;
    /** The stack planned: the default artifact is the command that prints its full plan. */
    stack?: string;
}

const FLOW_SHARE = 0.45;

/** The cluster a resource belongs to: the longest cluster name that prefixes its name; "(stack)" for none. */
export function clusterOfName(name: string, clusters: string[]): string {
    return (
        [...clusters].sort((a, b) => b.length - a.length).find((c) => name === c || name.startsWith(`${c}-`)) ??
        "(stack)"
    );
}

/** Steps grouped by cluster (the longest cluster name that prefixes the step's name), in dependency order. */
export function stepsByCluster(steps: Step[], clusters: string[]): Map<string, Step[]> {
    const out = new Map<string, Step[]>(clusters.map((c) => [c, []]));
    for (const s of steps) {
        const cluster = clusterOfName(s.resource.name, clusters);
        if (!out.has(cluster)) out.set(cluster, []);
        out.get(cluster)!.push(s);
    }
    for (const [c, list] of out) if (list.length === 0) out.delete(c);
    return out;
}

function escapeCell(text: string): string {
    return text.replace(/\|/g, "\\|").replace(/\n/g, " ");
}

function mermaidLabel(text: string): string {
    return text.replace(/"/g, "#quot;").replace(/[<>]/g, (c) => (c === "<" ? "#lt;" : "#gt;"));
}

function shortName(name: string, cluster: string): string {
    return name.startsWith(`${cluster}-`) ? name.slice(cluster.length + 1) : name;
}

/** One cluster's subgraph: a node per level listing its steps, linked in a line, and the retirements last. */
export function clusterSubgraph(index: number, cluster: string, steps: Step[], removals: string[]): string[] {
    const levels = [...new Set(steps.map((s) => s.level))].sort((a, b) => a - b);
    const out = [`  subgraph c${index}["${mermaidLabel(cluster)}"]`, "    direction TB"];
    levels.forEach((level, i) => {
        const names = steps.filter((s) => s.level === level).map((s) => shortName(s.resource.name, cluster));
        const shown = names.length > 4 ? [...names.slice(0, 3), `+${names.length - 3} more`] : names;
        out.push(`    c${index}l${i}["${shown.map(mermaidLabel).join("<br/>")}"]`);
        if (i > 0) out.push(`    c${index}l${i - 1} --> c${index}l${i}`);
    });
    if (removals.length > 0) {
        // The pools and clusters by name ("pool apps-web-1-30 (…): …" → "pool web-1-30"), a few at most.
        const named = removals.map((r) => {
            const m = /^(pool|cluster) (\S+?):?(?: |$)/.exec(r);
            return m ? `${m[1]} ${shortName(m[2], cluster)}` : r;
        });
        const shown = named.length > 4 ? [...named.slice(0, 3), `+${named.length - 3} more`] : named;
        out.push(`    c${index}r["${mermaidLabel(`then remove, drained first: ${shown.join(", ")}`)}"]`);
        out.push(`    c${index}l${levels.length - 1} -.-> c${index}r`);
    }
    out.push("  end");
    return out;
}

function edgesOf(lines: string[]): number {
    return lines.filter((l) => / (-->|-\.->|~~~) /.test(l)).length;
}

/** A cluster's resources the comment lists by name only: those left unchanged, those deleted after every step. */
interface Unlisted {
    unchanged: string[];
    deleted: string[];
}

function stepTable(cluster: string, steps: Step[], unlisted: Unlisted | undefined): string[] {
    const levels = new Set(steps.map((s) => s.level)).size;
    const kept = unlisted && unlisted.unchanged.length > 0 ? `, ${unlisted.unchanged.length} unchanged` : "";
    const out = [`<details><summary><b>${cluster}</b>: ${steps.length} steps in ${levels} levels${kept}</summary>`, ""];
    const names = (list: string[]) => list.map((n) => `\`${n}\``).join(", ");
    if (steps.length > 0) {
        out.push(
            unlisted
                ? "| level | change | step | what it does | waits for |"
                : "| level | step | what it does | waits for |",
            unlisted ? "| --- | --- | --- | --- | --- |" : "| --- | --- | --- | --- |",
        );
        for (const s of steps)
            out.push(
                `| ${s.level} |${unlisted ? ` ${s.change ?? ""} |` : ""} \`${s.resource.name}\` | ${escapeCell(s.what)} | ${names(s.after)} |`,
            );
    }
    if (unlisted && unlisted.unchanged.length > 0)
        out.push("", `Unchanged, not listed (${unlisted.unchanged.length}): ${names(unlisted.unchanged)}`);
    if (unlisted && unlisted.deleted.length > 0)
        out.push("", `Deleted after every step (${unlisted.deleted.length}): ${names(unlisted.deleted)}`);
    out.push("", "</details>");
    return out;
}

function fence(text: string): string[] {
    const longest = Math.max(2, ...(text.match(/`+/g) ?? []).map((m) => m.length));
    const f = "`".repeat(longest + 1);
    return [f, text.trimEnd(), f];
}

function collapsible(summary: string, body: string[], open = false): string[] {
    return [`<details${open ? " open" : ""}><summary>${summary}</summary>`, "", ...body, "", "</details>"];
}

/**
 * Whole lines of `text` while they fit in `max` characters; the lines left out are counted and named as being in
 * the artifact.
 */
function clip(text: string, max: number, artifact: string): string {
    if (text.length <= max) return text;
    const lines = text.split("\n");
    const kept: string[] = [];
    let length = 0;
    for (const [i, line] of lines.entries()) {
        const notice = `… ${lines.length - i - 1} more line(s) in ${artifact}`;
        if (length + line.length + 1 + notice.length > max) break;
        kept.push(line);
        length += line.length + 1;
    }
    return [...kept, `… ${lines.length - kept.length} more line(s) in ${artifact}`].join("\n");
}

/** Where a Markdown text stands after some of its lines: an open code fence, and how many <details> are open. */
interface Open {
    fence?: string;
    details: number;
}

function after(open: Open, line: string): Open {
    if (open.fence) return line.trim() === open.fence ? { details: open.details } : open;
    const marker = /^(`{3,})/.exec(line)?.[1];
    if (marker) return { fence: marker, details: open.details };
    if (line.startsWith("<details")) return { details: open.details + 1 };
    if (line.startsWith("</details>")) return { details: Math.max(0, open.details - 1) };
    return open;
}

/** The lines that close what is open, so a cut text still renders: the fence, then each <details>. */
function closing(open: Open): string[] {
    return [...(open.fence ? [open.fence] : []), ...Array.from({ length: open.details }, () => "</details>")];
}

/**
 * The text as is when it fits in `max` characters; else its first whole lines, any code fence or <details> block
 * they leave open closed, and a notice that names the limit and the artifact: never more than `max` characters.
 */
export function cutToLimit(text: string, max: number, artifact: string): string {
    if (text.length <= max) return text;
    const lines = text.split("\n");
    // For each count of kept lines: the characters they take, and what they leave open.
    const states: Array<{ length: number; open: Open }> = [{ length: 0, open: { details: 0 } }];
    for (const line of lines) {
        const last = states[states.length - 1];
        if (last.length > max) break;
        states.push({ length: last.length + line.length + 1, open: after(last.open, line) });
    }
    for (const notice of [
        `… (cut to stay within ${max} characters; the whole plan is in ${artifact})`,
        `… (cut; the whole plan is in ${artifact})`,
        "… (cut)",
    ]) {
        for (let n = states.length - 1; n > 0; n--) {
            const tail = [...closing(states[n].open), "", notice];
            const length = states[n].length + tail.join("\n").length + 1;
            if (length <= max) return `${lines.slice(0, n).join("\n")}\n${tail.join("\n")}\n`;
        }
        if (notice.length + 1 <= max) return `${notice}\n`;
    }
    return "";
}

type Subgraph = (cluster: string) => string[];
type Fits = (lines: string[]) => boolean;

/** Every cluster's subgraph, one under the other, until the budget is spent. */
function clusterFlow(clusters: string[], subgraphOf: Subgraph, fits: Fits): { flow: string[]; drawn: string[] } {
    const flow: string[] = ["```mermaid", "flowchart TD"];
    const drawn: string[] = [];
    for (const [i, cluster] of clusters.entries()) {
        const link = drawn.length > 0 ? [`  c${clusters.indexOf(drawn[drawn.length - 1])} ~~~ c${i}`] : [];
        const next = [...flow, ...subgraphOf(cluster), ...link];
        if (!fits(next)) break;
        flow.splice(0, flow.length, ...next);
        drawn.push(cluster);
    }
    return { flow, drawn };
}

/**
 * One subgraph per wave holding its clusters' subgraphs, and between two waves the soak step: wave n → soak n →
 * wave n+1, the dependencies the program registers. Waves are drawn whole or not at all.
 */
export function waveFlow(
    rollout: Rollout,
    clusters: string[],
    subgraphOf: Subgraph,
    fits: Fits,
): { flow: string[]; drawn: string[] } {
    const flow: string[] = ["```mermaid", "flowchart TD"];
    const drawn: string[] = [];
    for (const [w, wave] of rollout.waves.entries()) {
        const members = wave.clusters.filter((c) => clusters.includes(c));
        const block = [`  subgraph w${wave.number}["${mermaidLabel(`${wave.name}: ${wave.clusters.join(", ")}`)}"]`];
        for (const cluster of members) block.push(...subgraphOf(cluster).map((l) => `  ${l}`));
        block.push("  end");
        // maxConcurrentClusters: a cluster starts once the one that many places before it passed validation.
        for (const gate of clusterGates(rollout).filter((g) => g.wave === wave.number && g.afterCluster))
            if (members.includes(gate.cluster) && members.includes(gate.afterCluster!))
                block.push(`  c${clusters.indexOf(gate.afterCluster!)} --> c${clusters.indexOf(gate.cluster)}`);
        if (w > 0) {
            const prev = rollout.waves[w - 1].number;
            block.push(`  w${prev} --> s${prev}`, `  s${prev} --> w${wave.number}`);
        }
        if (w < rollout.waves.length - 1)
            block.push(
                `  s${wave.number}{{"${mermaidLabel(`${soakStepName(wave.number)}: hold ${rollout.soakMinutes} min`)}"}}`,
            );
        const next = [...flow, ...block];
        if (!fits(next)) break;
        flow.splice(0, flow.length, ...next);
        drawn.push(...members);
    }
    return { flow, drawn };
}

/** The review's size limits: what the comment may spend, and where the rest is. */
interface Budget {
    /** The most characters the whole comment may take, less the room its cut notice needs. */
    chars: number;
    artifact: string;
}

/** What is left of the budget after these lines, less `margin` for the lines around the next block. */
function leftAfter(lines: string[], { chars }: Budget, margin: number): number {
    return Math.max(0, chars - lines.join("\n").length - margin);
}

/**
 * What a reviewer reads first, in this order, each given what the ones before it left: the counts, the changes,
 * the policies, drift, notes and the rollout.
 */
function reviewSummary(lines: string[], input: ReviewInput, clusterCount: number, budget: Budget): void {
    const { artifact } = budget;
    const unchanged = input.steps.filter((s) => s.change === "unchanged").length;
    const steps =
        input.deleted === undefined
            ? `${input.steps.length} steps`
            : `${input.steps.length - unchanged} steps (${unchanged} resource(s) unchanged, ${input.deleted.length} deleted)`;
    lines.push(
        `**${clusterCount} cluster(s), ${steps}, ${input.changes.length} change(s) against the previous deployment.**`,
        "",
    );
    const changeLines = input.changes.length > 0 ? input.changes.map((c) => `- ${c}`) : ["- no change"];
    const changesText = clip(changeLines.join("\n"), leftAfter(lines, budget, 120), artifact);
    lines.push(
        ...(changeLines.length > 12
            ? collapsible("Changes against the previous deployment", [changesText], true)
            : ["### Changes against the previous deployment", "", changesText]),
        "",
        "### Policies",
        "",
    );
    lines.push(clip(input.policies.join("\n"), leftAfter(lines, budget, 8), artifact), "");
    if (input.drift !== undefined) lines.push("### Drift since the last deployment", "", input.drift, "");
    if (input.notes.length > 0)
        lines.push(
            ...collapsible(`Notes (${input.notes.length})`, [
                clip(input.notes.map((n) => `- ${n}`).join("\n"), leftAfter(lines, budget, 80), artifact),
            ]),
            "",
        );
    if (input.rollout)
        lines.push(
            `### Rollout in ${input.rollout.waves.length} waves`,
            "",
            ...describeRollout(input.rollout).map((l) => `- ${l}`),
            "",
        );
}

/** The flowchart: clusters in order (by wave, when there are waves) until the edge or size budget is spent. */
function reviewFlow(input: ReviewInput, groups: Map<string, Step[]>, flowChars: number, artifact: string): string[] {
    const clusters = [...groups.keys()];
    const fits = (candidate: string[]) =>
        edgesOf(candidate) <= MERMAID_MAX_EDGES && candidate.join("\n").length + 4 <= flowChars;
    const subgraphOf = (cluster: string) =>
        clusterSubgraph(
            clusters.indexOf(cluster),
            cluster,
            groups.get(cluster)!,
            input.removals.filter((r) => r.cluster === cluster).map((r) => r.text),
        );
    const { flow, drawn } = input.rollout
        ? waveFlow(input.rollout, clusters, subgraphOf, fits)
        : clusterFlow(clusters, subgraphOf, fits);
    flow.push("```");
    const lines = ["### Flow (one box per dependency level; each waits for the one above)", ""];
    if (drawn.length > 0) lines.push(...flow);
    // With waves, the soak steps (outside every cluster) are drawn as the links between waves.
    const undrawn = clusters.filter((c) => !drawn.includes(c) && !(input.rollout && c === "(stack)"));
    if (undrawn.length > 0)
        lines.push(
            ...(drawn.length > 0 ? [""] : []),
            `Not drawn, to keep the comment readable: ${undrawn.length} cluster(s) (${undrawn.join(", ")}). See ${artifact}.`,
        );
    return lines;
}

/** The line that ends the step tables: the clusters whose tables did not fit, or that none is missing. */
function stepsLeft(left: string[], artifact: string): string[] {
    return left.length > 0
        ? [`Steps of ${left.length} more cluster(s) (${left.join(", ")}) are in ${artifact}.`]
        : ["(each level waits for the levels before it)"];
}

/** Each cluster's steps, collapsed, appended to what the comment already holds until the size budget is spent. */
function appendStepTables(
    lines: string[],
    groups: Map<string, Step[]>,
    unlisted: Map<string, Unlisted> | undefined,
    { chars, artifact }: Budget,
): void {
    const clusters = [...new Set([...groups.keys(), ...(unlisted?.keys() ?? [])])];
    lines.push("", "### Steps per cluster", "");
    const tail = (left: string[]) => stepsLeft(left, artifact);
    for (const [i, cluster] of clusters.entries()) {
        const table = stepTable(cluster, groups.get(cluster) ?? [], unlisted?.get(cluster));
        const left = clusters.slice(i);
        const reserve = tail(left).join("\n").length + 64;
        if ([...lines, ...table].join("\n").length + reserve > chars) {
            lines.push(...tail(left));
            return;
        }
        lines.push(...table, "");
    }
    lines.push(...tail([]));
}

/** Where the full plan is when the caller does not say: the command that prints it. */
function defaultArtifact(stack: string | undefined): string {
    return `the full plan (\`npm run plan -- ${stack ?? "STACK"} --markdown --max-chars 0\`)`;
}

/**
 * The comment, its sections kept in priority order while they fit: the summary and changes, the refusal or the
 * policies, then the flowchart, then the step tables. With a limit, never longer than it: what is left out is
 * named, and cut at a line boundary with a notice that points at the artifact.
 */
export function renderReview(input: ReviewInput, opts: ReviewOptions = {}): string {
    const maxChars = opts.maxChars ?? 60_000;
    const artifact = opts.artifact ?? defaultArtifact(opts.stack);
    const whole = composeReview(input, Number.POSITIVE_INFINITY, artifact);
    if (maxChars <= 0 || whole.length <= maxChars) return whole;
    return cutToLimit(composeReview(input, maxChars, artifact), maxChars, artifact);
}

/** The comment with each section given what the ones before it left of `limit`, less room for a cut notice. */
function composeReview(input: ReviewInput, limit: number, artifact: string): string {
    const reserve = `… (cut to stay within ${limit} characters; the whole plan is in ${artifact})`.length + 64;
    const budget: Budget = { chars: limit - reserve, artifact };
    const lines: string[] = [...input.header, ""];
    if (input.refused !== undefined) {
        lines.push("### Refused", "");
        lines.push(...fence(clip(input.refused, leftAfter(lines, budget, 16), artifact)));
        return `${lines.join("\n")}\n`;
    }
    // Resources `pulumi up` leaves as they are are named, not drawn or tabled.
    const groups = stepsByCluster(
        input.steps.filter((s) => s.change !== "unchanged"),
        input.clusters,
    );
    const unlisted = unlistedByCluster(input);
    reviewSummary(lines, input, stepsByCluster(input.steps, input.clusters).size, budget);
    // The flowchart leaves room for the step tables' heading and the line that names the tables left out.
    const stepsMargin = stepsLeft([...groups.keys()], artifact).join("").length + 200;
    lines.push(
        ...reviewFlow(input, groups, Math.min(limit * FLOW_SHARE, leftAfter(lines, budget, stepsMargin)), artifact),
    );
    appendStepTables(lines, groups, unlisted, budget);
    return `${lines.join("\n")}\n`;
}

/** Per cluster, the resources left unchanged and those deleted; undefined when the plan does not mark its steps. */
function unlistedByCluster(input: ReviewInput): Map<string, Unlisted> | undefined {
    if (input.deleted === undefined) return undefined;
    const out = new Map<string, Unlisted>();
    const entry = (name: string) => {
        const cluster = clusterOfName(name, input.clusters);
        if (!out.has(cluster)) out.set(cluster, { unchanged: [], deleted: [] });
        return out.get(cluster)!;
    };
    for (const s of input.steps) if (s.change === "unchanged") entry(s.resource.name).unchanged.push(s.resource.name);
    for (const name of input.deleted) entry(name).deleted.push(name);
    return out;
}
