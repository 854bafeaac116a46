// `npm run plan -- <stack> [options]` (`--help` lists them). Runs the real program under the mock runtime with
// the stack's config and prints the upgrade as ordered steps, what changes against the previous deployment, and
// the policy pack's verdicts; with --markdown, the same as a pull-request comment (tools/review.ts).
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { STALE_AFTER_DAYS, SUPPORTED_AS_OF, staleTableWarning, versionTableAge } from "../components/config";
import { describeRollout, ROLLOUT_OUTPUT, readRollout } from "../components/rollout";
import type { RunningState } from "../components/running";
import { evaluatePolicies, type PolicyReport } from "../policy/evaluate";
import { renderAdoption } from "./adopt";
import type { Capture, CapturedResource } from "./capture-types";
import { type Command, EXIT, requireStack, runCommand, stacksIn, TODAY_VARIABLE, today, UsageError } from "./cli";
import { changes, describe, orderSteps, recordedState } from "./graph";
import { parseStackFile, ROOT, readStackFile, readStackOutputs, runProgram } from "./harness";
import { changesJson, deletedJson, outcomeOf, policiesJson, printJson, refusalsOf, stepsJson } from "./json-output";
import { readOutputsFile, readRecord } from "./records";
import { renderReview } from "./review";
import { carriedFromRecord, previousRunConfig, type StepChange, stepChanges } from "./step-changes";

export interface OutputsSource {
    outputs?: Record<string, unknown>;
    /** Where the outputs came from, said in the plan's first lines. */
    label: string;
}

/**
 * A stack's previous outputs: a file when given; else the Pulumi CLI when installed and logged in; else the
 * record `running/<stack>.json` beside the stack files, which the deploy workflow writes after every `pulumi up`.
 */
export function loadOutputs(stack: string, file?: string, stackDir = ROOT): OutputsSource {
    if (file) return { outputs: outputsOfStack(stack, file), label: file };
    try {
        return { outputs: readStackOutputs(stack), label: `pulumi stack output --json --stack ${stack}` };
    } catch {
        /* no CLI, not logged in, or no such stack: the committed record says what ran */
    }
    const record = readRecord(stackDir, stack);
    if (record) return { outputs: record.outputs, label: `${record.label}; no Pulumi CLI here` };
    return { outputs: undefined, label: "none (first deployment)" };
}

/**
 * The outputs in a file given for a stack (--previous, --source), refused when they are the record of another
 * stack: planning against them would compare the stack with what another one runs.
 */
function outputsOfStack(stack: string, file: string): Record<string, unknown> {
    const outputs = readOutputsFile(file);
    const recorded = (outputs?.k8sUpgrades as { stack?: unknown } | undefined)?.stack;
    if (typeof recorded === "string" && recorded !== stack)
        throw new Error(
            `${file} is the record of stack "${recorded}", not of stack "${stack}": give the outputs of stack "${stack}" (pulumi stack output --json --stack ${stack}, or running/${stack}.json)`,
        );
    return outputs;
}

export interface PlanResult {
    text: string;
    exitCode: number;
    /** What the program registered and exported: its stackOutputs are what the deployment would record. */
    capture?: Capture;
    /** The previous deployment's resources the change markers compare against (see PreviousRun). */
    previousRun?: PreviousRun;
}

export interface PlanOptions {
    previous?: string;
    source?: string;
    firstDeployment?: boolean;
    markdown?: boolean;
    /** The folder holding Pulumi.<stack>.yaml and running/<stack>.json (the repository root by default). */
    stackDir?: string;
    /** What `pulumi refresh --preview-only --diff` printed for the stack, shown as its drift. */
    drift?: string;
    /** Markdown: the most characters the text may take (0: no limit). */
    maxChars?: number;
    /** Markdown: where the full plan is kept, named wherever something was left out. */
    artifact?: string;
    /** The clusters already run: print their imports, then the plan of the deployment that adopts them. */
    adopt?: boolean;
    /** One JSON document (schema/command-output.schema.json) instead of text. */
    json?: boolean;
    /** The day the plan takes as today, for the version table's age (default: K8SU_TODAY, else the clock). */
    today?: Date;
}

