// The plan's words, as a reviewer reads them in a pull request: phases, pool notes, warnings and holds, word for
// word, for each strategy. The Markdown plan and the program's log print these texts.

import * as assert from "node:assert/strict";
import { test } from "node:test";
import { parseStackConfig } from "../components/config";
import { planStack } from "../components/plan";
import type { RunningState } from "../components/running";

function config(strategy: string, workers: Record<string, unknown> = {}) {
    return parseStackConfig("dev", {
        clusters: [
            {
                name: "apps",
                provider: "lke",
                kubernetesVersion: "1.31",
                lke: { region: "us-ord" },
                nodePools: [{ name: "web", count: 3, type: "g6-standard-4" }],
                workers: { strategy, drain: { deleteEmptyDirData: false }, ...workers },
            },
        ],
    });
}

const running: RunningState = {
    schemaVersion: 1,
    stack: "dev",
    clusters: {
        apps: {
            name: "apps",
            provider: "lke",
            controlPlaneVersion: "1.30",
            clusterId: "1",
            strategy: "blue-green",
            upgradeInProgress: false,
            pools: [
                {
                    name: "web",
                    resourceName: "apps-web-1-30",
                    version: "1.30",
                    type: "g6-standard-4",
                    count: 3,
                    poolId: "100",
                },
                {
                    name: "old",
                    resourceName: "apps-old-1-30",
                    version: "1.30",
                    type: "g6-standard-2",
                    count: 2,
                    poolId: "101",
                },
            ],
        },
    },
};

const PREFLIGHT = {
    id: "preflight",
    title: "Pre-flight",
    steps: [
        "API reachable; every node Ready; kube-system healthy",
        "no deprecated API in use that the target removes",
        "no PodDisruptionBudget that blocks every eviction",
    ],
};
const CONTROL_PLANE = { id: "control-plane", title: "Control plane", steps: ["1.30 → 1.31 (one minor)"] };
const ADDONS = {
    id: "addons",
    title: "Add-ons",
    steps: ["managed by Linode Kubernetes Engine with the control plane"],
};
const VALIDATION = {
    id: "validation",
    title: "Validation",
    steps: ["after every drain: every node of the upgraded pools Ready at the target version", "kube-system healthy"],
};
const DRAIN =
    "drain: all blue nodes cordoned first, then one pool after another, 1 node(s) at a time in this cluster, 30s soak between batches, grace each pod's own, timeout 900s, PodDisruptionBudgets respected; the running record moves only after every drain and the validation after it";
/** The same drain line when only a removed pool drains (no blue pool). */
const DRAIN_REMOVED_ONLY =
    "drain: one pool after another, 1 node(s) at a time in this cluster, 30s soak between batches, grace each pod's own, timeout 900s, PodDisruptionBudgets respected; the running record moves only after every drain and the validation after it";
/** The workers' step for the pool removed from config: drained by a step of the deployment. */
const REMOVED_STEP = "apps-old-1-30: removed from config: capacity checked, cordoned and drained";
const REMOVED = "apps-old-1-30: no longer in config; drained above, then deleted once empty";
const REMOVED_WARNING = "pools removed from config are drained, then deleted: apps-old-1-30";

test("blue-green, word for word", () => {
    const { plans, issues } = planStack(config("blue-green"), running);
    assert.deepEqual(issues, []);
    const [plan] = plans;
    assert.deepEqual(plan.phases, [
        PREFLIGHT,
        CONTROL_PLANE,
        ADDONS,
        {
            id: "workers",
            title: "Workers (blue-green)",
            steps: [
                "apps-web-1-31: 1.30 → 1.31: new pool apps-web-1-31, then apps-web-1-30 cordoned, drained and removed",
                REMOVED_STEP,
                DRAIN,
            ],
        },
        VALIDATION,
        {
            id: "retire",
            title: "Retire old capacity",
            steps: ["apps-web-1-30: drained above, then deleted by the engine once empty", REMOVED],
        },
    ]);
    assert.deepEqual(
        plan.pools.map((p) => [p.name, p.action, p.resourceName, p.version, p.blue?.resourceName, p.retainBlue]),
        [["web", "blue-green", "apps-web-1-31", "1.31", "apps-web-1-30", false]],
    );
    assert.deepEqual(plan.warnings, [REMOVED_WARNING]);
    assert.deepEqual(plan.holds, []);
    assert.deepEqual(plan.controlPlane, { from: "1.30", to: "1.31", change: "minor" });
    assert.deepEqual(
        [plan.exists, plan.preflight, plan.validation, plan.upgradeInProgressAfter],
        [true, true, true, false],
    );
});

