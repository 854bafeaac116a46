// An engine-order rehearsal of one `pulumi up`: the resources a real program run registered under the mock runtime
// (tools/capture.ts) are executed the way the Pulumi engine orders a deployment, against the Kubernetes and LKE API
// fixture, with each command's real script.
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
// Providers are modelled over the fixture: an LKE pool is a fixture pool (its count set through the fixture's LKE
// API, so a lower count removes nodes LKE picks); a version change on an LkeCluster that does not ignore it recycles
// every node of every pool as the provider does (each node drained through the eviction API, then replaced); an EKS
// node group is a set of fixture nodes labelled with its name, deleted with whatever still runs on them.

import * as https from "node:https";
import * as net from "node:net";
import type { ScriptKind } from "../../components/scripts";
import { scriptKindOf } from "../../components/scripts";
import { fakeNumericId } from "../../tools/capture";
import type { Capture, CapturedResource } from "../../tools/capture-types";
import { fixtureCertificate, KUBE_TOKEN, type KubeApiFixture } from "../fixture/kube-api";
import { runScript } from "../fixture/run-script";

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

const COMMAND = "command:local:Command";
const LKE_CLUSTER = "linode:index/lkeCluster:LkeCluster";
const LKE_POOL = "linode:index/lkeNodePool:LkeNodePool";
const EKS_CLUSTER = "aws:eks/cluster:Cluster";
const EKS_NODE_GROUP = "aws:eks/nodeGroup:NodeGroup";
/** Scripts that evict pods: where a PodDisruptionBudget that allows nothing is a fault worth injecting. */
export const DRAINING_SCRIPTS = ["drain", "lke-shrink-pool", "lke-in-place", "preflight"];

const depsOf = (r: CapturedResource): string[] => [
    ...r.dependencies,
    ...Object.values(r.propertyDependencies).flat(),
    ...(r.parent ? [r.parent] : []),
];

/** A port nothing listens on: a connection there is refused. */
export async function refusedPort(): Promise<number> {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    return port;
}

