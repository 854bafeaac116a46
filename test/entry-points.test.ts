// Each entry point of the package loads its own provider's SDK and no other: the package is built as `npm pack`
// builds it (tsconfig.build.json) into a temporary node_modules/k8s-upgrades, each entry point is required by its
// package name (through package.json `exports`) in a child process of its own, and the @pulumi packages in that
// process's require.cache are compared with what the entry point may load. The declarations are walked the same way,
// so that a program that installs one provider's SDK also type-checks. And package.json declares every provider SDK
// an optional peer, so that npm installs none of them unasked.
import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import { builtinModules } from "node:module";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { ROOT } from "../tools/harness";
import { ENTRY_POINT_SDKS as ALLOWED, PROVIDER_SDKS, packageOf } from "./fixture/entry-points";

interface PackageJson {
    dependencies: Record<string, string>;
    devDependencies: Record<string, string>;
    peerDependencies: Record<string, string>;
    peerDependenciesMeta: Record<string, { optional?: boolean }>;
    exports: Record<string, { types: string; default: string } | string>;
}

const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as PackageJson;
let work: string;
let installed: string;

before(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), "k8su-entry-points-"));
    const modules = path.join(work, "node_modules");
    installed = path.join(modules, "k8s-upgrades");
    fs.mkdirSync(installed, { recursive: true });
    execFileSync(
        process.execPath,
        [
            path.join(ROOT, "node_modules", "typescript", "bin", "tsc"),
            "-p",
            path.join(ROOT, "tsconfig.build.json"),
            "--outDir",
            path.join(installed, "dist"),
        ],
        { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
    );
    fs.cpSync(path.join(ROOT, "components", "scripts"), path.join(installed, "dist", "components", "scripts"), {
        recursive: true,
    });
    fs.copyFileSync(path.join(ROOT, "package.json"), path.join(installed, "package.json"));
    // Every third-party package of this checkout, linked: what an entry point leaves alone is what it does not load.
    for (const entry of fs.readdirSync(path.join(ROOT, "node_modules"))) {
        if (entry.startsWith(".") || entry === "k8s-upgrades") continue;
        fs.symlinkSync(path.join(ROOT, "node_modules", entry), path.join(modules, entry));
    }
});

after(() => fs.rmSync(work, { recursive: true, force: true }));

/** The @pulumi packages (other than @pulumi/pulumi) that requiring `specifier` loads, in a fresh process. */
function loadedSdks(specifier: string): string[] {
    const probe = `
        const loaded = require(${JSON.stringify(specifier)});
        const sdks = new Set();
        for (const file of Object.keys(require.cache)) {
            const m = /[\\\\/]node_modules[\\\\/](@pulumi[\\\\/][^\\\\/]+)[\\\\/]/.exec(file);
            if (m) sdks.add(m[1].replace("\\\\", "/"));
        }
        sdks.delete("@pulumi/pulumi");
        process.stdout.write(JSON.stringify({ sdks: [...sdks].sort(), exports: Object.keys(loaded).sort() }));`;
    const out = execFileSync(process.execPath, ["-e", probe], { cwd: work, encoding: "utf8" });
    return (JSON.parse(out) as { sdks: string[] }).sdks;
}

/** The packages named by a declaration file and, through relative imports, by the declarations it reaches. */
function declaredPackages(types: string): string[] {
    const seen = new Set<string>();
    const packages = new Set<string>();
    const todo = [types];
    while (todo.length > 0) {
        const file = todo.pop()!;
        if (seen.has(file)) continue;
        seen.add(file);
        const text = fs.readFileSync(file, "utf8");
        for (const m of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)["']([^"']+)["']/g)) {
            const specifier = m[1];
            if (!specifier.startsWith(".")) {
                packages.add(packageOf(specifier));
                continue;
            }
            const base = path.resolve(path.dirname(file), specifier);
            const next = [`${base}.d.ts`, path.join(base, "index.d.ts")].find((f) => fs.existsSync(f));
            assert.ok(next, `${path.relative(installed, file)} imports ${specifier}, which has no declaration file`);
            todo.push(next);
        }
    }
    return [...packages].sort();
}

