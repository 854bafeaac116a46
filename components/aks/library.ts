// `AksCluster`: an AKS cluster declared in code, and the lookup its decision needs (whether AKS's upgrade profile
// offers the target). Loads @pulumi/azure-native and no other provider's SDK.
import type * as pulumi from "@pulumi/pulumi";
import type { AksClusterArgs } from "../api/args";
import { type Decided, UpgradeCluster } from "../api/clusters";
import type { ProviderLookups } from "../api/lookups";
import { AksUpgradeCluster } from "./cluster";
import { checkUpgradeProfile } from "./upgrade-profile";

export const aksLookups: ProviderLookups = {
    prepare: (plan, _decision, { index }) => checkUpgradeProfile(plan, index),
};

/** An Azure Kubernetes Service cluster: AKS's own surge upgrade in place, or blue-green agent pools. */
export class AksCluster extends UpgradeCluster<"aks", AksUpgradeCluster> {
    constructor(name: string, args: AksClusterArgs, opts?: pulumi.ComponentResourceOptions);
    /** @internal A cluster of a stack-wide decision: registered during construction. */
    constructor(name: string, args: Decided<"aks">, opts?: pulumi.ComponentResourceOptions);
    constructor(name: string, args: AksClusterArgs | Decided<"aks">, opts?: pulumi.ComponentResourceOptions) {
        super("aks", name, args, aksLookups, ({ plan }) => new AksUpgradeCluster(name, { plan }, opts));
    }

    /** The cluster-user kubeconfig AKS returns (a Pulumi secret). */
    get kubeconfig(): pulumi.Output<string> {
        return this.outputOf("kubeconfig", (c) => c.kubeconfig, true);
    }
}
