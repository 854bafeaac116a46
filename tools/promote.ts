// `npm run promote -- <target-stack> [options]` (`--help` lists them). Sets the target stack's cluster versions
// to what its promotesFrom stack runs now, editing only the version values in Pulumi.<target>.yaml (comments and
// layout stay), and prints the change as a unified diff that `git apply` takes.
import * as fs from "node:fs";
import * as path from "node:path";
import * as YAML from "yaml";
import { parseRunningState, RUNNING_STATE_OUTPUT, type RunningCluster, type RunningState } from "../components/running";
import {
    controlPlaneTransition,
    formatVersion,
    type KubeVersion,
    minorPath,
    parseVersion,
    promotionRefusal,
} from "../components/versions";
import { type Command, EXIT, requireStack, runCommand, UsageError } from "./cli";
import { ROOT, readStackOutputs } from "./harness";
import { outcomeOf, printJson } from "./json-output";
import { readOutputsFile, readRecord } from "./records";

export interface PromoteOptions {
    target: string;
    stackDir?: string;
    /** The source stack's outputs (what `pulumi stack output --json` prints); read through the CLI when absent. */
    sourceOutputs?: Record<string, unknown>;
    /** Where sourceOutputs came from, as the output names it (default "--source-outputs"). */
    sourceOutputsLabel?: string;
    dryRun?: boolean;
    /** The diff names the file relative to this folder (default: the stack folder). */
    repoRoot?: string;
}

export interface PromoteResult {
    ok: boolean;
    /** Why it refused, one line each. */
    refusals: string[];
    notes: string[];
    diff: string;
    /** The new file text (written unless dryRun or refused). */
    text?: string;
    /** Where the source stack's outputs came from. */
    sourceLabel?: string;
    /** The stack file read, and written when `written`. */
    file?: string;
    written?: boolean;
    /** The stack promoted from. */
    source?: string;
}

interface SourceOutputs {
    outputs: Record<string, unknown>;
    label: string;
}

/**
 * The source stack's outputs: the Pulumi CLI when it can say; else the committed record running/<source>.json,
 * which a dry run may read as it is, and a real promotion only when a deployment recorded it (not example data).
 */
function readSourceOutputs(source: string, stackDir: string, dryRun: boolean): SourceOutputs {
    let cliError: string;
    try {
        return { outputs: readStackOutputs(source), label: `pulumi stack output --json --stack ${source}` };
    } catch (err) {
        cliError = (err as Error).message.split("\n")[0];
    }
    const record = readRecord(stackDir, source);
    if (record && (dryRun || !record.example)) return { outputs: record.outputs, label: record.label };
    throw new Error(
        `cannot read the outputs of stack "${source}" (${cliError})` +
            (record ? `, and ${record.label} is not what a deployment recorded` : "") +
            `. Install and log in to the Pulumi CLI, or pass --source-outputs FILE with what 'pulumi stack output --json --stack ${source}' prints${record ? ", or --dry-run to see the promotion from the example record" : ""}.`,
    );
}

/**
 * A unified diff (`git apply` takes it) of two texts with the same lines except changed values: each run of
 * changed lines with up to three lines of context, hunks that touch merged.
 */
