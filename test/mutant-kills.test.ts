// Tests that kill survivors of the shell mutation runner (`npm run mutants:scripts`): each is named after the
// mutant it kills (script, line content, operator) and runs the real script with the real kubectl against the
// test API server. The runner runs this file first for every script but the kubeadm node scripts, whose
// survivors are killed in test/kubeadm-scripts.test.ts.

import * as assert from "node:assert/strict";
import { describe, test } from "node:test";
import { KubeApiFixture } from "./fixture/kube-api";
import { runScript } from "./fixture/run-script";

const KUBECTL = "1.31";
const drainEnv = {
    K8SU_CLUSTER: "apps",
    K8SU_BATCH_SIZE: "1",
    K8SU_SOAK_SECONDS: "0",
    K8SU_GRACE_SECONDS: "",
    K8SU_DRAIN_TIMEOUT_SECONDS: "30",
    K8SU_DELETE_EMPTYDIR_DATA: "false",
    K8SU_SELECTOR: "pool=blue",
    K8SU_MIN_READY_ELSEWHERE: "1",
};

async function withFixture(body: (f: KubeApiFixture) => Promise<void>) {
    const f = new KubeApiFixture("1.31.4");
    await f.start();
    try {
        f.addNode("blue-1", { labels: { pool: "blue" }, kubeletVersion: "1.30.9" });
        for (const n of ["green-1", "green-2"]) f.addNode(n, { labels: { pool: "green" } });
        f.addReplicaSet("default", "web", 2, ["blue-1", "green-1"]);
        await body(f);
    } finally {
        await f.stop();
    }
}

