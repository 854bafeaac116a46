// Runs the real program under mocks in a child process (mocks are process-global) and returns what it
// registered. Used by the tests and by `npm run plan`, so both see exactly what the program does.
import { execFile, execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import * as YAML from "yaml";
import { captureBuild, compiledModule, sourceRootOf } from "./capture-build";
import type { Capture, CaptureRequest, CarriedState } from "./capture-types";

export const PROJECT = "k8s-upgrades";
/** The organization the file backend uses in stack references. */
export const FILE_BACKEND_ORG = "organization";
export const ROOT = sourceRootOf(path.resolve(__dirname, ".."));

export interface RunOptions {
    /** An absolute path to another program's module (its `main` export runs); this project's program when absent. */
    program?: string;
    stack: string;
    /** Config as in Pulumi.<stack>.yaml's `config:` block; keys without a namespace belong to k8s-upgrades. */
    config: Record<string, unknown>;
    secretKeys?: string[];
    /** This stack's outputs from its previous deployment (what `pulumi stack output --json` prints). */
    previous?: Record<string, unknown>;
    /** Other stacks' outputs by stack name, for promotesFrom. */
    sources?: Record<string, Record<string, unknown>>;
    liveVersions?: Record<string, string>;
    amiCatalog?: Record<string, string>;
    addonCatalog?: Record<string, string>;
    /** GKE location → what getEngineVersions offers there (see CaptureRequest). */
    gkeOffers?: CaptureRequest["gkeOffers"];
    aksUpgrades?: Record<string, string[]>;
    /** Resources whose registration fails (see CaptureRequest). */
    failResources?: string[];
    /** Import ID → what the provider reports for that existing resource. */
    existing?: Record<string, Record<string, unknown>>;
    /** Resource name → the state an earlier deployment left. */
    carriedState?: Record<string, CarriedState>;
}

/** Reads Pulumi.<stack>.yaml's config block. Secure values cannot be decrypted offline and become marked placeholders. */
export function readStackFile(stack: string, root = ROOT): { config: Record<string, unknown>; secretKeys: string[] } {
    const file = path.join(root, `Pulumi.${stack}.yaml`);
    if (!fs.existsSync(file))
        throw new Error(
            `no stack file ${path.relative(process.cwd(), file) || file}: a stack is a Pulumi.<stack>.yaml in ${root}`,
        );
    return parseStackFile(fs.readFileSync(file, "utf8"), path.relative(process.cwd(), file) || file, stack);
}

/** A stack file's config block from its text (`label` names it in errors); secure values become placeholders. */
export function parseStackFile(
    text: string,
    label: string,
    stack: string,
): { config: Record<string, unknown>; secretKeys: string[] } {
    let doc: { config?: unknown } | null;
    try {
        doc = YAML.parse(text);
    } catch (err) {
        // The parser names the line and column; the user needs the file too.
        throw new Error(`${label}: not valid YAML: ${(err as Error).message}`);
    }
    doc ??= {};
    const config: Record<string, unknown> = {};
    const secretKeys: string[] = [];
    for (const [key, value] of Object.entries((doc.config ?? {}) as Record<string, unknown>)) {
        if (value && typeof value === "object" && "secure" in (value as object)) {
            config[key] = `[secret ${key} from Pulumi.${stack}.yaml]`;
            secretKeys.push(qualify(key));
        } else config[key] = value;
    }
    return { config, secretKeys };
}

function qualify(key: string): string {
    return key.includes(":") ? key : `${PROJECT}:${key}`;
}

export function toPulumiConfig(config: Record<string, unknown>): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [key, value] of Object.entries(config)) {
        out[qualify(key)] = typeof value === "string" ? value : JSON.stringify(value);
    }
    return out;
}

/** A stack's outputs through the Pulumi CLI (`pulumi stack output --json`); throws when the CLI cannot say. */
export function readStackOutputs(stack: string): Record<string, unknown> {
    const text = execFileSync("pulumi", ["stack", "output", "--json", "--stack", stack], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
    });
    return JSON.parse(text) as Record<string, unknown>;
}

export function stackRef(stack: string): string {
    return `${FILE_BACKEND_ORG}/${PROJECT}/${stack}`;
}

/** Set to 1 to run the capture from the TypeScript sources through tsx, with source-mapped stack traces. */
export const FROM_SOURCE_ENV = "K8SU_CAPTURE_FROM_SOURCE";

/**
 * How the capture child starts: from the compiled build (tools/capture-build.ts), with the request's program
 * pointed at its compiled module; through tsx when asked to, or when the program lies outside the build.
 */
function captureCommand(program: string | undefined): { args: string[]; program?: string } {
    const fromSource = { args: ["--import", "tsx", path.join(ROOT, "tools", "capture.ts")], program };
    if (process.env[FROM_SOURCE_ENV] === "1") return fromSource;
    const build = captureBuild(ROOT);
    if (program === undefined) return { args: [build.entry] };
    const compiled = compiledModule(build, ROOT, program);
    return compiled === undefined ? fromSource : { args: [build.entry], program: compiled };
}

export async function runProgram(opts: RunOptions): Promise<Capture> {
    const stackOutputs: Record<string, Record<string, unknown>> = {};
    if (opts.previous) stackOutputs[stackRef(opts.stack)] = opts.previous;
    for (const [name, outputs] of Object.entries(opts.sources ?? {})) stackOutputs[stackRef(name)] = outputs;
    const command = captureCommand(opts.program);
    const request: CaptureRequest = {
        program: command.program,
        project: PROJECT,
        stack: opts.stack,
        organization: FILE_BACKEND_ORG,
        config: toPulumiConfig(opts.config),
        secretKeys: opts.secretKeys ?? [],
        stackOutputs,
        liveVersions: opts.liveVersions,
        amiCatalog: opts.amiCatalog,
        addonCatalog: opts.addonCatalog,
        gkeOffers: opts.gkeOffers,
        aksUpgrades: opts.aksUpgrades,
        failResources: opts.failResources,
        existing: opts.existing,
        carriedState: opts.carriedState,
    };
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "k8s-upgrades-capture-"));
    try {
        const requestFile = path.join(dir, "request.json");
        const resultFile = path.join(dir, "result.json");
        fs.writeFileSync(requestFile, JSON.stringify(request));
        let stdout = "";
        let stderr = "";
        try {
            ({ stdout, stderr } = await promisify(execFile)(
                process.execPath,
                [...command.args, requestFile, resultFile],
                {
                    cwd: ROOT,
                    maxBuffer: 64 * 1024 * 1024,
                },
            ));
        } catch (err) {
            // A refused program leaves Pulumi's stack-output promises pending, and the runtime then exits
            // non-zero; the result file still says what happened. Without one, the run itself broke.
            if (!fs.existsSync(resultFile)) throw err;
            const e = err as { stdout?: string; stderr?: string };
            stdout = e.stdout ?? "";
            stderr = e.stderr ?? "";
        }
        const capture = JSON.parse(fs.readFileSync(resultFile, "utf8")) as Capture;
        capture.log = `${stdout}${stderr}`;
        return capture;
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}
