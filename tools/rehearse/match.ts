// Whether a snapshot is of the cluster the stack's record describes, as that record says it runs: its nodes carry
// the recorded pools' labels (the selectors the adapters record, which the drains are given), and each such node's
// kubelet runs the minor its pool is recorded at. A snapshot of another cluster, or one taken before or after the
// deployment the record describes, would rehearse a cluster that is not there.
import type { ClusterPlan } from "../../components/plan";
import type { KubeObject, Snapshot } from "./snapshot";
import { recordedSelector, rehearsable } from "./worker-phase";

function matches(node: KubeObject, selector: string): boolean {
    const labels = node.metadata.labels ?? {};
    return selector.split(",").every((term) => {
        const [key, value] = term.split("=");
        return labels[key] === value;
    });
}

/** "v1.30.9-eks-1234" → "1.30"; undefined when the text names no version. */
function minorOf(text: unknown): string | undefined {
    const m = /^v?(\d+)\.(\d+)(?:\.|$|-)/.exec(typeof text === "string" ? text : "");
    return m ? `${Number(m[1])}.${Number(m[2])}` : undefined;
}

/**
 * What in the snapshot contradicts the stack's record of the cluster, one line each; empty when it matches, when
 * nothing is recorded yet, or when the provider's pools cannot be told apart in a snapshot (not rehearsed).
 */
export function snapshotMismatches(plan: ClusterPlan, snapshot: Snapshot): string[] {
    const running = plan.running;
    if (!running || !rehearsable(plan)) return [];
    const name = plan.cluster.name;
    const pools = running.pools.filter((p) => p.poolId);
    const found = pools.map((pool) => {
        const selector = recordedSelector(plan, pool);
        return { pool, selector, nodes: snapshot.nodes.filter((n) => matches(n, selector)) };
    });
    if (found.length > 0 && found.every((f) => f.nodes.length === 0))
        return [
            `no node of the snapshot belongs to a pool the record of cluster ${name} names (${found.map((f) => f.selector).join(", ")}): it is a snapshot of another cluster, or of this one before its last recorded deployment`,
        ];
    const out: string[] = [];
    for (const { pool, selector, nodes } of found) {
        if (nodes.length === 0) {
            out.push(`pool ${pool.resourceName} (${selector}) is recorded, but no node of the snapshot belongs to it`);
            continue;
        }
        const want = minorOf(pool.version);
        for (const node of nodes) {
            const kubelet = (node.status?.nodeInfo as { kubeletVersion?: unknown } | undefined)?.kubeletVersion;
            const have = minorOf(kubelet);
            if (have !== want)
                out.push(
                    `node ${node.metadata.name} of pool ${pool.resourceName} runs ${typeof kubelet === "string" ? kubelet : "no readable kubelet version"}; the record says the pool runs ${pool.version}`,
                );
        }
    }
    return out;
}
