// What the rehearsal tells the reviewer: the blockers found in the snapshot and on the way, the cost to each
// workload, the time per phase and the surplus capacity, from one worker-phase rehearsal.
import type { ClusterPlan } from "../../components/plan";
import { ClusterState } from "./cluster";
import { poolNodes } from "./drain";
import type { Snapshot } from "./snapshot";
import {
    type PhaseTime,
    type RehearsalTiming,
    recordedSelector,
    rehearsable,
    type WorkerRehearsal,
} from "./worker-phase";

export interface Blocker {
    kind: "budget" | "bare-pod" | "emptydir" | "capacity" | "no-nodes" | "eviction-error";
    text: string;
}

export interface WorkloadRow {
    workload: string;
    desired?: number;
    minReady: number;
    /** The budget guarding it: its name and the healthy pods it requires. */
    budget?: string;
    evictions: number;
    maxEvictionsPerReplica: number;
    secondsBelowDesired: number;
}

export interface Findings {
    wouldFail: boolean;
    /**
     * Nothing found would fail, but part of the worker phase was not rehearsed (notRehearsed): no verdict of
     * "would pass" can be given.
     */
    incomplete: boolean;
    /** Where the rehearsed run stops, with what the script would say. */
    failure?: { phase: string; message: string };
    /** What the snapshot itself shows would stop a drain, on every pool to be drained. */
    blockers: Blocker[];
    phases: PhaseTime[];
    totalSeconds: number;
    workloads: WorkloadRow[];
    evictions: number;
    surplus: {
        blueGreenNodeHours: number;
        newNodes: number;
        hours: number;
        inPlaceNodeHours?: number;
        retained: boolean;
    };
    notRehearsed: string[];
}

/** The pods a drain step of this plan would move, with the nodes they sit on, in the snapshot as taken. */
function nodesToDrain(plan: ClusterPlan, state: ClusterState): string[] {
    if (!rehearsable(plan)) return [];
    const pools = [...plan.pools.flatMap((p) => (p.blue ? [p.blue] : [])), ...plan.retired.map((r) => r.pool)];
    return pools.flatMap((pool) => poolNodes(state, recordedSelector(plan, pool)));
}

/** Blockers visible in the snapshot itself, on every pool to be drained (the rehearsal stops at the first). */
export function snapshotBlockers(plan: ClusterPlan, snapshot: Snapshot): Blocker[] {
    const state = new ClusterState(snapshot, { podReadySeconds: 0 });
    const blockers: Blocker[] = [];
    const guarded = new Map<string, Set<string>>();
    for (const node of nodesToDrain(plan, state)) {
        const { bare, emptyDir } = state.undrainable(node, plan.cluster.workers.drain.deleteEmptyDirData);
        for (const p of bare)
            blockers.push({
                kind: "bare-pod",
                text: `${p.key} on ${node} has no controller: kubectl drain refuses it (no --force); give it a Deployment or move it first`,
            });
        for (const p of emptyDir)
            blockers.push({
                kind: "emptydir",
                text: `${p.key} on ${node} uses an emptyDir volume and workers.drain.deleteEmptyDirData is false: kubectl drain refuses it`,
            });
        for (const p of state.podsOn(node).filter((p) => !p.daemon && !p.mirror && !p.finished))
            for (const b of state.budgetsOf(p)) {
                const key = `${b.namespace}/${b.name}`;
                guarded.set(key, (guarded.get(key) ?? new Set()).add(p.workload));
            }
    }
    for (const b of snapshot.budgets) {
        const key = `${b.namespace}/${b.name}`;
        const workloads = guarded.get(key);
        if (!workloads) continue;
        const s = state.budgetStatus(b);
        if (s.allowed > 0) continue;
        const rule =
            b.minAvailable !== undefined ? `minAvailable ${b.minAvailable}` : `maxUnavailable ${b.maxUnavailable}`;
        blockers.push({
            kind: "budget",
            text: `PodDisruptionBudget ${key} (${rule}) allows no disruption: ${s.healthy} healthy of ${s.expected}, ${s.desiredHealthy} required; it guards ${[...workloads].join(", ")}`,
        });
    }
    return blockers;
}

