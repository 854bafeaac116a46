// Reads a captured program run as a reviewer would: ordered steps, what each does, what changes. Pure.

import type { RunningCluster, RunningState } from "../components/running";
import { parseRunningState, RUNNING_STATE_OUTPUT } from "../components/running";
import { scriptKindOf } from "../components/scripts";
import type { CapturedResource } from "./capture-types";

export interface Step {
    resource: CapturedResource;
    level: number;
    /** Names of the steps it waits for. */
    after: string[];
    what: string;
}

const HIDDEN_TYPES = new Set(["pulumi:pulumi:Stack", "pulumi:pulumi:StackReference"]);

/** The custom resources as dependency levels: level 1 needs nothing, level n waits for something at n-1. */
export function orderSteps(resources: CapturedResource[]): Step[] {
    const steps = resources.filter(
        (r) => r.custom && !HIDDEN_TYPES.has(r.type) && !r.type.startsWith("pulumi:providers:"),
    );
    const byUrn = new Map(steps.map((r) => [r.urn, r]));
    const deps = (r: CapturedResource) =>
        [...new Set([...r.dependencies, ...Object.values(r.propertyDependencies).flat()])].filter(
            (u) => byUrn.has(u) && u !== r.urn,
        );
    const level = new Map<string, number>();
    const visit = (r: CapturedResource, seen: Set<string>): number => {
        const known = level.get(r.urn);
        if (known !== undefined) return known;
        if (seen.has(r.urn)) throw new Error(`dependency cycle through ${r.name}`);
        seen.add(r.urn);
        const l = 1 + Math.max(0, ...deps(r).map((u) => visit(byUrn.get(u)!, seen)));
        level.set(r.urn, l);
        return l;
    };
    for (const r of steps) visit(r, new Set());
    return steps
        .map((r) => ({
            resource: r,
            level: level.get(r.urn)!,
            after: deps(r).map((u) => byUrn.get(u)!.name),
            what: describe(r),
        }))
        .sort((a, b) => a.level - b.level || steps.indexOf(a.resource) - steps.indexOf(b.resource));
}

/** The script kind of a command step, read from the generated script's header. */
export function scriptKind(r: CapturedResource, field: "create" | "delete" = "create"): string | undefined {
    // A remote step runs `bash -s` and sends the generated script on stdin.
    return scriptKindOf(field === "create" && scriptKindOf(r.inputs.stdin) ? r.inputs.stdin : r.inputs[field]);
}

function env(r: CapturedResource): Record<string, string> {
    return (r.inputs.environment ?? {}) as Record<string, string>;
}

