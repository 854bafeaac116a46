// Turns a script kind into a `command:local:Command` step. Shared by every provider adapter.

import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { checkoutScript, embeddedScript, INTERPRETER, type ScriptKind } from "./scripts";

export interface StepArgs {
    /** Runs when the step is created (and again when its inputs change), from the project's checkout. */
    create: ScriptKind;
    /** Runs when the step is deleted, before anything it depends on is deleted: from state, so embedded whole. */
    delete?: ScriptKind;
    /** Non-secret parameters. */
    environment: Record<string, pulumi.Input<string>>;
    /** Secret parameters (kubeconfig, API token): wrapped as Pulumi secrets so state and previews never show them. */
    secrets?: Record<string, pulumi.Input<string> | undefined>;
    /** A change here replaces the step, which runs it again. */
    triggers?: pulumi.Input<unknown>[];
}

/** Base64 of a secret text (a kubeconfig), kept secret: the form the scripts read in K8SU_KUBECONFIG_B64. */
export function base64Secret(text: pulumi.Input<string>): pulumi.Output<string> {
    return pulumi.secret(pulumi.output(text).apply((t) => Buffer.from(t).toString("base64")));
}

/**
 * One secret per output: a cluster's steps share its kubeconfig and token, and each wrapping is a chain of promises
 * that stays pending until the deployment ends, so one per step would cost memory at fleet scale.
 */
const secretOf = new WeakMap<object, pulumi.Output<string>>();
function asSecret(value: pulumi.Input<string>): pulumi.Output<string> {
    if (typeof value !== "object" || value === null) return pulumi.secret(value);
    let wrapped = secretOf.get(value);
    if (!wrapped) {
        wrapped = pulumi.secret(value);
        secretOf.set(value, wrapped);
    }
    return wrapped;
}

export function scriptStep(name: string, args: StepArgs, opts: pulumi.CustomResourceOptions): command.local.Command {
    const environment: Record<string, pulumi.Input<string>> = { ...args.environment };
    for (const [key, value] of Object.entries(args.secrets ?? {})) {
        if (value !== undefined) environment[key] = asSecret(value);
    }
    return new command.local.Command(
        name,
        {
            create: checkoutScript(args.create),
            delete: args.delete ? embeddedScript(args.delete) : undefined,
            interpreter: INTERPRETER,
            environment,
            triggers: args.triggers,
        },
        opts,
    );
}
