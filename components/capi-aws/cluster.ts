// A Cluster API (AWS) workload cluster carried through one deployment, through the management cluster:
// pre-flight → KubeadmControlPlane at the target (waited) → per pool an immutable AWSMachineTemplate
// (named from a hash of its whole spec) and a MachineDeployment (waited) → blue machines retired in batches by
// our own step → validation. Cluster API drains every machine it removes, PodDisruptionBudgets respected; no
// nodeDrainTimeout is set, because once it expires the machine controller deletes the machine undrained.
import { createHash } from "node:crypto";
// The SDKs' modules in use only: each package's index loads every service or API group it has.
import * as awsEc2 from "@pulumi/aws/ec2";
import * as k8sApiExtensions from "@pulumi/kubernetes/apiextensions";
import * as k8sCoreV1 from "@pulumi/kubernetes/core/v1";
import { Provider as K8sProvider } from "@pulumi/kubernetes/provider";
import * as pulumi from "@pulumi/pulumi";
import type { CapiAwsSettings, ClusterConfig, ConfigIssue } from "../config";
import type { ClusterPlan, PoolPlan } from "../plan";
import { preflightEnvironment } from "../removed-apis";
import type { RunningCluster, RunningPool } from "../running";
import { base64Secret, scriptStep } from "../steps";
import { CAPI_CREATE_MINUTES, capiRolloutMinutes } from "../timeouts";
import { formatMinor, formatVersion, requireVersion } from "../versions";
import { componentInputs, runningStateOf, validationStep } from "../workers";

/** Cluster API copies labels in this domain from Machines to their Nodes, so the scripts can select a generation's nodes. */
export const GENERATION_LABEL = "node.cluster.x-k8s.io/k8s-upgrades-generation";

export const CAPI_COMPONENT_TYPE = "k8s-upgrades:capi-aws:Cluster";
export const API = {
    machineTemplate: "infrastructure.cluster.x-k8s.io/v1beta2",
    bootstrap: "bootstrap.cluster.x-k8s.io/v1beta1",
    machineDeployment: "cluster.x-k8s.io/v1beta1",
    controlPlane: "controlplane.cluster.x-k8s.io/v1beta1",
};

/** The AMI for each Kubernetes version this deployment needs. */
export type AmiByVersion = Record<string, string>;

/** The versions whose machines this deployment creates: the control plane's and every pool's. */
export function neededVersions(plan: ClusterPlan): string[] {
    const versions = [
        plan.cluster.kubernetesVersion,
        ...plan.pools.map((p) => p.version),
        ...plan.pools.flatMap((p) => (p.blue ? [p.blue.version] : [])),
    ];
    return [...new Set(versions.map((v) => formatVersion(requireVersion(v))))];
}

/**
 * Resolves AMIs before anything is registered: from capi-aws.amis, else by the image's kubernetes_version tag.
 * A version with no image is refused: its machines would never join the cluster.
 */
export async function resolveAmis(
    stack: string,
    index: number,
    cluster: ClusterConfig,
    versions: string[],
    recorded: AmiByVersion = {},
): Promise<{ amis: AmiByVersion; issues: ConfigIssue[] }> {
    const capi = cluster.capiAws!;
    const amis: AmiByVersion = {};
    const issues: ConfigIssue[] = [];
    for (const version of versions) {
        if (capi.amis[version]) {
            amis[version] = capi.amis[version];
            continue;
        }
        // Pinned: the image a version's machines run is what the last deployment recorded. A lookup (mostRecent)
        // would move every template whenever the image is rebuilt, rolling the whole cluster with no pre-flight.
        if (recorded[version]) {
            amis[version] = recorded[version];
            continue;
        }
        if (capi.amiLookup) {
            try {
                const ami = await awsEc2.getAmi({
                    owners: capi.amiLookup.owners,
                    mostRecent: true,
                    filters: [
                        { name: "tag:kubernetes_version", values: [version, `v${version}`] },
                        ...(capi.amiLookup.namePattern ? [{ name: "name", values: [capi.amiLookup.namePattern] }] : []),
                    ],
                    ...(capi.region ? { region: capi.region } : {}),
                });
                amis[version] = ami.id;
                continue;
            } catch {
                /* no image: refused below */
            }
        }
        issues.push({
            stack,
            cluster: cluster.name,
            field: `clusters[${index}].capi-aws.amis`,
            given: Object.keys(capi.amis),
            allowed: `an AMI built for Kubernetes ${version}`,
            hint: `Machines from an image built for another version never join the cluster. Build one (image-builder tags it kubernetes_version=${version}) and add capi-aws.amis["${version}"]${capi.amiLookup ? ", or publish it where amiLookup finds it" : ""}.`,
        });
    }
    return { amis, issues };
}

