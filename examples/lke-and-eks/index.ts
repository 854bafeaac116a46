// Two clusters declared with k8s-upgrades as a library. The upgrade is a change of kubernetesVersion in
// Pulumi.<stack>.yaml; each `pulumi up` moves the control planes one minor and then the workers, drained.
import * as pulumi from "@pulumi/pulumi";
import { EksCluster } from "k8s-upgrades/eks";
import { LkeCluster, runningRecord } from "k8s-upgrades/lke";

const config = new pulumi.Config();
const kubernetesVersion = config.get("kubernetesVersion") ?? "1.36";
// Only for the very first `pulumi up` of a stack, before any running record exists.
const firstDeployment = config.getBoolean("firstDeployment");

const web = new LkeCluster("web", {
    kubernetesVersion,
    region: "us-ord",
    nodePools: [{ name: "general", type: "g6-standard-4", count: 3 }],
    workers: { strategy: "blue-green", drain: { batchSize: 2 } },
    firstDeployment,
});

const api = new EksCluster("api", {
    kubernetesVersion,
    region: "us-east-1",
    subnetIds: ["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002"],
    nodePools: [{ name: "general", type: "m6i.large", count: 3, autoscaler: { min: 3, max: 6 } }],
    workers: { strategy: "blue-green", drain: { batchSize: 1, soakSeconds: 60 } },
    firstDeployment,
});

export const webKubeconfig = web.kubeconfig;
export const apiKubeconfig = api.kubeconfig;
// The running record: the next deployment reads it back to know what runs. Keep the output's name.
export const k8sUpgrades = runningRecord([web, api]);
