// The CrossGuard policies. Kept apart from index.ts so that tests and the offline plan import them without
// starting the pack's server. Every version judgement calls ./versions.ts; the raw provider types the rules read
// are described in ./clusters.ts. The pack imports nothing from the program, so it can be published on its own.
import type {
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
} from "@pulumi/policy";
import {
    AKS_CLUSTER,
    CONTROL_PLANES,
    type ControlPlaneKind,
    controlPlanesOf,
    controlPlaneVersion,
    EKS_CLUSTER,
    GKE_CLUSTER,
    inlinePools,
    insideComponent,
    isMachineDeployment,
    KUBEADM_CONTROL_PLANE,
    POOLS,
    readVersion,
    type VersionRead,
} from "./clusters";
import { scriptKindOf } from "./script-header";
import { oldestOfferedMinor, oldestOfferedMinors, SUPPORTED_AS_OF } from "./supported-versions";
import {
    compareMinor,
    controlPlaneTransition,
    formatMinor,
    kubeletSkew,
    parseProviderVersion,
    parseVersion,
    promotionRefusal,
} from "./versions";

export { isMachineDeployment };
export const COMPONENT_TYPES = [
    "k8s-upgrades:lke:Cluster",
    "k8s-upgrades:eks:Cluster",
    "k8s-upgrades:kubeadm:Cluster",
    "k8s-upgrades:capi-aws:Cluster",
    "k8s-upgrades:aks:Cluster",
    "k8s-upgrades:gke:Cluster",
];
/** Cluster API: the control plane and the worker pools, as CustomResource (or Patch) types of any API version. */
export const isKubeadmControlPlane = KUBEADM_CONTROL_PLANE.matches;
/**
 * Pool types that need a drain guard when a k8s-upgrades component owns them. EKS drains a managed node group itself;
 * the AKS adapter drains its agent pools with its own steps and bounds (workers.drain), so they carry guards too;
 * GKE pools are guarded like LKE's, so the program's drain (its timeouts, its budgets) runs before any delete.
 */
export const GUARDED_POOL_TYPES = [
    "linode:index/lkeNodePool:LkeNodePool",
    "gcp:container/nodePool:NodePool",
    "azure-native:containerservice:AgentPool",
];
export const CLUSTER_TYPES = [
    "linode:index/lkeCluster:LkeCluster",
    "aws:eks/cluster:Cluster",
    "gcp:container/cluster:Cluster",
];
/** Cluster resources whose own version change is the control plane upgrade. */
export const VERSIONED_CLUSTER_TYPES = [EKS_CLUSTER, AKS_CLUSTER, GKE_CLUSTER];
export const COMMAND_TYPE = "command:local:Command";
export const REMOTE_COMMAND_TYPE = "command:remote:Command";

/** The component's args, as the program passes them (see componentInputs in components/lke/cluster.ts). */
interface ComponentProps {
    stack: string;
    cluster: {
        name: string;
        provider: string;
        kubernetesVersion: string;
        nodePools: Array<{
            name: string;
            count: number;
            type: string;
            autoscaler?: { min: number; max: number };
            kubernetesVersion: string;
        }>;
        workers: {
            strategy: string;
            drain: {
                gracePeriodSeconds: number;
                timeoutSeconds: number;
                deleteEmptyDirData: boolean;
                deleteEmptyDirDataExplicit: boolean;
            };
        };
    };
    running: { controlPlaneVersion: string } | null;
    controlPlane: { from?: string; to: string; change: string };
    pools: Array<{
        name: string;
        action: string;
        resourceName: string;
        version: string;
        blue: {
            resourceName: string;
            type: string;
            count: number;
            autoscaler?: { min: number; max: number };
            version: string;
        } | null;
    }>;
    promotion: { stack: string; recorded: boolean; sourceVersion: string | null } | null;
}

function componentProps(args: ResourceValidationArgs): ComponentProps | undefined {
    if (!COMPONENT_TYPES.includes(args.type)) return undefined;
    const p = args.props as Partial<ComponentProps>;
    return p.cluster && p.controlPlane ? (p as ComponentProps) : undefined;
}

