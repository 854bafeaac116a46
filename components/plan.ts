// The upgrade planner: from validated config, what runs now, and the promotion source, decide for each
// cluster what changes, in which order, and what is refused or held back (with the reason). Pure.
import { createHash } from "node:crypto";
import type { ClusterConfig, ConfigIssue, NodePoolConfig, StackConfig } from "./config";
import { PROVIDER_TRAITS, type ProviderTraits } from "./providers";
import type { RunningCluster, RunningPool, RunningState } from "./running";
import {
    compareMinor,
    compareVersions,
    controlPlaneTransition,
    formatMinor,
    type KubeVersion,
    kubeletSkew,
    minorPath,
    promotionRefusal,
    requireVersion,
} from "./versions";

export type PoolAction = "create" | "keep" | "blue-green" | "in-place" | "recycle" | "rollback";
export type ControlPlaneChange = "create" | "none" | "patch" | "minor";

export interface PoolPlan {
    name: string;
    config: NodePoolConfig;
    action: PoolAction;
    /** The pool generation registered in this deployment: the green one for blue-green. */
    resourceName: string;
    /** The kubelet version this generation runs once the deployment is done. */
    version: string;
    running?: RunningPool;
    /** Blue-green: the generation being replaced. Rollback: the generation that leaves (the one that replaced it). */
    blue?: RunningPool;
    /** Blue-green with retainPreviousPool: the blue pool stays registered, drained and cordoned. */
    retainBlue: boolean;
    /** A lower count in config: the nodes to go are drained and deleted by a step before the pool's count is set. */
    shrink?: { from: number; to: number };
    note: string;
}

export interface RetiredPool {
    pool: RunningPool;
    reason: string;
}

export interface Phase {
    id: "preflight" | "control-plane" | "addons" | "workers" | "validation" | "retire";
    title: string;
    steps: string[];
}

export interface ClusterPlan {
    stack: string;
    cluster: ClusterConfig;
    traits: ProviderTraits;
    running?: RunningCluster;
    /** The cluster existed before this deployment. */
    exists: boolean;
    controlPlane: { from?: string; to: string; change: ControlPlaneChange };
    /** Pre-flight checks run before anything changes. */
    preflight: boolean;
    pools: PoolPlan[];
    /** Pools that leave the program: each is drained by a step of this deployment (after the pre-flight when removed
     * from config), then deleted by the engine once empty; its drain guard checks again on delete. */
    retired: RetiredPool[];
    /** Validation runs after the workers. */
    validation: boolean;
    /** Why something was held back or needs nothing. */
    holds: string[];
    warnings: string[];
    phases: Phase[];
    /** After this deployment, some pool still lags the control plane or a retained pool waits. */
    upgradeInProgressAfter: boolean;
    /** The promotesFrom bound, as judged: what the source stack runs for this cluster (null when it has none). */
    promotion?: { stack: string; recorded: boolean; sourceVersion: string | null };
}

export interface PromotionSource {
    stack: string;
    /** Undefined when the source stack has recorded nothing (never deployed, or outputs unreadable). */
    state?: RunningState;
}

export interface StackPlan {
    plans: ClusterPlan[];
    issues: ConfigIssue[];
}

/** Name of a pool generation's Pulumi resource: cluster, pool, the minor it was created at, and the type when that alone changed. */
export function poolResourceName(cluster: string, pool: string, version: string, typeSuffix?: string): string {
    const v = requireVersion(version);
    return `${cluster}-${pool}-${v.major}-${v.minor}${typeSuffix ? `-${typeSuffix}` : ""}`;
}

function shortHash(text: string): string {
    return createHash("sha256").update(text).digest("hex").slice(0, 6);
}

export function planStack(config: StackConfig, running?: RunningState, source?: PromotionSource): StackPlan {
    const issues: ConfigIssue[] = [];
    const plans: ClusterPlan[] = [];
    config.clusters.forEach((cluster, index) => {
        const result = planCluster(config.stack, cluster, index, running?.clusters[cluster.name], source);
        issues.push(...result.issues);
        if (result.plan) plans.push(result.plan);
    });
    return { plans, issues };
}

/** What every phase of one cluster's plan reads: the cluster as configured and as it runs now. */
export interface ClusterInput {
    cluster: ClusterConfig;
    traits: ProviderTraits;
    running?: RunningCluster;
    target: KubeVersion;
}

/** One refused field of one cluster, relative to `clusters[i]`. */
export interface Refusal {
    field: string;
    given: unknown;
    allowed: string;
    hint?: string;
}

