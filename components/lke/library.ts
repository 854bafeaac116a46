// `LkeCluster`: an LKE cluster declared in code, and the lookups its decision needs (the Kubernetes versions LKE
// offers). Loads @pulumi/linode and no other provider's SDK.
import * as linode from "@pulumi/linode";
import * as pulumi from "@pulumi/pulumi";
import type { LkeClusterArgs } from "../api/args";
import { type Decided, isDecided, UpgradeCluster } from "../api/clusters";
import type { ProviderLookups } from "../api/lookups";
import { LkeUpgradeCluster } from "./cluster";

export const lkeLookups: ProviderLookups = {
    offeredVersions: async () => ((await linode.getLkeVersions()).versions ?? []).map((v) => v.id),
};

/** A Linode Kubernetes Engine cluster, upgraded one minor per deployment with drained pools. */
export class LkeCluster extends UpgradeCluster<"lke", LkeUpgradeCluster> {
    constructor(name: string, args: LkeClusterArgs, opts?: pulumi.ComponentResourceOptions);
    /** @internal A cluster of a stack-wide decision: registered during construction. */
    constructor(name: string, args: Decided<"lke">, opts?: pulumi.ComponentResourceOptions);
    constructor(name: string, args: LkeClusterArgs | Decided<"lke">, opts?: pulumi.ComponentResourceOptions) {
        super("lke", name, args, lkeLookups, ({ plan }) => {
            // The config program reads linode:token once for the whole stack and passes it, or its absence, with the
            // decision: every read of a config key parses the stack's whole config.
            const linodeToken = args.linodeToken
                ? pulumi.secret(args.linodeToken)
                : isDecided(args)
                  ? undefined
                  : new pulumi.Config("linode").getSecret("token");
            return new LkeUpgradeCluster(name, { plan, linodeToken }, opts);
        });
    }

    /** The cluster's kubeconfig (a Pulumi secret). */
    get kubeconfig(): pulumi.Output<string> {
        return this.outputOf("kubeconfig", (c) => c.kubeconfig, true);
    }
}
