// The planner's phases one at a time, each a pure function of the cluster as configured and as it runs.

import * as assert from "node:assert/strict";
import { test } from "node:test";
import { parseStackConfig } from "../components/config";
import {
    checkKubeletWindow,
    checkPoolsCurrentForControlPlane,
    checkProviderFit,
    clusterInput,
    decideChecks,
    decideControlPlane,
    decidePool,
    decidePools,
    gatePromotion,
    retirePools,
} from "../components/plan";
import type { RunningCluster } from "../components/running";
import { requireVersion } from "../components/versions";

type PoolSpec = { name: string; count?: number; type?: string; kubernetesVersion?: string };

function cluster(provider: "lke" | "eks", version: string, strategy: string, pools: PoolSpec[]) {
    const providerBlock =
        provider === "lke"
            ? { lke: { region: "us-ord" } }
            : {
                  eks: {
                      region: "us-east-1",
                      subnetIds: ["subnet-0a1b2c3d4e5f60718", "subnet-0a1b2c3d4e5f60719"],
                  },
              };
    const type = provider === "lke" ? "g6-standard-4" : "m6i.large";
    const cfg = parseStackConfig("dev", {
        clusters: [
            {
                name: "apps",
                provider,
                kubernetesVersion: version,
                ...providerBlock,
                nodePools: pools.map((p) => ({ count: 3, type, ...p })),
                workers: { strategy, drain: { deleteEmptyDirData: false } },
            },
        ],
    });
    return cfg.clusters[0];
}

function runs(
    provider: "lke" | "eks",
    version: string,
    pools: Array<{ name: string; version: string; count?: number; type?: string; retained?: boolean }>,
): RunningCluster {
    return {
        name: "apps",
        provider,
        controlPlaneVersion: version,
        clusterId: "1",
        strategy: "blue-green",
        upgradeInProgress: false,
        pools: pools.map((p, i) => ({
            name: p.name,
            resourceName: `apps-${p.name}-${p.version.split(".").slice(0, 2).join("-")}`,
            version: p.version,
            type: p.type ?? (provider === "lke" ? "g6-standard-4" : "m6i.large"),
            count: p.count ?? 3,
            poolId: String(100 + i),
            retained: p.retained,
        })),
    };
}

test("control plane phase: create, none, patch, minor; a skipped minor, a downgrade and a major jump are refused", () => {
    const c = (v: string) => cluster("lke", v, "blue-green", [{ name: "web" }]);
    assert.deepEqual(decideControlPlane(clusterInput(c("1.31"))), { change: "create", refusals: [] });
    const at = runs("lke", "1.31.2", [{ name: "web", version: "1.31.2" }]);
    assert.equal(decideControlPlane(clusterInput(c("1.31.2"), at)).change, "none");
    assert.equal(decideControlPlane(clusterInput(c("1.31.4"), at)).change, "patch");
    assert.equal(decideControlPlane(clusterInput(c("1.32"), at)).change, "minor");
    const skip = decideControlPlane(clusterInput(c("1.33"), at));
    assert.equal(skip.refusals.length, 1);
    assert.equal(skip.refusals[0].allowed, "1.31.2 (no change) or the next minor 1.32");
    assert.match(skip.refusals[0].hint ?? "", /upgrade through 1\.32 → 1\.33, one deployment per minor/);
    const down = decideControlPlane(clusterInput(c("1.30"), at));
    assert.equal(down.refusals[0].allowed, "1.31.2 or newer (one minor at most)");
    // Config refuses a 2.x version before the planner sees it; the phase refuses it on its own too.
    const major = { ...clusterInput(c("1.32"), at), target: requireVersion("2.0") };
    assert.equal(decideControlPlane(major).refusals[0].allowed, "a 1.x version");
});

test("provider fit: a strategy the adapter lacks and a change of provider are refused, naming the field", () => {
    const c = cluster("lke", "1.31", "blue-green", [{ name: "web" }]);
    assert.deepEqual(checkProviderFit(clusterInput(c)), []);
    const moved = checkProviderFit(clusterInput(c, runs("eks", "1.31", [{ name: "web", version: "1.31" }])));
    assert.deepEqual(
        moved.map((r) => [r.field, r.given, r.allowed]),
        [["provider", "lke", '"eks", the provider this cluster runs on']],
    );
});

