// An EKS cluster carried through one deployment of its upgrade plan: pre-flight → control plane (one minor,
// the cluster's `version`) → add-ons at versions compatible with it → node groups by strategy → validation.

// The SDK's eks and iam modules only: the package's index loads every AWS service (about 300 modules).
import * as awsEks from "@pulumi/aws/eks";
import * as awsIam from "@pulumi/aws/iam";
import * as pulumi from "@pulumi/pulumi";
import { type Adoption, adoptionOf, importOption, type ReportedPool, reportedRunningState } from "../adopt";
import type { EksSettings, Taint } from "../config";
import type { ClusterPlan, PoolPlan } from "../plan";
import { preflightEnvironment } from "../removed-apis";
import type { RunningCluster } from "../running";
import { base64Secret, scriptStep } from "../steps";
import { eksNodeGroupUpdateMinutes } from "../timeouts";
import { formatMinor, requireVersion } from "../versions";
import {
    carryOutWorkers,
    componentInputs,
    type PoolHandle,
    preflightTriggers,
    runningStateOf,
    validationStep,
    type WorkerAdapter,
} from "../workers";
import type { AddonName, AddonVersions } from "./addons";

export const EKS_COMPONENT_TYPE = "k8s-upgrades:eks:Cluster";
const TAINT_EFFECTS: Record<Taint["effect"], string> = {
    NoSchedule: "NO_SCHEDULE",
    PreferNoSchedule: "PREFER_NO_SCHEDULE",
    NoExecute: "NO_EXECUTE",
};
const CLUSTER_POLICIES = ["arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"];
const NODE_POLICIES = [
    "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
    "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
    "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
];

export interface EksClusterArgs {
    plan: ClusterPlan;
    /** Each add-on's version for this deployment (see eks/addons.ts); undefined leaves it at what runs. */
    addonVersions: AddonVersions;
    /** The aws:region config, used when the cluster's eks.region is not set. */
    defaultRegion?: string;
}