export function clusterInput(cluster: ClusterConfig, running?: RunningCluster): ClusterInput {
    return {
        cluster,
        traits: PROVIDER_TRAITS[cluster.provider],
        running,
        target: requireVersion(cluster.kubernetesVersion),
    };
}

/**
 * One cluster's plan, phase by phase in the order of the upgrade: what the provider can do, the control plane,
 * the pools, the kubelet window, the pools that leave, the checks around them, and the promotion gate.
 */
function planCluster(
    stack: string,
    cluster: ClusterConfig,
    index: number,
    running: RunningCluster | undefined,
    source?: PromotionSource,
): { plan?: ClusterPlan; issues: ConfigIssue[] } {
    const input = clusterInput(cluster, running);
    const controlPlane = decideControlPlane(input);
    const pools = decidePools(input);
    const gate = gatePromotion(input, controlPlane.change, stack, source);
    const refusals = [
        ...checkProviderFit(input),
        ...controlPlane.refusals,
        ...checkPoolsCurrentForControlPlane(input, controlPlane.change),
        ...gate.refusals,
        ...pools.refusals,
        ...checkKubeletWindow(input, pools.pools),
    ];
    const issues = refusals.map((r) => ({
        stack,
        cluster: cluster.name,
        ...r,
        field: `clusters[${index}].${r.field}`,
    }));
    if (issues.length > 0) return { issues };

    const retired = retirePools(input, pools.pools);
    const checks = decideChecks(input, controlPlane.change, pools.pools, retired);
    const plan: ClusterPlan = {
        stack,
        cluster,
        traits: input.traits,
        running,
        exists: running !== undefined,
        controlPlane: {
            from: running?.controlPlaneVersion,
            to: cluster.kubernetesVersion,
            change: controlPlane.change,
        },
        preflight: checks.preflight,
        pools: pools.pools,
        retired,
        validation: checks.validation,
        holds: [...pools.holds, ...checks.holds],
        warnings: [...gate.warnings, ...checks.warnings],
        phases: [],
        upgradeInProgressAfter: upgradeInProgressAfter(input, pools.pools),
        promotion: gate.promotion,
    };
    plan.phases = describePhases(plan);
    return { plan, issues };
}

/** The strategy is one the provider's adapter carries out, and the cluster stays on the provider it runs on. */
export function checkProviderFit({ cluster, traits, running }: ClusterInput): Refusal[] {
    const refusals: Refusal[] = [];
    if (!traits.strategies.includes(cluster.workers.strategy)) {
        refusals.push({
            field: "workers.strategy",
            given: cluster.workers.strategy,
            allowed: `one of ${traits.strategies.join(", ")} for ${traits.title}`,
            hint: traits.strategyHint,
        });
    }
    if (running?.provider && running.provider !== cluster.provider) {
        refusals.push({
            field: "provider",
            given: cluster.provider,
            allowed: `"${running.provider}", the provider this cluster runs on`,
            hint: "A cluster cannot move between providers; create a new cluster under another name.",
        });
    }
    return refusals;
}

/** Phase 1, the control plane: one minor at a time, never down, judged against what runs now. */
export function decideControlPlane({ cluster, running, target }: ClusterInput): {
    change: ControlPlaneChange;
    refusals: Refusal[];
} {
    if (!running) return { change: "create", refusals: [] };
    const from = requireVersion(running.controlPlaneVersion);
    const t = controlPlaneTransition(from, target);
    const given = cluster.kubernetesVersion;
    const runs = running.controlPlaneVersion;
    switch (t.kind) {
        case "none":
        case "patch":
        case "minor":
            return { change: t.kind, refusals: [] };
        case "skip":
            return refuseControlPlane({
                field: "kubernetesVersion",
                given,
                allowed: `${runs} (no change) or the next minor ${formatMinor({ ...from, minor: from.minor + 1 })}`,
                hint: `The control plane runs ${runs} and must not skip minors: upgrade through ${t.path.join(" → ")}, one deployment per minor.`,
            });
        case "downgrade":
            return refuseControlPlane({
                field: "kubernetesVersion",
                given,
                allowed: `${runs} or newer (one minor at most)`,
                hint: `The control plane runs ${runs}; downgrades are not supported. Set it back to ${runs}.`,
            });
        case "major":
            return refuseControlPlane({
                field: "kubernetesVersion",
                given,
                allowed: "a 1.x version",
                hint: "Kubernetes has no major-version upgrades.",
            });
    }
}

function refuseControlPlane(refusal: Refusal): { change: ControlPlaneChange; refusals: Refusal[] } {
    return { change: "none", refusals: [refusal] };
}

