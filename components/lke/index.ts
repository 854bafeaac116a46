// The k8s-upgrades/lke entry point, for Linode Kubernetes Engine clusters: LkeCluster and the shared core
// (`import { LkeCluster, runningRecord } from "k8s-upgrades/lke"`).
// It loads @pulumi/linode, no other provider's SDK.
export * from "../index";
export { LkeCluster } from "./library";
