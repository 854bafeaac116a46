// Calling a policy of the pack the way CrossGuard does, for tests that judge one rule at a time: a resource
// policy with its config schema's defaults under the given config, a stack policy over captured resources.

import type { ResourceValidationArgs, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { toPolicyResources } from "../policy/evaluate";
import type { CapturedResource } from "../tools/capture-types";

export interface ResourceCall {
    type: string;
    props: Record<string, unknown>;
    urn: string;
    name: string;
    /** Merged over the schema's defaults; null gives the policy no config at all. */
    config?: Record<string, unknown> | null;
}

/** The defaults a policy's config schema declares, as CrossGuard fills them in. */
export function configDefaults(policy: ResourceValidationPolicy): Record<string, unknown> {
    return Object.fromEntries(
        Object.entries(policy.configSchema?.properties ?? {}).map(([k, v]) => [
            k,
            (v as { default?: unknown }).default,
        ]),
    );
}

/** Runs a resource policy on one resource, awaited, and returns the violations it reported. */
export async function runResourcePolicy(policy: ResourceValidationPolicy, call: ResourceCall): Promise<string[]> {
    const defaults = configDefaults(policy);
    const messages: string[] = [];
    const validate = policy.validateResource as (
        a: ResourceValidationArgs,
        r: (m: string) => void,
    ) => void | Promise<void>;
    await validate(
        {
            type: call.type,
            props: call.props,
            urn: call.urn,
            name: call.name,
            getConfig: () => (call.config === null ? {} : { ...defaults, ...call.config }),
        } as unknown as ResourceValidationArgs,
        (m) => messages.push(m),
    );
    return messages;
}

/** Runs a stack policy over captured resources, awaited, and returns the violations it reported. */
export async function checkStack(policy: StackValidationPolicy, resources: CapturedResource[]): Promise<string[]> {
    const messages: string[] = [];
    await policy.validateStack(
        {
            resources: toPolicyResources(resources),
            stackTags: new Map(),
            getConfig: () => ({}) as never,
            notApplicable: () => {
                throw new Error("n/a");
            },
        },
        (m) => messages.push(m),
    );
    return messages;
}

/**
 * A k8s-upgrades LKE component's inputs as the policies read them: cluster "apps" in stack "dev" moving from 1.30
 * to `over.target` (default 1.31) blue-green, one pool "web" unless `over.nodePools` says otherwise, with the drain
 * settings overridden by `drain`.
 */
export function lkeComponent(over: Record<string, unknown> = {}, drain: Record<string, unknown> = {}) {
    const target = (over.target as string) ?? "1.31";
    return {
        stack: "dev",
        cluster: {
            name: "apps",
            provider: "lke",
            kubernetesVersion: target,
            nodePools: over.nodePools ?? [{ name: "web", count: 3, type: "g6-standard-4", kubernetesVersion: target }],
            workers: {
                strategy: "blue-green",
                drain: {
                    gracePeriodSeconds: 60,
                    timeoutSeconds: 900,
                    deleteEmptyDirData: false,
                    deleteEmptyDirDataExplicit: true,
                    ...drain,
                },
            },
        },
        running: over.running === undefined ? { controlPlaneVersion: "1.30" } : over.running,
        controlPlane: { from: "1.30", to: target, change: over.change ?? "minor" },
        pools: over.pools ?? [],
        promotion: over.promotion ?? null,
    };
}
