// The planner for deployments that drain nodes without an upgrade: a pool removed from config, a lower count.

import * as assert from "node:assert/strict";
import { test } from "node:test";
import { parseStackConfig } from "../components/config";
import { planStack } from "../components/plan";
import type { RunningState } from "../components/running";

type Pool = { name: string; count: number; type: string };
const web: Pool = { name: "web", count: 3, type: "g6-standard-4" };
const batch: Pool = { name: "batch", count: 2, type: "g6-dedicated-4" };

function plan(provider: "lke" | "eks", version: string, strategy: string, linodePools: Pool[], linodeRuns: Pool[]) {
    // The same pools on EC2 machine types for EKS, which refuses Linode plans.
    const onProvider = (p: Pool) => (provider === "eks" ? { ...p, type: "m6i.xlarge" } : p);
    const pools = linodePools.map(onProvider);
    const runs = linodeRuns.map(onProvider);
    const cluster =
        provider === "lke"
            ? { name: "apps", provider, lke: { region: "us-ord" } }
            : {
                  name: "apps",
                  provider,
                  eks: { region: "us-east-1", subnetIds: ["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002"] },
              };
    const cfg = parseStackConfig("dev", {
        clusters: [
            {
                ...cluster,
                kubernetesVersion: version,
                nodePools: pools,
                workers: { strategy, drain: { deleteEmptyDirData: false } },
            },
        ],
    });
    const running: RunningState = {
        schemaVersion: 1,
        stack: "dev",
        clusters: {
            apps: {
                name: "apps",
                provider,
                controlPlaneVersion: "1.31",
                clusterId: "1",
                strategy,
                upgradeInProgress: false,
                pools: runs.map((p, i) => ({
                    name: p.name,
                    resourceName: `apps-${p.name}-1-31`,
                    version: "1.31",
                    type: p.type,
                    count: p.count,
                    poolId: String(100 + i),
                })),
            },
        },
    };
    return planStack(cfg, running);
}

test("removing a pool runs the pre-flight, drains it after the capacity check, and validates after the drain", () => {
    const { plans, issues } = plan("lke", "1.31", "blue-green", [web], [web, batch]);
    assert.deepEqual(issues, []);
    const p = plans[0];
    assert.equal(p.preflight, true);
    assert.equal(p.validation, true);
    assert.deepEqual(
        p.retired.map((r) => [r.pool.resourceName, r.reason]),
        [["apps-batch-1-31", "no longer in config"]],
    );
    assert.deepEqual(
        p.phases.map((ph) => ph.id),
        ["preflight", "workers", "validation", "retire"],
    );
    assert.ok(
        p.phases[1].steps.some((s) =>
            /apps-batch-1-31: removed from config: capacity checked, cordoned and drained/.test(s),
        ),
    );
});

test("a lower LKE count is a planned shrink of the same pool, shown in the plan, after a pre-flight", () => {
    const { plans, issues } = plan("lke", "1.31", "blue-green", [{ ...web, count: 2 }], [web]);
    assert.deepEqual(issues, []);
    const p = plans[0];
    assert.deepEqual(p.pools[0].shrink, { from: 3, to: 2 });
    assert.equal(p.pools[0].action, "keep");
    assert.equal(p.pools[0].resourceName, "apps-web-1-31");
    assert.equal(p.preflight, true);
    assert.ok(
        p.phases
            .find((ph) => ph.id === "workers")
            ?.steps.some((s) =>
                /count 3 → 2: the 1 node\(s\) to go cordoned, drained and deleted through the node API/.test(s),
            ),
    );
    const raised = plan("lke", "1.31", "blue-green", [{ ...web, count: 4 }], [web]).plans[0];
    assert.equal(raised.pools[0].shrink, undefined, "a higher count needs no drain");
    assert.equal(raised.preflight, false);
});

test("a lower EKS count moves the pool to a new node group of the new size, blue-green", () => {
    const { plans, issues } = plan("eks", "1.31", "in-place", [{ ...web, count: 2 }], [web]);
    assert.deepEqual(issues, []);
    const p = plans[0].pools[0];
    assert.equal(p.action, "blue-green");
    assert.match(p.resourceName, /^apps-web-1-31-[0-9a-f]{6}$/);
    assert.equal(p.blue?.resourceName, "apps-web-1-31");
    assert.match(p.note, /^count 3 → 2: new pool/);
    const refused = plan("eks", "1.32", "in-place", [{ ...web, count: 2 }], [web]);
    assert.match(refused.issues[0]?.hint ?? "", /lower the count in a deployment of its own/);
});