/** The script a command runs: its create/delete text, or for a remote `bash -s` step the script it sends on stdin. */
function commandText(r: { props: Record<string, unknown> }, field: "create" | "delete"): unknown {
    return field === "create" && scriptKindOf(r.props.stdin) ? r.props.stdin : r.props[field];
}

/** The script kind a command runs, from the generated script's header. */
export function commandKind(r: { props: Record<string, unknown> }, field: "create" | "delete"): string | undefined {
    const text = commandText(r, field);
    // Another program's hand-written drain counts as a drain too.
    return scriptKindOf(text) ?? (typeof text === "string" && /\bkubectl\s+drain\b/.test(text) ? "drain" : undefined);
}

function transitiveDependencies(r: PolicyResource): Set<string> {
    const seen = new Set<string>();
    const stack = [...r.dependencies, ...Object.values(r.propertyDependencies ?? {}).flat()];
    while (stack.length > 0) {
        const d = stack.pop()!;
        if (seen.has(d.urn)) continue;
        seen.add(d.urn);
        stack.push(...d.dependencies, ...Object.values(d.propertyDependencies ?? {}).flat());
    }
    return seen;
}

/** A raw control plane resource as a resource policy sees it: its kind and its version, when it is one. */
function rawControlPlane(
    args: ResourceValidationArgs,
): { kind: ControlPlaneKind; version: VersionRead & { path: string } } | undefined {
    const kind = CONTROL_PLANES.find((k) => k.matches(args.type));
    if (!kind) return undefined;
    const asResource = { type: args.type, urn: args.urn, name: args.name, props: args.props } as PolicyResource;
    return { kind, version: controlPlaneVersion(kind, asResource) };
}

function judgeTransition(subject: string, running: string, target: string, report: ReportViolation): void {
    const from = parseProviderVersion(running);
    const to = parseProviderVersion(target);
    if (!from || !to) {
        report(`${subject}: cannot read the versions: running ${running}, target ${target}`);
        return;
    }
    const t = controlPlaneTransition(from, to);
    if (t.kind === "skip")
        report(
            `${subject}: ${running} → ${target} skips ${t.minors - 1} minor(s); go through ${t.path.join(" → ")}, one deployment each`,
        );
    if (t.kind === "downgrade") report(`${subject}: ${running} → ${target} is a downgrade`);
    if (t.kind === "major") report(`${subject}: major version change ${running} → ${target}`);
}

/** AKS upgrade channels that move the Kubernetes version itself (node-image moves only node images). */
export const AKS_VERSION_MOVING_CHANNELS = ["patch", "stable", "rapid"];

/**
 * An AKS cluster that pins kubernetesVersion while an upgrade channel moves it: after AKS's next upgrade the program
 * asks for an older version than what runs, and the cluster upgrades without anyone's pre-flight or drains.
 */
function judgeAksUpgradeChannel(args: ResourceValidationArgs, report: ReportViolation): void {
    if (!AKS_CLUSTER.matches(args.type)) return;
    const props = args.props as { kubernetesVersion?: unknown; autoUpgradeProfile?: { upgradeChannel?: unknown } };
    const channel = props.autoUpgradeProfile?.upgradeChannel;
    if (typeof channel !== "string" || !AKS_VERSION_MOVING_CHANNELS.includes(channel.toLowerCase())) return;
    if (props.kubernetesVersion === undefined) return;
    report(
        `AKS control plane ${args.name}: kubernetesVersion ${JSON.stringify(props.kubernetesVersion)} is pinned while autoUpgradeProfile.upgradeChannel "${channel}" upgrades the cluster on AKS's schedule; set upgradeChannel to "none" and upgrade by changing kubernetesVersion, or leave kubernetesVersion out`,
    );
}