export async function planForStack(stack: string, opts: PlanOptions): Promise<PlanResult> {
    const stackDir = opts.stackDir ?? ROOT;
    const { config, secretKeys } = readStackFile(stack, stackDir);
    if (opts.firstDeployment) config["k8s-upgrades:firstDeployment"] = true;
    const previous: OutputsSource = opts.firstDeployment
        ? { label: "none (--first-deployment)" }
        : opts.adopt
          ? { label: "none (--adopt: the clusters are adopted through their import IDs)" }
          : loadOutputs(stack, opts.previous, stackDir);
    const declared = config["k8s-upgrades:promotesFrom"] ?? config.promotesFrom;
    const promotesFrom = typeof declared === "string" && declared !== "" ? declared : undefined;
    const source: OutputsSource | undefined = promotesFrom
        ? loadOutputs(promotesFrom, opts.source, stackDir)
        : undefined;
    const record = recordedState(previous.outputs, `stack "${stack}"`);
    const run = (runConfig: Record<string, unknown>) =>
        runProgram({
            stack,
            config: runConfig,
            secretKeys,
            previous: previous.outputs,
            sources: promotesFrom && source?.outputs ? { [promotesFrom]: source.outputs } : {},
            carriedState: carriedFromRecord(record),
        });
    // The previous deployment's resources, rebuilt by running the program as it ran (tools/step-changes.ts),
    // beside this run: both children at once.
    const base = record ? previousStackFile(stackDir, stack, config, record, previous.outputs?.commit) : undefined;
    const [capture, before] = await Promise.all([run(config), base?.config ? run(base.config) : undefined]);
    const previousRun: PreviousRun = !record
        ? { nothing: true }
        : !before || !base
          ? { unavailable: "the stack file holds no cluster list" }
          : before.error
            ? { unavailable: `the program refused ${base.what}: ${before.error.trim().split("\n")[0]}` }
            : { capture: before, against: base.what, inexact: base.inexact };
    const plan = {
        ...renderPlan(stack, capture, previous, promotesFrom, source, opts, previousRun),
        capture,
        previousRun,
    };
    return opts.adopt && !opts.json ? { ...plan, text: `${renderAdoption(stack, capture)}${plan.text}` } : plan;
}

/** What `pulumi refresh --preview-only --diff` printed, read as drift: the resources it would change. */
export function summarizeDrift(text: string): { changed: string[]; text: string } {
    const changed = text
        .split("\n")
        .map((l) => /^\s*([~+-]|\+-|-\+)\s+(\S+:\S+:\S+)\s+(\S+)/.exec(l))
        .filter((m): m is RegExpExecArray => !!m)
        .map((m) => `${m[1]} ${m[3]} (${m[2]})`);
    return { changed, text };
}

type RenderOptions = Pick<PlanOptions, "markdown" | "drift" | "maxChars" | "artifact" | "json" | "today">;

/**
 * The previous deployment's resources, for each step's change marker: none ran (every resource is created), the
 * capture of the program run as that deployment ran, or why the plan could not rebuild it (no markers then).
 */
export type PreviousRun =
    | { nothing: true }
    /** `inexact`: why it was rebuilt from today's stack file at the recorded versions, not from the one it ran. */
    | { capture: Capture; against: string; inexact?: string }
    | { unavailable: string };

/** The header line that says what the change markers compare against. */
function markersLine(previousRun: PreviousRun | undefined): string | undefined {
    if (!previousRun) return undefined;
    if ("nothing" in previousRun)
        return "changes: against nothing: every resource is created (or imported, with --adopt)";
    if ("unavailable" in previousRun) return `changes: not marked per step: ${previousRun.unavailable}`;
    return `changes: per step, against the previous deployment rebuilt from ${previousRun.against}`;
}

