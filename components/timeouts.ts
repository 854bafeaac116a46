// How long a provider's own long-running operation may take in the worst case the config allows, so that the
// engine waits for it rather than giving up under the provider's default timeout while the cloud goes on (and
// state keeps the old version). See docs/design-notes.md for each provider's default.
import type { AksSettings } from "./config";

/** A node's creation and join, generously: the surge node of a batch, or a reimage. */
export const NODE_PROVISION_MINUTES = 15;
/** Slack on top of every estimate: API queueing, the first and last batch's bookkeeping. */
export const OPERATION_SLACK_MINUTES = 30;

/** The surge of a batch as a count of nodes: a number, or a percentage of the pool rounded up; at least 1. */
export function surgeNodes(maxSurge: string | number, count: number): number {
    const text = String(maxSurge).trim();
    const n = text.endsWith("%") ? Math.ceil((count * Number(text.slice(0, -1))) / 100) : Number(text);
    return Number.isFinite(n) && n >= 1 ? Math.floor(n) : 1;
}

/**
 * An AKS surge upgrade of a pool of `count` nodes (the agent pool API's upgrade, or an AgentPool's
 * orchestratorVersion change): ceil(count / surge) batches, each a new node, every old node's drain within
 * drainTimeoutInMinutes and its soak; in seconds.
 */
export function aksPoolUpgradeSeconds(count: number, aks: Pick<AksSettings, "upgradeSettings">): number {
    const u = aks.upgradeSettings;
    const batches = Math.ceil(Math.max(count, 1) / surgeNodes(u.maxSurge, Math.max(count, 1)));
    const perBatch = NODE_PROVISION_MINUTES + u.drainTimeoutInMinutes + u.nodeSoakDurationInMinutes;
    return (batches * perBatch + OPERATION_SLACK_MINUTES) * 60;
}

/** GKE waits this long for a node's PodDisruptionBudgets before it drains the node anyway (surge and blue-green). */
export const GKE_DRAIN_MINUTES = 60;

/** GKE's upgradeSettings as the node pool registers them. */
export interface GkeUpgradeShape {
    strategy?: string;
    maxSurge?: number;
    maxUnavailable?: number;
    blueGreenSettings?: {
        standardRolloutPolicy?: { batchNodeCount?: number; batchPercentage?: number; batchSoakDuration?: string };
        nodePoolSoakDuration?: string;
    };
}

const seconds = (d: string | undefined) => Number(/^(\d+)s$/.exec(d ?? "")?.[1] ?? 0);

/**
 * A GKE node pool upgrade of `nodes` nodes in all (its version change, which the provider waits for): SURGE moves
 * maxSurge + maxUnavailable nodes at a time, each a new node and a drain GKE holds for at most an hour for
 * PodDisruptionBudgets; BLUE_GREEN creates the green nodes, drains the blue ones a batch at a time with the batch
 * soak, then soaks the whole pool. In minutes.
 */
export function gkePoolUpgradeMinutes(nodes: number, u: GkeUpgradeShape): number {
    const total = Math.max(nodes, 1);
    if (u.strategy !== "BLUE_GREEN") {
        const parallel = Math.max((u.maxSurge ?? 1) + (u.maxUnavailable ?? 0), 1);
        return Math.ceil(total / parallel) * (NODE_PROVISION_MINUTES + GKE_DRAIN_MINUTES) + OPERATION_SLACK_MINUTES;
    }
    const policy = u.blueGreenSettings?.standardRolloutPolicy;
    const perBatch = policy?.batchNodeCount ?? Math.ceil(total * (policy?.batchPercentage ?? 1));
    const batches = Math.ceil(total / Math.max(perBatch, 1));
    const batchMinutes = GKE_DRAIN_MINUTES + Math.ceil(seconds(policy?.batchSoakDuration) / 60);
    const poolSoak = Math.ceil(seconds(u.blueGreenSettings?.nodePoolSoakDuration) / 60);
    return NODE_PROVISION_MINUTES + batches * batchMinutes + poolSoak + OPERATION_SLACK_MINUTES;
}

/**
 * EKS evicts a node's pods for at most this long: then the update fails with PodEvictionFailure, or, with
 * forceUpdateVersion, the node is terminated regardless (the managed node group update behavior).
 */
export const EKS_EVICTION_MINUTES = 15;

/** A managed node group's update config, as the NodeGroup registers it. */
export interface EksRollingShape {
    maxUnavailable?: number;
    maxUnavailablePercentage?: number;
}

/**
 * An EKS managed node group version update of `nodes` nodes (the NodeGroup's version change, which the provider
 * waits for, and the `<pool>-version` step that re-issues it): maxUnavailable nodes at a time (a percentage of the
 * group rounded down, at least 1), each batch a new instance and the old one's eviction for at most 15 minutes.
 * In minutes.
 */
export function eksNodeGroupUpdateMinutes(nodes: number, rolling: EksRollingShape): number {
    const total = Math.max(nodes, 1);
    const parallel =
        rolling.maxUnavailablePercentage !== undefined
            ? Math.floor((total * rolling.maxUnavailablePercentage) / 100)
            : (rolling.maxUnavailable ?? 1);
    const batches = Math.ceil(total / Math.max(parallel, 1));
    return batches * (NODE_PROVISION_MINUTES + EKS_EVICTION_MINUTES) + OPERATION_SLACK_MINUTES;
}

/**
 * A Cluster API rolling update of `replicas` machines, `parallel` at a time (a MachineDeployment's maxSurge +
 * maxUnavailable; 1 for a KubeadmControlPlane, which replaces one machine at a time): each batch a new machine and
 * the old one's drain, which no nodeDrainTimeout cuts short, bounded by the stack's drain timeout. In minutes.
 */
export function capiRolloutMinutes(replicas: number, parallel: number, drainTimeoutSeconds: number): number {
    const batches = Math.ceil(Math.max(replicas, 1) / Math.max(parallel, 1));
    return batches * (NODE_PROVISION_MINUTES + Math.ceil(drainTimeoutSeconds / 60)) + OPERATION_SLACK_MINUTES;
}

/** A new MachineDeployment: every machine is created at once, so one node's creation and join, with slack. */
export const CAPI_CREATE_MINUTES = NODE_PROVISION_MINUTES + OPERATION_SLACK_MINUTES;
