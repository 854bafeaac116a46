// The cluster state the snapshot rehearsal moves forward in time: nodes, pods, budgets, and what the controllers
// and the scheduler do when a pod is evicted. Event-driven: time jumps from one event to the next.
import {
    type Budget,
    controllerOf,
    cpuOf,
    type KubeObject,
    labelsMatch,
    memoryOf,
    nodeReady,
    podReady,
    podRequests,
    type Snapshot,
    taintsOf,
    tolerates,
    usesEmptyDir,
    type Workload,
    workloadKeyOf,
} from "./snapshot";

export interface SimNode {
    name: string;
    raw: KubeObject;
    labels: Record<string, string>;
    ready: boolean;
    cordoned: boolean;
    alloc: { cpu: number; memory: number; pods: number };
}

export interface SimPod {
    key: string;
    raw: KubeObject;
    node?: string;
    workload: string;
    ownerKind?: string;
    /** The replica this pod stands for: a replacement keeps its predecessor's, so evictions add up per replica. */
    replica: string;
    ready: boolean;
    terminating: boolean;
    daemon: boolean;
    mirror: boolean;
    finished: boolean;
    emptyDir: boolean;
    requests: { cpu: number; memory: number };
    grace: number;
    readyAt?: number;
    goneAt?: number;
}

export interface Timing {
    /** How long an evicted pod takes to exit; undefined: its whole grace period (an upper bound). */
    podExitSeconds?: number;
    /** From a replacement's creation to Ready (scheduling, image pull, readiness probe). */
    podReadySeconds: number;
    /** The drain's --grace-period (undefined: each pod's own terminationGracePeriodSeconds). */
    graceSeconds?: number;
}

export interface WorkloadCost {
    workload: Workload | { kind: string; namespace: string; name: string; desired?: number };
    minReady: number;
    secondsBelowDesired: number;
    evictions: number;
}

/** Controllers that create a replacement as soon as their pod is evicted (a StatefulSet waits for it to be gone). */
const REPLACED_AT_ONCE = ["ReplicaSet", "ReplicationController", "Job"];

export class ClusterState {
    t = 0;
    nodes = new Map<string, SimNode>();
    pods: SimPod[] = [];
    readonly budgets: Budget[];
    readonly evictionsPerReplica = new Map<string, number>();
    readonly costs = new Map<string, WorkloadCost>();
    private serial = 0;

    constructor(
        readonly snapshot: Snapshot,
        readonly timing: Timing,
    ) {
        this.budgets = snapshot.budgets;
        for (const n of snapshot.nodes) this.addNode(n);
        for (const p of snapshot.pods) this.pods.push(this.podOf(p));
        for (const [key, w] of snapshot.workloads)
            if (w.desired !== undefined)
                this.costs.set(key, { workload: w, minReady: this.readyOf(key), secondsBelowDesired: 0, evictions: 0 });
    }

    addNode(raw: KubeObject): SimNode {
        const a = (raw.status?.allocatable ?? {}) as Record<string, unknown>;
        const node: SimNode = {
            name: raw.metadata.name,
            raw,
            labels: raw.metadata.labels ?? {},
            ready: nodeReady(raw),
            cordoned: raw.spec?.unschedulable === true,
            alloc: {
                cpu: cpuOf(a.cpu),
                memory: memoryOf(a.memory),
                pods: Number.parseInt(String(a.pods ?? "110"), 10),
            },
        };
        this.nodes.set(node.name, node);
        return node;
    }

    private podOf(raw: KubeObject, replica?: string): SimPod {
        const owner = controllerOf(raw);
        const phase = raw.status?.phase;
        const key = `${raw.metadata.namespace ?? "default"}/${raw.metadata.name}`;
        return {
            key,
            raw,
            node: typeof raw.spec?.nodeName === "string" ? raw.spec.nodeName : undefined,
            workload: workloadKeyOf(this.snapshot, raw),
            ownerKind: owner?.kind,
            replica: replica ?? key,
            ready: podReady(raw) && !raw.metadata.deletionTimestamp,
            terminating: !!raw.metadata.deletionTimestamp,
            daemon: owner?.kind === "DaemonSet",
            mirror: !!raw.metadata.annotations?.["kubernetes.io/config.mirror"],
            finished: phase === "Succeeded" || phase === "Failed",
            emptyDir: usesEmptyDir(raw),
            requests: podRequests(raw),
            grace:
                typeof raw.spec?.terminationGracePeriodSeconds === "number"
                    ? raw.spec.terminationGracePeriodSeconds
                    : 30,
        };
    }

