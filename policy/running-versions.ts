#!/usr/bin/env node
// CrossGuard gives policies no previous state, so `control-plane-one-minor-at-a-time` judges a raw control plane
// against runningVersions in its policy config. This reads that previous state where Pulumi keeps it, in the
// stack's last deployment (`pulumi stack export`), and writes the policy config:
//
//   pulumi stack export -s prod | k8s-upgrades-running-versions > running.json
//   pulumi stack export -s prod | k8s-upgrades-running-versions policy-prod.json > policy-config.json
//
// With a file argument, its config is kept and runningVersions added to it. A control plane recorded without a
// readable version stops the command (exit 1): guessing would let a skipped minor through. --help, a misspelt
// option and the exit codes behave as in every command of the project (./command-line.ts).
import * as fs from "node:fs";
import { CONTROL_PLANES, controlPlaneVersion } from "./clusters";
import { type Command, EXIT, runCommand, UsageError } from "./command-line";

export const POLICY = "control-plane-one-minor-at-a-time";

interface ExportedResource {
    urn: string;
    type: string;
    outputs?: Record<string, unknown>;
    delete?: boolean;
}

/** The last segment of a URN: the resource's name in the program. */
const nameOf = (urn: string) => urn.slice(urn.lastIndexOf("::") + 2);

/** What each control plane in a `pulumi stack export` ran at its last deployment, by name (by URN where names clash). */
export function runningVersions(stackExport: unknown): Record<string, string> {
    const resources = (stackExport as { deployment?: { resources?: ExportedResource[] } })?.deployment?.resources;
    if (!Array.isArray(resources))
        throw new Error("not a `pulumi stack export` document: it has no deployment.resources list");
    const found: Array<{ urn: string; version: string }> = [];
    for (const r of resources) {
        const kind = CONTROL_PLANES.find((k) => k.matches(r.type));
        if (!kind || r.delete) continue;
        const v = controlPlaneVersion(kind, { props: r.outputs ?? {} }, kind.runningPaths);
        if (v.kind !== "version")
            throw new Error(
                `${r.urn}: no readable running version in its recorded outputs (${kind.runningPaths.join(", ")}); refresh the stack (pulumi refresh) and export it again`,
            );
        found.push({ urn: r.urn, version: v.text });
    }
    const out: Record<string, string> = {};
    for (const f of found) {
        const clash = found.filter((g) => nameOf(g.urn) === nameOf(f.urn)).length > 1;
        out[clash ? f.urn : nameOf(f.urn)] = f.version;
    }
    return out;
}

/** The policy config with runningVersions set, the other policies' settings kept. */
export function withRunningVersions(
    config: Record<string, unknown>,
    versions: Record<string, string>,
): Record<string, unknown> {
    const current = config[POLICY];
    const settings = typeof current === "string" ? { enforcementLevel: current } : (current ?? {});
    return { ...config, [POLICY]: { ...(settings as Record<string, unknown>), runningVersions: versions } };
}

/** Reads the JSON of a file, or says (as a usage error: the command cannot run as asked) why it cannot. */
function readJson(text: () => string, what: string): unknown {
    let raw: string;
    try {
        raw = text();
    } catch (err) {
        throw new UsageError(
            `${what}: ${(err as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (err as Error).message}`,
        );
    }
    try {
        return JSON.parse(raw) as unknown;
    } catch (err) {
        throw new UsageError(`${what} is not JSON (${(err as Error).message})`);
    }
}

export const runningVersionsCommand: Command<Record<string, never>> = {
    name: "k8s-upgrades-running-versions",
    usage: "pulumi stack export -s STACK | k8s-upgrades-running-versions [POLICY_CONFIG_FILE] [--help]",
    description:
        `Reads a \`pulumi stack export\` on standard input and prints the policy pack's config with ${POLICY}.runningVersions ` +
        "set to what each control plane ran at the stack's last deployment. With POLICY_CONFIG_FILE, that file's other " +
        "settings are kept. Refuses (exit 1) a control plane recorded without a readable version: guessing would let a " +
        "skipped minor through.",
    help: [
        ["POLICY_CONFIG_FILE", "a --policy-pack-config file to add runningVersions to (default: an empty config)"],
        ["-h, --help", "this text"],
    ],
    options: {},
    run(_values, positionals) {
        if (positionals.length > 1)
            throw new UsageError(`give at most one policy config file (given: ${positionals.join(" ")})`);
        const [configFile] = positionals;
        if (process.stdin.isTTY)
            throw new UsageError("nothing on standard input: pipe `pulumi stack export -s STACK` into it");
        const config = configFile ? readJson(() => fs.readFileSync(configFile, "utf8"), configFile) : {};
        if (typeof config !== "object" || config === null || Array.isArray(config))
            throw new UsageError(`${configFile} is not a policy config (a JSON object keyed by policy name)`);
        const stackExport = readJson(() => fs.readFileSync(0, "utf8"), "standard input");
        if (!Array.isArray((stackExport as { deployment?: { resources?: unknown } })?.deployment?.resources))
            throw new UsageError(
                "standard input is not a `pulumi stack export` document: it has no deployment.resources list",
            );
        const versions = runningVersions(stackExport);
        process.stdout.write(
            `${JSON.stringify(withRunningVersions(config as Record<string, unknown>, versions), null, 2)}\n`,
        );
        return EXIT.ok;
    },
};

if (require.main === module) void runCommand(runningVersionsCommand);
