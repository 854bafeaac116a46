// The order in which a stack's clusters upgrade: waves from `k8s-upgrades:rollout`, resolved and checked. Pure: the
// program turns it into resource dependencies, the plan and the review draw it, the schema reports its problems.
import { didYouMean } from "./config/issues";

/** A wave as written: clusters by name, by labels (every label must match), or both. */
export interface WaveInput {
    name?: string;
    clusters: string[];
    matchLabels?: Record<string, string>;
}

export interface RolloutInput {
    waves: WaveInput[];
    maxConcurrentClusters?: number;
    soakMinutes: number;
}

/** The stack output holding the resolved rollout (set only when the stack has one), read by the plan and review. */
export const ROLLOUT_OUTPUT = "rollout";

/** What a wave selects from: each cluster's name and labels, in config order. */
export interface ClusterLabels {
    name: string;
    labels?: Record<string, string>;
}

export interface Wave {
    /** From 1, in the order written. */
    number: number;
    /** The name given, else "wave <number>". */
    name: string;
    /** Named clusters in the order written, then the clusters its labels select, in config order. */
    clusters: string[];
}

export interface Rollout {
    waves: Wave[];
    /** How many clusters of one wave upgrade at once; unset: all of them. */
    maxConcurrentClusters?: number;
    /** The timed hold after each wave but the last, once every cluster of it has passed validation. */
    soakMinutes: number;
}

/** A rollout setting that cannot be carried out, with where it is (a path under the stack's keys). */
export interface RolloutProblem {
    path: (string | number)[];
    given: unknown;
    allowed: string;
    hint?: string;
}

function matches(cluster: ClusterLabels, selector: Record<string, string>): boolean {
    return Object.entries(selector).every(([k, v]) => cluster.labels?.[k] === v);
}

function labelsInUse(clusters: ClusterLabels[]): string {
    const pairs = [...new Set(clusters.flatMap((c) => Object.entries(c.labels ?? {}).map(([k, v]) => `${k}=${v}`)))];
    return pairs.length > 0 ? `labels in use: ${pairs.join(", ")}` : "no cluster has labels yet (clusters[].labels)";
}

/** One wave's clusters, and what is wrong with how it names them. */
function selectWave(
    wave: WaveInput,
    i: number,
    clusters: ClusterLabels[],
): { names: string[]; problems: RolloutProblem[] } {
    const known = clusters.map((c) => c.name);
    const problems: RolloutProblem[] = [];
    const at = (...rest: (string | number)[]) => ["rollout", "waves", i, ...rest];
    const names: string[] = [];
    wave.clusters.forEach((name, j) => {
        if (!known.includes(name))
            problems.push({
                path: at("clusters", j),
                given: name,
                allowed: `the name of a cluster of this stack: ${known.join(", ")}`,
                hint: didYouMean(name, known) ?? "Fix the name, or add the cluster to clusters.",
            });
        else if (names.includes(name))
            problems.push({ path: at("clusters", j), given: name, allowed: "each cluster named once per wave" });
        else names.push(name);
    });
    if (wave.matchLabels !== undefined) {
        const selector = wave.matchLabels;
        const selected = clusters.filter((c) => matches(c, selector)).map((c) => c.name);
        if (Object.keys(selector).length === 0 || selected.length === 0)
            problems.push({
                path: at("matchLabels"),
                given: selector,
                allowed: "labels that every cluster of the wave carries, matching at least one cluster",
                hint: `Label the clusters (clusters[].labels) or fix the selector; ${labelsInUse(clusters)}.`,
            });
        for (const name of selected) if (!names.includes(name)) names.push(name);
    }
    if (wave.clusters.length === 0 && wave.matchLabels === undefined)
        problems.push({
            path: at(),
            given: wave,
            allowed: "a wave with clusters (names) or matchLabels (cluster labels)",
            hint: "Remove the empty wave, or say which clusters it holds.",
        });
    return { names, problems };
}

/**
 * The waves, each cluster in exactly one. A cluster no wave selects is refused rather than put in an implicit last
 * wave: an order the user did not write would upgrade a production cluster alongside the canaries' successors
 * without anyone having decided it.
 */
