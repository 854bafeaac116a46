// Engine-order rehearsal on the real control plane: a previous and a next deployment, captured from real program runs
// under the mock runtime, executed in the order the Pulumi engine uses (test/engine/rehearse.ts), with each step's
// real script, against real kube-apiserver, controllers, scheduler and kwok kubelets, and the providers' effects
// carried out there (test/engine/real-cloud.ts: LKE pools through the Linode API stand-in, EKS node groups as kwok
// Nodes). A fault is injected at each step in turn. Watches follow every node and pod of the world, and at every
// change, and after every step, the invariants hold: no node removed while it runs workload pods, the workload's
// PodDisruptionBudget never broken, joined and uncordoned worker capacity never below the floor, and the running
// record never claiming a version or completion that is not true. After the fault clears, running `pulumi up` again
// from the state left behind converges to the fault-free end.
//
// A world (one cluster, its workload and its stand-ins) is alone on its control plane while it runs: pre-flight and
// the capacity checks count every node, pod and budget of the cluster, as they must. The file starts
// REHEARSAL_PLANES control planes (2 by default) and gives each world the next free one; a world removes all it made
// when it ends.
//
// REHEARSAL_FULL=1 injects every fault kind at every step (api-refused and pdb-blocks at each command, provider-error
// at each provider resource). By default, to keep `npm test` inside its time budget, each kind of step (a resource
// type and operation, or a script) gets, at its first occurrence in the deployment, the fault that bites it:
// pdb-blocks where a script evicts, api-refused elsewhere, provider-error at a provider resource.
// REHEARSAL_ONLY=<text> runs the scenarios whose title contains it. REHEARSAL_SCRIPTS_DIR=<folder> runs the script
// sources there (lib.sh and <kind>.sh, a mutant) instead of the generated scripts.

import * as assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { RunningCluster } from "../components/running";
import type { Capture } from "../tools/capture-types";
import { freePort } from "../tools/cluster/control-plane";
import {
    APP,
    EKS_GROUP_LABEL,
    isAnchor,
    minorOf,
    PROMISED_MAX_UNAVAILABLE,
    type RawNode,
    RealCloud,
    WorldWatch,
} from "./engine/real-cloud";
import { DRAINING_SCRIPTS, type Fault, type FaultKind, Rehearsal, type Step } from "./engine/rehearse";
import { KUBECTL_FOR_SERVER, RealCluster } from "./fixture/real-cluster";
import { budgetStatus } from "./fixture/real-pools";
import { runProgram, stackConfig } from "./helpers";

const FULL = process.env.REHEARSAL_FULL === "1";
const PLANES = Number(process.env.REHEARSAL_PLANES ?? "2");
// kubectl retries a refused eviction after 5 s, so a drain that waits on a budget needs more than that.
const DRAIN = { batchSize: 1, soakSeconds: 0, timeoutSeconds: 10, gracePeriodSeconds: 0, deleteEmptyDirData: false };
const SCRIPT_ENV = { K8SU_POLL_SECONDS: "0.2", K8SU_CURL_RETRIES: "0" };
/** The minors the scenarios upgrade between: the real apiserver serves the newer one. */
const OLD = "1.33";
const NEW = "1.34";

interface Scenario {
    title: string;
    before: Record<string, unknown>[];
    after: Record<string, unknown>[];
    /** Schedulable worker nodes that must remain at every moment. */
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
    workers: { strategy, drain: DRAIN, readyTimeoutSeconds: 60 },
});
const eks = (version: string) => ({
    name: "data",
    provider: "eks",
    kubernetesVersion: version,
    eks: { region: "us-east-1", subnetIds: ["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002"] },
    nodePools: [{ name: "general", count: 2, type: "m6i.large" }],
    workers: { strategy: "blue-green", drain: DRAIN, readyTimeoutSeconds: 60 },
});
const web = (count: number) => ({ name: "web", count, type: "g6-standard-4" });
const lkeSelector = (p: { poolId?: string }) => `lke.linode.com/pool-id=${p.poolId}`;