// 1. The control plane never skips a minor and never goes down.
export const controlPlaneOneMinor: ResourceValidationPolicy = {
    name: "control-plane-one-minor-at-a-time",
    description:
        "The control plane moves at most one minor per deployment and never to an older version. A k8s-upgrades cluster " +
        "component is judged against the running version its program recorded. CrossGuard gives policies no previous " +
        "state, so a raw control plane (aws.eks.Cluster version, linode.LkeCluster k8sVersion, KubeadmControlPlane " +
        "spec.version, AKS ManagedCluster kubernetesVersion, GKE Cluster minMasterVersion) is judged against " +
        "runningVersions in this policy's config, keyed by resource name; without an entry it is not judged unless " +
        "requireRunningVersion is true. An AKS ManagedCluster that pins kubernetesVersion while its auto-upgrade " +
        "channel (patch, stable, rapid) moves it is refused: AKS would upgrade behind the program, which would then " +
        "ask for an older version than what runs.",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            runningVersions: {
                type: "object",
                additionalProperties: { type: "string" },
                default: {},
                description:
                    'What each control plane runs now, by the resource\'s name in the program (or its cloud name, or its URN): { "prod": "1.30" }.',
            },
            requireRunningVersion: {
                type: "boolean",
                default: false,
                description: "Refuse a raw control plane whose running version is not in runningVersions.",
            },
        },
    },
    validateResource: (args, report) => {
        judgeAksUpgradeChannel(args, report);
        const p = componentProps(args);
        if (p?.running) {
            judgeTransition(
                `cluster ${p.cluster.name}`,
                p.running.controlPlaneVersion,
                p.cluster.kubernetesVersion,
                report,
            );
            return;
        }
        const raw = rawControlPlane(args);
        if (!raw) return;
        const { runningVersions, requireRunningVersion } = args.getConfig<{
            runningVersions: Record<string, string>;
            requireRunningVersion: boolean;
        }>();
        const subject = `${raw.kind.provider} control plane ${args.name} (${raw.version.path})`;
        // Unknown until the update (computed from another output): judged when CrossGuard runs again with the value.
        if (raw.version.kind === "unknown" || raw.version.kind === "absent") return;
        if (raw.version.kind === "unreadable") {
            report(`${subject}: cannot read the version ${JSON.stringify(raw.version.text)}`);
            return;
        }
        const asResource = { type: args.type, urn: args.urn, name: args.name, props: args.props } as PolicyResource;
        const keys = [args.name, args.urn, ...raw.kind.identities(asResource)];
        const running = keys.map((k) => runningVersions?.[k]).find((v) => typeof v === "string" && v !== "");
        if (running === undefined) {
            if (requireRunningVersion && !insideComponent(args.urn))
                report(
                    `${subject}: its running version is unknown to the policy pack (CrossGuard gives no previous state); add "${args.name}" to runningVersions in the policy config`,
                );
            return;
        }
        judgeTransition(subject, running, raw.version.text, report);
    },
};

// 2. A k8s-upgrades component's planned pools stay inside the kubelet window of its control plane.
export const plannedPoolsWindow: ResourceValidationPolicy = {
    name: "planned-pools-within-skew-window",
    description:
        "Every node pool a k8s-upgrades cluster component plans (kubeadm workers and LKE pools included, which carry no " +
        "version of their own) runs a kubelet no newer than its control plane and at most three minors older (two below 1.25).",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
        const p = componentProps(args);
        if (!p) return;
        const cp = parseVersion(p.cluster.kubernetesVersion);
        if (!cp) return;
        const versions = [
            ...p.pools.map((x) => ({ name: x.resourceName, version: x.version })),
            ...p.cluster.nodePools.map((x) => ({ name: `nodePools ${x.name}`, version: x.kubernetesVersion })),
        ];
        for (const v of versions) {
            const kubelet = parseVersion(v.version);
            if (!kubelet) continue;
            const skew = kubeletSkew(cp, kubelet);
            if (!skew.ok) report(`cluster ${p.cluster.name}, pool ${v.name}: ${skew.reason}`);
        }
    },
};

