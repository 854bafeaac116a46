// Reads a captured program run as a reviewer would: ordered steps, what each does, what changes. Pure.

import type { RunningCluster, RunningState } from "../components/running";
import { parseRunningState, RUNNING_STATE_OUTPUT } from "../components/running";
import { scriptKindOf } from "../components/scripts";
import type { CapturedResource } from "./capture-types";
import { isStepResource, type StepChange } from "./step-changes";

export interface Step {
    resource: CapturedResource;
    level: number;
    /** Names of the steps it waits for. */
    after: string[];
    what: string;
    /** What `pulumi up` does to it, when the plan could tell (tools/step-changes.ts). */
    change?: StepChange;
}

/** The custom resources as dependency levels: level 1 needs nothing, level n waits for something at n-1. */
export function orderSteps(
    resources: CapturedResource[],
    standIns: readonly string[] = [],
    newIds: readonly string[] = [],
): Step[] {
    const steps = resources.filter(isStepResource);
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
            what: describe(r, standIns, newIds),
        }))
        .sort((a, b) => a.level - b.level || steps.indexOf(a.resource) - steps.indexOf(b.resource));
}

/** The script kind of a command step, read from the generated script's header. */
export function scriptKind(r: CapturedResource, field: "create" | "delete" = "create"): string | undefined {
    // A remote step runs `bash -s` and sends the generated script on stdin.
    return scriptKindOf(field === "create" && scriptKindOf(r.inputs.stdin) ? r.inputs.stdin : r.inputs[field]);
}

/** How a plan says a value that only the deployment will know. */
export const KNOWN_AT_DEPLOY = "(known at deploy time)";
/** How a plan says the identity of a resource this deployment creates (an LKE pool's id). */
export const NEW_RESOURCE = "(new)";

/**
 * A value as a plan shows it: a value the offline run cannot know (an unknown output, an input the provider
 * fills, a mock's stand-in for a lookup) reads "(known at deploy time)"; a stand-in for a provider's build of a
 * Kubernetes version keeps its minor. Never "undefined", "NaN" or "[object Object]".
 */
export type Show = (value: unknown) => string;