const SCENARIOS: Scenario[] = [
    {
        title: "LKE blue-green",
        before: [lke(OLD, "blue-green", [web(2)])],
        after: [lke(NEW, "blue-green", [web(2)])],
        floor: 2,
        selector: lkeSelector,
    },
    {
        title: "LKE in-place",
        before: [lke(OLD, "in-place", [web(2)])],
        after: [lke(NEW, "in-place", [web(2)])],
        floor: 2,
        selector: lkeSelector,
    },
    {
        // The provider recycles one node at a time: capacity drops by one node, as the plan warns.
        title: "LKE recycle",
        before: [lke(OLD, "recycle", [web(3)])],
        after: [lke(NEW, "recycle", [web(3)])],
        floor: 2,
        selector: lkeSelector,
    },
    {
        title: "EKS node-group swap",
        before: [eks(OLD)],
        after: [eks(NEW)],
        floor: 2,
        selector: (p) => `${EKS_GROUP_LABEL}=${p.poolId}`,
    },
    {
        title: "LKE pool removed and count lowered",
        before: [lke(NEW, "blue-green", [web(3), { name: "batch", count: 2, type: "g6-dedicated-4" }])],
        after: [lke(NEW, "blue-green", [web(2)])],
        floor: 2,
        selector: lkeSelector,
    },
];

type Record_ = { clusters: Record<string, RunningCluster> };

function cmpMinor(a: string, b: string): number {
    return Number(minorOf(a).split(".")[1]) - Number(minorOf(b).split(".")[1]);
}

const labelled = (n: RawNode, selector: string) => {
    const [k, v] = selector.split("=");
    return n.metadata.labels?.[k] === v;
};

/** Checks the world at every change its watches see and after every step; keeps what broke. */
class Invariants {
    violations: string[] = [];
    /** Every pool selector any record has listed; one absent from the record now is claimed gone. */
    private everRecorded = new Set<string>();
    private lostSeen = 0;

    constructor(
        private readonly cloud: RealCloud,
        private readonly watch: WorldWatch,
        private readonly reh: () => Rehearsal,
        private readonly scenario: Scenario,
        private readonly replicas: number,
    ) {}

    private violate(where: string, what: string): void {
        if (this.violations.length < 20) this.violations.push(`${where}: ${what}`);
    }

    check(where: string): void {
        for (const g of this.cloud.lost.slice(this.lostSeen))
            this.violate(where, `node ${g.node} removed while it ran ${g.pods.join(", ")}`);
        this.lostSeen = this.cloud.lost.length;
        const healthy = this.watch.readyPods(APP);
        const promised = this.replicas - PROMISED_MAX_UNAVAILABLE;
        if (healthy < promised) this.violate(where, `budget ${APP}: ${healthy} Ready, ${promised} promised`);
        const schedulable = [...this.watch.nodes.values()].filter(
            (n) => !isAnchor(n) && this.watch.joined.has(n.metadata.name) && !n.spec?.unschedulable,
        ).length;
        if (schedulable < this.scenario.floor)
            this.violate(where, `${schedulable} schedulable worker node(s), below ${this.scenario.floor}`);
        this.checkRecord(where);
    }

