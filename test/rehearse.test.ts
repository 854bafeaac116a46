// The snapshot rehearsal (npm run rehearse) against the real scripts: the same snapshot is loaded into the test
// API server, the real drain.sh runs with the plan's settings and the real kubectl, and the rehearsal must have
// predicted its outcome: the same blocker (same node, pod and budget, or the capacity check's own words), the same
// evictions per workload, and the duration within the tolerance stated below.
import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, test } from "node:test";
import type { ClusterPlan } from "../components/plan";
import { drainEnvironment } from "../components/scripts";
import { helpText, UsageError } from "../tools/cli";
import { DEFAULT_TIMING, type RehearseResult, rehearse, rehearseCommand } from "../tools/rehearse";
import { capacityScript } from "../tools/rehearse/capacity";
import { findings } from "../tools/rehearse/findings";
import { loadStackPlan } from "../tools/rehearse/load";
import { duration, renderReport } from "../tools/rehearse/render";
import {
    type KubeObject,
    parseSnapshot,
    type Snapshot,
    SnapshotError,
    workloadKeyOf,
} from "../tools/rehearse/snapshot";
import { recordedSelector, rehearseWorkers } from "../tools/rehearse/worker-phase";
import { type FixtureEvent, KubeApiFixture } from "./fixture/kube-api";
import { loadState } from "./fixture/load-snapshot";
import { kubectlBin, runScript, type ScriptRun } from "./fixture/run-script";

const DIR = path.join(__dirname, "fixtures", "snapshots");
const ROOT = path.resolve(__dirname, "..");
/** The test API server's pace: a pod exits 50 ms after SIGTERM, a replacement is Ready 350 ms after its eviction. */
const TIMING = { nodeReadySeconds: 0, podExitSeconds: 0.05, podReadySeconds: 0.35 };
const KUBECTL = "1.31";
/**
 * The tolerance on the drains' duration, measured from a script's first eviction request to its end (its listing,
 * capacity check and cordon before are left out: they take no time in the model): the real run may not be faster
 * than predicted by more than a second (kubectl's 1 s deletion poll), and may be slower by what the model leaves
 * out: kubectl's start and its calls, 2 s per node drained and per drain script, plus, on a loaded machine, four
 * times a kubectl start (measured just before) per node and two per script.
 */
function tolerance(nodes: number, scripts: number, kubectlStart: number): { below: number; above: number } {
    return { below: 1, above: nodes * (2 + 4 * kubectlStart) + scripts * (2 + 2 * kubectlStart) };
}

/** How long starting kubectl takes on this machine now, in seconds. */
function kubectlStartSeconds(): number {
    const started = Date.now();
    execFileSync(path.join(kubectlBin(KUBECTL), "kubectl"), ["version", "--client", "-o", "json"], { stdio: "ignore" });
    return (Date.now() - started) / 1000;
}

const snapshotFile = (name: string) => path.join(DIR, `${name}.json`);
const readSnapshot = (name: string): Snapshot =>
    parseSnapshot(fs.readFileSync(snapshotFile(name), "utf8"), snapshotFile(name));

function rehearsed(name: string): RehearseResult {
    return rehearse({
        stack: "rehearse",
        cluster: "apps",
        snapshot: snapshotFile(name),
        stackDir: DIR,
        timing: TIMING,
    });
}

interface RealRun {
    /** Each drain script's run; `drainMs` from its first eviction request to its end (0 when it made none). */
    runs: Array<ScriptRun & { selector: string; drainMs: number }>;
    events: FixtureEvent[];
    /** Every request the scripts made, "METHOD path". */
    requests: string[];
    /** kubectl's start time just before the run, in seconds. */
    kubectlStart: number;
}

/** drain.sh for every drain step of the plan, in the plan's order, on the state the rehearsal's first drain saw. */
async function realDrains(plan: ClusterPlan, snapshot: Snapshot, result: RehearseResult): Promise<RealRun> {
    const f = new KubeApiFixture("1.31.4");
    await f.start();
    try {
        loadState(f, snapshot, result.run!.atFirstDrain!.nodes, result.run!.atFirstDrain!.pods);
        const steps = [...plan.pools.flatMap((p) => (p.blue ? [p.blue] : [])), ...plan.retired.map((r) => r.pool)];
        const runs: RealRun["runs"] = [];
        const kubectlStart = kubectlStartSeconds();
        for (const pool of steps) {
            const selector = recordedSelector(plan, pool);
            const started = Date.now();
            const r = await runScript(
                "drain",
                {
                    K8SU_KUBECONFIG: f.kubeconfig(),
                    K8SU_CLUSTER: plan.cluster.name,
                    K8SU_SELECTOR: selector,
                    K8SU_MIN_READY_ELSEWHERE: String(pool.count),
                    ...drainEnvironment(plan.cluster.workers.drain),
                },
                KUBECTL,
            );
            const end = started + r.ms;
            const first = f.events.find(
                (e) => (e.kind === "evicted" || e.kind === "eviction-refused") && e.at >= started,
            );
            runs.push({ ...r, selector, drainMs: first ? end - first.at : 0 });
            if (r.code !== 0) break;
        }
        return { runs, events: f.events, requests: f.requests, kubectlStart };
    } finally {
        await f.stop();
    }
}

