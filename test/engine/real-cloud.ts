// The providers of an engine-order rehearsal (test/engine/rehearse.ts), carried out on the real test control plane
// (test/fixture/real-cluster.ts):
// - an LKE cluster is a Linode API stand-in (test/fixture/linode-api.ts) whose pools are real kwok Nodes: the
//   cluster's create makes its workload-free anchor pool, tainted as the program taints it; a pool's create, count
//   change and delete go through the stand-in's API as the provider sends them (LKE picks the nodes a lower count
//   removes, and a deleted pool's Linodes go undrained);
// - an EKS cluster is the minor its control plane serves; a node group is a set of kwok Nodes labelled with its name,
//   deleted with whatever still runs on them (EKS stops draining after five minutes and terminates regardless);
// - scripts reach the apiserver through a front that answers /version with the minor the managed control plane serves
//   (the real apiserver is the newest minor a rehearsal goes to).
// Everything a world makes carries the label test=<id>, and lives in its own namespace: a world is removed whole.
import { ANCHOR_TAINT } from "../../components/lke/cluster";
import { fakeNumericId } from "../../tools/capture";
import type { CapturedResource } from "../../tools/capture-types";
import { watch } from "../../tools/cluster/api";
import { nodeManifest, usable } from "../../tools/cluster/cluster";
import { LinodeApi, type NodeGone, ServedVersionFront } from "../fixture/linode-api";
import type { RealCluster } from "../fixture/real-cluster";
import { sleep } from "../fixture/real-cluster";
import { budgetStatus, removeTestObjects } from "../fixture/real-pools";
import type { Cloud, Step } from "./rehearse";

const LKE_CLUSTER = "linode:index/lkeCluster:LkeCluster";
const LKE_POOL = "linode:index/lkeNodePool:LkeNodePool";
const EKS_CLUSTER = "aws:eks/cluster:Cluster";
const EKS_NODE_GROUP = "aws:eks/nodeGroup:NodeGroup";
export const EKS_GROUP_LABEL = "eks.amazonaws.com/nodegroup";
/** The workload every world runs on its worker nodes, and its budget. */
export const APP = "web";
export const PROMISED_MAX_UNAVAILABLE = 1;

/** The patch version reported for a minor: nodes LKE or EKS installs, and the served version the front reports. */
export const nodeVersion = (minor: string) => `v${minor}.2`;
export const minorOf = (v: string) => v.replace(/^v?(\d+\.\d+).*$/, "$1");

export interface RawNode {
    metadata: { name: string; labels?: Record<string, string>; resourceVersion: string };
    spec?: { unschedulable?: boolean; taints?: Array<{ key: string; effect: string }> };
    status?: { conditions?: Array<{ type: string; status: string }>; nodeInfo?: { kubeletVersion?: string } };
}

export interface RawPod {
    metadata: {
        name: string;
        resourceVersion: string;
        labels?: Record<string, string>;
        deletionTimestamp?: string;
        ownerReferences?: Array<{ kind: string }>;
    };
    spec: { nodeName?: string };
    status?: { phase?: string; conditions?: Array<{ type: string; status: string }> };
}

// A new node registers a few seconds after its pool asked for it (on LKE and EKS, minutes): longer than a script takes
// to start, so that a step that does not wait for new capacity meets a cluster without it, as it would for real.
const JOIN_MS = 3000;
const LINODE_TIMING = { joinMs: JOIN_MS, deleteMs: 300, controlPlaneMs: 500 };

/** One cluster and its cloud on a shared control plane: the stand-ins, the front, and what they have removed. */
export class RealCloud implements Cloud {
    lke?: LinodeApi;
    /** The minor the EKS control plane serves, once it exists. */
    private eksMinor?: string;
    private front?: ServedVersionFront;
    private frontUrl = "";
    /** Nodes removed with workload pods still on them, as seen at the moment of removal. */
    readonly lost: NodeGone[] = [];
    /** EKS nodes still to register, and what failed in doing so. */
    private readonly joining = new Set<Promise<void>>();
    private readonly joinErrors: string[] = [];

    constructor(
        readonly rc: RealCluster,
        /** The value of the `test` label on everything this world makes. */
        readonly id: string,
        readonly ns: string,
        /** A port that refuses connections, for the api-refused fault. */
        readonly refusedPort: number,
    ) {}