test("control plane precondition: EKS refuses a minor while a node group or a retained blue group lags", () => {
    const c = cluster("eks", "1.32", "blue-green", [{ name: "web" }]);
    const lagging = runs("eks", "1.31", [{ name: "web", version: "1.30" }]);
    const refusals = checkPoolsCurrentForControlPlane(clusterInput(c, lagging), "minor");
    assert.equal(refusals.length, 1);
    assert.equal(refusals[0].allowed, "1.31 until every node group runs 1.31");
    const retained = runs("eks", "1.31", [
        { name: "web", version: "1.31" },
        { name: "web", version: "1.30", retained: true },
    ]);
    const r2 = checkPoolsCurrentForControlPlane(clusterInput(c, retained), "minor");
    assert.deepEqual(
        r2.map((r) => r.allowed),
        ["1.31 until the retained blue node group is removed"],
    );
    // Nothing to say when the control plane does not move a minor, or on a provider without the rule.
    assert.deepEqual(checkPoolsCurrentForControlPlane(clusterInput(c, lagging), "patch"), []);
    const lke = cluster("lke", "1.32", "blue-green", [{ name: "web" }]);
    const lkeRuns = runs("lke", "1.31", [{ name: "web", version: "1.30" }]);
    assert.deepEqual(checkPoolsCurrentForControlPlane(clusterInput(lke, lkeRuns), "minor"), []);
});

test("pool phase: create, blue-green, in place, recycle and keep, each with its note", () => {
    const at = runs("lke", "1.31", [{ name: "web", version: "1.31" }]);
    const create = decidePool(clusterInput(cluster("lke", "1.31", "blue-green", [{ name: "web" }])), {
        name: "web",
        count: 3,
        type: "g6-standard-4",
        kubernetesVersion: "1.31",
    } as never);
    assert.ok("pool" in create);
    assert.equal(create.pool.action, "create");
    assert.equal(create.pool.resourceName, "apps-web-1-31");
    assert.equal(create.pool.note, "created with the cluster");

    const bg = decidePools(clusterInput(cluster("lke", "1.32", "blue-green", [{ name: "web" }]), at));
    assert.deepEqual(bg.refusals, []);
    assert.equal(bg.pools[0].action, "blue-green");
    assert.equal(bg.pools[0].resourceName, "apps-web-1-32");
    assert.equal(bg.pools[0].blue?.resourceName, "apps-web-1-31");
    assert.equal(
        bg.pools[0].note,
        "1.31 → 1.32: new pool apps-web-1-32, then apps-web-1-31 cordoned, drained and removed",
    );

    const inPlace = decidePools(clusterInput(cluster("lke", "1.32", "in-place", [{ name: "web" }]), at));
    assert.equal(inPlace.pools[0].action, "in-place");
    assert.equal(inPlace.pools[0].resourceName, "apps-web-1-31");
    assert.match(inPlace.pools[0].note, /^1\.31 → 1\.32 in place: one surge node/);

    const recycle = decidePools(clusterInput(cluster("lke", "1.32", "recycle", [{ name: "web" }]), at));
    assert.equal(recycle.pools[0].action, "recycle");
    assert.equal(recycle.pools[0].note, "1.31 → 1.32 by rolling recycle: one node down at a time");

    const keep = decidePools(clusterInput(cluster("lke", "1.31", "blue-green", [{ name: "web", count: 5 }]), at));
    assert.equal(keep.pools[0].action, "keep");
    assert.equal(keep.pools[0].note, "count 3 → 5");
});

test("pool phase: a type change alone moves blue-green under a new name; a lower LKE count is a shrink", () => {
    const at = runs("lke", "1.31", [{ name: "web", version: "1.31" }]);
    const typed = decidePools(
        clusterInput(cluster("lke", "1.31", "blue-green", [{ name: "web", type: "g6-standard-8" }]), at),
    );
    assert.equal(typed.pools[0].action, "blue-green");
    assert.match(typed.pools[0].resourceName, /^apps-web-1-31-[0-9a-f]{6}$/);
    assert.match(typed.pools[0].note, /^type g6-standard-4 → g6-standard-8: /);
    const shrink = decidePools(clusterInput(cluster("lke", "1.31", "blue-green", [{ name: "web", count: 1 }]), at));
    assert.equal(shrink.pools[0].action, "keep");
    assert.deepEqual(shrink.pools[0].shrink, { from: 3, to: 1 });
    assert.match(shrink.pools[0].note, /^count 3 → 1: the 2 node\(s\) to go cordoned, drained and deleted/);
});

test("pool phase refusals: downgrade, a type change in place, a two-minor in-place move, an EKS count drop while moving", () => {
    const lkeAt = runs("lke", "1.31", [{ name: "web", version: "1.31" }]);
    const down = decidePools(
        clusterInput(cluster("lke", "1.31", "in-place", [{ name: "web", type: "g6-standard-8" }]), lkeAt),
    );
    assert.deepEqual(
        down.refusals.map((r) => r.field),
        ["nodePools[0].type"],
    );
    const eksAt = runs("eks", "1.32", [{ name: "web", version: "1.30" }]);
    const twoMinors = decidePools(clusterInput(cluster("eks", "1.32", "in-place", [{ name: "web" }]), eksAt));
    assert.deepEqual(
        twoMinors.refusals.map((r) => [r.field, r.allowed]),
        [["nodePools[0].kubernetesVersion", "at most 1.31"]],
    );
    const older = decidePools(
        clusterInput(cluster("eks", "1.32", "in-place", [{ name: "web", kubernetesVersion: "1.29" }]), eksAt),
    );
    assert.deepEqual(
        older.refusals.map((r) => r.allowed),
        ["1.30 or newer"],
    );
    const eksAt31 = runs("eks", "1.32", [{ name: "web", version: "1.31" }]);
    const countDrop = decidePools(
        clusterInput(cluster("eks", "1.32", "in-place", [{ name: "web", count: 2 }]), eksAt31),
    );
    assert.deepEqual(
        countDrop.refusals.map((r) => r.field),
        ["nodePools[0].count"],
    );
});