function describeRunningPools(pools: RunningPool[]): string {
    return pools.map((p) => `"${p.name}" (${p.resourceName}, at ${p.version})`).join(", ");
}

/**
 * Phase 1, its precondition where the provider has one: EKS refuses a control plane upgrade while a node group
 * lags the control plane, so say which, before AWS does.
 */
export function checkPoolsCurrentForControlPlane(
    { cluster, traits, running }: ClusterInput,
    change: ControlPlaneChange,
): Refusal[] {
    if (!running || !traits.controlPlaneNeedsCurrentPools || change !== "minor") return [];
    const cp = requireVersion(running.controlPlaneVersion);
    const runs = running.controlPlaneVersion;
    const behind = (p: RunningPool) => compareMinor(requireVersion(p.version), cp) < 0;
    const lagging = running.pools.filter((p) => !p.retained && behind(p));
    const retained = running.pools.filter((p) => p.retained && behind(p));
    const refusals: Refusal[] = [];
    if (lagging.length > 0) {
        refusals.push({
            field: "kubernetesVersion",
            given: cluster.kubernetesVersion,
            allowed: `${runs} until every node group runs ${formatMinor(cp)}`,
            hint: `${traits.title} refuses a control plane upgrade while node groups lag it: upgrade ${describeRunningPools(lagging)} to ${formatMinor(cp)} first (remove their kubernetesVersion pin), deploy, then bump the cluster.`,
        });
    }
    // A retained blue node group lags too, and the engine removes it only after the control plane step.
    if (retained.length > 0) {
        const many = retained.length > 1;
        refusals.push({
            field: "kubernetesVersion",
            given: cluster.kubernetesVersion,
            allowed: `${runs} until the retained blue node group${many ? "s are" : " is"} removed`,
            hint: `${traits.title} refuses a control plane upgrade while any node group lags it, and ${describeRunningPools(retained)} ${many ? "are" : "is"} kept from the last blue-green move (retainPreviousPool); it would only be removed after the control plane step. Deploy once with kubernetesVersion ${runs} (that deployment drains and removes it), then bump the cluster.`,
        });
    }
    return refusals;
}

/** Phase 2, the pools: for each pool in config, create, keep, or move it by the cluster's strategy. */
export function decidePools(input: ClusterInput): { pools: PoolPlan[]; holds: string[]; refusals: Refusal[] } {
    const pools: PoolPlan[] = [];
    const holds: string[] = [];
    const refusals: Refusal[] = [];
    input.cluster.nodePools.forEach((pool, i) => {
        const decision = decidePool(input, pool);
        if ("refusal" in decision) {
            refusals.push({ ...decision.refusal, field: `nodePools[${i}].${decision.refusal.field}` });
            return;
        }
        pools.push(decision.pool);
        if (decision.hold) holds.push(decision.hold);
    });
    return { pools, holds, refusals };
}

type PoolDecision = { pool: PoolPlan; hold?: string } | { refusal: Refusal };

/** What changes for one pool: refused, created, moved (blue-green, in place, recycled) or kept. */
export function decidePool(input: ClusterInput, pool: NodePoolConfig): PoolDecision {
    const { cluster, running } = input;
    const current = running?.pools.find((p) => p.name === pool.name && !p.retained);
    const rollback = decideRollback(input, pool, current);
    if (rollback) return rollback;
    const pinned = checkPoolAtClusterVersion(input, pool, current);
    if (pinned) return { refusal: pinned };
    if (!current) {
        return {
            pool: {
                name: pool.name,
                config: pool,
                action: "create",
                resourceName: poolResourceName(cluster.name, pool.name, pool.kubernetesVersion),
                version: pool.kubernetesVersion,
                retainBlue: false,
                note: running ? "new pool" : "created with the cluster",
            },
        };
    }
    const change = poolChange(input, pool, current);
    const refusal = checkPoolMove(input, pool, current, change);
    if (refusal) return { refusal };
    if (change.moves || change.replaces) return { pool: movePool(input, pool, current, change) };
    return keepPool(input, pool, current, change);
}

/** The pool the last blue-green move kept (retainPreviousPool), when one of this name is recorded. */
function retainedPool({ running }: ClusterInput, pool: NodePoolConfig): RunningPool | undefined {
    return running?.pools.find((p) => p.name === pool.name && p.retained);
}

/**
 * Phase 2, a worker rollback: the pool's kubernetesVersion set back to the version of the pool that the last
 * blue-green move retained, while the control plane stays. The retained pool comes back (uncordoned, waited Ready)
 * and the pool that replaced it is cordoned, drained and removed: no new pool, no node downgraded. Undefined when
 * the pool does not go down to a retained pool's version (the downgrade refusal then applies).
 */