test("blue-green keeping the blue pool until the next deployment, word for word", () => {
    const { plans } = planStack(config("blue-green", { retainPreviousPool: true }), running);
    const [plan] = plans;
    assert.deepEqual(plan.phases.find((p) => p.id === "workers")?.steps, [
        "apps-web-1-31: 1.30 → 1.31: new pool apps-web-1-31, then apps-web-1-30 cordoned, drained and kept until the next deployment",
        REMOVED_STEP,
        DRAIN,
    ]);
    assert.deepEqual(plan.phases.find((p) => p.id === "retire")?.steps, [
        "apps-web-1-30: kept cordoned and empty until the next deployment",
        REMOVED,
    ]);
    assert.equal(plan.pools[0].retainBlue, true);
    assert.equal(plan.upgradeInProgressAfter, true, "a retained blue pool is an upgrade still in progress");
});

test("in-place and recycle, word for word", () => {
    const inPlace = planStack(config("in-place"), running).plans[0];
    assert.deepEqual(inPlace.phases, [
        PREFLIGHT,
        CONTROL_PLANE,
        ADDONS,
        {
            id: "workers",
            title: "Workers (in-place)",
            steps: [
                "apps-web-1-30: 1.30 → 1.31 in place: one surge node, then each old node cordoned, drained and recycled",
                REMOVED_STEP,
                DRAIN_REMOVED_ONLY,
            ],
        },
        VALIDATION,
        { id: "retire", title: "Retire old capacity", steps: [REMOVED] },
    ]);
    assert.deepEqual(
        inPlace.pools.map((p) => [p.action, p.resourceName, p.version, p.blue]),
        [["in-place", "apps-web-1-30", "1.31", undefined]],
    );
    assert.deepEqual(inPlace.warnings, [REMOVED_WARNING]);

    const recycle = planStack(config("recycle"), running).plans[0];
    assert.deepEqual(
        recycle.phases.find((p) => p.id === "workers"),
        {
            id: "workers",
            title: "Workers (recycle)",
            steps: [
                "apps-web-1-30: 1.30 → 1.31 by rolling recycle: one node down at a time",
                REMOVED_STEP,
                DRAIN_REMOVED_ONLY,
            ],
        },
    );
    assert.deepEqual(recycle.warnings, [
        "strategy recycle: every node is recycled one at a time, so capacity drops by one node during the upgrade. Use blue-green or in-place where that hurts.",
        REMOVED_WARNING,
    ]);
});

test("a new cluster, and a deployment that changes nothing, word for word", () => {
    const fresh = planStack(config("blue-green")).plans[0];
    assert.deepEqual(fresh.phases, [
        { id: "control-plane", title: "Create cluster", steps: ["create apps at 1.31 with 1 pool(s)"] },
        {
            id: "validation",
            title: "Validation",
            steps: ["every node of the new pools Ready at the target version", "kube-system healthy"],
        },
    ]);
    assert.deepEqual(
        fresh.pools.map((p) => [p.action, p.resourceName, p.note]),
        [["create", "apps-web-1-31", "created with the cluster"]],
    );
    assert.deepEqual([fresh.exists, fresh.preflight, fresh.validation], [false, false, true]);

    const done: RunningState = {
        ...running,
        clusters: {
            apps: {
                ...running.clusters.apps,
                controlPlaneVersion: "1.31",
                pools: [{ ...running.clusters.apps.pools[0], version: "1.31", resourceName: "apps-web-1-31" }],
            },
        },
    };
    const same = planStack(config("blue-green"), done).plans[0];
    assert.deepEqual(same.phases, []);
    assert.deepEqual(
        same.pools.map((p) => [p.action, p.resourceName, p.note]),
        [["keep", "apps-web-1-31", "unchanged"]],
    );
    assert.deepEqual([same.controlPlane.change, same.preflight, same.validation], ["none", false, false]);
});