/** Evictions per workload the test API server carried out, by the snapshot's workloads. */
function evictionsByWorkload(snapshot: Snapshot, events: FixtureEvent[]): Record<string, number> {
    const out: Record<string, number> = {};
    for (const e of events.filter((e) => e.kind === "evicted")) {
        const [ns, name] = e.object.split("/");
        const pod = snapshot.pods.find((p) => p.metadata.namespace === ns && p.metadata.name === name);
        const key = pod ? workloadKeyOf(snapshot, pod) : `replacement ${e.object}`;
        out[key] = (out[key] ?? 0) + 1;
    }
    return out;
}

function predictedEvictions(result: RehearseResult): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [key, cost] of result.run!.state.costs) if (cost.evictions > 0) out[key] = cost.evictions;
    return out;
}

function assertDuration(result: RehearseResult, real: RealRun): void {
    const predicted = result.run!.drains.reduce((n, d) => n + d.end - d.start, 0);
    const actual = real.runs.reduce((n, r) => n + r.drainMs, 0) / 1000;
    const nodes = result.run!.drains.reduce((n, d) => n + d.drains.length, 0);
    const { below, above } = tolerance(nodes, real.runs.length, real.kubectlStart);
    assert.ok(
        actual >= predicted - below && actual <= predicted + above,
        `the drains took ${actual.toFixed(1)}s; the rehearsal predicted ${predicted.toFixed(1)}s (allowed: -${below}s, +${above.toFixed(1)}s)`,
    );
}

const plan = (): ClusterPlan => loadStackPlan("rehearse", DIR).plans[0];

/** A copy of the rehearsal tests' stack and record, its stack file edited. */
function stackCopy(edit: (yaml: string) => string): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "k8su-rehearse-stack-"));
    const yaml = fs.readFileSync(path.join(DIR, "Pulumi.rehearse.yaml"), "utf8");
    fs.writeFileSync(path.join(dir, "Pulumi.rehearse.yaml"), edit(yaml));
    fs.cpSync(path.join(DIR, "running"), path.join(dir, "running"), { recursive: true });
    return dir;
}