export interface RehearsalOptions {
    kubectlMinor: string;
    /** A port that refuses connections, for the api-refused fault. */
    refusedPort: number;
    /** Called after every step, and when the record is written: the invariants are checked there. */
    afterStep?: (label: string) => void;
    /** Extra environment for every script (short polls). */
    scriptEnv?: Record<string, string>;
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
        readonly fixture: KubeApiFixture,
        readonly opts: RehearsalOptions,
    ) {}

    /** A copy of this rehearsal's state (not its log) over another fixture. */
    copyTo(fixture: KubeApiFixture, opts: RehearsalOptions): Rehearsal {
        const copy = new Rehearsal(fixture, opts);
        copy.state = new Map(this.state);
        copy.pendingDeletes = [...this.pendingDeletes];
        copy.record = this.record;
        return copy;
    }

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
        this.opts.afterStep?.("record written");
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
        let cleanup: (() => void) | undefined;
        try {
            if (faulted === "pdb-blocks") cleanup = this.blockingPdb();
            if (step.resource.type === COMMAND) {
                const from = step.resource;
                const text = step.op === "delete" ? from.inputs.delete : from.inputs.create;
                if (text === undefined) return undefined;
                const kind = scriptKindOf(text) as ScriptKind | undefined;
                if (!kind) return `${step.label}: not a generated script`;
                step.script = kind;
                const run = await runScript(
                    kind,
                    this.scriptEnv(from, faulted === "api-refused"),
                    this.opts.kubectlMinor,
                );
                this.log.push(`${step.label} (${kind}, ${run.ms} ms) → ${run.code}\n${run.stderr}`);
                if (run.code !== 0)
                    return `${kind} exited ${run.code}: ${run.stderr.trim().split("\n").slice(-3).join(" | ")}`;
                return undefined;
            }
            if (faulted === "provider-error" || faulted === "api-refused")
                return `the provider failed (${faulted}) before changing anything`;
            await this.provider(step, old);
            return undefined;
        } catch (err) {
            return String((err as Error).message ?? err);
        } finally {
            cleanup?.();
            this.opts.afterStep?.(step.label);
        }
    }

    /** Every budget tightened to allow no eviction at all; loosened again when the fault clears. */
    private blockingPdb(): () => void {
        const saved = this.fixture.pdbs.map((p) => ({
            p,
            minAvailable: p.minAvailable,
            maxUnavailable: p.maxUnavailable,
        }));
        for (const { p } of saved) {
            p.minAvailable = undefined;
            p.maxUnavailable = 0;
        }
        return () => {
            for (const { p, minAvailable, maxUnavailable } of saved) Object.assign(p, { minAvailable, maxUnavailable });
        };
    }

    private scriptEnv(r: CapturedResource, refused: boolean): Record<string, string> {
        const env: Record<string, string> = {
            ...((r.inputs.environment ?? {}) as Record<string, string>),
            ...this.opts.scriptEnv,
        };
        const server = refused ? `http://127.0.0.1:${this.opts.refusedPort}` : this.fixture.url();
        if (env.K8SU_KUBECONFIG_B64 !== undefined)
            env.K8SU_KUBECONFIG_B64 = Buffer.from(
                this.fixture.kubeconfig().replace(this.fixture.url(), server),
            ).toString("base64");
        env.LINODE_TOKEN = this.fixture.linodeToken;
        env.LINODE_API_URL = refused ? `${server}/v4` : this.fixture.linodeUrl();
        return env;
    }

    // ---- the providers, over the fixture ----

    private async provider(step: Step, old: CapturedResource | undefined): Promise<void> {
        const r = step.resource;
        const inputs = r.inputs as Record<string, unknown>;
        const fx = this.fixture;
        switch (r.type) {
            case LKE_CLUSTER: {
                if (step.op === "create") {
                    fx.clusterId = Number(fakeNumericId(r.name));
                    fx.controlPlaneVersion = `${inputs.k8sVersion}.4`;
                    fx.servedVersion = fx.controlPlaneVersion;
                    const anchor = (inputs.pools as Array<{ count: number }>)[0];
                    const anchorId = Number(fakeNumericId(`${r.name}/0`));
                    for (const n of fx.addLkePool(anchorId, anchor.count, fx.controlPlaneVersion))
                        fx.nodes.get(n)!.taints = [{ key: "k8s-upgrades/anchor", effect: "NoSchedule" }];
                    return;
                }
                if (step.op === "delete") throw new Error("the rehearsal never deletes a cluster");
                const ignored = r.ignoreChanges.includes("k8sVersion");
                if (!ignored && old && old.inputs.k8sVersion !== inputs.k8sVersion)
                    await this.lkeRecycleAll(String(inputs.k8sVersion));
                return;
            }
            case LKE_POOL: {
                const id = Number(fakeNumericId(r.name));
                if (step.op === "delete") return void (await this.linode("DELETE", `/pools/${id}`));
                if (step.op === "create" || step.op === "replace") {
                    fx.addLkePool(id, 0, fx.controlPlaneVersion);
                }
                // The provider sends the count it has in config; LKE removes nodes of its own choosing when it drops.
                await this.linode("PUT", `/pools/${id}`, { count: inputs.nodeCount, autoscaler: inputs.autoscaler });
                return;
            }
            case EKS_CLUSTER: {
                if (step.op === "delete") throw new Error("the rehearsal never deletes a cluster");
                fx.controlPlaneVersion = `${inputs.version}.4`;
                fx.servedVersion = fx.controlPlaneVersion;
                return;
            }
            case EKS_NODE_GROUP: {
                const groupName = String(inputs.nodeGroupName ?? `${r.name}-${fakeNumericId(r.name)}`);
                const label = "eks.amazonaws.com/nodegroup";
                const members = () => [...fx.nodes.values()].filter((n) => n.labels[label] === groupName);
                if (step.op === "delete") {
                    // EKS drains for at most five minutes and then terminates regardless: modelled as nodes going.
                    for (const n of members()) fx.deleteNode(n.name);
                    return;
                }
                if (step.op === "update" && old && old.inputs.version !== inputs.version)
                    throw new Error("the rehearsal does not model the managed rolling update");
                const wanted = (inputs.scalingConfig as { desiredSize: number }).desiredSize;
                for (let i = members().length; i < wanted; i++) {
                    const node = fx.addNode(`${groupName}-${i}`, {
                        labels: { [label]: groupName },
                        kubeletVersion: `${inputs.version}.3`,
                        ready: false,
                    });
                    setTimeout(() => {
                        node.ready = true;
                    }, fx.timing.nodeReadyMs);
                }
                return;
            }
            default:
                return; // roles, add-ons, stack references: nothing the rehearsal observes
        }
    }

    private async linode(method: string, path: string, body?: unknown): Promise<unknown> {
        const res = await fetch(`${this.fixture.linodeUrl()}/lke/clusters/${this.fixture.clusterId}${path}`, {
            method,
            headers: { Authorization: `Bearer ${this.fixture.linodeToken}`, "Content-Type": "application/json" },
            body: body === undefined ? undefined : JSON.stringify(body),
        });
        const text = await res.text();
        if (!res.ok) throw new Error(`Linode API ${method} ${path}: ${res.status} ${text}`);
        return text ? JSON.parse(text) : undefined;
    }

    /** The provider's version change: the API call, then every node of every pool recycled, one at a time. */
    private async lkeRecycleAll(version: string): Promise<void> {
        const fx = this.fixture;
        await this.linode("PUT", "", { k8s_version: version });
        for (const pool of [...fx.lkePools.keys()]) {
            for (const node of fx.lkeNodes(pool)) {
                await this.kube("PATCH", `/api/v1/nodes/${node.name}`, { spec: { unschedulable: true } });
                const deadline = Date.now() + 5000;
                for (;;) {
                    const evictable = fx
                        .podsOn(node.name)
                        .filter((p) => p.owner?.kind !== "DaemonSet" && !p.terminating);
                    if (evictable.length === 0) break;
                    if (Date.now() > deadline)
                        throw new Error(`LKE could not drain ${node.name}: ${evictable.map((p) => p.name).join(", ")}`);
                    for (const p of evictable)
                        await this.kube("POST", `/api/v1/namespaces/${p.namespace}/pods/${p.name}/eviction`, {}, true);
                    await sleep(50);
                }
                while (fx.podsOn(node.name).some((p) => p.owner?.kind !== "DaemonSet")) await sleep(20);
                const instance = node.providerID!.slice("linode://".length);
                await this.linode("POST", `/nodes/${fx.clusterId}-${instance}/recycle`);
                while (
                    fx.lkeNodes(pool).some((n) => !n.ready) ||
                    fx.lkeNodes(pool).length < fx.lkePools.get(pool)!.count
                )
                    await sleep(20);
            }
        }
    }

    /** A request to the fixture's API server as a client would make it: over TLS, with the bearer token. */
    private async kube(method: string, path: string, body: unknown, tolerate = false): Promise<void> {
        const status = await new Promise<number>((resolve, reject) => {
            const req = https.request(
                `${this.fixture.url()}${path}`,
                {
                    method,
                    ca: fixtureCertificate().cert,
                    headers: {
                        Authorization: `Bearer ${KUBE_TOKEN}`,
                        "Content-Type":
                            method === "PATCH" ? "application/strategic-merge-patch+json" : "application/json",
                    },
                },
                (res) => {
                    res.resume();
                    res.on("end", () => resolve(res.statusCode ?? 0));
                },
            );
            req.on("error", reject);
            req.end(JSON.stringify(body));
        });
        if ((status < 200 || status >= 300) && !tolerate) throw new Error(`${method} ${path}: ${status}`);
    }
}

function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
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
