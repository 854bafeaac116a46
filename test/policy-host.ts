// Runs a policy pack the way the Pulumi CLI does and talks to it over CrossGuard's Analyzer gRPC protocol.
//
// The CLI's Node.js language host starts `node <@pulumi/pulumi/cmd/run-policy-pack resolved from the pack's
// directory> <engine address> <pack directory>` with the pack's directory as working directory and the stack
// named in PULUMI_NODEJS_* variables (pulumi/pulumi sdk/nodejs/cmd/pulumi-language-nodejs/main.go, RunPlugin).
// The host compiles the pack's TypeScript with type checking, loads its `main`, and prints the port it serves on
// (sdk/nodejs/cmd/run-policy-pack/run.ts; @pulumi/policy server.ts). The engine then asks GetAnalyzerInfo, fills
// every policy's config with the schema's defaults, the pack's initial config and the --policy-pack-config file,
// sends it with Configure (pkg/resource/analyzer/config.go ReconcilePolicyPackConfig; pkg/engine/update.go), and
// calls Analyze with each resource's inputs before its step and AnalyzeStack with every resource's outputs at the
// end (pkg/resource/deploy/step_generator.go).
import { type ChildProcess, spawn } from "node:child_process";
import * as path from "node:path";
import * as grpc from "@grpc/grpc-js";
import { AnalyzerClient } from "@pulumi/pulumi/proto/analyzer_grpc_pb";
import * as pb from "@pulumi/pulumi/proto/analyzer_pb";
import { Empty } from "google-protobuf/google/protobuf/empty_pb";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import type { CapturedResource } from "../tools/capture-types";

const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

export type Level = "advisory" | "mandatory" | "disabled" | "remediate";
const LEVELS: Record<Level, pb.EnforcementLevel> = {
    advisory: pb.EnforcementLevel.ADVISORY,
    mandatory: pb.EnforcementLevel.MANDATORY,
    disabled: pb.EnforcementLevel.DISABLED,
    remediate: pb.EnforcementLevel.REMEDIATE,
};
const levelName = (l: pb.EnforcementLevel) => (Object.keys(LEVELS) as Level[]).find((k) => LEVELS[k] === l)!;

export interface Diagnostic {
    policy: string;
    level: Level;
    message: string;
    urn: string;
}

/** A --policy-pack-config file: per policy (or "all") a level, or an object with a level and properties. */
export type PolicyConfigFile = Record<string, Level | ({ enforcementLevel?: Level } & Record<string, unknown>)>;

export interface PolicyHost {
    info: pb.AnalyzerInfo;
    /** Configures the pack as the CLI would from a --policy-pack-config file. */
    configure(file?: PolicyConfigFile): Promise<void>;
    /** Analyze on each resource's inputs, as the engine does before each step. */
    analyze(resources: CapturedResource[]): Promise<Diagnostic[]>;
    /** AnalyzeStack on every resource's outputs, as the engine does at the end. */
    analyzeStack(resources: CapturedResource[]): Promise<Diagnostic[]>;
    stop(): Promise<void>;
    /** What the host printed to stderr. */
    stderr(): string;
}

/** The wire form the engine sends: unknowns as the sentinel, secrets wrapped (at the captured paths). */
function encode(value: unknown, at: string, secretPaths: Set<string>): unknown {
    let out: unknown = value;
    if (value === "<unknown>") out = UNKNOWN;
    else if (Array.isArray(value)) out = value.map((v, i) => encode(v, `${at}[${i}]`, secretPaths));
    else if (value && typeof value === "object")
        out = Object.fromEntries(
            Object.entries(value as Record<string, unknown>)
                .filter(([, v]) => v !== undefined)
                .map(([k, v]) => [k, encode(v, at ? `${at}.${k}` : k, secretPaths)]),
        );
    return secretPaths.has(at || ".") ? { [SIG_KEY]: SECRET_SIG, value: out } : out;
}

function struct(props: Record<string, unknown>, secretPaths: string[] = []): Struct {
    return Struct.fromJavaScript(encode(props, "", new Set(secretPaths)) as Record<string, never>);
}

function options(r: CapturedResource): pb.AnalyzerResourceOptions {
    const o = new pb.AnalyzerResourceOptions();
    o.setProtect(false);
    o.setIgnorechangesList(r.ignoreChanges);
    if (r.parent) o.setParent(r.parent);
    return o;
}

/** The diagnostics of a response; the engine files a resource policy's verdict under the analyzed resource. */
function diagnostics(resp: pb.AnalyzeResponse, analyzed = ""): Diagnostic[] {
    return resp.getDiagnosticsList().map((d) => ({
        policy: d.getPolicyname(),
        level: levelName(d.getEnforcementlevel()),
        message: d.getMessage(),
        urn: d.getUrn() || analyzed,
    }));
}

function call<Req, Res>(
    method: (req: Req, cb: (err: grpc.ServiceError | null, res: Res) => void) => unknown,
    req: Req,
): Promise<Res> {
    return new Promise((resolve, reject) => {
        method(req, (err, res) => (err ? reject(err) : resolve(res)));
    });
}