export function resolveRollout(
    clusters: ClusterLabels[],
    input: RolloutInput,
): { rollout?: Rollout; problems: RolloutProblem[] } {
    const problems: RolloutProblem[] = [];
    const waveOf = new Map<string, number>();
    const waves: Wave[] = input.waves.map((wave, i) => {
        const selected = selectWave(wave, i, clusters);
        problems.push(...selected.problems);
        const own: string[] = [];
        for (const name of selected.names) {
            const earlier = waveOf.get(name);
            if (earlier === undefined) {
                waveOf.set(name, i + 1);
                own.push(name);
            } else
                problems.push({
                    path: ["rollout", "waves", i],
                    given: name,
                    allowed: "each cluster in exactly one wave",
                    hint: `Cluster ${name} is in wave ${earlier} already; remove it from one of the two (names and labels both select).`,
                });
        }
        return { number: i + 1, name: wave.name ?? `wave ${i + 1}`, clusters: own };
    });
    const names = waves.map((w) => w.name);
    names.forEach((name, i) => {
        if (names.indexOf(name) !== i)
            problems.push({ path: ["rollout", "waves", i, "name"], given: name, allowed: "a name no other wave has" });
    });
    const missing = clusters.map((c) => c.name).filter((n) => !waveOf.has(n));
    if (missing.length > 0)
        problems.push({
            path: ["rollout", "waves"],
            given: missing,
            allowed: "every cluster of the stack in one wave",
            hint: `Add ${missing.join(", ")} to a wave by name or label (a last wave, if they should go after the rest).`,
        });
    if (problems.length > 0) return { problems };
    return {
        rollout: { waves, maxConcurrentClusters: input.maxConcurrentClusters, soakMinutes: input.soakMinutes },
        problems,
    };
}

/** What a cluster's first step waits for: the previous wave's soak, and the cluster `max` places before it. */
export interface ClusterGate {
    cluster: string;
    wave: number;
    /** The soak of the previous wave (its number), when there is one. */
    afterSoakOf?: number;
    /** The cluster of the same wave that must have passed validation first (maxConcurrentClusters). */
    afterCluster?: string;
}

/** Every cluster in rollout order, with what it waits for. */
export function clusterGates(rollout: Rollout): ClusterGate[] {
    const max = rollout.maxConcurrentClusters;
    return rollout.waves.flatMap((wave, w) =>
        wave.clusters.map((cluster, k) => ({
            cluster,
            wave: wave.number,
            ...(w > 0 ? { afterSoakOf: rollout.waves[w - 1].number } : {}),
            ...(max !== undefined && k >= max ? { afterCluster: wave.clusters[k - max] } : {}),
        })),
    );
}

/** The name of the step that holds the wave after `wave`: top-level, beside the clusters' components. */
export function soakStepName(wave: number): string {
    return `rollout-wave-${wave}-soak`;
}

/** The rollout as plain lines, for the plan and the review. */
export function describeRollout(rollout: Rollout): string[] {
    const out: string[] = [];
    const max = rollout.maxConcurrentClusters;
    for (const [i, wave] of rollout.waves.entries()) {
        const pace =
            max === undefined || max >= wave.clusters.length
                ? "all at once"
                : `${max} at a time, each starting when the one ${max} place(s) before it passed validation`;
        out.push(`${wave.name}: ${wave.clusters.join(", ")} (${pace})`);
        if (i < rollout.waves.length - 1)
            out.push(
                `then, once every cluster of ${wave.name} passed validation: ${soakStepName(wave.number)} holds ${rollout.soakMinutes} min; a failure stops here and later waves do not start`,
            );
    }
    return out;
}

/** The rollout a run exported (ROLLOUT_OUTPUT), when it has the shape the program writes; else undefined. */
export function readRollout(value: unknown): Rollout | undefined {
    if (typeof value !== "object" || value === null) return undefined;
    const r = value as Partial<Rollout>;
    const wavesOk =
        Array.isArray(r.waves) &&
        r.waves.every(
            (w) =>
                typeof w?.number === "number" &&
                typeof w.name === "string" &&
                Array.isArray(w.clusters) &&
                w.clusters.every((c) => typeof c === "string"),
        );
    if (!wavesOk || typeof r.soakMinutes !== "number") return undefined;
    const max = r.maxConcurrentClusters;
    return {
        waves: r.waves!,
        soakMinutes: r.soakMinutes,
        ...(typeof max === "number" ? { maxConcurrentClusters: max } : {}),
    };
}