export function decideRollback(
    input: ClusterInput,
    pool: NodePoolConfig,
    current: RunningPool | undefined,
): PoolDecision | undefined {
    const { cluster, traits, running, target } = input;
    const retained = retainedPool(input, pool);
    const poolTarget = requireVersion(pool.kubernetesVersion);
    if (!running || !current || !retained || compareMinor(poolTarget, requireVersion(current.version)) >= 0)
        return undefined;
    if (compareMinor(requireVersion(retained.version), poolTarget) !== 0) return undefined;
    const runs = requireVersion(running.controlPlaneVersion);
    const refuse = (field: string, given: unknown, allowed: string, hint: string): PoolDecision => ({
        refusal: { field, given, allowed, hint },
    });
    const back = `rolling pool "${pool.name}" back to ${retained.resourceName} (${retained.version})`;
    if (traits.blueStaysOneDeployment)
        return refuse(
            "kubernetesVersion",
            pool.kubernetesVersion,
            `${current.version} or newer`,
            `${traits.title} scales a retired pool to zero, so ${retained.resourceName} has no nodes to return to; move the pool forward instead.`,
        );
    if (compareMinor(target, runs) !== 0)
        return refuse(
            "kubernetesVersion",
            pool.kubernetesVersion,
            `${current.version} while the control plane moves to ${cluster.kubernetesVersion}`,
            `A worker rollback runs while the control plane stays: set the cluster's kubernetesVersion back to ${running.controlPlaneVersion} (what runs) for ${back}, and move the control plane in a deployment of its own.`,
        );
    const skew = kubeletSkew(runs, requireVersion(retained.version));
    if (!skew.ok)
        return refuse(
            "kubernetesVersion",
            pool.kubernetesVersion,
            `${current.version}: ${retained.version} is outside the kubelet window of the control plane ${running.controlPlaneVersion}`,
            `${skew.reason}. ${retained.resourceName} cannot serve under this control plane; keep ${current.resourceName}.`,
        );
    if ((retained.type !== "" && retained.type !== pool.type) || retained.count !== pool.count)
        return refuse(
            retained.count !== pool.count ? "count" : "type",
            retained.count !== pool.count ? pool.count : pool.type,
            `type "${retained.type}" and count ${retained.count}, what ${retained.resourceName} runs`,
            `A rollback brings ${retained.resourceName} back as it is: set the pool's type and count to what it runs for ${back}; change them in a later deployment.`,
        );
    return {
        pool: {
            name: pool.name,
            config: pool,
            action: "rollback",
            resourceName: retained.resourceName,
            version: retained.version,
            running: retained,
            blue: current,
            retainBlue: false,
            note: `rollback ${current.version} → ${retained.version}: the retained pool ${retained.resourceName} uncordoned and waited Ready, then ${current.resourceName} cordoned, drained and removed; no new pool, no node downgraded`,
        },
        hold: `pool "${pool.name}" rolled back to ${retained.version} (${retained.resourceName}); the control plane stays at ${running.controlPlaneVersion}`,
    };
}

/** Said wherever a pool's version goes down and no rollback applies: what a rollback needs. */
function rollbackHint(input: ClusterInput, pool: NodePoolConfig): string {
    const retained = retainedPool(input, pool);
    const needs =
        "Workers roll back only to the pool that the last blue-green move kept (workers.retainPreviousPool: true), during the deployment after it";
    return retained
        ? ` ${needs}; the pool kept for "${pool.name}" is ${retained.resourceName}, at ${retained.version}, not ${pool.kubernetesVersion}.`
        : ` ${needs}; none is recorded for "${pool.name}".`;
}

/** How a pool in config differs from the generation that runs. */
interface PoolChange {
    /** The kubelets move: a newer minor, or a newer patch where the provider does not apply patches itself. */
    moves: boolean;
    typeChanged: boolean;
    /** The count drops and the provider can only lower it through a new generation. */
    newGenerationForCount: boolean;
    /** The pool needs a new generation even if its kubelets stay. */
    replaces: boolean;
    /** A lower count carried out by draining and deleting chosen nodes. */
    shrink?: { from: number; to: number };
}