test("kubelet window: a pool kept too far behind the new control plane is refused", () => {
    // Config already refuses a pinned version outside the window; the phase judges what the pools will run.
    const at = runs("eks", "1.33", [{ name: "web", version: "1.31" }]);
    const input = clusterInput(cluster("eks", "1.34", "in-place", [{ name: "web", kubernetesVersion: "1.31" }]), at);
    const { pools } = decidePools(input);
    assert.equal(pools[0].action, "keep");
    assert.deepEqual(checkKubeletWindow(input, pools), []);
    const refusals = checkKubeletWindow(input, [{ ...pools[0], version: "1.30" }]);
    assert.deepEqual(
        refusals.map((r) => [r.field, r.given]),
        [["nodePools[0].kubernetesVersion", "1.30"]],
    );
    assert.match(refusals[0].hint ?? "", /Upgrade pool "web" first\.$/);
});

test("retirements: pools removed from config and a retained blue pool leave, with their reason", () => {
    const at = runs("lke", "1.31", [
        { name: "web", version: "1.31" },
        { name: "web", version: "1.30", retained: true },
        { name: "batch", version: "1.31" },
    ]);
    const retired = retirePools(clusterInput(cluster("lke", "1.31", "blue-green", [{ name: "web" }]), at));
    assert.deepEqual(
        retired.map((r) => [r.pool.resourceName, r.reason]),
        [
            ["apps-web-1-30", "blue pool retained by the previous deployment; removed now"],
            ["apps-batch-1-31", "no longer in config"],
        ],
    );
});

test("checks: pre-flight before any drain, validation after any change, nothing for an unchanged cluster", () => {
    const at = runs("lke", "1.31", [{ name: "web", version: "1.31" }]);
    const same = clusterInput(cluster("lke", "1.31", "blue-green", [{ name: "web" }]), at);
    const none = decideChecks(same, "none", decidePools(same).pools, retirePools(same));
    assert.deepEqual(none, { preflight: false, validation: false, holds: [], warnings: [] });

    const removed = clusterInput(cluster("lke", "1.31", "blue-green", [{ name: "api" }]), at);
    const r = decideChecks(removed, "none", decidePools(removed).pools, retirePools(removed));
    assert.equal(r.preflight, true);
    assert.equal(r.validation, true);
    assert.deepEqual(r.warnings, ["pools removed from config are drained, then deleted: apps-web-1-31"]);

    const patch = clusterInput(cluster("lke", "1.31.5", "blue-green", [{ name: "web" }]), at);
    const p = decideChecks(patch, "patch", decidePools(patch).pools, []);
    assert.equal(p.preflight, false);
    assert.match(p.holds[0], /is a patch: Linode Kubernetes Engine applies patches itself/);

    const created = clusterInput(cluster("lke", "1.31", "blue-green", [{ name: "web" }]));
    const c = decideChecks(created, "create", decidePools(created).pools, []);
    assert.deepEqual([c.preflight, c.validation], [false, true]);
});

test("promotion gate: bounded by what the source runs, refused when the source recorded nothing", () => {
    const input = clusterInput(cluster("lke", "1.32", "blue-green", [{ name: "web" }]));
    assert.deepEqual(gatePromotion(input, "minor", "prod", undefined), { refusals: [], warnings: [] });
    const none = gatePromotion(input, "minor", "prod", { stack: "staging" });
    assert.equal(none.refusals.length, 1);
    assert.equal(none.refusals[0].allowed, 'a version the promotesFrom stack "staging" already runs');
    assert.deepEqual(none.promotion, { stack: "staging", recorded: false, sourceVersion: null });
    const state = (v: string) => ({
        schemaVersion: 1 as const,
        stack: "staging",
        clusters: { apps: runs("lke", v, [{ name: "web", version: v }]) },
    });
    assert.deepEqual(gatePromotion(input, "minor", "prod", { stack: "staging", state: state("1.32") }).refusals, []);
    const behind = gatePromotion(input, "minor", "prod", { stack: "staging", state: state("1.31") });
    assert.equal(behind.refusals[0].allowed, 'at most 1.31, what stack "staging" runs for cluster "apps"');
    assert.match(behind.refusals[0].hint ?? "", /then run 'npm run promote -- prod'/);
    const other = gatePromotion(input, "minor", "prod", {
        stack: "staging",
        state: { ...state("1.32"), clusters: {} },
    });
    assert.deepEqual(other.warnings, [
        'stack "staging" has no cluster named "apps": its version is not bounded by promotion',
    ]);
});
