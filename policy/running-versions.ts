#!/usr/bin/env node
// CrossGuard gives policies no previous state, so `control-plane-one-minor-at-a-time` judges a raw control plane
// against runningVersions in its policy config. This reads that previous state where Pulumi keeps it, in the
// stack's last deployment (`pulumi stack export`), and writes the policy config:
//
//   pulumi stack export -s prod | k8s-upgrades-running-versions > running.json
//   pulumi stack export -s prod | k8s-upgrades-running-versions policy-prod.json > policy-config.json
//
// With a file argument, its config is kept and runningVersions added to it. A control plane recorded without a
// readable version stops the command: guessing would let a skipped minor through.
import * as fs from "node:fs";
import { CONTROL_PLANES, controlPlaneVersion } from "./clusters";

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

function main(): void {
    const [configFile] = process.argv.slice(2);
    const stackExport = JSON.parse(fs.readFileSync(0, "utf8")) as unknown;
    const config = configFile ? (JSON.parse(fs.readFileSync(configFile, "utf8")) as Record<string, unknown>) : {};
    process.stdout.write(`${JSON.stringify(withRunningVersions(config, runningVersions(stackExport)), null, 2)}\n`);
}

if (require.main === module) {
    try {
        main();
    } catch (e) {
        process.stderr.write(`k8s-upgrades-running-versions: ${(e as Error).message}\n`);
        process.exit(1);
    }
}