function poolChange({ traits }: ClusterInput, pool: NodePoolConfig, current: RunningPool): PoolChange {
    const poolTarget = requireVersion(pool.kubernetesVersion);
    const from = requireVersion(current.version);
    const typeChanged = current.type !== "" && current.type !== pool.type;
    const countDrops = current.count > pool.count;
    const moves =
        compareMinor(poolTarget, from) > 0 || (!traits.patchesManaged && compareVersions(poolTarget, from) > 0);
    const newGenerationForCount = countDrops && traits.countDecrease === "new-generation";
    return {
        moves,
        typeChanged,
        newGenerationForCount,
        replaces: (typeChanged && traits.typeChangeReplacesPool) || newGenerationForCount,
        shrink:
            countDrops && traits.countDecrease === "drain-nodes" ? { from: current.count, to: pool.count } : undefined,
    };
}

/** Where every pool is created at the cluster's version, a pool may only differ from it to be held back. */
function checkPoolAtClusterVersion(
    input: ClusterInput,
    pool: NodePoolConfig,
    current: RunningPool | undefined,
): Refusal | undefined {
    const { cluster, traits, target } = input;
    const poolTarget = requireVersion(pool.kubernetesVersion);
    if (!traits.poolsAtClusterVersionOnly || compareMinor(poolTarget, target) === 0) return undefined;
    const pinnedOk = current && compareMinor(poolTarget, requireVersion(current.version)) === 0;
    if (!pinnedOk) {
        const runs = current
            ? ` or ${formatMinor(requireVersion(current.version))} (what it runs, to hold it back)`
            : "";
        const down = current && compareMinor(poolTarget, requireVersion(current.version)) < 0;
        return {
            field: "kubernetesVersion",
            given: pool.kubernetesVersion,
            allowed: `${formatMinor(target)} (the cluster's)${runs}`,
            hint: `${traits.title} creates every pool at the cluster's version.${down ? rollbackHint(input, pool) : ""}`,
        };
    }
    if (cluster.workers.strategy === "recycle") {
        return {
            field: "kubernetesVersion",
            given: pool.kubernetesVersion,
            allowed: `the cluster's version ${formatMinor(target)} with strategy recycle`,
            hint: `A version change on an ${traits.title} cluster recycles every pool; hold a pool back only with blue-green or in-place.`,
        };
    }
    return undefined;
}

/** A move the strategy cannot carry out without losing capacity or skipping a minor is refused. */
function checkPoolMove(
    input: ClusterInput,
    pool: NodePoolConfig,
    current: RunningPool,
    change: PoolChange,
): Refusal | undefined {
    const { cluster, traits } = input;
    const poolTarget = requireVersion(pool.kubernetesVersion);
    const from = requireVersion(current.version);
    const strategy = cluster.workers.strategy;
    if (compareMinor(poolTarget, from) < 0) {
        return {
            field: "kubernetesVersion",
            given: pool.kubernetesVersion,
            allowed: `${current.version} or newer`,
            hint: `Pool "${pool.name}" runs ${current.version}; pools are never downgraded.${rollbackHint(input, pool)}`,
        };
    }
    if (change.typeChanged && traits.typeChangeReplacesPool && strategy !== "blue-green") {
        return {
            field: "type",
            given: pool.type,
            allowed: `"${current.type}" with strategy ${strategy}`,
            hint: "Changing the machine type replaces the pool; use strategy blue-green so the old pool is drained before it goes.",
        };
    }
    if (
        change.moves &&
        from.minor + 1 < poolTarget.minor &&
        !traits.poolsAtClusterVersionOnly &&
        strategy === "in-place"
    ) {
        return {
            field: "kubernetesVersion",
            given: pool.kubernetesVersion,
            allowed: `at most ${formatMinor({ ...from, minor: from.minor + 1 })}`,
            hint: `An in-place kubelet upgrade moves one minor at a time: ${minorPath(from, poolTarget).join(" → ")}.`,
        };
    }
    if (change.newGenerationForCount && change.moves && strategy !== "blue-green") {
        return {
            field: "count",
            given: pool.count,
            allowed: `${current.count} while the pool moves ${strategy} to ${pool.kubernetesVersion}`,
            hint: `${traits.title} would pick the instances to remove itself; lower the count in a deployment of its own, which moves the pool to a new node group of ${pool.count} and drains the old one.`,
        };
    }
    return undefined;
}

function shrinkNote(shrink: { from: number; to: number } | undefined): string {
    return shrink
        ? `; count ${shrink.from} → ${shrink.to}: the ${shrink.from - shrink.to} node(s) to go cordoned, drained and deleted through the node API before the count is set`
        : "";
}

