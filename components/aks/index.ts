// The k8s-upgrades/aks entry point, for Azure Kubernetes Service clusters: AksCluster and the shared core
// (`import { AksCluster, runningRecord } from "k8s-upgrades/aks"`).
// It loads @pulumi/azure-native, no other provider's SDK.
export * from "../index";
export { AksCluster } from "./library";
