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
    kubeletSkew,
    minorPath,
    requireVersion,
} from "./versions";

export type PoolAction = "create" | "keep" | "blue-green" | "in-place" | "recycle";
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
    /** Blue-green: the generation being replaced. */
    blue?: RunningPool;
    /** Blue-green with retainPreviousPool: the blue pool stays registered, drained and cordoned. */
    retainBlue: boolean;
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
    /** Pools that leave the program: each is drained by its drain guard, then deleted. */
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

function planCluster(
    stack: string,
    cluster: ClusterConfig,
    index: number,
    running: RunningCluster | undefined,
    source?: PromotionSource,
): { plan?: ClusterPlan; issues: ConfigIssue[] } {
    const traits = PROVIDER_TRAITS[cluster.provider];
    const issues: ConfigIssue[] = [];
    const at = `clusters[${index}]`;
    const refuse = (field: string, given: unknown, allowed: string, hint?: string) =>
        issues.push({ stack, cluster: cluster.name, field: `${at}.${field}`, given, allowed, hint });
    const holds: string[] = [];
    const warnings: string[] = [];
    const target = requireVersion(cluster.kubernetesVersion);

    if (!traits.strategies.includes(cluster.workers.strategy)) {
        refuse(
            "workers.strategy",
            cluster.workers.strategy,
            `one of ${traits.strategies.join(", ")} for ${traits.title}`,
            traits.strategyHint,
        );
    }
    if (running?.provider && running.provider !== cluster.provider) {
        refuse(
            "provider",
            cluster.provider,
            `"${running.provider}", the provider this cluster runs on`,
            "A cluster cannot move between providers; create a new cluster under another name.",
        );
    }

    // Control plane: one minor at a time, never down, judged against what runs now.
    let change: ControlPlaneChange = "create";
    if (running) {
        const from = requireVersion(running.controlPlaneVersion);
        const t = controlPlaneTransition(from, target);
        switch (t.kind) {
            case "none":
                change = "none";
                break;
            case "patch":
                change = "patch";
                break;
            case "minor":
                change = "minor";
                break;
            case "skip":
                refuse(
                    "kubernetesVersion",
                    cluster.kubernetesVersion,
                    `${running.controlPlaneVersion} (no change) or the next minor ${formatMinor({ ...from, minor: from.minor + 1 })}`,
                    `The control plane runs ${running.controlPlaneVersion} and must not skip minors: upgrade through ${t.path.join(" → ")}, one deployment per minor.`,
                );
                break;
            case "downgrade":
                refuse(
                    "kubernetesVersion",
                    cluster.kubernetesVersion,
                    `${running.controlPlaneVersion} or newer (one minor at most)`,
                    `The control plane runs ${running.controlPlaneVersion}; downgrades are not supported. Set it back to ${running.controlPlaneVersion}.`,
                );
                break;
            case "major":
                refuse(
                    "kubernetesVersion",
                    cluster.kubernetesVersion,
                    `a 1.x version`,
                    "Kubernetes has no major-version upgrades.",
                );
                break;
        }
    }

    // EKS refuses a control plane upgrade while a node group lags the control plane: say which, before AWS does.
    if (running && traits.controlPlaneNeedsCurrentPools && change === "minor") {
        const cp = requireVersion(running.controlPlaneVersion);
        const lagging = running.pools.filter((p) => !p.retained && compareMinor(requireVersion(p.version), cp) < 0);
        if (lagging.length > 0) {
            refuse(
                "kubernetesVersion",
                cluster.kubernetesVersion,
                `${running.controlPlaneVersion} until every node group runs ${formatMinor(cp)}`,
                `${traits.title} refuses a control plane upgrade while node groups lag it: upgrade ${lagging.map((p) => `"${p.name}" (${p.resourceName}, at ${p.version})`).join(", ")} to ${formatMinor(cp)} first (remove their kubernetesVersion pin), deploy, then bump the cluster.`,
            );
        }
    }

    // Promotion: never ahead of what the source stack runs.
    if (source) {
        const src = source.state?.clusters[cluster.name];
        const moves = change === "create" || change === "minor" || change === "patch";
        if (!source.state) {
            if (moves) {
                refuse(
                    "kubernetesVersion",
                    cluster.kubernetesVersion,
                    `a version the promotesFrom stack "${source.stack}" already runs`,
                    `Stack "${source.stack}" has recorded no running clusters (never deployed, or its outputs cannot be read). Deploy it first, then promote.`,
                );
            }
        } else if (!src) {
            warnings.push(
                `stack "${source.stack}" has no cluster named "${cluster.name}": its version is not bounded by promotion`,
            );
        } else if (compareVersions(target, requireVersion(src.controlPlaneVersion)) > 0) {
            refuse(
                "kubernetesVersion",
                cluster.kubernetesVersion,
                `at most ${src.controlPlaneVersion}, what stack "${source.stack}" runs for cluster "${cluster.name}"`,
                `Upgrade "${source.stack}" first; then run 'npm run promote -- ${stack}'.`,
            );
        }
    }

    // Pools.
    const pools: PoolPlan[] = [];
    const runningCurrent = (name: string) => running?.pools.find((p) => p.name === name && !p.retained);
    cluster.nodePools.forEach((pool, i) => {
        const pat = `nodePools[${i}]`;
        const poolTarget = requireVersion(pool.kubernetesVersion);
        const current = runningCurrent(pool.name);
        if (traits.poolsAtClusterVersionOnly && compareMinor(poolTarget, target) !== 0) {
            const pinnedOk = current && compareMinor(poolTarget, requireVersion(current.version)) === 0;
            if (!pinnedOk) {
                refuse(
                    `${pat}.kubernetesVersion`,
                    pool.kubernetesVersion,
                    `${formatMinor(target)} (the cluster's)${current ? ` or ${formatMinor(requireVersion(current.version))} (what it runs, to hold it back)` : ""}`,
                    `${traits.title} creates every pool at the cluster's version.`,
                );
                return;
            }
            if (cluster.workers.strategy === "recycle") {
                refuse(
                    `${pat}.kubernetesVersion`,
                    pool.kubernetesVersion,
                    `the cluster's version ${formatMinor(target)} with strategy recycle`,
                    `A version change on an ${traits.title} cluster recycles every pool; hold a pool back only with blue-green or in-place.`,
                );
                return;
            }
        }
        if (!current) {
            pools.push({
                name: pool.name,
                config: pool,
                action: "create",
                resourceName: poolResourceName(cluster.name, pool.name, pool.kubernetesVersion),
                version: pool.kubernetesVersion,
                retainBlue: false,
                note: running ? "new pool" : "created with the cluster",
            });
            return;
        }
        const from = requireVersion(current.version);
        if (compareMinor(poolTarget, from) < 0) {
            refuse(
                `${pat}.kubernetesVersion`,
                pool.kubernetesVersion,
                `${current.version} or newer`,
                `Pool "${pool.name}" runs ${current.version}; pools are never downgraded.`,
            );
            return;
        }
        const typeChanged = current.type !== "" && current.type !== pool.type;
        // Where the provider does not apply patches itself, a patch bump moves the kubelets too.
        const moves =
            compareMinor(poolTarget, from) > 0 || (!traits.patchesManaged && compareVersions(poolTarget, from) > 0);
        if (typeChanged && traits.typeChangeReplacesPool && cluster.workers.strategy !== "blue-green") {
            refuse(
                `${pat}.type`,
                pool.type,
                `"${current.type}" with strategy ${cluster.workers.strategy}`,
                `Changing the machine type replaces the pool; use strategy blue-green so the old pool is drained before it goes.`,
            );
            return;
        }
        if (
            moves &&
            from.minor + 1 < poolTarget.minor &&
            !traits.poolsAtClusterVersionOnly &&
            cluster.workers.strategy === "in-place"
        ) {
            refuse(
                `${pat}.kubernetesVersion`,
                pool.kubernetesVersion,
                `at most ${formatMinor({ ...from, minor: from.minor + 1 })}`,
                `An in-place kubelet upgrade moves one minor at a time: ${minorPath(from, poolTarget).join(" → ")}.`,
            );
            return;
        }
        if (moves || (typeChanged && traits.typeChangeReplacesPool)) {
            const strategy =
                cluster.workers.strategy === "recycle" && traits.recycleAs
                    ? traits.recycleAs
                    : cluster.workers.strategy;
            const action: PoolAction = strategy === "blue-green" || !moves ? "blue-green" : strategy;
            if (action === "blue-green") {
                let resourceName = poolResourceName(cluster.name, pool.name, pool.kubernetesVersion);
                if (resourceName === current.resourceName)
                    resourceName = poolResourceName(
                        cluster.name,
                        pool.name,
                        pool.kubernetesVersion,
                        shortHash(pool.type),
                    );
                pools.push({
                    name: pool.name,
                    config: pool,
                    action,
                    resourceName,
                    version: pool.kubernetesVersion,
                    running: current,
                    blue: current,
                    retainBlue: cluster.workers.retainPreviousPool || !!traits.blueStaysOneDeployment,
                    note: `${moves ? `${current.version} → ${pool.kubernetesVersion}` : `type ${current.type} → ${pool.type}`}: new pool ${resourceName}, then ${current.resourceName} cordoned, drained${cluster.workers.retainPreviousPool ? " and kept until the next deployment" : " and removed"}`,
                });
            } else {
                pools.push({
                    name: pool.name,
                    config: pool,
                    action,
                    resourceName: current.resourceName,
                    version: pool.kubernetesVersion,
                    running: current,
                    retainBlue: false,
                    note:
                        action === "in-place"
                            ? `${current.version} → ${pool.kubernetesVersion} in place: ${traits.inPlaceSummary}`
                            : `${current.version} → ${pool.kubernetesVersion} by rolling recycle: one node down at a time`,
                });
            }
            return;
        }
        if (compareMinor(poolTarget, target) < 0)
            holds.push(
                `pool "${pool.name}" held at ${current.version} by its kubernetesVersion; the control plane goes to ${cluster.kubernetesVersion}`,
            );
        pools.push({
            name: pool.name,
            config: pool,
            action: "keep",
            resourceName: current.resourceName,
            version: current.version,
            running: current,
            retainBlue: false,
            note: current.count !== pool.count ? `count ${current.count} → ${pool.count}` : "unchanged",
        });
    });

    // Kubelets that stay where they are must remain inside the new control plane's window.
    for (const p of pools) {
        const skew = kubeletSkew(target, requireVersion(p.version));
        if (!skew.ok) {
            const i = cluster.nodePools.findIndex((x) => x.name === p.name);
            refuse(
                `nodePools[${i}].kubernetesVersion`,
                p.version,
                "a version inside the control plane's kubelet window",
                `${skew.reason}. Upgrade pool "${p.name}" first.`,
            );
        }
    }

    // Pools that leave: removed from config, or a blue pool retained by the previous deployment.
    const retired: RetiredPool[] = [];
    for (const rp of running?.pools ?? []) {
        if (rp.retained)
            retired.push({ pool: rp, reason: "blue pool retained by the previous deployment; removed now" });
        else if (!cluster.nodePools.some((p) => p.name === rp.name))
            retired.push({ pool: rp, reason: "no longer in config" });
    }

    if (issues.length > 0) return { issues };

    const exists = running !== undefined;
    const cpMoves = change === "minor" || (change === "patch" && !traits.patchesManaged);
    const workersMove = pools.some(
        (p) => p.action === "blue-green" || p.action === "in-place" || p.action === "recycle",
    );
    const preflight = exists && (cpMoves || workersMove);
    if (change === "patch" && traits.patchesManaged)
        holds.push(
            `${running!.controlPlaneVersion} → ${cluster.kubernetesVersion} is a patch: ${traits.title} applies patches itself, so nothing is migrated`,
        );
    if (cluster.workers.strategy === "recycle" && traits.recycleAs && workersMove) {
        warnings.push(
            `strategy recycle: ${traits.title} has no cluster-wide recycle, so it is the managed rolling update with maxUnavailable 1: one node down at a time`,
        );
    } else if (cluster.workers.strategy === "recycle" && workersMove) {
        warnings.push(
            `strategy recycle: every node is recycled one at a time, so capacity drops by one node during the upgrade. Use blue-green or in-place where that hurts.`,
        );
    }
    if (traits.inPlaceWarning && pools.some((p) => p.action === "in-place") && !cluster.eks?.forceUpdateVersion)
        warnings.push(traits.inPlaceWarning);
    if (retired.some((r) => r.reason === "no longer in config")) {
        warnings.push(
            `pools removed from config are drained, then deleted: ${retired
                .filter((r) => r.reason === "no longer in config")
                .map((r) => r.pool.resourceName)
                .join(", ")}`,
        );
    }
    // Validation follows every deployment that changes what runs: an upgrade, a new pool, a new cluster.
    const validation = cpMoves || workersMove || pools.some((p) => p.action === "create");
    const plan: ClusterPlan = {
        stack,
        cluster,
        traits,
        running,
        exists,
        controlPlane: { from: running?.controlPlaneVersion, to: cluster.kubernetesVersion, change },
        preflight,
        pools,
        retired,
        validation,
        holds,
        warnings,
        phases: [],
        upgradeInProgressAfter:
            pools.some((p) => compareMinor(requireVersion(p.version), target) < 0) || pools.some((p) => p.retainBlue),
        promotion: source
            ? {
                  stack: source.stack,
                  recorded: source.state !== undefined,
                  sourceVersion: source.state?.clusters[cluster.name]?.controlPlaneVersion ?? null,
              }
            : undefined,
    };
    plan.phases = describePhases(plan);
    return { plan, issues };
}

