// What runs now: the state each deployment exports for the next one to read through a self StackReference.
// Pure: parsing and shape only.
import { parseVersion } from "./versions";

/** The stack output that carries the running state. */
export const RUNNING_STATE_OUTPUT = "k8sUpgrades";
export const RUNNING_STATE_SCHEMA = 1;

export interface RunningPool {
    /** The pool's name in config. */
    name: string;
    /** The Pulumi resource name of this generation of the pool; a blue-green upgrade makes a new one. */
    resourceName: string;
    /** The kubelet version its nodes run. */
    version: string;
    type: string;
    count: number;
    autoscaler?: { min: number; max: number };
    /** The provider's id for the pool (LKE pool id), when known. */
    poolId?: string;
    /** A drained blue pool kept as a fallback (retainPreviousPool); removed by the next deployment. */
    retained?: boolean;
}

export interface RunningCluster {
    name: string;
    provider: string;
    controlPlaneVersion: string;
    clusterId?: string;
    strategy: string;
    pools: RunningPool[];
    /** True while the cluster is not uniform yet: pools lag the control plane, or a retained pool waits for removal. */
    upgradeInProgress: boolean;
    /** The control plane version the last validation step passed at. */
    validatedVersion?: string;
    /** Cluster API: the AMI each Kubernetes version's machines run; a version's image moves only when config says so. */
    images?: Record<string, string>;
    /** EKS: the version each managed add-on runs; moved only during a control plane upgrade or by a pin. */
    addons?: Record<string, string>;
    /** GKE: the exact node version ("1.31.4-gke.1234") each minor's pools run; moved only when the minor moves. */
    nodeVersions?: Record<string, string>;
}

export interface RunningState {
    schemaVersion: number;
    stack: string;
    clusters: Record<string, RunningCluster>;
}

/** Parses what a previous deployment exported. Throws a message naming what is malformed. */
export function parseRunningState(raw: unknown, from: string): RunningState | undefined {
    if (raw === undefined || raw === null) return undefined;
    const fail = (what: string): never => {
        throw new Error(
            `the running state recorded by ${from} (stack output "${RUNNING_STATE_OUTPUT}") is malformed: ${what}. ` +
                `Inspect it with 'pulumi stack output ${RUNNING_STATE_OUTPUT} --json'; it is written only by this program.`,
        );
    };
    if (typeof raw !== "object" || Array.isArray(raw)) return fail("not a map");
    const r = raw as Record<string, unknown>;
    if (r.schemaVersion !== RUNNING_STATE_SCHEMA)
        return fail(`schemaVersion ${JSON.stringify(r.schemaVersion)} is not ${RUNNING_STATE_SCHEMA}`);
    if (typeof r.clusters !== "object" || r.clusters === null) return fail("clusters is missing");
    const clusters: Record<string, RunningCluster> = {};
    for (const [name, value] of Object.entries(r.clusters as Record<string, unknown>)) {
        const cl = value as Partial<RunningCluster>;
        if (!cl || typeof cl !== "object") return fail(`cluster ${name} is not a map`);
        if (!parseVersion(cl.controlPlaneVersion))
            return fail(`cluster ${name} has controlPlaneVersion ${JSON.stringify(cl.controlPlaneVersion)}`);
        if (!Array.isArray(cl.pools)) return fail(`cluster ${name} has no pools list`);
        const pools = cl.pools.map((p, i): RunningPool => {
            if (!p || typeof p.name !== "string" || typeof p.resourceName !== "string" || !parseVersion(p.version)) {
                return fail(`cluster ${name}, pools[${i}] lacks name, resourceName or version`);
            }
            return {
                name: p.name,
                resourceName: p.resourceName,
                version: p.version,
                type: String(p.type ?? ""),
                count: Number(p.count ?? 0),
                autoscaler: p.autoscaler,
                poolId: p.poolId === undefined || p.poolId === null ? undefined : String(p.poolId),
                retained: p.retained === true,
            };
        });
        clusters[name] = {
            name,
            provider: String(cl.provider ?? ""),
            controlPlaneVersion: cl.controlPlaneVersion as string,
            clusterId: cl.clusterId === undefined || cl.clusterId === null ? undefined : String(cl.clusterId),
            strategy: String(cl.strategy ?? ""),
            pools,
            upgradeInProgress: cl.upgradeInProgress === true,
            validatedVersion: typeof cl.validatedVersion === "string" ? cl.validatedVersion : undefined,
            images: stringMap(cl.images),
            addons: stringMap(cl.addons),
            nodeVersions: stringMap(cl.nodeVersions),
        };
    }
    return { schemaVersion: RUNNING_STATE_SCHEMA, stack: typeof r.stack === "string" ? r.stack : "", clusters };
}

/** A recorded map of names to strings; anything else is left out (older records have none). */
function stringMap(value: unknown): Record<string, string> | undefined {
    if (!value || typeof value !== "object" || Array.isArray(value)) return undefined;
    const entries = Object.entries(value as Record<string, unknown>).filter(
        (e): e is [string, string] => typeof e[1] === "string" && e[1] !== "",
    );
    return entries.length > 0 ? Object.fromEntries(entries) : undefined;
}
