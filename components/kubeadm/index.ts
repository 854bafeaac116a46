// The k8s-upgrades/kubeadm entry point, for self-managed kubeadm clusters: KubeadmCluster and the shared core
// (`import { KubeadmCluster, runningRecord } from "k8s-upgrades/kubeadm"`).
// It loads no cloud SDK (its steps run through @pulumi/command).
export * from "../index";
export { KubeadmCluster } from "./library";
