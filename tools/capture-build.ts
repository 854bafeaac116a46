// The capture child runs from JavaScript compiled out of the project's TypeScript, not through tsx: loading
// through tsx's hooks costs more than a second per run, and the compiled code is the same program. The build is
// TypeScript's own transpiler over the folders below (no type check: `npm test` runs tsc), kept in .build/ under
// a digest of every source file, so an edit is picked up by the next run and an unchanged tree is never rebuilt.
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";

/** The folders the compiled capture may load from: the program, the tools, the policy code, and bench/test programs. */
export const COMPILED_DIRS = ["components", "tools", "policy", "bench", path.join("test", "fixtures", "programs")];
/** Files read at run time beside the code (the builders read the shell scripts through __dirname). */
const LINKED_DIRS = [path.join("components", "scripts")];
const BUILD_DIR = ".build";
const PREFIX = "capture-";
const TMP_PREFIX = "tmp-";
/** A build of another source tree is removed once it is older than this (a concurrent run may still use it). */
const STALE_BUILD_MS = 60 * 60 * 1000;

export interface CaptureBuild {
    /** The folder that mirrors the repository's layout with .js files. */
    dir: string;
    /** The compiled tools/capture.ts. */
    entry: string;
}

function sourceFiles(root: string): string[] {
    const out: string[] = [];
    const walk = (rel: string) => {
        const abs = path.join(root, rel);
        if (!fs.existsSync(abs)) return;
        for (const e of fs.readdirSync(abs, { withFileTypes: true })) {
            const child = path.join(rel, e.name);
            if (e.isDirectory()) {
                if (e.name !== "node_modules") walk(child);
            } else if (e.name.endsWith(".ts") && !e.name.endsWith(".d.ts")) out.push(child);
        }
    };
    for (const d of COMPILED_DIRS) walk(d);
    return out.sort();
}

/**
 * The digest names the build: every source's path and text, the compiler's version and these options, and the
 * tree's own path, as the build links to its scripts (a copy of the repository never uses the original's build).
 */
function digest(root: string, files: string[], compilerVersion: string): string {
    const h = createHash("sha256").update(`${fs.realpathSync(root)}\n${compilerVersion}\n`);
    h.update(`${JSON.stringify(COMPILER_OPTIONS)}\n`);
    for (const f of files)
        h.update(`${f}\0`)
            .update(fs.readFileSync(path.join(root, f)))
            .update("\0");
    return h.digest("hex").slice(0, 16);
}

/** tsconfig.json's emit settings: CommonJS, ES2022, esModuleInterop; no source maps, none are read. */
const COMPILER_OPTIONS = { module: "CommonJS", target: "ES2022", esModuleInterop: true, sourceMap: false };

type Typescript = typeof import("typescript");

function compile(ts: Typescript, root: string, files: string[], into: string): void {
    const { options, errors } = ts.convertCompilerOptionsFromJson(COMPILER_OPTIONS, root);
    if (errors.length > 0)
        throw new Error(`capture build: ${ts.flattenDiagnosticMessageText(errors[0].messageText, " ")}`);
    for (const f of files) {
        const source = fs.readFileSync(path.join(root, f), "utf8");
        const out = ts.transpileModule(source, { compilerOptions: options, fileName: f, reportDiagnostics: true });
        const broken = (out.diagnostics ?? []).find((d) => d.category === ts.DiagnosticCategory.Error);
        if (broken) throw new Error(`capture build: ${f}: ${ts.flattenDiagnosticMessageText(broken.messageText, " ")}`);
        const target = path.join(into, f.replace(/\.ts$/, ".js"));
        fs.mkdirSync(path.dirname(target), { recursive: true });
        fs.writeFileSync(target, out.outputText);
    }
    for (const d of LINKED_DIRS) {
        const link = path.join(into, d);
        fs.mkdirSync(path.dirname(link), { recursive: true });
        fs.symlinkSync(path.relative(path.dirname(link), path.join(root, d)), link);
    }
}

function removeOldBuilds(base: string, keep: string): void {
    for (const name of fs.readdirSync(base)) {
        const dir = path.join(base, name);
        // Builds of other sources, and private folders a killed run left behind.
        if (dir === keep || !(name.startsWith(PREFIX) || name.startsWith(TMP_PREFIX))) continue;
        const age = Date.now() - fs.statSync(dir).mtimeMs;
        if (age > STALE_BUILD_MS) fs.rmSync(dir, { recursive: true, force: true });
    }
}

/**
 * The compiled capture for the sources as they are now, built when missing. Concurrent runs (test files in
 * parallel) each build into a private folder and rename it into place; the first rename wins, the others
 * discard theirs, so no run ever sees a half-written build.
 */
export function captureBuild(root: string): CaptureBuild {
    const files = sourceFiles(root);
    const base = path.join(root, BUILD_DIR);
    // The compiler's version from its package file: loading the compiler takes longer than checking a build.
    const { version } = require("typescript/package.json") as { version: string };
    const dir = path.join(base, `${PREFIX}${digest(root, files, version)}`);
    const entry = path.join(dir, "tools", "capture.js");
    if (fs.existsSync(entry)) return { dir, entry };
    fs.mkdirSync(base, { recursive: true });
    const tmp = fs.mkdtempSync(path.join(base, TMP_PREFIX));
    try {
        compile(require("typescript") as Typescript, root, files, tmp);
        try {
            fs.renameSync(tmp, dir);
        } catch (err) {
            // Another run renamed its identical build into place first.
            if (!fs.existsSync(entry)) throw err;
        }
    } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
    }
    removeOldBuilds(base, dir);
    return { dir, entry };
}

/**
 * The repository a module's folder belongs to: the folder itself, or, for a module compiled into
 * <root>/.build/capture-<digest>/, the root it was compiled from, where the stack files and records are.
 */
export function sourceRootOf(dir: string): string {
    const resolved = path.resolve(dir);
    const parent = path.dirname(resolved);
    return path.basename(parent) === BUILD_DIR && path.basename(resolved).startsWith(PREFIX)
        ? path.dirname(parent)
        : resolved;
}

/** The compiled counterpart of a TypeScript module in the build, or undefined when the build does not hold it. */
export function compiledModule(build: CaptureBuild, root: string, file: string): string | undefined {
    const rel = path.relative(root, file);
    if (!rel.endsWith(".ts") || rel.startsWith("..") || path.isAbsolute(rel)) return undefined;
    if (!COMPILED_DIRS.some((d) => rel.startsWith(`${d}${path.sep}`))) return undefined;
    const js = path.join(build.dir, rel.replace(/\.ts$/, ".js"));
    return fs.existsSync(js) ? js : undefined;
}
