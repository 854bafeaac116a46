// The example stacks at the repository root are the users' to change: in a copy of the repository whose examples
// were edited, promoted and extended with a new stack, and whose records were deleted or replaced, the tests that
// exercise the plan and promotion still pass, because they read only their own fixtures under test/fixtures. The
// scenario itself works from whatever the root holds: any versions, and records present or deleted (docs/commands.md
// invites `rm running/prod.json`); a stack file the user removed is taken from the fixtures.

import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import * as YAML from "yaml";
import { formatVersion, parseVersion } from "../components/versions";
import { ROOT } from "../tools/harness";

const SKIP = new Set(["node_modules", ".git", ".ci"]);

function copyRepository(): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "k8s-upgrades-repo-"));
    for (const entry of fs.readdirSync(ROOT)) {
        if (SKIP.has(entry)) continue;
        fs.cpSync(path.join(ROOT, entry), path.join(dir, entry), { recursive: true });
    }
    fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"));
    return dir;
}

function snapshot(dir: string): Map<string, string> {
    const out = new Map<string, string>();
    const walk = (d: string) => {
        for (const e of fs.readdirSync(d, { withFileTypes: true })) {
            const p = path.join(d, e.name);
            if (e.isDirectory()) walk(p);
            else out.set(path.relative(dir, p), fs.readFileSync(p, "utf8"));
        }
    };
    walk(dir);
    return out;
}

const FIXTURE_STACKS = path.join(ROOT, "test", "fixtures", "stacks");

interface StackFile {
    file: string;
    doc: YAML.Document;
    clusters: YAML.YAMLMap[];
}

/** A stack file of the copy, parsed; a stack the user removed is taken from the fixtures. */
function stackFile(repo: string, stack: string): StackFile {
    const file = path.join(repo, `Pulumi.${stack}.yaml`);
    if (!fs.existsSync(file)) fs.copyFileSync(path.join(FIXTURE_STACKS, `Pulumi.${stack}.yaml`), file);
    const doc = YAML.parseDocument(fs.readFileSync(file, "utf8"));
    const clusters = (doc.getIn(["config", "k8s-upgrades:clusters"], true) as YAML.YAMLSeq | undefined)?.items ?? [];
    return { file, doc, clusters: clusters as YAML.YAMLMap[] };
}

/** The minor after the one a cluster targets: a promotion of one step, whatever the stack runs now. */
function nextMinor(cluster: YAML.YAMLMap): string {
    const v = parseVersion(String(cluster.get("kubernetesVersion")));
    assert.ok(v, `cluster ${cluster.get("name")}: kubernetesVersion ${cluster.get("kubernetesVersion")}`);
    return formatVersion({ major: v.major, minor: v.minor + 1 });
}

/** What the deploy workflow records after `pulumi up` of a stack that runs its config, validated. */
function deployedRecord(stack: string, { clusters }: StackFile): object {
    const running = clusters.map((c) => {
        const name = String(c.get("name"));
        const version = String(c.get("kubernetesVersion"));
        const pools = (
            (c.toJSON() as { nodePools?: Array<{ name: string; type: string; count: number }> }).nodePools ?? []
        ).map((p) => ({
            name: p.name,
            resourceName: `${name}-${p.name}-${version.replace(".", "-")}`,
            version,
            type: p.type,
            count: p.count,
        }));
        return [
            name,
            {
                name,
                provider: String(c.get("provider")),
                controlPlaneVersion: version,
                validatedVersion: version,
                strategy: String((c.get("workers") as YAML.YAMLMap | undefined)?.get("strategy") ?? "in-place"),
                upgradeInProgress: false,
                pools,
            },
        ];
    });
    return {
        commit: "0".repeat(40),
        k8sUpgrades: { schemaVersion: 1, stack, promotesFrom: null, clusters: Object.fromEntries(running) },
    };
}

test("edited, promoted and extended example stacks, with their records deleted, leave the suite's fixtures and its plan tests unaffected", () => {
    const repo = copyRepository();
    const fixtures = path.join(repo, "test", "fixtures");
    const before = snapshot(fixtures);
    // Without NODE_TEST_CONTEXT, a nested test run reports in TAP rather than to this runner.
    const { NODE_TEST_CONTEXT: _, ...env } = process.env;
    const node = (args: string[]) =>
        spawnSync(process.execPath, args, { cwd: repo, encoding: "utf8", env: { ...env, PATH: "/usr/bin:/bin" } });

    // As docs/commands.md invites, the example records go (those that are still there).
    for (const stack of ["dev", "staging", "prod"])
        fs.rmSync(path.join(repo, "running", `${stack}.json`), { force: true });

    // A user bumps the stack staging promotes from, that stack deploys and records what it runs, staging is
    // promoted, and a qa stack is added.
    const staging = stackFile(repo, "staging");
    const sourceName = staging.doc.getIn(["config", "k8s-upgrades:promotesFrom"]);
    assert.equal(typeof sourceName, "string", `${staging.file} names no promotesFrom`);
    const source = stackFile(repo, String(sourceName));
    const bumped = new Map<string, string>();
    for (const c of staging.clusters) {
        const peer = source.clusters.find((s) => s.get("name") === c.get("name"));
        if (!peer) continue;
        bumped.set(String(c.get("name")), nextMinor(c));
        peer.set("kubernetesVersion", new YAML.Scalar(nextMinor(c)));
    }
    assert.ok(bumped.size > 0, `no cluster of ${staging.file} is also in stack ${sourceName}`);
    fs.writeFileSync(source.file, source.doc.toString());
    fs.mkdirSync(path.join(repo, "running"), { recursive: true });
    fs.writeFileSync(
        path.join(repo, "running", `${sourceName}.json`),
        JSON.stringify(deployedRecord(String(sourceName), source), null, 2),
    );
    const promoted = node(["--import", "tsx", "tools/promote.ts", "staging"]);
    assert.equal(promoted.status, 0, promoted.stderr);
    const after = stackFile(repo, "staging");
    for (const [name, version] of bumped)
        assert.equal(
            String(after.clusters.find((c) => c.get("name") === name)?.get("kubernetesVersion")),
            version,
            `cluster ${name} of staging after the promotion:\n${promoted.stdout}`,
        );
    fs.copyFileSync(source.file, path.join(repo, "Pulumi.qa.yaml"));

    // The tests that read stacks and records, run in the changed copy: the plan and promotion tests whole, and
    // the golden plan.
    for (const args of [
        ["test/plan-cli.test.ts", "test/promote.test.ts"],
        ["--test-name-pattern=Markdown matches", "test/workflows.test.ts"],
    ]) {
        const r = node(["--import", "tsx", "--test", "--test-reporter=tap", "--test-concurrency=1", ...args]);
        assert.equal(r.status, 0, `${args.join(" ")}:\n${r.stdout}\n${r.stderr}`);
        assert.match(r.stdout, /# fail 0/);
        assert.ok(Number(/# pass (\d+)/.exec(r.stdout)?.[1]) >= 1, r.stdout);
    }
    assert.deepEqual(snapshot(fixtures), before, "the fixtures changed");
});
