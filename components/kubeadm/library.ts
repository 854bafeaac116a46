// `KubeadmCluster`: a self-managed kubeadm cluster declared in code. Its steps run over SSH and kubectl through
// @pulumi/command; no cloud SDK is loaded and no lookup is needed.
import * as pulumi from "@pulumi/pulumi";
import type { KubeadmClusterArgs } from "../api/args";
import { type Decided, UpgradeCluster } from "../api/clusters";
import type { ProviderLookups } from "../api/lookups";
import { KubeadmUpgradeCluster } from "./cluster";

export const kubeadmLookups: ProviderLookups = {};

/** A self-managed kubeadm cluster, upgraded in place over SSH. */
export class KubeadmCluster extends UpgradeCluster<"kubeadm", KubeadmUpgradeCluster> {
    constructor(name: string, args: KubeadmClusterArgs, opts?: pulumi.ComponentResourceOptions);
    /** @internal A cluster of a stack-wide decision: registered during construction. */
    constructor(name: string, args: Decided<"kubeadm">, opts?: pulumi.ComponentResourceOptions);
    constructor(name: string, args: KubeadmClusterArgs | Decided<"kubeadm">, opts?: pulumi.ComponentResourceOptions) {
        super("kubeadm", name, args, kubeadmLookups, ({ plan }) => {
            const sshPrivateKey = pulumi.secret(args.sshPrivateKey);
            const kubeconfig = pulumi.secret(args.kubeconfig);
            return new KubeadmUpgradeCluster(name, { plan, sshPrivateKey, kubeconfig }, opts);
        });
    }

    /** The admin kubeconfig given (a Pulumi secret). */
    get kubeconfig(): pulumi.Output<string> {
        return this.outputOf("kubeconfig", (c) => c.kubeconfig, true);
    }
}
