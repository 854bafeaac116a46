// The review workflows pass a workflow linter, and the plan's Markdown for a sample upgrade matches its golden file.

import * as assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
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

test("the staging plan's Markdown matches test/fixtures/plan-staging.md (UPDATE_GOLDEN=1 rewrites it)", async () => {
    const { stdout } = await promisify(execFile)(
        process.execPath,
        [
            "--import",
            "tsx",
            path.join(ROOT, "tools", "plan.ts"),
            "staging",
            "--markdown",
            "--stack-dir",
            path.join(ROOT, "test", "fixtures", "stacks"),
        ],
        { cwd: ROOT, env: { ...process.env, PATH: "/usr/bin:/bin" } },
    );
    const golden = path.join(ROOT, "test", "fixtures", "plan-staging.md");
    if (process.env.UPDATE_GOLDEN === "1") fs.writeFileSync(golden, stdout);
    assert.equal(
        stdout,
        fs.readFileSync(golden, "utf8"),
        "the plan's Markdown changed: review it, then run UPDATE_GOLDEN=1 npm test",
    );
});
