// shellcheck for the tests that lint scripts: a machine without it gets told what to install, not "null !== 0".
import { type SpawnSyncReturns, spawnSync } from "node:child_process";

export const SHELLCHECK_MISSING =
    "shellcheck is not installed on this machine, and the tests lint every script with it: install it " +
    "(apt-get install shellcheck; dnf install ShellCheck; brew install shellcheck), then run the tests again. " +
    ".ci/run installs it in CI.";

/** Runs shellcheck with these arguments; throws SHELLCHECK_MISSING when there is no shellcheck on PATH. */
export function runShellcheck(args: string[], env: NodeJS.ProcessEnv = process.env): SpawnSyncReturns<string> {
    const r = spawnSync("shellcheck", args, { encoding: "utf8", env });
    if ((r.error as NodeJS.ErrnoException | undefined)?.code === "ENOENT") throw new Error(SHELLCHECK_MISSING);
    if (r.error) throw r.error;
    return r;
}