describe("mutants killed", { concurrency: true }, () => {
    // drain.sh checks its variables before anything else. Without that line, a drain started without
    // K8SU_DELETE_EMPTYDIR_DATA (which no integer check covers) would cordon the pool and only then stop on an
    // unbound variable, leaving cordoned nodes behind for a mistake in its own inputs.
    for (const missing of ["K8SU_DELETE_EMPTYDIR_DATA", "K8SU_SELECTOR", "K8SU_MIN_READY_ELSEWHERE"])
        test(`mutant drain.sh \`require_env …\` dropped: a drain without ${missing} is refused before any API call`, () =>
            withFixture(async (f) => {
                const env: Record<string, string> = { K8SU_KUBECONFIG: f.kubeconfig(), ...drainEnv };
                delete env[missing];
                const r = await runScript("drain", env, KUBECTL, { killAfterMs: 60_000 });
                assert.notEqual(r.code, 0);
                assert.match(r.stderr, new RegExp(`environment variable ${missing} is not set`));
                assert.deepEqual(f.requests, [], "the drain talked to the cluster before checking its inputs");
                assert.equal(f.nodes.get("blue-1")!.unschedulable, false);
            }));

    // wait-ready.sh checks its variables first. Without that line, an empty K8SU_SELECTOR (a pool whose label the
    // program failed to render) would select every node: the Ready nodes of other pools at the target minor then
    // count for the new pool, and the wait passes for a pool that has no Ready node at all.
    test("mutant wait-ready.sh `require_env …` dropped: an empty selector is refused, not read as every node", () =>
        withFixture(async (f) => {
            // green-1 and green-2 run the target minor and are Ready; blue-1 runs the one before.
            const env = {
                K8SU_KUBECONFIG: f.kubeconfig(),
                K8SU_SELECTOR: "",
                K8SU_EXPECTED_NODES: "2",
                K8SU_TARGET_MINOR: "1.31",
                K8SU_TIMEOUT_SECONDS: "5",
                K8SU_POLL_SECONDS: "1",
            };
            const r = await runScript("wait-ready", env, KUBECTL, { killAfterMs: 60_000 });
            assert.notEqual(r.code, 0, "a wait over every node passed");
            assert.match(r.stderr, /environment variable K8SU_SELECTOR is not set/);
            assert.deepEqual(f.requests, [], "the wait talked to the cluster before checking its inputs");
        }));

    // lke-in-place.sh waits for LKE to delete the old node, polling every K8SU_POLL_SECONDS. Without the pause,
    // the wait is a busy loop of node lists against the API server for as long as the delete takes.
    test("mutant lke-in-place.sh `pause` dropped from the wait for a deleted node: the wait polls every K8SU_POLL_SECONDS, it does not spin", async () => {
        const f = new KubeApiFixture("1.31.1");
        await f.start();
        try {
            f.servedVersion = "1.31.1";
            f.timing = { ...f.timing, nodeReadyMs: 150, linodeDeleteMs: 8000 };
            const nodes = f.addLkePool(21, 1, "1.30.9");
            f.addReplicaSet("default", "web", 1, nodes);
            const r = await runScript(
                "lke-in-place",
                {
                    K8SU_KUBECONFIG: f.kubeconfig(),
                    LINODE_API_URL: f.linodeUrl(),
                    LINODE_TOKEN: f.linodeToken,
                    K8SU_LKE_CLUSTER_ID: String(f.clusterId),
                    K8SU_LKE_POOL_ID: "21",
                    K8SU_POOL_COUNT: "1",
                    K8SU_TARGET_MINOR: "1.31",
                    K8SU_READY_TIMEOUT_SECONDS: "60",
                    K8SU_GRACE_SECONDS: "",
                    K8SU_DRAIN_TIMEOUT_SECONDS: "60",
                    K8SU_DELETE_EMPTYDIR_DATA: "false",
                    K8SU_CURL_RETRIES: "0",
                    K8SU_POLL_SECONDS: "4",
                },
                KUBECTL,
                { killAfterMs: 120_000 },
            );
            assert.equal(r.code, 0, r.stderr);
            // From LKE's delete of the old node on: about one node list every 4 s while the 8 s delete runs.
            const from = f.requests.findIndex((q) => /^DELETE \/v4\/lke\/clusters\/\d+\/nodes\//.test(q));
            assert.ok(from > 0, "the old node was never deleted through the LKE API");
            const lists = f.requests.slice(from).filter((q) => q.startsWith("GET /api/v1/nodes?")).length;
            assert.ok(lists <= 6, `${lists} node lists in the 8 s wait: it did not pause between polls`);
        } finally {
            await f.stop();
        }
    });

    // validate.sh reads one selector per line and skips blank lines. Without the skip, a blank line becomes an
    // empty selector, which lists every node of the cluster and fails the validation on nodes of other pools.
    test('mutant validate.sh `[ -n "$selector" ] || continue` dropped: a blank line among the selectors selects nothing', () =>
        withFixture(async (f) => {
            f.nodes.get("blue-1")!.unschedulable = true;
            for (const n of ["green-1", "green-2"]) f.nodes.get(n)!.kubeletVersion = "1.31.4";
            const r = await runScript(
                "validate",
                {
                    K8SU_KUBECONFIG: f.kubeconfig(),
                    K8SU_TARGET_MINOR: "1.31",
                    K8SU_SELECTORS: "pool=green\n\npool=green\n",
                },
                KUBECTL,
                { killAfterMs: 60_000 },
            );
            assert.equal(r.code, 0, r.stderr);
            assert.doesNotMatch(r.stderr, /blue-1/);
        }));

    // cordon_nodes reads spec.unschedulable from the patch's answer, because `kubectl cordon` exits 0 even when the
    // API refused the patch. An answer without the field (an admission webhook that dropped it) is no cordon.
    test("mutant lib.sh cordon check loosened: a cordon patch answered with spec.unschedulable unset is not read as cordoned", () =>
        withFixture(async (f) => {
            f.patchDropsUnschedulable = true;
            const r = await runScript(
                "cordon",
                { K8SU_KUBECONFIG: f.kubeconfig(), K8SU_SELECTORS: "pool=blue" },
                KUBECTL,
                { killAfterMs: 60_000 },
            );
            assert.equal(r.code, 1, r.stderr);
            assert.match(r.stderr, /node blue-1 is not cordoned after the patch \(spec\.unschedulable is 'unset'\)/);
            assert.doesNotMatch(r.stderr, /cordoned blue-1/);
        }));

    // lke-in-place.sh waits for the surge node to be Ready at the target before it takes the first old node out:
    // until then the pool has one node fewer than it should, and an old node would be drained onto nothing new.
    test("mutant lke-in-place.sh surge wait dropped: the first old node is cordoned only once the surge node is Ready at the target", async () => {
        const f = new KubeApiFixture("1.31.1");
        await f.start();
        try {
            f.servedVersion = "1.31.1";
            // The surge node takes a while to become Ready; the drain must wait for it, not for a clock.
            f.timing = { ...f.timing, nodeReadyMs: 1500, linodeDeleteMs: 150 };
            const nodes = f.addLkePool(21, 2, "1.30.9");
            f.addReplicaSet("default", "web", 2, nodes);
            let readyAtFirstCordon: number | undefined;
            f.onChange(() => {
                if (readyAtFirstCordon === undefined && f.events.some((e) => e.kind === "cordoned"))
                    readyAtFirstCordon = f
                        .lkeNodes(21)
                        .filter((n) => n.ready && n.kubeletVersion.startsWith("1.31.")).length;
            });
            const r = await runScript(
                "lke-in-place",
                {
                    K8SU_KUBECONFIG: f.kubeconfig(),
                    LINODE_API_URL: f.linodeUrl(),
                    LINODE_TOKEN: f.linodeToken,
                    K8SU_LKE_CLUSTER_ID: String(f.clusterId),
                    K8SU_LKE_POOL_ID: "21",
                    K8SU_POOL_COUNT: "2",
                    K8SU_TARGET_MINOR: "1.31",
                    K8SU_READY_TIMEOUT_SECONDS: "120",
                    K8SU_GRACE_SECONDS: "",
                    K8SU_DRAIN_TIMEOUT_SECONDS: "120",
                    K8SU_DELETE_EMPTYDIR_DATA: "false",
                    K8SU_CURL_RETRIES: "0",
                    K8SU_POLL_SECONDS: "0.2",
                },
                KUBECTL,
                { killAfterMs: 180_000 },
            );
            assert.equal(r.code, 0, r.stderr);
            assert.equal(
                readyAtFirstCordon,
                1,
                "the first old node was cordoned before the surge node was Ready at 1.31",
            );
        } finally {
            await f.stop();
        }
    });
});
