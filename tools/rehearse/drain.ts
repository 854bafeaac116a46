// The drain of one pool as components/scripts/drain.sh runs it, step for step, on the rehearsal's cluster state:
// the pool's nodes by its label selector, `check_capacity`, `cordon_nodes`, then `drain_in_batches` with
// `drain_node`'s kubectl drain. What kubectl drain does is read from kubernetes/kubernetes
// staging/src/k8s.io/kubectl/pkg/drain (drain.go, filters.go): pods without a controller and pods with emptyDir
// volumes stop it before any eviction; each other pod is evicted in its own goroutine, a 429 is retried after 5 s,
// and the pod's deletion is polled every second (PollImmediate); --timeout bounds the whole node.
import type { DrainSettings } from "../../components/config";
import { capacityProblem, runCapacityCheck } from "./capacity";
import type { ClusterState, SimPod } from "./cluster";
import { labelsMatch, selectorLabels } from "./snapshot";

/** kubectl drain's wait after an eviction refused with 429 (drain.go evictPods). */
export const EVICTION_RETRY_SECONDS = 5;
/** kubectl drain's poll for an evicted pod's deletion (drain.go waitForDelete's interval). */
export const DELETE_POLL_SECONDS = 1;
/**
 * What each kubectl drain spends before its first eviction: starting, reading the node, cordoning it (already
 * cordoned) and listing its pods. Measured against a real control plane (test/real-rehearse.test.ts); an assumption.
 */
export const DRAIN_START_SECONDS = 0.5;

export interface DrainFailure {
    /** What the script says when it stops. */
    message: string;
    kind: "no-nodes" | "capacity" | "bare-pod" | "emptydir" | "budget" | "eviction-error";
    /** The pods still on the nodes, and the budgets that held them back. */
    pods: string[];
    budgets: string[];
}

export interface NodeDrain {
    node: string;
    batch: number;
    start: number;
    end: number;
    evicted: number;
    /** Eviction attempts answered 429, per budget name. */
    refused: Record<string, number>;
    failure?: DrainFailure;
}

export interface PoolDrain {
    selector: string;
    nodes: string[];
    start: number;
    end: number;
    drains: NodeDrain[];
    failure?: DrainFailure;
}

