// The pure planner: properties over generated configs and running states, and the holds it explains.

import * as assert from "node:assert/strict";
import { test } from "node:test";
import * as fc from "fast-check";
import { parseStackConfig } from "../components/config";
import { planStack } from "../components/plan";
import type { RunningState } from "../components/running";

const strategies = ["blue-green", "in-place", "recycle"] as const;

function config(
    stack: string,
    version: string,
    strategy: string,
    pools: Array<{ name: string; count: number; type: string; kubernetesVersion?: string }>,
    extra: Record<string, unknown> = {},
) {
    return parseStackConfig(stack, {
        clusters: [
            {
                name: "apps",
                provider: "lke",
                kubernetesVersion: version,
                lke: { region: "us-ord" },
                nodePools: pools,
                workers: { strategy, drain: { deleteEmptyDirData: false } },
            },
        ],
        ...extra,
    });
}

function running(
    version: string,
    pools: Array<{ name: string; version: string; type?: string; count?: number; retained?: boolean }>,
): RunningState {
    return {
        schemaVersion: 1,
        stack: "dev",
        clusters: {
            apps: {
                name: "apps",
                provider: "lke",
                controlPlaneVersion: version,
                clusterId: "1",
                strategy: "blue-green",
                upgradeInProgress: false,
                pools: pools.map((p, i) => ({
                    name: p.name,
                    resourceName: `apps-${p.name}-${p.version.replace(".", "-")}`,
                    version: p.version,
                    type: p.type ?? "g6-standard-4",
                    count: p.count ?? 3,
                    poolId: String(100 + i),
                    retained: p.retained,
                })),
            },
        },
    };
}

test("property: an accepted plan moves the control plane at most one minor, keeps every pool in the kubelet window, and never drops a pool without draining it", () => {
    fc.assert(
        fc.property(
            fc.integer({ min: 25, max: 34 }),
            fc.integer({ min: -1, max: 3 }),
            fc.constantFrom(...strategies),
            fc.integer({ min: 1, max: 3 }),
            (runningMinor, step, strategy, poolCount) => {
                const from = `1.${runningMinor}`;
                const to = `1.${runningMinor + step}`;
                const names = ["web", "batch", "edge"].slice(0, poolCount);
                const cfg = config(
                    "dev",
                    to,
                    strategy,
                    names.map((name) => ({ name, count: 3, type: "g6-standard-4" })),
                );
                const { plans, issues } = planStack(
                    cfg,
                    running(
                        from,
                        names.map((name) => ({ name, version: from })),
                    ),
                );
                if (step > 1 || step < 0) {
                    assert.ok(issues.length > 0, `${from} → ${to} must be refused`);
                    return;
                }
                assert.deepEqual(issues, []);
                const plan = plans[0];
                assert.equal(plan.controlPlane.change, step === 1 ? "minor" : "none");
                for (const p of plan.pools) {
                    // No pool is pinned, so every pool ends at the target: the newest kubelet the policy allows.
                    assert.equal(p.version, to);
                    assert.equal(p.action, step === 1 ? strategy : "keep");
                    if (p.action === "blue-green") {
                        assert.ok(p.blue, "a blue-green move names the pool it replaces");
                        assert.notEqual(p.blue!.resourceName, p.resourceName);
                    }
                }
                // Every running pool is either still registered or replaced by a green one whose blue it names.
                for (const rp of running(
                    from,
                    names.map((name) => ({ name, version: from })),
                ).clusters.apps.pools) {
                    assert.ok(
                        plan.pools.some(
                            (p) => p.resourceName === rp.resourceName || p.blue?.resourceName === rp.resourceName,
                        ),
                    );
                }
                assert.equal(plan.preflight, step === 1);
                assert.equal(plan.validation, step === 1);
            },
        ),
    );
});

test("a pool held back inside the kubelet window is kept, with the reason", () => {
    const cfg = config("dev", "1.31", "blue-green", [
        { name: "web", count: 3, type: "g6-standard-4" },
        { name: "batch", count: 2, type: "g6-dedicated-4", kubernetesVersion: "1.30" },
    ]);
    const { plans, issues } = planStack(
        cfg,
        running("1.30", [
            { name: "web", version: "1.30" },
            { name: "batch", version: "1.30", type: "g6-dedicated-4", count: 2 },
        ]),
    );
    assert.deepEqual(issues, []);
    const batch = plans[0].pools.find((p) => p.name === "batch")!;
    assert.equal(batch.action, "keep");
    assert.match(
        plans[0].holds.join("\n"),
        /pool "batch" held at 1\.30 by its kubernetesVersion; the control plane goes to 1\.31/,
    );
    assert.equal(plans[0].upgradeInProgressAfter, true);
});

