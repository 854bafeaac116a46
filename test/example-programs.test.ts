// The programs under examples/ compile and install only what they use: each imports the package through its entry
// points, lists in its package.json exactly the provider SDKs those entry points load, and type-checks (with its own
// compiler options) against this checkout's sources, mapped to the package's names as `exports` maps them.
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import { builtinModules } from "node:module";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { ROOT } from "../tools/harness";
import { ENTRY_POINT_SDKS, PROVIDER_SDKS, packageOf } from "./fixture/entry-points";

const EXAMPLES = path.join(ROOT, "examples");
const examples = fs
    .readdirSync(EXAMPLES, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();

/** The module specifiers a program's index.ts imports. */
function importsOf(example: string): string[] {
    const text = fs.readFileSync(path.join(EXAMPLES, example, "index.ts"), "utf8");
    return [...text.matchAll(/\bfrom\s+"([^"]+)"|\bimport\s+"([^"]+)"|\brequire\("([^"]+)"\)/g)].map(
        (m) => m[1] ?? m[2] ?? m[3],
    );
}

function dependenciesOf(example: string): string[] {
    const pkg = JSON.parse(fs.readFileSync(path.join(EXAMPLES, example, "package.json"), "utf8")) as {
        dependencies?: Record<string, string>;
        devDependencies?: Record<string, string>;
    };
    return Object.keys({ ...pkg.dependencies, ...pkg.devDependencies }).sort();
}

describe("examples", () => {
    it("there is a program for every provider's entry point", () => {
        const used = new Set(examples.flatMap((e) => importsOf(e).filter((s) => s.startsWith("k8s-upgrades/"))));
        const entryPoints = Object.keys(ENTRY_POINT_SDKS)
            .filter((k) => k !== ".")
            .map((k) => `k8s-upgrades/${k.slice(2)}`);
        assert.deepEqual(
            entryPoints.filter((e) => !used.has(e)),
            [],
        );
    });

    for (const example of examples) {
        it(`${example}: imports only entry points, and its package.json lists exactly the provider SDKs they load`, () => {
            const imports = importsOf(example);
            const entries = imports.filter((s) => packageOf(s) === "k8s-upgrades");
            assert.ok(entries.length > 0, `${example} uses the package`);
            for (const s of entries) {
                const subpath = s === "k8s-upgrades" ? "." : `./${s.slice("k8s-upgrades/".length)}`;
                assert.ok(subpath in ENTRY_POINT_SDKS, `${example}: ${s} is not an entry point of the package`);
            }
            const needed = new Set(
                entries.flatMap((s) => ENTRY_POINT_SDKS[s === "k8s-upgrades" ? "." : `./${s.slice(13)}`]),
            );
            const expected = [
                "@pulumi/pulumi",
                "k8s-upgrades",
                ...PROVIDER_SDKS.filter((sdk) => needed.has(sdk)),
                ...imports.map(packageOf).filter((p) => p !== "k8s-upgrades" && p !== "@pulumi/pulumi"),
            ].filter((p) => !builtinModules.includes(p) && !p.startsWith("node:"));
            assert.deepEqual(dependenciesOf(example), [...new Set(expected)].sort());
            assert.ok(fs.existsSync(path.join(EXAMPLES, example, "Pulumi.yaml")), `${example} has a Pulumi.yaml`);
        });
    }

    it("every program type-checks against the sources, with its own compiler options", () => {
        // One compiler run for the programs that share their options (a run type-checks the sources they reach).
        const groups = new Map<string, string[]>();
        for (const example of examples) {
            const own = JSON.parse(fs.readFileSync(path.join(EXAMPLES, example, "tsconfig.json"), "utf8")) as {
                compilerOptions: Record<string, unknown>;
            };
            const key = JSON.stringify(own.compilerOptions);
            groups.set(key, [...(groups.get(key) ?? []), example]);
        }
        const work = fs.mkdtempSync(path.join(os.tmpdir(), "k8su-examples-"));
        try {
            const failures: string[] = [];
            for (const [options, members] of groups) {
                const config = path.join(work, `tsconfig.${members[0]}.json`);
                fs.writeFileSync(
                    config,
                    JSON.stringify({
                        compilerOptions: {
                            ...JSON.parse(options),
                            noEmit: true,
                            typeRoots: [path.join(ROOT, "node_modules", "@types")],
                            // The package's names, as package.json `exports` maps them, onto the sources.
                            paths: {
                                "k8s-upgrades": [path.join(ROOT, "components", "index.ts")],
                                "k8s-upgrades/*": [path.join(ROOT, "components", "*", "index.ts")],
                            },
                        },
                        files: members.map((e) => path.join(EXAMPLES, e, "index.ts")),
                    }),
                );
                const tsc = spawnSync(
                    process.execPath,
                    [path.join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", config],
                    { cwd: ROOT, encoding: "utf8" },
                );
                if (tsc.status !== 0) failures.push(`${members.join(", ")}:\n${tsc.stdout}${tsc.stderr}`);
            }
            assert.deepEqual(failures, []);
        } finally {
            fs.rmSync(work, { recursive: true, force: true });
        }
    });
});
