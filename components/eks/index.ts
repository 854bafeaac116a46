// The k8s-upgrades/eks entry point, for Amazon EKS clusters: EksCluster and the shared core
// (`import { EksCluster, runningRecord } from "k8s-upgrades/eks"`).
// It loads @pulumi/aws, no other provider's SDK.
export * from "../index";
export { EksCluster } from "./library";