/** A kubeconfig that authenticates with `aws eks get-token` (the AWS CLI is a prerequisite of `pulumi up`). */
export function execKubeconfig(
    clusterName: pulumi.Input<string>,
    endpoint: pulumi.Input<string>,
    caData: pulumi.Input<string>,
    region?: string,
): pulumi.Output<string> {
    return pulumi.all([clusterName, endpoint, caData]).apply(([name, server, ca]) =>
        JSON.stringify(
            {
                apiVersion: "v1",
                kind: "Config",
                "current-context": "aws",
                clusters: [{ name: "eks", cluster: { server, "certificate-authority-data": ca } }],
                contexts: [{ name: "aws", context: { cluster: "eks", user: "aws" } }],
                users: [
                    {
                        name: "aws",
                        user: {
                            exec: {
                                apiVersion: "client.authentication.k8s.io/v1beta1",
                                command: "aws",
                                args: [
                                    "eks",
                                    "get-token",
                                    "--cluster-name",
                                    name,
                                    ...(region ? ["--region", region] : []),
                                ],
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

function role(
    name: string,
    service: string,
    policies: string[],
    parent: pulumi.Resource,
): { arn: pulumi.Output<string>; ready: pulumi.Resource[] } {
    const r = new awsIam.Role(
        name,
        {
            assumeRolePolicy: JSON.stringify({
                Version: "2012-10-17",
                Statement: [{ Effect: "Allow", Principal: { Service: service }, Action: "sts:AssumeRole" }],
            }),
        },
        { parent },
    );
    const attachments = policies.map(
        (policyArn) =>
            new awsIam.RolePolicyAttachment(
                `${name}-${policyArn.split("/").pop()}`,
                { role: r.name, policyArn },
                { parent },
            ),
    );
    return { arn: r.arn, ready: [r, ...attachments] };
}

/** What the steps of one EKS cluster's deployment share. */
interface EksDeployment {
    name: string;
    plan: ClusterPlan;
    eks: EksSettings;
    region: string | undefined;
    /** The region argument every resource and data source takes, when one is set. */
    regional: { region?: string };
    targetMinor: string;
    // An adopted cluster, its add-ons and node groups are imported by this deployment, and recorded from what
    // they report; the add-ons stay at the versions they run.
    adoption: Adoption | undefined;
    parent: pulumi.Resource;
    child: (extra?: pulumi.CustomResourceOptions) => pulumi.CustomResourceOptions;
}

type IamRole = { arn: pulumi.Output<string>; ready: pulumi.Resource[] };

export class EksUpgradeCluster extends pulumi.ComponentResource {
    readonly kubeconfig: pulumi.Output<string>;
    readonly runningState: pulumi.Output<RunningCluster>;

    constructor(name: string, args: EksClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        const { plan } = args;
        super(EKS_COMPONENT_TYPE, name, componentInputs(plan), opts);
        const eks = plan.cluster.eks!;
        const region = eks.region ?? args.defaultRegion;
        const d: EksDeployment = {
            name,
            plan,
            eks,
            region,
            targetMinor: formatMinor(requireVersion(plan.cluster.kubernetesVersion)),
            regional: region ? { region } : {},
            adoption: adoptionOf(plan),
            parent: this,
            child: (extra) => ({ parent: this, ...extra }),
        };
        const reportedPools: Record<string, ReportedPool> = {};

        const { clusterRole, nodeRole } = registerRoles(d);
        const preflight = registerPreflight(d);
        const cluster = registerControlPlane(d, clusterRole, preflight);
        this.kubeconfig = pulumi.secret(
            execKubeconfig(
                cluster.name,
                cluster.endpoint,
                cluster.certificateAuthority.apply((c) => c.data ?? ""),
                region,
            ),
        );

        // Add-ons after the control plane, at the versions decided for this deployment (eks/addons.ts): moved only
        // with a control plane upgrade or a pin. On a first deployment CoreDNS waits for the node groups, since its
        // pods need nodes to become active.
        const addons = addonRegistrar(d, cluster, args.addonVersions);
        const networking = [addons.register("vpc-cni", []), addons.register("kube-proxy", [])];
        const coreDnsNow = plan.exists ? [addons.register("coredns", [])] : [];

        const nodeGroups: pulumi.Resource[] = [];
        const workersArgs = {
            parent: this,
            name,
            plan,
            kubeconfig: base64Secret(this.kubeconfig),
            controlPlane: plan.controlPlane.change === "minor" ? cluster : (preflight ?? cluster),
            beforeWorkers: [...networking, ...coreDnsNow],
            adapter: poolAdapter(d, cluster, nodeRole, nodeGroups, reportedPools),
        };
        const workers = carryOutWorkers(workersArgs);
        const coreDnsAfterNodes = plan.exists ? [] : [addons.register("coredns", nodeGroups)];

        const validation = validationStep(
            workersArgs,
            [...workers.steps, ...coreDnsAfterNodes, ...networking, ...coreDnsNow],
            workers.validateSelectors,
        );
        const done = [validation, ...workers.steps, ...networking, ...coreDnsNow, ...coreDnsAfterNodes, cluster].filter(
            (r): r is pulumi.Resource => r !== undefined,
        );
        const planned = runningStateOf(plan, cluster.name, done, workers.registered);
        const recorded = d.adoption ? reportedRunningState(name, planned, cluster.version, reportedPools) : planned;
        this.runningState = pulumi
            .all([recorded, addons.running()])
            .apply(([state, running]) => ({ ...state, addons: running }));
        this.registerOutputs({ kubeconfig: this.kubeconfig, runningState: this.runningState });
    }
}

/** The cluster's and the nodes' IAM roles: the configured ARNs, else roles of this deployment. */
function registerRoles(d: EksDeployment): { clusterRole: IamRole; nodeRole: IamRole } {
    const { name, eks } = d;
    const clusterRole = eks.clusterRoleArn
        ? { arn: pulumi.output(eks.clusterRoleArn), ready: [] }
        : role(`${name}-cluster-role`, "eks.amazonaws.com", CLUSTER_POLICIES, d.parent);
    const nodeRole = eks.nodeRoleArn
        ? { arn: pulumi.output(eks.nodeRoleArn), ready: [] }
        : role(`${name}-node-role`, "ec2.amazonaws.com", NODE_POLICIES, d.parent);
    return { clusterRole, nodeRole };
}

/** Pre-flight reads the existing cluster through the data source, before the cluster resource changes. */
function registerPreflight(d: EksDeployment): pulumi.Resource | undefined {
    const { plan } = d;
    if (!plan.preflight || !plan.running?.clusterId) return undefined;
    const existing = awsEks.getClusterOutput({ name: plan.running.clusterId, ...d.regional }, { parent: d.parent });
    return scriptStep(
        `${d.name}-preflight`,
        {
            create: "preflight",
            environment: preflightEnvironment(d.targetMinor),
            secrets: {
                K8SU_KUBECONFIG_B64: base64Secret(
                    execKubeconfig(
                        existing.name,
                        existing.endpoint,
                        existing.certificateAuthorities.apply((c) => c[0]?.data ?? ""),
                        d.region,
                    ),
                ),
            },
            triggers: preflightTriggers(plan),
        },
        d.child(),
    );
}

/** The control plane: EKS upgrades it in place when `version` changes (UpdateClusterVersion), one minor. */
function registerControlPlane(
    d: EksDeployment,
    clusterRole: IamRole,
    preflight: pulumi.Resource | undefined,
): awsEks.Cluster {
    const { eks } = d;
    return new awsEks.Cluster(
        d.name,
        {
            version: d.targetMinor,
            roleArn: clusterRole.arn,
            vpcConfig: {
                subnetIds: eks.subnetIds,
                securityGroupIds: eks.securityGroupIds,
                endpointPublicAccess: eks.endpointPublicAccess,
                endpointPrivateAccess: eks.endpointPrivateAccess,
            },
            tags: { ...eks.tags, "k8s-upgrades/stack": d.plan.stack },
            ...d.regional,
        },
        d.child({
            dependsOn: [...(preflight ? [preflight] : []), ...clusterRole.ready],
            ...importOption(d.adoption?.cluster),
        }),
    );
}

/**
 * Registers the cluster's add-ons, each after the cluster and what it is given, and tells the versions they run
 * once this deployment is done, for the next one (and for promotion).
 */
function addonRegistrar(
    d: EksDeployment,
    cluster: awsEks.Cluster,
    addonVersions: AddonVersions,
): {
    register: (addonName: AddonName, deps: pulumi.Resource[]) => awsEks.Addon;
    running: () => pulumi.Output<Record<string, string>>;
} {
    const { adoption } = d;
    const registered: Array<{ addonName: AddonName; resource: awsEks.Addon }> = [];
    const register = (addonName: AddonName, deps: pulumi.Resource[]) => {
        const resource = new awsEks.Addon(
            `${d.name}-${addonName}`,
            {
                clusterName: cluster.name,
                addonName,
                addonVersion: adoption ? undefined : addonVersions[addonName],
                resolveConflictsOnUpdate: "PRESERVE",
                ...d.regional,
            },
            d.child({
                dependsOn: [cluster, ...deps],
                ...importOption(adoption && `${adoption.cluster}:${addonName}`),
            }),
        );
        registered.push({ addonName, resource });
        return resource;
    };
    const running = () =>
        pulumi
            .all(registered.map((a) => a.resource.addonVersion))
            .apply((versions) => Object.fromEntries(registered.map((a, i) => [a.addonName, versions[i]])));
    return { register, running };
}

/** The maximum unavailable nodes of a managed rolling update: one at a time for recycle, else eks settings. */
function rollingUpdate(d: EksDeployment): { maxUnavailable: number } | { maxUnavailablePercentage: number } {
    const { eks } = d;
    return d.plan.cluster.workers.strategy === "recycle"
        ? { maxUnavailable: 1 }
        : eks.maxUnavailablePercentage !== undefined
          ? { maxUnavailablePercentage: eks.maxUnavailablePercentage }
          : { maxUnavailable: eks.maxUnavailable ?? 1 };
}

/** Managed node groups, one per pool generation; `nodeGroups` collects them for what waits on every one. */
function poolAdapter(
    d: EksDeployment,
    cluster: awsEks.Cluster,
    nodeRole: IamRole,
    nodeGroups: pulumi.Resource[],
    reportedPools: Record<string, ReportedPool>,
): WorkerAdapter {
    const { eks, adoption } = d;
    const rolling = rollingUpdate(d);
    return {
        registerPool: (resourceName, spec, pool, deps) => {
            const updateMinutes = eksNodeGroupUpdateMinutes(spec.autoscaler?.max ?? spec.count, rolling);
            // Auto-named (no nodeGroupName), so that a replacement is create-before-delete.
            const ng = new awsEks.NodeGroup(
                resourceName,
                {
                    clusterName: cluster.name,
                    nodeRoleArn: nodeRole.arn,
                    subnetIds: eks.subnetIds,
                    instanceTypes: [spec.type],
                    version: spec.version,
                    scalingConfig: {
                        desiredSize: spec.count,
                        minSize: spec.autoscaler?.min ?? spec.count,
                        maxSize: spec.autoscaler?.max ?? spec.count,
                    },
                    labels: { ...pool.labels, "k8s-upgrades/pool": pool.name },
                    taints: pool.taints.map((t) => ({ key: t.key, value: t.value, effect: TAINT_EFFECTS[t.effect] })),
                    updateConfig: { ...rolling, updateStrategy: eks.updateStrategy },
                    forceUpdateVersion: eks.forceUpdateVersion,
                    tags: { ...eks.tags, "k8s-upgrades/pool": pool.name },
                    ...d.regional,
                },
                d.child({
                    dependsOn: [...deps, ...nodeRole.ready],
                    ignoreChanges: spec.autoscaler ? ["scalingConfig.desiredSize"] : [],
                    // A version change is the managed rolling update, which the provider waits for under its
                    // 60-minute default update timeout; a group of more than a few nodes takes longer.
                    customTimeouts: { update: `${updateMinutes}m` },
                    ...importOption(adoption?.pools[pool.name]),
                }),
            );
            nodeGroups.push(ng);
            if (adoption)
                reportedPools[resourceName] = {
                    version: ng.version,
                    count: ng.scalingConfig.desiredSize,
                    type: ng.instanceTypes.apply((t) => t?.[0]),
                };
            return {
                resource: ng,
                id: ng.nodeGroupName,
                selector: pulumi.interpolate`eks.amazonaws.com/nodegroup=${ng.nodeGroupName}`,
            };
        },
        recordedSelector: (pool) => `eks.amazonaws.com/nodegroup=${pool.poolId}`,
        // The step may wait out an update still running and then issue its own: twice the update's worst case.
        inPlace: (p, handle) =>
            nodeGroupVersionStep(
                d,
                cluster,
                p,
                handle,
                2 * eksNodeGroupUpdateMinutes(p.config.autoscaler?.max ?? p.config.count, rolling) * 60,
            ),
    };
}

// The node group's own version change is the managed rolling update. After a failed update the engine keeps
// the target in state and the next run sees no diff, so a step checks what EKS runs and, when the node group
// lags, issues the update itself.
function nodeGroupVersionStep(
    d: EksDeployment,
    cluster: awsEks.Cluster,
    p: PoolPlan,
    handle: PoolHandle,
    timeoutSeconds: number,
): pulumi.Resource {
    return scriptStep(
        `${p.resourceName}-version`,
        {
            create: "eks-nodegroup-version",
            environment: {
                K8SU_EKS_CLUSTER: cluster.name,
                K8SU_NODEGROUP: handle.id,
                K8SU_TARGET_MINOR: formatMinor(requireVersion(p.version)),
                K8SU_FORCE: String(d.eks.forceUpdateVersion),
                K8SU_TIMEOUT_SECONDS: String(timeoutSeconds),
                ...(d.region ? { K8SU_AWS_REGION: d.region } : {}),
            },
            triggers: [formatMinor(requireVersion(p.version))],
        },
        d.child({ dependsOn: [handle.resource] }),
    );
}
