// k8s-upgrades as a library, the shared core: `import { runningRecord } from "k8s-upgrades"`. The cluster classes
// live in one entry point per provider, so a program loads (and installs) only the SDKs of the providers it uses:
// `k8s-upgrades/lke`, `/eks`, `/aks`, `/gke`, `/kubeadm`, `/capi-aws`; each also re-exports this core. This entry
// point loads no provider SDK.
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
export { UpgradeCluster } from "./api/clusters";
export { type RecordsRunningState, runningRecord } from "./api/history";
export type { ClusterPlan } from "./plan";
export { RUNNING_STATE_OUTPUT, type RunningCluster, type RunningState } from "./running";
