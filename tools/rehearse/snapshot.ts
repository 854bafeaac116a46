// A snapshot of a live cluster as `kubectl get nodes,pods,poddisruptionbudgets,daemonsets,replicasets,statefulsets,
// deployments -A -o json` writes it (one List), read into what the snapshot rehearsal needs. The raw objects are
// kept: the capacity check of components/scripts/lib.sh runs on them as the drain script would fetch them.

/** A Kubernetes object as JSON; only the fields read here are named. */
export interface KubeObject {
    apiVersion?: string;
    kind?: string;
    metadata: {
        name: string;
        namespace?: string;
        labels?: Record<string, string>;
        annotations?: Record<string, string>;
        ownerReferences?: Array<{ kind: string; name: string; controller?: boolean }>;
        deletionTimestamp?: string;
    };
    spec?: Record<string, unknown>;
    status?: Record<string, unknown>;
}

export interface Taint {
    key: string;
    value?: string;
    effect: string;
}
export interface Toleration {
    key?: string;
    operator?: string;
    value?: string;
    effect?: string;
}

/** A PodDisruptionBudget: its matchLabels and one of minAvailable / maxUnavailable (a number or "N%"). */
export interface Budget {
    namespace: string;
    name: string;
    matchLabels: Record<string, string>;
    minAvailable?: number | string;
    maxUnavailable?: number | string;
}

/** What owns a pod at the top: a Deployment (through its ReplicaSet), StatefulSet, DaemonSet, Job, or nothing. */
export interface Workload {
    kind: string;
    namespace: string;
    name: string;
    /** The controller's spec.replicas (undefined for DaemonSets, Jobs, bare pods). */
    desired?: number;
    /** The labels its pods carry (from the pod template), to match budgets as the disruption controller does. */
    podLabels: Record<string, string>;
}

export interface Snapshot {
    nodes: KubeObject[];
    pods: KubeObject[];
    budgets: Budget[];
    /** "kind namespace/name" → workload. */
    workloads: Map<string, Workload>;
    /** ReplicaSet "namespace/name" → its owning Deployment's name, when it has one. */
    replicaSetOwner: Map<string, string>;
}

export class SnapshotError extends Error {}

const KINDS = ["Node", "Pod", "PodDisruptionBudget", "DaemonSet", "ReplicaSet", "StatefulSet", "Deployment"];
export const SNAPSHOT_COMMAND =
    "kubectl get nodes,pods,poddisruptionbudgets,daemonsets,replicasets,statefulsets,deployments -A -o json";

export function parseSnapshot(text: string, file: string): Snapshot {
    let doc: { kind?: string; items?: unknown };
    try {
        doc = JSON.parse(text);
    } catch (err) {
        throw new SnapshotError(`${file}: not JSON (${(err as Error).message}); write it with: ${SNAPSHOT_COMMAND}`);
    }
    if (!doc || !Array.isArray(doc.items))
        throw new SnapshotError(`${file}: not a kubectl List (no items); write it with: ${SNAPSHOT_COMMAND}`);
    const items = doc.items as KubeObject[];
    for (const [i, item] of items.entries()) {
        if (!item?.metadata?.name || !KINDS.includes(item.kind ?? ""))
            throw new SnapshotError(
                `${file}: items[${i}] is ${item?.kind ?? "an object without kind"} ${item?.metadata?.name ?? ""}; ` +
                    `a snapshot holds ${KINDS.join(", ")} (${SNAPSHOT_COMMAND})`,
            );
    }
    const of = (kind: string) => items.filter((i) => i.kind === kind);
    const nodes = of("Node");
    if (nodes.length === 0) throw new SnapshotError(`${file}: no nodes; write it with: ${SNAPSHOT_COMMAND}`);
    const replicaSetOwner = new Map<string, string>();
    const workloads = new Map<string, Workload>();
    for (const o of [...of("Deployment"), ...of("StatefulSet"), ...of("DaemonSet"), ...of("ReplicaSet")]) {
        const ns = o.metadata.namespace ?? "default";
        const owner = controllerOf(o);
        if (o.kind === "ReplicaSet" && owner?.kind === "Deployment") {
            replicaSetOwner.set(`${ns}/${o.metadata.name}`, owner.name);
            continue;
        }
        const template = (o.spec?.template ?? {}) as { metadata?: { labels?: Record<string, string> } };
        const replicas = o.spec?.replicas;
        workloads.set(`${o.kind} ${ns}/${o.metadata.name}`, {
            kind: o.kind!,
            namespace: ns,
            name: o.metadata.name,
            desired: o.kind === "DaemonSet" ? undefined : typeof replicas === "number" ? replicas : 1,
            podLabels: template.metadata?.labels ?? {},
        });
    }
    return {
        nodes,
        pods: of("Pod"),
        budgets: of("PodDisruptionBudget").map((b) => budgetOf(b, file)),
        workloads,
        replicaSetOwner,
    };
}

function budgetOf(o: KubeObject, file: string): Budget {
    const spec = (o.spec ?? {}) as {
        selector?: { matchLabels?: Record<string, string>; matchExpressions?: unknown[] };
        minAvailable?: number | string;
        maxUnavailable?: number | string;
    };
    const where = `${file}: PodDisruptionBudget ${o.metadata.namespace}/${o.metadata.name}`;
    if ((spec.selector?.matchExpressions ?? []).length > 0)
        throw new SnapshotError(`${where} selects with matchExpressions, which the rehearsal does not read yet`);
    if ((spec.minAvailable === undefined) === (spec.maxUnavailable === undefined))
        throw new SnapshotError(`${where} needs exactly one of minAvailable and maxUnavailable`);
    return {
        namespace: o.metadata.namespace ?? "default",
        name: o.metadata.name,
        matchLabels: spec.selector?.matchLabels ?? {},
        minAvailable: spec.minAvailable,
        maxUnavailable: spec.maxUnavailable,
    };
}