export function unifiedDiff(file: string, before: string, after: string, context = 3): string {
    const split = (t: string) => {
        const lines = t.split("\n");
        const endsWithNewline = lines[lines.length - 1] === "";
        if (endsWithNewline) lines.pop();
        return { lines, endsWithNewline };
    };
    const a = split(before);
    const b = split(after);
    if (a.lines.length !== b.lines.length) throw new Error("unifiedDiff: only value edits, line for line");
    const changed: number[] = [];
    for (let i = 0; i < a.lines.length; i++)
        if (a.lines[i] !== b.lines[i] || (i === a.lines.length - 1 && a.endsWithNewline !== b.endsWithNewline))
            changed.push(i);
    if (changed.length === 0) return "";
    const hunks: Array<[number, number]> = [];
    for (const i of changed) {
        const start = Math.max(0, i - context);
        const end = Math.min(a.lines.length - 1, i + context);
        const last = hunks[hunks.length - 1];
        if (last && start <= last[1] + 1) last[1] = end;
        else hunks.push([start, end]);
    }
    const noNewline = "\\ No newline at end of file";
    const out = [`--- a/${file}`, `+++ b/${file}`];
    for (const [start, end] of hunks) {
        const count = end - start + 1;
        out.push(`@@ -${start + 1},${count} +${start + 1},${count} @@`);
        for (let i = start; i <= end; i++) {
            const lastLine = i === a.lines.length - 1;
            if (a.lines[i] === b.lines[i] && !(lastLine && a.endsWithNewline !== b.endsWithNewline)) {
                out.push(` ${a.lines[i]}`);
                if (lastLine && !a.endsWithNewline) out.push(noNewline);
                continue;
            }
            out.push(`-${a.lines[i]}`);
            if (lastLine && !a.endsWithNewline) out.push(noNewline);
            out.push(`+${b.lines[i]}`);
            if (lastLine && !b.endsWithNewline) out.push(noNewline);
        }
    }
    return `${out.join("\n")}\n`;
}

type Edit = { range: [number, number, number]; text: string };

/** What one cluster's promotion decides: refusals, notes, and the edit of its version scalar. */
interface ClusterPromotion {
    refusals: string[];
    notes: string[];
    edit?: Edit;
}

/** Why the source stack's record cannot be promoted for this cluster, if it cannot. */
function sourceRefusals(name: string, current: KubeVersion, src: RunningCluster, source: string): string[] {
    const refusals: string[] = [];
    const to = parseVersion(src.controlPlaneVersion)!;
    const t = controlPlaneTransition(current, to);
    if (t.kind === "skip")
        refusals.push(
            `cluster ${name}: ${formatVersion(current)} → ${src.controlPlaneVersion} would skip a minor; promote through ${minorPath(current, to).join(" → ")}, one deployment each`,
        );
    if (t.kind === "downgrade")
        refusals.push(
            `cluster ${name}: stack "${source}" runs ${src.controlPlaneVersion}, older than ${formatVersion(current)} here; a promotion never goes down`,
        );
    if (src.upgradeInProgress)
        refusals.push(
            `cluster ${name}: stack "${source}" still has an upgrade in progress (pools lag its control plane or a retained pool waits); finish it there first`,
        );
    if (src.validatedVersion !== src.controlPlaneVersion)
        refusals.push(
            `cluster ${name}: stack "${source}" runs ${src.controlPlaneVersion} but its last passed validation was ${src.validatedVersion ? `at ${src.validatedVersion}` : "never recorded"}; promote only what was validated`,
        );
    return refusals;
}

function promoteCluster(cluster: YAML.YAMLMap, state: RunningState, target: string, source: string): ClusterPromotion {
    const name = String(cluster.get("name"));
    const versionNode = cluster.get("kubernetesVersion", true) as YAML.Scalar | undefined;
    const current = parseVersion(versionNode?.value);
    const src = state.clusters[name];
    if (!src) return { refusals: [], notes: [`cluster ${name}: not in stack "${source}"; left alone`] };
    if (!versionNode || !current)
        return {
            refusals: [`cluster ${name}: its kubernetesVersion in Pulumi.${target}.yaml is not a version`],
            notes: [],
        };
    const to = parseVersion(src.controlPlaneVersion)!;
    if (controlPlaneTransition(current, to).kind === "none") {
        // "1.31.5" here and "1.31" there compare equal, but the source never proved that patch.
        const unproven = promotionRefusal(current, to);
        return unproven
            ? {
                  refusals: [
                      `cluster ${name}: Pulumi.${target}.yaml targets ${formatVersion(current)} but stack "${source}" runs ${src.controlPlaneVersion} (${unproven}); pin the patch in "${source}" first`,
                  ],
                  notes: [],
              }
            : { refusals: [], notes: [`cluster ${name}: already at ${src.controlPlaneVersion}`] };
    }
    return {
        refusals: sourceRefusals(name, current, src, source),
        notes: [`cluster ${name}: ${formatVersion(current)} → ${src.controlPlaneVersion}`],
        edit: versionNode.range ? { range: versionNode.range, text: `"${src.controlPlaneVersion}"` } : undefined,
    };
}