/** node_names_into: the nodes matching the selector, sorted by name as `sort` orders them in the C locale. */
export function poolNodes(state: ClusterState, selector: string): string[] {
    const wanted = selectorLabels(selector);
    return [...state.nodes.values()]
        .filter((n) => labelsMatch(n.labels, wanted))
        .map((n) => n.name)
        .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** cordon.sh: every node of every selector cordoned, all before any drain; a selector matching nothing stops it. */
export function cordonPools(state: ClusterState, selectors: string[]): DrainFailure | undefined {
    for (const selector of selectors) {
        const names = poolNodes(state, selector);
        if (names.length === 0)
            return {
                kind: "no-nodes",
                message: `no nodes match ${selector}: a pool being retired should have nodes. Check the selector and the pool`,
                pods: [],
                budgets: [],
            };
        for (const n of names) state.nodes.get(n)!.cordoned = true;
    }
    return undefined;
}

/** drain.sh for one pool with the stack's drain settings; `floor` is K8SU_MIN_READY_ELSEWHERE. */
export function drainPool(state: ClusterState, selector: string, floor: number, settings: DrainSettings): PoolDrain {
    const start = state.t;
    const names = poolNodes(state, selector);
    const result: PoolDrain = { selector, nodes: names, start, end: start, drains: [] };
    if (names.length === 0) {
        result.failure = {
            kind: "no-nodes",
            message: `no nodes match ${selector}, but the pool should have nodes: the list call succeeded and came back empty`,
            pods: [],
            budgets: [],
        };
        return result;
    }
    const problem = capacityProblem(runCapacityCheck(state.nodesJson(), state.podsJson(), names), floor, names);
    if (problem) {
        result.failure = {
            kind: "capacity",
            message: `${problem}. Nothing was cordoned or drained`,
            pods: [],
            budgets: [],
        };
        return result;
    }
    for (const n of names) state.nodes.get(n)!.cordoned = true;
    drainInBatches(state, names, settings, result);
    result.end = state.t;
    return result;
}

/** drain_in_batches: batches of batchSize drained in parallel, a soak between batches, a failed batch stops it. */
function drainInBatches(state: ClusterState, names: string[], settings: DrainSettings, result: PoolDrain): void {
    for (let start = 0, batch = 1; start < names.length; start += settings.batchSize, batch++) {
        const drains = drainBatch(state, names.slice(start, start + settings.batchSize), batch, settings);
        result.drains.push(...drains);
        const failed = drains.filter((d) => d.failure);
        if (failed.length > 0) {
            result.failure = {
                kind: failed[0].failure!.kind,
                message:
                    `drain did not finish for ${failed.map((d) => d.node).join(" ")}; the nodes stay cordoned and their pool stays in place: ` +
                    failed.map((d) => d.failure!.message).join("; "),
                pods: failed.flatMap((d) => d.failure!.pods),
                budgets: [...new Set(failed.flatMap((d) => d.failure!.budgets))],
            };
            return;
        }
        if (start + settings.batchSize < names.length && settings.soakSeconds > 0)
            state.advance(state.t + settings.soakSeconds);
    }
}

interface Eviction {
    pod: SimPod;
    nextAttempt: number;
    /** When kubectl sees the pod gone. */
    done?: number;
    /** When kubectl gave up on it (its timeout reached). */
    gaveUp?: number;
}

interface Drainer {
    drain: NodeDrain;
    evictions: Eviction[];
    deadline: number;
}

/** The nodes of one batch, each drained by its own kubectl drain, side by side. */
function drainBatch(state: ClusterState, nodes: string[], batch: number, settings: DrainSettings): NodeDrain[] {
    const drainers = nodes.map((node) => startDrain(state, node, batch, settings));
    let open = drainers.filter((d) => !d.drain.failure);
    while (open.length > 0) {
        for (const d of open) step(state, d);
        open = open.filter((d) => !finished(state, d));
        if (open.length === 0) break;
        // kubectl looks at its deadline only at an attempt or a poll, so the deadline itself is no event.
        const next = Math.min(
            state.nextChange(),
            ...open
                .flatMap((d) => d.evictions.map((e) => e.done ?? e.gaveUp ?? e.nextAttempt))
                .filter((x) => x > state.t),
        );
        if (!Number.isFinite(next)) throw new Error(`the rehearsal of ${nodes.join(" ")} stalled at ${state.t}s`);
        state.advance(next);
    }
    return drainers.map((d) => d.drain);
}

function startDrain(state: ClusterState, node: string, batch: number, settings: DrainSettings): Drainer {
    const drain: NodeDrain = { node, batch, start: state.t, end: state.t, evicted: 0, refused: {} };
    const { bare, emptyDir } = state.undrainable(node, settings.deleteEmptyDirData);
    const problems: string[] = [];
    if (bare.length > 0)
        problems.push(`cannot delete Pods that declare no controller: ${bare.map((p) => p.key).join(", ")}`);
    if (emptyDir.length > 0)
        problems.push(`cannot delete Pods with local storage: ${emptyDir.map((p) => p.key).join(", ")}`);
    if (problems.length > 0)
        drain.failure = {
            kind: bare.length > 0 ? "bare-pod" : "emptydir",
            message: `${node}: ${problems.join("; ")}`,
            pods: [...bare, ...emptyDir].map((p) => p.key),
            budgets: [],
        };
    const evictions = state
        .podsOn(node)
        .filter((p) => !p.daemon && !p.mirror && !p.finished)
        .map((pod) => ({ pod, nextAttempt: state.t + DRAIN_START_SECONDS }));
    // kubectl drain's --timeout starts with its evictions (drain.go evictPods), after its start.
    return { drain, evictions, deadline: state.t + DRAIN_START_SECONDS + settings.timeoutSeconds };
}

/**
 * At the current instant: every eviction whose turn has come is tried; a 429 waits EVICTION_RETRY_SECONDS. kubectl
 * looks at its timeout only before an attempt, so a refused pod gives up at its first turn after the deadline.
 */
function step(state: ClusterState, d: Drainer): void {
    for (const e of d.evictions) {
        if (e.done !== undefined || e.gaveUp !== undefined || e.nextAttempt > state.t) continue;
        if (state.t >= d.deadline) {
            e.gaveUp = state.t;
            continue;
        }
        const answer = state.evict(e.pod);
        if ("ok" in answer) {
            d.drain.evicted += 1;
            // The pod is gone a moment after its process exits (the kubelet reports it, the API deletes it), so the
            // poll that sees it gone is the first one after the exit: a whole poll interval later when the exit falls
            // on a poll.
            e.done = state.t + (Math.floor(state.exitSeconds(e.pod) / DELETE_POLL_SECONDS) + 1) * DELETE_POLL_SECONDS;
            // Still terminating at the deadline: the deletion poll gives up at its first look after it.
            if (e.done > d.deadline) [e.done, e.gaveUp] = [undefined, state.t + Math.ceil(d.deadline - state.t)];
        } else if ("refusedBy" in answer) {
            d.drain.refused[answer.refusedBy.name] = (d.drain.refused[answer.refusedBy.name] ?? 0) + 1;
            e.nextAttempt = state.t + EVICTION_RETRY_SECONDS;
        } else {
            d.drain.failure = { kind: "eviction-error", message: answer.error, pods: [e.pod.key], budgets: [] };
            d.drain.end = state.t;
            return;
        }
    }
}

/** kubectl drain returns once every pod's goroutine has: deleted, or given up at the deadline. */
function finished(state: ClusterState, d: Drainer): boolean {
    if (d.drain.failure) return true;
    const ends = d.evictions.map((e) => e.done ?? e.gaveUp);
    if (ends.some((x) => x === undefined || x > state.t)) return false;
    d.drain.end = Math.max(d.drain.start, ...(ends as number[]));
    const stuck = d.evictions.filter((e) => e.gaveUp !== undefined);
    if (stuck.length === 0) return true;
    const budgets = [...new Set(stuck.flatMap((e) => state.budgetsOf(e.pod).map((b) => `${b.namespace}/${b.name}`)))];
    d.drain.failure = {
        kind: "budget",
        message:
            `${d.drain.node}: global timeout of ${d.deadline - d.drain.start - DRAIN_START_SECONDS}s reached with ${stuck.map((e) => e.pod.key).join(", ")} still there` +
            (budgets.length > 0 ? ` (held back by PodDisruptionBudget ${budgets.join(", ")})` : ""),
        pods: stuck.map((e) => e.pod.key),
        budgets,
    };
    return true;
}
