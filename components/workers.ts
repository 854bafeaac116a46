// Provider-neutral worker phases: pool generations with their drain guards, wait-ready, cordon of every
// blue pool at once, the drains of every pool that leaves (one after another within the cluster), validation
// after them, and the running state to export, which waits for all of it. An adapter says only how a pool is
// registered, how its nodes are selected, how an in-place move is done, and how a lower count is carried out.
import * as pulumi from "@pulumi/pulumi";
import type { NodePoolConfig } from "./config";
import type { ClusterPlan, PoolPlan } from "./plan";
import type { RunningCluster, RunningPool } from "./running";
import { drainEnvironment } from "./scripts";
import { scriptStep } from "./steps";
import { formatMinor, requireVersion } from "./versions";

export interface PoolSpec {
    type: string;
    count: number;
    autoscaler?: { min: number; max: number };
    /** The kubelet minor this generation runs. */
    version: string;
}

export interface PoolHandle {
    resource: pulumi.CustomResource;
    /** The provider's id of the pool (LKE pool id, EKS node group name). */
    id: pulumi.Output<string>;
    /** A label selector for the pool's nodes. */
    selector: pulumi.Output<string>;
}

export interface WorkerAdapter {
    /** Registers one pool generation after `deps`. */
    registerPool(resourceName: string, spec: PoolSpec, pool: NodePoolConfig, deps: pulumi.Resource[]): PoolHandle;
    /** The label selector of a pool recorded by an earlier deployment. */
    recordedSelector(pool: RunningPool): string;
    /** Moves a pool in place; returns the step to wait for, or undefined when the pool resource itself does it. */
    inPlace(p: PoolPlan, handle: PoolHandle, deps: pulumi.Resource[]): pulumi.Resource | undefined;
    /**
     * A lower count (p.shrink): drains and deletes exactly the nodes that go, before the pool resource sets the
     * count, so the provider never picks nodes to remove. Needed where the planner plans shrinks (countDecrease
     * "drain-nodes").
     */
    shrink?(p: PoolPlan, deps: pulumi.Resource[]): pulumi.Resource;
}

export interface WorkersArgs {
    parent: pulumi.Resource;
    name: string;
    plan: ClusterPlan;
    kubeconfig: pulumi.Output<string>;
    /** The step the control plane's upgrade completes with (or the cluster on a first deployment). */
    controlPlane: pulumi.Resource;
    /** Steps before the workers move (add-ons), when the provider has them. */
    beforeWorkers?: pulumi.Resource[];
    adapter: WorkerAdapter;
}

export interface WorkersResult {
    /** Every step the running record and validation wait for, drains included. */
    steps: pulumi.Resource[];
    validateSelectors: pulumi.Output<string>[];
    registered: Array<{ running: RunningPool; id: pulumi.Output<string> }>;
}

export function carryOutWorkers(args: WorkersArgs): WorkersResult {
    const phases = new WorkerPhases(args);
    for (const p of args.plan.pools) phases.carryOutPool(p);
    phases.retireBluePools();
    phases.drainLeavingPools();
    return phases.result();
}

/** What the worker phases of one cluster share while they register their steps, in the order they run. */
class WorkerPhases {
    private readonly args: WorkersArgs;
    private readonly targetMinor: string;
    private readonly drainEnv: Record<string, string>;
    private readonly secrets: { K8SU_KUBECONFIG_B64: pulumi.Output<string> };
    /** What every pool waits for once the cluster exists: the control plane's step and the add-ons. */
    private readonly gate: pulumi.Resource[];
    private readonly steps: pulumi.Resource[] = [];
    private readonly greenReady: pulumi.Resource[] = [];
    private readonly validateSelectors: pulumi.Output<string>[] = [];
    private readonly registered: WorkersResult["registered"] = [];
    // Every step of this cluster that drains nodes waits for the one before it, so that drain.batchSize is the
    // number of nodes drained at once in the cluster (the engine would otherwise run independent steps in parallel).
    private lastDrain: pulumi.Resource | undefined;

    constructor(args: WorkersArgs) {
        const cfg = args.plan.cluster;
        this.args = args;
        this.targetMinor = formatMinor(requireVersion(cfg.kubernetesVersion));
        this.drainEnv = drainEnvironment(cfg.workers.drain);
        this.secrets = { K8SU_KUBECONFIG_B64: args.kubeconfig };
        this.gate = args.plan.exists ? [args.controlPlane, ...(args.beforeWorkers ?? [])] : [];
    }

    result(): WorkersResult {
        return { steps: this.steps, validateSelectors: this.validateSelectors, registered: this.registered };
    }

