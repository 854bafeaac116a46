// `EksCluster`: an EKS cluster declared in code, and the lookups its decision needs (the versions EKS offers, each
// add-on's version for the target). Loads @pulumi/aws and no other provider's SDK.
import * as awsEks from "@pulumi/aws/eks";
import * as pulumi from "@pulumi/pulumi";
import type { EksClusterArgs } from "../api/args";
import { type Decided, UpgradeCluster } from "../api/clusters";
import type { ProviderLookups } from "../api/lookups";
import { formatMinor, requireVersion } from "../versions";
import { type AddonName, decideAddons, finishAddons } from "./addons";
import { EksUpgradeCluster } from "./cluster";

export const eksLookups: ProviderLookups = {
    offeredVersions: async () =>
        ((await awsEks.getClusterVersions({})).clusterVersions ?? []).map((v) => v.clusterVersion),
    prepare: async (plan, decision, { index, source }) => {
        const awsRegion = new pulumi.Config("aws").get("region");
        // Recorded add-on versions stay; an upgrade looks up (or takes the promoted) versions for the target.
        const choice = decideAddons(plan, source?.state?.clusters[plan.cluster.name]);
        const found: Partial<Record<AddonName, string>> = {};
        const region = plan.cluster.eks?.region ?? awsRegion;
        for (const addonName of choice.lookups) {
            const kubernetesVersion = formatMinor(requireVersion(plan.cluster.kubernetesVersion));
            found[addonName] = (
                await awsEks.getAddonVersion({
                    addonName,
                    kubernetesVersion,
                    mostRecent: true,
                    ...(region ? { region } : {}),
                })
            ).version;
        }
        const finished = finishAddons(plan, index, choice, found);
        decision.addons = finished.versions;
        decision.defaultRegion = awsRegion;
        return finished.issues;
    },
};

/** An Amazon EKS cluster with managed node groups. */
export class EksCluster extends UpgradeCluster<"eks", EksUpgradeCluster> {
    constructor(name: string, args: EksClusterArgs, opts?: pulumi.ComponentResourceOptions);
    /** @internal A cluster of a stack-wide decision: registered during construction. */
    constructor(name: string, args: Decided<"eks">, opts?: pulumi.ComponentResourceOptions);
    constructor(name: string, args: EksClusterArgs | Decided<"eks">, opts?: pulumi.ComponentResourceOptions) {
        super("eks", name, args, eksLookups, (d) => {
            if (!d.addons) throw new Error(`cluster ${name}: the EKS add-on versions were not decided`);
            return new EksUpgradeCluster(
                name,
                { plan: d.plan, addonVersions: d.addons, defaultRegion: d.defaultRegion },
                opts,
            );
        });
    }

    /** A kubeconfig that authenticates with `aws eks get-token` (a Pulumi secret). */
    get kubeconfig(): pulumi.Output<string> {
        return this.outputOf("kubeconfig", (c) => c.kubeconfig, true);
    }
}
