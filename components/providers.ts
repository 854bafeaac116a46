// What the planner must know about each provider: not how a phase is carried out (that is the
// adapter's business), only which plans the provider can carry out at all.
import type { ProviderName, Strategy } from "./config";

export interface ProviderTraits {
    /** Shown in plans and errors. */
    title: string;
    /** New node pools always come up at the cluster's version (no per-pool version on create). */
    poolsAtClusterVersionOnly: boolean;
    /** The provider applies patch versions itself; a patch-only bump changes nothing. */
    patchesManaged: boolean;
    /** Strategies the adapter implements. */
    strategies: readonly Strategy[];
    /** Changing a pool's machine type replaces the pool (so only blue-green can do it without losing capacity). */
    typeChangeReplacesPool: boolean;
    /** The provider refuses a control plane upgrade while any node pool lags the control plane (EKS). */
    controlPlaneNeedsCurrentPools: boolean;
    /** What strategy recycle becomes when the provider has no cluster-wide recycle of its own. */
    recycleAs?: "in-place";
    /** How an in-place move goes, in the plan's words. */
    inPlaceSummary: string;
    /** A risk of the provider's in-place move that the plan states whenever one is planned. */
    inPlaceWarning?: string;
    /** Why some strategies are not offered. */
    strategyHint?: string;
    /** Blue-green keeps the old pool one more deployment (scaled to zero) before removing it. */
    blueStaysOneDeployment?: boolean;
    /**
     * How a lower node count in config is carried out without losing undrained nodes: the adapter drains and
     * deletes chosen nodes ("drain-nodes"), or the pool moves to a new generation of the new size, blue-green
     * ("new-generation"). Unset: the provider's own scale-down (which drains) is left to act.
     */
    countDecrease?: "drain-nodes" | "new-generation";
}

export const PROVIDER_TRAITS: Record<ProviderName, ProviderTraits> = {
    lke: {
        title: "Linode Kubernetes Engine",
        poolsAtClusterVersionOnly: true,
        patchesManaged: true,
        strategies: ["blue-green", "in-place", "recycle"],
        typeChangeReplacesPool: true,
        controlPlaneNeedsCurrentPools: false,
        inPlaceSummary: "one surge node, then each old node cordoned, drained and recycled",
        // LKE removes nodes of its own choosing when a pool's count drops.
        countDecrease: "drain-nodes",
    },
    eks: {
        title: "Amazon EKS",
        poolsAtClusterVersionOnly: false,
        patchesManaged: true,
        strategies: ["blue-green", "in-place", "recycle"],
        typeChangeReplacesPool: true,
        controlPlaneNeedsCurrentPools: true,
        recycleAs: "in-place",
        inPlaceSummary: "the managed rolling update (new instances before old ones are drained and terminated)",
        inPlaceWarning:
            "in-place on Amazon EKS forces nothing: when PodDisruptionBudgets keep pods on a node for 15 minutes, the node group update fails with PodEvictionFailure and stops part-way (no rollback). Fix the budget and deploy again, or set eks.forceUpdateVersion to evict regardless",
        // The Auto Scaling group picks the instances to terminate and EKS forces termination after 5 minutes of drain.
        countDecrease: "new-generation",
    },
    kubeadm: {
        title: "self-managed kubeadm",
        poolsAtClusterVersionOnly: false,
        patchesManaged: false,
        strategies: ["in-place"],
        typeChangeReplacesPool: false,
        controlPlaneNeedsCurrentPools: false,
        inPlaceSummary: "each node drained, its packages upgraded, kubelet restarted, uncordoned",
        strategyHint:
            "blue-green and recycle need new machines, which this provider does not create: it upgrades the machines you list, in place.",
    },
    "capi-aws": {
        title: "Cluster API on AWS",
        poolsAtClusterVersionOnly: false,
        patchesManaged: false,
        strategies: ["blue-green", "in-place"],
        typeChangeReplacesPool: false,
        controlPlaneNeedsCurrentPools: false,
        inPlaceSummary: "the MachineDeployment's rolling update onto a new AWSMachineTemplate",
        blueStaysOneDeployment: true,
    },
    gke: {
        title: "Google Kubernetes Engine",
        poolsAtClusterVersionOnly: false,
        // The control plane is always upgraded by GKE within its minor (minMasterVersion is a minimum).
        patchesManaged: true,
        strategies: ["blue-green", "in-place"],
        typeChangeReplacesPool: true,
        controlPlaneNeedsCurrentPools: false,
        inPlaceSummary: "GKE's own node upgrade with gke.upgradeSettings (surge, or its blue-green with soak)",
        inPlaceWarning:
            "in-place on GKE is GKE's own node upgrade: it respects PodDisruptionBudgets for at most one hour per node, then evicts regardless. Use strategy blue-green for drains that never force",
        strategyHint:
            "GKE has no recycle of its own: strategy in-place with gke.upgradeSettings (strategy SURGE) replaces every node with a new one, one surge node at a time, which is what recycle does elsewhere.",
        // A lower nodeCount lets the managed instance group pick the instances to remove.
        countDecrease: "new-generation",
    },
    aks: {
        title: "Azure Kubernetes Service",
        poolsAtClusterVersionOnly: false,
        // Only minors are written (the schema refuses a patch): AKS puts the newest patch of the minor.
        patchesManaged: true,
        strategies: ["blue-green", "in-place"],
        typeChangeReplacesPool: true,
        controlPlaneNeedsCurrentPools: false,
        inPlaceSummary:
            "AKS's surge upgrade of the agent pool (aks.upgradeSettings: maxSurge new nodes first, then each old node cordoned, drained within drainTimeoutInMinutes, soaked, and reimaged)",
        inPlaceWarning:
            "in-place on AKS drains with the eviction API for at most aks.upgradeSettings.drainTimeoutInMinutes per node: when PodDisruptionBudgets hold pods longer, the upgrade fails part-way (undrainableNodeBehavior Schedule) or leaves those nodes cordoned at the old version (Cordon). Fix the budget and deploy again, or use blue-green, whose drains wait as long as workers.drain.timeoutSeconds says",
        strategyHint:
            "recycle is not offered on AKS: in-place is AKS's own surge upgrade (new nodes first, then each old node drained and reimaged), and blue-green is a new agent pool with the old one drained by this program.",
        // AKS would choose which nodes a lower count removes: the pool moves to a new generation of the new size.
        countDecrease: "new-generation",
    },
};
