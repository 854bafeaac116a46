// The Pulumi program: config → running state → plan → provider components → exports for the next run.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { type AmiByVersion, CapiAwsUpgradeCluster, imageMoves, neededVersions, resolveAmis } from "./capi-aws/cluster";
import { ConfigError, type ConfigIssue, type ProviderName, parseStackConfig, type StackConfig } from "./config";
import { type AddonName, type AddonVersions, decideAddons, finishAddons } from "./eks/addons";
import { EksUpgradeCluster } from "./eks/cluster";
import { KubeadmUpgradeCluster } from "./kubeadm/cluster";
import { LkeUpgradeCluster } from "./lke/cluster";
import { type ClusterPlan, type PromotionSource, planStack } from "./plan";
import { parseRunningState, RUNNING_STATE_OUTPUT, RUNNING_STATE_SCHEMA, type RunningState } from "./running";
import { formatMinor, requireVersion } from "./versions";

export const CONFIG_NAMESPACE = "k8s-upgrades";

/** The namespace's keys, without the prefix, with structured values parsed as the CLI stores them (JSON). */
export function readNamespaceConfig(): Record<string, unknown> {
    const raw: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(pulumi.runtime.allConfig())) {
        if (!key.startsWith(`${CONFIG_NAMESPACE}:`)) continue;
        let parsed: unknown = value;
        try {
            parsed = JSON.parse(value);
        } catch {
            /* a plain string */
        }
        raw[key.slice(CONFIG_NAMESPACE.length + 1)] = parsed;
    }
    return raw;
}

/** `organization/k8s-upgrades/<stack>` on the file backend, `<org>/k8s-upgrades/<stack>` on Pulumi Cloud. */
export function stackReferenceName(stack: string): string {
    return `${pulumi.getOrganization()}/${pulumi.getProject()}/${stack}`;
}

async function readRunningState(resourceName: string, stack: string): Promise<RunningState | undefined> {
    const ref = new pulumi.StackReference(resourceName, { name: stackReferenceName(stack) });
    const details = await ref.getOutputDetails(RUNNING_STATE_OUTPUT);
    return parseRunningState(details.value ?? details.secretValue, `stack "${stack}"`);
}

export async function main(): Promise<Record<string, unknown>> {
    const stack = pulumi.getStack();
    let config: StackConfig;
    try {
        config = parseStackConfig(stack, readNamespaceConfig());
    } catch (err) {
        throw err instanceof ConfigError ? new pulumi.RunError(err.message) : err;
    }

    const running = await readRunningState("running-state", stack);
    let source: PromotionSource | undefined;
    if (config.promotesFrom) {
        let state: RunningState | undefined;
        try {
            state = await readRunningState("promotes-from", config.promotesFrom);
        } catch (err) {
            state = undefined;
            void pulumi.log.warn(
                `could not read the running state of stack "${config.promotesFrom}": ${(err as Error).message}`,
            );
        }
        source = { stack: config.promotesFrom, state };
    }

    const { plans, issues } = planStack(config, running, source);
    // Cluster API machines need an image built for their version: resolve them all before registering anything.
    const amis = new Map<string, AmiByVersion>();
    for (const plan of plans.filter((p) => p.cluster.provider === "capi-aws")) {
        const resolved = await resolveAmis(
            stack,
            config.clusters.indexOf(plan.cluster),
            plan.cluster,
            neededVersions(plan),
            plan.running?.images,
        );
        amis.set(plan.cluster.name, resolved.amis);
        issues.push(...resolved.issues);
        for (const m of imageMoves(plan, resolved.amis))
            plan.warnings.push(
                `Kubernetes ${m.version} moves from ${m.from} to ${m.to} (capi-aws.amis): every machine at that version is replaced, control plane first, after a pre-flight`,
            );
    }
    // EKS add-ons: recorded versions stay; an upgrade looks up (or takes the promoted) versions for the target.
    const addons = new Map<string, AddonVersions>();
    const awsRegion = new pulumi.Config("aws").get("region");
    for (const plan of plans.filter((p) => p.cluster.provider === "eks")) {
        const decision = decideAddons(plan, source?.state?.clusters[plan.cluster.name]);
        const found: Partial<Record<AddonName, string>> = {};
        const region = plan.cluster.eks?.region ?? awsRegion;
        for (const addonName of decision.lookups) {
            const kubernetesVersion = formatMinor(requireVersion(plan.cluster.kubernetesVersion));
            found[addonName] = (
                await aws.eks.getAddonVersion({
                    addonName,
                    kubernetesVersion,
                    mostRecent: true,
                    ...(region ? { region } : {}),
                })
            ).version;
        }
        const finished = finishAddons(plan, config.clusters.indexOf(plan.cluster), decision, found);
        addons.set(plan.cluster.name, finished.versions);
        issues.push(...finished.issues);
    }
    if (issues.length > 0) throw new pulumi.RunError(new ConfigError(issues as ConfigIssue[]).message);

    const linodeToken = new pulumi.Config("linode").getSecret("token");
    const clusters: Record<string, pulumi.Output<unknown>> = {};
    const kubeconfigs: Record<string, pulumi.Output<string>> = {};
    const namespace = new pulumi.Config(CONFIG_NAMESPACE);
    /** Each provider's adapter: registers the cluster's resources and says what to export. */
    const adapters: Record<
        ProviderName,
        (plan: ClusterPlan) => { runningState: pulumi.Output<unknown>; kubeconfig?: pulumi.Output<string> }
    > = {
        lke: (plan) => new LkeUpgradeCluster(plan.cluster.name, { plan, linodeToken }),
        eks: (plan) =>
            new EksUpgradeCluster(plan.cluster.name, {
                plan,
                defaultRegion: awsRegion,
                addonVersions: addons.get(plan.cluster.name)!,
            }),
        kubeadm: (plan) =>
            new KubeadmUpgradeCluster(plan.cluster.name, {
                plan,
                sshPrivateKey: namespace.requireSecret(plan.cluster.kubeadm!.ssh.privateKeySecret),
                kubeconfig: namespace.requireSecret(plan.cluster.kubeadm!.kubeconfigSecret),
            }),
        "capi-aws": (plan) =>
            new CapiAwsUpgradeCluster(plan.cluster.name, {
                plan,
                amis: amis.get(plan.cluster.name)!,
                managementKubeconfig: namespace.requireSecret(plan.cluster.capiAws!.managementKubeconfigSecret),
            }),
    };
    for (const plan of plans) {
        for (const w of plan.warnings) void pulumi.log.warn(`cluster ${plan.cluster.name}: ${w}`);
        for (const h of plan.holds) void pulumi.log.info(`cluster ${plan.cluster.name}: ${h}`);
        const cluster = adapters[plan.cluster.provider](plan);
        clusters[plan.cluster.name] = cluster.runningState;
        if (cluster.kubeconfig) kubeconfigs[plan.cluster.name] = cluster.kubeconfig;
    }

    return {
        [RUNNING_STATE_OUTPUT]: pulumi.output(clusters).apply((c) => ({
            schemaVersion: RUNNING_STATE_SCHEMA,
            stack,
            promotesFrom: config.promotesFrom ?? null,
            clusters: c,
        })),
        kubeconfigs: pulumi.secret(kubeconfigs),
    };
}
