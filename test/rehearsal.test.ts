// Engine-order rehearsal: a previous and a next deployment, captured from real program runs under the mock runtime,
// executed in the order the Pulumi engine uses (test/engine/rehearse.ts) against the API fixture with each step's
// real script. A fault is injected at each step in turn; after every step and every change of the fixture, the
// invariants hold: no node removed while it runs evictable pods, no PodDisruptionBudget violated, schedulable
// capacity never below the floor, and the running record never claims a version or completion that is not true.
// After the fault clears, running `pulumi up` again from the state left behind converges to the fault-free end.
//
// REHEARSAL_FULL=1 injects every fault kind at every step (api-refused and pdb-blocks at each command, provider-error
// at each provider resource). By default, to keep `npm test` inside its time budget, each kind of step (a resource
// type and operation, or a script) gets, at its first occurrence in the deployment, the fault that bites it:
// pdb-blocks where a script evicts, api-refused elsewhere, provider-error at a provider resource.

import * as assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { RunningCluster } from "../components/running";
import type { Capture } from "../tools/capture-types";
import { DRAINING_SCRIPTS, type Fault, type FaultKind, Rehearsal, refusedPort, type Step } from "./engine/rehearse";
import { type FixturePdb, KubeApiFixture, minor } from "./fixture/kube-api";
import { runProgram, stackConfig } from "./helpers";

const KUBECTL = "1.31";
const FULL = process.env.REHEARSAL_FULL === "1";
// kubectl retries a refused eviction after 5 s, so a drain that waits on a budget needs more than that.
const DRAIN = { batchSize: 1, soakSeconds: 0, timeoutSeconds: 10, gracePeriodSeconds: 0, deleteEmptyDirData: false };
const SCRIPT_ENV = { K8SU_POLL_SECONDS: "0.1" };

interface Scenario {
    title: string;
    before: Record<string, unknown>[];
    after: Record<string, unknown>[];
    /** Schedulable nodes that must remain at every moment. */
    floor: number;
    /** Label selector of a recorded pool's nodes. */
    selector: (pool: { poolId?: string }) => string;
}

const lke = (version: string, strategy: string, pools: Record<string, unknown>[]) => ({
    name: "apps",
    provider: "lke",
    kubernetesVersion: version,
    lke: { region: "us-ord" },
    nodePools: pools,
    workers: { strategy, drain: DRAIN, readyTimeoutSeconds: 20 },
});
const eks = (version: string) => ({
    name: "data",
    provider: "eks",
    kubernetesVersion: version,
    eks: { region: "us-east-1", subnetIds: ["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002"] },
    nodePools: [{ name: "general", count: 2, type: "m6i.large" }],
    workers: { strategy: "blue-green", drain: DRAIN, readyTimeoutSeconds: 20 },
});
const web = (count: number) => ({ name: "web", count, type: "g6-standard-4" });
const lkeSelector = (p: { poolId?: string }) => `lke.linode.com/pool-id=${p.poolId}`;

const SCENARIOS: Scenario[] = [
    {
        title: "LKE blue-green",
        before: [lke("1.30", "blue-green", [web(2)])],
        after: [lke("1.31", "blue-green", [web(2)])],
        floor: 2,
        selector: lkeSelector,
    },
    {
        title: "LKE in-place",
        before: [lke("1.30", "in-place", [web(2)])],
        after: [lke("1.31", "in-place", [web(2)])],
        floor: 2,
        selector: lkeSelector,
    },
    {
        // The provider recycles one node at a time: capacity drops by one node, as the plan warns.
        title: "LKE recycle",
        before: [lke("1.30", "recycle", [web(3)])],
        after: [lke("1.31", "recycle", [web(3)])],
        floor: 2,
        selector: lkeSelector,
    },
    {
        title: "EKS node-group swap",
        before: [eks("1.30")],
        after: [eks("1.31")],
        floor: 2,
        selector: (p) => `eks.amazonaws.com/nodegroup=${p.poolId}`,
    },
    {
        title: "LKE pool removed and count lowered",
        before: [lke("1.31", "blue-green", [web(3), { name: "batch", count: 2, type: "g6-dedicated-4" }])],
        after: [lke("1.31", "blue-green", [web(2)])],
        floor: 2,
        selector: lkeSelector,
    },
];

type Record_ = { clusters: Record<string, RunningCluster> };

/** Watches the fixture: every change and every step is checked against the invariants. */
class Invariants {
    violations: string[] = [];
    private podsByNode = new Map<string, string[]>();
    /** Every pool selector any record has listed; one absent from the record now is claimed gone. */
    private everRecorded = new Set<string>();

