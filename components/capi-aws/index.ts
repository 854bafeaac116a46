// The k8s-upgrades/capi-aws entry point, for Cluster API clusters on AWS: CapiAwsCluster and the shared core
// (`import { CapiAwsCluster, runningRecord } from "k8s-upgrades/capi-aws"`).
// It loads @pulumi/aws and @pulumi/kubernetes, no other provider's SDK.
export * from "../index";
export { CapiAwsCluster } from "./library";