/** The ordered phases of one cluster's deployment, in words a reviewer reads. */
export function describePhases(plan: ClusterPlan): Phase[] {
    const phases: Phase[] = [];
    const { cluster, controlPlane } = plan;
    const d = cluster.workers.drain;
    if (!plan.exists) {
        phases.push({
            id: "control-plane",
            title: "Create cluster",
            steps: [`create ${cluster.name} at ${cluster.kubernetesVersion} with ${cluster.nodePools.length} pool(s)`],
        });
        phases.push({
            id: "validation",
            title: "Validation",
            steps: ["every node of the new pools Ready at the target version", "kube-system healthy"],
        });
        return phases;
    }
    if (plan.preflight) {
        phases.push({
            id: "preflight",
            title: "Pre-flight",
            steps: [
                "API reachable; every node Ready; kube-system healthy",
                "no deprecated API in use that the target removes",
                "no PodDisruptionBudget that blocks every eviction",
            ],
        });
    }
    if (controlPlane.change === "minor") {
        phases.push({
            id: "control-plane",
            title: "Control plane",
            steps: [`${controlPlane.from} → ${formatMinor(requireVersion(controlPlane.to))} (one minor)`],
        });
        phases.push({
            id: "addons",
            title: "Add-ons",
            steps: [
                plan.traits.patchesManaged
                    ? `managed by ${plan.traits.title} with the control plane`
                    : "upgraded after the control plane",
            ],
        });
    }
    const moving = plan.pools.filter((p) => p.action !== "keep" && p.action !== "create");
    const created = plan.pools.filter((p) => p.action === "create");
    if (moving.length + created.length > 0) {
        const steps = [
            ...created.map((p) => `${p.resourceName}: new pool at ${p.version}`),
            ...moving.map((p) => `${p.resourceName}: ${p.note}`),
        ];
        if (moving.some((p) => p.action === "blue-green"))
            steps.push(
                `drain: all blue nodes cordoned first, then drained ${d.batchSize} at a time, ${d.soakSeconds}s soak between batches, ${d.gracePeriodSeconds === undefined ? "each pod's own grace period" : `grace ${d.gracePeriodSeconds}s`}, timeout ${d.timeoutSeconds}s, PodDisruptionBudgets respected`,
            );
        phases.push({ id: "workers", title: `Workers (${cluster.workers.strategy})`, steps });
    }
    if (plan.validation)
        phases.push({
            id: "validation",
            title: "Validation",
            steps: ["every node of the upgraded pools Ready at the target version", "kube-system healthy"],
        });
    const retiring = [
        ...plan.pools
            .filter((p) => p.blue && !p.retainBlue)
            .map((p) => `${p.blue!.resourceName}: drained (delete-time), then removed`),
        ...plan.pools
            .filter((p) => p.blue && p.retainBlue)
            .map((p) => `${p.blue!.resourceName}: kept cordoned and empty until the next deployment`),
        ...plan.retired.map((r) => `${r.pool.resourceName}: ${r.reason}; drained, then removed`),
    ];
    if (retiring.length > 0) phases.push({ id: "retire", title: "Retire old capacity", steps: retiring });
    return phases;
}