    /** The minor the managed control plane serves now. */
    get servedMinor(): string {
        const m = this.lke?.servedMinor ?? this.eksMinor;
        if (!m) throw new Error("no control plane yet: the rehearsal has not created a cluster");
        return m;
    }

    nodeVersion(minor: string): string {
        return nodeVersion(minor);
    }

    async start(): Promise<void> {
        const { pki } = this.rc.c;
        this.front = new ServedVersionFront(
            this.rc.c.state.server,
            { cert: pki.serverCert, key: pki.serverKey, ca: pki.caCert },
            this,
        );
        this.frontUrl = await this.front.start();
    }

    /** Closes the stand-ins and removes every Node, pod and budget of this world. */
    async close(): Promise<void> {
        await Promise.allSettled([...this.joining]);
        await this.lke?.close();
        await this.front?.stop();
        await removeTestObjects(this.rc, this.id, this.ns);
    }

    /** What the stand-in's own background work failed to do (a Node it could not create, say). */
    errors(): string[] {
        return [...(this.lke?.errors ?? []), ...this.joinErrors];
    }

    scriptEnv(inputs: Record<string, string>, refused: boolean): Record<string, string> {
        const nowhere = `127.0.0.1:${this.refusedPort}`;
        const env: Record<string, string> = {};
        if (inputs.K8SU_KUBECONFIG_B64 !== undefined) {
            const server = refused ? `https://${nowhere}` : this.frontUrl;
            env.K8SU_KUBECONFIG_B64 = Buffer.from(this.rc.kubeconfigFor(server)).toString("base64");
        }
        if (this.lke) {
            env.LINODE_TOKEN = this.lke.token;
            env.LINODE_API_URL = refused ? `http://${nowhere}/v4` : this.lke.url;
        }
        return env;
    }

    async blockBudgets(): Promise<() => Promise<void>> {
        await this.budget(0);
        return () => this.budget(PROMISED_MAX_UNAVAILABLE);
    }

    /** Sets the workload's budget and waits until the disruption controller has computed it. */
    private async budget(maxUnavailable: number): Promise<void> {
        await this.rc.api.patch(`/apis/policy/v1/namespaces/${this.ns}/poddisruptionbudgets/${APP}`, {
            spec: { maxUnavailable },
        });
        await budgetStatus(this.rc, this.ns, APP, () => true);
    }

    async provider(step: Step, old: CapturedResource | undefined): Promise<void> {
        const r = step.resource;
        const inputs = r.inputs as Record<string, unknown>;
        switch (r.type) {
            case LKE_CLUSTER:
                return this.lkeCluster(step, old);
            case LKE_POOL:
                return this.lkePool(step);
            case EKS_CLUSTER:
                if (step.op === "delete") throw new Error("the rehearsal never deletes a cluster");
                this.eksMinor = String(inputs.version);
                return;
            case EKS_NODE_GROUP:
                return this.eksNodeGroup(step, old);
            default:
                return; // roles, add-ons, stack references: nothing a script or an invariant observes
        }
    }

    private async lkeCluster(step: Step, old: CapturedResource | undefined): Promise<void> {
        const r = step.resource;
        const inputs = r.inputs as { k8sVersion: string; pools: Array<{ count: number }> };
        if (step.op === "delete") throw new Error("the rehearsal never deletes a cluster");
        if (step.op === "create") {
            const lke = new LinodeApi(this.rc.api, {
                clusterId: Number(fakeNumericId(r.name)),
                k8sVersion: inputs.k8sVersion,
                nodeVersion,
                timing: LINODE_TIMING,
            });
            await lke.start();
            lke.onNodeGone = (g) => {
                if (g.pods.length > 0) this.lost.push(g);
            };
            this.lke = lke;
            await lke.addPool({
                id: Number(fakeNumericId(`${r.name}/0`)),
                count: inputs.pools[0].count,
                kubeletVersion: nodeVersion(inputs.k8sVersion),
                labels: { test: this.id },
                taints: [ANCHOR_TAINT],
            });
            return;
        }
        // The program leaves the version to its control-plane script (ignoreChanges); a provider-side version
        // change would recycle every node of every pool, which no rehearsal scenario is meant to reach.
        if (!r.ignoreChanges.includes("k8sVersion") && old && old.inputs.k8sVersion !== inputs.k8sVersion)
            throw new Error(`${r.name}: the provider would change k8sVersion itself; the program must ignore it`);
    }