/** A pool that moves: a new (green) generation beside the running one, or the running one in place or recycled. */
function movePool(input: ClusterInput, pool: NodePoolConfig, current: RunningPool, change: PoolChange): PoolPlan {
    const { cluster, traits } = input;
    const strategy =
        cluster.workers.strategy === "recycle" && traits.recycleAs ? traits.recycleAs : cluster.workers.strategy;
    const action: PoolAction = strategy === "blue-green" || !change.moves ? "blue-green" : strategy;
    if (action === "blue-green") return greenPool(input, pool, current, change);
    const how =
        action === "in-place" ? `in place: ${traits.inPlaceSummary}` : "by rolling recycle: one node down at a time";
    return {
        name: pool.name,
        config: pool,
        action,
        resourceName: current.resourceName,
        version: pool.kubernetesVersion,
        running: current,
        retainBlue: false,
        shrink: change.shrink,
        note: `${current.version} → ${pool.kubernetesVersion} ${how}${shrinkNote(change.shrink)}`,
    };
}

/**
 * Blue-green: the green generation's name differs from every recorded one's (the blue one, and a retained one of
 * the last move, which leaves in this deployment) by minor, then type, then count. Taking a recorded name would
 * turn that drained, cordoned generation into the green one.
 */
function greenPool(
    { cluster, traits, running }: ClusterInput,
    pool: NodePoolConfig,
    current: RunningPool,
    change: PoolChange,
) {
    const candidates = [undefined, shortHash(pool.type), shortHash(`${pool.type}/${pool.count}`)];
    const names = candidates.map((suffix) => poolResourceName(cluster.name, pool.name, pool.kubernetesVersion, suffix));
    const recorded = new Set(running?.pools.map((p) => p.resourceName));
    const resourceName = names.find((n) => !recorded.has(n)) ?? names[names.length - 1];
    const why = change.moves
        ? `${current.version} → ${pool.kubernetesVersion}`
        : change.typeChanged
          ? `type ${current.type} → ${pool.type}`
          : `count ${current.count} → ${pool.count}`;
    const retain = cluster.workers.retainPreviousPool;
    const plan: PoolPlan = {
        name: pool.name,
        config: pool,
        action: "blue-green",
        resourceName,
        version: pool.kubernetesVersion,
        running: current,
        blue: current,
        retainBlue: retain || !!traits.blueStaysOneDeployment,
        note: `${why}: new pool ${resourceName}, then ${current.resourceName} cordoned, drained${retain ? " and kept until the next deployment" : " and removed"}`,
    };
    return plan;
}

/** A pool whose kubelets stay: unchanged, a count change, or held back behind the control plane. */
function keepPool(
    { cluster, target }: ClusterInput,
    pool: NodePoolConfig,
    current: RunningPool,
    change: PoolChange,
): { pool: PoolPlan; hold?: string } {
    const held = compareMinor(requireVersion(pool.kubernetesVersion), target) < 0;
    const note = change.shrink
        ? shrinkNote(change.shrink).slice(2)
        : current.count !== pool.count
          ? `count ${current.count} → ${pool.count}`
          : "unchanged";
    return {
        pool: {
            name: pool.name,
            config: pool,
            action: "keep",
            resourceName: current.resourceName,
            version: current.version,
            running: current,
            retainBlue: false,
            shrink: change.shrink,
            note,
        },
        hold: held
            ? `pool "${pool.name}" held at ${current.version} by its kubernetesVersion; the control plane goes to ${cluster.kubernetesVersion}`
            : undefined,
    };
}

/** Phase 2, its bound: kubelets that stay where they are must remain inside the new control plane's window. */
export function checkKubeletWindow({ cluster, target }: ClusterInput, pools: PoolPlan[]): Refusal[] {
    const refusals: Refusal[] = [];
    for (const p of pools) {
        const skew = kubeletSkew(target, requireVersion(p.version));
        if (!skew.ok) {
            const i = cluster.nodePools.findIndex((x) => x.name === p.name);
            refusals.push({
                field: `nodePools[${i}].kubernetesVersion`,
                given: p.version,
                allowed: "a version inside the control plane's kubelet window",
                hint: `${skew.reason}. Upgrade pool "${p.name}" first.`,
            });
        }
    }
    return refusals;
}

/** Phase 3, retirements: pools removed from config, and a blue pool retained by the previous deployment. */
export function retirePools({ cluster, running }: ClusterInput, pools: PoolPlan[] = []): RetiredPool[] {
    const retired: RetiredPool[] = [];
    // A retained pool that a rollback brings back stays.
    const back = new Set(pools.filter((p) => p.action === "rollback").map((p) => p.resourceName));
    for (const rp of running?.pools ?? []) {
        if (rp.retained && back.has(rp.resourceName)) continue;
        if (rp.retained)
            retired.push({ pool: rp, reason: "blue pool retained by the previous deployment; removed now" });
        else if (!cluster.nodePools.some((p) => p.name === rp.name))
            retired.push({ pool: rp, reason: "no longer in config" });
    }
    return retired;
}

