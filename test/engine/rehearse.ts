// An engine-order rehearsal of one `pulumi up`: the resources a real program run registered under the mock runtime
// (tools/capture.ts) are executed the way the Pulumi engine orders a deployment, against a real control plane, with
// each command's real script.
//
// What it follows from the engine (pulumi/pulumi pkg/resource/deploy):
// - Creates, updates and replacements run as the program registers resources, each after what it depends on
//   (deployment_executor.go handleSingleEvent → step_generator.go GenerateSteps). Here: one at a time, in a
//   topological order of the registrations, which is one of the orders the engine may choose.
// - Resources that left the program, and the old halves of create-before-delete replacements, are deleted only after
//   the program has finished (deployment_executor.go performPostSteps, step_generator.go GenerateDeletes and
//   ScheduleDeletes): dependents first. Here: one at a time.
// - A failing step stops the deployment; the state keeps every step that succeeded (and the failed resource's old
//   state).
// - The stack outputs the program registered are written at the end even when the update failed: supplied keys
//   replace the old ones (step_executor.go executeRegisterResourceOutputs with errored=true). A program whose output
//   waits for a failed resource never supplies it, and the stack keeps its old outputs (step.go SameStep retains them).
//   Here: the record moves when every create, update and replacement succeeded, before the deletes run. The
//   dependency of the record on the steps is asserted directly in test/lke.test.ts under the mock runtime.
//
// The providers' effects are not modelled here but handed in (`Cloud`): test/engine/real-cloud.ts carries them out on
// the real test control plane, with the Linode API stand-in for LKE pools.

import type { ScriptKind } from "../../components/scripts";
import { scriptKindOf } from "../../components/scripts";
import type { Capture, CapturedResource } from "../../tools/capture-types";
import { runScript, scriptFrom } from "../fixture/run-script";

export type FaultKind = "api-refused" | "pdb-blocks" | "provider-error";
export interface Fault {
    /** The step label, "<op>:<resource name>". */
    at: string;
    kind: FaultKind;
}
export type Op = "create" | "update" | "replace" | "delete";
export interface Step {
    label: string;
    op: Op;
    resource: CapturedResource;
    /** The script a command step runs, when it runs one. */
    script?: string;
}
export interface DeployResult {
    ok: boolean;
    failedAt?: string;
    error?: string;
    executed: Step[];
}

/** What the providers do, and where the scripts run: one cluster and its cloud. */
export interface Cloud {
    /** Carries out a provider resource's step (an LKE pool created, resized or deleted; a node group; a version). */
    provider(step: Step, old: CapturedResource | undefined): Promise<void>;
    /** The environment a command's script gets on top of its own inputs: the kubeconfig and the cloud API's address
     *  and token, or, with `refused`, addresses where every connection is refused. */
    scriptEnv(inputs: Record<string, string>, refused: boolean): Record<string, string>;
    /** Tightens every budget to allow no eviction; the returned function loosens them again. */
    blockBudgets(): Promise<() => Promise<void>>;
}

const COMMAND = "command:local:Command";
const LKE_POOL = "linode:index/lkeNodePool:LkeNodePool";
/** Scripts that evict pods: where a PodDisruptionBudget that allows nothing is a fault worth injecting. */
export const DRAINING_SCRIPTS = ["drain", "lke-shrink-pool", "lke-in-place", "preflight"];

const depsOf = (r: CapturedResource): string[] => [
    ...r.dependencies,
    ...Object.values(r.propertyDependencies).flat(),
    ...(r.parent ? [r.parent] : []),
];

export interface RehearsalOptions {
    kubectlMinor: string;
    /** Called after every step, and when the record is written: the invariants are checked there. */
    afterStep?: (label: string) => void | Promise<void>;
    /** Extra environment for every script (short polls). */
    scriptEnv?: Record<string, string>;
    /** A folder of script sources (lib.sh and <kind>.sh) to run instead of the generated scripts: a mutant. */
    scriptsDir?: string;
}

export class Rehearsal {
    /** The stack's state: the last applied version of each resource, by URN. */
    state = new Map<string, CapturedResource>();
    /** Old halves of replacements, waiting for the delete phase (the engine keeps them in state marked for deletion). */
    pendingDeletes: CapturedResource[] = [];
    /** The stack output k8sUpgrades as recorded now. */
    record: unknown;
    log: string[] = [];

    constructor(
        readonly cloud: Cloud,
        readonly opts: RehearsalOptions,
    ) {}

