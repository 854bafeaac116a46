// The worker phase of one cluster's plan, rehearsed on a snapshot in the order components/workers.ts
// (carryOutWorkers) gives its steps: new pools created and Ready; every blue pool cordoned at once (cordon.sh);
// each blue pool drained (drain.sh, floor: its count), one after another; then each pool leaving the program
// drained (drain.sh, floor: its count). The first failed step stops the rest, as it stops `pulumi up`.
import type { ClusterPlan, PoolPlan } from "../../components/plan";
import type { RunningPool } from "../../components/running";
import { ClusterState, type Timing } from "./cluster";
import { cordonPools, type DrainFailure, drainPool, type PoolDrain, poolNodes } from "./drain";
import type { KubeObject, Snapshot } from "./snapshot";

export interface PhaseTime {
    phase: string;
    seconds: number;
    /** Assumed rather than rehearsed (a provider's node creation). */
    assumed?: boolean;
}

export interface WorkerRehearsal {
    phases: PhaseTime[];
    drains: PoolDrain[];
    failure?: DrainFailure & { phase: string };
    /** Pools whose move the rehearsal does not model, and why. */
    notRehearsed: string[];
    /** The nodes the plan adds (green and new pools), as the rehearsal built them. */
    addedNodes: KubeObject[];
    /** The cluster as the first drain found it (for comparing with the real script). */
    atFirstDrain?: { nodes: KubeObject[]; pods: KubeObject[] };
    /** Node-seconds of capacity beside the old pools: new nodes from their creation to the end of the phase. */
    surplusNodeSeconds: number;
    state: ClusterState;
}

export interface RehearsalTiming extends Omit<Timing, "graceSeconds"> {
    /** From a pool's creation to its nodes Ready (the provider's time, not in any snapshot). */
    nodeReadySeconds: number;
}

/**
 * The label selector the provider's adapter records for a pool, which the drain and cordon steps are given:
 * components/lke/cluster.ts and components/eks/cluster.ts, `recordedSelector`.
 */
export function recordedSelector(plan: ClusterPlan, pool: RunningPool): string {
    if (!pool.poolId)
        throw new Error(
            `cluster ${plan.cluster.name}: the running record has no pool id for pool ${pool.resourceName}, so its nodes cannot be found; run 'pulumi up' once so the record carries it`,
        );
    if (plan.cluster.provider === "lke") return `lke.linode.com/pool-id=${pool.poolId}`;
    if (plan.cluster.provider === "eks") return `eks.amazonaws.com/nodegroup=${pool.poolId}`;
    throw new Error(`cluster ${plan.cluster.name}: provider ${plan.cluster.provider} is not rehearsed`);
}

/** Where a provider puts a pool's identity on its nodes. */
const POOL_LABEL: Record<string, string> = { lke: "lke.linode.com/pool-id", eks: "eks.amazonaws.com/nodegroup" };
const TYPE_LABEL = "node.kubernetes.io/instance-type";

/** Whether the rehearsal models this cluster's worker phase (the providers whose pools the drain script moves). */
export function rehearsable(plan: ClusterPlan): boolean {
    return plan.cluster.provider in POOL_LABEL;
}

export function rehearseWorkers(plan: ClusterPlan, snapshot: Snapshot, timing: RehearsalTiming): WorkerRehearsal {
    const drainSettings = plan.cluster.workers.drain;
    const state = new ClusterState(snapshot, { ...timing, graceSeconds: drainSettings.gracePeriodSeconds });
    const out: WorkerRehearsal = {
        phases: [],
        drains: [],
        notRehearsed: [],
        addedNodes: [],
        surplusNodeSeconds: 0,
        state,
    };
    if (!rehearsable(plan)) {
        out.notRehearsed.push(
            `cluster ${plan.cluster.name} (${plan.cluster.provider}): its workers are moved by the provider's own steps, which the rehearsal does not model yet`,
        );
        return out;
    }
    for (const p of plan.pools.filter((p) => p.action === "in-place" || p.action === "recycle" || p.shrink))
        out.notRehearsed.push(
            `pool ${p.name} (${p.shrink ? "a lower count" : p.action}): moved by ${plan.cluster.provider === "lke" ? "lke-in-place.sh / lke-recycle-pool.sh / lke-shrink-pool.sh" : "the provider's managed update"}, which the rehearsal does not model yet`,
        );
    const created = plan.pools.filter((p) => p.action === "blue-green" || p.action === "create");
    for (const p of created) out.addedNodes.push(...newPoolNodes(plan, p, state));
    if (created.length > 0)
        out.phases.push({ phase: "new pools created and Ready", seconds: timing.nodeReadySeconds, assumed: true });
    state.t = created.length > 0 ? timing.nodeReadySeconds : 0;
    drainOldPools(plan, state, out);
    out.surplusNodeSeconds = out.addedNodes.length * state.t;
    return out;
}

