// `npm run plan` as reviewers and CI run it, over the test's own copies of the example stacks and their records
// (test/fixtures/stacks): every stack plans cleanly, an upgrade shows its steps in order, a bad config or a
// mandatory violation exits 1, a usage error 2, and --help prints the options without a stack trace.

import * as assert from "node:assert/strict";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { ROOT } from "../tools/harness";

const STACKS = path.join(ROOT, "test", "fixtures", "stacks");

async function plan(...args: string[]): Promise<{ code: number; out: string }> {
    try {
        const { stdout } = await promisify(execFile)(
            process.execPath,
            [
                "--import",
                "tsx",
                path.join(ROOT, "tools", "plan.ts"),
                ...args,
                ...(args.includes("--stack-dir") ? [] : ["--stack-dir", STACKS]),
            ],
            { cwd: ROOT, env: { ...process.env, PATH: "/usr/bin:/bin" } },
        );
        return { code: 0, out: stdout };
    } catch (err) {
        const e = err as { code: number; stdout: string; stderr: string };
        return { code: e.code, out: `${e.stdout}${e.stderr}` };
    }
}

test("dev, staging and prod each print a plan and exit 0", async () => {
    const results = await Promise.all(["dev", "staging", "prod"].map((s) => plan(s)));
    for (const [i, r] of results.entries()) {
        assert.equal(r.code, 0, r.out);
        assert.match(r.out, new RegExp(`k8s-upgrades plan for stack ${["dev", "staging", "prod"][i]}`));
        assert.match(r.out, /mandatory \(blocks the update\): none/);
    }
});

test("staging shows the LKE blue-green steps in order, and the Markdown form draws them", async () => {
    const text = await plan("staging");
    const order = [
        "apps-preflight",
        "apps-control-plane",
        "apps-web-1-31 ",
        "apps-web-1-31-ready",
        "apps-cordon-blue",
        "apps-validate",
    ].map((s) => text.out.indexOf(s));
    assert.ok(
        order.every((i) => i >= 0),
        text.out,
    );
    assert.deepEqual(
        [...order].sort((a, b) => a - b),
        order,
        "steps must be listed in dependency order",
    );
    assert.match(
        text.out,
        /- pool apps-web-1-30 .*drained by a step of this deployment, then deleted empty; a failed drain keeps it and the previous record/,
    );
    const md = await plan("staging", "--markdown");
    assert.equal(md.code, 0);
    assert.match(md.out, /```mermaid\nflowchart TD\n {2}subgraph c0\["apps"\]/);
    assert.match(md.out, /c0l\d+ -\.-> c0r/);
});

test("a deliberately bad prod config shows the refusal and exits non-zero", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "k8s-upgrades-bad-"));
    const prod = fs
        .readFileSync(path.join(STACKS, "Pulumi.prod.yaml"), "utf8")
        .replace('kubernetesVersion: "1.30"', 'kubernetesVersion: "1.31"');
    fs.writeFileSync(path.join(dir, "Pulumi.prod.yaml"), prod);
    fs.cpSync(path.join(STACKS, "running"), path.join(dir, "running"), { recursive: true });
    const r = await plan("prod", "--stack-dir", dir);
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /Refused/);
    assert.match(
        r.out,
        /stack "prod", cluster "apps", field clusters\[0\]\.kubernetesVersion: given "1\.31"; allowed: at most 1\.30, what stack "staging" runs/,
    );
});

test("usage errors exit 2 with the usage line, and --help exits 0, never with a stack trace", async () => {
    const unknown = await plan("qa");
    assert.equal(unknown.code, 2);
    assert.match(unknown.out, /no stack "qa": stacks are aks, dev, prod, staging/);
    const cases = await Promise.all([
        plan("staging", "--no-such-option"),
        plan(),
        plan("dev", "staging"),
        plan("dev", "--previous", "/nonexistent.json"),
        plan("dev", "--max-chars", "lots"),
    ]);
    for (const r of cases) {
        assert.equal(r.code, 2, r.out);
        assert.match(r.out, /^usage: npm run plan -- <stack>/m);
        assert.doesNotMatch(r.out, /\n\s+at /, "no stack trace");
    }
    const help = await plan("--help");
    assert.equal(help.code, 0);
    assert.match(help.out, /^usage: npm run plan -- <stack>/);
    for (const flag of ["--previous", "--source", "--first-deployment", "--markdown", "--stack-dir", "--drift"])
        assert.match(help.out, new RegExp(`^ {2}${flag}`, "m"));
    assert.match(help.out, /exit codes: 0 done, 1 refused, 2 usage error/);
});

test("a record of invented example data is said to be one; a recorded deployment names its commit", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "k8s-upgrades-record-"));
    fs.copyFileSync(path.join(STACKS, "Pulumi.dev.yaml"), path.join(dir, "Pulumi.dev.yaml"));
    fs.mkdirSync(path.join(dir, "running"));
    const record = JSON.parse(fs.readFileSync(path.join(STACKS, "running", "dev.json"), "utf8"));
    assert.equal(typeof record.example, "string", "the fixture is labelled as example data");
    fs.writeFileSync(path.join(dir, "running", "dev.json"), JSON.stringify(record));
    const example = await plan("dev", "--stack-dir", dir);
    assert.equal(example.code, 0, example.out);
    assert.match(
        example.out,
        /previous outputs: running\/dev\.json: EXAMPLE DATA, invented IDs, not a recorded deployment/,
    );
    const { example: _, ...real } = record;
    fs.writeFileSync(
        path.join(dir, "running", "dev.json"),
        JSON.stringify({ commit: "0123456789abcdef0123", ...real }),
    );
    const recorded = await plan("dev", "--stack-dir", dir);
    assert.match(
        recorded.out,
        /previous outputs: .*running\/dev\.json \(recorded by the deployment of commit 0123456789ab\)/,
    );
    assert.doesNotMatch(recorded.out, /EXAMPLE DATA/);
});