/**
 * Phase 4, the checks around the change: the pre-flight before anything drains nodes, the validation after every
 * deployment that changes what runs, and what the reviewer should know (holds and warnings).
 */
export function decideChecks(
    { cluster, traits, running }: ClusterInput,
    change: ControlPlaneChange,
    pools: PoolPlan[],
    retired: RetiredPool[],
): { preflight: boolean; validation: boolean; holds: string[]; warnings: string[] } {
    const cpMoves = change === "minor" || (change === "patch" && !traits.patchesManaged);
    const workersMove = pools.some(
        (p) => p.action === "blue-green" || p.action === "in-place" || p.action === "recycle",
    );
    const removed = retired.filter((r) => r.reason === "no longer in config");
    const shrinks = pools.some((p) => p.shrink);
    // A rollback drains the pool that leaves; its own pool is checked by its ready step, at its older version.
    const rollback = pools.some((p) => p.action === "rollback");
    const holds: string[] = [];
    const warnings: string[] = [];
    if (change === "patch" && traits.patchesManaged && running)
        holds.push(
            `${running.controlPlaneVersion} → ${cluster.kubernetesVersion} is a patch: ${traits.title} applies patches itself, so nothing is migrated`,
        );
    if (cluster.workers.strategy === "recycle" && workersMove) {
        warnings.push(
            traits.recycleAs
                ? `strategy recycle: ${traits.title} has no cluster-wide recycle, so it is the managed rolling update with maxUnavailable 1: one node down at a time`
                : "strategy recycle: every node is recycled one at a time, so capacity drops by one node during the upgrade. Use blue-green or in-place where that hurts.",
        );
    }
    if (traits.inPlaceWarning && pools.some((p) => p.action === "in-place") && !cluster.eks?.forceUpdateVersion)
        warnings.push(traits.inPlaceWarning);
    if (removed.length > 0)
        warnings.push(
            `pools removed from config are drained, then deleted: ${removed.map((r) => r.pool.resourceName).join(", ")}`,
        );
    return {
        // Removing a pool or lowering a count drains nodes: the same pre-flight as an upgrade goes first.
        preflight: running !== undefined && (cpMoves || workersMove || rollback || removed.length > 0 || shrinks),
        // Validation follows every deployment that changes what runs or drains nodes: an upgrade, a new pool, a new
        // cluster, a pool removed, a count lowered.
        validation: cpMoves || workersMove || pools.some((p) => p.action === "create") || removed.length > 0 || shrinks,
        holds,
        warnings,
    };
}

function upgradeInProgressAfter({ target }: ClusterInput, pools: PoolPlan[]): boolean {
    return pools.some((p) => compareMinor(requireVersion(p.version), target) < 0) || pools.some((p) => p.retainBlue);
}

/** Phase 5, the promotion gate: never ahead of what the promotesFrom stack runs. */
export function gatePromotion(
    { cluster, target }: ClusterInput,
    change: ControlPlaneChange,
    stack: string,
    source: PromotionSource | undefined,
): { refusals: Refusal[]; warnings: string[]; promotion?: ClusterPlan["promotion"] } {
    if (!source) return { refusals: [], warnings: [] };
    const promotion = {
        stack: source.stack,
        recorded: source.state !== undefined,
        sourceVersion: source.state?.clusters[cluster.name]?.controlPlaneVersion ?? null,
    };
    const given = cluster.kubernetesVersion;
    if (!source.state) {
        const moves = change === "create" || change === "minor" || change === "patch";
        const refusals: Refusal[] = moves
            ? [
                  {
                      field: "kubernetesVersion",
                      given,
                      allowed: `a version the promotesFrom stack "${source.stack}" already runs`,
                      hint: `Stack "${source.stack}" has recorded no running clusters (never deployed, or its outputs cannot be read). Deploy it first, then promote.`,
                  },
              ]
            : [];
        return { refusals, warnings: [], promotion };
    }
    const src = source.state.clusters[cluster.name];
    if (!src) {
        const warning = `stack "${source.stack}" has no cluster named "${cluster.name}": its version is not bounded by promotion`;
        return { refusals: [], warnings: [warning], promotion };
    }
    const why = promotionRefusal(target, requireVersion(src.controlPlaneVersion));
    const refusals: Refusal[] = why
        ? [
              {
                  field: "kubernetesVersion",
                  given,
                  allowed: `at most ${src.controlPlaneVersion}, what stack "${source.stack}" runs for cluster "${cluster.name}"`,
                  hint: `Upgrade "${source.stack}" first (${why}); then run 'npm run promote -- ${stack}'.`,
              },
          ]
        : [];
    return { refusals, warnings: [], promotion };
}

