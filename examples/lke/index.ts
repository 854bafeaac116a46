// An LKE cluster declared with k8s-upgrades/lke: the program installs @pulumi/linode and no other cloud SDK.
// The upgrade is a change of kubernetesVersion in Pulumi.<stack>.yaml; each `pulumi up` moves the control plane one
// minor, then the workers, drained.
import * as pulumi from "@pulumi/pulumi";
import { LkeCluster, runningRecord } from "k8s-upgrades/lke";

const config = new pulumi.Config();

const web = new LkeCluster("web", {
    kubernetesVersion: config.get("kubernetesVersion") ?? "1.31",
    region: "us-ord",
    nodePools: [{ name: "general", type: "g6-standard-4", count: 3, autoscaler: { min: 3, max: 6 } }],
    workers: { strategy: "blue-green", drain: { batchSize: 2 } },
    // Only for the very first `pulumi up` of a stack, before any running record exists.
    firstDeployment: config.getBoolean("firstDeployment"),
});

export const kubeconfig = web.kubeconfig;
// The running record: the next deployment reads it back to know what runs. Keep the output's name.
export const k8sUpgrades = runningRecord([web]);