    constructor(
        private fx: KubeApiFixture,
        private reh: Rehearsal,
        private scenario: Scenario,
        private budgets: FixturePdb[],
    ) {
        this.resample();
        fx.onChange(() => this.check("change"));
    }

    private evictable(node: string): string[] {
        return this.fx
            .podsOn(node)
            .filter((p) => p.owner?.kind !== "DaemonSet" && !p.terminating)
            .map((p) => `${p.namespace}/${p.name}`);
    }

    private resample(): void {
        this.podsByNode = new Map([...this.fx.nodes.keys()].map((n) => [n, this.evictable(n)]));
    }

    private violate(where: string, what: string): void {
        if (this.violations.length < 20) this.violations.push(`${where}: ${what}`);
    }

    check(where: string): void {
        const fx = this.fx;
        for (const [node, pods] of this.podsByNode)
            if (!fx.nodes.has(node) && pods.length > 0)
                this.violate(where, `node ${node} removed while it ran ${pods.join(", ")}`);
        for (const b of this.budgets) {
            const s = fx.pdbStatus(b);
            if (s.currentHealthy < s.desiredHealthy)
                this.violate(where, `budget ${b.name}: ${s.currentHealthy} healthy, ${s.desiredHealthy} promised`);
        }
        const schedulable = [...fx.nodes.values()].filter(
            (n) => n.ready && !n.unschedulable && !n.taints.some((t) => t.effect !== "PreferNoSchedule"),
        ).length;
        if (schedulable < this.scenario.floor)
            this.violate(where, `${schedulable} schedulable node(s), below ${this.scenario.floor}`);
        this.checkRecord(where);
        this.resample();
    }

    private nodesOf(selector: string) {
        const [k, v] = selector.split("=");
        return [...this.fx.nodes.values()].filter((n) => n.labels[k] === v);
    }

    /** What the record claims must be true of the fixture now. */
    private checkRecord(where: string): void {
        const record = this.reh.record as Record_ | undefined;
        if (!record) return;
        const runs = minor(this.fx.controlPlaneVersion);
        for (const cluster of Object.values(record.clusters)) {
            if (cmpMinor(cluster.controlPlaneVersion, runs) > 0)
                this.violate(where, `record claims control plane ${cluster.controlPlaneVersion}; it runs ${runs}`);
            const listed = new Set(cluster.pools.map((p) => this.scenario.selector(p)));
            for (const p of cluster.pools) {
                const sel = this.scenario.selector(p);
                this.everRecorded.add(sel);
                for (const n of this.nodesOf(sel))
                    if (cmpMinor(p.version, minor(n.kubeletVersion)) > 0)
                        this.violate(
                            where,
                            `record claims ${p.resourceName} at ${p.version}; ${n.name} runs ${n.kubeletVersion}`,
                        );
            }
            for (const sel of this.everRecorded) {
                if (listed.has(sel)) continue;
                for (const n of this.nodesOf(sel)) {
                    const pods = this.evictable(n.name);
                    if (pods.length > 0)
                        this.violate(where, `record claims ${sel} gone; ${n.name} still runs ${pods.join(", ")}`);
                }
            }
            if (!cluster.upgradeInProgress)
                for (const n of this.fx.nodes.values())
                    if (
                        this.evictable(n.name).length > 0 &&
                        cmpMinor(cluster.controlPlaneVersion, minor(n.kubeletVersion)) > 0
                    )
                        this.violate(
                            where,
                            `record claims the upgrade to ${cluster.controlPlaneVersion} complete; ${n.name} (${n.kubeletVersion}) still runs workloads`,
                        );
        }
    }
}

function cmpMinor(a: string, b: string): number {
    const [, x] = minor(a).split(".").map(Number);
    const [, y] = minor(b).split(".").map(Number);
    return x - y;
}

const TIMING = { terminationMs: 20, scheduleMs: 20, readyMs: 100, nodeReadyMs: 150, controlPlaneMs: 50 };
const BUDGET: FixturePdb = { namespace: "shop", name: "web", selector: { app: "web" }, maxUnavailable: 1 };

interface World {
    fx: KubeApiFixture;
    reh: Rehearsal;
    invariants: Invariants;
}

/** The previous deployment carried out on a fresh fixture, with a workload on its pools (one pod per node). */
async function template(first: Capture, port: number): Promise<{ fx: KubeApiFixture; reh: Rehearsal }> {
    const fx = new KubeApiFixture("1.30.4");
    fx.timing = TIMING;
    await fx.start();
    const reh = new Rehearsal(fx, { kubectlMinor: KUBECTL, refusedPort: port, scriptEnv: SCRIPT_ENV });
    const r = await reh.deploy(first);
    assert.ok(r.ok, `the previous deployment failed at ${r.failedAt}: ${r.error}\n${reh.log.join("\n")}`);
    const workers = [...fx.nodes.values()]
        .filter((n) => !n.taints.some((t) => t.effect !== "PreferNoSchedule"))
        .map((n) => n.name);
    fx.addReplicaSet("shop", "web", workers.length, workers);
    fx.addPdb(BUDGET);
    return { fx, reh };
}

