// A Cluster API cluster on AWS declared with k8s-upgrades/capi-aws: the program installs @pulumi/aws (image lookups)
// and @pulumi/kubernetes (the management cluster's objects), and no other cloud SDK.
import * as pulumi from "@pulumi/pulumi";
import { CapiAwsCluster, runningRecord } from "k8s-upgrades/capi-aws";

const config = new pulumi.Config();

const edge = new CapiAwsCluster("edge", {
    kubernetesVersion: config.get("kubernetesVersion") ?? "1.31.4",
    namespace: "clusters",
    controlPlane: { instanceType: "m6i.large", replicas: 3 },
    // One image per Kubernetes version the machines run (image-builder tags it kubernetes_version).
    amis: { "1.31.4": "ami-0b0b0b0b0b0b0b031" },
    managementKubeconfig: config.requireSecret("managementKubeconfig"),
    nodePools: [{ name: "md-0", type: "m6i.xlarge", count: 3 }],
    workers: { strategy: "blue-green" },
    firstDeployment: config.getBoolean("firstDeployment"),
});

export const k8sUpgrades = runningRecord([edge]);
