// A readable `pulumi preview --diff`: a step's create script is two stable lines that run the checkout's script
// after checking its sha256, and its delete script, which the engine runs from state, embeds the whole script as
// deployed. A version bump then changes only the small parameters in the environment.

import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import * as YAML from "yaml";
import { buildScript, checkoutScript, embeddedScript, SCRIPT_KINDS, scriptDigest } from "../components/scripts";
import { ROOT, readStackFile } from "../tools/harness";
import { previewDiff } from "../tools/preview-diff";
import { runProgram } from "./helpers";
import { runShellcheck } from "./shellcheck-run";

const COMMAND = "command:local:Command";

function bash(script: string, cwd: string, env: Record<string, string> = {}) {
    return spawnSync("bash", ["-c", script], {
        cwd,
        encoding: "utf8",
        env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env },
    });
}

test("the embedded delete script unpacks to exactly the built script, checks its sha256, and runs it", () => {
    for (const kind of SCRIPT_KINDS) {
        const text = embeddedScript(kind);
        assert.equal(text.split("\n").length, 8, kind);
        const printed = bash(text.replace(/^bash "\$s"$/m, 'cat "$s"'), os.tmpdir());
        assert.equal(printed.status, 0, printed.stderr);
        assert.equal(printed.stdout, buildScript(kind), kind);
    }
    const guard = bash(embeddedScript("drain-guard-create"), os.tmpdir(), { K8SU_SELECTOR: "pool=blue" });
    assert.equal(guard.status, 0, guard.stderr);
    assert.match(guard.stderr, /drain guard armed for pool=blue/);
    const tampered = embeddedScript("drain-guard-create").replaceAll(
        scriptDigest("drain-guard-create"),
        "0".repeat(64),
    );
    const refused = bash(tampered, os.tmpdir(), { K8SU_SELECTOR: "pool=blue" });
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /does not match its sha256/);
    assert.doesNotMatch(refused.stderr, /armed/);
});

test("the create script runs the checkout's script only when it is the one planned", () => {
    const stub = checkoutScript("drain-guard-create");
    assert.equal(stub.trim().split("\n").length, 2);
    const ok = bash(stub, ROOT, { K8SU_SELECTOR: "pool=green" });
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stderr, /drain guard armed for pool=green/);
    // A checkout whose script changed after the plan: refused, nothing run.
    const copy = fs.mkdtempSync(path.join(os.tmpdir(), "k8s-upgrades-checkout-"));
    fs.cpSync(path.join(ROOT, "components", "scripts"), path.join(copy, "components", "scripts"), { recursive: true });
    fs.appendFileSync(path.join(copy, "components", "scripts", "drain-guard-create.sh"), "echo changed\n");
    const changed = bash(stub, copy, { K8SU_SELECTOR: "pool=green" });
    assert.equal(changed.status, 1);
    assert.match(changed.stderr, /differ from what this deployment planned/);
    assert.doesNotMatch(changed.stderr, /armed/);
    // Outside the project: refused with what to do.
    const elsewhere = bash(stub, os.tmpdir());
    assert.notEqual(elsewhere.status, 0);
});

test("the step forms and the runner pass shellcheck", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "k8s-upgrades-forms-"));
    const files = [path.join(ROOT, "components", "scripts", "run.sh")];
    for (const [name, text] of [
        ["create.sh", checkoutScript("drain")],
        ["delete.sh", embeddedScript("drain")],
    ]) {
        fs.writeFileSync(path.join(dir, name), `#!/usr/bin/env bash\n${text}`);
        files.push(path.join(dir, name));
    }
    const r = runShellcheck(["-S", "style", ...files]);
    assert.equal(r.status, 0, r.stdout);
});

test("a version bump of dev changes only parameters: the --diff excerpt of docs/ci-and-promotion.md, from two real runs", async () => {
    const stacks = path.join(ROOT, "test", "fixtures", "stacks");
    const { config, secretKeys } = readStackFile("dev", stacks);
    const first = await runProgram({ stack: "dev", config, secretKeys });
    assert.equal(first.error, undefined, first.error);
    const bumped = YAML.parse(
        YAML.stringify(config).replaceAll('kubernetesVersion: "1.31"', 'kubernetesVersion: "1.32"'),
    ) as Record<string, unknown>;
    const second = await runProgram({ stack: "dev", config: bumped, secretKeys, previous: first.stackOutputs });
    assert.equal(second.error, undefined, second.error);

    for (const after of second.resources.filter((r) => r.type === COMMAND)) {
        const before = first.resources.find((r) => r.urn === after.urn);
        if (!before) continue;
        assert.equal(after.inputs.create, before.inputs.create, `${after.name}: its create script changed`);
        assert.equal(after.inputs.delete, before.inputs.delete, `${after.name}: its delete script changed`);
        assert.ok(
            String(after.inputs.create).length < 240,
            `${after.name}: create is ${String(after.inputs.create).length} characters`,
        );
    }
    const excerpt = previewDiff(first, second);
    assert.ok(excerpt.split("\n").length <= 90, `${excerpt.split("\n").length} lines:\n${excerpt}`);
    assert.doesNotMatch(excerpt, /set -euo pipefail|kubectl/, "no script text in the diff");
    assert.match(excerpt, /K8SU_TARGET_MINOR: "1\.31" => "1\.32"/);

    // Compared with the script digests masked, so that a change to a script alone does not stale the excerpt.
    const mask = (text: string) => text.replace(/\b[0-9a-f]{64}\b/g, "<sha256>");
    const golden = path.join(ROOT, "test", "fixtures", "preview-diff-dev.txt");
    if (process.env.UPDATE_GOLDEN === "1") fs.writeFileSync(golden, excerpt);
    assert.equal(mask(excerpt), mask(fs.readFileSync(golden, "utf8")), "review it, then UPDATE_GOLDEN=1 rewrites it");
    const page = fs.readFileSync(path.join(ROOT, "docs", "ci-and-promotion.md"), "utf8");
    assert.ok(mask(page).includes(mask(excerpt)), "docs/ci-and-promotion.md shows this excerpt verbatim");
});
