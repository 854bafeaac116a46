// A self-managed kubeadm cluster declared with k8s-upgrades/kubeadm: the program installs no cloud SDK. The steps run
// over SSH; the key and the admin kubeconfig are stack secrets (`pulumi config set --secret sshPrivateKey ...`).
import * as pulumi from "@pulumi/pulumi";
import { KubeadmCluster, runningRecord } from "k8s-upgrades/kubeadm";

const config = new pulumi.Config();

const onprem = new KubeadmCluster("onprem", {
    // kubeadm installs exact package versions: a full patch version.
    kubernetesVersion: config.get("kubernetesVersion") ?? "1.31.4",
    controlPlaneNodes: [{ name: "cp-1", host: "10.0.0.11" }],
    workerNodes: [
        { name: "w-1", host: "10.0.1.1" },
        { name: "w-2", host: "10.0.1.2" },
    ],
    ssh: { user: "ops" },
    packageManager: "apt",
    sshPrivateKey: config.requireSecret("sshPrivateKey"),
    kubeconfig: config.requireSecret("kubeconfig"),
    nodePools: [{ name: "workers", type: "bare-metal", count: 2 }],
    workers: { strategy: "in-place" },
    firstDeployment: config.getBoolean("firstDeployment"),
});

export const kubeconfig = onprem.kubeconfig;
export const k8sUpgrades = runningRecord([onprem]);
