// The rehearsal's report: aligned tables for the terminal, or Markdown for a pull-request comment.
import type { ClusterPlan } from "../../components/plan";
import { DELETE_POLL_SECONDS, DRAIN_START_SECONDS, EVICTION_RETRY_SECONDS } from "./drain";
import type { Findings } from "./findings";
import type { RehearsalTiming } from "./worker-phase";

export interface ReportHeader {
    stack: string;
    plan: ClusterPlan;
    snapshot: string;
    previous: string;
    timing: RehearsalTiming;
    /** Where the snapshot contradicts the stack's record (rehearsed anyway, --force). */
    mismatches?: string[];
}

export function duration(seconds: number): string {
    const s = Math.round(seconds);
    if (s < 60) return `${s}s`;
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    const rest = `${String(s % 60).padStart(2, "0")}s`;
    return h > 0 ? `${h}h ${String(m).padStart(2, "0")}m ${rest}` : `${m}m ${rest}`;
}

function table(head: string[], rows: string[][], markdown: boolean): string[] {
    if (markdown)
        return [
            `| ${head.join(" | ")} |`,
            `| ${head.map(() => "---").join(" | ")} |`,
            ...rows.map((r) => `| ${r.join(" | ")} |`),
        ];
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const line = (r: string[]) => `  ${r.map((c, i) => c.padEnd(widths[i])).join("  ")}`.trimEnd();
    return [line(head), ...rows.map(line)];
}

function verdict(f: Findings): string {
    if (f.incomplete)
        return `INCOMPLETE: ${f.notRehearsed.length} part(s) of the worker phase not rehearsed (see "Not rehearsed"); nothing found would fail in the rest`;
    if (!f.wouldFail) return "would pass";
    if (f.failure) return `WOULD FAIL at "${f.failure.phase}"`;
    return "WOULD FAIL: the blockers below stop a drain";
}

export function renderReport(h: ReportHeader, f: Findings, markdown: boolean): string {
    const title = (t: string) => (markdown ? [`### ${t}`, ""] : [t]);
    const bullet = markdown ? "- " : "  - ";
    const c = h.plan.cluster;
    const drain = c.workers.drain;
    const out: string[] = [
        `${markdown ? "## " : ""}Snapshot rehearsal of stack ${h.stack}, cluster ${c.name}`,
        ...(markdown ? [""] : []),
        `${markdown ? "- " : "  "}plan: ${c.provider}, control plane ${h.plan.controlPlane.from ?? "new"} → ${h.plan.controlPlane.to}, workers ${c.workers.strategy}; drain batches of ${drain.batchSize}, grace ${drain.gracePeriodSeconds === undefined ? "each pod's own" : `${drain.gracePeriodSeconds}s`}, timeout ${drain.timeoutSeconds}s, soak ${drain.soakSeconds}s, deleteEmptyDirData ${drain.deleteEmptyDirData}`,
        `${markdown ? "- " : "  "}snapshot: ${h.snapshot}; previous outputs: ${h.previous}`,
        ...(h.mismatches ?? []).map(
            (m) => `${markdown ? "- " : "  "}snapshot does not match the record (rehearsed anyway, --force): ${m}`,
        ),
        `${markdown ? "- " : "  "}verdict: ${markdown ? `**${verdict(f)}**` : verdict(f)}`,
        "",
        ...title("Blockers"),
        ...(f.failure ? [`${bullet}stops at "${f.failure.phase}": ${f.failure.message}`] : []),
        ...f.blockers.map((b) => `${bullet}[${b.kind}] ${b.text}`),
        ...(f.failure || f.blockers.length > 0 ? [] : [`${bullet}none`]),
        "",
        ...title("Time"),
        ...table(
            ["phase", "duration"],
            [
                ...f.phases.map((p) => [p.phase, `${duration(p.seconds)}${p.assumed ? " (assumed)" : ""}`]),
                ["total", f.failure ? `${duration(f.totalSeconds)} until it stops` : duration(f.totalSeconds)],
            ],
            markdown,
        ),
        "",
        ...title("Cost to workloads"),
        ...workloadLines(f, markdown, bullet),
        ...(markdown ? [""] : []),
        `${markdown ? "" : "  "}${f.evictions} eviction(s) in all`,
        "",
        ...title("Surplus capacity"),
        ...surplusLines(f, bullet),
        "",
        ...title("Assumptions"),
        `${bullet}new nodes Ready ${duration(h.timing.nodeReadySeconds)} after their pool is created (--node-ready-seconds)`,
        `${bullet}an evicted pod exits in ${h.timing.podExitSeconds === undefined ? "its whole grace period (an upper bound)" : `${h.timing.podExitSeconds}s or its grace period, whichever is shorter`} (--pod-exit-seconds)`,
        `${bullet}a replacement pod is Ready ${h.timing.podReadySeconds}s after its eviction (--pod-ready-seconds)`,
        `${bullet}the scheduler places a pod on the feasible node with the most room left; each kubectl drain takes ${DRAIN_START_SECONDS}s before its first eviction, retries a refused eviction every ${EVICTION_RETRY_SECONDS}s and sees a pod gone at its first deletion poll (every ${DELETE_POLL_SECONDS}s) after the pod exits`,
    ];
    if (f.notRehearsed.length > 0)
        out.push("", ...title("Not rehearsed"), ...f.notRehearsed.map((n) => `${bullet}${n}`));
    return `${out.join("\n")}\n`;
}

function workloadLines(f: Findings, markdown: boolean, bullet: string): string[] {
    if (f.workloads.length === 0) return [`${bullet}no workload is disturbed`];
    const head = [
        "workload",
        "desired",
        "min ready",
        "budget (min healthy)",
        "evictions",
        "max per replica",
        "below desired",
    ];
    const rows = f.workloads.map((w) => [
        w.workload,
        w.desired === undefined ? "-" : String(w.desired),
        String(w.minReady),
        w.budget ?? "none",
        String(w.evictions),
        String(w.maxEvictionsPerReplica),
        duration(w.secondsBelowDesired),
    ]);
    return table(head, rows, markdown);
}

function surplusLines(f: Findings, bullet: string): string[] {
    const s = f.surplus;
    if (s.newNodes === 0) return [`${bullet}none: no new pool`];
    const lines = [
        `${bullet}blue-green: ${s.newNodes} new node(s) beside the old ones for ${duration(s.hours * 3600)}: ${s.blueGreenNodeHours.toFixed(2)} node-hours${s.retained ? ", plus the retained old pool until the next deployment" : ""}`,
    ];
    if (s.inPlaceNodeHours !== undefined)
        lines.push(
            `${bullet}in place instead: one surge node per pool for about ${duration(s.inPlaceNodeHours * 3600)}: ${s.inPlaceNodeHours.toFixed(2)} node-hours (estimate: node by node, each drain as above plus a replacement's Ready time)`,
        );
    return lines;
}