    /** Runs one deployment of the program run `goal`, with an optional fault; stops at the first failing step. */
    async deploy(goal: Capture, fault?: Fault): Promise<DeployResult> {
        if (goal.error) throw new Error(`the program run refused: ${goal.error}`);
        const executed: Step[] = [];
        const goalUrns = new Set(goal.resources.map((r) => r.urn));
        for (const r of topological(goal.resources)) {
            const old = this.state.get(r.urn);
            const op = r.custom ? diff(old, r) : old ? undefined : "create";
            if (!op) continue;
            if (!r.custom) {
                this.state.set(r.urn, r);
                continue;
            }
            const step: Step = { label: `${op === "replace" ? "create" : op}:${r.name}`, op, resource: r };
            executed.push(step);
            const error = await this.apply(step, old, fault);
            if (error) return this.fail(step, error, executed);
            if (op === "replace" && old) this.pendingDeletes.push(old);
            this.state.set(r.urn, r);
        }
        // The program has finished and registered its outputs; the deletes come after.
        this.record = goal.stackOutputs?.k8sUpgrades;
        await this.opts.afterStep?.("record written");
        const leaving = [...this.pendingDeletes, ...[...this.state.values()].filter((r) => !goalUrns.has(r.urn))];
        while (leaving.length > 0) {
            // Dependents first: a resource goes once nothing else that is leaving depends on it.
            const i = findLastIndex(
                leaving,
                (r) => !leaving.some((other) => other !== r && depsOf(other).includes(r.urn)),
            );
            if (i < 0) throw new Error("the resources to delete depend on each other in a cycle");
            const r = leaving[i];
            if (!r.custom) {
                leaving.splice(i, 1);
                this.forget(r);
                continue;
            }
            const step: Step = { label: `delete:${r.name}`, op: "delete", resource: r };
            executed.push(step);
            const error = await this.apply(step, r, fault);
            if (error) return this.fail(step, error, executed);
            leaving.splice(i, 1);
            this.forget(r);
        }
        return { ok: true, executed };
    }

    private forget(r: CapturedResource): void {
        const pending = this.pendingDeletes.indexOf(r);
        if (pending >= 0) this.pendingDeletes.splice(pending, 1);
        else if (this.state.get(r.urn) === r) this.state.delete(r.urn);
    }

    private fail(step: Step, error: string, executed: Step[]): DeployResult {
        this.log.push(`${step.label} failed: ${error}`);
        return { ok: false, failedAt: step.label, error, executed };
    }

    /** Carries out one step; returns the error, if any. */
    private async apply(step: Step, old: CapturedResource | undefined, fault?: Fault): Promise<string | undefined> {
        const faulted = fault?.at === step.label ? fault.kind : undefined;
        let loosen: (() => Promise<void>) | undefined;
        try {
            if (faulted === "pdb-blocks") loosen = await this.cloud.blockBudgets();
            if (step.resource.type === COMMAND) return await this.command(step, faulted === "api-refused");
            if (faulted === "provider-error" || faulted === "api-refused")
                return `the provider failed (${faulted}) before changing anything`;
            await this.cloud.provider(step, old);
            return undefined;
        } catch (err) {
            return String((err as Error).message ?? err);
        } finally {
            await loosen?.();
            await this.opts.afterStep?.(step.label);
        }
    }

    /** A command's step: its `create` script (or `delete`, when it goes), run with the real kubectl. */
    private async command(step: Step, refused: boolean): Promise<string | undefined> {
        const from = step.resource;
        const text = step.op === "delete" ? from.inputs.delete : from.inputs.create;
        if (text === undefined) return undefined;
        const kind = scriptKindOf(text) as ScriptKind | undefined;
        if (!kind) return `${step.label}: not a generated script`;
        step.script = kind;
        const env = {
            ...((from.inputs.environment ?? {}) as Record<string, string>),
            ...this.opts.scriptEnv,
        };
        const run = await runScript(kind, { ...env, ...this.cloud.scriptEnv(env, refused) }, this.opts.kubectlMinor, {
            killAfterMs: 300_000,
            script: this.opts.scriptsDir ? scriptFrom(this.opts.scriptsDir, kind) : undefined,
        });
        this.log.push(`${step.label} (${kind}, ${run.ms} ms) → ${run.code}\n${run.stderr}`);
        if (run.code !== 0) return `${kind} exited ${run.code}: ${run.stderr.trim().split("\n").slice(-3).join(" | ")}`;
        return undefined;
    }
}

function findLastIndex<T>(items: T[], fn: (t: T) => boolean): number {
    for (let i = items.length - 1; i >= 0; i--) if (fn(items[i])) return i;
    return -1;
}

/** Registration order, with each resource after everything it depends on. */
function topological(resources: CapturedResource[]): CapturedResource[] {
    const byUrn = new Map(resources.map((r) => [r.urn, r]));
    const done = new Set<string>();
    const out: CapturedResource[] = [];
    const visit = (r: CapturedResource, path: Set<string>) => {
        if (done.has(r.urn)) return;
        if (path.has(r.urn)) throw new Error(`dependency cycle through ${r.name}`);
        path.add(r.urn);
        for (const d of depsOf(r)) {
            const dep = byUrn.get(d);
            if (dep) visit(dep, path);
        }
        done.add(r.urn);
        out.push(r);
    };
    for (const r of resources) visit(r, new Set());
    return out;
}

/** The engine's decision for one custom resource against its state; undefined when nothing changes. */
function diff(old: CapturedResource | undefined, r: CapturedResource): Op | undefined {
    if (!old) return "create";
    const inputs = (x: CapturedResource) => {
        const copy: Record<string, unknown> = { ...x.inputs };
        for (const k of r.ignoreChanges) delete copy[k];
        return JSON.stringify(copy);
    };
    if (r.type === COMMAND) {
        // triggers replace the command (create-before-delete); any other input change is an update, which runs
        // `create` again when there is no `update` script.
        if (JSON.stringify(old.inputs.triggers ?? null) !== JSON.stringify(r.inputs.triggers ?? null)) return "replace";
        return inputs(old) === inputs(r) ? undefined : "update";
    }
    if (r.type === LKE_POOL && (old.inputs.type !== r.inputs.type || old.inputs.clusterId !== r.inputs.clusterId))
        return "replace";
    return inputs(old) === inputs(r) ? undefined : "update";
}