test("LKE cannot hold a pool back under recycle, nor create a pool below the cluster's version", () => {
    const pools = [{ name: "web", count: 3, type: "g6-standard-4", kubernetesVersion: "1.30" }];
    const recycle = planStack(
        config("dev", "1.31", "recycle", pools),
        running("1.30", [{ name: "web", version: "1.30" }]),
    );
    assert.match(recycle.issues[0].hint ?? "", /recycles every pool/);
    const fresh = planStack(config("dev", "1.31", "blue-green", pools));
    assert.match(fresh.issues[0].hint ?? "", /creates every pool at the cluster's version/);
});

test("a retained blue pool from the previous deployment is retired now", () => {
    const cfg = config("dev", "1.31", "blue-green", [{ name: "web", count: 3, type: "g6-standard-4" }]);
    const state = running("1.31", [
        { name: "web", version: "1.31" },
        { name: "web", version: "1.30", retained: true },
    ]);
    const { plans } = planStack(cfg, state);
    assert.deepEqual(
        plans[0].retired.map((r) => [r.pool.resourceName, r.reason]),
        [["apps-web-1-30", "blue pool retained by the previous deployment; removed now"]],
    );
    assert.equal(plans[0].pools[0].action, "keep");
});

test("promotion: a source without this cluster only warns; a source ahead allows the bump", () => {
    const cfg = config("prod", "1.31", "blue-green", [{ name: "web", count: 3, type: "g6-standard-4" }], {
        promotesFrom: "staging",
    });
    const prev = running("1.30", [{ name: "web", version: "1.30" }]);
    const other: RunningState = { schemaVersion: 1, stack: "staging", clusters: {} };
    const unbounded = planStack(cfg, prev, { stack: "staging", state: other });
    assert.deepEqual(unbounded.issues, []);
    assert.match(unbounded.plans[0].warnings.join("\n"), /stack "staging" has no cluster named "apps"/);
    const ahead = planStack(cfg, prev, {
        stack: "staging",
        state: running("1.31", [{ name: "web", version: "1.31" }]),
    });
    assert.deepEqual(ahead.issues, []);
    assert.deepEqual(ahead.plans[0].promotion, { stack: "staging", recorded: true, sourceVersion: "1.31" });
});

test("phases read in the runbook's order", () => {
    const cfg = config("dev", "1.31", "blue-green", [{ name: "web", count: 3, type: "g6-standard-4" }]);
    const { plans } = planStack(cfg, running("1.30", [{ name: "web", version: "1.30" }]));
    assert.deepEqual(
        plans[0].phases.map((p) => p.id),
        ["preflight", "control-plane", "addons", "workers", "validation", "retire"],
    );
    assert.equal(plans[0].pools[0].version, "1.31");
});

// "kube-apiserver is at 1.32; kubelet is supported at 1.32, 1.31, 1.30, and 1.29" (version-skew policy): a pool held
// back by its pin must stay inside that window when the control plane moves, or the plan refuses it.
test("table: a pool held back is refused once the control plane leaves its kubelet window", () => {
    const rows: Array<[string, string, boolean]> = [
        ["1.32", "1.29", true],
        ["1.32", "1.28", false],
        ["1.26", "1.24", true],
        ["1.26", "1.23", false],
    ];
    for (const [controlPlane, held, accepted] of rows) {
        const from = `1.${Number(controlPlane.split(".")[1]) - 1}`;
        const plan = () =>
            planStack(
                config("dev", controlPlane, "blue-green", [
                    { name: "web", count: 3, type: "g6-standard-4" },
                    { name: "batch", count: 2, type: "g6-standard-4", kubernetesVersion: held },
                ]),
                running(from, [
                    { name: "web", version: from },
                    { name: "batch", version: held },
                ]),
            );
        if (accepted) assert.deepEqual(plan().issues, [], `${held} under ${controlPlane}`);
        else
            assert.throws(
                plan,
                new RegExp(`nodePools\\[1\\]\\.kubernetesVersion: given "${held}".*kubelet window`),
                `${held} under ${controlPlane}`,
            );
    }
});

test("promotion compares patches, not only minors: prod never takes a patch staging never ran", () => {
    const prev = running("1.31.2", [{ name: "web", version: "1.31.2" }]);
    const plan = (target: string, stagingRuns: string) =>
        planStack(
            config("prod", target, "blue-green", [{ name: "web", count: 3, type: "g6-standard-4" }], {
                promotesFrom: "staging",
            }),
            prev,
            { stack: "staging", state: running(stagingRuns, [{ name: "web", version: stagingRuns }]) },
        );
    const ahead = plan("1.31.5", "1.31.3");
    assert.deepEqual(
        ahead.issues.map((i) => [i.field, i.given, i.allowed]),
        [["clusters[0].kubernetesVersion", "1.31.5", 'at most 1.31.3, what stack "staging" runs for cluster "apps"']],
    );
    assert.match(ahead.issues[0].hint ?? "", /1\.31\.5 is a newer patch than 1\.31\.3/);
    assert.match(plan("1.31.5", "1.31").issues[0]?.hint ?? "", /records only the minor 1\.31/);
    assert.deepEqual(plan("1.31.5", "1.31.5").issues, []);
    assert.deepEqual(plan("1.31.3", "1.31.5").issues, []);
});