/** How long git may take to show the deployed stack file. */
const GIT_TIMEOUT_MS = 15_000;

/**
 * The stack file the previous deployment ran: as the commit its record names had it, when git has that commit;
 * else the stack file as it is now with each recorded cluster at the version its record says it runs.
 */
function previousStackFile(
    stackDir: string,
    stack: string,
    config: Record<string, unknown>,
    record: RunningState,
    commit: unknown,
): { config: Record<string, unknown> | undefined; what: string; inexact?: string } {
    const file = `Pulumi.${stack}.yaml`;
    const fallback = (why: string) => ({
        config: previousRunConfig(config, record),
        what: `its record: ${file} as it is now, each cluster at its recorded version (${why})`,
        inexact: why,
    });
    if (typeof commit !== "string") return fallback("the record names no commit");
    if (!/^[0-9a-f]{7,64}$/.test(commit))
        return fallback(`the record's commit ${JSON.stringify(commit)} is no commit id`);
    const git = (args: string[]) =>
        execFileSync("git", ["-C", stackDir, ...args], {
            encoding: "utf8",
            timeout: GIT_TIMEOUT_MS,
            stdio: ["ignore", "pipe", "pipe"],
        });
    let text: string;
    try {
        const prefix = git(["rev-parse", "--show-prefix"]).trim();
        text = git(["show", `${commit}:${prefix}${file}`]);
    } catch {
        return fallback(
            `commit ${commit.slice(0, 12)} or its ${file} is not in this clone; fetch its history for exact markers`,
        );
    }
    const parsed = parseStackFile(text, `${file} at commit ${commit.slice(0, 12)}`, stack);
    return {
        config: parsed.config,
        what: `${file} at commit ${commit.slice(0, 12)}, the one its record names`,
    };
}

function planHeader(
    stack: string,
    previous: OutputsSource,
    promotesFrom: string | undefined,
    source: OutputsSource | undefined,
    opts: RenderOptions,
    previousRun?: PreviousRun,
): string[] {
    const bullet = opts.markdown ? "- " : "  ";
    const stale = staleTableWarning(opts.today ?? today());
    const markers = markersLine(previousRun);
    return [
        `${opts.markdown ? "## " : ""}k8s-upgrades plan for stack ${stack}`,
        ...(opts.markdown ? [""] : []),
        `${bullet}previous outputs: ${previous.label}`,
        ...(promotesFrom ? [`${bullet}promotes from: ${promotesFrom}: ${source?.label ?? "none"}`] : []),
        ...(markers ? [`${bullet}${markers}`] : []),
        `${bullet}version table: checked ${SUPPORTED_AS_OF}`,
        ...(stale ? [`${bullet}warning: ${stale}`] : []),
    ];
}

/** The program refused: the header and the refusal, nothing else. */
function renderRefusal(stack: string, header: string[], error: string, opts: RenderOptions): PlanResult {
    const text = opts.markdown
        ? renderReview(
              {
                  header,
                  clusters: [],
                  steps: [],
                  changes: [],
                  removals: [],
                  policies: [],
                  notes: [],
                  refused: error.trim(),
              },
              { maxChars: opts.maxChars, artifact: opts.artifact, stack },
          )
        : `${[...header, "", "Refused", "", error.trim(), ""].join("\n")}\n`;
    return { text, exitCode: EXIT.refused };
}

/** A resource the previous deployment registered and this one does not: the engine deletes it after every step. */
interface DeletedStep {
    name: string;
    resource: CapturedResource;
    what: string;
}

/** Each step's change marker, and what is deleted, when the plan knows the previous deployment's resources. */
function markSteps(capture: Capture, previousRun: PreviousRun | undefined) {
    if (!previousRun || "unavailable" in previousRun) return undefined;
    const before = "capture" in previousRun ? previousRun.capture : undefined;
    const marks = stepChanges(before?.resources, capture.resources);
    const deleted: DeletedStep[] = marks.deleted.map((r) => ({
        name: r.name,
        resource: r,
        what: describe(r, before?.standIns, before?.newIds),
    }));
    return { of: marks.of, deleted };
}

