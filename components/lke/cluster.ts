// An LKE cluster carried through one deployment of its upgrade plan. The plan decides; this only
// registers resources in the decided order. See docs/lke.md for why the control plane goes through the API.

import * as linode from "@pulumi/linode";
import * as pulumi from "@pulumi/pulumi";
import {
    type Adoption,
    adoptionOf,
    importOption,
    lkePoolImportId,
    type ReportedPool,
    reportedRunningState,
} from "../adopt";
import type { ClusterPlan, PoolPlan } from "../plan";
import { preflightEnvironment } from "../removed-apis";
import type { RunningCluster } from "../running";
import { drainEnvironment } from "../scripts";
import { scriptStep } from "../steps";
import { formatMinor, requireVersion } from "../versions";
import {
    carryOutWorkers,
    componentInputs,
    preflightTriggers,
    runningStateOf,
    validationStep,
    type WorkerAdapter,
    type WorkersResult,
} from "../workers";

export const LKE_COMPONENT_TYPE = "k8s-upgrades:lke:Cluster";
/** Tag on every pool this program owns, listed in the cluster's externalPoolTags so the cluster leaves them alone. */
export const MANAGED_POOL_TAG = "k8s-upgrades-managed";
/** The inline pool's taint: it keeps workloads off the pool LKE requires inside the cluster resource. */
export const ANCHOR_TAINT = { key: "k8s-upgrades/anchor", value: "true", effect: "NoSchedule" };
export const CONTROL_PLANE_TIMEOUT_SECONDS = 1800;

export interface LkeClusterArgs {
    /** The decided plan (config, running state, phases): passed as the component's inputs so policies can read it. */
    plan: ClusterPlan;
    /** The Linode API token, when set as `linode:token`; otherwise the steps read LINODE_TOKEN from the environment of `pulumi up`. */
    linodeToken?: pulumi.Output<string>;
}

export function poolSelector(poolId: pulumi.Input<string | number>): pulumi.Output<string> {
    return pulumi.interpolate`lke.linode.com/pool-id=${poolId}`;
}

/** What the steps of one LKE cluster's deployment share. */
interface LkeDeployment {
    name: string;
    plan: ClusterPlan;
    targetMinor: string;
    child: (extra?: pulumi.CustomResourceOptions) => pulumi.CustomResourceOptions;
}

/** The same, once the cluster resource is registered: the steps act on it through the API. */
interface LkeClusterSteps extends LkeDeployment {
    cluster: linode.LkeCluster;
    secrets: { K8SU_KUBECONFIG_B64: pulumi.Output<string>; LINODE_TOKEN?: pulumi.Output<string> };
}

export class LkeUpgradeCluster extends pulumi.ComponentResource {
    readonly kubeconfig: pulumi.Output<string>;
    /** What runs once this deployment succeeds; resolves only after every step has. */
    readonly runningState: pulumi.Output<RunningCluster>;

    constructor(name: string, args: LkeClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        const { plan } = args;
        super(LKE_COMPONENT_TYPE, name, componentInputs(plan), opts);
        const deployment: LkeDeployment = {
            name,
            plan,
            targetMinor: formatMinor(requireVersion(plan.cluster.kubernetesVersion)),
            child: (extra) => ({ parent: this, ...extra }),
        };
        // An adopted cluster and its pools are imported by this deployment, and recorded from what they report.
        const adoption = adoptionOf(plan);
        const reportedPools: Record<string, ReportedPool> = {};

        const preflight = registerPreflight(deployment, this);
        const cluster = registerCluster(deployment, adoption);
        this.kubeconfig = pulumi.secret(cluster.kubeconfig);
        const lke: LkeClusterSteps = {
            ...deployment,
            cluster,
            secrets: { K8SU_KUBECONFIG_B64: this.kubeconfig, LINODE_TOKEN: args.linodeToken },
        };
        const controlPlane = registerControlPlane(lke, preflight);
        const recycled = recyclePools(lke, controlPlane);
        const workersArgs = {
            parent: this,
            name,
            plan,
            kubeconfig: this.kubeconfig,
            controlPlane,
            beforeWorkers: recycled.slice(-1),
            adapter: poolAdapter(lke, adoption, reportedPools),
        };
        const workers = carryOutWorkers(workersArgs);
        if (plan.controlPlane.change === "minor") recycleAnchorPool(lke, controlPlane, workers);

        const validation = validationStep(workersArgs, workers.steps, workers.validateSelectors);
        const done = [validation, ...workers.steps, controlPlane].filter((r): r is pulumi.Resource => r !== undefined);
        const planned = runningStateOf(plan, cluster.id, done, workers.registered);
        this.runningState = adoption ? reportedRunningState(name, planned, cluster.k8sVersion, reportedPools) : planned;
        this.registerOutputs({ kubeconfig: this.kubeconfig, runningState: this.runningState });
    }
}

