// The Pulumi program: config → running state → plan → provider components → exports for the next run.
import * as pulumi from "@pulumi/pulumi";
import * as runtimeConfig from "@pulumi/pulumi/runtime/config";
import { AksCluster, aksLookups } from "./aks/library";
import type { LibraryProvider } from "./api/args";
import { decided, type UpgradeCluster } from "./api/clusters";
import { type Decision, prepareProviders, readPromotionSource } from "./api/decide";
import { firstDeploymentIssue, liveProviderVersions, readRunningState, stackReferenceName } from "./api/history";
import type { LookupsByProvider } from "./api/lookups";
import { CapiAwsCluster, capiAwsLookups } from "./capi-aws/library";
import {
    CONFIG_NAMESPACE,
    ConfigError,
    type ConfigIssue,
    checkSupportedVersions,
    parseStackConfig,
    type StackConfig,
    scrub,
    stackFile,
} from "./config";
import { EksCluster, eksLookups } from "./eks/library";
import { GkeCluster, gkeLookups } from "./gke/library";
import { KubeadmCluster, kubeadmLookups } from "./kubeadm/library";
import { LkeCluster, lkeLookups } from "./lke/library";
import { type ClusterPlan, planStack } from "./plan";
import { ROLLOUT_OUTPUT } from "./rollout";
import { RUNNING_STATE_OUTPUT, RUNNING_STATE_SCHEMA } from "./running";
import { registerInWaves } from "./waves";

export { CONFIG_NAMESPACE };

/** The config program declares clusters of any provider: it loads every provider's SDK and lookups. */
const LOOKUPS: LookupsByProvider = {
    lke: lkeLookups,
    eks: eksLookups,
    kubeadm: kubeadmLookups,
    "capi-aws": capiAwsLookups,
    aks: aksLookups,
    gke: gkeLookups,
};

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

export { firstDeploymentIssue, stackReferenceName };

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
    // A stack whose clusters all name the IDs of what runs adopts them: its first record comes from what they report.
    const adopting = config.clusters.every((c) => c.import !== undefined);
    if (!running && !config.firstDeployment && !adopting) throw refuse([firstDeploymentIssue(stack)]);
    if (running && config.firstDeployment)
        void pulumi.log.warn(
            `${CONFIG_NAMESPACE}:firstDeployment is ignored: stack "${stack}" has previous outputs, so it is not a first deployment. Remove the key from ${stackFile(stack)}.`,
        );
    const versions = checkSupportedVersions(
        config,
        Object.fromEntries(Object.values(running?.clusters ?? {}).map((c) => [c.name, c.controlPlaneVersion])),
        await liveProviderVersions(config, namespace.secretValues, LOOKUPS),
    );
    for (const w of versions.warnings) void pulumi.log.warn(scrub(w, namespace.secretValues));
    return { config, running, versionIssues: versions.issues, refuse };
}

/** Provider credentials in other namespaces that every cluster of a provider shares, read once per stack. */
interface StackSecrets {
    /** linode:token, when set: the LKE steps' API token (else they read LINODE_TOKEN from the environment). */
    linodeToken?: pulumi.Output<string>;
}

/**
 * One cluster of the stack-wide decision, through the public class of its provider (components/<provider>/library.ts),
 * built from that decision: the class registers its component during construction, under the same name and type a
 * library user's class registers, so the rollout waves can make the next wave wait for it.
 */
function registerCluster(
    plan: ClusterPlan,
    decision: Decision,
    opts: pulumi.ComponentResourceOptions,
    stackSecrets: StackSecrets,
): UpgradeCluster<LibraryProvider> & { kubeconfig?: pulumi.Output<string> } {
    const { cluster } = plan;
    const secrets = new pulumi.Config(CONFIG_NAMESPACE);
    switch (cluster.provider) {
        case "lke":
            return new LkeCluster(
                cluster.name,
                decided<"lke">(decision, { linodeToken: stackSecrets.linodeToken }),
                opts,
            );
        case "eks":
            return new EksCluster(cluster.name, decided<"eks">(decision, {}), opts);
        case "kubeadm":
            return new KubeadmCluster(
                cluster.name,
                decided<"kubeadm">(decision, {
                    sshPrivateKey: secrets.requireSecret(cluster.kubeadm!.ssh.privateKeySecret),
                    kubeconfig: secrets.requireSecret(cluster.kubeadm!.kubeconfigSecret),
                }),
                opts,
            );
        case "capi-aws":
            return new CapiAwsCluster(
                cluster.name,
                decided<"capi-aws">(decision, {
                    managementKubeconfig: secrets.requireSecret(cluster.capiAws!.managementKubeconfigSecret),
                }),
                opts,
            );
        case "aks":
            return new AksCluster(cluster.name, decided<"aks">(decision, {}), opts);
        case "gke":
            return new GkeCluster(cluster.name, decided<"gke">(decision, {}), opts);
    }
}

export async function main(): Promise<Record<string, unknown>> {
    const stack = pulumi.getStack();
    const { config, running, versionIssues, refuse } = await readConfigAndHistory(stack);
    const source = config.promotesFrom ? await readPromotionSource("promotes-from", config.promotesFrom) : undefined;
    const { plans, issues } = planStack(config, running, source);
    issues.unshift(...versionIssues);
    const prepared = await prepareProviders(stack, config, plans, source, LOOKUPS);
    issues.push(...prepared.issues);
    if (issues.length > 0) throw refuse(issues);

    // Read once: each read of a config key parses the stack's whole config, which lists every cluster.
    const stackSecrets: StackSecrets = {
        linodeToken: plans.some((p) => p.cluster.provider === "lke")
            ? new pulumi.Config("linode").getSecret("token")
            : undefined,
    };
    const clusters: Record<string, pulumi.Output<unknown>> = {};
    const kubeconfigs: Record<string, pulumi.Output<string>> = {};
    // Clusters in rollout order: each wave waits for the previous one's validations and soak (components/waves.ts).
    await registerInWaves(plans, config.rollout, (plan, opts) => {
        const cluster = registerCluster(plan, prepared.decisions.get(plan.cluster.name)!, opts, stackSecrets);
        clusters[plan.cluster.name] = cluster.runningState;
        if (cluster.kubeconfig) kubeconfigs[plan.cluster.name] = cluster.kubeconfig;
        return cluster.registered!;
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
