// The Pulumi program: config → running state → plan → provider components → exports for the next run.
import * as aws from "@pulumi/aws";
import * as linode from "@pulumi/linode";
import * as pulumi from "@pulumi/pulumi";
import * as runtimeConfig from "@pulumi/pulumi/runtime/config";
import { AksUpgradeCluster } from "./aks/cluster";
import { checkUpgradeProfile } from "./aks/upgrade-profile";
import { type AmiByVersion, CapiAwsUpgradeCluster, imageMoves, neededVersions, resolveAmis } from "./capi-aws/cluster";
import {
    CONFIG_NAMESPACE,
    ConfigError,
    type ConfigIssue,
    checkSupportedVersions,
    type ProviderName,
    parseStackConfig,
    type StackConfig,
    scrub,
    stackFile,
} from "./config";
import { type AddonName, type AddonVersions, decideAddons, finishAddons } from "./eks/addons";
import { EksUpgradeCluster } from "./eks/cluster";
import { GkeUpgradeCluster } from "./gke/cluster";
import { lookUpGkeVersions } from "./gke/engine";
import type { GkeVersions } from "./gke/versions";
import { KubeadmUpgradeCluster } from "./kubeadm/cluster";
import { LkeUpgradeCluster } from "./lke/cluster";
import { type ClusterPlan, type PromotionSource, planStack } from "./plan";
import { ROLLOUT_OUTPUT } from "./rollout";
import { parseRunningState, RUNNING_STATE_OUTPUT, RUNNING_STATE_SCHEMA, type RunningState } from "./running";
import { compareMinor, formatMinor, parseVersion, requireVersion } from "./versions";
import { type ClusterComponent, registerInWaves } from "./waves";

export { CONFIG_NAMESPACE };

/** The stack's config as the program sees it: our namespace parsed, every key's name, and what is secret. */
export interface NamespaceConfig {
    /** The namespace's keys, without the prefix, with structured values parsed as the CLI stores them (JSON). */
    raw: Record<string, unknown>;
    /** The stack's keys in other namespaces, with their values. */
    otherConfig: Record<string, unknown>;
    /** Keys of our namespace (without the prefix) that Pulumi marks secret. */
    secretKeys: string[];
    /** Every secret value of the stack, in any namespace: never printed. */
    secretValues: string[];
}

/** The SDK knows which keys are secret but does not declare the function in its types. */
const isConfigSecret = (runtimeConfig as unknown as { isConfigSecret?: (k: string) => boolean }).isConfigSecret;
function isSecretKey(key: string): boolean {
    return isConfigSecret ? isConfigSecret(key) : false;
}

export function readNamespaceConfig(): NamespaceConfig {
    const out: NamespaceConfig = { raw: {}, otherConfig: {}, secretKeys: [], secretValues: [] };
    for (const [key, value] of Object.entries(pulumi.runtime.allConfig())) {
        const secret = isSecretKey(key);
        if (secret) out.secretValues.push(value);
        if (!key.startsWith(`${CONFIG_NAMESPACE}:`)) {
            out.otherConfig[key] = value;
            continue;
        }
        const name = key.slice(CONFIG_NAMESPACE.length + 1);
        if (secret) out.secretKeys.push(name);
        let parsed: unknown = value;
        try {
            parsed = JSON.parse(value);
        } catch {
            /* a plain string */
        }
        out.raw[name] = parsed;
    }
    return out;
}

/**
 * The minors LKE and EKS offer, from their APIs at preview time. Where an API cannot say (no credentials, the
 * offline plan's mocks), the dated table in components/config/supported-versions.ts applies.
 */
async function liveProviderVersions(
    config: StackConfig,
    secretValues: string[],
): Promise<Partial<Record<ProviderName, string[]>>> {
    const live: Partial<Record<ProviderName, string[]>> = {};
    const ask = async (provider: ProviderName, list: () => Promise<(string | undefined)[]>) => {
        if (!config.clusters.some((c) => c.provider === provider)) return;
        try {
            const minors = (await list()).map((v) => parseVersion(v)).filter((v) => v !== undefined);
            if (minors.length > 0)
                live[provider] = [...new Set(minors.map(formatMinor))].sort((a, b) =>
                    compareMinor(requireVersion(a), requireVersion(b)),
                );
        } catch (err) {
            void pulumi.log.info(
                scrub(
                    `the ${provider} API did not list its Kubernetes versions (${(err as Error).message}); the dated table applies`,
                    secretValues,
                ),
            );
        }
    };
    await ask("lke", async () => ((await linode.getLkeVersions()).versions ?? []).map((v) => v.id));
    await ask("eks", async () =>
        ((await aws.eks.getClusterVersions({})).clusterVersions ?? []).map((v) => v.clusterVersion),
    );
    return live;
}