/** Replaces, wherever it stands alone in a text (a selector's value, a name), each identity of a new resource. */
function newIdentities(newIds: readonly string[]): (text: string) => string {
    if (newIds.length === 0) return (text) => text;
    const escaped = [...newIds]
        .sort((a, b) => b.length - a.length)
        .map((id) => id.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
    const pattern = new RegExp(`(?<![\\w.-])(?:${escaped.join("|")})(?![\\w.-])`, "g");
    return (text) => text.replace(pattern, NEW_RESOURCE);
}

function shower(standIns: readonly string[], newIds: readonly string[] = []): Show {
    const invented = new Set(standIns);
    const renamed = newIdentities(newIds);
    const show: Show = (value) => {
        if (value === undefined || value === null || value === "" || value === "<unknown>") return KNOWN_AT_DEPLOY;
        if (typeof value === "number")
            return Number.isFinite(value) && !invented.has(String(value)) ? renamed(String(value)) : KNOWN_AT_DEPLOY;
        if (typeof value === "string") {
            if (!invented.has(value)) return renamed(value);
            const minor = /^(\d+\.\d+)\.\d+-/.exec(value)?.[1];
            return minor ? `${minor} (the exact build is known at deploy time)` : KNOWN_AT_DEPLOY;
        }
        if (Array.isArray(value)) return value.length > 0 ? value.map(show).join(", ") : KNOWN_AT_DEPLOY;
        return typeof value === "boolean" ? String(value) : JSON.stringify(value);
    };
    return show;
}

/** A newline-separated list of selectors or names, as one line. */
function list(show: Show, value: unknown): string {
    return typeof value === "string" && value !== "" ? value.split("\n").map(show).join(", ") : show(value);
}

/** What each local step does, in the words of its environment (and, for a pool's recycle, its name). */
const LOCAL_STEPS: Record<string, (e: Record<string, unknown>, show: Show, r: CapturedResource) => string> = {
    preflight: (e, v) =>
        `pre-flight for ${v(e.K8SU_TARGET_MINOR)}: API ready, nodes Ready, kube-system healthy, no removed APIs in use, no blocking PodDisruptionBudget`,
    "lke-control-plane": (e, v) =>
        `control plane → ${v(e.K8SU_TARGET_MINOR)} through the LKE API, then wait until the API server serves it`,
    "wait-ready": (e, v) =>
        `wait until ${v(e.K8SU_EXPECTED_NODES)} node(s) of ${v(e.K8SU_SELECTOR)} are Ready at ${v(e.K8SU_TARGET_MINOR)} (timeout ${v(e.K8SU_TIMEOUT_SECONDS)}s)`,
    "kubeadm-wait-ready": (e, v) =>
        `wait until ${v(e.K8SU_EXPECTED_NODES)} node(s) of ${v(e.K8SU_SELECTOR)} are Ready at exactly v${v(e.K8SU_TARGET_VERSION)} (timeout ${v(e.K8SU_TIMEOUT_SECONDS)}s)`,
    cordon: (e, v) => `cordon every blue node at once (${list(v, e.K8SU_SELECTORS)})`,
    "wait-resource": (e, v) =>
        `wait until ${v(e.K8SU_RESOURCE)} reports ${list(v, e.K8SU_CONDITIONS)} (timeout ${v(e.K8SU_TIMEOUT_SECONDS)}s)`,
    uncordon: (e, v) => `uncordon ${list(v, e.K8SU_SELECTORS)}`,
    "local-command": (e, v) => `run: ${v(e.K8SU_COMMAND)}`,
    drain: (e, v) =>
        `drain ${v(e.K8SU_SELECTOR)} now: cordon all, then ${v(e.K8SU_BATCH_SIZE)} at a time, ${v(e.K8SU_SOAK_SECONDS)}s soak`,
    "drain-guard-create": (e, v) =>
        `drain guard for ${v(e.K8SU_SELECTOR)}: when the pool is deleted, checks again first and drains what is left, ${v(e.K8SU_BATCH_SIZE)} at a time`,
    validate: (e, v) =>
        `validate at ${v(e.K8SU_TARGET_MINOR)}: upgraded nodes Ready at the target, kube-system healthy`,
    "lke-in-place": (e, v) =>
        `in place: surge to ${v(Number(e.K8SU_POOL_COUNT) + 1)} node(s), then per old node cordon, drain, recycle; the last one drained and deleted`,
    "lke-shrink-pool": (e, v) =>
        `lower pool ${v(e.K8SU_LKE_POOL_ID)} to ${v(e.K8SU_POOL_COUNT)} node(s): the nodes that go cordoned, drained ${v(e.K8SU_BATCH_SIZE)} at a time and deleted through the node API, then the count set`,
    "rollout-soak": (e, v) =>
        `rollout: wave ${v(e.K8SU_WAVE)} (${list(v, e.K8SU_WAVE_CLUSTERS)}) passed validation; hold ${v(Number(e.K8SU_SOAK_SECONDS) / 60)} min before the next wave starts`,
    "aks-system-pool": (e, v) =>
        `System pool ${v(e.K8SU_AKS_POOL)} → ${v(e.K8SU_TARGET_MINOR)} through the agent pool API (az aks nodepool upgrade, AKS's surge upgrade), waited for (timeout ${v(e.K8SU_TIMEOUT_SECONDS)}s)`,
    // The anchor pool's recycle is named <cluster>-anchor-recycle; a workload pool's, <pool resource>-recycle.
    "lke-recycle-pool": (e, v, r) =>
        `recycle ${r.name.endsWith("-anchor-recycle") ? "the anchor pool (tainted, no workloads)" : `pool ${r.name.replace(/-recycle$/, "")}`}, ` +
        `LKE pool ${v(e.K8SU_LKE_POOL_ID)}, to ${v(e.K8SU_TARGET_MINOR)} through the LKE API, one node at a time, then wait until its nodes are Ready (timeout ${v(e.K8SU_READY_TIMEOUT_SECONDS)}s)`,
    "eks-nodegroup-version": (e, v) =>
        `check that node group ${v(e.K8SU_NODEGROUP)} of ${v(e.K8SU_EKS_CLUSTER)} runs ${v(e.K8SU_TARGET_MINOR)}; if it lags after a failed rolling update, issue the version update${e.K8SU_FORCE === "true" ? " (forced)" : ""} and wait (timeout ${v(e.K8SU_TIMEOUT_SECONDS)}s)`,
    "capi-retire": (e, v) =>
        `retire MachineDeployment ${v(e.K8SU_MACHINE_DEPLOYMENT)} in namespace ${v(e.K8SU_NAMESPACE)}: scale down ${v(e.K8SU_BATCH_SIZE)} machine(s) at a time, Cluster API draining each, ${v(e.K8SU_SOAK_SECONDS)}s soak (each batch within ${v(e.K8SU_DRAIN_TIMEOUT_SECONDS)}s)`,
};

/** What a step run over SSH on a kubeadm node does. */
function describeRemoteStep(r: CapturedResource, i: Record<string, unknown>, v: Show): string {
    const host = v((i.connection as { host?: string } | undefined)?.host);
    const param = (k: string) => new RegExp(`^${k}='([^']*)'$`, "m").exec(String(i.stdin ?? i.create))?.[1];
    const kind = scriptKind(r);
    switch (kind) {
        case "kubeadm-etcd-snapshot":
            return `on ${host}: etcd snapshot into ${v(param("K8SU_SNAPSHOT_DIR"))}, verified`;
        case "kubeadm-control-plane":
            return `on ${host}: ${param("K8SU_SWITCH_REPOSITORY") === "true" ? "package repository to the target minor, " : ""}kubeadm ${v(param("K8SU_TARGET_VERSION"))}, then ${param("K8SU_FIRST") === "true" ? "kubeadm upgrade plan and kubeadm upgrade apply" : "kubeadm upgrade node"}`;
        case "kubeadm-kubelet":
            return `on ${host}: ${param("K8SU_ROLE") === "worker" ? "kubeadm, kubeadm upgrade node, " : ""}kubelet and kubectl ${v(param("K8SU_TARGET_VERSION"))}, kubelet restarted`;
        default:
            return `on ${host}: ${kind ? `the ${kind} script` : `the command ${r.name}`}`;
    }
}

/** An AKS upgradeSettings block in a reviewer's words. */
function aksSurge(
    v: Show,
    u: { maxSurge?: string; drainTimeoutInMinutes?: number; nodeSoakDurationInMinutes?: number } = {},
) {
    return [
        `maxSurge ${u.maxSurge ?? "AKS default"}`,
        ...(u.drainTimeoutInMinutes !== undefined ? [`drain timeout ${v(u.drainTimeoutInMinutes)} min`] : []),
        ...(u.nodeSoakDurationInMinutes !== undefined ? [`soak ${v(u.nodeSoakDurationInMinutes)} min`] : []),
    ].join(", ");
}

/** What each provider resource is, in the words of its inputs. */
// biome-ignore lint/suspicious/noExplicitAny: a describer reads many provider-specific input shapes
const RESOURCES: Record<string, (i: Record<string, any>, r: CapturedResource, v: Show) => string> = {
    "linode:index/lkeCluster:LkeCluster": (i, r, v) =>
        `LKE cluster ${v(i.label)} in ${v(i.region)}${i.controlPlane?.highAvailability ? " (HA control plane)" : ""}` +
        (r.ignoreChanges.includes("k8sVersion")
            ? `: k8sVersion ${v(i.k8sVersion)} applies at creation only (ignoreChanges); upgrades go through the LKE API`
            : `: k8sVersion ${v(i.k8sVersion)}; a change here makes the provider recycle every node`),
    "aws:eks/cluster:Cluster": (i, _r, v) =>
        `EKS cluster, control plane ${v(i.version)}: a version change here is EKS's in-place control plane upgrade`,
    "aws:eks/addon:Addon": (i, _r, v) => {
        const version = i.addonVersion === undefined ? KNOWN_AT_DEPLOY : v(i.addonVersion);
        // No version: EKS keeps what runs; a looked-up one: the newest build EKS lists for the new control plane.
        const which =
            i.addonVersion === undefined
                ? "the version EKS picks"
                : version === KNOWN_AT_DEPLOY
                  ? "the newest build EKS lists for the control plane's new minor"
                  : "";
        return `add-on ${v(i.addonName)} at ${which ? `${which} ${KNOWN_AT_DEPLOY}` : version}`;
    },
    "aws:eks/nodeGroup:NodeGroup": (i, _r, v) =>
        `node group: ${v(i.scalingConfig?.desiredSize)} × ${v(i.instanceTypes)} at ${v(i.version)}` +
        (i.updateConfig
            ? ` (rolling update: ${i.updateConfig.maxUnavailable !== undefined ? `maxUnavailable ${v(i.updateConfig.maxUnavailable)}` : `maxUnavailablePercentage ${v(i.updateConfig.maxUnavailablePercentage)}`}, ${v(i.updateConfig.updateStrategy)}${i.forceUpdateVersion ? ", forced" : ""})`
            : ""),
    "kubernetes:controlplane.cluster.x-k8s.io/v1beta1:KubeadmControlPlanePatch": (i, _r, v) =>
        `KubeadmControlPlane ${v(i.metadata?.name)} patched → ${v(i.spec?.version)} on template ${v(i.spec?.machineTemplate?.infrastructureRef?.name)}`,
    "kubernetes:cluster.x-k8s.io/v1beta1:MachineDeployment": (i, _r, v) =>
        `MachineDeployment ${v(i.metadata?.name)}: ${v(i.spec?.replicas)} × ${v(i.spec?.template?.spec?.version)} on template ${v(i.spec?.template?.spec?.infrastructureRef?.name)}, waited (${v(i.metadata?.annotations?.["pulumi.com/waitFor"])})`,
    "kubernetes:infrastructure.cluster.x-k8s.io/v1beta2:AWSMachineTemplate": (i, _r, v) =>
        `AWSMachineTemplate ${v(i.metadata?.name)} (immutable): ${v(i.spec?.template?.spec?.instanceType)}, ${v(i.spec?.template?.spec?.ami?.id)}`,
    "kubernetes:bootstrap.cluster.x-k8s.io/v1beta1:KubeadmConfigTemplate": (i, _r, v) =>
        `KubeadmConfigTemplate ${v(i.metadata?.name)}`,
    "aws:iam/role:Role": (_i, r) => `IAM role ${r.name}`,
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": (i, _r, v) =>
        `IAM policy ${typeof i.policyArn === "string" ? i.policyArn.split("/").pop() : v(i.policyArn)}`,
    "linode:index/lkeNodePool:LkeNodePool": (i, _r, v) =>
        `node pool: ${v(i.nodeCount)} × ${v(i.type)}${i.autoscaler ? ` (autoscaler ${v(i.autoscaler.min)}–${v(i.autoscaler.max)})` : ""}`,
    "azure-native:containerservice:ManagedCluster": (i, _r, v) => {
        const system = i.agentPoolProfiles?.[0];
        return (
            `AKS cluster ${v(i.resourceName)} in ${v(i.location)}: control plane ${v(i.kubernetesVersion)}, system pool ` +
            `${v(system?.count)} × ${v(system?.vmSize)} at ${v(system?.orchestratorVersion)}; a version change here is AKS's ` +
            `control plane upgrade alone; the system pool moves after it through the agent pool API ` +
            `(${aksSurge(v, system?.upgradeSettings)})`
        );
    },
    "azure-native:containerservice:AgentPool": (i, _r, v) =>
        `agent pool ${v(i.agentPoolName)}: ${v(i.count)} × ${v(i.vmSize)} at ${v(i.orchestratorVersion)}` +
        (i.enableAutoScaling ? ` (autoscaler ${v(i.minCount)}–${v(i.maxCount)})` : "") +
        `; a version change here is AKS's surge upgrade (${aksSurge(v, i.upgradeSettings)})`,
    "gcp:container/cluster:Cluster": (i, _r, v) =>
        `GKE cluster ${v(i.name)} in ${v(i.location)}: master ${v(i.minMasterVersion)}, release channel ` +
        `${v(i.releaseChannel?.channel)}; a version change here is GKE's control plane upgrade`,
    "gcp:container/nodePool:NodePool": (i, _r, v) =>
        `node pool ${v(i.name)}: ${v(i.nodeCount)} per zone × ${v(i.nodeConfig?.machineType)} at ${v(i.version)}` +
        (i.autoscaling
            ? ` (autoscaler ${v(i.autoscaling.totalMinNodeCount)}–${v(i.autoscaling.totalMaxNodeCount)} in total)`
            : "") +
        `; node auto-upgrade ${i.management?.autoUpgrade ? "on" : "off"}; a version change here is GKE's ` +
        `${i.upgradeSettings?.strategy === "BLUE_GREEN" ? "blue-green" : "surge"} node upgrade`,
    "command:remote:Command": (i, r, v) => describeRemoteStep(r, i, v),
    "command:local:Command": (i, r, v) => {
        const kind = scriptKind(r);
        const describeKind = kind ? LOCAL_STEPS[kind] : undefined;
        if (describeKind) return describeKind((i.environment ?? {}) as Record<string, unknown>, v, r);
        return kind ? `the ${kind} script` : `the command ${r.name}`;
    },
};

/** What a registered resource does, from its type and inputs; values the offline run cannot know said so. */
export function describe(
    r: CapturedResource,
    standIns: readonly string[] = [],
    newIds: readonly string[] = [],
): string {
    const v = shower(standIns, newIds);
    const described = RESOURCES[r.type]?.(r.inputs, r, v);
    return described ?? `resource ${r.type} ${r.name}`;
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
