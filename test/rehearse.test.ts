// The snapshot rehearsal (npm run rehearse): its report, its verdicts and exit codes, its refusals, and that its model
// reads what the scripts run. Its predictions are held to the real scripts on a real control plane in
// test/real-rehearse.test.ts.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, test } from "node:test";
import type { ClusterPlan } from "../components/plan";
import { helpText, UsageError } from "../tools/cli";
import { DEFAULT_TIMING, rehearse, rehearseCommand } from "../tools/rehearse";
import { capacityScript } from "../tools/rehearse/capacity";
import { DRAIN_START_SECONDS } from "../tools/rehearse/drain";
import { findings } from "../tools/rehearse/findings";
import { loadStackPlan } from "../tools/rehearse/load";
import { duration, renderReport } from "../tools/rehearse/render";
import { type KubeObject, parseSnapshot, type Snapshot, SnapshotError } from "../tools/rehearse/snapshot";
import { rehearseWorkers } from "../tools/rehearse/worker-phase";

const DIR = path.join(__dirname, "fixtures", "snapshots");
const ROOT = path.resolve(__dirname, "..");
/** A pod exits 50 ms after SIGTERM, a replacement is Ready 350 ms after its eviction. */
const TIMING = { nodeReadySeconds: 0, podExitSeconds: 0.05, podReadySeconds: 0.35 };
const snapshotFile = (name: string) => path.join(DIR, `${name}.json`);
const readSnapshot = (name: string): Snapshot =>
    parseSnapshot(fs.readFileSync(snapshotFile(name), "utf8"), snapshotFile(name));

const plan = (): ClusterPlan => loadStackPlan("rehearse", DIR).plans[0];

/** A copy of the rehearsal tests' stack and record, its stack file edited. */
function stackCopy(edit: (yaml: string) => string): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "k8su-rehearse-stack-"));
    const yaml = fs.readFileSync(path.join(DIR, "Pulumi.rehearse.yaml"), "utf8");
    fs.writeFileSync(path.join(dir, "Pulumi.rehearse.yaml"), edit(yaml));
    fs.cpSync(path.join(DIR, "running"), path.join(dir, "running"), { recursive: true });
    return dir;
}