/** Missing history is not a first deployment: the user must say so, or the pre-flight and skew checks would be skipped. */
export function firstDeploymentIssue(stack: string): ConfigIssue {
    return {
        stack,
        field: `${CONFIG_NAMESPACE}:firstDeployment`,
        given: undefined,
        allowed: `true only when this stack has never been deployed (no previous outputs could be read: stack output ${RUNNING_STATE_OUTPUT} is missing)`,
        hint:
            `If the clusters do not exist yet, set ${CONFIG_NAMESPACE}:firstDeployment: true in ${stackFile(stack)} ` +
            `(the offline plan's --first-deployment does the same). If they exist, do not: restore the stack's state ` +
            `(pulumi stack import --file <backup>) or run 'pulumi stack output ${RUNNING_STATE_OUTPUT} --json' to see ` +
            "why the outputs are missing, so the pre-flight and version checks see what runs.",
    };
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

/** The accepted config and the history it needs, or a refusal; version issues join the planner's. */
async function readConfigAndHistory(stack: string) {
    const namespace = readNamespaceConfig();
    const refuse = (issues: ConfigIssue[]) =>
        new pulumi.RunError(new ConfigError(issues, namespace.secretValues).message);
    let config: StackConfig;
    try {
        // Without the SDK's answer, which keys are secret is unknown: then plain-text secrets cannot be told apart.
        config = parseStackConfig(stack, namespace.raw, {
            ...namespace,
            secretKeys: isConfigSecret ? namespace.secretKeys : undefined,
        });
    } catch (err) {
        throw err instanceof ConfigError ? new pulumi.RunError(err.message) : err;
    }
    const running = await readRunningState("running-state", stack);
    if (!running && !config.firstDeployment) throw refuse([firstDeploymentIssue(stack)]);
    if (running && config.firstDeployment)
        void pulumi.log.warn(
            `${CONFIG_NAMESPACE}:firstDeployment is ignored: stack "${stack}" has previous outputs, so it is not a first deployment. Remove the key from ${stackFile(stack)}.`,
        );
    const versions = checkSupportedVersions(
        config,
        Object.fromEntries(Object.values(running?.clusters ?? {}).map((c) => [c.name, c.controlPlaneVersion])),
        await liveProviderVersions(config, namespace.secretValues),
    );
    for (const w of versions.warnings) void pulumi.log.warn(scrub(w, namespace.secretValues));
    return { config, running, versionIssues: versions.issues, refuse };
}

export async function main(): Promise<Record<string, unknown>> {
    const stack = pulumi.getStack();
    const { config, running, versionIssues, refuse } = await readConfigAndHistory(stack);
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
    issues.unshift(...versionIssues);
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
    // GKE: the target checked against what the location offers, and the exact node versions decided.
    const gkeVersions = new Map<string, GkeVersions>();
    for (const plan of plans.filter((p) => p.cluster.provider === "gke")) {
        const decided = await lookUpGkeVersions(plan, config.clusters.indexOf(plan.cluster));
        gkeVersions.set(plan.cluster.name, decided.versions);
        issues.push(...decided.issues);
    }
    // AKS: the target must be among the upgrades the cluster's upgrade profile offers, before anything changes.
    for (const plan of plans.filter((p) => p.cluster.provider === "aks"))
        issues.push(...(await checkUpgradeProfile(plan, config.clusters.indexOf(plan.cluster))));
    if (issues.length > 0) throw refuse(issues);

    const linodeToken = new pulumi.Config("linode").getSecret("token");
    const clusters: Record<string, pulumi.Output<unknown>> = {};
    const kubeconfigs: Record<string, pulumi.Output<string>> = {};
    const secrets = new pulumi.Config(CONFIG_NAMESPACE);
    /** Each provider's adapter: registers the cluster's resources and says what to export. */
    const adapters: Record<
        ProviderName,
        (
            plan: ClusterPlan,
            opts: pulumi.ComponentResourceOptions,
        ) => ClusterComponent & { runningState: pulumi.Output<unknown>; kubeconfig?: pulumi.Output<string> }
    > = {
        lke: (plan, opts) => new LkeUpgradeCluster(plan.cluster.name, { plan, linodeToken }, opts),
        eks: (plan, opts) =>
            new EksUpgradeCluster(
                plan.cluster.name,
                { plan, defaultRegion: awsRegion, addonVersions: addons.get(plan.cluster.name)! },
                opts,
            ),
        kubeadm: (plan, opts) =>
            new KubeadmUpgradeCluster(
                plan.cluster.name,
                {
                    plan,
                    sshPrivateKey: secrets.requireSecret(plan.cluster.kubeadm!.ssh.privateKeySecret),
                    kubeconfig: secrets.requireSecret(plan.cluster.kubeadm!.kubeconfigSecret),
                },
                opts,
            ),
        "capi-aws": (plan, opts) =>
            new CapiAwsUpgradeCluster(
                plan.cluster.name,
                {
                    plan,
                    amis: amis.get(plan.cluster.name)!,
                    managementKubeconfig: secrets.requireSecret(plan.cluster.capiAws!.managementKubeconfigSecret),
                },
                opts,
            ),
        gke: (plan, opts) =>
            new GkeUpgradeCluster(plan.cluster.name, { plan, versions: gkeVersions.get(plan.cluster.name)! }, opts),
        aks: (plan, opts) => new AksUpgradeCluster(plan.cluster.name, { plan }, opts),
    };
    // Clusters in rollout order: each wave waits for the previous one's validations and soak (components/waves.ts).
    registerInWaves(plans, config.rollout, (plan, opts) => {
        for (const w of plan.warnings) void pulumi.log.warn(`cluster ${plan.cluster.name}: ${w}`);
        for (const h of plan.holds) void pulumi.log.info(`cluster ${plan.cluster.name}: ${h}`);
        const cluster = adapters[plan.cluster.provider](plan, opts);
        clusters[plan.cluster.name] = cluster.runningState;
        if (cluster.kubeconfig) kubeconfigs[plan.cluster.name] = cluster.kubeconfig;
        return cluster;
    });

    return {
        [RUNNING_STATE_OUTPUT]: pulumi.output(clusters).apply((c) => ({
            schemaVersion: RUNNING_STATE_SCHEMA,
            stack,
            promotesFrom: config.promotesFrom ?? null,
            clusters: c,
        })),
        kubeconfigs: pulumi.secret(kubeconfigs),
        ...(config.rollout ? { [ROLLOUT_OUTPUT]: config.rollout } : {}),
    };
}
