// `GkeCluster`: a GKE cluster declared in code, and the lookup its decision needs (the versions GKE offers at the
// cluster's location). Loads @pulumi/gcp and no other provider's SDK.
import type * as pulumi from "@pulumi/pulumi";
import type { GkeClusterArgs } from "../api/args";
import { type Decided, UpgradeCluster } from "../api/clusters";
import type { ProviderLookups } from "../api/lookups";
import { GkeUpgradeCluster } from "./cluster";
import { lookUpGkeVersions } from "./engine";

export const gkeLookups: ProviderLookups = {
    prepare: async (plan, decision, { index }) => {
        const looked = await lookUpGkeVersions(plan, index);
        decision.gkeVersions = looked.versions;
        plan.warnings.push(...looked.warnings);
        return looked.issues;
    },
};

/** A Google Kubernetes Engine cluster without a release channel: GKE's own pool upgrade, or blue-green pools. */
export class GkeCluster extends UpgradeCluster<"gke", GkeUpgradeCluster> {
    constructor(name: string, args: GkeClusterArgs, opts?: pulumi.ComponentResourceOptions);
    /** @internal A cluster of a stack-wide decision: registered during construction. */
    constructor(name: string, args: Decided<"gke">, opts?: pulumi.ComponentResourceOptions);
    constructor(name: string, args: GkeClusterArgs | Decided<"gke">, opts?: pulumi.ComponentResourceOptions) {
        super("gke", name, args, gkeLookups, (d) => {
            if (!d.gkeVersions) throw new Error(`cluster ${name}: the GKE versions were not looked up`);
            return new GkeUpgradeCluster(name, { plan: d.plan, versions: d.gkeVersions }, opts);
        });
    }

    /** A kubeconfig that authenticates through gke-gcloud-auth-plugin (a Pulumi secret). */
    get kubeconfig(): pulumi.Output<string> {
        return this.outputOf("kubeconfig", (c) => c.kubeconfig, true);
    }
}
