// The CrossGuard policies. Kept apart from index.ts so that tests and the offline plan import them
// without starting the pack's server. Every version judgement calls components/versions.ts.
import type {
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
} from "@pulumi/policy";
import { scriptKindOf } from "../components/scripts";
import {
    compareMinor,
    compareVersions,
    controlPlaneTransition,
    formatMinor,
    kubeletSkew,
    parseVersion,
} from "../components/versions";

export const COMPONENT_TYPES = [
    "k8s-upgrades:lke:Cluster",
    "k8s-upgrades:eks:Cluster",
    "k8s-upgrades:kubeadm:Cluster",
    "k8s-upgrades:capi-aws:Cluster",
];
/** Cluster API: the control plane and the worker pools, as CustomResource (or Patch) types of any API version. */
export const isKubeadmControlPlane = (type: string) =>
    /^kubernetes:controlplane\.cluster\.x-k8s\.io\/[^:]+:KubeadmControlPlane(Patch)?$/.test(type);
export const isMachineDeployment = (type: string) =>
    /^kubernetes:cluster\.x-k8s\.io\/[^:]+:MachineDeployment$/.test(type);
export const NODE_POOL_TYPES = ["linode:index/lkeNodePool:LkeNodePool", "aws:eks/nodeGroup:NodeGroup"];
export const CLUSTER_TYPES = ["linode:index/lkeCluster:LkeCluster", "aws:eks/cluster:Cluster"];
/** Cluster resources whose own version change is the control plane upgrade. */
export const VERSIONED_CLUSTER_TYPES = ["aws:eks/cluster:Cluster"];
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

// 1. The control plane never skips a minor and never goes down.
export const controlPlaneOneMinor: ResourceValidationPolicy = {
    name: "control-plane-one-minor-at-a-time",
    description:
        "The control plane moves at most one minor per deployment and never to an older version, judged against what runs now.",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
        const p = componentProps(args);
        if (!p?.running) return;
        const from = parseVersion(p.running.controlPlaneVersion);
        const to = parseVersion(p.cluster.kubernetesVersion);
        if (!from || !to)
            return report(
                `cannot read the versions: running ${p.running.controlPlaneVersion}, target ${p.cluster.kubernetesVersion}`,
            );
        const t = controlPlaneTransition(from, to);
        if (t.kind === "skip")
            report(
                `cluster ${p.cluster.name}: ${p.running.controlPlaneVersion} → ${p.cluster.kubernetesVersion} skips ${t.minors - 1} minor(s); go through ${t.path.join(" → ")}, one deployment each`,
            );
        if (t.kind === "downgrade")
            report(
                `cluster ${p.cluster.name}: ${p.running.controlPlaneVersion} → ${p.cluster.kubernetesVersion} is a downgrade`,
            );
        if (t.kind === "major")
            report(
                `cluster ${p.cluster.name}: major version change ${p.running.controlPlaneVersion} → ${p.cluster.kubernetesVersion}`,
            );
    },
};