    /** One pool of the plan: a lower count carried out first, its generation registered, then moved by its action. */
    carryOutPool(p: PoolPlan): void {
        // A rollback registers the retained pool exactly as the deployment that kept it did.
        const from = p.action === "rollback" ? p.running! : p.config;
        const spec: PoolSpec = {
            type: from.type,
            count: from.count,
            autoscaler: from.autoscaler,
            version: formatMinor(requireVersion(p.version)),
        };
        const poolDeps = this.shrinkFirst(p);
        const handle = this.register(p.resourceName, spec, p.config, poolDeps);
        this.registered.push({
            running: {
                name: p.name,
                resourceName: p.resourceName,
                version: p.version,
                type: spec.type,
                count: spec.count,
                autoscaler: spec.autoscaler,
            },
            id: handle.id,
        });
        if (p.action === "keep") return;
        if (p.action === "rollback") {
            const back = rollbackSteps(this.args, p, handle, this.gate);
            this.steps.push(...back);
            this.greenReady.push(back[back.length - 1]);
            return;
        }
        if (formatMinor(requireVersion(p.version)) === this.targetMinor) this.validateSelectors.push(handle.selector);
        if (p.action === "in-place") this.moveInPlace(p, handle);
        else this.waitReady(p, handle);
    }

    /** A lower count: the nodes that go drained and deleted before the pool resource sets the count; its deps. */
    private shrinkFirst(p: PoolPlan): pulumi.Resource[] {
        if (!p.shrink || !p.running) return this.gate;
        const { adapter, plan } = this.args;
        if (!adapter.shrink) throw new Error(`${plan.cluster.provider} cannot lower the count of pool ${p.name}`);
        const shrink = adapter.shrink(p, this.afterLastDrain(this.gate));
        this.lastDrain = shrink;
        this.steps.push(shrink);
        if (p.action === "keep" && formatMinor(requireVersion(p.version)) === this.targetMinor)
            this.validateSelectors.push(pulumi.output(adapter.recordedSelector(p.running)));
        return [...this.gate, shrink];
    }

    /** The adapter's in-place move, after the drain before it: the move drains nodes itself. */
    private moveInPlace(p: PoolPlan, handle: PoolHandle): void {
        const step = this.args.adapter.inPlace(p, handle, this.afterLastDrain([handle.resource, ...this.gate]));
        if (step) {
            this.steps.push(step);
            if (step !== handle.resource) this.lastDrain = step;
        }
    }

    /** A new generation (blue-green's green pool, or a new pool) waited Ready at its version. */
    private waitReady(p: PoolPlan, handle: PoolHandle): void {
        const ready = scriptStep(
            `${p.resourceName}-ready`,
            {
                create: "wait-ready",
                environment: {
                    K8SU_SELECTOR: handle.selector,
                    K8SU_EXPECTED_NODES: String(p.config.count),
                    K8SU_TARGET_MINOR: formatMinor(requireVersion(p.version)),
                    K8SU_TIMEOUT_SECONDS: String(this.args.plan.cluster.workers.readyTimeoutSeconds),
                },
                secrets: this.secrets,
                triggers: [this.targetMinor],
            },
            this.child({ dependsOn: [handle.resource, ...this.gate] }),
        );
        this.steps.push(ready);
        if (p.action === "blue-green") this.greenReady.push(ready);
    }

    // Blue pools: all cordoned at once after every green pool is Ready, then drained one after another by steps of
    // this deployment, which the validation and the running record wait for. The engine deletes a blue pool only
    // after the program has finished (and the record is written), so the pool must be empty by then: its drain
    // guard checks again on delete. With retainPreviousPool the blue pool stays, drained, until the next deployment.
    retireBluePools(): void {
        const blues = this.args.plan.pools.filter((p) => p.blue);
        if (blues.length === 0) return;
        const { adapter, name } = this.args;
        const cordon = scriptStep(
            `${name}-cordon-blue`,
            {
                create: "cordon",
                environment: { K8SU_SELECTORS: blues.map((p) => adapter.recordedSelector(p.blue!)).join("\n") },
                secrets: this.secrets,
                triggers: [this.targetMinor, ...blues.map((p) => p.blue!.resourceName)],
            },
            this.child({ dependsOn: this.greenReady }),
        );
        this.steps.push(cordon);
        for (const p of blues) this.drainBlue(p, cordon);
    }

