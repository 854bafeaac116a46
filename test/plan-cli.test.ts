// `npm run plan` as reviewers and CI run it: every shipped stack plans cleanly, an upgrade shows its steps
// in order, and a bad config or a mandatory violation exits non-zero.

import * as assert from "node:assert/strict";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { ROOT } from "../tools/harness";

async function plan(...args: string[]): Promise<{ code: number; out: string }> {
    try {
        const { stdout } = await promisify(execFile)(
            process.execPath,
            ["--import", "tsx", path.join(ROOT, "tools", "plan.ts"), ...args],
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
    assert.match(md.out, /```mermaid\nflowchart TD/);
    assert.match(md.out, /-.-> r0/);
});

test("a deliberately bad prod config shows the refusal and exits non-zero", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "k8s-upgrades-bad-"));
    const prod = fs
        .readFileSync(path.join(ROOT, "Pulumi.prod.yaml"), "utf8")
        .replace('kubernetesVersion: "1.30"', 'kubernetesVersion: "1.31"');
    fs.writeFileSync(path.join(dir, "Pulumi.prod.yaml"), prod);
    const r = await plan("prod", "--stack-dir", dir);
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /Refused/);
    assert.match(
        r.out,
        /stack "prod", cluster "apps", field clusters\[0\]\.kubernetesVersion: given "1\.31"; allowed: at most 1\.30, what stack "staging" runs/,
    );
});

test("an unknown stack is a usage error", async () => {
    const r = await plan("qa");
    assert.equal(r.code, 2);
    assert.match(r.out, /no stack "qa": stacks are dev, prod, staging/);
});