export function findings(
    plan: ClusterPlan,
    snapshot: Snapshot,
    run: WorkerRehearsal,
    timing: RehearsalTiming,
): Findings {
    const blockers = snapshotBlockers(plan, snapshot);
    const totalSeconds = run.phases.reduce((n, p) => n + p.seconds, 0);
    const hours = run.state.t / 3600;
    const wouldFail = run.failure !== undefined || blockers.length > 0;
    return {
        wouldFail,
        incomplete: !wouldFail && run.notRehearsed.length > 0,
        failure: run.failure
            ? {
                  phase: run.failure.phase,
                  message: run.failure.kind === "capacity" ? withShortfall(run.failure.message) : run.failure.message,
              }
            : undefined,
        blockers,
        phases: run.phases,
        totalSeconds,
        workloads: workloadRows(run.state, snapshot),
        evictions: [...run.state.evictionsPerReplica.values()].reduce((a, b) => a + b, 0),
        surplus: {
            newNodes: run.addedNodes.length,
            hours,
            blueGreenNodeHours: run.surplusNodeSeconds / 3600,
            inPlaceNodeHours: inPlaceEstimate(plan, run, timing),
            retained: plan.pools.some((p) => p.blue && p.retainBlue),
        },
        notRehearsed: run.notRehearsed,
    };
}

/**
 * The capacity check names the pods that fit nowhere with their requests (the first eight); their sum is what the
 * cluster lacks on the nodes those pods may use, whatever the free room elsewhere.
 */
export function withShortfall(message: string): string {
    const pods = [...message.matchAll(/ [a-z0-9-]+\/[a-z0-9.-]+ \((\d+)m, (\d+)Mi\)/g)];
    if (pods.length === 0) return message;
    const cpu = pods.reduce((n, m) => n + Number(m[1]), 0);
    const memory = pods.reduce((n, m) => n + Number(m[2]), 0);
    const atLeast = message.includes(", ...") ? "at least " : "";
    return `${message}; short by ${atLeast}${cpu}m CPU and ${memory}Mi memory on nodes those pods can run on`;
}

function workloadRows(state: ClusterState, snapshot: Snapshot): WorkloadRow[] {
    const replicaOf = new Map<string, string>();
    for (const p of snapshot.pods) {
        const key = `${p.metadata.namespace ?? "default"}/${p.metadata.name}`;
        replicaOf.set(key, state.pods.find((s) => s.replica === key)?.workload ?? "");
    }
    const rows: WorkloadRow[] = [];
    for (const [key, cost] of state.costs) {
        if (cost.evictions === 0 && cost.minReady >= (cost.workload.desired ?? 0)) continue;
        const perReplica = [...state.evictionsPerReplica].filter(([r]) => replicaOf.get(r) === key).map(([, n]) => n);
        const budget = state.budgets.find(
            (b) =>
                b.namespace === cost.workload.namespace &&
                state.pods.some((p) => p.workload === key && state.budgetsOf(p).includes(b)),
        );
        rows.push({
            workload: key,
            desired: cost.workload.desired,
            minReady: cost.minReady,
            budget: budget ? `${budget.name} (≥ ${state.budgetStatus(budget).desiredHealthy})` : undefined,
            evictions: cost.evictions,
            maxEvictionsPerReplica: Math.max(0, ...perReplica),
            secondsBelowDesired: cost.secondsBelowDesired,
        });
    }
    return rows.sort((a, b) => a.workload.localeCompare(b.workload));
}

/**
 * The same pools moved in place instead, as lke-in-place.sh does it: one surge node per pool, then node by node
 * a drain (as long as this rehearsal's average for the pool) and a replacement becoming Ready.
 */
function inPlaceEstimate(plan: ClusterPlan, run: WorkerRehearsal, timing: RehearsalTiming): number | undefined {
    const blues = plan.pools.filter((p) => p.blue);
    if (blues.length === 0 || run.failure) return undefined;
    let seconds = 0;
    for (const p of blues) {
        const drains = run.drains.find((d) => d.selector === recordedSelector(plan, p.blue!))?.drains ?? [];
        const average = drains.length > 0 ? drains.reduce((n, d) => n + d.end - d.start, 0) / drains.length : 0;
        seconds += timing.nodeReadySeconds + p.blue!.count * (average + timing.nodeReadySeconds);
    }
    return seconds / 3600;
}