    /** One blue pool drained after the cordon; a retained one stays registered, as the record keeps it. */
    private drainBlue(p: PoolPlan, cordon: pulumi.Resource): void {
        const blue = p.blue!;
        if (!p.retainBlue) {
            this.steps.push(
                this.drainStep(
                    `${blue.resourceName}-drain`,
                    this.args.adapter.recordedSelector(blue),
                    blue.count,
                    [this.targetMinor],
                    [cordon],
                ),
            );
            return;
        }
        const handle = this.register(
            blue.resourceName,
            {
                type: blue.type,
                count: blue.count,
                autoscaler: blue.autoscaler,
                version: formatMinor(requireVersion(blue.version)),
            },
            p.config,
            // Registered after the control plane step like every pool of the cluster: the engine then leaves it
            // as it is until the control plane has moved, and the policy pack sees no worker change ahead of it.
            this.gate,
        );
        this.registered.push({ running: { ...blue, retained: true }, id: handle.id });
        this.steps.push(
            this.drainStep(
                `${blue.resourceName}-drain`,
                handle.selector,
                blue.count,
                [this.targetMinor],
                [cordon, handle.resource],
            ),
        );
    }

    // Pools that leave the program (removed from config, or retained by the previous deployment): drained now, after
    // the pre-flight and any new capacity, so that the engine's delete finds them empty. A new trigger from the
    // retained pool's drain of the previous deployment makes the step run again.
    drainLeavingPools(): void {
        const { plan, adapter } = this.args;
        const newCapacity = [...this.steps];
        for (const r of plan.retired) {
            this.steps.push(
                this.drainStep(
                    `${r.pool.resourceName}-drain`,
                    adapter.recordedSelector(r.pool),
                    r.pool.count,
                    ["leaves", r.reason],
                    [...this.gate, ...newCapacity],
                ),
            );
        }
        if (plan.retired.some((r) => r.reason === "no longer in config")) {
            // Validation after the drain checks the pools that take the pods.
            for (const p of plan.pools) {
                if (p.action === "keep" && formatMinor(requireVersion(p.version)) === this.targetMinor && p.running)
                    this.validateSelectors.push(pulumi.output(adapter.recordedSelector(p.running)));
            }
        }
    }

    /** A pool generation from the adapter, with its drain guard. */
    private register(resourceName: string, spec: PoolSpec, pool: NodePoolConfig, deps: pulumi.Resource[]): PoolHandle {
        const handle = this.args.adapter.registerPool(resourceName, spec, pool, deps);
        // The drain guard, the last safety net: its delete runs before the pool's (it depends on it), drains
        // whatever is still there (normally nothing: a retiring pool is drained by a step of the deployment), and
        // a failed drain stops the update with the pool still there. Never give it deletedWith.
        scriptStep(
            `${resourceName}-drain-guard`,
            {
                create: "drain-guard-create",
                delete: "drain",
                environment: {
                    K8SU_CLUSTER: this.args.name,
                    K8SU_SELECTOR: handle.selector,
                    K8SU_MIN_READY_ELSEWHERE: String(spec.count),
                    ...this.drainEnv,
                },
                secrets: this.secrets,
                // Should the pool ever be replaced, the guard is replaced with it: the old guard's delete drains
                // the old pool (its selector is in state) before the engine deletes that pool.
                triggers: [handle.id],
            },
            this.child({ dependsOn: [handle.resource] }),
        );
        return handle;
    }

    /** A drain step, after the cluster's previous one. */
    private drainStep(
        stepName: string,
        selector: pulumi.Input<string>,
        minReadyElsewhere: number,
        triggers: pulumi.Input<unknown>[],
        deps: pulumi.Resource[],
    ): pulumi.Resource {
        const drain = scriptStep(
            stepName,
            {
                create: "drain",
                environment: {
                    K8SU_CLUSTER: this.args.name,
                    K8SU_SELECTOR: selector,
                    K8SU_MIN_READY_ELSEWHERE: String(minReadyElsewhere),
                    ...this.drainEnv,
                },
                secrets: this.secrets,
                triggers,
            },
            this.child({ dependsOn: this.afterLastDrain(deps) }),
        );
        this.lastDrain = drain;
        return drain;
    }

    private afterLastDrain(deps: pulumi.Resource[]): pulumi.Resource[] {
        return this.lastDrain ? [...deps, this.lastDrain] : deps;
    }

    private child(extra?: pulumi.CustomResourceOptions): pulumi.CustomResourceOptions {
        return { parent: this.args.parent, ...extra };
    }
}

/**
 * A worker rollback's own steps: the retained pool uncordoned, then waited Ready at its version. The pool that
 * replaced it is cordoned and drained after them, as a blue pool is (plan.blue).
 */
