// k8s-upgrades as a library: `import * as k8su from "k8s-upgrades"`. Declare clusters with their target version
// and worker strategy; each deployment carries out one safe step of the upgrade and records what runs.
export type {
    AksClusterArgs,
    CapiAwsClusterArgs,
    CommonClusterArgs,
    DrainArgs,
    EksClusterArgs,
    GkeClusterArgs,
    HistoryArgs,
    ImportArgs,
    KubeadmClusterArgs,
    LkeClusterArgs,
    NodePoolArgs,
    WorkersArgs,
} from "./api/args";
export {
    AksCluster,
    CapiAwsCluster,
    EksCluster,
    GkeCluster,
    KubeadmCluster,
    LkeCluster,
    UpgradeCluster,
} from "./api/clusters";
export { type RecordsRunningState, runningRecord } from "./api/history";
export type { ClusterPlan } from "./plan";
export { RUNNING_STATE_OUTPUT, type RunningCluster, type RunningState } from "./running";