/** What each local step does, in the words of its environment. */
const LOCAL_STEPS: Record<string, (e: Record<string, string>) => string> = {
    preflight: (e) =>
        `pre-flight for ${e.K8SU_TARGET_MINOR}: API ready, nodes Ready, kube-system healthy, no removed APIs in use, no blocking PodDisruptionBudget`,
    "lke-control-plane": (e) =>
        `control plane → ${e.K8SU_TARGET_MINOR} through the LKE API, then wait until the API server serves it`,
    "wait-ready": (e) =>
        `wait until ${e.K8SU_EXPECTED_NODES} node(s) of ${e.K8SU_SELECTOR} are Ready at ${e.K8SU_TARGET_MINOR} (timeout ${e.K8SU_TIMEOUT_SECONDS}s)`,
    "kubeadm-wait-ready": (e) =>
        `wait until ${e.K8SU_EXPECTED_NODES} node(s) of ${e.K8SU_SELECTOR} are Ready at exactly v${e.K8SU_TARGET_VERSION} (timeout ${e.K8SU_TIMEOUT_SECONDS}s)`,
    cordon: (e) => `cordon every blue node at once (${(e.K8SU_SELECTORS ?? "").split("\n").join(", ")})`,
    "wait-resource": (e) =>
        `wait until ${e.K8SU_RESOURCE} reports ${(e.K8SU_CONDITIONS ?? "").split("\n").join(", ")} (timeout ${e.K8SU_TIMEOUT_SECONDS}s)`,
    uncordon: (e) => `uncordon ${(e.K8SU_SELECTORS ?? "").split("\n").join(", ")}`,
    "local-command": (e) => `run: ${e.K8SU_COMMAND}`,
    drain: (e) =>
        `drain ${e.K8SU_SELECTOR} now: cordon all, then ${e.K8SU_BATCH_SIZE} at a time, ${e.K8SU_SOAK_SECONDS}s soak`,
    "drain-guard-create": (e) =>
        `drain guard for ${e.K8SU_SELECTOR}: when the pool is deleted, checks again first and drains what is left, ${e.K8SU_BATCH_SIZE} at a time`,
    validate: (e) => `validate at ${e.K8SU_TARGET_MINOR}: upgraded nodes Ready at the target, kube-system healthy`,
    "lke-in-place": (e) =>
        `in place: surge to ${Number(e.K8SU_POOL_COUNT) + 1} node(s), then per old node cordon, drain, recycle; the last one drained and deleted`,
    "lke-shrink-pool": (e) =>
        `lower pool ${e.K8SU_LKE_POOL_ID} to ${e.K8SU_POOL_COUNT} node(s): the nodes that go cordoned, drained ${e.K8SU_BATCH_SIZE} at a time and deleted through the node API, then the count set`,
    "rollout-soak": (e) =>
        `rollout: wave ${e.K8SU_WAVE} (${(e.K8SU_WAVE_CLUSTERS ?? "").split("\n").join(", ")}) passed validation; hold ${Number(e.K8SU_SOAK_SECONDS) / 60} min before the next wave starts`,
    "aks-system-pool": (e) =>
        `System pool ${e.K8SU_AKS_POOL} → ${e.K8SU_TARGET_MINOR} through the agent pool API (az aks nodepool upgrade, AKS's surge upgrade), waited for (timeout ${e.K8SU_TIMEOUT_SECONDS}s)`,
    "lke-recycle-pool": (e) => `recycle the anchor pool to ${e.K8SU_TARGET_MINOR} (tainted, no workloads)`,
};

/** What a step run over SSH on a kubeadm node does. */
function describeRemoteStep(r: CapturedResource, i: Record<string, unknown>): string {
    const host = (i.connection as { host?: string } | undefined)?.host;
    const param = (k: string) => new RegExp(`^${k}='([^']*)'$`, "m").exec(String(i.stdin ?? i.create))?.[1];
    switch (scriptKind(r)) {
        case "kubeadm-etcd-snapshot":
            return `on ${host}: etcd snapshot into ${param("K8SU_SNAPSHOT_DIR")}, verified`;
        case "kubeadm-control-plane":
            return `on ${host}: ${param("K8SU_SWITCH_REPOSITORY") === "true" ? "package repository to the target minor, " : ""}kubeadm ${param("K8SU_TARGET_VERSION")}, then ${param("K8SU_FIRST") === "true" ? "kubeadm upgrade plan and kubeadm upgrade apply" : "kubeadm upgrade node"}`;
        case "kubeadm-kubelet":
            return `on ${host}: ${param("K8SU_ROLE") === "worker" ? "kubeadm, kubeadm upgrade node, " : ""}kubelet and kubectl ${param("K8SU_TARGET_VERSION")}, kubelet restarted`;
        default:
            return `on ${host}: command`;
    }
}

/** An AKS upgradeSettings block in a reviewer's words. */
function aksSurge(u: { maxSurge?: string; drainTimeoutInMinutes?: number; nodeSoakDurationInMinutes?: number } = {}) {
    return [
        `maxSurge ${u.maxSurge ?? "AKS default"}`,
        ...(u.drainTimeoutInMinutes !== undefined ? [`drain timeout ${u.drainTimeoutInMinutes} min`] : []),
        ...(u.nodeSoakDurationInMinutes !== undefined ? [`soak ${u.nodeSoakDurationInMinutes} min`] : []),
    ].join(", ");
}