    /** A copy of a pod (a DaemonSet's) on another node, Ready, when that node's taints and labels let it run there. */
    placeCopy(pod: SimPod, node: string): void {
        const target = this.nodes.get(node)!;
        if (!taintsOf(target.raw).every((t) => tolerates(pod.raw, t))) return;
        if (!labelsMatch(target.labels, (pod.raw.spec?.nodeSelector ?? {}) as Record<string, string>)) return;
        const owner = controllerOf(pod.raw)?.name ?? pod.raw.metadata.name;
        const raw: KubeObject = {
            ...pod.raw,
            metadata: { ...pod.raw.metadata, name: `${owner}-${node}` },
            spec: { ...pod.raw.spec, nodeName: node },
        };
        this.pods.push(this.podOf(raw));
    }

    podsOn(node: string): SimPod[] {
        return this.pods.filter((p) => p.node === node);
    }

    readyOf(workload: string): number {
        return this.pods.filter((p) => p.workload === workload && p.ready && !p.terminating).length;
    }

    /** The budgets that guard a pod: same namespace, selector matching its labels. */
    budgetsOf(pod: SimPod): Budget[] {
        const ns = pod.raw.metadata.namespace ?? "default";
        return this.budgets.filter(
            (b) => b.namespace === ns && labelsMatch(pod.raw.metadata.labels ?? {}, b.matchLabels),
        );
    }

    /** As the disruption controller computes it: healthy pods against the desired healthy count. */
    budgetStatus(b: Budget): { expected: number; healthy: number; desiredHealthy: number; allowed: number } {
        const matching = this.pods.filter(
            (p) =>
                (p.raw.metadata.namespace ?? "default") === b.namespace &&
                labelsMatch(p.raw.metadata.labels ?? {}, b.matchLabels),
        );
        const healthy = matching.filter((p) => p.ready && !p.terminating).length;
        const scale = [...this.snapshot.workloads.values()]
            .filter(
                (w) =>
                    w.namespace === b.namespace && w.desired !== undefined && labelsMatch(w.podLabels, b.matchLabels),
            )
            .reduce((n, w) => n + (w.desired ?? 0), 0);
        const byPods = typeof b.minAvailable === "number";
        const expected = byPods || scale === 0 ? matching.filter((p) => !p.finished).length : scale;
        const scaled = (v: number | string) =>
            typeof v === "number" ? v : Math.ceil((Number.parseFloat(v) * expected) / 100);
        const desiredHealthy =
            b.minAvailable !== undefined
                ? scaled(b.minAvailable)
                : Math.max(0, expected - scaled(b.maxUnavailable ?? 0));
        return { expected, healthy, desiredHealthy, allowed: Math.max(0, healthy - desiredHealthy) };
    }

    /** The eviction API: refused (429) when the pod's budget allows no disruption; an error with two budgets. */
    evict(pod: SimPod): { ok: true } | { refusedBy: Budget } | { error: string } {
        if (pod.terminating) return { ok: true };
        const budgets = this.budgetsOf(pod);
        if (budgets.length > 1)
            return {
                error: `${pod.key} has more than one PodDisruptionBudget (${budgets.map((b) => b.name).join(", ")}), which the eviction API refuses`,
            };
        if (budgets.length === 1 && pod.ready && this.budgetStatus(budgets[0]).allowed < 1)
            return { refusedBy: budgets[0] };
        pod.terminating = true;
        pod.ready = false;
        pod.goneAt = this.t + this.exitSeconds(pod);
        this.evictionsPerReplica.set(pod.replica, (this.evictionsPerReplica.get(pod.replica) ?? 0) + 1);
        const cost = this.costs.get(pod.workload);
        if (cost) cost.evictions += 1;
        if (REPLACED_AT_ONCE.includes(pod.ownerKind ?? "")) this.replace(pod);
        this.settle();
        return { ok: true };
    }

    exitSeconds(pod: SimPod): number {
        const grace = this.timing.graceSeconds ?? pod.grace;
        return Math.min(grace, this.timing.podExitSeconds ?? grace);
    }

    private replace(pod: SimPod): void {
        this.serial += 1;
        const raw: KubeObject = {
            ...pod.raw,
            metadata: { ...pod.raw.metadata, name: `${pod.raw.metadata.name}-r${this.serial}` },
            spec: { ...pod.raw.spec, nodeName: undefined },
            status: { phase: "Pending", conditions: [] },
        };
        if (pod.ownerKind === "StatefulSet") raw.metadata.name = pod.raw.metadata.name;
        const replacement = this.podOf(raw, pod.replica);
        this.pods.push(replacement);
    }