/** Pre-flight reads the kubeconfig through the data source, so it can run before the cluster resource changes. */
function registerPreflight(d: LkeDeployment, parent: pulumi.Resource): pulumi.Resource | undefined {
    const { plan } = d;
    const existingKubeconfig = plan.running?.clusterId
        ? pulumi.secret(linode.getLkeClusterOutput({ id: Number(plan.running.clusterId) }, { parent }).kubeconfig)
        : undefined;
    if (!plan.preflight || !existingKubeconfig) return undefined;
    return scriptStep(
        `${d.name}-preflight`,
        {
            create: "preflight",
            environment: preflightEnvironment(d.targetMinor),
            secrets: { K8SU_KUBECONFIG_B64: existingKubeconfig },
            triggers: preflightTriggers(plan),
        },
        d.child(),
    );
}

// The cluster resource never acts on a version change: on a k8sVersion diff the provider upgrades and then
// recycles every node of every pool by itself (terraform-provider-linode linode/lke), with no pre-flight and
// whatever the plan said. Its state keeps the version the cluster was created with, so even a strategy
// switch would trigger that. Every strategy upgrades through explicit, pre-flighted API steps instead.
function registerCluster(d: LkeDeployment, adoption: Adoption | undefined): linode.LkeCluster {
    const { name, plan } = d;
    const lke = plan.cluster.lke!;
    return new linode.LkeCluster(
        name,
        {
            label: `${name}-${plan.stack}`.slice(0, 32),
            region: lke.region,
            k8sVersion: d.targetMinor,
            tags: [...lke.tags, `k8s-upgrades-stack-${plan.stack}`],
            controlPlane: { highAvailability: lke.highAvailability },
            externalPoolTags: [MANAGED_POOL_TAG],
            pools: [
                {
                    type: lke.anchorPool.type,
                    count: lke.anchorPool.count,
                    labels: { "k8s-upgrades/role": "anchor" },
                    taints: [ANCHOR_TAINT],
                },
            ],
        },
        d.child({
            ignoreChanges: ["k8sVersion"],
            additionalSecretOutputs: ["kubeconfig"],
            ...importOption(adoption?.cluster),
        }),
    );
}

/** Control plane, one minor, through the API; without a move, what the workers wait for is pre-flight (or the cluster). */
function registerControlPlane(lke: LkeClusterSteps, preflight: pulumi.Resource | undefined): pulumi.Resource {
    const { cluster, targetMinor } = lke;
    if (lke.plan.controlPlane.change !== "minor") return preflight ?? cluster;
    return scriptStep(
        `${lke.name}-control-plane`,
        {
            create: "lke-control-plane",
            environment: {
                K8SU_LKE_CLUSTER_ID: pulumi.interpolate`${cluster.id}`,
                K8SU_TARGET_MINOR: targetMinor,
                K8SU_TIMEOUT_SECONDS: String(CONTROL_PLANE_TIMEOUT_SECONDS),
            },
            secrets: lke.secrets,
            triggers: [targetMinor],
        },
        lke.child({ dependsOn: [preflight ?? cluster, cluster] }),
    );
}

// Strategy recycle: each pool recycled through the pool-recycle API (rolling, one node at a time), one pool
// after another, and waited Ready at the target before the next; the pools' ready steps and validation follow.
function recyclePools(lke: LkeClusterSteps, controlPlane: pulumi.Resource): pulumi.Resource[] {
    const { plan, targetMinor } = lke;
    const cfg = plan.cluster;
    const recycled: pulumi.Resource[] = [];
    for (const p of plan.pools.filter((x) => x.action === "recycle")) {
        const poolId = p.running?.poolId;
        if (!poolId)
            throw new pulumi.RunError(
                `cluster ${cfg.name}: pool "${p.name}" (${p.resourceName}) has no recorded LKE pool id, so it cannot be recycled through the API; inspect 'pulumi stack output k8sUpgrades --json'`,
            );
        recycled.push(
            scriptStep(
                `${p.resourceName}-recycle`,
                {
                    create: "lke-recycle-pool",
                    environment: {
                        K8SU_LKE_CLUSTER_ID: pulumi.interpolate`${lke.cluster.id}`,
                        K8SU_LKE_POOL_ID: poolId,
                        K8SU_POOL_COUNT: String(p.config.count),
                        K8SU_TARGET_MINOR: targetMinor,
                        K8SU_READY_TIMEOUT_SECONDS: String(cfg.workers.readyTimeoutSeconds),
                    },
                    secrets: lke.secrets,
                    triggers: [targetMinor],
                },
                lke.child({ dependsOn: [recycled.at(-1) ?? controlPlane] }),
            ),
        );
    }
    return recycled;
}