/** The source stack's running record, or why it cannot be read. */
function readSourceState(
    opts: PromoteOptions,
    source: string,
    dir: string,
): { state?: RunningState; sourceLabel?: string; refusal?: string } {
    let sourceLabel = opts.sourceOutputsLabel ?? "--source-outputs";
    try {
        let outputs = opts.sourceOutputs;
        if (!outputs) ({ outputs, label: sourceLabel } = readSourceOutputs(source, dir, !!opts.dryRun));
        const state = parseRunningState(outputs[RUNNING_STATE_OUTPUT], `stack "${source}"`);
        if (!state)
            return {
                sourceLabel,
                refusal: `stack "${source}" has recorded no running state (output "${RUNNING_STATE_OUTPUT}"): deploy it first`,
            };
        // Promoting from another stack's record would copy versions the source never ran.
        if (state.stack !== "" && state.stack !== source)
            return {
                sourceLabel,
                refusal: `${sourceLabel} is the record of stack "${state.stack}", not of stack "${source}" (the stack ${opts.target} promotes from): give the outputs of stack "${source}" (pulumi stack output --json --stack ${source}, or running/${source}.json)`,
            };
        return { state, sourceLabel };
    } catch (err) {
        return { refusal: (err as Error).message };
    }
}

/** Edits the source text in place at the scalars' ranges, so everything else stays byte for byte. */
function applyEdits(original: string, edits: Edit[]): string {
    let text = original;
    for (const e of [...edits].sort((a, b) => b.range[0] - a.range[0]))
        text = text.slice(0, e.range[0]) + e.text + text.slice(e.range[1]);
    return text;
}

export function promote(opts: PromoteOptions): PromoteResult {
    const dir = opts.stackDir ?? ROOT;
    const file = path.join(dir, `Pulumi.${opts.target}.yaml`);
    const refuse = (refusals: string[], sourceLabel?: string): PromoteResult => ({
        ok: false,
        refusals,
        notes: [],
        diff: "",
        ...(sourceLabel ? { sourceLabel } : {}),
    });
    if (!fs.existsSync(file)) return refuse([`no stack file ${path.basename(file)}`]);
    const original = fs.readFileSync(file, "utf8");
    const doc = YAML.parseDocument(original, { keepSourceTokens: true });
    const config = doc.get("config", true) as YAML.YAMLMap | undefined;
    const source = config?.get("k8s-upgrades:promotesFrom");
    if (typeof source !== "string" || source === "")
        return refuse([`stack "${opts.target}" has no k8s-upgrades:promotesFrom: there is nothing to promote from`]);
    const { state, sourceLabel, refusal } = readSourceState(opts, source, dir);
    if (!state) return { ...refuse([refusal ?? `stack "${source}": no running state`], sourceLabel), file, source };

    const refusals: string[] = [];
    const notes: string[] = [];
    const edits: Edit[] = [];
    const clusters = config?.get("k8s-upgrades:clusters", true) as YAML.YAMLSeq | undefined;
    for (const item of clusters?.items ?? []) {
        const decided = promoteCluster(item as YAML.YAMLMap, state, opts.target, source);
        refusals.push(...decided.refusals);
        notes.push(...decided.notes);
        if (decided.edit) edits.push(decided.edit);
    }
    const seen = new Set((clusters?.items ?? []).map((item) => String((item as YAML.YAMLMap).get("name"))));
    for (const name of Object.keys(state.clusters))
        if (!seen.has(name)) notes.push(`cluster ${name}: only in stack "${source}"; nothing to promote here`);
    if (refusals.length > 0) return { ok: false, refusals, notes, diff: "", sourceLabel, file, source };

    const text = applyEdits(original, edits);
    const shown = path
        .relative(opts.repoRoot ?? dir, file)
        .split(path.sep)
        .join("/");
    const diff = unifiedDiff(shown, original, text);
    const written = !opts.dryRun && text !== original;
    if (written) fs.writeFileSync(file, text);
    return { ok: true, refusals, notes, diff, text, sourceLabel, file, written, source };
}