// 3. Raw node pools stay inside the kubelet window of their control plane, in any program.
export const kubeletWindow: StackValidationPolicy = {
    name: "kubelet-within-skew-window",
    description:
        "Every node pool runs a kubelet no newer than its control plane and at most three minors older (two below 1.25): " +
        "aws.eks.NodeGroup version against its aws.eks.Cluster, LKE Enterprise LkeNodePool k8sVersion against its " +
        "LkeCluster, MachineDeployment spec.template.spec.version against its KubeadmControlPlane, AKS orchestratorVersion " +
        "against its ManagedCluster, GKE NodePool version against the cluster master. A pool is matched to its control " +
        "plane through the reference its cluster property was built from, else by the cluster's name or id; a pool " +
        "without a version follows its control plane, and one whose control plane is in another stack is not judged.",
    enforcementLevel: "mandatory",
    validateStack: (args, report) => {
        const judge = (pool: string, kubelet: VersionRead, cp: PolicyResource, kind: ControlPlaneKind, urn: string) => {
            if (kubelet.kind === "absent" || kubelet.kind === "unknown") return;
            if (kubelet.kind === "unreadable") {
                report(`node pool ${pool}: cannot read its version ${JSON.stringify(kubelet.text)}`, urn);
                return;
            }
            const cpv = controlPlaneVersion(kind, cp);
            if (cpv.kind === "unreadable")
                report(
                    `${kind.provider} control plane ${cp.name}: cannot read its version ${JSON.stringify(cpv.text)}`,
                    cp.urn,
                );
            if (cpv.kind !== "version") return;
            const skew = kubeletSkew(cpv.version, kubelet.version);
            if (!skew.ok)
                report(
                    `node pool ${pool} (${kubelet.text}) against ${kind.provider} control plane ${cp.name} (${cpv.text}): ${skew.reason}`,
                    urn,
                );
        };
        for (const r of args.resources) {
            const poolKind = POOLS.find((k) => k.matches(r.type));
            if (poolKind) {
                const kubelet = readVersion(r.props, poolKind.versionPath);
                for (const cp of controlPlanesOf(r, poolKind, args.resources))
                    judge(r.name, kubelet, cp, poolKind.controlPlane, r.urn);
            }
            const cpKind = CONTROL_PLANES.find((k) => k.matches(r.type));
            if (cpKind)
                for (const inline of inlinePools(r))
                    judge(`${r.name} ${inline.path}`, inline.version, r, cpKind, r.urn);
        }
    },
};

// 4. Workers change only after the control plane.
const WORKER_COMMANDS = new Set(["wait-ready", "lke-in-place", "cordon", "drain", "aks-system-pool"]);
const isCommand = (r: PolicyResource) => r.type === COMMAND_TYPE || r.type === REMOTE_COMMAND_TYPE;
/** A kubeadm node step that upgrades a worker's kubelet. */
const isKubeadmWorker = (r: PolicyResource) =>
    isCommand(r) &&
    commandKind(r, "create") === "kubeadm-kubelet" &&
    /^K8SU_ROLE='worker'$/m.test(String(commandText(r, "create")));
const isVersionedCluster = (type: string) => VERSIONED_CLUSTER_TYPES.some((k) => k.matches(type));
/**
 * The cluster resources a control plane step acts on. A step that waits for other clusters too (a rollout wave
 * waits for the previous wave's) is narrowed to the cluster its inputs are built from, else to its siblings.
 */
function ownClusters(cp: PolicyResource, resources: PolicyResource[]): string[] {
    const clusters = resources.filter((r) => CLUSTER_TYPES.includes(r.type));
    const reached = transitiveDependencies(cp);
    const all = clusters.filter((c) => reached.has(c.urn));
    if (all.length <= 1) return all.map((c) => c.urn);
    const fromInputs = new Set(
        Object.values(cp.propertyDependencies ?? {})
            .flat()
            .map((d) => d.urn),
    );
    const inputs = all.filter((c) => fromInputs.has(c.urn));
    if (inputs.length > 0) return inputs.map((c) => c.urn);
    return all.filter((c) => c.parent?.urn !== undefined && c.parent.urn === cp.parent?.urn).map((c) => c.urn);
}

