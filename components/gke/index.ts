// The k8s-upgrades/gke entry point, for Google Kubernetes Engine clusters: GkeCluster and the shared core
// (`import { GkeCluster, runningRecord } from "k8s-upgrades/gke"`).
// It loads @pulumi/gcp, no other provider's SDK.
export * from "../index";
export { GkeCluster } from "./library";
