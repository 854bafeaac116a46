// The recorded running state of a stack: `running/<stack>.json` beside the stack files, written by the deploy
// workflow after every successful `pulumi up` as `{commit, k8sUpgrades}` (what `pulumi stack output --json`
// prints, plus the commit that was deployed). A record with an `example` field holds invented example data.
import * as fs from "node:fs";
import * as path from "node:path";
import { UsageError } from "./cli";

export interface RecordedOutputs {
    outputs: Record<string, unknown>;
    /** Where the outputs came from, as the plan and promotion say it. */
    label: string;
    /** True when the record is invented example data, not what a deployment recorded. */
    example: boolean;
    /** The commit the recorded deployment ran, when the workflow recorded one. */
    commit?: string;
}

export function recordFile(stackDir: string, stack: string): string {
    return path.join(stackDir, "running", `${stack}.json`);
}

/** The record of a stack, or undefined when there is none. Throws when the file exists but is not JSON. */
export function readRecord(stackDir: string, stack: string): RecordedOutputs | undefined {
    const file = recordFile(stackDir, stack);
    if (!fs.existsSync(file)) return undefined;
    const shown = path.relative(stackDir, file).split(path.sep).join("/");
    let outputs: Record<string, unknown>;
    try {
        outputs = JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>;
    } catch (err) {
        throw new Error(`${shown} is not JSON (${(err as Error).message}); restore it from git or delete it`);
    }
    const example = typeof outputs.example === "string" || outputs.example === true;
    const commit = typeof outputs.commit === "string" ? outputs.commit : undefined;
    const label = example
        ? `${shown}: EXAMPLE DATA, invented IDs, not a recorded deployment (the deploy workflow replaces it)`
        : `${shown} (recorded by the deployment of ${commit ? `commit ${commit.slice(0, 12)}` : "an unrecorded commit"})`;
    return { outputs, label, example, commit };
}

/** A file of stack outputs, as given on the command line: a usage error (exit 2) when it is not a JSON object. */
export function readOutputsFile(file: string): Record<string, unknown> {
    let parsed: unknown;
    try {
        parsed = JSON.parse(fs.readFileSync(file, "utf8"));
    } catch (err) {
        throw new UsageError(
            `${file} is not JSON (${(err as Error).message}): give what 'pulumi stack output --json' printed`,
        );
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
        throw new UsageError(`${file} is not a map of stack outputs: give what 'pulumi stack output --json' printed`);
    return parsed as Record<string, unknown>;
}