/** Workers, by strategy: the shared phases, with LKE pools and the LKE in-place rollout. */
function poolAdapter(
    lke: LkeClusterSteps,
    adoption: Adoption | undefined,
    reportedPools: Record<string, ReportedPool>,
): WorkerAdapter {
    return {
        registerPool: (resourceName, spec, pool, deps) => {
            const resource = new linode.LkeNodePool(
                resourceName,
                {
                    clusterId: lke.cluster.id.apply(Number),
                    type: spec.type,
                    nodeCount: spec.count,
                    autoscaler: spec.autoscaler,
                    labels: { ...pool.labels, "k8s-upgrades/pool": pool.name },
                    taints: pool.taints,
                    tags: [MANAGED_POOL_TAG, `k8s-upgrades-pool-${pool.name}`],
                },
                lke.child({ dependsOn: deps, ...importOption(lkePoolImportId(adoption, pool.name)) }),
            );
            if (adoption)
                reportedPools[resourceName] = {
                    followsControlPlane: true,
                    count: resource.nodeCount,
                    type: resource.type,
                };
            const id = pulumi.interpolate`${resource.id}`;
            return { resource, id, selector: poolSelector(id) };
        },
        recordedSelector: (pool) => `lke.linode.com/pool-id=${pool.poolId}`,
        inPlace: (p, handle, deps) => inPlaceStep(lke, p, handle.id, deps),
        shrink: (p, deps) => shrinkStep(lke, p, deps),
    };
}

/** The autoscaler's range for the steps that change a pool's count, when the pool has one. */
function autoscalerEnvironment(p: PoolPlan): Record<string, string> {
    return p.config.autoscaler
        ? {
              K8SU_AUTOSCALER_MIN: String(p.config.autoscaler.min),
              K8SU_AUTOSCALER_MAX: String(p.config.autoscaler.max),
          }
        : {};
}

/** The LKE in-place rollout of one pool. */
function inPlaceStep(
    lke: LkeClusterSteps,
    p: PoolPlan,
    poolId: pulumi.Output<string>,
    deps: pulumi.Resource[],
): pulumi.Resource {
    const cfg = lke.plan.cluster;
    return scriptStep(
        `${p.resourceName}-in-place`,
        {
            create: "lke-in-place",
            environment: {
                K8SU_LKE_CLUSTER_ID: pulumi.interpolate`${lke.cluster.id}`,
                K8SU_LKE_POOL_ID: poolId,
                K8SU_POOL_COUNT: String(p.config.count),
                ...autoscalerEnvironment(p),
                K8SU_TARGET_MINOR: lke.targetMinor,
                K8SU_READY_TIMEOUT_SECONDS: String(cfg.workers.readyTimeoutSeconds),
                ...drainEnvironment(cfg.workers.drain),
            },
            secrets: lke.secrets,
            triggers: [lke.targetMinor],
        },
        lke.child({ dependsOn: deps }),
    );
}

/** LKE removes nodes of its own choosing when a pool's count drops: drain and delete the chosen ones first. */
function shrinkStep(lke: LkeClusterSteps, p: PoolPlan, deps: pulumi.Resource[]): pulumi.Resource {
    const { name } = lke;
    const cfg = lke.plan.cluster;
    const poolId = p.running?.poolId;
    if (!p.shrink || !poolId)
        throw new Error(
            `cluster ${name}: pool ${p.name} has no LKE pool id in the running record, so the nodes to remove cannot be chosen; run 'pulumi refresh' and deploy again`,
        );
    return scriptStep(
        `${p.resourceName}-shrink`,
        {
            create: "lke-shrink-pool",
            environment: {
                K8SU_CLUSTER: name,
                K8SU_LKE_CLUSTER_ID: pulumi.interpolate`${lke.cluster.id}`,
                K8SU_LKE_POOL_ID: poolId,
                K8SU_POOL_COUNT: String(p.shrink.to),
                ...autoscalerEnvironment(p),
                K8SU_READY_TIMEOUT_SECONDS: String(cfg.workers.readyTimeoutSeconds),
                ...drainEnvironment(cfg.workers.drain),
            },
            secrets: lke.secrets,
            triggers: [`${p.shrink.from}>${p.shrink.to}`],
        },
        lke.child({ dependsOn: deps }),
    );
}

/** The anchor pool follows the control plane by a rolling recycle; it carries no workloads. */
function recycleAnchorPool(lke: LkeClusterSteps, controlPlane: pulumi.Resource, workers: WorkersResult): void {
    const { cluster, targetMinor } = lke;
    const cfg = lke.plan.cluster;
    const anchorPoolId = cluster.pools.apply((pools) => String(pools?.[0]?.id ?? ""));
    workers.steps.push(
        scriptStep(
            `${lke.name}-anchor-recycle`,
            {
                create: "lke-recycle-pool",
                environment: {
                    K8SU_LKE_CLUSTER_ID: pulumi.interpolate`${cluster.id}`,
                    K8SU_LKE_POOL_ID: anchorPoolId,
                    K8SU_POOL_COUNT: String(cfg.lke!.anchorPool.count),
                    K8SU_TARGET_MINOR: targetMinor,
                    K8SU_READY_TIMEOUT_SECONDS: String(cfg.workers.readyTimeoutSeconds),
                },
                secrets: lke.secrets,
                triggers: [targetMinor],
            },
            lke.child({ dependsOn: [controlPlane] }),
        ),
    );
    workers.validateSelectors.push(poolSelector(anchorPoolId));
}
