// An AKS cluster declared with k8s-upgrades/aks: the program installs @pulumi/azure-native and no other cloud SDK.
// Credentials come from the azure-native provider's configuration.
import * as pulumi from "@pulumi/pulumi";
import { AksCluster, runningRecord } from "k8s-upgrades/aks";

const config = new pulumi.Config();

const data = new AksCluster("data", {
    kubernetesVersion: config.get("kubernetesVersion") ?? "1.31",
    location: "westeurope",
    resourceGroupName: "rg-data",
    upgradeSettings: { maxSurge: "33%" },
    nodePools: [{ name: "general", type: "Standard_D4s_v5", count: 3 }],
    workers: { strategy: "in-place" },
    firstDeployment: config.getBoolean("firstDeployment"),
});

export const kubeconfig = data.kubeconfig;
export const k8sUpgrades = runningRecord([data]);