/** What each provider resource is, in the words of its inputs. */
// biome-ignore lint/suspicious/noExplicitAny: a describer reads many provider-specific input shapes
const RESOURCES: Record<string, (i: Record<string, any>, r: CapturedResource) => string> = {
    "linode:index/lkeCluster:LkeCluster": (i, r) =>
        `LKE cluster ${i.label} in ${i.region}${i.controlPlane?.highAvailability ? " (HA control plane)" : ""}` +
        (r.ignoreChanges.includes("k8sVersion")
            ? `: k8sVersion ${i.k8sVersion} applies at creation only (ignoreChanges); upgrades go through the LKE API`
            : `: k8sVersion ${i.k8sVersion}; a change here makes the provider recycle every node`),
    "aws:eks/cluster:Cluster": (i) =>
        `EKS cluster, control plane ${i.version}: a version change here is EKS's in-place control plane upgrade`,
    "aws:eks/addon:Addon": (i) => `add-on ${i.addonName} at ${i.addonVersion}`,
    "aws:eks/nodeGroup:NodeGroup": (i) =>
        `node group: ${i.scalingConfig?.desiredSize} × ${(i.instanceTypes ?? []).join(", ")} at ${i.version}` +
        (i.updateConfig
            ? ` (rolling update: ${i.updateConfig.maxUnavailable !== undefined ? `maxUnavailable ${i.updateConfig.maxUnavailable}` : `maxUnavailablePercentage ${i.updateConfig.maxUnavailablePercentage}`}, ${i.updateConfig.updateStrategy}${i.forceUpdateVersion ? ", forced" : ""})`
            : ""),
    "kubernetes:controlplane.cluster.x-k8s.io/v1beta1:KubeadmControlPlanePatch": (i) =>
        `KubeadmControlPlane ${i.metadata?.name} patched → ${i.spec?.version} on template ${i.spec?.machineTemplate?.infrastructureRef?.name}`,
    "kubernetes:cluster.x-k8s.io/v1beta1:MachineDeployment": (i) =>
        `MachineDeployment ${i.metadata?.name}: ${i.spec?.replicas} × ${i.spec?.template?.spec?.version} on template ${i.spec?.template?.spec?.infrastructureRef?.name}, waited (${i.metadata?.annotations?.["pulumi.com/waitFor"]})`,
    "kubernetes:infrastructure.cluster.x-k8s.io/v1beta2:AWSMachineTemplate": (i) =>
        `AWSMachineTemplate ${i.metadata?.name} (immutable): ${i.spec?.template?.spec?.instanceType}, ${i.spec?.template?.spec?.ami?.id}`,
    "kubernetes:bootstrap.cluster.x-k8s.io/v1beta1:KubeadmConfigTemplate": (i) =>
        `KubeadmConfigTemplate ${i.metadata?.name}`,
    "aws:iam/role:Role": () => "IAM role",
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": (i) => `IAM policy ${String(i.policyArn).split("/").pop()}`,
    "linode:index/lkeNodePool:LkeNodePool": (i) =>
        `node pool: ${i.nodeCount} × ${i.type}${i.autoscaler ? ` (autoscaler ${i.autoscaler.min}–${i.autoscaler.max})` : ""}`,
    "azure-native:containerservice:ManagedCluster": (i) => {
        const system = i.agentPoolProfiles?.[0];
        return (
            `AKS cluster ${i.resourceName} in ${i.location}: control plane ${i.kubernetesVersion}, system pool ` +
            `${system?.count} × ${system?.vmSize} at ${system?.orchestratorVersion}; a version change here is AKS's ` +
            `control plane upgrade alone; the system pool moves after it through the agent pool API ` +
            `(${aksSurge(system?.upgradeSettings)})`
        );
    },
    "azure-native:containerservice:AgentPool": (i) =>
        `agent pool ${i.agentPoolName}: ${i.count} × ${i.vmSize} at ${i.orchestratorVersion}` +
        (i.enableAutoScaling ? ` (autoscaler ${i.minCount}–${i.maxCount})` : "") +
        `; a version change here is AKS's surge upgrade (${aksSurge(i.upgradeSettings)})`,
    "gcp:container/cluster:Cluster": (i) =>
        `GKE cluster ${i.name} in ${i.location}: master ${i.minMasterVersion}, release channel ` +
        `${i.releaseChannel?.channel}; a version change here is GKE's control plane upgrade`,
    "gcp:container/nodePool:NodePool": (i) =>
        `node pool ${i.name}: ${i.nodeCount} per zone × ${i.nodeConfig?.machineType} at ${i.version}` +
        (i.autoscaling
            ? ` (autoscaler ${i.autoscaling.totalMinNodeCount}–${i.autoscaling.totalMaxNodeCount} in total)`
            : "") +
        `; node auto-upgrade ${i.management?.autoUpgrade ? "on" : "off"}; a version change here is GKE's ` +
        `${i.upgradeSettings?.strategy === "BLUE_GREEN" ? "blue-green" : "surge"} node upgrade`,
    "command:remote:Command": (i, r) => describeRemoteStep(r, i),
    "command:local:Command": (_i, r) => LOCAL_STEPS[scriptKind(r) ?? ""]?.(env(r)) ?? "command",
};

