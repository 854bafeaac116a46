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

export function scriptStep(name: string, args: StepArgs, opts: pulumi.CustomResourceOptions): command.local.Command {
    const environment: Record<string, pulumi.Input<string>> = { ...args.environment };
    for (const [key, value] of Object.entries(args.secrets ?? {})) {
        if (value !== undefined) environment[key] = pulumi.secret(value);
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