    /** What the record claims must be true of the cluster now. */
    private checkRecord(where: string): void {
        const record = this.reh().record as Record_ | undefined;
        if (!record) return;
        const runs = this.cloud.servedMinor;
        const nodes = [...this.watch.nodes.values()];
        for (const cluster of Object.values(record.clusters)) {
            if (cmpMinor(cluster.controlPlaneVersion, runs) > 0)
                this.violate(where, `record claims control plane ${cluster.controlPlaneVersion}; it serves ${runs}`);
            const listed = new Set(cluster.pools.map((p) => this.scenario.selector(p)));
            for (const p of cluster.pools) {
                const sel = this.scenario.selector(p);
                this.everRecorded.add(sel);
                for (const n of nodes.filter((x) => labelled(x, sel))) {
                    const kubelet = n.status?.nodeInfo?.kubeletVersion ?? "";
                    if (cmpMinor(p.version, kubelet) > 0)
                        this.violate(
                            where,
                            `record claims ${p.resourceName} at ${p.version}; ${n.metadata.name} runs ${kubelet}`,
                        );
                }
            }
            for (const sel of this.everRecorded) {
                if (listed.has(sel)) continue;
                for (const n of nodes.filter((x) => labelled(x, sel))) {
                    const pods = this.watch.workloadOn(n.metadata.name);
                    if (pods.length > 0)
                        this.violate(
                            where,
                            `record claims ${sel} gone; ${n.metadata.name} still runs ${pods.join(", ")}`,
                        );
                }
            }
            if (!cluster.upgradeInProgress)
                for (const n of nodes) {
                    const kubelet = n.status?.nodeInfo?.kubeletVersion ?? "";
                    if (
                        this.watch.workloadOn(n.metadata.name).length > 0 &&
                        cmpMinor(cluster.controlPlaneVersion, kubelet) > 0
                    )
                        this.violate(
                            where,
                            `record claims the upgrade to ${cluster.controlPlaneVersion} complete; ${n.metadata.name} (${kubelet}) still runs workloads`,
                        );
                }
        }
    }
}

// ---- control planes: each world has one to itself while it runs ----

const planes = Array.from({ length: PLANES }, (_, i) => new RealCluster(`rehearsal-${i + 1}`));
const free: RealCluster[] = [];
const waiting: Array<(rc: RealCluster) => void> = [];

before(
    async () => {
        await Promise.all(planes.map((p) => p.start()));
        free.push(...planes);
    },
    { timeout: 30 * 60_000 },
);
after(async () => {
    await Promise.all(planes.map((p) => p.stop()));
});

async function onPlane<T>(fn: (rc: RealCluster) => Promise<T>): Promise<T> {
    const rc = free.pop() ?? (await new Promise<RealCluster>((resolve) => waiting.push(resolve)));
    try {
        return await fn(rc);
    } finally {
        const next = waiting.shift();
        if (next) next(rc);
        else free.push(rc);
    }
}

// ---- worlds ----

let worlds = 0;

interface World {
    rc: RealCluster;
    cloud: RealCloud;
    reh: Rehearsal;
    watch: WorldWatch;
    invariants: Invariants;
}

/**
 * A world where the previous deployment has been carried out, with the workload on its worker nodes (one pod per
 * worker, a budget of maxUnavailable 1), followed by watches from then on.
 */
async function world(rc: RealCluster, s: Scenario, first: Capture, port: number): Promise<World> {
    const id = `w${++worlds}`;
    const ns = await rc.namespace(id);
    const cloud = new RealCloud(rc, id, ns, port);
    await cloud.start();
    let invariants: Invariants | undefined;
    const reh = new Rehearsal(cloud, {
        kubectlMinor: KUBECTL_FOR_SERVER,
        scriptEnv: SCRIPT_ENV,
        scriptsDir: process.env.REHEARSAL_SCRIPTS_DIR,
        afterStep: (label) => invariants?.check(label),
    });
    const watch = new WorldWatch(rc, id, ns, (where) => invariants?.check(where));
    try {
        const r = await reh.deploy(first);
        assert.ok(r.ok, `the previous deployment failed at ${r.failedAt}: ${r.error}\n${reh.log.join("\n")}`);
        const nodes = await rc.api.get<{ items: RawNode[] }>(`/api/v1/nodes?labelSelector=test%3D${id}`);
        const workers = nodes.items.filter((n) => !isAnchor(n)).length;
        await rc.deployment(ns, APP, { replicas: workers, nodeSelector: { test: id }, graceSeconds: 2 });
        await rc.pdb(ns, APP, { maxUnavailable: PROMISED_MAX_UNAVAILABLE });
        await rc.waitReady(ns, APP, workers);
        await budgetStatus(rc, ns, APP, (b) => b.disruptionsAllowed === PROMISED_MAX_UNAVAILABLE);
        invariants = new Invariants(cloud, watch, () => reh, s, workers);
        await watch.start();
    } catch (err) {
        // Nothing of a world that could not be set up may stay behind: its stand-ins would keep the process alive
        // and its nodes would be counted by the next world on this control plane.
        watch.cancel();
        await cloud.close();
        throw err;
    }
    return { rc, cloud, reh, watch, invariants };
}