/** The policy config the engine sends: schema defaults, then the pack's initial config, then the file. */
export function reconcile(info: pb.AnalyzerInfo, file: PolicyConfigFile = {}): pb.ConfigureAnalyzerRequest {
    const result = new Map<string, { level: Level; properties: Record<string, unknown> }>();
    for (const p of info.getPoliciesList()) {
        const schema = (p.getConfigschema()?.getProperties()?.toJavaScript() ?? {}) as Record<
            string,
            { default?: unknown }
        >;
        const properties: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(schema)) if (v && v.default !== undefined) properties[k] = v.default;
        result.set(p.getName(), { level: levelName(p.getEnforcementlevel()), properties });
    }
    const apply = (name: string, level: Level | undefined, properties: Record<string, unknown>) => {
        const current = result.get(name) ?? { level: "advisory", properties: {} };
        result.set(name, { level: level ?? current.level, properties: { ...current.properties, ...properties } });
    };
    info.getInitialconfigMap().forEach((c, name) => {
        const properties = (c.getProperties()?.toJavaScript() ?? {}) as Record<string, unknown>;
        apply(name, levelName(c.getEnforcementlevel()), properties);
    });
    const all = file.all;
    if (all !== undefined) {
        const level = typeof all === "string" ? all : all.enforcementLevel;
        if (level) for (const name of result.keys()) apply(name, level, {});
    }
    for (const [name, given] of Object.entries(file)) {
        if (name === "all") continue;
        if (typeof given === "string") apply(name, given, {});
        else {
            const { enforcementLevel, ...properties } = given;
            apply(name, enforcementLevel, properties);
        }
    }
    const req = new pb.ConfigureAnalyzerRequest();
    for (const [name, c] of result) {
        const config = new pb.PolicyConfig();
        config.setEnforcementlevel(LEVELS[c.level]);
        config.setProperties(Struct.fromJavaScript(c.properties as Record<string, never>));
        req.getPolicyconfigMap().set(name, config);
    }
    return req;
}

export interface HostOptions {
    /** The policy pack's directory (its PulumiPolicy.yaml and package.json). */
    packDir: string;
    stack: string;
    project: string;
    organization?: string;
    /** How long the host may take to compile and load the pack. */
    startTimeoutMs?: number;
}

/** Starts the pack under @pulumi/pulumi's run-policy-pack, resolved from the pack's directory as the CLI does. */
export async function startPolicyHost(opts: HostOptions): Promise<PolicyHost> {
    const runPolicyPack = require.resolve("@pulumi/pulumi/cmd/run-policy-pack", { paths: [opts.packDir] });
    let stderr = "";
    let stdout = "";
    const child: ChildProcess = spawn(process.execPath, [runPolicyPack, "127.0.0.1:1", opts.packDir], {
        cwd: opts.packDir,
        env: {
            ...process.env,
            PULUMI_NODEJS_ORGANIZATION: opts.organization ?? "organization",
            PULUMI_NODEJS_PROJECT: opts.project,
            PULUMI_NODEJS_STACK: opts.stack,
            PULUMI_NODEJS_DRY_RUN: "true",
            PULUMI_CONFIG: "{}",
        },
        stdio: ["ignore", "pipe", "pipe"],
    });
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    child.stderr!.on("data", (d: Buffer) => {
        stderr += d.toString();
    });
    const port = await new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => {
            child.kill();
            reject(new Error(`the policy host printed no port within ${opts.startTimeoutMs ?? 120000} ms:\n${stderr}`));
        }, opts.startTimeoutMs ?? 120000);
        child.stdout!.on("data", (d: Buffer) => {
            stdout += d.toString();
            const line = /^(\d+)\s*$/m.exec(stdout);
            if (line) {
                clearTimeout(timer);
                resolve(Number(line[1]));
            }
        });
        void exited.then((code) => {
            clearTimeout(timer);
            reject(new Error(`the policy host exited (${code}) before serving:\n${stdout}\n${stderr}`));
        });
    });
    const client = new AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    const info = await call<Empty, pb.AnalyzerInfo>(client.getAnalyzerInfo.bind(client), new Empty());
    return {
        info,
        async configure(file) {
            await call(client.configure.bind(client), reconcile(info, file));
        },
        async analyze(resources) {
            const out: Diagnostic[] = [];
            for (const r of resources) {
                const req = new pb.AnalyzeRequest();
                req.setType(r.type);
                req.setUrn(r.urn);
                req.setName(r.name);
                req.setProperties(struct(r.inputs, r.secretPaths));
                req.setOptions(options(r));
                out.push(...diagnostics(await call(client.analyze.bind(client), req), r.urn));
            }
            return out;
        },
        async analyzeStack(resources) {
            const req = new pb.AnalyzeStackRequest();
            req.setResourcesList(
                resources.map((r) => {
                    const a = new pb.AnalyzerResource();
                    a.setType(r.type);
                    a.setUrn(r.urn);
                    a.setName(r.name);
                    a.setProperties(struct(r.outputs ?? r.inputs));
                    a.setOptions(options(r));
                    if (r.parent) a.setParent(r.parent);
                    a.setDependenciesList(r.dependencies);
                    for (const [key, urns] of Object.entries(r.propertyDependencies)) {
                        if (urns.length === 0) continue;
                        const deps = new pb.AnalyzerPropertyDependencies();
                        deps.setUrnsList(urns);
                        a.getPropertydependenciesMap().set(key, deps);
                    }
                    return a;
                }),
            );
            return diagnostics(await call(client.analyzeStack.bind(client), req));
        },
        async stop() {
            client.close();
            if (child.exitCode === null) child.kill();
            await exited;
        },
        stderr: () => stderr,
    };
}

export const PACK_DIR = path.resolve(__dirname, "..", "policy");
