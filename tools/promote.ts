// `npm run promote -- <target-stack> [--source-outputs FILE] [--dry-run] [--stack-dir DIR]`
// Sets the target stack's cluster versions to what its promotesFrom stack runs now, editing only the
// version values in Pulumi.<target>.yaml (comments and layout stay), and prints the diff.
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import * as YAML from "yaml";
import { parseRunningState, RUNNING_STATE_OUTPUT, type RunningState } from "../components/running";
import {
    controlPlaneTransition,
    formatVersion,
    minorPath,
    parseVersion,
    promotionRefusal,
} from "../components/versions";
import { ROOT, readStackOutputs } from "./harness";

export interface PromoteOptions {
    target: string;
    stackDir?: string;
    /** The source stack's outputs (what `pulumi stack output --json` prints); read through the CLI when absent. */
    sourceOutputs?: Record<string, unknown>;
    dryRun?: boolean;
}

export interface PromoteResult {
    ok: boolean;
    /** Why it refused, one line each. */
    refusals: string[];
    notes: string[];
    diff: string;
    /** The new file text (written unless dryRun or refused). */
    text?: string;
}

function readSourceOutputs(source: string): Record<string, unknown> {
    try {
        return readStackOutputs(source);
    } catch (err) {
        throw new Error(
            `cannot read the outputs of stack "${source}" (${(err as Error).message.split("\n")[0]}). Install and log in to the Pulumi CLI, or pass --source-outputs FILE with what 'pulumi stack output --json --stack ${source}' prints.`,
        );
    }
}

/** Line-by-line diff of two texts with the same line count (only values change). */
function diffLines(file: string, before: string, after: string): string {
    const a = before.split("\n");
    const b = after.split("\n");
    const out: string[] = [];
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
        if (a[i] !== b[i]) out.push(`@@ line ${i + 1} @@`, `-${a[i] ?? ""}`, `+${b[i] ?? ""}`);
    }
    return out.length > 0 ? `${[`--- a/${file}`, `+++ b/${file}`, ...out].join("\n")}\n` : "";
}

export function promote(opts: PromoteOptions): PromoteResult {
    const dir = opts.stackDir ?? ROOT;
    const file = path.join(dir, `Pulumi.${opts.target}.yaml`);
    if (!fs.existsSync(file))
        return { ok: false, refusals: [`no stack file ${path.basename(file)}`], notes: [], diff: "" };
    const original = fs.readFileSync(file, "utf8");
    const doc = YAML.parseDocument(original, { keepSourceTokens: true });
    const config = doc.get("config", true) as YAML.YAMLMap | undefined;
    const source = config?.get("k8s-upgrades:promotesFrom");
    if (typeof source !== "string" || source === "") {
        return {
            ok: false,
            refusals: [`stack "${opts.target}" has no k8s-upgrades:promotesFrom: there is nothing to promote from`],
            notes: [],
            diff: "",
        };
    }

    let state: RunningState | undefined;
    try {
        const outputs = opts.sourceOutputs ?? readSourceOutputs(source);
        state = parseRunningState(outputs[RUNNING_STATE_OUTPUT], `stack "${source}"`);
    } catch (err) {
        return { ok: false, refusals: [(err as Error).message], notes: [], diff: "" };
    }
    if (!state)
        return {
            ok: false,
            refusals: [
                `stack "${source}" has recorded no running state (output "${RUNNING_STATE_OUTPUT}"): deploy it first`,
            ],
            notes: [],
            diff: "",
        };

    const refusals: string[] = [];
    const notes: string[] = [];
    const clusters = config?.get("k8s-upgrades:clusters", true) as YAML.YAMLSeq | undefined;
    const edits: Array<{ range: [number, number, number]; text: string }> = [];
    const seen = new Set<string>();
    for (const item of clusters?.items ?? []) {
        const cluster = item as YAML.YAMLMap;
        const name = String(cluster.get("name"));
        seen.add(name);
        const versionNode = cluster.get("kubernetesVersion", true) as YAML.Scalar | undefined;
        const current = parseVersion(versionNode?.value);
        const src = state.clusters[name];
        if (!src) {
            notes.push(`cluster ${name}: not in stack "${source}"; left alone`);
            continue;
        }
        if (!versionNode || !current) {
            refusals.push(`cluster ${name}: its kubernetesVersion in Pulumi.${opts.target}.yaml is not a version`);
            continue;
        }
        const to = parseVersion(src.controlPlaneVersion)!;
        const t = controlPlaneTransition(current, to);
        if (t.kind === "none") {
            // "1.31.5" here and "1.31" there compare equal, but the source never proved that patch.
            const unproven = promotionRefusal(current, to);
            if (unproven)
                refusals.push(
                    `cluster ${name}: Pulumi.${opts.target}.yaml targets ${formatVersion(current)} but stack "${source}" runs ${src.controlPlaneVersion} (${unproven}); pin the patch in "${source}" first`,
                );
            else notes.push(`cluster ${name}: already at ${src.controlPlaneVersion}`);
            continue;
        }
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
        if (src.validatedVersion !== src.controlPlaneVersion) {
            refusals.push(
                `cluster ${name}: stack "${source}" runs ${src.controlPlaneVersion} but its last passed validation was ${src.validatedVersion ? `at ${src.validatedVersion}` : "never recorded"}; promote only what was validated`,
            );
        }
        if (versionNode.range) edits.push({ range: versionNode.range, text: `"${src.controlPlaneVersion}"` });
        notes.push(`cluster ${name}: ${formatVersion(current)} → ${src.controlPlaneVersion}`);
    }
    for (const name of Object.keys(state.clusters))
        if (!seen.has(name)) notes.push(`cluster ${name}: only in stack "${source}"; nothing to promote here`);
    if (refusals.length > 0) return { ok: false, refusals, notes, diff: "" };

    // Edit the source text in place at the scalars' ranges, so everything else stays byte for byte.
    let text = original;
    for (const e of [...edits].sort((a, b) => b.range[0] - a.range[0]))
        text = text.slice(0, e.range[0]) + e.text + text.slice(e.range[1]);
    const diff = diffLines(path.basename(file), original, text);
    if (!opts.dryRun && text !== original) fs.writeFileSync(file, text);
    return { ok: true, refusals, notes, diff, text };
}

function cli(): void {
    const { values, positionals } = parseArgs({
        allowPositionals: true,
        options: {
            "source-outputs": { type: "string" },
            "dry-run": { type: "boolean" },
            "stack-dir": { type: "string" },
        },
    });
    if (positionals.length !== 1) {
        console.error("usage: npm run promote -- <target-stack> [--source-outputs FILE] [--dry-run] [--stack-dir DIR]");
        process.exit(2);
    }
    const result = promote({
        target: positionals[0],
        stackDir: values["stack-dir"],
        dryRun: values["dry-run"],
        sourceOutputs: values["source-outputs"]
            ? JSON.parse(fs.readFileSync(values["source-outputs"], "utf8"))
            : undefined,
    });
    for (const n of result.notes) console.log(n);
    if (!result.ok) {
        console.error(`promotion of stack "${positionals[0]}" refused; nothing was written:`);
        for (const r of result.refusals) console.error(`  - ${r}`);
        process.exit(1);
    }
    process.stdout.write(result.diff || "no change\n");
}

if (require.main === module) cli();