/** What a plan shows, read from a run that was not refused and the previous deployment's record. */
function planFacts(stack: string, capture: Capture, previous: OutputsSource, previousRun?: PreviousRun) {
    const before = recordedState(previous.outputs, `stack "${stack}"`);
    const after = recordedState(capture.stackOutputs, "this run");
    const diff = changes(before, after);
    const report = evaluatePolicies(capture);
    const marks = markSteps(capture, previousRun);
    return {
        steps: orderSteps(capture.resources, capture.standIns, capture.newIds).map((s) => ({
            ...s,
            change: marks?.of.get(s.resource.urn),
        })),
        deleted: marks?.deleted,
        clusters: [...new Set([...Object.keys(after?.clusters ?? {}), ...Object.keys(before?.clusters ?? {})])],
        diff,
        removed: diff.filter((d) => d.sign === "-"),
        notes: (capture.log ?? "")
            .split("\n")
            .filter((l) => /warning:|info:/.test(l))
            .map((l) => l.trim()),
        report,
        exitCode: report.mandatory.length > 0 ? EXIT.refused : EXIT.ok,
        rollout: readRollout(capture.stackOutputs?.[ROLLOUT_OUTPUT]),
    };
}
type PlanFacts = ReturnType<typeof planFacts>;

function renderMarkdownPlan(
    stack: string,
    header: string[],
    facts: PlanFacts,
    drift: string | undefined,
    opts: RenderOptions,
): string {
    const { clusters, diff } = facts;
    return renderReview(
        {
            header,
            clusters,
            steps: facts.steps,
            changes: diff.map((d) => `**${CHANGE_WORD[d.sign]}** ${d.text}`),
            removals: facts.removed.map((d) => ({ cluster: clusterOfChange(d.text, clusters), text: d.text })),
            policies: renderPolicies(facts.report, true),
            notes: facts.notes,
            drift,
            rollout: facts.rollout,
            deleted: facts.deleted?.map((d) => d.name),
        },
        { maxChars: opts.maxChars, artifact: opts.artifact, stack },
    );
}

/** How the pull-request comment marks a change. */
const CHANGE_WORD = { "+": "create", "~": "update", "-": "delete" } as const;

/**
 * Nothing changes against the previous deployment (no recorded change, and, where the plan marks steps, every
 * resource unchanged and none deleted), no policy has anything to say, and the run printed nothing.
 */
function nothingToDo(facts: PlanFacts): boolean {
    const { diff, report, notes, steps, deleted } = facts;
    const resourcesStay =
        deleted === undefined || (deleted.length === 0 && steps.every((s) => s.change === "unchanged"));
    return (
        resourcesStay &&
        diff.length === 0 &&
        report.mandatory.length === 0 &&
        report.advisory.length === 0 &&
        notes.length === 0
    );
}

/**
 * The one line of a plan with nothing to do. Compared with a previous deployment rebuilt from today's stack file
 * (no commit git has in the record), it says that only versions and pools were compared, and why.
 */
function nothingToDoLine(stack: string, facts: PlanFacts, markdown: boolean, previousRun?: PreviousRun): string {
    const strong = markdown ? "**" : "";
    const against =
        previousRun && "inexact" in previousRun && previousRun.inexact
            ? `the previous deployment's record (its versions and pools only: ${previousRun.inexact})`
            : "the previous deployment";
    return `${strong}k8s-upgrades plan for stack ${stack}: nothing to do.${strong} No change against ${against}; ${facts.report.evaluated} policies evaluated, none violated.\n`;
}

/** The names of the steps a plan leaves out because `pulumi up` leaves them as they are. */
function unchangedNames(steps: Array<{ change?: StepChange; resource: { name: string } }>): string[] {
    return steps.filter((s) => s.change === "unchanged").map((s) => s.resource.name);
}

