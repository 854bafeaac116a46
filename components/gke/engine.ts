// What GKE offers at the cluster's location, read through the provider's invoke (get-server-config) before any
// resource is registered. A failed call stops the deployment: an unknown offer is never taken as "anything goes".
import * as container from "@pulumi/gcp/container";
import type { ConfigIssue } from "../config";
import type { ClusterPlan } from "../plan";
import { decideGkeVersions, type GkeVersions } from "./versions";

export async function lookUpGkeVersions(
    plan: ClusterPlan,
    index: number,
): Promise<{ versions: GkeVersions; issues: ConfigIssue[]; warnings: string[] }> {
    const gke = plan.cluster.gke!;
    const offered = await container.getEngineVersions({
        location: gke.location,
        ...(gke.project ? { project: gke.project } : {}),
    });
    return decideGkeVersions(plan, index, {
        location: gke.location,
        validMasterVersions: offered.validMasterVersions ?? [],
        validNodeVersions: offered.validNodeVersions ?? [],
    });
}