describe("snapshot rehearsal, the report", () => {
    test("Markdown for a pull request: verdict in bold, tables, exit code 1 when it would fail", () => {
        const result = rehearse({
            stack: "rehearse",
            snapshot: snapshotFile("blocking-pdb"),
            stackDir: DIR,
            markdown: true,
            timing: TIMING,
        });
        assert.equal(result.exitCode, 1);
        assert.match(result.text, /^## Snapshot rehearsal of stack rehearse, cluster apps/);
        assert.match(result.text, /- verdict: \*\*WOULD FAIL at "drain apps-web-1-30"/);
        assert.match(result.text, /\| workload \| desired \| min ready \|/);
    });

    test("blue-green surplus against in place, and the time per phase", () => {
        const result = rehearse({
            stack: "rehearse",
            snapshot: snapshotFile("healthy"),
            stackDir: DIR,
            timing: { podReadySeconds: 2 },
        });
        const f = result.findings!;
        assert.equal(f.surplus.newNodes, 5);
        assert.deepEqual(
            f.phases.map((p) => p.phase),
            ["new pools created and Ready", "cordon the old pools", "drain apps-web-1-30", "drain apps-batch-1-30"],
        );
        // Grace 5 s as the upper bound of each pod's exit: one node takes kubectl drain's start (0.5 s), then the
        // pod's 5 s, seen gone at the next deletion poll (6 s); a soak of 1 s between nodes.
        const node = DRAIN_START_SECONDS + 6;
        assert.deepEqual(
            f.phases.slice(2).map((p) => p.seconds),
            [node + 1 + node + 1 + node, node + 1 + node],
        );
        assert.equal(f.surplus.blueGreenNodeHours, (5 * (300 + (3 * node + 2) + (2 * node + 1))) / 3600);
        assert.ok(f.surplus.inPlaceNodeHours !== undefined && f.surplus.inPlaceNodeHours > 0);
        assert.equal(duration(3725), "1h 02m 05s");
    });

    test("a pool the rehearsal cannot model (recycle) makes the verdict incomplete, exit 3, never would pass", () => {
        const dir = stackCopy((yaml) => yaml.replace("strategy: blue-green", "strategy: recycle"));
        try {
            const result = rehearse({ stack: "rehearse", snapshot: snapshotFile("healthy"), stackDir: dir });
            assert.equal(result.exitCode, 3, result.text);
            assert.equal(result.findings!.incomplete, true);
            assert.doesNotMatch(result.text, /would pass/);
            assert.match(result.text, /verdict: INCOMPLETE: 2 part\(s\) of the worker phase not rehearsed/);
            assert.match(result.text, /Not rehearsed\n {2}- pool web \(recycle\)/);
            const md = rehearse({
                stack: "rehearse",
                snapshot: snapshotFile("healthy"),
                stackDir: dir,
                markdown: true,
            });
            assert.equal(md.exitCode, 3);
            assert.match(md.text, /- verdict: \*\*INCOMPLETE: /);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    test("blockers in the snapshot make the verdict WOULD FAIL even where the rehearsed run got through", () => {
        const p = plan();
        const snapshot = readSnapshot("blocking-pdb");
        const run = rehearseWorkers(p, snapshot, { ...DEFAULT_TIMING, ...TIMING });
        // The run as if every drain had finished: the budget that allows no disruption still stops the upgrade.
        const through = { ...run, failure: undefined };
        const f = findings(p, snapshot, through, { ...DEFAULT_TIMING, ...TIMING });
        assert.deepEqual(
            f.blockers.map((b) => b.kind),
            ["budget"],
        );
        assert.equal(f.wouldFail, true);
        assert.equal(f.incomplete, false);
        const text = renderReport(
            { stack: "rehearse", plan: p, snapshot: "blocking-pdb.json", previous: "test", timing: DEFAULT_TIMING },
            f,
            false,
        );
        assert.match(text, /verdict: WOULD FAIL: the blockers below stop a drain/);
        assert.doesNotMatch(text, /would pass/);
    });

    test("a snapshot of another cluster, or at another version than the record, is refused unless --force", () => {
        const doc = JSON.parse(fs.readFileSync(snapshotFile("healthy"), "utf8")) as { items: KubeObject[] };
        const nodes = doc.items.filter((i) => i.kind === "Node");
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "k8su-rehearse-match-"));
        try {
            const write = (name: string, edit: (n: KubeObject) => void) => {
                const copy = structuredClone(doc);
                for (const n of copy.items.filter((i) => i.kind === "Node")) edit(n);
                fs.writeFileSync(path.join(dir, name), JSON.stringify(copy));
                return path.join(dir, name);
            };
            const other = write("other.json", (n) => {
                n.metadata.labels!["lke.linode.com/pool-id"] = `9${n.metadata.labels!["lke.linode.com/pool-id"]}`;
            });
            const newer = write("newer.json", (n) => {
                (n.status!.nodeInfo as Record<string, string>).kubeletVersion = "v1.31.2";
            });
            const refusedOther = rehearse({ stack: "rehearse", snapshot: other, stackDir: DIR, timing: TIMING });
            assert.equal(refusedOther.exitCode, 1);
            assert.equal(refusedOther.findings, undefined, "nothing rehearsed");
            assert.match(
                refusedOther.text,
                /^Refused: the snapshot .*other\.json does not match what stack rehearse records for cluster apps/,
            );
            assert.match(
                refusedOther.text,
                /no node of the snapshot belongs to a pool the record of cluster apps names \(lke\.linode\.com\/pool-id=737356, lke\.linode\.com\/pool-id=948910\)/,
            );
            assert.match(refusedOther.text, /or give --force to rehearse this one anyway/);
            const refusedNewer = rehearse({ stack: "rehearse", snapshot: newer, stackDir: DIR, timing: TIMING });
            assert.equal(refusedNewer.exitCode, 1);
            assert.match(
                refusedNewer.text,
                new RegExp(
                    `node ${nodes[0].metadata.name} of pool apps-web-1-30 runs v1\\.31\\.2; the record says the pool runs 1\\.30`,
                ),
            );
            const forced = rehearse({ stack: "rehearse", snapshot: newer, stackDir: DIR, timing: TIMING, force: true });
            assert.equal(forced.exitCode, 0, forced.text);
            assert.match(
                forced.text,
                /snapshot does not match the record \(rehearsed anyway, --force\): node \S+ of pool apps-web-1-30 runs v1\.31\.2/,
            );
            const matching = rehearse({ stack: "rehearse", snapshot: snapshotFile("healthy"), stackDir: DIR });
            assert.doesNotMatch(matching.text, /does not match/);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    test("--help names --force and the exit codes, 3 incomplete among them", () => {
        const help = helpText(rehearseCommand);
        assert.match(help, /^ {2}--force +rehearse a snapshot that does not match the stack's record/m);
        assert.match(
            help,
            /^exit codes: 0 would pass, 1 would fail or refused, 2 usage error, 3 incomplete \(not everything could be rehearsed\)$/m,
        );
    });

    test("usage errors exit 2: no snapshot, an unknown cluster, a snapshot that is not a kubectl List", () => {
        assert.throws(() => rehearseCommand.run({ "stack-dir": DIR }, ["rehearse"]), UsageError);
        assert.throws(
            () => rehearse({ stack: "rehearse", cluster: "nope", snapshot: snapshotFile("healthy"), stackDir: DIR }),
            /--cluster nope: stack rehearse has no such cluster; its clusters: apps/,
        );
        assert.throws(() => parseSnapshot('{"kind":"Pod"}', "x.json"), SnapshotError);
    });

    test("the model reads what the scripts run: the capacity check taken from lib.sh, the selectors the LKE and EKS adapters record", () => {
        assert.match(capacityScript(), /console\.log\("ELIGIBLE "/);
        const lke = fs.readFileSync(path.join(ROOT, "components/lke/cluster.ts"), "utf8");
        const eks = fs.readFileSync(path.join(ROOT, "components/eks/cluster.ts"), "utf8");
        assert.match(lke, /recordedSelector: \(pool\) => `lke\.linode\.com\/pool-id=\$\{pool\.poolId\}`/);
        assert.match(eks, /recordedSelector: \(pool\) => `eks\.amazonaws\.com\/nodegroup=\$\{pool\.poolId\}`/);
    });
});