describe("entry points", () => {
    it("package.json exports every entry point, each with its declarations, and nothing else", () => {
        const subpaths = Object.keys(pkg.exports).filter((k) => k !== "./package.json");
        assert.deepEqual(subpaths.sort(), Object.keys(ALLOWED).sort());
        for (const subpath of subpaths) {
            const target = pkg.exports[subpath];
            assert.ok(typeof target === "object" && target.types && target.default, `${subpath}: types and default`);
            assert.ok(fs.existsSync(path.join(installed, target.default)), `${subpath}: ${target.default} is built`);
            assert.ok(fs.existsSync(path.join(installed, target.types)), `${subpath}: ${target.types} is built`);
        }
    });

    for (const [subpath, allowed] of Object.entries(ALLOWED)) {
        const specifier = path.posix.join("k8s-upgrades", subpath);
        const loads = allowed.length > 0 ? `${allowed.join(", ")} and no other SDK` : "no provider SDK";
        it(`${specifier} loads ${loads}`, () => {
            assert.deepEqual(loadedSdks(specifier), allowed);
        });
        it(`${specifier}'s declarations name no other provider's SDK`, () => {
            const target = pkg.exports[subpath] as { types: string };
            const named = declaredPackages(path.join(installed, target.types));
            const foreign = named.filter(
                (p) => p.startsWith("@pulumi/") && p !== "@pulumi/pulumi" && !allowed.includes(p),
            );
            assert.deepEqual(foreign, [], `${target.types} reaches declarations that import ${foreign.join(", ")}`);
        });
    }
});

describe("package.json", () => {
    it("declares every provider SDK an optional peer, and keeps it a dev dependency for this repository's tests", () => {
        for (const sdk of PROVIDER_SDKS) {
            assert.ok(pkg.peerDependencies[sdk], `${sdk} is a peer dependency`);
            assert.equal(pkg.peerDependenciesMeta[sdk]?.optional, true, `${sdk} is an optional peer`);
            assert.equal(
                pkg.devDependencies[sdk],
                pkg.peerDependencies[sdk],
                `${sdk}: the range tested is the range asked`,
            );
            assert.equal(pkg.dependencies[sdk], undefined, `${sdk} is not installed with the package`);
        }
    });

    it("asks for @pulumi/pulumi as a peer that is not optional: a program has one copy of the runtime", () => {
        assert.ok(pkg.peerDependencies["@pulumi/pulumi"]);
        assert.notEqual(pkg.peerDependenciesMeta["@pulumi/pulumi"]?.optional, true);
        assert.equal(pkg.dependencies["@pulumi/pulumi"], undefined);
    });

    it("declares every package the built library requires, as a dependency or a peer", () => {
        const declared = new Set([...Object.keys(pkg.dependencies), ...Object.keys(pkg.peerDependencies)]);
        const builtins = new Set(builtinModules);
        const undeclared = new Set<string>();
        const walk = (dir: string) => {
            for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
                const file = path.join(dir, e.name);
                if (e.isDirectory()) walk(file);
                else if (e.name.endsWith(".js"))
                    for (const m of fs.readFileSync(file, "utf8").matchAll(/\brequire\(\s*"([^"]+)"\s*\)/g)) {
                        const name = packageOf(m[1]);
                        if (
                            !m[1].startsWith(".") &&
                            !m[1].startsWith("node:") &&
                            !builtins.has(name) &&
                            !declared.has(name)
                        )
                            undeclared.add(`${name} (${path.relative(installed, file)})`);
                    }
            }
        };
        walk(path.join(installed, "dist"));
        assert.deepEqual([...undeclared], []);
    });
});
