// The capacity check of the drain script, run on the rehearsal's cluster state: the very JavaScript that
// `check_capacity` in components/scripts/lib.sh hands to node (K8SU_CAPACITY_JS), taken from the script as it is
// generated, so the rehearsal's verdict and the script's cannot drift apart.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { buildScript } from "../../components/scripts";
import type { KubeObject } from "./snapshot";

let cached: string | undefined;
export function capacityScript(): string {
    if (cached) return cached;
    const m = /\nK8SU_CAPACITY_JS='\n([\s\S]*?)\n'\n/.exec(buildScript("drain"));
    if (!m) throw new Error("components/scripts/lib.sh no longer defines K8SU_CAPACITY_JS as the rehearsal expects");
    cached = m[1];
    return cached;
}

export interface CapacityVerdict {
    /** Nodes outside the pool that count towards the node-count floor. */
    eligible: number;
    /** The script's message when some pods fit nowhere. */
    short?: string;
}

/** Runs the script's capacity check over these nodes and pods for the given pool nodes. */
export function runCapacityCheck(nodes: KubeObject[], pods: KubeObject[], poolNodes: string[]): CapacityVerdict {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "k8su-rehearse-"));
    try {
        const nodesFile = path.join(dir, "nodes.json");
        const podsFile = path.join(dir, "pods.json");
        fs.writeFileSync(nodesFile, JSON.stringify({ items: nodes }));
        fs.writeFileSync(podsFile, JSON.stringify({ items: pods }));
        const out = execFileSync(process.execPath, ["-e", capacityScript(), nodesFile, podsFile, ...poolNodes], {
            encoding: "utf8",
        });
        const verdict: CapacityVerdict = { eligible: 0 };
        for (const line of out.split("\n")) {
            if (line.startsWith("ELIGIBLE ")) verdict.eligible = Number(line.slice(9));
            if (line.startsWith("SHORT ")) verdict.short = line.slice(6);
        }
        return verdict;
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

/**
 * The message `check_capacity` dies with (empty when it lets the drain go on), word for word but for the
 * K8S_UPGRADES_ALLOW_SHRINK escape, which the rehearsal never assumes.
 */
export function capacityProblem(verdict: CapacityVerdict, floor: number, poolNodes: string[]): string {
    const problems: string[] = [];
    if (verdict.eligible < floor)
        problems.push(
            `only ${verdict.eligible} Ready, schedulable node(s) outside ${poolNodes.join(" ")}; taking out ${poolNodes.length} node(s) needs ${floor}`,
        );
    if (verdict.short) problems.push(verdict.short);
    return problems.join("; ");
}
