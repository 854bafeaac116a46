// A refusal is said once: the library's cluster classes raise a refused cluster's error through one promise
// (`component`) and leave no other promise or output carrying it unobserved, so a program that awaits the refusal
// sees it once and nothing else prints it again, a program that reads nothing still fails with it (once), and a
// program that exports the cluster's outputs fails with it once under the language host's reporting.
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { describe, it } from "node:test";
import { ROOT } from "../tools/harness";

const REFUSAL = `k8s-upgrades refused the cluster's arguments (1 problem); nothing was changed`;

function run(mode: string): { status: number | null; stderr: string; count: number } {
    const result = spawnSync(
        process.execPath,
        ["--import", "tsx", path.join(ROOT, "test", "fixture", "refused-program.ts"), mode],
        { cwd: ROOT, encoding: "utf8", timeout: 120_000 },
    );
    const stderr = result.stderr;
    return { status: result.status, stderr, count: stderr.split(REFUSAL).length - 1 };
}

describe("a refused cluster", () => {
    it("awaited through component: the refusal is printed once, and no unhandled rejection follows", () => {
        const { status, stderr, count } = run("awaits-component");
        assert.equal(count, 1, stderr);
        assert.match(stderr, /argument nodePools\[0\]\.count: given 0/);
        assert.equal(status, 0, stderr);
    });

    it("read by nothing: the program still fails, with the refusal once", () => {
        const { status, stderr, count } = run("observes-nothing");
        assert.equal(count, 1, stderr);
        assert.notEqual(status, 0, "a refused program must not end as if it succeeded");
    });

    it("with its outputs exported, run as the language host runs it: the program fails with the refusal once", () => {
        const { status, stderr, count } = run("exports-outputs");
        assert.equal(count, 1, stderr);
        assert.equal(status, 32, stderr);
    });
});
