// From a cluster's arguments to a decided plan: the same schema, running record, version table, planner and
// promotion gate as the config program, and the provider inputs a plan needs before any resource is registered
// (Cluster API images, EKS add-on versions), looked up through the lookups of the cluster's provider.
import * as pulumi from "@pulumi/pulumi";
import { ConfigError, type ConfigIssue, checkSupportedVersions, parseStackConfig, type StackConfig } from "../config";
import type { AddonVersions } from "../eks/addons";
import type { GkeVersions } from "../gke/versions";
import { type ClusterPlan, type PromotionSource, planStack } from "../plan";
import { parseRunningState, type RunningState } from "../running";
import { asArgumentIssue, type ClusterArgsOf, type HistoryArgs, type LibraryProvider, toClusterInput } from "./args";
import { firstDeploymentIssue, liveProviderVersions, readRunningState } from "./history";
import type { LookupsByProvider, ProviderLookups } from "./lookups";

/** What a cluster class needs to register its resources. */
export interface Decision {
    plan: ClusterPlan;
    /** Cluster API: the image (AMI) of each Kubernetes version its machines run. */
    amis?: Record<string, string>;
    /** EKS: each add-on's version for this deployment. */
    addons?: AddonVersions;
    /** EKS: the `aws:region` config, for clusters that name no region. */
    defaultRegion?: string;
    /** GKE: the exact versions this deployment asks for, from what the location offers. */
    gkeVersions?: GkeVersions;
}

/** Turns issues into the program's refusal, with secrets scrubbed. */
export function refusal(issues: ConfigIssue[], secretValues: readonly string[] = []): pulumi.RunError {
    return new pulumi.RunError(new ConfigError(issues, secretValues).message);
}

/**
 * The provider inputs the plans need (images, add-on versions, GKE versions) and the managed services' offers,
 * looked up in the stack's cluster order before anything is registered; the problems found join the planner's.
 */
export async function prepareProviders(
    stack: string,
    config: StackConfig,
    plans: ClusterPlan[],
    source: PromotionSource | undefined,
    lookups: LookupsByProvider,
): Promise<{ decisions: Map<string, Decision>; issues: ConfigIssue[] }> {
    const issues: ConfigIssue[] = [];
    const decisions = new Map<string, Decision>();
    for (const plan of plans) {
        const decision: Decision = { plan };
        decisions.set(plan.cluster.name, decision);
        const prepare = lookups[plan.cluster.provider]?.prepare;
        if (prepare)
            issues.push(
                ...(await prepare(plan, decision, { stack, index: config.clusters.indexOf(plan.cluster), source })),
            );
    }
    return { decisions, issues };
}

/** The promotion source's record; a record that cannot be read leaves the gate to refuse what it cannot prove. */
export async function readPromotionSource(resourceName: string, stack: string): Promise<PromotionSource> {
    let state: RunningState | undefined;
    try {
        state = await readRunningState(resourceName, stack);
    } catch (err) {
        state = undefined;
        void pulumi.log.warn(`could not read the running state of stack "${stack}": ${(err as Error).message}`);
    }
    return { stack, state };
}

/** One cluster's history: the record given, or the one its history stack exported. */
async function historyOf(name: string, args: HistoryArgs, stack: string): Promise<RunningState | undefined> {
    if (args.previous !== undefined)
        return parseRunningState(args.previous, `the previous argument of cluster ${name}`);
    const from = args.historyStack ?? stack;
    return readRunningState(from === stack ? "running-state" : `running-state-${from}`, from);
}

/** Decides one cluster declared through the public classes, or refuses with every problem at once. */
export async function decideCluster<P extends LibraryProvider>(
    provider: P,
    name: string,
    args: ClusterArgsOf[P],
    lookups: ProviderLookups,
): Promise<Decision> {
    const stack = pulumi.getStack();
    const raw: Record<string, unknown> = { clusters: [toClusterInput(provider, name, args)] };
    if (args.promotesFrom) raw.promotesFrom = args.promotesFrom;
    if (args.firstDeployment !== undefined) raw.firstDeployment = args.firstDeployment;
    // Problems are said in the terms of the class's arguments, not of a stack file the user never wrote.
    const refuse = (issues: ConfigIssue[]) => refusal(issues.map((i) => asArgumentIssue(provider, name, i)));
    let config: StackConfig;
    try {
        config = parseStackConfig(stack, raw);
    } catch (err) {
        throw err instanceof ConfigError ? refuse(err.issues) : err;
    }
    const running = await historyOf(name, args, stack);
    if (!running && !config.firstDeployment && !config.clusters[0]?.import)
        throw refuse([firstDeploymentIssue(stack, name)]);
    const source = config.promotesFrom
        ? await readPromotionSource(`promotes-from-${config.promotesFrom}`, config.promotesFrom)
        : undefined;
    const versions = checkSupportedVersions(
        config,
        { [name]: running?.clusters[name]?.controlPlaneVersion },
        await liveProviderVersions(config, [], { [provider]: lookups }),
    );
    for (const w of versions.warnings) void pulumi.log.warn(w);
    const { plans, issues } = planStack(config, running, source);
    issues.unshift(...versions.issues);
    const prepared = await prepareProviders(stack, config, plans, source, { [provider]: lookups });
    issues.push(...prepared.issues);
    const decision = prepared.decisions.get(name);
    if (issues.length > 0 || !decision) throw refuse(issues);
    return decision;
}
