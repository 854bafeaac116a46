// An AKS cluster carried through one deployment of its upgrade plan: pre-flight → control plane (the managed
// cluster's kubernetesVersion, one minor, the System pool AKS requires inside it left at its version) → the System
// pool through the agent pool API → agent pools by strategy (AKS's own surge upgrade in place, or a new pool with
// the old one drained by this program) → validation.
// See docs/aks.md for why each agent pool carries its own orchestratorVersion and auto-upgrade is off.
import { createHash } from "node:crypto";
import * as containerservice from "@pulumi/azure-native/containerservice";
import * as pulumi from "@pulumi/pulumi";
import type { AksSettings } from "../config";
import type { ClusterPlan } from "../plan";
import { preflightEnvironment } from "../removed-apis";
import type { RunningCluster } from "../running";
import { base64Secret, scriptStep } from "../steps";
import { aksPoolUpgradeSeconds } from "../timeouts";
import { formatMinor, requireVersion } from "../versions";
import {
    carryOutWorkers,
    componentInputs,
    preflightTriggers,
    runningStateOf,
    validationStep,
    type WorkerAdapter,
} from "../workers";
import { aksClusterName } from "./upgrade-profile";

export const AKS_COMPONENT_TYPE = "k8s-upgrades:aks:Cluster";
/** AKS's label naming a node's agent pool. */
export const AGENT_POOL_LABEL = "kubernetes.azure.com/agentpool";
/** The inline pool's name, and the taint that keeps workloads on the program's own pools (AKS's advice for System pools). */
export const SYSTEM_POOL_NAME = "system";
export const SYSTEM_POOL_TAINT = "CriticalAddonsOnly=true:NoSchedule";

export interface AksClusterArgs {
    /** The decided plan (config, running state, phases): passed as the component's inputs so policies can read it. */
    plan: ClusterPlan;
}

/**
 * The agent pool's name in AKS for a pool generation: lower-case letters and digits, starting with a letter, at most
 * 12 characters (Linux pools). The generation's resource name without the cluster prefix when it fits, else a
 * shortened form with a hash of the whole name, so that every generation has its own.
 */
export function agentPoolName(cluster: string, resourceName: string): string {
    const bare = resourceName.startsWith(`${cluster}-`) ? resourceName.slice(cluster.length + 1) : resourceName;
    const plain = bare.toLowerCase().replace(/[^a-z0-9]/g, "");
    if (/^[a-z]/.test(plain) && plain.length <= 12) return plain;
    const hash = createHash("sha256").update(resourceName).digest("hex").slice(0, 5);
    return `${/^[a-z]/.test(plain) ? "" : "p"}${plain}`.slice(0, 7) + hash;
}

/** The selector of a pool's nodes. */
export function agentPoolSelector(poolName: pulumi.Input<string>): pulumi.Output<string> {
    return pulumi.interpolate`${AGENT_POOL_LABEL}=${poolName}`;
}

/** aks.upgradeSettings as AKS takes them, on every agent pool. */
export function upgradeSettingsOf(aks: AksSettings): containerservice.AgentPoolArgs["upgradeSettings"] {
    const u = aks.upgradeSettings;
    return {
        maxSurge: u.maxSurge,
        drainTimeoutInMinutes: u.drainTimeoutInMinutes,
        nodeSoakDurationInMinutes: u.nodeSoakDurationInMinutes,
        undrainableNodeBehavior: u.undrainableNodeBehavior,
    };
}

/** The cluster-user kubeconfig (ListClusterUserCredential), decoded and secret; an empty answer is an error. */
export function userKubeconfig(
    resourceGroupName: string,
    resourceName: pulumi.Input<string>,
    parent: pulumi.Resource,
): pulumi.Output<string> {
    const creds = containerservice.listManagedClusterUserCredentialsOutput(
        { resourceGroupName, resourceName },
        { parent },
    );
    return pulumi.secret(
        pulumi.all([creds.kubeconfigs, resourceName]).apply(([kubeconfigs, name]) => {
            const value = kubeconfigs?.[0]?.value;
            if (!value)
                throw new Error(
                    `AKS returned no user kubeconfig for cluster ${resourceGroupName}/${name}: check the credentials of 'pulumi up' (Microsoft.ContainerService/managedClusters/listClusterUserCredential/action)`,
                );
            return Buffer.from(value, "base64").toString("utf8");
        }),
    );
}

