// What the project's npm commands share beyond the command-line conventions (policy/command-line.ts, re-exported
// here): the stacks a folder holds, unknown stacks and clusters as usage errors, and the day a command takes as today.
import * as fs from "node:fs";
import * as path from "node:path";
import { didYouMean, UsageError } from "../policy/command-line";

export { type Command, didYouMean, EXIT, helpText, runCommand, UsageError } from "../policy/command-line";

/** The stacks a folder holds: the <stack> of each Pulumi.<stack>.yaml, sorted. */
export function stacksIn(dir: string): string[] {
    if (!fs.existsSync(dir)) return [];
    return fs
        .readdirSync(dir)
        .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
        .filter((s): s is string => !!s)
        .sort();
}

/** A usage error (exit 2) unless the folder holds Pulumi.<stack>.yaml; it names the stacks there and the closest. */
export function requireStack(stack: string, dir: string): void {
    if (!fs.existsSync(dir)) throw new UsageError(`--stack-dir ${dir}: no such folder`);
    const stacks = stacksIn(dir);
    if (stacks.includes(stack)) return;
    throw new UsageError(
        `no stack "${stack}"${didYouMean(stack, stacks)}: stacks are ${stacks.join(", ") || "none"} (Pulumi.<stack>.yaml in ${path.resolve(dir)})`,
    );
}

/** A usage error (exit 2) unless `name` is one of the stack's clusters; it names them and the closest. */
export function requireCluster(name: string, stack: string, clusters: readonly string[]): void {
    if (!clusters.includes(name)) throw unknownCluster(name, stack, clusters);
}

/** The usage error for a cluster the stack does not have. */
export function unknownCluster(name: string, stack: string, clusters: readonly string[]): UsageError {
    return new UsageError(
        `--cluster ${name}: stack ${stack} has no such cluster${didYouMean(name, clusters)}; its clusters: ${clusters.join(", ") || "none"}`,
    );
}

/** The environment variable that fixes the day a command takes as today (YYYY-MM-DD), for tests and re-runs. */
export const TODAY_VARIABLE = "K8SU_TODAY";

/** Today: the clock, or the day K8SU_TODAY names; a malformed K8SU_TODAY is a usage error. */
export function today(env: NodeJS.ProcessEnv = process.env, clock: () => Date = () => new Date()): Date {
    const pinned = env[TODAY_VARIABLE];
    if (pinned === undefined || pinned === "") return clock();
    const day = /^\d{4}-\d{2}-\d{2}$/.test(pinned) ? new Date(`${pinned}T00:00:00Z`) : undefined;
    if (!day || Number.isNaN(day.getTime()) || day.toISOString().slice(0, 10) !== pinned)
        throw new UsageError(
            `${TODAY_VARIABLE}=${pinned}: give a day as YYYY-MM-DD (such as 2026-12-07), or unset it to use the clock`,
        );
    return day;
}
