// A lower LKE pool count: the shrink script chooses exactly the nodes that go, drains them through the eviction API,
// deletes them through the node API, and only then sets the count, so LKE never picks a node with pods on it.
// Against the Linode API stand-in (test/fixture/linode-api.ts), whose pools are kwok Nodes of the real control
// plane: the drains meet the real eviction subresource, disruption controller and scheduler. One control plane for
// the file; each test has its own Linode cluster, pool, namespace and workload, so the tests run side by side.
import * as assert from "node:assert/strict";
import { describe, test } from "node:test";
import { FaultProxy } from "./fixture/fault-proxy";
import { LinodeApi, type LinodeFault } from "./fixture/linode-api";
import { type Budget, KUBECTL_FOR_SERVER, realCluster } from "./fixture/real-cluster";
import { runScript } from "./fixture/run-script";

const rc = realCluster("shrink");

let nextClusterId = 7700;
let nextPoolId = 77;

interface Shrink {
    lke: LinodeApi;
    ns: string;
    poolId: number;
    /** The pool's nodes at the start, by name. */
    nodes: string[];
}

/** A pool of `count` nodes with one web pod per node (maxUnavailable 1 unless given), all selecting test=<id>. */
async function pool(id: string, count: number, budget: Budget = { maxUnavailable: 1 }): Promise<Shrink> {
    const minor = rc.c.state.version.slice(1).split(".").slice(0, 2).join(".");
    const lke = new LinodeApi(rc.api, {
        clusterId: nextClusterId++,
        k8sVersion: minor,
        timing: { joinMs: 500, deleteMs: 500 },
    });
    await lke.start();
    try {
        const poolId = nextPoolId++;
        const ns = await rc.namespace(id);
        const nodes = await lke.addPool({
            id: poolId,
            count,
            kubeletVersion: rc.c.state.version,
            labels: { test: id },
        });
        await rc.deployment(ns, "web", { nodeSelector: { test: id }, replicas: count, exitAfter: "1s" });
        await rc.pdb(ns, "web", budget);
        await rc.waitReady(ns, "web", count);
        return { lke, ns, poolId, nodes };
    } catch (err) {
        // A stand-in left listening would keep the test process from ending.
        await lke.close();
        throw err;
    }
}

async function withPool(id: string, count: number, body: (s: Shrink) => Promise<void>, budget?: Budget): Promise<void> {
    const s = await pool(id, count, budget);
    try {
        await body(s);
        assert.deepEqual(s.lke.errors, [], "the stand-in's own work failed");
    } finally {
        await s.lke.close();
    }
}

const env = (s: Shrink, count: number, extra: Record<string, string> = {}): Record<string, string> => ({
    K8SU_KUBECONFIG: rc.kubeconfig(),
    LINODE_TOKEN: s.lke.token,
    LINODE_API_URL: s.lke.url,
    K8SU_CLUSTER: "apps",
    K8SU_LKE_CLUSTER_ID: String(s.lke.clusterId),
    K8SU_LKE_POOL_ID: String(s.poolId),
    K8SU_POOL_COUNT: String(count),
    K8SU_READY_TIMEOUT_SECONDS: "60",
    K8SU_BATCH_SIZE: "1",
    K8SU_SOAK_SECONDS: "0",
    K8SU_GRACE_SECONDS: "",
    K8SU_DRAIN_TIMEOUT_SECONDS: "60",
    K8SU_DELETE_EMPTYDIR_DATA: "false",
    K8SU_CURL_RETRIES: "0",
    K8SU_POLL_SECONDS: "0.5",
    ...extra,
});

const shrink = (e: Record<string, string>) =>
    runScript("lke-shrink-pool", e, KUBECTL_FOR_SERVER, { killAfterMs: 300_000 });
const names = async (s: Shrink) => (await s.lke.nodesOf(s.poolId)).map((n) => n.name);