/** What the steps of one AKS cluster's deployment share. */
interface AksDeployment {
    name: string;
    plan: ClusterPlan;
    aks: AksSettings;
    /** The managed cluster's name in Azure. */
    clusterName: string;
    targetMinor: string;
    /** The inline System pool's orchestratorVersion in the managed cluster: what it runs before this deployment. */
    systemPoolMinor: string;
    upgradeSettings: containerservice.AgentPoolArgs["upgradeSettings"];
    parent: pulumi.Resource;
    child: (extra?: pulumi.CustomResourceOptions) => pulumi.CustomResourceOptions;
}

export class AksUpgradeCluster extends pulumi.ComponentResource {
    readonly kubeconfig: pulumi.Output<string>;
    /** What runs once this deployment succeeds; resolves only after every step has. */
    readonly runningState: pulumi.Output<RunningCluster>;

    constructor(name: string, args: AksClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        const { plan } = args;
        super(AKS_COMPONENT_TYPE, name, componentInputs(plan), opts);
        const cfg = plan.cluster;
        const aks = cfg.aks!;
        const d: AksDeployment = {
            name,
            plan,
            aks,
            clusterName: aksClusterName(cfg),
            targetMinor: formatMinor(requireVersion(cfg.kubernetesVersion)),
            systemPoolMinor: systemPoolMinor(plan),
            upgradeSettings: upgradeSettingsOf(aks),
            parent: this,
            child: (extra) => ({ parent: this, ...extra }),
        };

        const preflight = registerPreflight(d);
        const cluster = registerControlPlane(d, preflight);
        this.kubeconfig = userKubeconfig(
            aks.resourceGroupName,
            cluster.id.apply(() => d.clusterName),
            this,
        );
        const kubeconfigB64 = base64Secret(this.kubeconfig);

        const systemPool = registerSystemPoolUpgrade(d, cluster);
        const adapter = poolAdapter(d, cluster);
        const controlPlane: pulumi.Resource =
            plan.controlPlane.change === "minor" ? (systemPool ?? cluster) : (preflight ?? cluster);
        const workersArgs = { parent: this, name, plan, kubeconfig: kubeconfigB64, controlPlane, adapter };
        const workers = carryOutWorkers(workersArgs);
        const validation = validationStep(workersArgs, workers.steps, workers.validateSelectors);
        const done = [validation, ...workers.steps, systemPool, cluster].filter(
            (r): r is pulumi.Resource => r !== undefined,
        );
        this.runningState = runningStateOf(plan, cluster.id, done, workers.registered);
        this.registerOutputs({ kubeconfig: this.kubeconfig, runningState: this.runningState });
    }
}

/** Pre-flight reads the existing cluster's kubeconfig by name, before the cluster resource changes. */
function registerPreflight(d: AksDeployment): pulumi.Resource | undefined {
    const { plan } = d;
    if (!plan.preflight || !plan.running) return undefined;
    return scriptStep(
        `${d.name}-preflight`,
        {
            create: "preflight",
            environment: preflightEnvironment(d.targetMinor),
            secrets: {
                K8SU_KUBECONFIG_B64: base64Secret(userKubeconfig(d.aks.resourceGroupName, d.clusterName, d.parent)),
            },
            triggers: preflightTriggers(plan),
        },
        d.child(),
    );
}

/**
 * The inline System pool's version in the managed cluster's PUT: the minor it runs before this deployment (the
 * control plane's running minor) while the control plane moves, else the control plane's. Through the managed
 * cluster API AKS takes pool versions only all unchanged or all equal to the new control plane, and the other
 * pools (separate AgentPools) stay where they are, so the System pool moves afterwards through the agent pool API.
 */
export function systemPoolMinor(plan: ClusterPlan): string {
    const target = formatMinor(requireVersion(plan.cluster.kubernetesVersion));
    const from = plan.controlPlane.from;
    return plan.controlPlane.change === "minor" && from ? formatMinor(requireVersion(from)) : target;
}

