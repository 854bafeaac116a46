// `CapiAwsCluster`: a Cluster API cluster on AWS declared in code, and the lookup its decision needs (the image of
// each Kubernetes version its machines run). Loads @pulumi/aws and @pulumi/kubernetes and no other provider's SDK.
import * as pulumi from "@pulumi/pulumi";
import type { CapiAwsClusterArgs } from "../api/args";
import { type Decided, UpgradeCluster } from "../api/clusters";
import type { ProviderLookups } from "../api/lookups";
import { CapiAwsUpgradeCluster, imageMoves, neededVersions, resolveAmis } from "./cluster";

export const capiAwsLookups: ProviderLookups = {
    prepare: async (plan, decision, { stack, index }) => {
        // Cluster API machines need an image built for their version: resolve them all before registering anything.
        const resolved = await resolveAmis(stack, index, plan.cluster, neededVersions(plan), plan.running?.images);
        decision.amis = resolved.amis;
        for (const m of imageMoves(plan, resolved.amis))
            plan.warnings.push(
                `Kubernetes ${m.version} moves from ${m.from} to ${m.to} (capi-aws.amis): every machine at that version is replaced, control plane first, after a pre-flight`,
            );
        return resolved.issues;
    },
};

/** A Cluster API cluster on AWS, driven through its management cluster. */
export class CapiAwsCluster extends UpgradeCluster<"capi-aws", CapiAwsUpgradeCluster> {
    constructor(name: string, args: CapiAwsClusterArgs, opts?: pulumi.ComponentResourceOptions);
    /** @internal A cluster of a stack-wide decision: registered during construction. */
    constructor(name: string, args: Decided<"capi-aws">, opts?: pulumi.ComponentResourceOptions);
    constructor(name: string, args: CapiAwsClusterArgs | Decided<"capi-aws">, opts?: pulumi.ComponentResourceOptions) {
        super("capi-aws", name, args, capiAwsLookups, (d) => {
            if (!d.amis) throw new Error(`cluster ${name}: the Cluster API images were not resolved`);
            const managementKubeconfig = pulumi.secret(args.managementKubeconfig);
            return new CapiAwsUpgradeCluster(name, { plan: d.plan, amis: d.amis, managementKubeconfig }, opts);
        });
    }
}