describe("lke-shrink-pool against the Linode API stand-in and the real control plane", { concurrency: true }, () => {
    test("5 → 3: the last two nodes by name are drained and deleted, no pod dies with its node, the pool ends at 3", () =>
        withPool("five", 5, async (s) => {
            const r = await shrink(env(s, 3));
            assert.equal(r.code, 0, r.stderr);
            assert.deepEqual(await names(s), s.nodes.slice(0, 3));
            assert.equal(s.lke.pool(s.poolId).count, 3);
            assert.deepEqual(s.lke.gone.map((g) => g.node).sort(), s.nodes.slice(3));
            assert.deepEqual(
                s.lke.gone.filter((g) => g.pods.length > 0),
                [],
                "every pod had been evicted before its node went",
            );
            // The nodes went through the node API, and only then was the count set.
            const lines = s.lke.lines();
            const deletes = lines.flatMap((l, i) => (/^DELETE .*\/nodes\//.test(l) ? [i] : []));
            const put = lines.findIndex((l) => l.startsWith("PUT "));
            assert.equal(deletes.length, 2);
            assert.ok(put > deletes[1], `the count was set before the deletes: ${lines.join(", ")}`);
            assert.deepEqual(s.lke.poolUpdates[0].body, { count: 3 });
            await rc.waitReady(s.ns, "web", 5);
            rc.assertHealthy();
        }));

    test("a run after a failed drain carries on with the nodes it had cordoned", () =>
        withPool("again", 3, async (s) => {
            await rc.api.patch(`/api/v1/nodes/${s.nodes[0]}`, { spec: { unschedulable: true } });
            const r = await shrink(env(s, 2));
            assert.equal(r.code, 0, r.stderr);
            assert.deepEqual(await names(s), s.nodes.slice(1));
            assert.equal(s.lke.pool(s.poolId).count, 2);
            rc.assertHealthy();
        }));

    test("a budget that blocks the drain stops before any node is deleted; a pool at or below the count is left", () =>
        withPool(
            "blocked",
            3,
            async (s) => {
                const blocked = await shrink(env(s, 2, { K8SU_DRAIN_TIMEOUT_SECONDS: "3" }));
                assert.notEqual(blocked.code, 0);
                assert.match(blocked.stderr, /drain did not finish/);
                assert.deepEqual(await names(s), s.nodes);
                assert.equal(s.lke.pool(s.poolId).count, 3);
                assert.equal((await rc.node(s.nodes[2])).unschedulable, true, "the node to go stays cordoned");
                assert.equal(s.lke.lines().filter((l) => l.startsWith("DELETE ")).length, 0);
                const nothing = await shrink(env(s, 3));
                assert.equal(nothing.code, 0, nothing.stderr);
                assert.match(nothing.stderr, /no node to remove/);
                rc.assertHealthy();
            },
            { maxUnavailable: 0 },
        ));

    test("an API that refuses, denies or fails while the shrink runs stops it with the fault named; no node is deleted", async () => {
        const { pki } = rc.c;
        const cases: Array<{
            name: string;
            says: RegExp;
            linode?: LinodeFault;
            kubeconfig?: "wrongToken" | "restricted";
            kube500?: RegExp;
            extra?: Record<string, string>;
        }> = [
            { name: "k401", kubeconfig: "wrongToken", says: /provide credentials[\s\S]*the credentials were refused/ },
            { name: "k403", kubeconfig: "restricted", says: /forbidden[\s\S]*the credentials lack a permission/ },
            { name: "k500", kube500: /^GET \/api\/v1\/pods\?/, says: /InternalError[\s\S]*the API server failed/ },
            {
                name: "l500",
                linode: { match: /^DELETE /, kind: "500" },
                says: /Linode API DELETE \/lke\/clusters\/\d+\/nodes\/\S+ failed: .*500/,
            },
            {
                name: "lrefused",
                linode: { match: /^DELETE /, kind: "refused" },
                says: /Linode API DELETE .* failed: .*(Empty reply|refused|reset)[\s\S]*cannot be reached/,
            },
            {
                name: "lslow",
                linode: { match: /^GET /, kind: "slow", delayMs: 8000 },
                extra: { K8SU_REQUEST_TIMEOUT_SECONDS: "3" },
                says: /Linode API GET .* failed: .*timed out[\s\S]*no answer within 3s/,
            },
            { name: "ltoken", extra: { LINODE_TOKEN: "not-the-token" }, says: /failed: .*401.*check LINODE_TOKEN/ },
        ];
        // Every case runs to its end before the test reports, so that none outlives the control plane.
        const outcomes = await Promise.allSettled(
            cases.map((c) =>
                withPool(c.name, 3, async (s) => {
                    let proxy: FaultProxy | undefined;
                    let kubeconfig = rc.kubeconfig(c.kubeconfig);
                    if (c.kube500) {
                        proxy = new FaultProxy(rc.c.state.server, {
                            cert: pki.serverCert,
                            key: pki.serverKey,
                            ca: pki.caCert,
                        });
                        proxy.inject({ match: c.kube500, status: 500 });
                        kubeconfig = rc.kubeconfigFor(await proxy.start());
                    }
                    if (c.linode) s.lke.inject(c.linode);
                    try {
                        const r = await shrink(env(s, 2, { K8SU_KUBECONFIG: kubeconfig, ...c.extra }));
                        assert.notEqual(r.code, 0, `${c.name}: the shrink must fail`);
                        assert.match(r.stderr, c.says, `${c.name}: ${r.stderr}`);
                        assert.deepEqual(s.lke.gone, [], `${c.name}: no node deleted`);
                        assert.deepEqual(await names(s), s.nodes, `${c.name}: every node stays`);
                        assert.equal(s.lke.pool(s.poolId).count, 3, `${c.name}: the count stays`);
                    } finally {
                        await proxy?.stop();
                    }
                }),
            ),
        );
        const failed = outcomes.flatMap((o) => (o.status === "rejected" ? [o.reason] : []));
        if (failed.length > 0) throw failed[0];
        rc.assertHealthy();
    });
});