// The control plane: a kubernetesVersion change on the managed cluster is AKS's upgrade, one minor. The one
// inline pool is the System pool AKS needs to create a cluster; it names its running version, so the PUT changes
// the control plane only.
function registerControlPlane(
    d: AksDeployment,
    preflight: pulumi.Resource | undefined,
): containerservice.ManagedCluster {
    const { aks, clusterName, targetMinor } = d;
    return new containerservice.ManagedCluster(
        d.name,
        {
            resourceGroupName: aks.resourceGroupName,
            resourceName: clusterName,
            location: aks.location,
            dnsPrefix: aks.dnsPrefix ?? clusterName,
            kubernetesVersion: targetMinor,
            identity: { type: "SystemAssigned" },
            // upgradeChannel other than none is refused in config: AKS would move the version on its own.
            autoUpgradeProfile: {
                upgradeChannel: "none",
                nodeOSUpgradeChannel: aks.autoUpgradeProfile.nodeOSUpgradeChannel,
            },
            agentPoolProfiles: [
                {
                    name: SYSTEM_POOL_NAME,
                    mode: "System",
                    osType: "Linux",
                    type: "VirtualMachineScaleSets",
                    vmSize: aks.systemPool.vmSize,
                    count: aks.systemPool.count,
                    orchestratorVersion: d.systemPoolMinor,
                    nodeTaints: [SYSTEM_POOL_TAINT],
                    nodeLabels: { "k8s-upgrades/role": "system" },
                    upgradeSettings: d.upgradeSettings,
                },
            ],
            tags: { ...aks.tags, "k8s-upgrades/stack": d.plan.stack },
        },
        d.child({ dependsOn: preflight ? [preflight] : [] }),
    );
}

/**
 * After a control plane upgrade, the System pool to the new minor through the agent pool API (`az aks nodepool
 * upgrade`: AKS's surge upgrade under the pool's upgradeSettings). The step asks AKS first, so a deployment that
 * failed after it goes on without upgrading again.
 */
function registerSystemPoolUpgrade(
    d: AksDeployment,
    cluster: containerservice.ManagedCluster,
): pulumi.Resource | undefined {
    if (d.plan.controlPlane.change !== "minor") return undefined;
    return scriptStep(
        `${d.name}-system-pool`,
        {
            create: "aks-system-pool",
            environment: {
                K8SU_AKS_RESOURCE_GROUP: d.aks.resourceGroupName,
                K8SU_AKS_CLUSTER: d.clusterName,
                K8SU_AKS_POOL: SYSTEM_POOL_NAME,
                K8SU_TARGET_MINOR: d.targetMinor,
                K8SU_TIMEOUT_SECONDS: String(aksPoolUpgradeSeconds(d.aks.systemPool.count, d.aks)),
            },
            triggers: [d.targetMinor],
        },
        d.child({ dependsOn: [cluster] }),
    );
}

/** Agent pools, one per pool generation, each after the managed cluster. */
function poolAdapter(d: AksDeployment, cluster: containerservice.ManagedCluster): WorkerAdapter {
    const { aks } = d;
    return {
        registerPool: (resourceName, spec, pool, deps) => {
            const poolName = agentPoolName(d.plan.cluster.name, resourceName);
            const agentPool = new containerservice.AgentPool(
                resourceName,
                {
                    resourceGroupName: aks.resourceGroupName,
                    resourceName: d.clusterName,
                    agentPoolName: poolName,
                    mode: "User",
                    osType: "Linux",
                    type: "VirtualMachineScaleSets",
                    vmSize: spec.type,
                    count: spec.count,
                    enableAutoScaling: spec.autoscaler !== undefined,
                    minCount: spec.autoscaler?.min,
                    maxCount: spec.autoscaler?.max,
                    orchestratorVersion: spec.version,
                    nodeLabels: { ...pool.labels, "k8s-upgrades/pool": pool.name },
                    nodeTaints: pool.taints.map((t) => `${t.key}=${t.value}:${t.effect}`),
                    upgradeSettings: d.upgradeSettings,
                    tags: { ...aks.tags, "k8s-upgrades/pool": pool.name },
                },
                d.child({
                    dependsOn: [cluster, ...deps],
                    ignoreChanges: spec.autoscaler ? ["count"] : [],
                    // An orchestratorVersion change is AKS's surge upgrade, which the provider waits for.
                    customTimeouts: {
                        update: `${Math.ceil(aksPoolUpgradeSeconds(spec.autoscaler?.max ?? spec.count, aks) / 60)}m`,
                    },
                }),
            );
            return { resource: agentPool, id: pulumi.output(poolName), selector: agentPoolSelector(poolName) };
        },
        recordedSelector: (pool) => `${AGENT_POOL_LABEL}=${pool.poolId}`,
        // The agent pool's own orchestratorVersion change is AKS's surge upgrade under aks.upgradeSettings.
        inPlace: (_p, handle) => handle.resource,
    };
}