function textSteps(facts: PlanFacts): string[] {
    const { steps, removed, deleted } = facts;
    const marked = deleted !== undefined;
    const lines = ["", "Steps, in order (each level waits for the levels before it)"];
    for (const s of steps) {
        if (s.change === "unchanged") continue;
        const marker = marked ? `${(s.change ?? "").padEnd(8)} ` : "";
        lines.push(`  ${String(s.level).padStart(2)}. ${marker}${s.resource.name.padEnd(46)} ${s.what}`);
    }
    const unchanged = unchangedNames(steps);
    if (unchanged.length > 0) lines.push(`  unchanged, not listed (${unchanged.length}): ${unchanged.join(", ")}`);
    if (removed.length > 0 || (deleted?.length ?? 0) > 0)
        lines.push(
            "",
            "  then, after every step above, in reverse dependency order:",
            ...removed.map((d) => `     ${d.text}`),
            ...(deleted && deleted.length > 0 ? [`     delete: ${deleted.map((d) => d.name).join(", ")}`] : []),
        );
    return lines;
}

function renderTextPlan(header: string[], facts: PlanFacts, drift: string | undefined): string {
    const { rollout, diff, notes } = facts;
    const lines: string[] = [...header];
    if (rollout)
        lines.push(
            "",
            "Rollout (each wave starts only after every cluster of the one before passed validation)",
            ...describeRollout(rollout).map((l) => `  ${l}`),
        );
    lines.push(...textSteps(facts));
    lines.push("", "Changes against the previous deployment");
    lines.push(...(diff.length > 0 ? diff.map((d) => `  ${d.sign} ${d.text}`) : ["  no change"]));
    if (drift !== undefined) lines.push("", "Drift since the last deployment", drift);
    if (notes.length > 0) lines.push("", "Notes", ...notes.map((n) => `  ${n}`));
    lines.push("", "Policies", ...renderPolicies(facts.report, false));
    return `${lines.join("\n")}\n`;
}

export function renderPlan(
    stack: string,
    capture: Capture,
    previous: OutputsSource,
    promotesFrom: string | undefined,
    source: OutputsSource | undefined,
    opts: RenderOptions = {},
    previousRun?: PreviousRun,
): PlanResult {
    const dated = { ...opts, today: opts.today ?? today() };
    if (dated.json) return jsonPlan(stack, capture, previous, promotesFrom, source, dated, previousRun);
    const markdown = !!dated.markdown;
    const header = planHeader(stack, previous, promotesFrom, source, dated, previousRun);
    if (capture.error) return renderRefusal(stack, header, capture.error, dated);
    const facts = planFacts(stack, capture, previous, previousRun);
    const drift = dated.drift === undefined ? undefined : renderDrift(dated.drift, markdown);
    if (nothingToDo(facts) && drift === undefined && !staleTableWarning(dated.today))
        return { text: nothingToDoLine(stack, facts, markdown, previousRun), exitCode: facts.exitCode };
    const text = markdown
        ? renderMarkdownPlan(stack, header, facts, drift, dated)
        : renderTextPlan(header, facts, drift);
    return { text, exitCode: facts.exitCode };
}