function rollbackSteps(args: WorkersArgs, p: PoolPlan, handle: PoolHandle, gate: pulumi.Resource[]): pulumi.Resource[] {
    const secrets = { K8SU_KUBECONFIG_B64: args.kubeconfig };
    const minor = formatMinor(requireVersion(p.version));
    const triggers = [`rollback-from-${p.blue!.resourceName}`];
    const uncordon = scriptStep(
        `${p.resourceName}-uncordon`,
        { create: "uncordon", environment: { K8SU_SELECTORS: handle.selector }, secrets, triggers },
        { parent: args.parent, dependsOn: [handle.resource, ...gate] },
    );
    const ready = scriptStep(
        `${p.resourceName}-ready`,
        {
            create: "wait-ready",
            environment: {
                K8SU_SELECTOR: handle.selector,
                K8SU_EXPECTED_NODES: String(p.running!.count),
                K8SU_TARGET_MINOR: minor,
                K8SU_TIMEOUT_SECONDS: String(args.plan.cluster.workers.readyTimeoutSeconds),
            },
            secrets,
            triggers,
        },
        { parent: args.parent, dependsOn: [uncordon] },
    );
    return [uncordon, ready];
}

/** What re-runs the pre-flight: any change of version, of pool generations, of pools leaving, or of a lower count. */
export function preflightTriggers(plan: ClusterPlan): string[] {
    return [
        plan.cluster.kubernetesVersion,
        ...plan.pools.map((p) => (p.shrink ? `${p.resourceName}:${p.shrink.from}>${p.shrink.to}` : p.resourceName)),
        ...plan.retired.map((r) => `-${r.pool.resourceName}`),
    ];
}

/** The validation step after the workers, when the plan has one. */
export function validationStep(
    args: Pick<WorkersArgs, "parent" | "name" | "plan" | "kubeconfig"> & { controlPlane?: pulumi.Resource },
    after: pulumi.Resource[],
    selectors: pulumi.Output<string>[],
): pulumi.Resource | undefined {
    const { plan } = args;
    if (!plan.validation) return undefined;
    const targetMinor = formatMinor(requireVersion(plan.cluster.kubernetesVersion));
    return scriptStep(
        `${args.name}-validate`,
        {
            create: "validate",
            environment: {
                K8SU_TARGET_MINOR: targetMinor,
                K8SU_SELECTORS: pulumi.all(selectors).apply((s) => [...new Set(s)].join("\n")),
            },
            secrets: { K8SU_KUBECONFIG_B64: args.kubeconfig },
            triggers: [targetMinor, ...plan.pools.map((p) => p.resourceName)],
        },
        { parent: args.parent, dependsOn: after.length > 0 ? after : args.controlPlane ? [args.controlPlane] : [] },
    );
}

/** What runs once this deployment succeeds; resolves only after every step has, so a failure keeps the previous record. */
export function runningStateOf(
    plan: ClusterPlan,
    clusterId: pulumi.Input<string>,
    done: pulumi.Resource[],
    registered: WorkersResult["registered"],
): pulumi.Output<RunningCluster> {
    // One combination of everything it waits for: every output combined keeps a chain of promises pending until the
    // deployment ends, for each cluster of the stack, so nested combinations cost memory at fleet scale.
    const poolIds = registered.map((r) => r.id);
    return pulumi.all([clusterId, ...poolIds, ...done.map((r) => r.urn)]).apply(([id, ...values]) => ({
        name: plan.cluster.name,
        provider: plan.cluster.provider,
        controlPlaneVersion: plan.cluster.kubernetesVersion,
        clusterId: String(id),
        strategy: plan.cluster.workers.strategy,
        pools: registered.map((r, i) => ({ ...r.running, poolId: String(values[i]) })),
        upgradeInProgress: plan.upgradeInProgressAfter,
        validatedVersion: plan.validation ? plan.cluster.kubernetesVersion : plan.running?.validatedVersion,
    }));
}

/** The component's inputs as policies see them: plain data, no secrets. */
export function componentInputs(plan: ClusterPlan): Record<string, unknown> {
    return {
        stack: plan.stack,
        cluster: plan.cluster,
        running: plan.running ?? null,
        controlPlane: plan.controlPlane,
        pools: plan.pools.map((p) => ({
            name: p.name,
            action: p.action,
            resourceName: p.resourceName,
            version: p.version,
            blue: p.blue ?? null,
            retainBlue: p.retainBlue,
        })),
        retired: plan.retired.map((r) => ({
            resourceName: r.pool.resourceName,
            version: r.pool.version,
            reason: r.reason,
        })),
        promotion: plan.promotion ?? null,
    };
}