    private async lkePool(step: Step): Promise<void> {
        const r = step.resource;
        const inputs = r.inputs as {
            nodeCount: number;
            autoscaler?: unknown;
            labels?: Record<string, string>;
            taints?: Array<{ key: string; value?: string; effect: string }>;
        };
        const lke = this.lke;
        if (!lke) throw new Error(`${r.name}: no LKE cluster`);
        const id = Number(fakeNumericId(r.name));
        if (step.op === "delete") {
            await this.linode("DELETE", `/pools/${id}`);
            await until(`pool ${id}'s nodes gone`, async () => (await lke.nodesOf(id)).length === 0);
            return;
        }
        if (step.op === "create" || step.op === "replace") {
            await lke.addPool({
                id,
                count: 0,
                kubeletVersion: nodeVersion(lke.k8sVersion),
                labels: { ...inputs.labels, test: this.id },
                taints: inputs.taints,
            });
        }
        // The provider sends the count it has in config; LKE removes nodes of its own choosing when it drops.
        await this.linode("PUT", `/pools/${id}`, { count: inputs.nodeCount, autoscaler: inputs.autoscaler });
    }

    private async eksNodeGroup(step: Step, old: CapturedResource | undefined): Promise<void> {
        const r = step.resource;
        const inputs = r.inputs as { nodeGroupName?: string; version: string; scalingConfig: { desiredSize: number } };
        const groupName = String(inputs.nodeGroupName ?? `${r.name}-${fakeNumericId(r.name)}`);
        const api = this.rc.api;
        const members = async () =>
            (
                await api.get<{ items: RawNode[] }>(
                    `/api/v1/nodes?labelSelector=${encodeURIComponent(`${EKS_GROUP_LABEL}=${groupName},test=${this.id}`)}`,
                )
            ).items.map((n) => n.metadata.name);
        if (step.op === "delete") {
            for (const node of await members()) {
                const pods = await this.workloadOn(node);
                if (pods.length > 0) this.lost.push({ at: Date.now(), node, pool: 0, pods });
                await api.must("DELETE", `/api/v1/nodes/${node}`);
            }
            return;
        }
        if (step.op === "update" && old && old.inputs.version !== inputs.version)
            throw new Error("the rehearsal does not play EKS's managed rolling update");
        const have = await members();
        for (let i = have.length; i < inputs.scalingConfig.desiredSize; i++) {
            // The group's instances register JOIN_MS from now: the program's wait-ready step is what waits.
            const manifest = nodeManifest(
                {
                    name: `${this.id}-${groupName}-${i}`,
                    labels: { [EKS_GROUP_LABEL]: groupName, test: this.id },
                    kubeletVersion: nodeVersion(inputs.version),
                },
                nodeVersion(inputs.version),
            );
            const join: Promise<void> = sleep(JOIN_MS)
                .then(() => api.create("/api/v1/nodes", manifest))
                .then(
                    () => undefined,
                    (err) => void this.joinErrors.push(`node group ${groupName}: ${String(err)}`),
                )
                .finally(() => this.joining.delete(join));
            this.joining.add(join);
        }
    }

    /** Workload pods on a node now: not from a DaemonSet, not a mirror, not finished, not terminating. */
    async workloadOn(node: string): Promise<string[]> {
        const list = await this.rc.api.get<{ items: RawPod[] }>(
            `/api/v1/pods?fieldSelector=${encodeURIComponent(`spec.nodeName=${node}`)}`,
        );
        return list.items.filter(isWorkload).map((p) => p.metadata.name);
    }

    private async linode(method: string, path: string, body?: unknown): Promise<void> {
        const lke = this.lke!;
        const res = await fetch(`${lke.url}/lke/clusters/${lke.clusterId}${path}`, {
            method,
            headers: { Authorization: `Bearer ${lke.token}`, "Content-Type": "application/json" },
            body: body === undefined ? undefined : JSON.stringify(body),
            signal: AbortSignal.timeout(15_000),
        });
        const text = await res.text();
        if (!res.ok) throw new Error(`Linode API ${method} ${path}: ${res.status} ${text}`);
    }
}

export function isWorkload(p: RawPod): boolean {
    return (
        !p.metadata.deletionTimestamp &&
        !["Succeeded", "Failed"].includes(p.status?.phase ?? "") &&
        !p.metadata.ownerReferences?.some((o) => o.kind === "DaemonSet" || o.kind === "Node")
    );
}

export const isReady = (p: RawPod) =>
    !p.metadata.deletionTimestamp && !!p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True");

