// What ran before: the running record a previous deployment exported, read back through a StackReference, and the
// minors the providers offer now. Shared by the config program and the public cluster classes, so a program that
// declares several clusters reads each stack's record once.
import * as pulumi from "@pulumi/pulumi";
import { CONFIG_NAMESPACE, type ConfigIssue, type ProviderName, type StackConfig, scrub, stackFile } from "../config";
import { parseRunningState, RUNNING_STATE_OUTPUT, RUNNING_STATE_SCHEMA, type RunningState } from "../running";
import { compareMinor, formatMinor, parseVersion, requireVersion } from "../versions";
import type { LookupsByProvider } from "./lookups";

/** `organization/<project>/<stack>` on the file backend, `<org>/<project>/<stack>` on Pulumi Cloud. */
export function stackReferenceName(stack: string): string {
    return `${pulumi.getOrganization()}/${pulumi.getProject()}/${stack}`;
}

const records = new Map<string, Promise<RunningState | undefined>>();

/**
 * The running record of `stack`, read through the StackReference `resourceName` (one per name in a program: the
 * clusters that share a history share the read). Throws when the output is there but malformed.
 */
export function readRunningState(resourceName: string, stack: string): Promise<RunningState | undefined> {
    const known = records.get(resourceName);
    if (known) return known;
    const ref = new pulumi.StackReference(resourceName, { name: stackReferenceName(stack) });
    const read = ref
        .getOutputDetails(RUNNING_STATE_OUTPUT)
        .then((details) => parseRunningState(details.value ?? details.secretValue, `stack "${stack}"`));
    records.set(resourceName, read);
    return read;
}

/** Missing history is not a first deployment: the user must say so, or the pre-flight and skew checks would be skipped. */
export function firstDeploymentIssue(stack: string, cluster?: string): ConfigIssue {
    const where = cluster
        ? `the firstDeployment argument of cluster ${cluster} to true`
        : `${CONFIG_NAMESPACE}:firstDeployment: true in ${stackFile(stack)}`;
    return {
        stack,
        cluster,
        field: cluster ? "firstDeployment" : `${CONFIG_NAMESPACE}:firstDeployment`,
        given: undefined,
        allowed: `true only when this stack has never been deployed (no previous outputs could be read: stack output ${RUNNING_STATE_OUTPUT} is missing)`,
        hint:
            `If the clusters do not exist yet, set ${where} ` +
            `(the offline plan's --first-deployment does the same). If they exist, do not: restore the stack's state ` +
            `(pulumi stack import --file <backup>) or run 'pulumi stack output ${RUNNING_STATE_OUTPUT} --json' to see ` +
            "why the outputs are missing, so the pre-flight and version checks see what runs.",
    };
}

/**
 * The minors the providers offer (LKE and EKS list theirs), from their APIs at preview time, for the providers the
 * stack declares. Where an API cannot say (no credentials, the offline plan's mocks), the dated table in
 * policy/supported-versions.ts applies.
 */
export async function liveProviderVersions(
    config: StackConfig,
    secretValues: string[],
    lookups: LookupsByProvider,
): Promise<Partial<Record<ProviderName, string[]>>> {
    const live: Partial<Record<ProviderName, string[]>> = {};
    for (const [provider, lookup] of Object.entries(lookups) as [ProviderName, LookupsByProvider[ProviderName]][]) {
        const offered = lookup?.offeredVersions;
        if (!offered || !config.clusters.some((c) => c.provider === provider)) continue;
        try {
            const minors = (await offered()).map((v) => parseVersion(v)).filter((v) => v !== undefined);
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
    }
    return live;
}

/** Anything that carries one cluster's running state: the public cluster classes. */
export interface RecordsRunningState {
    readonly name: string;
    readonly runningState: pulumi.Output<unknown>;
}

/**
 * The stack output the next deployment reads its history from. Export it as `k8sUpgrades`
 * (`export const k8sUpgrades = k8su.runningRecord([prod])`) from the stack whose history the clusters read.
 */
export function runningRecord(
    clusters: readonly RecordsRunningState[],
    opts: { promotesFrom?: string } = {},
): pulumi.Output<RunningState & { promotesFrom: string | null }> {
    const byName: Record<string, pulumi.Output<unknown>> = {};
    for (const c of clusters) byName[c.name] = c.runningState;
    return pulumi.output(byName).apply((c) => ({
        schemaVersion: RUNNING_STATE_SCHEMA,
        stack: pulumi.getStack(),
        promotesFrom: opts.promotesFrom ?? null,
        clusters: c as RunningState["clusters"],
    }));
}
