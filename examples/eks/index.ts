// An EKS cluster declared with k8s-upgrades/eks: the program installs @pulumi/aws and no other cloud SDK.
import * as pulumi from "@pulumi/pulumi";
import { EksCluster, runningRecord } from "k8s-upgrades/eks";

const config = new pulumi.Config();

const api = new EksCluster("api", {
    kubernetesVersion: config.get("kubernetesVersion") ?? "1.31",
    region: "us-east-1",
    subnetIds: ["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002"],
    nodePools: [{ name: "general", type: "m6i.large", count: 3, autoscaler: { min: 3, max: 6 } }],
    workers: { strategy: "blue-green", drain: { batchSize: 1, soakSeconds: 60 } },
    firstDeployment: config.getBoolean("firstDeployment"),
});

export const kubeconfig = api.kubeconfig;
export const k8sUpgrades = runningRecord([api]);
