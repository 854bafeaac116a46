// `npm run rehearse -- <stack> [--cluster NAME] --snapshot FILE [--markdown]`: the snapshot rehearsal. Plans the
// stack as `npm run plan` does, then plays the worker phase of one cluster on a snapshot of that cluster (read
// only; one kubectl command writes it) as the generated scripts would run it, and reports blockers, the cost to
// workloads, the time per phase and the surplus node-hours. Exits 1 when the upgrade would fail (or the snapshot
// does not match the stack's record, unless --force), 3 when part of the worker phase could not be rehearsed.
import * as fs from "node:fs";
import * as path from "node:path";
import { ConfigError } from "../components/config";
import { type Command, EXIT, requireCluster, requireStack, runCommand, UsageError } from "./cli";
import { ROOT } from "./harness";
import { findingsJson, outcomeOf, printJson, type Refusal } from "./json-output";
import { type Findings, findings } from "./rehearse/findings";
import { loadStackPlan } from "./rehearse/load";
import { snapshotMismatches } from "./rehearse/match";
import { renderReport } from "./rehearse/render";
import { parseSnapshot, SNAPSHOT_COMMAND, SnapshotError } from "./rehearse/snapshot";
import { type RehearsalTiming, rehearseWorkers, type WorkerRehearsal } from "./rehearse/worker-phase";

export interface RehearseOptions {
    stack: string;
    cluster?: string;
    snapshot: string;
    markdown?: boolean;
    stackDir?: string;
    previous?: string;
    timing?: Partial<RehearsalTiming>;
    /** Rehearse a snapshot that does not match the stack's record of the cluster (said in the report). */
    force?: boolean;
}

export interface RehearseResult {
    text: string;
    exitCode: number;
    findings?: Findings;
    run?: WorkerRehearsal;
    /** The cluster rehearsed, once one was chosen. */
    cluster?: string;
    /** Why it refused to rehearse, one entry per problem, with the config field where there is one. */
    refusals?: Refusal[];
}

export const DEFAULT_TIMING: RehearsalTiming = { nodeReadySeconds: 300, podReadySeconds: 30 };

export function rehearse(opts: RehearseOptions): RehearseResult {
    let loaded: ReturnType<typeof loadStackPlan>;
    try {
        loaded = loadStackPlan(opts.stack, opts.stackDir ?? ROOT, opts.previous);
    } catch (err) {
        if (err instanceof ConfigError)
            return {
                text: `${err.message}\n`,
                exitCode: EXIT.refused,
                refusals: err.issues.map((i) => ({
                    field: i.field,
                    cluster: i.cluster ?? null,
                    message:
                        err.message
                            .split("\n")
                            .find((l) => l.includes(`field ${i.field}:`))
                            ?.replace(/^\s+- /, "") ?? i.allowed,
                })),
            };
        throw err;
    }
    const names = loaded.plans.map((p) => p.cluster.name);
    const name = opts.cluster ?? (names.length === 1 ? names[0] : undefined);
    if (!name)
        throw new UsageError(
            `stack ${opts.stack} has ${names.length} clusters: name one with --cluster (${names.join(", ")})`,
        );
    requireCluster(name, opts.stack, names);
    const plan = loaded.plans.find((p) => p.cluster.name === name)!;
    const snapshot = parseSnapshot(fs.readFileSync(opts.snapshot, "utf8"), opts.snapshot);
    const mismatches = snapshotMismatches(plan, snapshot);
    if (mismatches.length > 0 && !opts.force)
        return {
            text: [
                `Refused: the snapshot ${opts.snapshot} does not match what stack ${opts.stack} records for cluster ${name} (${loaded.previous}):`,
                ...mismatches.map((m) => `  - ${m}`),
                `Take a new snapshot of the cluster (${SNAPSHOT_COMMAND} > FILE), or give --force to rehearse this one anyway.`,
                "",
            ].join("\n"),
            exitCode: EXIT.refused,
            cluster: name,
            refusals: mismatches.map((m) => ({
                field: null,
                cluster: name,
                message: `the snapshot does not match the stack's record: ${m}`,
            })),
        };
    const timing = { ...DEFAULT_TIMING, ...opts.timing };
    const run = rehearseWorkers(plan, snapshot, timing);
    const found = findings(plan, snapshot, run, timing);
    const text = renderReport(
        { stack: opts.stack, plan, snapshot: opts.snapshot, previous: loaded.previous, timing, mismatches },
        found,
        !!opts.markdown,
    );
    const exitCode = found.wouldFail ? EXIT.refused : found.incomplete ? EXIT.incomplete : EXIT.ok;
    return { text, exitCode, findings: found, run, cluster: name };
}

interface RehearseValues {
    cluster?: string;
    snapshot?: string;
    markdown?: boolean;
    "stack-dir"?: string;
    previous?: string;
    "node-ready-seconds"?: string;
    "pod-exit-seconds"?: string;
    "pod-ready-seconds"?: string;
    force?: boolean;
    json?: boolean;
}