describe("snapshot rehearsal against the real drain script", { concurrency: true }, () => {
    test("healthy: predicted to pass; the real drains pass with the same evictions per workload, in the predicted time", async () => {
        const result = rehearsed("healthy");
        assert.equal(result.exitCode, 0, result.text);
        assert.deepEqual(result.findings!.blockers, []);
        const snapshot = readSnapshot("healthy");
        const real = await realDrains(plan(), snapshot, result);
        assert.deepEqual(
            real.runs.map((r) => r.code),
            [0, 0],
            real.runs.map((r) => r.stderr).join("\n"),
        );
        assert.deepEqual(evictionsByWorkload(snapshot, real.events), predictedEvictions(result));
        assert.equal(
            Object.values(predictedEvictions(result)).reduce((a, b) => a + b, 0),
            13,
        );
        assertDuration(result, real);
    });

    test("blocking budget: predicted to fail on the same node, pod and budget as the script, after the same evictions", async () => {
        const result = rehearsed("blocking-pdb");
        assert.equal(result.exitCode, 1);
        const failure = result.run!.failure!;
        assert.equal(failure.kind, "budget");
        assert.deepEqual(failure.budgets, ["payments/ledger"]);
        const node = result.run!.drains[0].drains.find((d) => d.failure)!.node;
        const snapshot = readSnapshot("blocking-pdb");
        const real = await realDrains(plan(), snapshot, result);
        assert.equal(real.runs.length, result.run!.drains.length, "the script stops at the same pool");
        const last = real.runs.at(-1)!;
        assert.equal(last.code, 1);
        assert.match(last.stderr, new RegExp(`drain did not finish for ${node};`));
        for (const pod of failure.pods) assert.ok(last.stderr.includes(`  - ${pod}`), `the script names ${pod}`);
        const refusedBudgets = new Set(real.events.filter((e) => e.kind === "eviction-refused").map((e) => e.detail));
        assert.deepEqual([...refusedBudgets], ["ledger"]);
        assert.equal(
            real.events.filter((e) => e.kind === "eviction-refused").length,
            result.run!.drains[0].drains.reduce((n, d) => n + (d.refused.ledger ?? 0), 0),
            "as many refused evictions as predicted (kubectl retries every 5 s until its timeout)",
        );
        assert.deepEqual(evictionsByWorkload(snapshot, real.events), predictedEvictions(result));
        assertDuration(result, real);
        assert.match(
            result.text,
            /PodDisruptionBudget payments\/ledger \(minAvailable 2\) allows no disruption.*Deployment payments\/ledger/,
        );
    });

    test("short of capacity: predicted to stop before any cordon, in the capacity check's own words", async () => {
        const result = rehearsed("short-of-capacity");
        assert.equal(result.exitCode, 1);
        const failure = result.run!.failure!;
        assert.equal(failure.kind, "capacity");
        const snapshot = readSnapshot("short-of-capacity");
        const real = await realDrains(plan(), snapshot, result);
        assert.equal(real.runs.length, 1);
        assert.equal(real.runs[0].code, 1);
        assert.ok(real.runs[0].stderr.includes(failure.message), `${real.runs[0].stderr}\n---\n${failure.message}`);
        assert.deepEqual(
            real.requests.filter((r) => r.startsWith("PATCH") || r.includes("/eviction")),
            [],
            "the script changed nothing",
        );
        assert.deepEqual(predictedEvictions(result), {});
        assert.match(result.text, /6 pod\(s\) fit on no node/);
        assert.match(result.text, /short by 6000m CPU and 6144Mi memory on nodes those pods can run on/);
    });

    test("a bare pod and an emptyDir pod: predicted where kubectl drain refuses them, after the same evictions", async () => {
        // The healthy snapshot with a pod that has no controller and a checkout pod with an emptyDir volume, both
        // on the third node of the web pool.
        const doc = JSON.parse(fs.readFileSync(snapshotFile("healthy"), "utf8")) as { items: KubeObject[] };
        const node = "lke746937-737356-3c4d5e6f";
        const onNode = doc.items.filter((i) => i.kind === "Pod" && i.spec?.nodeName === node);
        const checkout = onNode.find((p) => p.metadata.name.startsWith("checkout-"))!;
        checkout.spec = { ...checkout.spec, volumes: [{ name: "scratch", emptyDir: {} }] };
        const bare = structuredClone(checkout);
        bare.metadata = { name: "debug-shell", namespace: "default", labels: { app: "debug-shell" } };
        bare.spec = { ...bare.spec, volumes: [] };
        doc.items.push(bare);
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "k8su-rehearse-test-"));
        const file = path.join(dir, "undrainable.json");
        fs.writeFileSync(file, JSON.stringify(doc));
        try {
            const result = rehearse({ stack: "rehearse", snapshot: file, stackDir: DIR, timing: TIMING });
            assert.equal(result.exitCode, 1);
            assert.deepEqual(
                result.findings!.blockers.map((b) => b.kind),
                ["bare-pod", "emptydir"],
            );
            const failure = result.run!.failure!;
            assert.deepEqual(failure.pods.sort(), ["default/debug-shell", `shop/${checkout.metadata.name}`]);
            const snapshot = parseSnapshot(JSON.stringify(doc), file);
            const real = await realDrains(plan(), snapshot, result);
            const last = real.runs.at(-1)!;
            assert.equal(real.runs.length, 1);
            assert.equal(last.code, 1);
            assert.match(last.stderr, new RegExp(`drain did not finish for ${node};`));
            assert.match(last.stderr, /declare no controller[^\n]*default\/debug-shell/);
            assert.match(last.stderr, new RegExp(`local storage[^\\n]*shop/${checkout.metadata.name}`));
            assert.deepEqual(evictionsByWorkload(snapshot, real.events), predictedEvictions(result));
            assertDuration(result, real);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});

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
        // Grace 5 s as the upper bound of each pod's exit: one node drains in 5 s, a soak of 1 s between nodes.
        assert.deepEqual(
            f.phases.slice(2).map((p) => p.seconds),
            [5 + 1 + 5 + 1 + 5, 5 + 1 + 5],
        );
        assert.equal(f.surplus.blueGreenNodeHours, (5 * (300 + 17 + 11)) / 3600);
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