/** A world that starts where the template stands: its own fixture server, a copy of the cluster and the state. */
async function world(s: Scenario, from: { fx: KubeApiFixture; reh: Rehearsal }, port: number): Promise<World> {
    const fx = new KubeApiFixture(from.fx.controlPlaneVersion);
    fx.timing = TIMING;
    const src = from.fx as unknown as Record<string, unknown>;
    const dst = fx as unknown as Record<string, unknown>;
    for (const key of [
        "nodes",
        "pods",
        "replicaSets",
        "daemonSets",
        "pdbs",
        "lkePools",
        "controlPlaneVersion",
        "servedVersion",
        "clusterId",
        "nextInstance",
        "resourceVersion",
    ])
        dst[key] = structuredClone(src[key]);
    await fx.start();
    let invariants: Invariants | undefined;
    const reh = from.reh.copyTo(fx, {
        kubectlMinor: KUBECTL,
        refusedPort: port,
        scriptEnv: SCRIPT_ENV,
        afterStep: (label) => invariants?.check(label),
    });
    // The budget as promised to the workload (a fault may tighten the live one).
    invariants = new Invariants(fx, reh, s, [structuredClone(BUDGET)]);
    return { fx, reh, invariants };
}

interface Captures {
    first: Capture;
    second: Capture;
    third: Capture;
}

async function captures(s: Scenario): Promise<Captures> {
    const first = await runProgram({ stack: "dev", config: stackConfig(s.before) });
    assert.equal(first.error, undefined);
    const second = await runProgram({ stack: "dev", config: stackConfig(s.after), previous: first.stackOutputs });
    assert.equal(second.error, undefined);
    const third = await runProgram({ stack: "dev", config: stackConfig(s.after), previous: second.stackOutputs });
    assert.equal(third.error, undefined);
    return { first, second, third };
}

/** The program run `pulumi up` makes from the record as it stands. */
function goalFor(c: Captures, record: unknown): Capture {
    const same = (o?: Record<string, unknown>) => JSON.stringify(o?.k8sUpgrades) === JSON.stringify(record);
    if (same(c.first.stackOutputs)) return c.second;
    if (same(c.second.stackOutputs)) return c.third;
    throw new Error(`the record is neither the previous nor the next one: ${JSON.stringify(record)}`);
}

/** Provider resources the rehearsal models; a fault elsewhere (roles, add-ons) stops nothing it could observe. */
const MODELLED = new Set([
    "linode:index/lkeCluster:LkeCluster",
    "linode:index/lkeNodePool:LkeNodePool",
    "aws:eks/cluster:Cluster",
    "aws:eks/nodeGroup:NodeGroup",
]);

/** The faults a step gets: none where it runs nothing a fault could reach (a command deleted without a script). */
function faultsFor(step: Step): FaultKind[] {
    const isCommand = step.resource.type === "command:local:Command";
    if (!isCommand) return MODELLED.has(step.resource.type) ? ["provider-error"] : [];
    if (step.script === undefined) return [];
    const drains = DRAINING_SCRIPTS.includes(step.script);
    if (FULL) return drains ? ["api-refused", "pdb-blocks"] : ["api-refused"];
    return [drains ? "pdb-blocks" : "api-refused"];
}

/** Every step under REHEARSAL_FULL; otherwise the first step of each kind (its resource type and operation, or its script). */
function faultedSteps(executed: Step[]): Step[] {
    if (FULL) return executed;
    const seen = new Set<string>();
    return executed.filter((step) => {
        const key = `${step.resource.type} ${step.op} ${step.script ?? ""}`;
        if (seen.has(key)) return false;
        seen.add(key);
        return true;
    });
}

