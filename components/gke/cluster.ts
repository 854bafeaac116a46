// A GKE cluster carried through one deployment of its upgrade plan: pre-flight → control plane (one minor, the
// cluster's minMasterVersion) → node pools by strategy (GKE's own upgrade in place, or our blue-green with drains)
// → validation. See docs/gke.md for why release channels and node auto-upgrade are refused.

import { createHash } from "node:crypto";
import * as container from "@pulumi/gcp/container";
import * as pulumi from "@pulumi/pulumi";
import type { GkeSettings, Taint } from "../config";
import type { ClusterPlan } from "../plan";
import { preflightEnvironment } from "../removed-apis";
import type { RunningCluster } from "../running";
import { base64Secret, scriptStep } from "../steps";
import { type GkeUpgradeShape, gkePoolUpgradeMinutes } from "../timeouts";
import { formatMinor, requireVersion } from "../versions";
import {
    carryOutWorkers,
    componentInputs,
    preflightTriggers,
    runningStateOf,
    validationStep,
    type WorkerAdapter,
} from "../workers";
import type { GkeVersions } from "./versions";

export const GKE_COMPONENT_TYPE = "k8s-upgrades:gke:Cluster";
/** GKE labels every node with its pool's name. */
export const NODE_POOL_LABEL = "cloud.google.com/gke-nodepool";
/** GKE node pool names: at most 40 characters. */
export const POOL_NAME_MAX = 40;
const TAINT_EFFECTS: Record<Taint["effect"], string> = {
    NoSchedule: "NO_SCHEDULE",
    PreferNoSchedule: "PREFER_NO_SCHEDULE",
    NoExecute: "NO_EXECUTE",
};

export interface GkeClusterArgs {
    plan: ClusterPlan;
    /** The exact versions decided for this deployment (gke/versions.ts). */
    versions: GkeVersions;
}

/** A GKE node pool name for a pool generation: its resource name, shortened with a hash past 40 characters. */
export function nodePoolName(resourceName: string): string {
    if (resourceName.length <= POOL_NAME_MAX) return resourceName;
    const hash = createHash("sha256").update(resourceName).digest("hex").slice(0, 8);
    return `${resourceName.slice(0, POOL_NAME_MAX - 9).replace(/-+$/, "")}-${hash}`;
}

/** The zones a pool's nodes run in: the listed ones, else the cluster's zone (a region needs them listed). */
export function zonesOf(gke: GkeSettings): string[] {
    return gke.nodeLocations.length > 0 ? gke.nodeLocations : [gke.location];
}

/** GKE's upgradeSettings for a pool, from gke.upgradeSettings (validated in the config schema). */
export function upgradeSettingsOf(gke: GkeSettings): container.NodePoolArgs["upgradeSettings"] {
    const u = gke.upgradeSettings;
    if (u.strategy === "SURGE")
        return { strategy: "SURGE", maxSurge: u.maxSurge ?? 1, maxUnavailable: u.maxUnavailable ?? 0 };
    const bg = u.blueGreenSettings;
    const policy = bg?.standardRolloutPolicy;
    return {
        strategy: "BLUE_GREEN",
        blueGreenSettings: {
            standardRolloutPolicy: {
                batchNodeCount: policy?.batchNodeCount,
                batchPercentage: policy?.batchPercentage,
                batchSoakDuration: policy?.batchSoakDuration,
            },
            nodePoolSoakDuration: bg?.nodePoolSoakDuration,
        },
    };
}

/** A kubeconfig that authenticates through gke-gcloud-auth-plugin (a prerequisite of `pulumi up`, like gcloud). */
export function gkeKubeconfig(endpoint: pulumi.Input<string>, caData: pulumi.Input<string>): pulumi.Output<string> {
    return pulumi.all([endpoint, caData]).apply(([host, ca]) =>
        JSON.stringify(
            {
                apiVersion: "v1",
                kind: "Config",
                "current-context": "gke",
                clusters: [{ name: "gke", cluster: { server: `https://${host}`, "certificate-authority-data": ca } }],
                contexts: [{ name: "gke", context: { cluster: "gke", user: "gke" } }],
                users: [
                    {
                        name: "gke",
                        user: {
                            exec: {
                                apiVersion: "client.authentication.k8s.io/v1beta1",
                                command: "gke-gcloud-auth-plugin",
                                provideClusterInfo: true,
                                interactiveMode: "Never",
                            },
                        },
                    },
                ],
            },
            null,
            2,
        ),
    );
}

/** What the steps of one GKE cluster's deployment share. */
interface GkeDeployment {
    name: string;
    plan: ClusterPlan;
    gke: GkeSettings;
    targetMinor: string;
    /** The cluster's location and project, as every GKE resource and data source takes them. */
    where: { location: string; project?: string };
    parent: pulumi.Resource;
    child: (extra?: pulumi.CustomResourceOptions) => pulumi.CustomResourceOptions;
}

export class GkeUpgradeCluster extends pulumi.ComponentResource {
    readonly kubeconfig: pulumi.Output<string>;
    readonly runningState: pulumi.Output<RunningCluster>;

