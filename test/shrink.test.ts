// A lower LKE pool count: the shrink script chooses exactly the nodes that go, drains them through the eviction API,
// deletes them through the node API, and only then sets the count, so LKE never picks a node with pods on it.

import * as assert from "node:assert/strict";
import { test } from "node:test";
import { KubeApiFixture } from "./fixture/kube-api";
import { runScript } from "./fixture/run-script";

const POOL = 77;
const env = (f: KubeApiFixture, count: number): Record<string, string> => ({
    K8SU_KUBECONFIG: f.kubeconfig(),
    LINODE_TOKEN: f.linodeToken,
    LINODE_API_URL: f.linodeUrl(),
    K8SU_CLUSTER: "apps",
    K8SU_LKE_CLUSTER_ID: String(f.clusterId),
    K8SU_LKE_POOL_ID: String(POOL),
    K8SU_POOL_COUNT: String(count),
    K8SU_READY_TIMEOUT_SECONDS: "20",
    K8SU_BATCH_SIZE: "1",
    K8SU_SOAK_SECONDS: "0",
    K8SU_GRACE_SECONDS: "0",
    K8SU_DRAIN_TIMEOUT_SECONDS: "20",
    K8SU_DELETE_EMPTYDIR_DATA: "false",
});

async function pool(count: number): Promise<{ f: KubeApiFixture; nodes: string[] }> {
    const f = new KubeApiFixture("1.31.4");
    f.timing = { terminationMs: 20, scheduleMs: 20, readyMs: 100, nodeReadyMs: 100, controlPlaneMs: 50 };
    await f.start();
    const nodes = f.addLkePool(POOL, count, "1.31.2");
    f.addReplicaSet("shop", "web", count, nodes);
    f.addPdb({ namespace: "shop", name: "web", selector: { app: "web" }, maxUnavailable: 1 });
    return { f, nodes };
}

test("5 → 3: the last two nodes by name are drained and deleted, no pod dies with its node, the pool ends at 3", async () => {
    const { f, nodes } = await pool(5);
    try {
        const r = await runScript("lke-shrink-pool", env(f, 3), "1.31");
        assert.equal(r.code, 0, r.stderr);
        assert.deepEqual(
            f.lkeNodes(POOL).map((n) => n.name),
            nodes.slice(0, 3),
        );
        assert.equal(f.lkePools.get(POOL)?.count, 3);
        assert.deepEqual(
            f.events.filter((e) => e.detail === "node removed"),
            [],
            "every pod had been evicted before its node went",
        );
        assert.equal(f.readyPods("shop", { app: "web" }), 5);
        assert.ok(f.requests.some((q) => q.startsWith("DELETE /v4/lke/clusters/4242/nodes/")));
    } finally {
        await f.stop();
    }
});

test("a run after a failed drain carries on with the nodes it had cordoned", async () => {
    const { f, nodes } = await pool(3);
    try {
        f.nodes.get(nodes[0])!.unschedulable = true;
        const r = await runScript("lke-shrink-pool", env(f, 2), "1.31");
        assert.equal(r.code, 0, r.stderr);
        assert.deepEqual(
            f.lkeNodes(POOL).map((n) => n.name),
            nodes.slice(1),
        );
    } finally {
        await f.stop();
    }
});

test("a budget that blocks the drain stops before any node is deleted; a pool at or below the count is left", async () => {
    const { f, nodes } = await pool(3);
    try {
        f.pdbs[0].maxUnavailable = 0;
        const blocked = await runScript("lke-shrink-pool", { ...env(f, 2), K8SU_DRAIN_TIMEOUT_SECONDS: "2" }, "1.31");
        assert.notEqual(blocked.code, 0);
        assert.match(blocked.stderr, /drain did not finish/);
        assert.equal(f.lkeNodes(POOL).length, 3);
        assert.equal(f.lkePools.get(POOL)?.count, 3);
        assert.equal(f.nodes.get(nodes[2])?.unschedulable, true, "the node to go stays cordoned");
        const nothing = await runScript("lke-shrink-pool", env(f, 3), "1.31");
        assert.equal(nothing.code, 0, nothing.stderr);
        assert.match(nothing.stderr, /no node to remove/);
    } finally {
        await f.stop();
    }
});

test("an API that refuses, denies or fails while the shrink runs stops it with the fault named; no node is deleted", async () => {
    const cases = [
        { fault: { mode: "401", resource: "nodes" }, says: /401|Unauthorized/ },
        { fault: { mode: "403", verb: "list", resource: "pods" }, says: /403|Forbidden/ },
        { fault: { mode: "500", resource: "linode" }, says: /500|Linode API/ },
        { fault: { mode: "refused", at: 4 }, says: /refused|connect/i },
    ] as const;
    for (const c of cases) {
        const { f, nodes } = await pool(5);
        try {
            f.injectFault({ ...c.fault });
            const r = await runScript("lke-shrink-pool", env(f, 3), "1.31");
            assert.notEqual(r.code, 0, `${c.fault.mode}: the shrink must fail`);
            assert.match(r.stderr, c.says, `${c.fault.mode}: ${r.stderr}`);
            assert.equal(
                f.requests.filter((q) => q.startsWith("DELETE /v4/lke/clusters/4242/nodes/")).length,
                0,
                `${c.fault.mode}: no node deleted`,
            );
            assert.deepEqual(
                f.lkeNodes(POOL).map((n) => n.name),
                nodes,
            );
        } finally {
            await f.stop();
        }
    }
});