/** One cell: the next deployment with a fault, then `pulumi up` again (and once more, to settle) after it clears. */
async function cell(
    s: Scenario,
    c: Captures,
    start: { fx: KubeApiFixture; reh: Rehearsal },
    port: number,
    fault: Fault,
    endState: string[],
    endNodes: string[],
): Promise<string[]> {
    const problems: string[] = [];
    const w = await world(s, start, port);
    try {
        const faulted = await w.reh.deploy(c.second, fault);
        if (!faulted.ok && faulted.failedAt !== fault.at)
            problems.push(`failed at ${faulted.failedAt}, not at the fault: ${faulted.error}`);
        const rerun = await w.reh.deploy(goalFor(c, w.reh.record));
        if (!rerun.ok) problems.push(`the re-run failed at ${rerun.failedAt}: ${rerun.error}`);
        // The run after that, from the record the re-run wrote, finishes the deletes if any were left.
        const settle = rerun.ok ? await w.reh.deploy(goalFor(c, w.reh.record)) : undefined;
        if (settle && !settle.ok) problems.push(`the run after the re-run failed at ${settle.failedAt}`);
        problems.push(...w.invariants.violations);
        if (settle?.ok) {
            if (JSON.stringify(w.reh.record) !== JSON.stringify(c.second.stackOutputs?.k8sUpgrades))
                problems.push("the re-run did not record the new state");
            const state = [...w.reh.state.keys()].sort();
            if (JSON.stringify(state) !== JSON.stringify(endState))
                problems.push(`state differs from the fault-free end: ${state.join(", ")}`);
            const nodes = workerNodes(w.fx);
            if (JSON.stringify(nodes) !== JSON.stringify(endNodes))
                problems.push(`nodes ${nodes.join(", ")}; fault-free: ${endNodes.join(", ")}`);
        }
        if (problems.length > 0) problems.push(`log:\n${w.reh.log.slice(-8).join("\n")}`);
    } finally {
        await w.fx.stop();
    }
    return problems;
}

/** The worker nodes' minors and cordons, sorted: what a converged cluster must match. */
function workerNodes(fx: KubeApiFixture): string[] {
    return [...fx.nodes.values()]
        .filter((n) => !n.taints.some((t) => t.effect !== "PreferNoSchedule"))
        .map((n) => `${minor(n.kubeletVersion)}${n.unschedulable ? " cordoned" : ""}`)
        .sort();
}

/** Runs cells with at most `limit` at once. */
async function pool<T>(items: T[], limit: number, fn: (t: T) => Promise<void>): Promise<void> {
    const queue = [...items];
    await Promise.all(
        Array.from({ length: limit }, async () => {
            for (let t = queue.shift(); t !== undefined; t = queue.shift()) await fn(t);
        }),
    );
}

const ONLY = process.env.REHEARSAL_ONLY;
const chosen = SCENARIOS.filter((x) => !ONLY || x.title.includes(ONLY));
// The program runs of every scenario start at once: each is its own process.
const allCaptures = new Map(chosen.map((s) => [s, captures(s)]));
// The scenarios run side by side: their cells spend most of their time waiting on polls and drain timeouts.
describe("engine-order rehearsal", { concurrency: true }, () => {
    for (const s of chosen) {
        test(`rehearsal: ${s.title}`, async (t) => {
            const c = await allCaptures.get(s)!;
            const port = await refusedPort();
            const start = await template(c.first, port);

            // Fault-free: the reference end state.
            const base = await world(s, start, port);
            const clean = await base.reh.deploy(c.second);
            const steady = clean.ok ? await base.reh.deploy(c.third) : undefined;
            const endState = [...base.reh.state.keys()].sort();
            const endNodes = workerNodes(base.fx);
            await base.fx.stop();

            await t.test(
                "without a fault the deployment succeeds, holds every invariant, and the next run changes nothing",
                () => {
                    assert.ok(clean.ok, `failed at ${clean.failedAt}: ${clean.error}\n${base.reh.log.join("\n")}`);
                    assert.deepEqual(base.invariants.violations, []);
                    assert.equal(
                        JSON.stringify(base.reh.record),
                        JSON.stringify(c.second.stackOutputs?.k8sUpgrades),
                        "the record is the new one",
                    );
                    assert.ok(steady?.ok, `the steady run failed at ${steady?.failedAt}: ${steady?.error}`);
                    assert.deepEqual(
                        steady?.executed.filter((x) => x.script !== undefined).map((x) => x.label),
                        [],
                        "a run after the upgrade runs no script",
                    );
                },
            );

            const results = new Map<string, string[]>();
            const cells: Fault[] = faultedSteps(clean.executed).flatMap((step) =>
                faultsFor(step).map((kind) => ({ at: step.label, kind })),
            );
            try {
                assert.ok(clean.ok, "the fault cells need the fault-free run");
                await pool(cells, 3, async (fault) => {
                    const problems = await cell(s, c, start, port, fault, endState, endNodes);
                    results.set(`${fault.kind} at ${fault.at}`, problems);
                });
            } finally {
                await start.fx.stop();
            }
            // A fault at each step fails closed, holds every invariant, and a re-run converges.
            for (const f of cells) {
                const name = `${f.kind} at ${f.at}`;
                await t.test(name, () => assert.deepEqual(results.get(name), []));
            }
        });
    }
});