    /** The scheduler: each pending pod onto the feasible node with the most room left (least allocated). */
    private schedule(): void {
        for (const pod of this.pods.filter((p) => !p.node && !p.finished)) {
            const candidates = [...this.nodes.values()]
                .filter((n) => this.fits(pod, n))
                .map((n) => ({ n, score: this.freeShare(n) }))
                .sort((a, b) => b.score - a.score || a.n.name.localeCompare(b.n.name));
            if (candidates.length === 0) continue;
            pod.node = candidates[0].n.name;
            pod.readyAt = this.t + this.timing.podReadySeconds;
            pod.raw = { ...pod.raw, spec: { ...pod.raw.spec, nodeName: pod.node }, status: { phase: "Running" } };
        }
    }

    fits(pod: SimPod, n: SimNode): boolean {
        if (!n.ready || n.cordoned) return false;
        if (!taintsOf(n.raw).every((t) => tolerates(pod.raw, t))) return false;
        if (!labelsMatch(n.labels, (pod.raw.spec?.nodeSelector ?? {}) as Record<string, string>)) return false;
        const used = this.usedOn(n.name);
        return (
            used.cpu + pod.requests.cpu <= n.alloc.cpu &&
            used.memory + pod.requests.memory <= n.alloc.memory &&
            used.pods + 1 <= n.alloc.pods
        );
    }

    usedOn(node: string): { cpu: number; memory: number; pods: number } {
        return this.podsOn(node)
            .filter((p) => !p.finished)
            .reduce(
                (u, p) => ({ cpu: u.cpu + p.requests.cpu, memory: u.memory + p.requests.memory, pods: u.pods + 1 }),
                {
                    cpu: 0,
                    memory: 0,
                    pods: 0,
                },
            );
    }

    private freeShare(n: SimNode): number {
        const u = this.usedOn(n.name);
        return (
            (n.alloc.cpu - u.cpu) / Math.max(1, n.alloc.cpu) + (n.alloc.memory - u.memory) / Math.max(1, n.alloc.memory)
        );
    }

    /** What happens at the current instant: pods gone, replacements placed and Ready. */
    private settle(): void {
        for (const pod of this.pods.filter((p) => p.goneAt !== undefined && p.goneAt <= this.t)) {
            this.pods.splice(this.pods.indexOf(pod), 1);
            if (pod.ownerKind === "StatefulSet") this.replace(pod);
        }
        this.schedule();
        for (const pod of this.pods)
            if (pod.readyAt !== undefined && pod.readyAt <= this.t && !pod.ready && !pod.terminating) {
                pod.ready = true;
                pod.raw = { ...pod.raw, status: { phase: "Running", conditions: [{ type: "Ready", status: "True" }] } };
            }
        for (const [key, cost] of this.costs) cost.minReady = Math.min(cost.minReady, this.readyOf(key));
    }

    /** The next instant something changes by itself (a pod gone, a replacement Ready), after now. */
    nextChange(): number {
        const times = this.pods.flatMap((p) => [p.goneAt, p.ready ? undefined : p.readyAt]);
        return Math.min(...times.filter((x): x is number => x !== undefined && x > this.t));
    }

    /** Moves time forward to `until`, event by event, counting the time each workload runs below desired. */
    advance(until: number): void {
        while (this.t < until) {
            const next = Math.min(until, this.nextChange());
            for (const [key, cost] of this.costs)
                if (this.readyOf(key) < (cost.workload.desired ?? 0)) cost.secondsBelowDesired += next - this.t;
            this.t = next;
            this.settle();
        }
    }

    /**
     * The state as `kubectl get nodes -o json` and `kubectl get pods -A -o json` would show it now: in the API
     * server's order (by namespace and name), which decides the order of the capacity check's first-fit.
     */
    nodesJson(): KubeObject[] {
        return [...this.nodes.values()]
            .sort((a, b) => byName(a.name, b.name))
            .map((n) => ({
                ...n.raw,
                spec: { ...n.raw.spec, unschedulable: n.cordoned || undefined },
            }));
    }

    podsJson(): KubeObject[] {
        return [...this.pods]
            .sort((a, b) => byName(a.key, b.key))
            .map((p) => ({
                ...p.raw,
                metadata: { ...p.raw.metadata, deletionTimestamp: p.terminating ? "1970-01-01T00:00:00Z" : undefined },
            }));
    }

    /** Whether a node holds pods a plain `kubectl drain` would refuse to remove (no --force, the emptyDir flag). */
    undrainable(node: string, deleteEmptyDirData: boolean): { bare: SimPod[]; emptyDir: SimPod[] } {
        const movable = this.podsOn(node).filter((p) => !p.daemon && !p.mirror && !p.finished);
        return {
            bare: movable.filter((p) => !p.ownerKind),
            emptyDir: deleteEmptyDirData ? [] : movable.filter((p) => p.emptyDir),
        };
    }
}

/** Byte order, as the API server lists objects (its storage keys are namespace/name). */
function byName(a: string, b: string): number {
    return a < b ? -1 : a > b ? 1 : 0;
}