export const workersAfterControlPlane: StackValidationPolicy = {
    name: "workers-after-control-plane",
    description:
        "Any resource that upgrades or replaces worker capacity depends, directly or not, on the control plane upgrade of its cluster (for kubeadm, on every control plane node's).",
    enforcementLevel: "mandatory",
    validateStack: (args, report) => {
        const isWorker = (r: PolicyResource) =>
            POOLS.some((k) => k.matches(r.type)) ||
            isKubeadmWorker(r) ||
            (isCommand(r) && WORKER_COMMANDS.has(commandKind(r, "create") ?? ""));
        const controlPlaneSteps = args.resources.filter(
            (r) =>
                (isCommand(r) &&
                    ["lke-control-plane", "kubeadm-control-plane"].includes(commandKind(r, "create") ?? "")) ||
                isVersionedCluster(r.type) ||
                isKubeadmControlPlane(r.type),
        );
        for (const cp of controlPlaneSteps) {
            const clusterUrns = isVersionedCluster(cp.type) ? [cp.urn] : ownClusters(cp, args.resources);
            for (const r of args.resources) {
                if (!isWorker(r) || r.urn === cp.urn) continue;
                const deps = transitiveDependencies(r);
                // The same cluster: through its cluster resource, or (kubeadm, which has none) the same parent.
                const sameCluster =
                    clusterUrns.length > 0 ? clusterUrns.some((u) => deps.has(u)) : r.parent?.urn === cp.parent?.urn;
                if (!sameCluster) continue;
                if (!deps.has(cp.urn))
                    report(
                        `${r.name} changes worker capacity but does not wait for the control plane step ${cp.name}`,
                        r.urn,
                    );
            }
        }
    },
};

// 5. No pool is deleted undrained.
export const drainBeforeDelete: StackValidationPolicy = {
    name: "no-undrained-pool-deletion",
    description:
        "Every node pool a k8s-upgrades cluster component owns has a drain guard: a command that depends on it and drains it when deleted, so the engine drains the pool before deleting it and a failed drain keeps it. No guard may use deletedWith, which skips its delete step. EKS managed node groups, which EKS drains itself, need no guard, in any program. Cluster API MachineDeployments, which Cluster API drains itself, must not opt out of draining.",
    enforcementLevel: "mandatory",
    validateStack: (args, report) => {
        // Cluster API drains a MachineDeployment's machines itself when it removes them, unless told not to.
        for (const md of args.resources.filter((r) => isMachineDeployment(r.type))) {
            const annotations = md.props.spec?.template?.metadata?.annotations ?? {};
            if ("machine.cluster.x-k8s.io/exclude-node-draining" in annotations)
                report(
                    `MachineDeployment ${md.name} excludes its machines from draining (machine.cluster.x-k8s.io/exclude-node-draining)`,
                    md.urn,
                );
        }
        // The commands that drain on delete, by each resource they depend on: one pass, not one per pool.
        const guardsByDependency = new Map<string, PolicyResource[]>();
        for (const r of args.resources) {
            if (r.type !== COMMAND_TYPE || commandKind(r, "delete") !== "drain") continue;
            for (const urn of new Set(r.dependencies.map((d) => d.urn)))
                guardsByDependency.set(urn, [...(guardsByDependency.get(urn) ?? []), r]);
        }
        const guardsOf = (pool: PolicyResource) => guardsByDependency.get(pool.urn) ?? [];
        for (const pool of args.resources.filter((r) => POOLS.some((k) => k.matches(r.type)))) {
            const guards = guardsOf(pool);
            if (guards.length === 0 && GUARDED_POOL_TYPES.includes(pool.type) && insideComponent(pool.urn)) {
                report(
                    `node pool ${pool.name} has no drain guard: deleting it would remove capacity that was never drained`,
                    pool.urn,
                );
                continue;
            }
            for (const g of guards) {
                // CrossGuard does not show deletedWith; the offline plan's capture does and passes it in opts.
                const deletedWith = (g.opts as { deletedWith?: string }).deletedWith;
                if (deletedWith)
                    report(
                        `drain guard ${g.name} has deletedWith ${deletedWith}: the engine would skip its drain`,
                        g.urn,
                    );
            }
        }
    },
};