function drainOldPools(plan: ClusterPlan, state: ClusterState, out: WorkerRehearsal): void {
    const blues = plan.pools.filter((p) => p.blue);
    const steps: Array<{ phase: string; selector: string; floor: number }> = [
        ...blues.map((p) => ({
            phase: `drain ${p.blue!.resourceName}`,
            selector: recordedSelector(plan, p.blue!),
            floor: p.blue!.count,
        })),
        ...plan.retired.map((r) => ({
            phase: `drain ${r.pool.resourceName} (${r.reason})`,
            selector: recordedSelector(plan, r.pool),
            floor: r.pool.count,
        })),
    ];
    if (blues.length > 0) {
        const failure = cordonPools(
            state,
            blues.map((p) => recordedSelector(plan, p.blue!)),
        );
        out.phases.push({ phase: "cordon the old pools", seconds: 0 });
        if (failure) {
            out.failure = { ...failure, phase: "cordon the old pools" };
            return;
        }
    }
    for (const s of steps) {
        out.atFirstDrain ??= { nodes: state.nodesJson(), pods: state.podsJson() };
        const drain = drainPool(state, s.selector, s.floor, plan.cluster.workers.drain);
        out.drains.push(drain);
        out.phases.push({ phase: s.phase, seconds: drain.end - drain.start });
        if (drain.failure) {
            out.failure = { ...drain.failure, phase: s.phase };
            return;
        }
    }
}

/**
 * The nodes a new pool brings, built from a node of the pool it replaces (same type: same allocatable), or else
 * from any node of the snapshot with the new type; its DaemonSets' pods land on it as on the others.
 */
function newPoolNodes(plan: ClusterPlan, p: PoolPlan, state: ClusterState): KubeObject[] {
    const provider = plan.cluster.provider;
    const fromBlue = p.blue && p.blue.type === p.config.type ? poolNodes(state, recordedSelector(plan, p.blue)) : [];
    const template =
        state.nodes.get(fromBlue[0] ?? "")?.raw ??
        [...state.nodes.values()].find((n) => n.labels[TYPE_LABEL] === p.config.type)?.raw;
    if (!template)
        throw new Error(
            `cluster ${plan.cluster.name}, pool ${p.name}: no node of type ${p.config.type} in the snapshot to take its allocatable CPU and memory from (label ${TYPE_LABEL})`,
        );
    const nodes: KubeObject[] = [];
    for (let i = 1; i <= p.config.count; i++) {
        const name = `${p.resourceName}-new-${i}`;
        const labels: Record<string, string> = {
            ...template.metadata.labels,
            ...p.config.labels,
            [POOL_LABEL[provider]]: `${p.resourceName}-new`,
            [TYPE_LABEL]: p.config.type,
            "kubernetes.io/hostname": name,
        };
        if (provider === "lke") labels["k8s-upgrades/pool"] = p.name;
        const raw: KubeObject = {
            ...template,
            metadata: { name, labels },
            spec: { taints: p.config.taints.map((t) => ({ ...t })) },
            status: { ...template.status, conditions: [{ type: "Ready", status: "True" }] },
        };
        state.addNode(raw);
        addDaemonPods(state, raw);
        nodes.push(raw);
    }
    return nodes;
}

/** One pod of every DaemonSet of the snapshot on a new node, as its controller would place it. */
function addDaemonPods(state: ClusterState, node: KubeObject): void {
    const seen = new Set<string>();
    for (const pod of state.pods.filter((p) => p.daemon && p.node && p.node !== node.metadata.name)) {
        if (seen.has(pod.workload)) continue;
        seen.add(pod.workload);
        state.placeCopy(pod, node.metadata.name);
    }
}