// 2. Node pools stay inside the kubelet window of their control plane.
export const kubeletWindow: ResourceValidationPolicy = {
    name: "kubelet-within-skew-window",
    description:
        "Every node pool runs a kubelet no newer than its control plane and at most three minors older (two below 1.25).",
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

// 3. Workers change only after the control plane.
const WORKER_COMMANDS = new Set(["wait-ready", "lke-in-place", "cordon", "drain"]);
const isCommand = (r: PolicyResource) => r.type === COMMAND_TYPE || r.type === REMOTE_COMMAND_TYPE;
/** A kubeadm node step that upgrades a worker's kubelet. */
const isKubeadmWorker = (r: PolicyResource) =>
    isCommand(r) &&
    commandKind(r, "create") === "kubeadm-kubelet" &&
    /^K8SU_ROLE='worker'$/m.test(String(commandText(r, "create")));
export const workersAfterControlPlane: StackValidationPolicy = {
    name: "workers-after-control-plane",
    description:
        "Any resource that upgrades or replaces worker capacity depends, directly or not, on the control plane upgrade of its cluster (for kubeadm, on every control plane node's).",
    enforcementLevel: "mandatory",
    validateStack: (args, report) => {
        const isWorker = (r: PolicyResource) =>
            NODE_POOL_TYPES.includes(r.type) ||
            isMachineDeployment(r.type) ||
            isKubeadmWorker(r) ||
            (isCommand(r) && WORKER_COMMANDS.has(commandKind(r, "create") ?? ""));
        const controlPlaneSteps = args.resources.filter(
            (r) =>
                (isCommand(r) &&
                    ["lke-control-plane", "kubeadm-control-plane"].includes(commandKind(r, "create") ?? "")) ||
                VERSIONED_CLUSTER_TYPES.includes(r.type) ||
                isKubeadmControlPlane(r.type),
        );
        for (const cp of controlPlaneSteps) {
            const clusterUrns = VERSIONED_CLUSTER_TYPES.includes(cp.type)
                ? [cp.urn]
                : [...transitiveDependencies(cp)].filter((u) =>
                      args.resources.some((r) => r.urn === u && CLUSTER_TYPES.includes(r.type)),
                  );
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

// 4. No pool is deleted undrained.
export const drainBeforeDelete: StackValidationPolicy = {
    name: "no-undrained-pool-deletion",
    description:
        "Every node pool has a drain guard: a command that depends on it and drains it when deleted, so the engine drains the pool before deleting it and a failed drain keeps it. The guard must not use deletedWith, which skips its delete step. Cluster API MachineDeployments, which Cluster API drains itself, must not opt out of draining.",
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
        for (const pool of args.resources.filter((r) => NODE_POOL_TYPES.includes(r.type))) {
            const guards = args.resources.filter(
                (r) =>
                    r.type === COMMAND_TYPE &&
                    commandKind(r, "delete") === "drain" &&
                    r.dependencies.some((d) => d.urn === pool.urn),
            );
            if (guards.length === 0) {
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

// 5. Promotion.
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
        if (source && compareVersions(target, source) > 0) {
            report(
                `cluster ${p.cluster.name}: targets ${p.cluster.kubernetesVersion}, but stack ${p.promotion.stack} runs ${p.promotion.sourceVersion}`,
            );
        }
    },
};

/** A Linode plan's size within its family, for "same or larger" ("g6-standard-4" → family g6-standard, size 4). */
export function machineSize(type: string): { family: string; size: number } | undefined {
    const m = /^(.*?)-?(\d+)$/.exec(type);
    return m ? { family: m[1], size: Number(m[2]) } : undefined;
}

// 6. Green capacity covers blue.
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

// 7. Supported window.
export const supportedWindow: ResourceValidationPolicy = {
    name: "version-inside-supported-window",
    description:
        "The target version is inside the window the provider still supports. Providers retire versions at their own pace, so the window is configuration.",
    enforcementLevel: "advisory",
    configSchema: {
        properties: {
            minimumMinor: {
                type: "string",
                default: "1.31",
                description: 'The oldest minor still supported, e.g. "1.31".',
            },
            maximumMinor: {
                type: "string",
                default: "",
                description: 'The newest minor offered, e.g. "1.34"; empty for no bound.',
            },
        },
    },
    validateResource: (args, report) => {
        const p = componentProps(args);
        if (!p) return;
        const { minimumMinor, maximumMinor } = args.getConfig<{ minimumMinor: string; maximumMinor: string }>();
        const target = parseVersion(p.cluster.kubernetesVersion);
        const min = parseVersion(minimumMinor);
        const max = parseVersion(maximumMinor);
        if (!target) return;
        if (min && compareMinor(target, min) < 0)
            report(
                `cluster ${p.cluster.name}: ${formatMinor(target)} is older than the oldest supported minor ${formatMinor(min)}; plan the next upgrades before the provider forces one`,
            );
        if (max && compareMinor(target, max) > 0)
            report(
                `cluster ${p.cluster.name}: ${formatMinor(target)} is newer than the newest offered minor ${formatMinor(max)}`,
            );
    },
};

// 8. Production control planes are highly available.
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

// 9. Drain settings are sane.
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
    kubeletWindow,
    promotionBound,
    greenCoversBlue,
    supportedWindow,
    productionHighAvailability,
    saneDrain,
];
export const stackPolicies: StackValidationPolicy[] = [workersAfterControlPlane, drainBeforeDelete];
export const policies: Array<ResourceValidationPolicy | StackValidationPolicy> = [
    ...resourcePolicies,
    ...stackPolicies,
];

export type { ReportViolation, StackValidationArgs };