/** The ordered phases of one cluster's deployment, in words a reviewer reads. */
export function describePhases(plan: ClusterPlan): Phase[] {
    if (!plan.exists) return describeCreation(plan);
    const phases = [describePreflight(plan), ...describeControlPlane(plan), describeWorkers(plan)];
    if (plan.validation)
        phases.push({
            id: "validation",
            title: "Validation",
            steps: [
                "after every drain: every node of the upgraded pools Ready at the target version",
                "kube-system healthy",
            ],
        });
    phases.push(describeRetirement(plan));
    return phases.filter((p): p is Phase => p !== undefined);
}

function describeCreation({ cluster }: ClusterPlan): Phase[] {
    return [
        {
            id: "control-plane",
            title: "Create cluster",
            steps: [`create ${cluster.name} at ${cluster.kubernetesVersion} with ${cluster.nodePools.length} pool(s)`],
        },
        {
            id: "validation",
            title: "Validation",
            steps: ["every node of the new pools Ready at the target version", "kube-system healthy"],
        },
    ];
}

function describePreflight(plan: ClusterPlan): Phase | undefined {
    if (!plan.preflight) return undefined;
    return {
        id: "preflight",
        title: "Pre-flight",
        steps: [
            "API reachable; every node Ready; kube-system healthy",
            "no deprecated API in use that the target removes",
            "no PodDisruptionBudget that blocks every eviction",
        ],
    };
}

function describeControlPlane({ controlPlane, traits }: ClusterPlan): Phase[] {
    if (controlPlane.change !== "minor") return [];
    return [
        {
            id: "control-plane",
            title: "Control plane",
            steps: [`${controlPlane.from} → ${formatMinor(requireVersion(controlPlane.to))} (one minor)`],
        },
        {
            id: "addons",
            title: "Add-ons",
            steps: [
                traits.patchesManaged
                    ? `managed by ${traits.title} with the control plane`
                    : "upgraded after the control plane",
            ],
        },
    ];
}

function describeWorkers(plan: ClusterPlan): Phase | undefined {
    const { cluster } = plan;
    const d = cluster.workers.drain;
    const moving = plan.pools.filter((p) => p.action !== "keep" && p.action !== "create");
    const created = plan.pools.filter((p) => p.action === "create");
    const shrunk = plan.pools.filter((p) => p.action === "keep" && p.shrink);
    const removed = plan.retired.filter((r) => r.reason === "no longer in config");
    if (moving.length + created.length + shrunk.length + removed.length === 0) return undefined;
    const steps = [
        ...created.map((p) => `${p.resourceName}: new pool at ${p.version}`),
        ...moving.map((p) => `${p.resourceName}: ${p.note}`),
        ...shrunk.map((p) => `${p.resourceName}: ${p.note}`),
        ...removed.map((r) => `${r.pool.resourceName}: removed from config: capacity checked, cordoned and drained`),
    ];
    const blue = moving.some((p) => p.blue !== undefined);
    if (blue || removed.length > 0) {
        const grace = d.gracePeriodSeconds === undefined ? "each pod's own" : `${d.gracePeriodSeconds}s`;
        steps.push(
            `drain: ${blue ? "all blue nodes cordoned first, then " : ""}one pool after another, ${d.batchSize} node(s) at a time in this cluster, ${d.soakSeconds}s soak between batches, grace ${grace}, timeout ${d.timeoutSeconds}s, PodDisruptionBudgets respected; the running record moves only after every drain and the validation after it`,
        );
    }
    return { id: "workers", title: `Workers (${cluster.workers.strategy})`, steps };
}

function describeRetirement(plan: ClusterPlan): Phase | undefined {
    const retiring = [
        ...plan.pools
            .filter((p) => p.blue && !p.retainBlue)
            .map((p) => `${p.blue!.resourceName}: drained above, then deleted by the engine once empty`),
        ...plan.pools
            .filter((p) => p.blue && p.retainBlue)
            .map((p) => `${p.blue!.resourceName}: kept cordoned and empty until the next deployment`),
        ...plan.retired.map((r) => `${r.pool.resourceName}: ${r.reason}; drained above, then deleted once empty`),
    ];
    return retiring.length > 0 ? { id: "retire", title: "Retire old capacity", steps: retiring } : undefined;
}