// 6. Promotion.
export const promotionBound: ResourceValidationPolicy = {
    name: "promotion-never-ahead-of-source",
    description:
        "A stack with promotesFrom never targets a version newer than the source stack runs for the same cluster.",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
        const p = componentProps(args);
        if (!p?.promotion) return;
        const target = parseVersion(p.cluster.kubernetesVersion);
        if (!target) return;
        const moves = p.controlPlane.change !== "none";
        if (!p.promotion.recorded) {
            if (moves)
                report(
                    `cluster ${p.cluster.name}: stack ${p.promotion.stack} has recorded no running state, so ${p.cluster.kubernetesVersion} is not proven there yet`,
                );
            return;
        }
        const source = parseVersion(p.promotion.sourceVersion ?? undefined);
        const why = source && promotionRefusal(target, source);
        if (why)
            report(
                `cluster ${p.cluster.name}: targets ${p.cluster.kubernetesVersion}, but stack ${p.promotion.stack} runs ${p.promotion.sourceVersion} (${why})`,
            );
    },
};

/** A Linode plan's size within its family, for "same or larger" ("g6-standard-4" → family g6-standard, size 4). */
export function machineSize(type: string): { family: string; size: number } | undefined {
    const m = /^(.*?)-?(\d+)$/.exec(type);
    return m ? { family: m[1], size: Number(m[2]) } : undefined;
}

// 7. Green capacity covers blue.
export const greenCoversBlue: ResourceValidationPolicy = {
    name: "green-covers-blue",
    description:
        "A blue-green pool's new (green) generation has the same machine type or a larger one of the same family, at least the old count, and at least the old autoscaler minimum.",
    enforcementLevel: "advisory",
    validateResource: (args, report) => {
        const p = componentProps(args);
        if (!p) return;
        for (const pool of p.pools.filter((x) => x.blue)) {
            const blue = pool.blue!;
            const green = p.cluster.nodePools.find((x) => x.name === pool.name);
            if (!green) continue;
            if (green.type !== blue.type) {
                const g = machineSize(green.type);
                const b = machineSize(blue.type);
                if (!g || !b || g.family !== b.family || g.size < b.size)
                    report(`pool ${pool.name}: green type ${green.type} may be smaller than blue ${blue.type}`);
            }
            if (green.count < blue.count)
                report(`pool ${pool.name}: green has ${green.count} node(s), blue ${blue.count}`);
            if (blue.autoscaler && (green.autoscaler?.min ?? green.count) < blue.autoscaler.min)
                report(
                    `pool ${pool.name}: green autoscaler minimum ${green.autoscaler?.min ?? green.count} is below blue's ${blue.autoscaler.min}`,
                );
        }
    },
};

// 8. Supported window.
export const supportedWindow: ResourceValidationPolicy = {
    name: "version-inside-supported-window",
    description:
        "The target version of a k8s-upgrades cluster component or of a raw control plane is inside the window the provider still supports. By default the window starts at each provider's oldest offered minor in the version table; minimumMinor sets one bound for every provider.",
    enforcementLevel: "advisory",
    configSchema: {
        properties: {
            minimumMinor: {
                type: "string",
                default: "",
                description: `The oldest minor still supported, e.g. "1.32", for every provider; empty: each provider's oldest offered minor in the version table of ${SUPPORTED_AS_OF} (${oldestOfferedMinors()}).`,
            },
            maximumMinor: {
                type: "string",
                default: "",
                description: 'The newest minor offered, e.g. "1.34"; empty for no bound.',
            },
        },
    },
    validateResource: (args, report) => {
        const { minimumMinor, maximumMinor } = args.getConfig<{ minimumMinor: string; maximumMinor: string }>();
        const p = componentProps(args);
        const raw = p ? undefined : rawControlPlane(args);
        // A component's own cluster resource is judged through the component.
        if (raw && insideComponent(args.urn)) return;
        const subject = p ? `cluster ${p.cluster.name}` : `${raw?.kind.provider} control plane ${args.name}`;
        const target = p
            ? parseVersion(p.cluster.kubernetesVersion)
            : raw?.version.kind === "version"
              ? raw.version.version
              : undefined;
        if (!target) return;
        const provider = p ? p.cluster.provider : raw?.kind.versionTable;
        const tableMin = minimumMinor ? undefined : oldestOfferedMinor(provider ?? "");
        const min = parseVersion(minimumMinor || tableMin);
        const max = parseVersion(maximumMinor);
        if (min && compareMinor(target, min) < 0)
            report(
                tableMin
                    ? `${subject}: ${formatMinor(target)} is older than the oldest minor ${provider} offers, ${tableMin} (version table of ${SUPPORTED_AS_OF}); plan the next upgrades before the provider forces one`
                    : `${subject}: ${formatMinor(target)} is older than the oldest supported minor ${formatMinor(min)}; plan the next upgrades before the provider forces one`,
            );
        if (max && compareMinor(target, max) > 0)
            report(`${subject}: ${formatMinor(target)} is newer than the newest offered minor ${formatMinor(max)}`);
    },
};