/** The plan as one JSON document: what the text shows, as fields a CI gate can read. */
function jsonPlan(
    stack: string,
    capture: Capture,
    previous: OutputsSource,
    promotesFrom: string | undefined,
    source: OutputsSource | undefined,
    opts: RenderOptions,
    previousRun?: PreviousRun,
): PlanResult {
    const head = {
        command: "plan",
        stack,
        previous: previous.label,
        promotesFrom: promotesFrom ? { stack: promotesFrom, outputs: source?.label ?? "none" } : null,
        versionTable: versionTableAge(opts.today ?? today()),
    };
    if (capture.error)
        return {
            text: printJson({
                ...head,
                outcome: outcomeOf(EXIT.refused),
                exitCode: EXIT.refused,
                refusals: refusalsOf(capture.error),
                clusters: [],
                steps: [],
                changes: [],
                policies: null,
                notes: [],
            }),
            exitCode: EXIT.refused,
        };
    const facts = planFacts(stack, capture, previous, previousRun);
    const drift = opts.drift === undefined ? undefined : summarizeDrift(opts.drift).changed;
    return {
        text: printJson({
            ...head,
            outcome: outcomeOf(facts.exitCode),
            exitCode: facts.exitCode,
            refusals: facts.report.mandatory.map((v) => ({
                field: null,
                cluster: null,
                message: `[${v.policy}] ${v.urn ? `${v.urn.split("::").pop()}: ` : ""}${v.message}`,
            })),
            clusters: facts.clusters,
            steps: stepsJson(facts.steps, facts.clusters),
            ...(facts.deleted ? { deleted: deletedJson(facts.deleted, facts.clusters) } : {}),
            changes: changesJson(facts.diff),
            policies: policiesJson(facts.report),
            notes: facts.notes,
            ...(drift ? { drift } : {}),
            ...(facts.rollout ? { rollout: describeRollout(facts.rollout) } : {}),
        }),
        exitCode: facts.exitCode,
    };
}

function clusterOfChange(text: string, clusters: string[]): string {
    const name = /^(?:pool|cluster) ([a-z0-9-]+)/.exec(text)?.[1] ?? "";
    return [...clusters].sort((a, b) => b.length - a.length).find((c) => name === c || name.startsWith(`${c}-`)) ?? "";
}

function renderDrift(text: string, markdown: boolean): string {
    const { changed } = summarizeDrift(text);
    const summary =
        text.trim() === ""
            ? "pulumi refresh printed nothing; no drift could be shown"
            : changed.length === 0
              ? "none: `pulumi refresh --preview-only` would change no resource"
              : `${changed.length} resource(s) differ from the last deployment's state (for LKE often the provider's own upgrade of a deprecated minor); the deploy refreshes first, then acts on what runs`;
    if (!markdown) return [`  ${summary}`, ...changed.map((c) => `    ${c}`)].join("\n");
    if (changed.length === 0) return summary;
    const clipped =
        text.length > 8_000 ? `${text.slice(0, 8_000)}\n… (cut; the whole output is in the run's log)` : text;
    return [
        `**${summary}**`,
        "",
        ...changed.slice(0, 20).map((c) => `- ${c}`),
        ...(changed.length > 20 ? [`- … and ${changed.length - 20} more`] : []),
        "",
        "<details><summary>pulumi refresh --preview-only --diff</summary>",
        "",
        "````",
        clipped.trimEnd(),
        "````",
        "",
        "</details>",
    ].join("\n");
}

function renderPolicies(report: PolicyReport, markdown: boolean): string[] {
    const bullet = markdown ? "- " : "  ";
    const out: string[] = [`${bullet}${report.evaluated} policies evaluated over ${report.resources} resources`];
    for (const [label, list] of [
        ["mandatory (blocks the update)", report.mandatory],
        ["advisory", report.advisory],
    ] as const) {
        if (list.length === 0) {
            out.push(`${bullet}${label}: none`);
            continue;
        }
        out.push(`${bullet}${label}:`);
        for (const v of list)
            out.push(
                `${markdown ? "  - " : "     - "}[${v.policy}] ${v.urn ? `${v.urn.split("::").pop()}: ` : ""}${v.message}`,
            );
    }
    return out;
}

interface PlanValues {
    previous?: string;
    source?: string;
    "stack-dir"?: string;
    "first-deployment"?: boolean;
    adopt?: boolean;
    markdown?: boolean;
    drift?: string;
    "max-chars"?: string;
    artifact?: string;
    json?: boolean;
}

function readable(file: string | undefined, flag: string): string | undefined {
    if (file !== undefined && !fs.existsSync(file)) throw new UsageError(`${flag} ${file}: no such file`);
    return file;
}

