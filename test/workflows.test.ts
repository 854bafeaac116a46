// The review workflows pass a workflow linter, and the plan's Markdown for a sample upgrade matches its golden file.

import * as assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { ROOT } from "../tools/harness";

test("every workflow passes action-validator", () => {
    const dir = path.join(ROOT, ".github", "workflows");
    const files = fs.readdirSync(dir).filter((f) => f.endsWith(".yml"));
    assert.ok(files.length >= 2);
    for (const f of files) {
        const r = spawnSync(path.join(ROOT, "node_modules", ".bin", "action-validator"), [path.join(dir, f)], {
            encoding: "utf8",
        });
        assert.equal(r.status, 0, `${f}:\n${r.stdout}${r.stderr}`);
    }
});

test("the linter does refuse a broken workflow", () => {
    const broken = path.join(fs.mkdtempSync("/tmp/wf-"), "broken.yml");
    fs.writeFileSync(broken, "name: x\non: [pushh]\njobs:\n  a:\n    runs-on: ubuntu-latest\n    step: []\n");
    const r = spawnSync(path.join(ROOT, "node_modules", ".bin", "action-validator"), [broken], { encoding: "utf8" });
    assert.notEqual(r.status, 0);
});

// The golden file's sidecar records the hashes of the plan's inputs and of the golden text itself. A golden file
// that changes by hand, or inputs that change without regenerating it, fail here; UPDATE_GOLDEN=1 rewrites both, so
// a pull request shows whether new Markdown came with new inputs or from a change in the planner itself.
const GOLDEN_INPUTS = ["Pulumi.staging.yaml", "running/staging.json", "running/dev.json"];
const sha256 = (text: string | Buffer) => createHash("sha256").update(text).digest("hex");

function inputHashes(): Record<string, string> {
    return Object.fromEntries(GOLDEN_INPUTS.map((f) => [f, sha256(fs.readFileSync(path.join(ROOT, f)))]));
}

test("the staging plan's Markdown matches test/fixtures/plan-staging.md (UPDATE_GOLDEN=1 rewrites it)", async () => {
    const { stdout } = await promisify(execFile)(
        process.execPath,
        ["--import", "tsx", path.join(ROOT, "tools", "plan.ts"), "staging", "--markdown"],
        { cwd: ROOT, env: { ...process.env, PATH: "/usr/bin:/bin" } },
    );
    const golden = path.join(ROOT, "test", "fixtures", "plan-staging.md");
    const sidecar = `${golden}.sha256.json`;
    if (process.env.UPDATE_GOLDEN === "1") {
        fs.writeFileSync(golden, stdout);
        fs.writeFileSync(sidecar, `${JSON.stringify({ golden: sha256(stdout), inputs: inputHashes() }, null, 2)}\n`);
    }
    const recorded = JSON.parse(fs.readFileSync(sidecar, "utf8")) as {
        golden: string;
        inputs: Record<string, string>;
    };
    const text = fs.readFileSync(golden, "utf8");
    assert.equal(
        sha256(text),
        recorded.golden,
        "plan-staging.md changed without being regenerated from its inputs: run UPDATE_GOLDEN=1 npm test",
    );
    assert.deepEqual(
        inputHashes(),
        recorded.inputs,
        "the plan's inputs changed but plan-staging.md was not regenerated: run UPDATE_GOLDEN=1 npm test",
    );
    assert.equal(stdout, text, "the plan's Markdown changed: review it, then run UPDATE_GOLDEN=1 npm test");
});

test("the golden check fails on a golden file edited by hand", () => {
    const golden = fs.readFileSync(path.join(ROOT, "test", "fixtures", "plan-staging.md"), "utf8");
    const recorded = JSON.parse(
        fs.readFileSync(path.join(ROOT, "test", "fixtures", "plan-staging.md.sha256.json"), "utf8"),
    ) as { golden: string };
    assert.equal(sha256(golden), recorded.golden);
    assert.notEqual(sha256(golden.replace("1.31", "1.32")), recorded.golden);
});
