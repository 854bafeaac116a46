// Evaluates the policy pack over a captured program run, the way `pulumi preview --policy-pack policy`
// would: resource policies on each resource's inputs, stack policies on the whole set with each resource's
// outputs (its inputs where none were captured).
import type {
    EnforcementLevel,
    PolicyResource,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
} from "@pulumi/policy";
import { policies } from "./rules";

/** A resource a program registered, as the offline plan records it (tools/capture-types.ts CapturedResource). */
export interface RegisteredResource {
    urn: string;
    type: string;
    name: string;
    parent?: string;
    dependencies: string[];
    propertyDependencies: Record<string, string[]>;
    deletedWith?: string;
    ignoreChanges: string[];
    inputs: Record<string, unknown>;
    outputs?: Record<string, unknown>;
}

export interface Violation {
    policy: string;
    level: EnforcementLevel;
    message: string;
    urn?: string;
}

export interface PolicyReport {
    evaluated: number;
    resources: number;
    mandatory: Violation[];
    advisory: Violation[];
}

/** Per policy: an enforcement level and config values, as in a `--policy-pack-config` file. */
export type PackConfig = Record<string, { enforcementLevel?: EnforcementLevel } & Record<string, unknown>>;

class NotApplicable extends Error {}

function defaults(policy: ResourceValidationPolicy | StackValidationPolicy): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [key, schema] of Object.entries(policy.configSchema?.properties ?? {})) {
        if ((schema as { default?: unknown }).default !== undefined)
            out[key] = (schema as { default?: unknown }).default;
    }
    return out;
}

/** The captured resources in the shape CrossGuard hands a stack policy. */
export function toPolicyResources(
    resources: RegisteredResource[],
    view: "inputs" | "outputs" = "inputs",
): PolicyResource[] {
    const byUrn = new Map<string, PolicyResource>();
    for (const r of resources) {
        byUrn.set(r.urn, {
            type: r.type,
            props: view === "outputs" ? (r.outputs ?? r.inputs) : r.inputs,
            urn: r.urn,
            name: r.name,
            opts: {
                protect: false,
                ignoreChanges: r.ignoreChanges,
                aliases: [],
                customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
                additionalSecretOutputs: [],
                parent: r.parent,
                deletedWith: r.deletedWith,
            } as PolicyResource["opts"],
            dependencies: [],
            propertyDependencies: {},
            isType: () => false,
            asType: () => undefined,
        } as PolicyResource);
    }
    for (const r of resources) {
        const pr = byUrn.get(r.urn)!;
        pr.dependencies = r.dependencies.map((u) => byUrn.get(u)).filter((x): x is PolicyResource => !!x);
        for (const [key, urns] of Object.entries(r.propertyDependencies)) {
            pr.propertyDependencies[key] = urns.map((u) => byUrn.get(u)).filter((x): x is PolicyResource => !!x);
        }
        if (r.parent) pr.parent = byUrn.get(r.parent);
    }
    return [...byUrn.values()];
}

export function evaluatePolicies(
    capture: { resources: RegisteredResource[] },
    packConfig: PackConfig = {},
): PolicyReport {
    const report: PolicyReport = { evaluated: 0, resources: capture.resources.length, mandatory: [], advisory: [] };
    const policyResources = toPolicyResources(capture.resources);
    const stackResources = toPolicyResources(capture.resources, "outputs");
    for (const policy of policies) {
        const settings = packConfig[policy.name] ?? {};
        const level: EnforcementLevel = settings.enforcementLevel ?? policy.enforcementLevel ?? "advisory";
        if (level === "disabled") continue;
        report.evaluated++;
        const config = { ...defaults(policy), ...settings };
        const notApplicable = (): never => {
            throw new NotApplicable();
        };
        const sink = level === "mandatory" ? report.mandatory : report.advisory;
        const record = (urn?: string) => (message: string, violationUrn?: string) =>
            sink.push({ policy: policy.name, level, message, urn: violationUrn ?? urn });
        try {
            if ("validateResource" in policy && policy.validateResource) {
                const validators = Array.isArray(policy.validateResource)
                    ? policy.validateResource
                    : [policy.validateResource];
                for (const r of policyResources) {
                    const args: ResourceValidationArgs = {
                        type: r.type,
                        props: r.props,
                        urn: r.urn,
                        name: r.name,
                        opts: r.opts,
                        stackTags: new Map(),
                        isType: () => false,
                        asType: () => undefined,
                        getConfig: <T extends object>() => config as T,
                        notApplicable,
                    };
                    for (const validate of validators) {
                        try {
                            void validate(args, record(r.urn));
                        } catch (e) {
                            if (!(e instanceof NotApplicable)) throw e;
                        }
                    }
                }
            } else if ("validateStack" in policy) {
                const args: StackValidationArgs = {
                    resources: stackResources,
                    stackTags: new Map(),
                    getConfig: <T extends object>() => config as T,
                    notApplicable,
                };
                void policy.validateStack(args, record());
            }
        } catch (e) {
            if (!(e instanceof NotApplicable)) throw e;
        }
    }
    return report;
}
