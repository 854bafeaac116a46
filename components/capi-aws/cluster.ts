// A Cluster API (AWS) workload cluster carried through one deployment, through the management cluster:
// pre-flight → KubeadmControlPlane at the target (waited) → per pool an immutable AWSMachineTemplate
// (named from a hash of its spec) and a MachineDeployment (waited) → validation. Cluster API itself
// cordons and drains machines it removes (nodeDrainTimeout, PodDisruptionBudgets respected).
import { createHash } from "node:crypto";
import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { CapiAwsSettings, ClusterConfig, ConfigIssue } from "../config";
import type { ClusterPlan, PoolPlan } from "../plan";
import type { RunningCluster, RunningPool } from "../running";
import { base64Secret, scriptStep } from "../steps";
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
): Promise<{ amis: AmiByVersion; issues: ConfigIssue[] }> {
    const capi = cluster.capiAws!;
    const amis: AmiByVersion = {};
    const issues: ConfigIssue[] = [];
    for (const version of versions) {
        if (capi.amis[version]) {
            amis[version] = capi.amis[version];
            continue;
        }
        if (capi.amiLookup) {
            try {
                const ami = await aws.ec2.getAmi({
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

/** An immutable template's name: any change of version, AMI or instance type gives a new name. */
export function templateName(base: string, spec: { version: string; ami: string; instanceType: string }): string {
    const hash = createHash("sha256")
        .update(JSON.stringify([spec.version, spec.ami, spec.instanceType]))
        .digest("hex")
        .slice(0, 8);
    return `${base}-${hash}`;
}

/** What the control plane reports once every replica runs the target. */
export function controlPlaneConditions(version: string, replicas: number): string[] {
    return [
        `{.status.version}=v${version}`,
        `{.status.updatedReplicas}=${replicas}`,
        `{.status.readyReplicas}=${replicas}`,
    ];
}
export const CONTROL_PLANE_ROLLOUT_SECONDS = 3600;

export function waitForAnnotation(conditions: string[]): Record<string, string> {
    return { "pulumi.com/waitFor": JSON.stringify(conditions) };
}

export interface CapiClusterArgs {
    plan: ClusterPlan;
    managementKubeconfig: pulumi.Output<string>;
    amis: AmiByVersion;
}

export class CapiAwsUpgradeCluster extends pulumi.ComponentResource {
    readonly runningState: pulumi.Output<RunningCluster>;

    constructor(name: string, args: CapiClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        const { plan, amis } = args;
        super(CAPI_COMPONENT_TYPE, name, componentInputs(plan), opts);
        const cfg = plan.cluster;
        const capi: CapiAwsSettings = cfg.capiAws!;
        const target = formatVersion(requireVersion(cfg.kubernetesVersion));
        const provider = new k8s.Provider(
            `${name}-management`,
            { kubeconfig: args.managementKubeconfig, enableServerSideApply: true },
            { parent: this },
        );
        const child = (extra?: pulumi.CustomResourceOptions): pulumi.CustomResourceOptions => ({
            parent: this,
            provider,
            ...extra,
        });
        const meta = (resourceName: string, annotations: Record<string, string> = {}) => ({
            name: resourceName,
            namespace: capi.namespace,
            annotations,
        });

        const machineTemplate = (
            resourceName: string,
            base: string,
            version: string,
            instanceType: string,
            profile: string,
        ) => {
            const ami = amis[version];
            const metadataName = templateName(base, { version, ami, instanceType });
            // Immutable: the name carries the spec's hash, and a replacement is created before the old one goes.
            return new k8s.apiextensions.CustomResource(
                resourceName,
                {
                    apiVersion: API.machineTemplate,
                    kind: "AWSMachineTemplate",
                    metadata: meta(metadataName),
                    spec: {
                        template: {
                            spec: {
                                instanceType,
                                ami: { id: ami },
                                iamInstanceProfile: profile,
                                ...(capi.sshKeyName ? { sshKeyName: capi.sshKeyName } : {}),
                            },
                        },
                    },
                },
                child({ deleteBeforeReplace: false }),
            );
        };

        // The workload cluster's kubeconfig, which Cluster API keeps in the management cluster, for pre-flight and validation.
        const workloadKubeconfig = pulumi.secret(
            k8s.core.v1.Secret.get(`${name}-workload-kubeconfig`, `${capi.namespace}/${capi.clusterName}-kubeconfig`, {
                parent: this,
                provider,
            }).data.apply((d) => d?.value ?? ""),
        );
        const preflight = plan.preflight
            ? scriptStep(
                  `${name}-preflight`,
                  {
                      create: "preflight",
                      environment: { K8SU_TARGET_MINOR: formatMinor(requireVersion(target)) },
                      secrets: { K8SU_KUBECONFIG_B64: workloadKubeconfig },
                      triggers: [target, ...plan.pools.map((p) => p.resourceName)],
                  },
                  { parent: this },
              )
            : undefined;

        // Control plane: the existing KubeadmControlPlane patched to the target, waited until every replica runs it.
        const cpTemplate = machineTemplate(
            `${name}-control-plane-template`,
            capi.controlPlane.name,
            target,
            capi.controlPlane.instanceType,
            capi.controlPlaneIamInstanceProfile,
        );
        const controlPlanePatch = new k8s.apiextensions.CustomResourcePatch(
            `${name}-control-plane`,
            {
                apiVersion: API.controlPlane,
                kind: "KubeadmControlPlane",
                metadata: meta(capi.controlPlane.name, { "pulumi.com/patchForce": "true" }),
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
            child({ dependsOn: preflight ? [preflight] : [] }),
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
                    K8SU_TIMEOUT_SECONDS: String(CONTROL_PLANE_ROLLOUT_SECONDS),
                },
                secrets: { K8SU_KUBECONFIG_B64: base64Secret(args.managementKubeconfig) },
                triggers: [target, capi.controlPlane.replicas],
            },
            { parent: this, dependsOn: [controlPlanePatch] },
        );

        // Workers: a MachineDeployment per pool generation, after the control plane reports the target.
        const drainTimeout = `${cfg.workers.drain.timeoutSeconds}s`;
        const registered: Array<{ running: RunningPool; id: pulumi.Output<string> }> = [];
        const machineDeployment = (
            p: PoolPlan,
            resourceName: string,
            version: string,
            replicas: number,
            extraDeps: pulumi.Resource[],
        ) => {
            const instanceType = p.blue && resourceName === p.blue.resourceName ? p.blue.type : p.config.type;
            const mt = machineTemplate(
                `${resourceName}-machine-template`,
                resourceName,
                version,
                instanceType,
                capi.iamInstanceProfile,
            );
            const bootstrap = new k8s.apiextensions.CustomResource(
                `${resourceName}-bootstrap`,
                {
                    apiVersion: API.bootstrap,
                    kind: "KubeadmConfigTemplate",
                    metadata: meta(resourceName),
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
                child(),
            );
            const autoscaled = p.config.autoscaler && replicas > 0;
            const conditions =
                replicas > 0
                    ? [`jsonpath={.status.updatedReplicas}=${replicas}`, `jsonpath={.status.readyReplicas}=${replicas}`]
                    : ["jsonpath={.status.replicas}=0"];
            const labels = { ...p.config.labels, "k8s-upgrades/pool": p.name, [GENERATION_LABEL]: resourceName };
            return new k8s.apiextensions.CustomResource(
                resourceName,
                {
                    apiVersion: API.machineDeployment,
                    kind: "MachineDeployment",
                    metadata: meta(resourceName, {
                        ...waitForAnnotation(conditions),
                        ...(autoscaled
                            ? {
                                  "cluster.x-k8s.io/cluster-api-autoscaler-node-group-min-size": String(
                                      p.config.autoscaler!.min,
                                  ),
                                  "cluster.x-k8s.io/cluster-api-autoscaler-node-group-max-size": String(
                                      p.config.autoscaler!.max,
                                  ),
                              }
                            : {}),
                    }),
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
                                nodeDrainTimeout: drainTimeout,
                            },
                        },
                    },
                },
                child({ dependsOn: [controlPlane, ...extraDeps], ignoreChanges: autoscaled ? ["spec.replicas"] : [] }),
            );
        };

        const steps: pulumi.Resource[] = [];
        for (const p of plan.pools) {
            const md = machineDeployment(
                p,
                p.resourceName,
                formatVersion(requireVersion(p.version)),
                p.config.count,
                [],
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
                // Blue-green: the old MachineDeployment is scaled to zero only once the new one is ready;
                // Cluster API drains its machines. The next deployment removes it.
                const blue = p.blue;
                const scaledDown = machineDeployment(
                    p,
                    blue.resourceName,
                    formatVersion(requireVersion(blue.version)),
                    0,
                    [md],
                );
                registered.push({ running: { ...blue, retained: true }, id: pulumi.output(blue.resourceName) });
                steps.push(scaledDown);
            }
        }

        const moved = plan.pools
            .filter((p) => p.action !== "keep")
            .map((p) => pulumi.output(`${GENERATION_LABEL}=${p.resourceName}`));
        const validation = validationStep(
            { parent: this, name, plan, kubeconfig: workloadKubeconfig, controlPlane },
            steps,
            moved,
        );
        const done = [controlPlanePatch, controlPlane, ...steps, ...(validation ? [validation] : [])];
        this.runningState = runningStateOf(plan, capi.clusterName, done, registered);
        this.registerOutputs({ runningState: this.runningState });
    }
}
