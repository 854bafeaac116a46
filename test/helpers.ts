// Shared test helpers: config builders and readers of a captured program run.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PROVIDER_VERSIONS } from "../components/config";
import { scriptKindOf as kindOfScript } from "../components/scripts";
import type { Capture, CapturedResource } from "../tools/capture-types";
import { type RunOptions, runProgram as runRealProgram } from "../tools/harness";

/**
 * Runs the program under mocks. A run without previous outputs is a first deployment, which the program requires
 * the user to say (k8s-upgrades:firstDeployment); tests of that refusal set the key to false or call the harness.
 */
export function runProgram(opts: RunOptions): Promise<Capture> {
    const firstDeployment = "k8s-upgrades:firstDeployment";
    if (opts.previous !== undefined || firstDeployment in opts.config) return runRealProgram(opts);
    return runRealProgram({ ...opts, config: { ...opts.config, [firstDeployment]: true } });
}

export function lkeCluster(overrides: Record<string, unknown> = {}): Record<string, unknown> {
    return {
        name: "apps",
        provider: "lke",
        kubernetesVersion: "1.30",
        lke: { region: "us-ord" },
        nodePools: [{ name: "web", count: 3, type: "g6-standard-4", autoscaler: { min: 3, max: 6 } }],
        workers: { strategy: "blue-green", drain: { batchSize: 2, soakSeconds: 5, deleteEmptyDirData: false } },
        ...overrides,
    };
}

export function stackConfig(
    clusters: Record<string, unknown>[],
    extra: Record<string, unknown> = {},
): Record<string, unknown> {
    return { "k8s-upgrades:clusters": clusters, ...extra };
}

/** Deploys `before` on an empty stack, then runs `after` with the first run's outputs as the previous deployment. */
export async function upgrade(
    before: Record<string, unknown>[],
    after: Record<string, unknown>[],
    opts: Partial<RunOptions> = {},
): Promise<{ first: Capture; second: Capture }> {
    const first = await runProgram({ stack: "dev", config: stackConfig(before), ...opts });
    assert.equal(first.error, undefined, `the first deployment failed: ${first.error}`);
    const second = await runProgram({
        stack: "dev",
        config: stackConfig(after),
        previous: first.stackOutputs,
        ...opts,
    });
    return { first, second };
}

export function resource(capture: Capture, name: string, type?: string): CapturedResource {
    const found = capture.resources.filter((r) => r.name === name && (!type || r.type === type));
    assert.equal(
        found.length,
        1,
        `expected one resource named ${name}, found ${found.length}: ${capture.resources.map((r) => r.name).join(", ")}`,
    );
    return found[0];
}

export function has(capture: Capture, name: string): boolean {
    return capture.resources.some((r) => r.name === name);
}

function nameOf(capture: Capture, urn: string): string {
    return capture.resources.find((r) => r.urn === urn)?.name ?? urn;
}

/** Names of what a resource directly depends on. */
export function directDeps(capture: Capture, name: string, type?: string): string[] {
    const r = resource(capture, name, type);
    return [...new Set([...r.dependencies, ...Object.values(r.propertyDependencies).flat()])].map((u) =>
        nameOf(capture, u),
    );
}

/** Names of everything a resource depends on, transitively. */
export function allDeps(capture: Capture, name: string, type?: string): Set<string> {
    const byUrn = new Map(capture.resources.map((r) => [r.urn, r]));
    const seen = new Set<string>();
    const todo = [resource(capture, name, type)];
    while (todo.length > 0) {
        const r = todo.pop()!;
        for (const u of [...r.dependencies, ...Object.values(r.propertyDependencies).flat()]) {
            if (seen.has(u) || !byUrn.has(u)) continue;
            seen.add(u);
            todo.push(byUrn.get(u)!);
        }
    }
    return new Set([...seen].map((u) => nameOf(capture, u)));
}

export function env(r: CapturedResource): Record<string, string> {
    return (r.inputs.environment ?? {}) as Record<string, string>;
}

export function scriptKindOf(r: CapturedResource, field: "create" | "delete" = "create"): string | undefined {
    return kindOfScript(r.inputs[field]);
}

export const LKE_CLUSTER = "linode:index/lkeCluster:LkeCluster";
export const LKE_POOL = "linode:index/lkeNodePool:LkeNodePool";
export const COMMAND = "command:local:Command";

/**
 * The dev fixture stack (test/fixtures/stacks, at 1.31) moved to the newest minor both of its providers offer in
 * the version table, record included, in a folder of its own: a stack the support window has nothing to say about,
 * whatever the table's date.
 */
export function devStackAtNewestMinor(): string {
    const stacks = path.join(__dirname, "fixtures", "stacks");
    const both = PROVIDER_VERSIONS.lke.minors.filter((m) => PROVIDER_VERSIONS.eks.minors.includes(m));
    const minor = both.at(-1);
    assert.ok(minor, "the version table has no minor that both LKE and EKS offer");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "k8s-upgrades-current-"));
    fs.mkdirSync(path.join(dir, "running"));
    const moved = (text: string) => text.replaceAll("1.31", minor).replaceAll("1-31", minor.replace(".", "-"));
    for (const file of ["Pulumi.dev.yaml", path.join("running", "dev.json")])
        fs.writeFileSync(path.join(dir, file), moved(fs.readFileSync(path.join(stacks, file), "utf8")));
    return dir;
}