export function describe(r: CapturedResource): string {
    return RESOURCES[r.type]?.(r.inputs, r) ?? r.type;
}

export interface Change {
    sign: "+" | "-" | "~";
    text: string;
}

/** What changes compared with the previous deployment's recorded state. */
export function changes(previous: RunningState | undefined, next: RunningState | undefined): Change[] {
    const out: Change[] = [];
    const prev = previous?.clusters ?? {};
    const now = next?.clusters ?? {};
    for (const [name, c] of Object.entries(now)) {
        const p: RunningCluster | undefined = prev[name];
        if (!p) {
            out.push({ sign: "+", text: `cluster ${name} (${c.provider}) at ${c.controlPlaneVersion}` });
        } else if (p.controlPlaneVersion !== c.controlPlaneVersion) {
            out.push({
                sign: "~",
                text: `cluster ${name}: control plane ${p.controlPlaneVersion} → ${c.controlPlaneVersion}`,
            });
        }
        for (const pool of c.pools) {
            const before = p?.pools.find((x) => x.resourceName === pool.resourceName);
            if (!before)
                out.push({
                    sign: "+",
                    text: `pool ${pool.resourceName}: ${pool.count} × ${pool.type} at ${pool.version}`,
                });
            else if (before.version !== pool.version)
                out.push({ sign: "~", text: `pool ${pool.resourceName}: ${before.version} → ${pool.version}` });
            else if (before.count > pool.count)
                out.push({
                    sign: "~",
                    text: `pool ${pool.resourceName}: count ${before.count} → ${pool.count}, the nodes that go drained and deleted first`,
                });
            else if (pool.retained && !before.retained)
                out.push({
                    sign: "~",
                    text: `pool ${pool.resourceName}: drained and kept, cordoned, until the next deployment`,
                });
            else if (before.retained && !pool.retained)
                out.push({
                    sign: "~",
                    text: `pool ${pool.resourceName}: rolled back to, the retained pool at ${pool.version} uncordoned and waited Ready before the pool that replaced it is drained`,
                });
        }
        for (const pool of p?.pools ?? []) {
            if (!c.pools.some((x) => x.resourceName === pool.resourceName)) {
                out.push({
                    sign: "-",
                    text: `pool ${pool.resourceName} (${pool.count} × ${pool.type} at ${pool.version}): drained by a step of this deployment, then deleted empty; a failed drain keeps it and the previous record`,
                });
            }
        }
    }
    for (const name of Object.keys(prev))
        if (!now[name]) out.push({ sign: "-", text: `cluster ${name}: no longer in config` });
    return out;
}

export function recordedState(outputs: Record<string, unknown> | undefined, from: string): RunningState | undefined {
    return parseRunningState(outputs?.[RUNNING_STATE_OUTPUT], from);
}