interface PromoteValues {
    "source-outputs"?: string;
    "dry-run"?: boolean;
    "stack-dir"?: string;
    json?: boolean;
}

export const promoteCommand: Command<PromoteValues> = {
    name: "promote",
    usage: "npm run promote -- <target-stack> [--source-outputs FILE] [--dry-run] [--json] [--stack-dir DIR]",
    description:
        "Sets the versions in Pulumi.<target>.yaml to what its promotesFrom stack runs, validated and with no upgrade " +
        "in progress, and prints the change as a unified diff (`git apply` takes it). Only version values change; " +
        "comments and layout stay. Refuses (exit 1, nothing written) a skipped minor, a downgrade, an unvalidated or " +
        "unfinished source, or outputs it cannot read.",
    help: [
        [
            "--source-outputs FILE",
            "the source stack's outputs (`pulumi stack output --json`); default: the Pulumi CLI, else running/<source>.json",
        ],
        ["--dry-run", "print the diff, write nothing (may read an example record)"],
        ["--stack-dir DIR", "the folder holding the stack files and running/ (default: the repository)"],
        ["--json", "one JSON document (schema/command-output.schema.json) instead of text; same exit codes"],
        ["-h, --help", "this text"],
    ],
    options: {
        "source-outputs": { type: "string" },
        "dry-run": { type: "boolean" },
        "stack-dir": { type: "string" },
        json: { type: "boolean" },
    },
    run(values, positionals) {
        if (positionals.length !== 1)
            throw new UsageError(`give exactly one target stack (given: ${positionals.length})`);
        const target = positionals[0];
        const stackDir = values["stack-dir"] ? path.resolve(values["stack-dir"]) : ROOT;
        requireStack(target, stackDir);
        const file = values["source-outputs"];
        if (file !== undefined && !fs.existsSync(file)) throw new UsageError(`--source-outputs ${file}: no such file`);
        const result = promote({
            target,
            stackDir,
            repoRoot: stackDir === ROOT ? ROOT : undefined,
            dryRun: values["dry-run"],
            sourceOutputs: file ? readOutputsFile(file) : undefined,
            sourceOutputsLabel: file ? `--source-outputs ${file}` : undefined,
        });
        const exitCode = result.ok ? EXIT.ok : EXIT.refused;
        if (values.json) {
            process.stdout.write(
                printJson({
                    command: "promote",
                    stack: target,
                    source: result.source ?? null,
                    sourceOutputs: result.sourceLabel ?? null,
                    file: result.file ?? null,
                    written: !!result.written,
                    dryRun: !!values["dry-run"],
                    outcome: outcomeOf(exitCode),
                    exitCode,
                    refusals: result.refusals.map((message) => ({
                        field: /^cluster \S+: its kubernetesVersion/.test(message) ? "kubernetesVersion" : null,
                        cluster: /^cluster (\S+):/.exec(message)?.[1] ?? null,
                        message,
                    })),
                    notes: result.notes,
                    diff: result.diff,
                }),
            );
            return exitCode;
        }
        const shown = (file: string) => path.relative(process.cwd(), file) || file;
        if (result.file) process.stderr.write(`read: ${shown(result.file)}\n`);
        if (result.sourceLabel) process.stderr.write(`source outputs: ${result.sourceLabel}\n`);
        for (const n of result.notes) process.stderr.write(`${n}\n`);
        if (!result.ok) {
            process.stderr.write(`promotion of stack "${target}" refused; nothing was written:\n`);
            for (const r of result.refusals) process.stderr.write(`  - ${r}\n`);
            return EXIT.refused;
        }
        if (result.diff === "") process.stderr.write("no change: nothing was written\n");
        else if (values["dry-run"]) process.stderr.write("dry run: nothing was written\n");
        else if (result.written && result.file) process.stderr.write(`wrote: ${shown(result.file)}\n`);
        process.stdout.write(result.diff);
        return EXIT.ok;
    },
};

if (require.main === module) void runCommand(promoteCommand);