export const planCommand: Command<PlanValues> = {
    name: "plan",
    usage: "npm run plan -- <stack> [--previous FILE] [--source FILE] [--first-deployment] [--adopt] [--markdown | --json] [--stack-dir DIR] [--drift FILE] [--max-chars N] [--artifact TEXT]",
    description:
        "Runs the program offline under Pulumi's mock runtime with Pulumi.<stack>.yaml and prints what `pulumi up` " +
        "would do: the steps in order, the changes against the previous deployment, and the policy pack's verdicts. " +
        "Exits 1 when the config is refused or a mandatory policy is violated. The header names the day the version " +
        `table was checked and warns when that is more than ${STALE_AFTER_DAYS} days before today (${TODAY_VARIABLE}=YYYY-MM-DD sets the day).`,
    help: [
        [
            "--previous FILE",
            "the stack's outputs (`pulumi stack output --json`); default: the Pulumi CLI, else running/<stack>.json",
        ],
        ["--source FILE", "the same for the stack named in promotesFrom"],
        ["--first-deployment", "plan as if nothing ran yet"],
        [
            "--adopt",
            "the clusters already run: their `pulumi import` commands (config import IDs), then the first plan",
        ],
        ["--markdown", "a pull-request comment: summary, one Mermaid subgraph per cluster, steps in <details>"],
        ["--stack-dir DIR", "read Pulumi.<stack>.yaml and running/<stack>.json from DIR (default: the repository)"],
        ["--drift FILE", "what `pulumi refresh --preview-only --diff` printed, shown as drift"],
        ["--max-chars N", "Markdown: at most N characters (default 60000; 0: no limit), the rest left to --artifact"],
        ["--artifact TEXT", "Markdown: where the full plan is (a link), named wherever something was left out"],
        ["--json", "one JSON document (schema/command-output.schema.json) instead of text; same exit codes"],
        ["-h, --help", "this text"],
    ],
    options: {
        previous: { type: "string" },
        source: { type: "string" },
        "stack-dir": { type: "string" },
        "first-deployment": { type: "boolean" },
        adopt: { type: "boolean" },
        markdown: { type: "boolean" },
        drift: { type: "string" },
        "max-chars": { type: "string" },
        artifact: { type: "string" },
        json: { type: "boolean" },
    },
    async run(values, positionals) {
        const stackDir = values["stack-dir"] ? path.resolve(values["stack-dir"]) : ROOT;
        if (!fs.existsSync(stackDir)) throw new UsageError(`--stack-dir ${values["stack-dir"]}: no such folder`);
        const stacks = stacksIn(stackDir);
        if (positionals.length !== 1)
            throw new UsageError(`give exactly one stack (given: ${positionals.length}); stacks: ${stacks.join(", ")}`);
        const stack = positionals[0];
        requireStack(stack, stackDir);
        const maxChars = values["max-chars"] === undefined ? undefined : Number(values["max-chars"]);
        if (maxChars !== undefined && !(Number.isInteger(maxChars) && maxChars >= 0))
            throw new UsageError(`--max-chars ${values["max-chars"]}: give a whole number, 0 for no limit`);
        if (values.adopt && (values["first-deployment"] || values.previous))
            throw new UsageError(
                "--adopt plans the deployment that adopts running clusters: give it without --first-deployment or --previous",
            );
        if (values.json && values.markdown) throw new UsageError("--json and --markdown: give one of them");
        const driftFile = readable(values.drift, "--drift");
        const result = await planForStack(stack, {
            today: today(),
            previous: readable(values.previous, "--previous"),
            source: readable(values.source, "--source"),
            firstDeployment: values["first-deployment"],
            adopt: values.adopt,
            markdown: values.markdown,
            stackDir,
            drift: driftFile === undefined ? undefined : fs.readFileSync(driftFile, "utf8"),
            maxChars,
            artifact: values.artifact,
            json: values.json,
        });
        process.stdout.write(result.text);
        return result.exitCode;
    },
};

if (require.main === module) void runCommand(planCommand);