function seconds(value: string | undefined, flag: string): number | undefined {
    if (value === undefined) return undefined;
    const n = Number(value);
    if (!(value.trim() !== "" && Number.isFinite(n) && n >= 0))
        throw new UsageError(`${flag} ${value}: give a number of seconds, 0 or more`);
    return n;
}

export const rehearseCommand: Command<RehearseValues> = {
    name: "rehearse",
    usage: "npm run rehearse -- <stack> --snapshot FILE [--cluster NAME] [--markdown | --json] [--force] [--stack-dir DIR] [--previous FILE] [--node-ready-seconds N] [--pod-exit-seconds N] [--pod-ready-seconds N]",
    description:
        "Plans the stack as `npm run plan` does and plays the worker phase of one cluster on a snapshot of it, as the " +
        "generated scripts would run it (cordon, capacity check, drains in batches under PodDisruptionBudgets). " +
        `Reports blockers, the cost to workloads, the time per phase and the surplus node-hours. The snapshot: ${SNAPSHOT_COMMAND} > FILE. ` +
        "Exits 1 when the upgrade would fail, the config is refused, or the snapshot does not match the stack's record " +
        "of the cluster (its pools, their versions); 3 when a pool's move cannot be rehearsed (in place, recycle, a " +
        "lower count, a provider not modelled), which is never reported as passing.",
    help: [
        ["--cluster NAME", "the cluster the snapshot is of (needed when the stack has several)"],
        ["--snapshot FILE", "the snapshot (a kubectl List as JSON)"],
        ["--markdown", "a pull-request comment instead of terminal tables"],
        ["--json", "one JSON document (schema/command-output.schema.json) instead of text; same exit codes"],
        ["--force", "rehearse a snapshot that does not match the stack's record (the report says where)"],
        ["--stack-dir DIR", "read Pulumi.<stack>.yaml and running/<stack>.json from DIR (default: the repository)"],
        ["--previous FILE", "the stack's outputs (`pulumi stack output --json`), as for npm run plan"],
        ["--node-ready-seconds N", `a new pool's nodes Ready after N s (default ${DEFAULT_TIMING.nodeReadySeconds})`],
        ["--pod-exit-seconds N", "an evicted pod exits after N s at most (default: its whole grace period)"],
        [
            "--pod-ready-seconds N",
            `a replacement pod Ready N s after its eviction (default ${DEFAULT_TIMING.podReadySeconds})`,
        ],
        ["-h, --help", "this text"],
    ],
    options: {
        cluster: { type: "string" },
        snapshot: { type: "string" },
        markdown: { type: "boolean" },
        "stack-dir": { type: "string" },
        previous: { type: "string" },
        "node-ready-seconds": { type: "string" },
        "pod-exit-seconds": { type: "string" },
        "pod-ready-seconds": { type: "string" },
        force: { type: "boolean" },
        json: { type: "boolean" },
    },
    exitCodes: "0 would pass, 1 would fail or refused, 2 usage error, 3 incomplete (not everything could be rehearsed)",
    run(values, positionals) {
        if (positionals.length !== 1) throw new UsageError(`give exactly one stack (given: ${positionals.length})`);
        const stackDir = values["stack-dir"] ? path.resolve(values["stack-dir"]) : ROOT;
        requireStack(positionals[0], stackDir);
        if (values.json && values.markdown) throw new UsageError("--json and --markdown: give one of them");
        if (!values.snapshot)
            throw new UsageError(`--snapshot FILE is required; write one with: ${SNAPSHOT_COMMAND} > FILE`);
        if (!fs.existsSync(values.snapshot)) throw new UsageError(`--snapshot ${values.snapshot}: no such file`);
        if (values.previous !== undefined && !fs.existsSync(values.previous))
            throw new UsageError(`--previous ${values.previous}: no such file`);
        const timing: Partial<RehearsalTiming> = {};
        const nodeReady = seconds(values["node-ready-seconds"], "--node-ready-seconds");
        const podReady = seconds(values["pod-ready-seconds"], "--pod-ready-seconds");
        if (nodeReady !== undefined) timing.nodeReadySeconds = nodeReady;
        if (podReady !== undefined) timing.podReadySeconds = podReady;
        timing.podExitSeconds = seconds(values["pod-exit-seconds"], "--pod-exit-seconds");
        try {
            const result = rehearse({
                stack: positionals[0],
                cluster: values.cluster,
                snapshot: values.snapshot,
                markdown: values.markdown,
                stackDir,
                previous: values.previous,
                timing,
                force: values.force,
            });
            if (values.json)
                process.stdout.write(
                    printJson({
                        command: "rehearse",
                        stack: positionals[0],
                        cluster: result.cluster ?? null,
                        snapshot: values.snapshot,
                        outcome: outcomeOf(result.exitCode),
                        exitCode: result.exitCode,
                        refusals: result.refusals ?? [],
                        findings: result.findings ? findingsJson(result.findings) : null,
                    }),
                );
            else process.stdout.write(result.text);
            return result.exitCode;
        } catch (err) {
            if (err instanceof SnapshotError) throw new UsageError(err.message);
            throw err;
        }
    },
};

if (require.main === module) void runCommand(rehearseCommand);
