// A GKE cluster declared with k8s-upgrades/gke: the program installs @pulumi/gcp and no other cloud SDK.
// Credentials come from the gcp provider's configuration.
import * as pulumi from "@pulumi/pulumi";
import { GkeCluster, runningRecord } from "k8s-upgrades/gke";

const config = new pulumi.Config();

const shop = new GkeCluster("shop", {
    kubernetesVersion: config.get("kubernetesVersion") ?? "1.31",
    project: "shop-prod-4711",
    location: "europe-west4",
    nodeLocations: ["europe-west4-a", "europe-west4-b"],
    nodePools: [{ name: "web", type: "e2-standard-4", count: 4 }],
    workers: { strategy: "blue-green", drain: { batchSize: 2 } },
    firstDeployment: config.getBoolean("firstDeployment"),
});

export const kubeconfig = shop.kubeconfig;
export const k8sUpgrades = runningRecord([shop]);