    constructor(name: string, args: GkeClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        const { plan, versions } = args;
        super(GKE_COMPONENT_TYPE, name, componentInputs(plan), opts);
        const gke = plan.cluster.gke!;
        const d: GkeDeployment = {
            name,
            plan,
            gke,
            targetMinor: formatMinor(requireVersion(plan.cluster.kubernetesVersion)),
            where: { location: gke.location, ...(gke.project ? { project: gke.project } : {}) },
            parent: this,
            child: (extra) => ({ parent: this, ...extra }),
        };

        const preflight = registerPreflight(d);
        const cluster = registerControlPlane(d, versions, preflight);
        this.kubeconfig = pulumi.secret(
            gkeKubeconfig(
                cluster.endpoint,
                cluster.masterAuth.apply((a) => a.clusterCaCertificate ?? ""),
            ),
        );
        const kubeconfigB64 = base64Secret(this.kubeconfig);

        const adapter = poolAdapter(d, versions, cluster);
        const controlPlane: pulumi.Resource = plan.controlPlane.change === "minor" ? cluster : (preflight ?? cluster);
        const workersArgs = { parent: this, name, plan, kubeconfig: kubeconfigB64, controlPlane, adapter };
        const workers = carryOutWorkers(workersArgs);
        const validation = validationStep(workersArgs, workers.steps, workers.validateSelectors);
        const done = [validation, ...workers.steps, cluster].filter((r): r is pulumi.Resource => r !== undefined);
        this.runningState = runningStateOf(plan, cluster.name, done, workers.registered).apply((state) => ({
            ...state,
            nodeVersions: versions.nodeVersions,
        }));
        this.registerOutputs({ kubeconfig: this.kubeconfig, runningState: this.runningState });
    }
}

/** Pre-flight reads the existing cluster through the data source, before the cluster resource changes. */
function registerPreflight(d: GkeDeployment): pulumi.Resource | undefined {
    const { plan } = d;
    if (!plan.preflight || !plan.running?.clusterId) return undefined;
    const existing = container.getClusterOutput({ name: plan.running.clusterId, ...d.where }, { parent: d.parent });
    return scriptStep(
        `${d.name}-preflight`,
        {
            create: "preflight",
            environment: preflightEnvironment(d.targetMinor),
            secrets: {
                K8SU_KUBECONFIG_B64: base64Secret(
                    gkeKubeconfig(
                        existing.endpoint,
                        existing.masterAuths.apply((a) => a[0]?.clusterCaCertificate ?? ""),
                    ),
                ),
            },
            triggers: preflightTriggers(plan),
        },
        d.child(),
    );
}

// The control plane: the provider upgrades the master only while it runs older than minMasterVersion, and
// GKE picks the newest patch of the minor. No release channel, so GKE moves nothing of its own accord but
// patches (and a minor at its end of support). nodeVersion reports the removed default pool's version; the
// program never sets it, so what GKE reports there is never a diff.
function registerControlPlane(
    d: GkeDeployment,
    versions: GkeVersions,
    preflight: pulumi.Resource | undefined,
): container.Cluster {
    const { gke } = d;
    return new container.Cluster(
        d.name,
        {
            name: d.plan.cluster.name,
            ...d.where,
            network: gke.network,
            subnetwork: gke.subnetwork,
            minMasterVersion: versions.masterVersion,
            removeDefaultNodePool: true,
            initialNodeCount: 1,
            releaseChannel: { channel: "UNSPECIFIED" },
            deletionProtection: gke.deletionProtection,
            resourceLabels: gke.resourceLabels,
        },
        d.child({ dependsOn: preflight ? [preflight] : [], ignoreChanges: ["nodeVersion"] }),
    );
}

/** Node pools, one per pool generation, at the exact node version decided for its minor. */
function poolAdapter(d: GkeDeployment, versions: GkeVersions, cluster: container.Cluster): WorkerAdapter {
    const { gke } = d;
    const zones = zonesOf(gke);
    const upgradeSettings = upgradeSettingsOf(gke);
    return {
        registerPool: (resourceName, spec, pool, deps) => {
            const np = new container.NodePool(
                resourceName,
                {
                    name: nodePoolName(resourceName),
                    cluster: cluster.name,
                    ...d.where,
                    nodeLocations: gke.nodeLocations.length > 0 ? gke.nodeLocations : undefined,
                    version: versions.nodeVersions[spec.version],
                    // GKE counts nodes per zone; config counts them in total (validated to divide evenly).
                    nodeCount: spec.count / zones.length,
                    autoscaling: spec.autoscaler
                        ? { totalMinNodeCount: spec.autoscaler.min, totalMaxNodeCount: spec.autoscaler.max }
                        : undefined,
                    management: { autoUpgrade: false, autoRepair: true },
                    upgradeSettings,
                    nodeConfig: {
                        machineType: spec.type,
                        diskSizeGb: gke.diskSizeGb,
                        serviceAccount: gke.serviceAccount,
                        labels: { ...pool.labels, "k8s-upgrades/pool": pool.name },
                        taints: pool.taints.map((t) => ({
                            key: t.key,
                            value: t.value,
                            effect: TAINT_EFFECTS[t.effect],
                        })),
                        resourceLabels: gke.resourceLabels,
                    },
                },
                d.child({
                    dependsOn: deps,
                    ignoreChanges: spec.autoscaler ? ["nodeCount"] : [],
                    // The provider waits for a version change under its 30-minute default update timeout; a
                    // surge or blue-green upgrade of more than a few nodes runs longer (see docs/gke.md).
                    customTimeouts: {
                        update: `${gkePoolUpgradeMinutes(spec.autoscaler?.max ?? spec.count, upgradeSettings as GkeUpgradeShape)}m`,
                    },
                }),
            );
            return { resource: np, id: np.name, selector: pulumi.interpolate`${NODE_POOL_LABEL}=${np.name}` };
        },
        recordedSelector: (pool) => `${NODE_POOL_LABEL}=${pool.poolId ?? nodePoolName(pool.resourceName)}`,
        // The pool's own version change is GKE's node upgrade, with the pool's upgradeSettings: the provider
        // waits for the operation, so the pool resource itself is the step.
        inPlace: (_p, handle) => handle.resource,
    };
}
