// What every command of this project does alike: `node:util` parseArgs, `--help` on standard output, and exit
// codes CI can rely on: 0 done, 1 refused (the command ran and said no), 2 usage (it could not run as asked), and
// for the rehearsal 3 incomplete (it ran, but left part of the upgrade unjudged).
import * as fs from "node:fs";
import * as path from "node:path";
import { type ParseArgsConfig, parseArgs } from "node:util";
import { closest, distance } from "fastest-levenshtein";

export const EXIT = { ok: 0, refused: 1, usage: 2, incomplete: 3 } as const;

/** A mistake in how the command was called; printed with the usage line, exit 2, never with a stack trace. */
export class UsageError extends Error {}

export interface Command<V> {
    /** `npm run <name> -- …` */
    name: string;
    usage: string;
    /** One paragraph: what the command does. */
    description: string;
    /** Each option as it appears in --help: ["--dry-run", "print the diff, write nothing"]. */
    help: Array<[string, string]>;
    options: NonNullable<ParseArgsConfig["options"]>;
    /** The exit codes line of --help, when the command has more than the three every command has. */
    exitCodes?: string;
    /** Runs with the parsed arguments and returns the exit code. */
    run(values: V, positionals: string[]): Promise<number> | number;
}

/** " (did you mean X?)" when one candidate is close to what was given (a typo, not another word); else "". */
export function didYouMean(given: string, candidates: readonly string[]): string {
    if (candidates.length === 0 || given === "") return "";
    const best = closest(given, [...candidates]);
    const tolerated = Math.max(1, Math.floor(Math.max(given.length, best.length) / 3));
    return distance(given, best) <= tolerated ? ` (did you mean ${best}?)` : "";
}

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

/** The message of a parseArgs error, with the closest option when an unknown one was given. */
function parseErrorMessage<V>(cmd: Command<V>, err: Error): string {
    const unknown = /^Unknown option '(-{1,2}[^']+)'/.exec(err.message)?.[1];
    if (!unknown) return err.message;
    const known = [...Object.keys(cmd.options).map((o) => `--${o}`), "--help"];
    const hint = didYouMean(unknown, known);
    return hint ? `unknown option ${unknown}${hint}` : err.message;
}

export function helpText<V>(cmd: Command<V>): string {
    const width = Math.max(...cmd.help.map(([flag]) => flag.length));
    return [
        `usage: ${cmd.usage}`,
        "",
        cmd.description,
        "",
        "options:",
        ...cmd.help.map(([flag, text]) => `  ${flag.padEnd(width)}  ${text}`),
        "",
        `exit codes: ${cmd.exitCodes ?? "0 done, 1 refused, 2 usage error"}`,
        "",
    ].join("\n");
}

/** Parses argv, prints --help, maps errors to exit codes, and exits. */
export async function runCommand<V>(cmd: Command<V>, argv = process.argv.slice(2)): Promise<never> {
    let code: number;
    try {
        const { values, positionals } = parseArgs({
            args: argv,
            allowPositionals: true,
            strict: true,
            options: { ...cmd.options, help: { type: "boolean", short: "h" } },
        });
        if ((values as { help?: boolean }).help) {
            process.stdout.write(helpText(cmd));
            code = EXIT.ok;
        } else code = await cmd.run(values as V, positionals);
    } catch (err) {
        // A child process's error carries its exit status as a number in `code`; only parseArgs's are usage errors.
        const errCode = (err as { code?: unknown }).code;
        const usage =
            err instanceof UsageError || (typeof errCode === "string" && errCode.startsWith("ERR_PARSE_ARGS"));
        const message =
            err instanceof Error
                ? usage && !(err instanceof UsageError)
                    ? parseErrorMessage(cmd, err)
                    : err.message
                : String(err);
        process.stderr.write(`${cmd.name}: ${message}\n`);
        if (usage) process.stderr.write(`usage: ${cmd.usage}\n(--help for the options)\n`);
        code = usage ? EXIT.usage : EXIT.refused;
    }
    // Let the output drain before exiting.
    await new Promise<void>((resolve) => process.stdout.write("", () => resolve()));
    process.exit(code);
}
