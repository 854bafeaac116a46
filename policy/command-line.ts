// What every command of this project does alike, the policy pack's bin included: `node:util` parseArgs, `--help` on
// standard output, a "did you mean" for a misspelt option, and exit codes CI can rely on: 0 done, 1 refused (the
// command ran and said no), 2 usage (it could not run as asked), and for the rehearsal 3 incomplete (it ran, but left
// part of the upgrade unjudged). Owned by the policy pack, which is published on its own; tools/cli.ts re-exports it.
import { type ParseArgsConfig, parseArgs } from "node:util";
import { closest, distance } from "fastest-levenshtein";

export const EXIT = { ok: 0, refused: 1, usage: 2, incomplete: 3 } as const;

/** A mistake in how the command was called; printed with the usage line, exit 2, never with a stack trace. */
export class UsageError extends Error {}

export interface Command<V> {
    /** How its messages name it: `plan` for `npm run plan -- …`, or the bin's own name. */
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