/** Stops the watches and removes the world; returns what went wrong that the invariants could not see. */
async function close(w: World): Promise<string[]> {
    const problems: string[] = [];
    try {
        await w.watch.stop();
        if (w.watch.broken) problems.push(`the world's watch broke, so its invariants are unproven: ${w.watch.broken}`);
        problems.push(...w.cloud.errors().map((e) => `the Linode stand-in: ${e}`));
    } finally {
        w.watch.cancel();
        await w.cloud.close();
    }
    w.rc.assertHealthy();
    return problems;
}

/** The worker nodes' minors and cordons, sorted: what a converged cluster must match. */
async function workerNodes(w: World): Promise<string[]> {
    const list = await w.rc.api.get<{ items: RawNode[] }>(`/api/v1/nodes?labelSelector=test%3D${w.cloud.id}`);
    return list.items
        .filter((n) => !isAnchor(n))
        .map((n) => `${minorOf(n.status?.nodeInfo?.kubeletVersion ?? "")}${n.spec?.unschedulable ? " cordoned" : ""}`)
        .sort();
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

/** Provider resources the rehearsal carries out; a fault elsewhere (roles, add-ons) stops nothing it could observe. */
const CARRIED_OUT = new Set([
    "linode:index/lkeCluster:LkeCluster",
    "linode:index/lkeNodePool:LkeNodePool",
    "aws:eks/cluster:Cluster",
    "aws:eks/nodeGroup:NodeGroup",
]);

/** The faults a step gets: none where it runs nothing a fault could reach (a command deleted without a script). */
function faultsFor(step: Step): FaultKind[] {
    const isCommand = step.resource.type === "command:local:Command";
    if (!isCommand) return CARRIED_OUT.has(step.resource.type) ? ["provider-error"] : [];
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

interface Reference {
    state: string[];
    nodes: string[];
}

/** One cell: the next deployment with a fault, then `pulumi up` again (and once more, to settle) after it clears. */
async function cell(rc: RealCluster, s: Scenario, c: Captures, port: number, fault: Fault, end: Reference) {
    const problems: string[] = [];
    let w: World;
    try {
        w = await world(rc, s, c.first, port);
    } catch (err) {
        return [`the world could not be set up before the fault: ${String((err as Error).message ?? err)}`];
    }
    try {
        const faulted = await w.reh.deploy(c.second, fault);
        if (!faulted.ok && faulted.failedAt !== fault.at)
            problems.push(`failed at ${faulted.failedAt}, not at the fault: ${faulted.error}`);
        const rerun = await w.reh.deploy(goalFor(c, w.reh.record));
        if (!rerun.ok) problems.push(`the re-run failed at ${rerun.failedAt}: ${rerun.error}`);
        // The run after that, from the record the re-run wrote, finishes the deletes if any were left.
        const settle = rerun.ok ? await w.reh.deploy(goalFor(c, w.reh.record)) : undefined;
        if (settle && !settle.ok) problems.push(`the run after the re-run failed at ${settle.failedAt}`);
        if (settle?.ok) {
            if (JSON.stringify(w.reh.record) !== JSON.stringify(c.second.stackOutputs?.k8sUpgrades))
                problems.push("the re-run did not record the new state");
            const state = [...w.reh.state.keys()].sort();
            if (JSON.stringify(state) !== JSON.stringify(end.state))
                problems.push(`state differs from the fault-free end: ${state.join(", ")}`);
            const nodes = await workerNodes(w);
            if (JSON.stringify(nodes) !== JSON.stringify(end.nodes))
                problems.push(`nodes ${nodes.join(", ")}; fault-free: ${end.nodes.join(", ")}`);
        }
    } finally {
        problems.push(...(await close(w)), ...w.invariants.violations);
    }
    if (problems.length > 0) problems.push(`log:\n${w.reh.log.slice(-8).join("\n")}`);
    return problems;
}

interface Clean {
    ok: boolean;
    failure: string;
    violations: string[];
    record: unknown;
    steadyScripts: string[] | undefined;
    executed: Step[];
    end: Reference;
}

/** The deployment without a fault, and the run after it: the reference every cell must converge to. */
async function clean(rc: RealCluster, s: Scenario, c: Captures, port: number): Promise<Clean> {
    const w = await world(rc, s, c.first, port);
    let out: Omit<Clean, "violations">;
    try {
        const run = await w.reh.deploy(c.second);
        const steady = run.ok ? await w.reh.deploy(c.third) : undefined;
        out = {
            ok: run.ok && steady?.ok === true,
            failure: run.ok
                ? `the steady run failed at ${steady?.failedAt}: ${steady?.error}`
                : `failed at ${run.failedAt}: ${run.error}\n${w.reh.log.join("\n")}`,
            record: w.reh.record,
            steadyScripts: steady?.executed.filter((x) => x.script !== undefined).map((x) => x.label),
            executed: run.executed,
            end: { state: [...w.reh.state.keys()].sort(), nodes: await workerNodes(w) },
        };
    } finally {
        const problems = await close(w);
        w.invariants.violations.push(...problems);
    }
    return { ...out, violations: w.invariants.violations };
}

const ONLY = process.env.REHEARSAL_ONLY;
const chosen = SCENARIOS.filter((x) => !ONLY || x.title.includes(ONLY));
// The program runs of every scenario start at once: each is its own process.
const allCaptures = new Map(chosen.map((s) => [s, captures(s)]));

describe("engine-order rehearsal on the real control plane", { concurrency: true }, () => {
    for (const s of chosen) {
        test(`rehearsal: ${s.title}`, async (t) => {
            const c = await allCaptures.get(s)!;
            // Nothing listens there: the api-refused fault points the scripts at it.
            const port = await freePort();
            const base = await onPlane((rc) => clean(rc, s, c, port));

            await t.test(
                "without a fault the deployment succeeds, holds every invariant, and the next run changes nothing",
                () => {
                    assert.ok(base.ok, `${base.failure}\ninvariants broken: ${base.violations.join("\n") || "none"}`);
                    assert.deepEqual(base.violations, []);
                    assert.equal(
                        JSON.stringify(base.record),
                        JSON.stringify(c.second.stackOutputs?.k8sUpgrades),
                        "the record is the new one",
                    );
                    assert.deepEqual(base.steadyScripts, [], "a run after the upgrade runs no script");
                },
            );

            assert.ok(base.ok, "the fault cells need the fault-free run");
            const cells: Fault[] = faultedSteps(base.executed).flatMap((step) =>
                faultsFor(step).map((kind) => ({ at: step.label, kind })),
            );
            const results = new Map<string, string[]>();
            await Promise.all(
                cells.map((fault) =>
                    onPlane(async (rc) => {
                        results.set(`${fault.kind} at ${fault.at}`, await cell(rc, s, c, port, fault, base.end));
                    }),
                ),
            );
            // A fault at each step fails closed, holds every invariant, and a re-run converges.
            for (const f of cells) {
                const name = `${f.kind} at ${f.at}`;
                await t.test(name, () => assert.deepEqual(results.get(name), []));
            }
        });
    }
});
