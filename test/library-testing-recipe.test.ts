// docs/library-testing.md is run as written: its files (each fenced block after a `recipe-file` marker) are written
// into a fresh folder, the package's names mapped onto this checkout's sources as package.json `exports` maps them,
// and its test file run with Node's test runner. Every test the recipe declares must run and pass.
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import { ROOT } from "../tools/harness";

const RECIPE = path.join(ROOT, "docs", "library-testing.md");

/** The recipe's files: the fenced block that follows each `<!-- recipe-file: NAME -->` marker. */
function recipeFiles(markdown: string): Map<string, string> {
    const files = new Map<string, string>();
    for (const m of markdown.matchAll(/<!-- recipe-file: (\S+) -->\n```\w*\n([\s\S]*?)\n```/g))
        files.set(m[1], `${m[2]}\n`);
    return files;
}

test("the recipe in docs/library-testing.md runs as written, and its tests pass", () => {
    const files = recipeFiles(fs.readFileSync(RECIPE, "utf8"));
    assert.deepEqual([...files.keys()].sort(), ["index.test.ts", "index.ts"]);
    const declared = (files.get("index.test.ts")!.match(/^\s*it\(/gm) ?? []).length;
    assert.ok(declared > 0, "the recipe's test declares tests");

    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "k8su-recipe-"));
    try {
        for (const [name, text] of files) fs.writeFileSync(path.join(dir, name), text);
        fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"));
        fs.writeFileSync(
            path.join(dir, "tsconfig.json"),
            JSON.stringify({
                compilerOptions: {
                    target: "ES2022",
                    module: "commonjs",
                    moduleResolution: "node",
                    strict: true,
                    esModuleInterop: true,
                    skipLibCheck: true,
                    types: ["node"],
                    paths: {
                        "k8s-upgrades": [path.join(ROOT, "components", "index.ts")],
                        "k8s-upgrades/*": [path.join(ROOT, "components", "*", "index.ts")],
                    },
                },
            }),
        );
        // A test runner of its own, as the user runs it (not a subtest of this one's).
        const { NODE_TEST_CONTEXT: _, ...env } = process.env;
        const run = spawnSync(process.execPath, ["--import", "tsx", "--test", "index.test.ts"], {
            cwd: dir,
            env,
            encoding: "utf8",
            timeout: 300_000,
        });
        const out = `${run.stdout}${run.stderr}`;
        assert.equal(run.status, 0, out);
        assert.match(out, new RegExp(`^# pass ${declared}$`, "m"), out);
        assert.match(out, /^# fail 0$/m, out);

        // The recipe's program type-checks as written (tsx only strips types).
        const tsc = spawnSync(
            process.execPath,
            [path.join(ROOT, "node_modules", "typescript", "bin", "tsc"), "--noEmit", "-p", "tsconfig.json"],
            { cwd: dir, encoding: "utf8" },
        );
        assert.equal(tsc.status, 0, `${tsc.stdout}${tsc.stderr}`);
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
});
