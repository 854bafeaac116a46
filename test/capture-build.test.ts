// The compiled capture must never run code older than the sources: an edit gives a new build, an unchanged tree
// reuses the old one, and the shell scripts read beside the code are the repository's own.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import { captureBuild, compiledModule } from "../tools/capture-build";

function tree(): string {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "capture-build-"));
    const write = (rel: string, text: string) => {
        fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
        fs.writeFileSync(path.join(root, rel), text);
    };
    write("components/answer.ts", "export const answer: number = 41;\n");
    write("components/scripts/hello.sh", "echo hello\n");
    write(
        "tools/capture.ts",
        [
            'import * as fs from "node:fs";',
            'import * as path from "node:path";',
            'import { answer } from "../components/answer";',
            'const script = fs.readFileSync(path.join(__dirname, "..", "components", "scripts", "hello.sh"), "utf8");',
            "console.log(JSON.stringify({ answer, script }));",
            "",
        ].join("\n"),
    );
    write("test/fixtures/programs/raw.ts", "export function main(): number { return 1; }\n");
    write("elsewhere/other.ts", "export const x = 1;\n");
    return root;
}

const run = (entry: string) => JSON.parse(execFileSync(process.execPath, [entry], { encoding: "utf8" }));

test("an unchanged tree reuses its build; an edit gives a new one that runs the edited code", () => {
    const root = tree();
    try {
        const first = captureBuild(root);
        assert.deepEqual(run(first.entry), { answer: 41, script: "echo hello\n" });
        const again = captureBuild(root);
        assert.equal(again.dir, first.dir);

        fs.writeFileSync(path.join(root, "components", "answer.ts"), "export const answer: number = 42;\n");
        const edited = captureBuild(root);
        assert.notEqual(edited.dir, first.dir);
        assert.equal(run(edited.entry).answer, 42);

        // The scripts are linked, not copied: an edited script is read as it is now, by any build.
        fs.writeFileSync(path.join(root, "components", "scripts", "hello.sh"), "echo changed\n");
        assert.equal(run(edited.entry).script, "echo changed\n");
        assert.ok(
            fs.readdirSync(path.join(root, ".build")).every((d) => d.startsWith("capture-")),
            "no private build folder is left behind",
        );
    } finally {
        fs.rmSync(root, { recursive: true, force: true });
    }
});

test("a copy of the tree, build included, builds its own and reads its own scripts", () => {
    const root = tree();
    const copy = fs.mkdtempSync(path.join(os.tmpdir(), "capture-build-copy-"));
    try {
        const original = captureBuild(root);
        fs.cpSync(root, copy, { recursive: true });
        fs.writeFileSync(path.join(copy, "components", "scripts", "hello.sh"), "echo copy\n");
        const own = captureBuild(copy);
        assert.notEqual(path.basename(own.dir), path.basename(original.dir));
        assert.equal(run(own.entry).script, "echo copy\n");
        assert.equal(run(original.entry).script, "echo hello\n");
    } finally {
        fs.rmSync(root, { recursive: true, force: true });
        fs.rmSync(copy, { recursive: true, force: true });
    }
});

test("a program is run compiled only when the build holds it", () => {
    const root = tree();
    try {
        const build = captureBuild(root);
        const inside = compiledModule(build, root, path.join(root, "test", "fixtures", "programs", "raw.ts"));
        assert.equal(inside, path.join(build.dir, "test", "fixtures", "programs", "raw.js"));
        assert.equal(compiledModule(build, root, path.join(root, "elsewhere", "other.ts")), undefined);
        assert.equal(compiledModule(build, root, path.join(os.tmpdir(), "outside.ts")), undefined);
    } finally {
        fs.rmSync(root, { recursive: true, force: true });
    }
});