export const isAnchor = (n: RawNode) => !!n.spec?.taints?.some((t) => t.key === ANCHOR_TAINT.key);

async function until(what: string, done: () => Promise<boolean>, deadlineMs = 60_000): Promise<void> {
    const deadline = Date.now() + deadlineMs;
    while (!(await done())) {
        if (Date.now() > deadline) throw new Error(`${what}: not after ${deadlineMs / 1000}s`);
        await sleep(100);
    }
}

/**
 * The world's nodes and pods as the apiserver has them, kept current by watches (a LIST, then a watch from its
 * resourceVersion), with `onChange` called after every event: the invariants are checked at every change, where
 * sampling could miss a moment.
 */
export class WorldWatch {
    readonly nodes = new Map<string, RawNode>();
    readonly pods = new Map<string, RawPod>();
    /** Nodes seen Ready and free of the lifecycle taints at some moment: capacity that has joined. */
    readonly joined = new Set<string>();
    private stops: Array<() => void> = [];
    /** Why a watch ended early: what happened after it is unknown, so the world's verdict is void. */
    broken?: string;

    constructor(
        private readonly rc: RealCluster,
        private readonly id: string,
        private readonly ns: string,
        private readonly onChange: (where: string) => void,
    ) {}

    async start(): Promise<void> {
        const nodesPath = `/api/v1/nodes?labelSelector=${encodeURIComponent(`test=${this.id}`)}`;
        await this.follow(nodesPath, this.nodes, (n: RawNode) => {
            if (usable(n)) this.joined.add(n.metadata.name);
        });
        await this.follow(`/api/v1/namespaces/${this.ns}/pods`, this.pods, () => {});
    }

    private async follow<T extends { metadata: { name: string; resourceVersion: string } }>(
        path: string,
        into: Map<string, T>,
        seen: (o: T) => void,
    ): Promise<void> {
        const list = await this.rc.api.get<{ items: T[]; metadata: { resourceVersion: string } }>(path);
        for (const o of list.items) {
            into.set(o.metadata.name, o);
            seen(o);
        }
        const sep = path.includes("?") ? "&" : "?";
        const h = await watch(
            this.rc.api,
            `${path}${sep}resourceVersion=${list.metadata.resourceVersion}`,
            (e) => {
                if (e.type === "BOOKMARK") return;
                if (e.type === "ERROR") {
                    this.broken ??= `${path}: ${JSON.stringify(e.object).slice(0, 300)}`;
                    return;
                }
                const o = e.object as unknown as T;
                if (e.type === "DELETED") into.delete(o.metadata.name);
                else {
                    into.set(o.metadata.name, o);
                    seen(o);
                }
                this.onChange(`${e.type.toLowerCase()} ${o.metadata.name}`);
            },
            (why) => {
                this.broken ??= why;
            },
        );
        this.stops.push(h.stop);
    }

    /** Stops the watches at once (a world given up). */
    cancel(): void {
        for (const stop of this.stops) stop();
    }

    /** Waits until the watches have seen everything a fresh LIST shows, then stops them. */
    async stop(deadlineMs = 30_000): Promise<void> {
        const deadline = Date.now() + deadlineMs;
        const caughtUp = async <T extends { metadata: { name: string; resourceVersion: string } }>(
            path: string,
            have: Map<string, T>,
        ) => {
            const list = await this.rc.api.get<{ items: T[] }>(path);
            return (
                list.items.length === have.size &&
                list.items.every(
                    (o) => have.get(o.metadata.name)?.metadata.resourceVersion === o.metadata.resourceVersion,
                )
            );
        };
        for (;;) {
            const nodes = await caughtUp(
                `/api/v1/nodes?labelSelector=${encodeURIComponent(`test=${this.id}`)}`,
                this.nodes,
            );
            if (nodes && (await caughtUp(`/api/v1/namespaces/${this.ns}/pods`, this.pods))) break;
            if (Date.now() > deadline) {
                this.broken ??= "the watches never caught up with the apiserver";
                break;
            }
            await sleep(100);
        }
        for (const stop of this.stops) stop();
    }

    /** The workload pods bound to a node now. */
    workloadOn(node: string): string[] {
        return [...this.pods.values()]
            .filter((p) => p.spec.nodeName === node && isWorkload(p))
            .map((p) => p.metadata.name);
    }

    readyPods(app: string): number {
        return [...this.pods.values()].filter((p) => p.metadata.labels?.app === app && isReady(p)).length;
    }
}
