// What `pulumi up` would do to each resource, offline: create, update, replace, delete or leave unchanged. Pure.
//
// The engine decides by comparing a resource's new inputs with those of the previous deployment, by URN. Offline
// there is no state file, so the plan rebuilds the previous deployment's resources by running the same program a
// second time as that deployment ran: the stack file with each recorded cluster at the version its record says it
// runs (or, with --base, the stack file as it was when that deployment ran), and the record itself as that run's
// own previous outputs. A resource in this run and not that one is created; in that one only, deleted; in both,
// unchanged when its inputs are equal (those under ignoreChanges left out, as the engine leaves them out), else
// replaced when a changed input forces a new resource, else updated.
//
// What forces a replacement: for the command provider, a change of `triggers`, its only replaceOnChanges input
// (pulumi-command, provider/pkg/provider/local/command.go: `Triggers ... provider:"replaceOnChanges"`; a change of
// any other input is an update, which runs `update`, else `create`, again); for the pools this program
// registers, the inputs the providers cannot change in place. Any other provider property that forces a new
// resource shows as an update here: `pulumi preview` in the same pull request has the provider's own answer.
import type { RunningState } from "../components/running";
import type { CapturedResource, CarriedState } from "./capture-types";

export type StepChange = "create" | "update" | "replace" | "delete" | "unchanged" | "import";

/** Inputs a provider cannot change in place: a change replaces the resource. */
const REPLACED_ON: Record<string, readonly string[]> = {
    "command:local:Command": ["triggers"],
    "command:remote:Command": ["triggers"],
    // terraform-provider-linode's lke_node_pool: the cluster and the Linode type of its nodes are fixed.
    "linode:index/lkeNodePool:LkeNodePool": ["clusterId", "type"],
    // terraform-provider-aws's eks_node_group: these arguments are ForceNew.
    "aws:eks/nodeGroup:NodeGroup": [
        "clusterName",
        "nodeGroupName",
        "nodeRoleArn",
        "subnetIds",
        "instanceTypes",
        "amiType",
        "capacityType",
        "diskSize",
    ],
};

/** The resources a plan shows as steps: custom resources, not the stack, references or providers. */
export function isStepResource(r: CapturedResource): boolean {
    return (
        r.custom &&
        r.type !== "pulumi:pulumi:Stack" &&
        r.type !== "pulumi:pulumi:StackReference" &&
        !r.type.startsWith("pulumi:providers:")
    );
}

function flatten(value: unknown, prefix: string, out: Map<string, unknown>): Map<string, unknown> {
    if (value && typeof value === "object" && !Array.isArray(value)) {
        for (const [k, v] of Object.entries(value as Record<string, unknown>))
            flatten(v, prefix ? `${prefix}.${k}` : k, out);
    } else out.set(prefix, value);
    return out;
}

/** The inputs the engine compares, by flattened path: those under ignoreChanges left out, as the engine leaves them. */
export function comparedInputs(r: CapturedResource): Map<string, unknown> {
    const flat = flatten(r.inputs, "", new Map());
    for (const key of [...flat.keys()])
        if (r.ignoreChanges.some((i) => key === i || key.startsWith(`${i}.`) || key.startsWith(`${i}[`)))
            flat.delete(key);
    return flat;
}

/** The input paths that differ between two registrations of one resource, the previous one's first. */
export function changedInputs(before: CapturedResource, after: CapturedResource): string[] {
    const was = comparedInputs(before);
    const now = comparedInputs(after);
    const same = (k: string) => JSON.stringify(was.get(k)) === JSON.stringify(now.get(k));
    return [...new Set([...was.keys(), ...now.keys()])].filter((k) => !same(k));
}

/** What the engine does to a resource registered as `after`, given its previous registration (none: created). */
export function changeOf(before: CapturedResource | undefined, after: CapturedResource): StepChange {
    if (after.importId) return "import";
    if (!before) return "create";
    const changed = changedInputs(before, after);
    if (changed.length === 0) return "unchanged";
    const fixed = REPLACED_ON[after.type] ?? [];
    return changed.some((k) => fixed.some((f) => k === f || k.startsWith(`${f}.`))) ? "replace" : "update";
}

export interface StepChanges {
    /** URN → what happens to the resource this run registers. */
    of: Map<string, StepChange>;
    /** What the previous run registered and this one does not: the engine deletes them after every step. */
    deleted: CapturedResource[];
}

/**
 * What happens to each resource, against the resources the previous deployment registered; every resource is
 * created when nothing ran before (`before` undefined).
 */
export function stepChanges(before: CapturedResource[] | undefined, after: CapturedResource[]): StepChanges {
    const old = new Map((before ?? []).filter(isStepResource).map((r) => [r.urn, r]));
    const of = new Map<string, StepChange>();
    for (const r of after.filter(isStepResource)) {
        of.set(r.urn, changeOf(old.get(r.urn), r));
        old.delete(r.urn);
    }
    return { of, deleted: [...old.values()] };
}

/**
 * The stack file's config as the previous deployment ran it: each recorded cluster at the version its record says
 * its control plane runs; clusters the record does not hold left out, as they did not exist. Undefined when the
 * config holds no cluster list.
 */
export function previousRunConfig(
    config: Record<string, unknown>,
    record: RunningState,
): Record<string, unknown> | undefined {
    const key = ["k8s-upgrades:clusters", "clusters"].find((k) => Array.isArray(config[k]));
    if (!key) return undefined;
    const clusters = (config[key] as Array<Record<string, unknown>>)
        .filter((c) => typeof c?.name === "string" && record.clusters[c.name] !== undefined)
        .map((c) => ({ ...c, kubernetesVersion: record.clusters[String(c.name)].controlPlaneVersion }));
    return { ...config, [key]: clusters };
}

/**
 * What the engine carries into this run of the clusters and pools a deployment left, where the provider, not the
 * program, names them: an LKE cluster's and pool's numeric ids, an EKS node group's name. The other providers'
 * identities follow from names in config, which both runs share.
 */
export function carriedFromRecord(record: RunningState | undefined): Record<string, CarriedState> {
    const out: Record<string, CarriedState> = {};
    for (const cluster of Object.values(record?.clusters ?? {})) {
        // The LKE cluster resource takes the cluster's name; its id is what the record holds.
        if (cluster.provider === "lke" && cluster.clusterId)
            out[cluster.name] = { id: cluster.clusterId, state: {}, type: "linode:index/lkeCluster:LkeCluster" };
        for (const pool of cluster.pools) {
            if (!pool.poolId) continue;
            if (cluster.provider === "lke")
                out[pool.resourceName] = { id: pool.poolId, state: {}, type: "linode:index/lkeNodePool:LkeNodePool" };
            else if (cluster.provider === "eks")
                out[pool.resourceName] = {
                    id: `${cluster.clusterId ?? cluster.name}:${pool.poolId}`,
                    state: { nodeGroupName: pool.poolId },
                    type: "aws:eks/nodeGroup:NodeGroup",
                };
        }
    }
    return out;
}
