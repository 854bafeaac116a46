// The example stacks at the repository root are the users' to change: in a copy of the repository whose examples
// were edited, promoted and extended with a new stack, and whose records were replaced, the tests that exercise the
// plan and promotion still pass, because they read only their own fixtures under test/fixtures.

import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test } from "node:test";
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

test("edited, promoted and extended example stacks leave the suite's fixtures and its plan tests unaffected", () => {
    const repo = copyRepository();
    const fixtures = path.join(repo, "test", "fixtures");
    const before = snapshot(fixtures);
    // Without NODE_TEST_CONTEXT, a nested test run reports in TAP rather than to this runner.
    const { NODE_TEST_CONTEXT: _, ...env } = process.env;
    const node = (args: string[]) =>
        spawnSync(process.execPath, args, { cwd: repo, encoding: "utf8", env: { ...env, PATH: "/usr/bin:/bin" } });

    // A user bumps dev, dev deploys and records what it runs, staging is promoted, and a qa stack is added.
    const devYaml = path.join(repo, "Pulumi.dev.yaml");
    fs.writeFileSync(
        devYaml,
        fs.readFileSync(devYaml, "utf8").replaceAll('kubernetesVersion: "1.31"', 'kubernetesVersion: "1.32"'),
    );
    const devRecord = JSON.parse(fs.readFileSync(path.join(repo, "running", "dev.json"), "utf8"));
    delete devRecord.example;
    devRecord.commit = "0".repeat(40);
    for (const c of Object.values(devRecord.k8sUpgrades.clusters) as Array<Record<string, unknown>>) {
        c.controlPlaneVersion = "1.32";
        c.validatedVersion = "1.32";
    }
    fs.writeFileSync(path.join(repo, "running", "dev.json"), JSON.stringify(devRecord, null, 2));
    const promoted = node(["--import", "tsx", "tools/promote.ts", "staging"]);
    assert.equal(promoted.status, 0, promoted.stderr);
    assert.match(fs.readFileSync(path.join(repo, "Pulumi.staging.yaml"), "utf8"), /kubernetesVersion: "1\.32"/);
    fs.copyFileSync(devYaml, path.join(repo, "Pulumi.qa.yaml"));
    fs.rmSync(path.join(repo, "running", "prod.json"));

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