// 9. Production control planes are highly available.
export const productionHighAvailability: ResourceValidationPolicy = {
    name: "production-control-plane-ha",
    description:
        "Clusters in production stacks run a highly available control plane where the provider offers one (LKE controlPlane.highAvailability).",
    enforcementLevel: "advisory",
    configSchema: {
        properties: {
            productionStacks: {
                type: "array",
                items: { type: "string" },
                default: ["prod", "production"],
                description: "Stack names that count as production.",
            },
        },
    },
    validateResource: (args, report) => {
        // EKS control planes are highly available by design; LKE makes it an option.
        if (args.type !== "linode:index/lkeCluster:LkeCluster") return;
        const { productionStacks } = args.getConfig<{ productionStacks: string[] }>();
        const tags: string[] = args.props.tags ?? [];
        const stack = tags.find((t) => t.startsWith("k8s-upgrades-stack-"))?.slice("k8s-upgrades-stack-".length);
        if (!stack || !productionStacks.includes(stack)) return;
        if (args.props.controlPlane?.highAvailability !== true)
            report(
                `LKE cluster ${args.props.label} in production stack ${stack} has no highly available control plane`,
            );
    },
};

// 10. Drain settings are sane.
export const saneDrain: ResourceValidationPolicy = {
    name: "drain-settings-sane",
    description:
        "Drains have a timeout within reason, a grace period no longer than the timeout, and deleting emptyDir data is written down as a conscious choice.",
    enforcementLevel: "advisory",
    configSchema: {
        properties: {
            maximumTimeoutSeconds: {
                type: "number",
                default: 3600,
                description: "The longest a single node's drain may take.",
            },
        },
    },
    validateResource: (args, report) => {
        const p = componentProps(args);
        if (!p) return;
        const d = p.cluster.workers.drain;
        const { maximumTimeoutSeconds } = args.getConfig<{ maximumTimeoutSeconds: number }>();
        if (!(d.timeoutSeconds > 0)) report(`cluster ${p.cluster.name}: drain has no timeout`);
        else if (d.timeoutSeconds > maximumTimeoutSeconds)
            report(`cluster ${p.cluster.name}: drain timeout ${d.timeoutSeconds}s exceeds ${maximumTimeoutSeconds}s`);
        if (d.gracePeriodSeconds > d.timeoutSeconds)
            report(
                `cluster ${p.cluster.name}: grace period ${d.gracePeriodSeconds}s is longer than the drain timeout ${d.timeoutSeconds}s`,
            );
        if (!d.deleteEmptyDirDataExplicit)
            report(
                `cluster ${p.cluster.name}: workers.drain.deleteEmptyDirData is not set; say true (emptyDir data is lost) or false (such pods block the drain) on purpose`,
            );
    },
};

export const resourcePolicies: ResourceValidationPolicy[] = [
    controlPlaneOneMinor,
    plannedPoolsWindow,
    promotionBound,
    greenCoversBlue,
    supportedWindow,
    productionHighAvailability,
    saneDrain,
];
export const stackPolicies: StackValidationPolicy[] = [kubeletWindow, workersAfterControlPlane, drainBeforeDelete];
export const policies: Array<ResourceValidationPolicy | StackValidationPolicy> = [
    ...resourcePolicies,
    ...stackPolicies,
];

export type { ReportViolation, StackValidationArgs };