/** The same JSON for the same data, whatever the order of keys. */
function canonicalJson(value: unknown): string {
    if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
    if (value && typeof value === "object")
        return `{${Object.keys(value)
            .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
            .sort()
            .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`)
            .join(",")}}`;
    return JSON.stringify(value);
}

/**
 * An immutable template's name: a hash of the version and the whole spec, so any change (AMI, instance type,
 * instance profile, SSH key, ...) gives a new template; CAPA's webhook rejects any update of an existing one.
 */
export function templateName(base: string, version: string, spec: Record<string, unknown>): string {
    const hash = createHash("sha256").update(canonicalJson({ version, spec })).digest("hex").slice(0, 8);
    return `${base}-${hash}`;
}

/** Versions whose recorded AMI this deployment replaces (the user set another in capi-aws.amis). */
export function imageMoves(
    plan: ClusterPlan,
    amis: AmiByVersion,
): Array<{ version: string; from: string; to: string }> {
    const recorded = plan.running?.images ?? {};
    return Object.entries(amis)
        .filter(([version, ami]) => recorded[version] !== undefined && recorded[version] !== ami)
        .map(([version, to]) => ({ version, from: recorded[version], to }));
}

/**
 * What a MachineDeployment reports once a rollout to `replicas` is over. In v1beta1 readyReplicas counts old
 * and new machines alike, so updated and ready can both equal N while an old machine still exists: the total
 * must be N too.
 */
export function machineDeploymentConditions(replicas: number): string[] {
    return [
        `jsonpath={.status.replicas}=${replicas}`,
        `jsonpath={.status.updatedReplicas}=${replicas}`,
        `jsonpath={.status.readyReplicas}=${replicas}`,
    ];
}

/** What the control plane reports once every replica runs the target. */
export function controlPlaneConditions(version: string, replicas: number): string[] {
    return [
        `{.status.version}=v${version}`,
        `{.status.updatedReplicas}=${replicas}`,
        `{.status.readyReplicas}=${replicas}`,
    ];
}
/**
 * How long the control plane's rollout may take: KubeadmControlPlane replaces one machine at a time, each a new
 * machine and the old one's drain (see capiRolloutMinutes); in seconds.
 */
export function controlPlaneRolloutSeconds(replicas: number, drainTimeoutSeconds: number): number {
    return capiRolloutMinutes(replicas, 1, drainTimeoutSeconds) * 60;
}

export function waitForAnnotation(conditions: string[]): Record<string, string> {
    return { "pulumi.com/waitFor": JSON.stringify(conditions) };
}

export interface CapiClusterArgs {
    plan: ClusterPlan;
    managementKubeconfig: pulumi.Output<string>;
    amis: AmiByVersion;
}

/** What the steps of one Cluster API cluster's deployment share. */
interface CapiDeployment {
    name: string;
    plan: ClusterPlan;
    capi: CapiAwsSettings;
    /** The target version, patch included. */
    target: string;
    amis: AmiByVersion;
    managementKubeconfig: pulumi.Output<string>;
    parent: pulumi.Resource;
    /** Options of a resource in the management cluster. */
    child: (extra?: pulumi.CustomResourceOptions) => pulumi.CustomResourceOptions;
}

type RegisteredPool = { running: RunningPool; id: pulumi.Output<string> };

export class CapiAwsUpgradeCluster extends pulumi.ComponentResource {
    readonly runningState: pulumi.Output<RunningCluster>;

    constructor(name: string, args: CapiClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        const { plan, amis } = args;
        super(CAPI_COMPONENT_TYPE, name, componentInputs(plan), opts);
        const capi: CapiAwsSettings = plan.cluster.capiAws!;
        const target = formatVersion(requireVersion(plan.cluster.kubernetesVersion));
        const provider = new K8sProvider(
            `${name}-management`,
            { kubeconfig: args.managementKubeconfig, enableServerSideApply: true },
            { parent: this },
        );
        const d: CapiDeployment = {
            name,
            plan,
            capi,
            target,
            amis,
            managementKubeconfig: args.managementKubeconfig,
            parent: this,
            child: (extra) => ({ parent: this, provider, ...extra }),
        };

        // The workload cluster's kubeconfig, which Cluster API keeps in the management cluster, for pre-flight and validation.
        const workloadKubeconfig = pulumi.secret(
            k8sCoreV1.Secret.get(`${name}-workload-kubeconfig`, `${capi.namespace}/${capi.clusterName}-kubeconfig`, {
                parent: this,
                provider,
            }).data.apply((data) => data?.value ?? ""),
        );
        const preflight = registerPreflight(d, workloadKubeconfig);
        const { controlPlanePatch, controlPlane } = registerControlPlane(d, preflight);
        const workers = registerPools(d, controlPlane);
        const steps = [...workers.steps, ...retireBluePools(d, workloadKubeconfig, workers.greens, workers.blues)];

        const moved = plan.pools
            .filter((p) => p.action !== "keep")
            .map((p) => pulumi.output(`${GENERATION_LABEL}=${p.resourceName}`));
        const validation = validationStep(
            { parent: this, name, plan, kubeconfig: workloadKubeconfig, controlPlane },
            steps,
            moved,
        );
        const done = [controlPlanePatch, controlPlane, ...steps, ...(validation ? [validation] : [])];
        // The images are part of what runs: pinned for the next deployment (see resolveAmis).
        this.runningState = runningStateOf(plan, capi.clusterName, done, workers.registered).apply((state) => ({
            ...state,
            images: Object.fromEntries(neededVersions(plan).map((v) => [v, amis[v]])),
        }));
        this.registerOutputs({ runningState: this.runningState });
    }
}

function meta(d: CapiDeployment, resourceName: string, annotations: Record<string, string> = {}) {
    return { name: resourceName, namespace: d.capi.namespace, annotations };
}

/** An AWSMachineTemplate of one version's AMI. */
function machineTemplate(
    d: CapiDeployment,
    resourceName: string,
    base: string,
    version: string,
    instanceType: string,
    profile: string,
): k8sApiExtensions.CustomResource {
    const { capi } = d;
    const spec = {
        template: {
            spec: {
                instanceType,
                ami: { id: d.amis[version] },
                iamInstanceProfile: profile,
                ...(capi.sshKeyName ? { sshKeyName: capi.sshKeyName } : {}),
            },
        },
    };
    // Immutable: the name carries the whole spec's hash, and a replacement is created before the old one goes.
    return new k8sApiExtensions.CustomResource(
        resourceName,
        {
            apiVersion: API.machineTemplate,
            kind: "AWSMachineTemplate",
            metadata: meta(d, templateName(base, version, spec)),
            spec,
        },
        d.child({ deleteBeforeReplace: false }),
    );
}

/** A new image for a version that runs already (capi-aws.amis changed) rolls every machine: pre-flight it. */
function registerPreflight(d: CapiDeployment, workloadKubeconfig: pulumi.Output<string>): pulumi.Resource | undefined {
    const { plan, target } = d;
    const moves = imageMoves(plan, d.amis);
    if (!plan.preflight && !(plan.exists && moves.length > 0)) return undefined;
    return scriptStep(
        `${d.name}-preflight`,
        {
            create: "preflight",
            environment: preflightEnvironment(formatMinor(requireVersion(target))),
            secrets: { K8SU_KUBECONFIG_B64: workloadKubeconfig },
            // A second image move at the same version must pre-flight again.
            triggers: [target, ...plan.pools.map((p) => p.resourceName), ...moves.map((m) => m.to)],
        },
        { parent: d.parent },
    );
}

/** Control plane: the existing KubeadmControlPlane patched to the target, waited until every replica runs it. */
function registerControlPlane(
    d: CapiDeployment,
    preflight: pulumi.Resource | undefined,
): { controlPlanePatch: pulumi.Resource; controlPlane: pulumi.Resource } {
    const { name, capi, target } = d;
    const cpTemplate = machineTemplate(
        d,
        `${name}-control-plane-template`,
        capi.controlPlane.name,
        target,
        capi.controlPlane.instanceType,
        capi.controlPlaneIamInstanceProfile,
    );
    const controlPlanePatch = new k8sApiExtensions.CustomResourcePatch(
        `${name}-control-plane`,
        {
            apiVersion: API.controlPlane,
            kind: "KubeadmControlPlane",
            metadata: meta(d, capi.controlPlane.name, { "pulumi.com/patchForce": "true" }),
            spec: {
                version: `v${target}`,
                replicas: capi.controlPlane.replicas,
                rolloutStrategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: capi.controlPlane.maxSurge } },
                machineTemplate: {
                    infrastructureRef: {
                        apiVersion: API.machineTemplate,
                        kind: "AWSMachineTemplate",
                        name: cpTemplate.metadata.name,
                    },
                },
            },
        },
        d.child({ dependsOn: preflight ? [preflight] : [] }),
    );
    // Patch resources get no await logic from the Kubernetes provider (pulumi-kubernetes#2455), so a waitFor
    // annotation would not hold the workers back: this step waits on the control plane's status instead.
    const controlPlane = scriptStep(
        `${name}-control-plane-rollout`,
        {
            create: "wait-resource",
            environment: {
                K8SU_RESOURCE: `kubeadmcontrolplanes.controlplane.cluster.x-k8s.io/${capi.controlPlane.name}`,
                K8SU_NAMESPACE: capi.namespace,
                K8SU_CONDITIONS: controlPlaneConditions(target, capi.controlPlane.replicas).join("\n"),
                K8SU_TIMEOUT_SECONDS: String(
                    controlPlaneRolloutSeconds(capi.controlPlane.replicas, d.plan.cluster.workers.drain.timeoutSeconds),
                ),
            },
            secrets: { K8SU_KUBECONFIG_B64: base64Secret(d.managementKubeconfig) },
            // The image too: a new AMI alone rolls the control plane, and the workers wait for that rollout.
            triggers: [target, capi.controlPlane.replicas, d.amis[target]],
        },
        { parent: d.parent, dependsOn: [controlPlanePatch] },
    );
    return { controlPlanePatch, controlPlane };
}

/** A pool generation's KubeadmConfigTemplate: how its machines join the cluster. */
function bootstrapTemplate(d: CapiDeployment, resourceName: string): k8sApiExtensions.CustomResource {
    return new k8sApiExtensions.CustomResource(
        `${resourceName}-bootstrap`,
        {
            apiVersion: API.bootstrap,
            kind: "KubeadmConfigTemplate",
            metadata: meta(d, resourceName),
            spec: {
                template: {
                    spec: {
                        joinConfiguration: {
                            nodeRegistration: {
                                name: "{{ ds.meta_data.local_hostname }}",
                                kubeletExtraArgs: { "cloud-provider": "external" },
                            },
                        },
                    },
                },
            },
        },
        d.child(),
    );
}

/** A MachineDeployment's annotations: the rollout to wait for, and the autoscaler's range when autoscaled. */
function machineDeploymentAnnotations(
    p: PoolPlan,
    replicas: number,
    retiring: boolean,
    autoscaled: boolean,
): Record<string, string> {
    return {
        ...(retiring ? {} : waitForAnnotation(machineDeploymentConditions(replicas))),
        ...(autoscaled
            ? {
                  "cluster.x-k8s.io/cluster-api-autoscaler-node-group-min-size": String(p.config.autoscaler!.min),
                  "cluster.x-k8s.io/cluster-api-autoscaler-node-group-max-size": String(p.config.autoscaler!.max),
              }
            : {}),
    };
}

/** A pool generation: its machine template, its bootstrap template and its MachineDeployment, after the control plane. */
function machineDeployment(
    d: CapiDeployment,
    controlPlane: pulumi.Resource,
    p: PoolPlan,
    resourceName: string,
    version: string,
    replicas: number,
    retiring = false,
): pulumi.Resource {
    const { capi } = d;
    const instanceType = p.blue && resourceName === p.blue.resourceName ? p.blue.type : p.config.type;
    const mt = machineTemplate(
        d,
        `${resourceName}-machine-template`,
        resourceName,
        version,
        instanceType,
        capi.iamInstanceProfile,
    );
    const bootstrap = bootstrapTemplate(d, resourceName);
    // A retiring (blue) MachineDeployment is scaled down by the retire step, never by its resource or an autoscaler.
    const autoscaled = Boolean(p.config.autoscaler) && !retiring;
    const labels = { ...p.config.labels, "k8s-upgrades/pool": p.name, [GENERATION_LABEL]: resourceName };
    return new k8sApiExtensions.CustomResource(
        resourceName,
        {
            apiVersion: API.machineDeployment,
            kind: "MachineDeployment",
            metadata: meta(d, resourceName, machineDeploymentAnnotations(p, replicas, retiring, autoscaled)),
            spec: {
                clusterName: capi.clusterName,
                replicas,
                selector: { matchLabels: { [GENERATION_LABEL]: resourceName } },
                strategy: {
                    type: "RollingUpdate",
                    rollingUpdate: { maxSurge: capi.maxSurge, maxUnavailable: capi.maxUnavailable },
                },
                template: {
                    metadata: { labels },
                    spec: {
                        clusterName: capi.clusterName,
                        version: `v${version}`,
                        bootstrap: {
                            configRef: {
                                apiVersion: API.bootstrap,
                                kind: "KubeadmConfigTemplate",
                                name: bootstrap.metadata.name,
                            },
                        },
                        infrastructureRef: {
                            apiVersion: API.machineTemplate,
                            kind: "AWSMachineTemplate",
                            name: mt.metadata.name,
                        },
                        // No nodeDrainTimeout: past it the machine controller stops draining and deletes the
                        // machine regardless of PodDisruptionBudgets. Our retire step holds the deadline.
                    },
                },
            },
        },
        d.child({
            dependsOn: [controlPlane],
            ignoreChanges: autoscaled || retiring ? ["spec.replicas"] : [],
            // The Kubernetes provider waits for the waitFor conditions for 10 minutes unless told otherwise: a new
            // MachineDeployment creates every machine at once; a template change rolls maxSurge + maxUnavailable
            // machines at a time, each old one drained. A retiring one has no conditions to wait for.
            ...(retiring
                ? {}
                : {
                      customTimeouts: {
                          create: `${CAPI_CREATE_MINUTES}m`,
                          update: `${capiRolloutMinutes(
                              autoscaled ? p.config.autoscaler!.max : replicas,
                              capi.maxSurge + capi.maxUnavailable,
                              d.plan.cluster.workers.drain.timeoutSeconds,
                          )}m`,
                      },
                  }),
        }),
    );
}

/** Workers: a MachineDeployment per pool generation, after the control plane reports the target. */
function registerPools(
    d: CapiDeployment,
    controlPlane: pulumi.Resource,
): {
    steps: pulumi.Resource[];
    greens: pulumi.Resource[];
    blues: Array<{ pool: RunningPool; resource: pulumi.Resource }>;
    registered: RegisteredPool[];
} {
    const registered: RegisteredPool[] = [];
    const steps: pulumi.Resource[] = [];
    const greens: pulumi.Resource[] = [];
    const blues: Array<{ pool: RunningPool; resource: pulumi.Resource }> = [];
    for (const p of d.plan.pools) {
        const md = machineDeployment(
            d,
            controlPlane,
            p,
            p.resourceName,
            formatVersion(requireVersion(p.version)),
            p.config.count,
        );
        registered.push({
            running: {
                name: p.name,
                resourceName: p.resourceName,
                version: p.version,
                type: p.config.type,
                count: p.config.count,
                autoscaler: p.config.autoscaler,
            },
            id: pulumi.output(p.resourceName),
        });
        steps.push(md);
        if (p.blue) {
            // Blue-green: the old MachineDeployment stays as it is (its replicas now owned by the retire step)
            // until every green one is ready; then it is retired in batches. The next deployment removes it.
            const blue = p.blue;
            greens.push(md);
            const old = machineDeployment(
                d,
                controlPlane,
                p,
                blue.resourceName,
                formatVersion(requireVersion(blue.version)),
                blue.count,
                true,
            );
            registered.push({ running: { ...blue, retained: true }, id: pulumi.output(blue.resourceName) });
            blues.push({ pool: blue, resource: old });
        }
    }
    return { steps, greens, blues, registered };
}

/**
 * Every blue node cordoned at once, so that evicted pods land on green nodes only; then the blue
 * MachineDeployments retired one after another, batchSize machines at a time across the cluster.
 */
function retireBluePools(
    d: CapiDeployment,
    workloadKubeconfig: pulumi.Output<string>,
    greens: pulumi.Resource[],
    blues: Array<{ pool: RunningPool; resource: pulumi.Resource }>,
): pulumi.Resource[] {
    if (blues.length === 0) return [];
    const { capi, target } = d;
    const drain = d.plan.cluster.workers.drain;
    const steps: pulumi.Resource[] = [];
    let previous: pulumi.Resource = scriptStep(
        `${d.name}-cordon-blue`,
        {
            create: "cordon",
            environment: {
                K8SU_SELECTORS: blues.map((b) => `${GENERATION_LABEL}=${b.pool.resourceName}`).join("\n"),
            },
            secrets: { K8SU_KUBECONFIG_B64: workloadKubeconfig },
            triggers: [target, ...blues.map((b) => b.pool.resourceName)],
        },
        { parent: d.parent, dependsOn: greens },
    );
    steps.push(previous);
    for (const b of blues) {
        previous = scriptStep(
            `${b.pool.resourceName}-retire`,
            {
                create: "capi-retire",
                environment: {
                    K8SU_MACHINE_DEPLOYMENT: b.pool.resourceName,
                    K8SU_NAMESPACE: capi.namespace,
                    K8SU_BATCH_SIZE: String(drain.batchSize),
                    K8SU_SOAK_SECONDS: String(drain.soakSeconds),
                    K8SU_DRAIN_TIMEOUT_SECONDS: String(drain.timeoutSeconds),
                },
                secrets: { K8SU_KUBECONFIG_B64: base64Secret(d.managementKubeconfig) },
                triggers: [target],
            },
            { parent: d.parent, dependsOn: [previous, b.resource] },
        );
        steps.push(b.resource, previous);
    }
    return steps;
}