export function controllerOf(o: KubeObject): { kind: string; name: string } | undefined {
    return (o.metadata.ownerReferences ?? []).find((r) => r.controller !== false);
}

/** The workload a pod belongs to, as a key of Snapshot.workloads ("Pod ns/name" for a bare pod). */
export function workloadKeyOf(snapshot: Snapshot, pod: KubeObject): string {
    const ns = pod.metadata.namespace ?? "default";
    const owner = controllerOf(pod);
    if (!owner) return `Pod ${ns}/${pod.metadata.name}`;
    if (owner.kind === "ReplicaSet") {
        const deployment = snapshot.replicaSetOwner.get(`${ns}/${owner.name}`);
        if (deployment) return `Deployment ${ns}/${deployment}`;
    }
    return `${owner.kind} ${ns}/${owner.name}`;
}

export function labelsMatch(labels: Record<string, string>, selector: Record<string, string>): boolean {
    return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

/** Parses a label selector of the form the scripts pass to `kubectl -l` (k=v, comma-separated). */
export function selectorLabels(selector: string): Record<string, string> {
    const out: Record<string, string> = {};
    for (const part of selector.split(",")) {
        const m = /^\s*([^=!\s]+)\s*==?\s*([^\s]*)\s*$/.exec(part);
        if (!m) throw new Error(`the selector ${selector} is not a list of key=value`);
        out[m[1]] = m[2];
    }
    return out;
}

// Quantities, read the way the capacity check of components/scripts/lib.sh reads them.
const UNITS: Record<string, number> = {
    "": 1,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
    P: 1e15,
    E: 1e18,
    Ki: 2 ** 10,
    Mi: 2 ** 20,
    Gi: 2 ** 30,
    Ti: 2 ** 40,
    Pi: 2 ** 50,
    Ei: 2 ** 60,
};
/** CPU in millicores. */
export function cpuOf(q: unknown): number {
    if (q === undefined || q === null) return 0;
    const s = String(q);
    return s.endsWith("m") ? Number.parseFloat(s) : Number.parseFloat(s) * 1000;
}
/** Memory in bytes. */
export function memoryOf(q: unknown): number {
    if (q === undefined || q === null) return 0;
    const m = /^([0-9.]+(?:e[0-9]+)?)([A-Za-z]*)$/.exec(String(q));
    if (!m || !(m[2] in UNITS)) throw new SnapshotError(`unreadable quantity ${String(q)}`);
    return Number.parseFloat(m[1]) * UNITS[m[2]];
}

interface Container {
    resources?: { requests?: { cpu?: unknown; memory?: unknown } };
}
/** A pod's requests as the scheduler counts them: the containers' sum or the largest init container, plus overhead. */
export function podRequests(pod: KubeObject): { cpu: number; memory: number } {
    const spec = (pod.spec ?? {}) as {
        containers?: Container[];
        initContainers?: Container[];
        overhead?: { cpu?: unknown; memory?: unknown };
    };
    const one = (c: Container) => ({
        cpu: cpuOf(c.resources?.requests?.cpu),
        memory: memoryOf(c.resources?.requests?.memory),
    });
    const main = (spec.containers ?? [])
        .map(one)
        .reduce((a, b) => ({ cpu: a.cpu + b.cpu, memory: a.memory + b.memory }), {
            cpu: 0,
            memory: 0,
        });
    const init = (spec.initContainers ?? [])
        .map(one)
        .reduce((a, b) => ({ cpu: Math.max(a.cpu, b.cpu), memory: Math.max(a.memory, b.memory) }), {
            cpu: 0,
            memory: 0,
        });
    return {
        cpu: Math.max(main.cpu, init.cpu) + cpuOf(spec.overhead?.cpu),
        memory: Math.max(main.memory, init.memory) + memoryOf(spec.overhead?.memory),
    };
}

export function nodeReady(node: KubeObject): boolean {
    const conditions = (node.status?.conditions ?? []) as Array<{ type: string; status: string }>;
    return conditions.some((c) => c.type === "Ready" && c.status === "True");
}

export function podReady(pod: KubeObject): boolean {
    const conditions = (pod.status?.conditions ?? []) as Array<{ type: string; status: string }>;
    return conditions.some((c) => c.type === "Ready" && c.status === "True");
}

export function taintsOf(node: KubeObject): Taint[] {
    return ((node.spec?.taints ?? []) as Taint[]).filter((t) => t.effect === "NoSchedule" || t.effect === "NoExecute");
}

export function tolerates(pod: KubeObject, taint: Taint): boolean {
    return ((pod.spec?.tolerations ?? []) as Toleration[]).some(
        (o) =>
            (!o.effect || o.effect === taint.effect) &&
            (o.operator === "Exists"
                ? !o.key || o.key === taint.key
                : o.key === taint.key && (o.value ?? "") === (taint.value ?? "")),
    );
}

export function usesEmptyDir(pod: KubeObject): boolean {
    return ((pod.spec?.volumes ?? []) as Array<{ emptyDir?: unknown }>).some((v) => v.emptyDir !== undefined);
}
