// An LKE cluster carried through one deployment of its upgrade plan. The plan decides; this only
// registers resources in the decided order. See README "LKE" for why the control plane goes through the API.
import * as pulumi from "@pulumi/pulumi";
import * as linode from "@pulumi/linode";
import type { ClusterPlan, PoolPlan } from "../plan";
import type { RunningCluster, RunningPool } from "../running";
import { drainEnvironment } from "../scripts";
import { scriptStep } from "../steps";
import { formatMinor, requireVersion } from "../versions";

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

export class LkeUpgradeCluster extends pulumi.ComponentResource {
    readonly kubeconfig: pulumi.Output<string>;
    /** What runs once this deployment succeeds; resolves only after every step has. */
    readonly runningState: pulumi.Output<RunningCluster>;

    constructor(name: string, args: LkeClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        const { plan } = args;
        super(LKE_COMPONENT_TYPE, name, componentInputs(plan), opts);
        const cfg = plan.cluster;
        const lke = cfg.lke!;
        const target = requireVersion(cfg.kubernetesVersion);
        const targetMinor = formatMinor(target);
        const strategy = cfg.workers.strategy;
        const drainEnv = drainEnvironment(cfg.workers.drain);
        const child = (extra?: pulumi.CustomResourceOptions): pulumi.CustomResourceOptions => ({ parent: this, ...extra });

        // Pre-flight reads the kubeconfig through the data source, so it can run before the cluster resource changes.
        const existingKubeconfig = plan.running?.clusterId
            ? pulumi.secret(linode.getLkeClusterOutput({ id: Number(plan.running.clusterId) }, { parent: this }).kubeconfig)
            : undefined;
        const preflight = plan.preflight && existingKubeconfig
            ? scriptStep(`${name}-preflight`, {
                create: "preflight",
                environment: { K8SU_TARGET_MINOR: targetMinor },
                secrets: { K8SU_KUBECONFIG_B64: existingKubeconfig },
                triggers: [cfg.kubernetesVersion, ...plan.pools.map((p) => p.resourceName)],
            }, child())
            : undefined;

        // The cluster resource carries the version only for strategy recycle: the provider then upgrades
        // and recycles every node itself. Otherwise it keeps the version it was created with.
        const cluster = new linode.LkeCluster(name, {
            label: `${name}-${plan.stack}`.slice(0, 32),
            region: lke.region,
            k8sVersion: targetMinor,
            tags: [...lke.tags, `k8s-upgrades-stack-${plan.stack}`],
            controlPlane: { highAvailability: lke.highAvailability },
            externalPoolTags: [MANAGED_POOL_TAG],
            pools: [{
                type: lke.anchorPool.type,
                count: lke.anchorPool.count,
                labels: { "k8s-upgrades/role": "anchor" },
                taints: [ANCHOR_TAINT],
            }],
        }, child({
            dependsOn: strategy === "recycle" && preflight ? [preflight] : [],
            ignoreChanges: strategy === "recycle" ? [] : ["k8sVersion"],
            additionalSecretOutputs: ["kubeconfig"],
        }));
        this.kubeconfig = pulumi.secret(cluster.kubeconfig);
        const secrets = { K8SU_KUBECONFIG_B64: this.kubeconfig, LINODE_TOKEN: args.linodeToken };

        // Control plane, one minor, through the API for in-place and blue-green.
        let controlPlane: pulumi.Resource = preflight ?? cluster;
        const cpMoves = plan.controlPlane.change === "minor";
        if (cpMoves && strategy !== "recycle") {
            controlPlane = scriptStep(`${name}-control-plane`, {
                create: "lke-control-plane",
                environment: { K8SU_LKE_CLUSTER_ID: pulumi.interpolate`${cluster.id}`, K8SU_TARGET_MINOR: targetMinor, K8SU_TIMEOUT_SECONDS: String(CONTROL_PLANE_TIMEOUT_SECONDS) },
                secrets,
                triggers: [targetMinor],
            }, child({ dependsOn: [preflight ?? cluster, cluster] }));
        } else if (cpMoves) {
            controlPlane = cluster;
        }

        // Workers.
        const workerSteps: pulumi.Resource[] = [];
        const greenReady: pulumi.Resource[] = [];
        const registered: Array<{ plan: PoolPlan; pool: linode.LkeNodePool; running: RunningPool; retained: boolean }> = [];
        const validateSelectors: pulumi.Output<string>[] = [];

        const registerPool = (resourceName: string, poolName: string, spec: { type: string; count: number; autoscaler?: { min: number; max: number } }, p: PoolPlan, deps: pulumi.Resource[]) => {
            const pool = new linode.LkeNodePool(resourceName, {
                clusterId: cluster.id.apply(Number),
                type: spec.type,
                nodeCount: spec.count,
                autoscaler: spec.autoscaler,
                labels: { ...p.config.labels, "k8s-upgrades/pool": poolName },
                taints: p.config.taints,
                tags: [MANAGED_POOL_TAG, `k8s-upgrades-pool-${poolName}`],
            }, child({ dependsOn: deps }));
            // The drain guard: its delete runs before the pool's (it depends on it), drains the pool, and a
            // failed drain stops the update with the pool still there. Never give it deletedWith.
            scriptStep(`${resourceName}-drain-guard`, {
                create: "drain-guard-create",
                delete: "drain",
                environment: {
                    K8SU_CLUSTER: name,
                    K8SU_SELECTOR: poolSelector(pool.id),
                    K8SU_MIN_READY_ELSEWHERE: String(spec.count),
                    ...drainEnv,
                },
                secrets: { K8SU_KUBECONFIG_B64: this.kubeconfig },
            }, child({ dependsOn: [pool] }));
            return pool;
        };

        for (const p of plan.pools) {
            const afterControlPlane = plan.exists ? [controlPlane] : [];
            const pool = registerPool(p.resourceName, p.name, p.config, p, afterControlPlane);
            const selector = poolSelector(pool.id);
            registered.push({ plan: p, pool, retained: false, running: runningPool(p.name, p.resourceName, p.version, p.config) });
            if (compareToTarget(p.version, target) && p.action !== "keep") validateSelectors.push(selector);
            const afterUpgrade = plan.exists ? [pool, controlPlane] : [pool];

            if (p.action === "blue-green" || p.action === "recycle" || p.action === "create") {
                const ready = scriptStep(`${p.resourceName}-ready`, {
                    create: "wait-ready",
                    environment: { K8SU_SELECTOR: selector, K8SU_EXPECTED_NODES: String(p.config.count), K8SU_TARGET_MINOR: targetMinor, K8SU_TIMEOUT_SECONDS: String(cfg.workers.readyTimeoutSeconds) },
                    secrets: { K8SU_KUBECONFIG_B64: this.kubeconfig },
                    triggers: [targetMinor],
                }, child({ dependsOn: afterUpgrade }));
                workerSteps.push(ready);
                if (p.action === "blue-green") greenReady.push(ready);
            } else if (p.action === "in-place") {
                workerSteps.push(scriptStep(`${p.resourceName}-in-place`, {
                    create: "lke-in-place",
                    environment: {
                        K8SU_LKE_CLUSTER_ID: pulumi.interpolate`${cluster.id}`,
                        K8SU_LKE_POOL_ID: pulumi.interpolate`${pool.id}`,
                        K8SU_POOL_COUNT: String(p.config.count),
                        ...(p.config.autoscaler ? { K8SU_AUTOSCALER_MIN: String(p.config.autoscaler.min), K8SU_AUTOSCALER_MAX: String(p.config.autoscaler.max) } : {}),
                        K8SU_TARGET_MINOR: targetMinor,
                        K8SU_READY_TIMEOUT_SECONDS: String(cfg.workers.readyTimeoutSeconds),
                        ...drainEnv,
                    },
                    secrets,
                    triggers: [targetMinor],
                }, child({ dependsOn: [pool, controlPlane] })));
            }
        }

        // Blue pools: all cordoned at once after every green pool is Ready, then drained. By default the
        // drain is the delete-time step of each blue pool's drain guard (the blue pool leaves the program);
        // with retainPreviousPool it runs now and the blue pool stays until the next deployment.
        const blues = plan.pools.filter((p) => p.blue);
        if (blues.length > 0) {
            const cordon = scriptStep(`${name}-cordon-blue`, {
                create: "cordon",
                environment: { K8SU_SELECTORS: blues.map((p) => `lke.linode.com/pool-id=${p.blue!.poolId}`).join("\n") },
                secrets: { K8SU_KUBECONFIG_B64: this.kubeconfig },
                triggers: [targetMinor, ...blues.map((p) => p.blue!.resourceName)],
            }, child({ dependsOn: greenReady }));
            workerSteps.push(cordon);
            for (const p of blues.filter((b) => b.retainBlue)) {
                const blue = p.blue!;
                const bluePool = registerPool(blue.resourceName, p.name, { type: blue.type, count: blue.count, autoscaler: blue.autoscaler }, p, []);
                registered.push({ plan: p, pool: bluePool, retained: true, running: { ...blue, retained: true } });
                workerSteps.push(scriptStep(`${blue.resourceName}-drain`, {
                    create: "drain",
                    environment: { K8SU_CLUSTER: name, K8SU_SELECTOR: poolSelector(bluePool.id), K8SU_MIN_READY_ELSEWHERE: String(blue.count), ...drainEnv },
                    secrets: { K8SU_KUBECONFIG_B64: this.kubeconfig },
                    triggers: [targetMinor],
                }, child({ dependsOn: [cordon, bluePool] })));
            }
        }

        // The anchor pool follows the control plane by a rolling recycle; it carries no workloads.
        if (cpMoves && strategy !== "recycle") {
            const anchorPoolId = cluster.pools.apply((pools) => String(pools?.[0]?.id ?? ""));
            workerSteps.push(scriptStep(`${name}-anchor-recycle`, {
                create: "lke-recycle-pool",
                environment: {
                    K8SU_LKE_CLUSTER_ID: pulumi.interpolate`${cluster.id}`, K8SU_LKE_POOL_ID: anchorPoolId, K8SU_POOL_COUNT: String(lke.anchorPool.count),
                    K8SU_TARGET_MINOR: targetMinor, K8SU_READY_TIMEOUT_SECONDS: String(cfg.workers.readyTimeoutSeconds),
                },
                secrets,
                triggers: [targetMinor],
            }, child({ dependsOn: [controlPlane] })));
            validateSelectors.push(poolSelector(anchorPoolId));
        }

        let validation: pulumi.Resource | undefined;
        if (plan.validation) {
            validation = scriptStep(`${name}-validate`, {
                create: "validate",
                environment: { K8SU_TARGET_MINOR: targetMinor, K8SU_SELECTORS: pulumi.all(validateSelectors).apply((s) => s.join("\n")) },
                secrets: { K8SU_KUBECONFIG_B64: this.kubeconfig },
                triggers: [targetMinor, ...plan.pools.map((p) => p.resourceName)],
            }, child({ dependsOn: workerSteps.length > 0 ? workerSteps : [controlPlane] }));
        }

        // Exported only when every step above has succeeded, so a failed deployment leaves the previous record.
        const done = pulumi.all([...[validation, ...workerSteps, controlPlane].filter((r): r is pulumi.Resource => r !== undefined).map((r) => r.urn)]);
        const poolIds = pulumi.all(registered.map((r) => r.pool.id));
        this.runningState = pulumi.all([cluster.id, done, poolIds]).apply(([clusterId, , ids]) => ({
            name,
            provider: "lke",
            controlPlaneVersion: cfg.kubernetesVersion,
            clusterId: String(clusterId),
            strategy,
            pools: registered.map((r, i) => ({ ...r.running, poolId: String(ids[i]) })),
            upgradeInProgress: plan.upgradeInProgressAfter,
            validatedVersion: plan.validation ? cfg.kubernetesVersion : plan.running?.validatedVersion,
        }));
        this.registerOutputs({ kubeconfig: this.kubeconfig, runningState: this.runningState });
    }
}

function compareToTarget(version: string, target: ReturnType<typeof requireVersion>): boolean {
    const v = requireVersion(version);
    return v.major === target.major && v.minor === target.minor;
}

function runningPool(name: string, resourceName: string, version: string, spec: { type: string; count: number; autoscaler?: { min: number; max: number } }): RunningPool {
    return { name, resourceName, version, type: spec.type, count: spec.count, autoscaler: spec.autoscaler };
}

/** The component's inputs as policies see them: plain data, no secrets. */
export function componentInputs(plan: ClusterPlan): Record<string, unknown> {
    return {
        stack: plan.stack,
        cluster: plan.cluster,
        running: plan.running ?? null,
        controlPlane: plan.controlPlane,
        pools: plan.pools.map((p) => ({ name: p.name, action: p.action, resourceName: p.resourceName, version: p.version, blue: p.blue ?? null, retainBlue: p.retainBlue })),
        retired: plan.retired.map((r) => ({ resourceName: r.pool.resourceName, version: r.pool.version, reason: r.reason })),
        promotion: plan.promotion ?? null,
    };
}
