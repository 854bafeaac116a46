// Tests that kill survivors of the shell mutation runner (`npm run mutants:scripts`): each is named after the
// mutant it kills (script, line content, operator) and runs the real script with the real kubectl against the real
// control plane (test/fixture/real-cluster.ts); the LKE ones against the Linode API stand-in whose pools are its
// kwok Nodes (test/fixture/linode-api.ts). Where a test must see every request a script makes, the script talks to
// the apiserver through a recording proxy (test/fixture/fault-proxy.ts, with no fault). The runner runs this file
// first of the real-cluster files for every script but the kubeadm node scripts, whose survivors are killed in
// test/kubeadm-scripts.test.ts.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as https from "node:https";
import type { AddressInfo } from "node:net";
import { after, describe, test } from "node:test";
import { type KubeApi, watch } from "../tools/cluster/api";
import { usable } from "../tools/cluster/cluster";
import { FaultProxy } from "./fixture/fault-proxy";
import { LinodeApi, POOL_LABEL } from "./fixture/linode-api";
import { KUBECTL_FOR_SERVER, realCluster, sleep } from "./fixture/real-cluster";
import { runScript } from "./fixture/run-script";

const rc = realCluster("mutants");

const drainEnv = {
    K8SU_CLUSTER: "apps",
    K8SU_BATCH_SIZE: "1",
    K8SU_SOAK_SECONDS: "0",
    K8SU_GRACE_SECONDS: "",
    K8SU_DRAIN_TIMEOUT_SECONDS: "30",
    K8SU_DELETE_EMPTYDIR_DATA: "false",
    K8SU_MIN_READY_ELSEWHERE: "1",
};

/** The minor the real apiserver serves (the target) and a kubelet version one minor before it. */
function versions(): { target: string; oldKubelet: string } {
    const [major, minor] = rc.c.state.version.slice(1).split(".");
    return { target: `${major}.${minor}`, oldKubelet: `v${major}.${Number(minor) - 1}.7` };
}

/** Nodes <id>-blue-1 (one minor behind) and <id>-green-1, -2 (at the target), labelled pool=<id>-<colour>, test=<id>. */
async function bluesAndGreens(id: string): Promise<void> {
    await rc.nodes([
        { name: `${id}-blue-1`, labels: { pool: `${id}-blue`, test: id }, kubeletVersion: versions().oldKubelet },
        { name: `${id}-green-1`, labels: { pool: `${id}-green`, test: id } },
        { name: `${id}-green-2`, labels: { pool: `${id}-green`, test: id } },
    ]);
}

const proxies: FaultProxy[] = [];
after(() => Promise.all(proxies.map((p) => p.stop())));

/** A proxy in front of the apiserver that records every request (no fault); its kubeconfig. */
async function recorder(): Promise<{ proxy: FaultProxy; kubeconfig: string }> {
    const { pki } = rc.c;
    const proxy = new FaultProxy(rc.c.state.server, { cert: pki.serverCert, key: pki.serverKey, ca: pki.caCert });
    proxies.push(proxy);
    return { proxy, kubeconfig: rc.kubeconfigFor(await proxy.start()) };
}

function lkeEnv(lke: LinodeApi, poolId: number, kubeconfig: string): Record<string, string> {
    return {
        K8SU_KUBECONFIG: kubeconfig,
        LINODE_API_URL: lke.url,
        LINODE_TOKEN: lke.token,
        K8SU_LKE_CLUSTER_ID: String(lke.clusterId),
        K8SU_LKE_POOL_ID: String(poolId),
        K8SU_POOL_COUNT: "1",
        K8SU_TARGET_MINOR: versions().target,
        K8SU_READY_TIMEOUT_SECONDS: "120",
        K8SU_GRACE_SECONDS: "",
        K8SU_DRAIN_TIMEOUT_SECONDS: "120",
        K8SU_DELETE_EMPTYDIR_DATA: "false",
        K8SU_CURL_RETRIES: "0",
    };
}

/**
 * A mutating admission webhook (served here, called by the real apiserver) that drops spec.unschedulable from every
 * update of the nodes labelled test=<id>, as a misbehaving admission webhook would; active once this returns.
 */
async function dropUnschedulable(api: KubeApi, id: string, probeNode: string): Promise<{ stop(): Promise<void> }> {
    const { pki } = rc.c;
    const server = https.createServer(
        { cert: fs.readFileSync(pki.serverCert), key: fs.readFileSync(pki.serverKey) },
        (req, res) => {
            let raw = "";
            req.on("data", (d) => {
                raw += d;
            });
            req.on("end", () => {
                const review = JSON.parse(raw) as {
                    request: { uid: string; object?: { spec?: { unschedulable?: boolean } } };
                };
                const drop = review.request.object?.spec?.unschedulable !== undefined;
                const patch = Buffer.from(JSON.stringify([{ op: "remove", path: "/spec/unschedulable" }]));
                res.writeHead(200, { "Content-Type": "application/json" });
                res.end(
                    JSON.stringify({
                        apiVersion: "admission.k8s.io/v1",
                        kind: "AdmissionReview",
                        response: {
                            uid: review.request.uid,
                            allowed: true,
                            ...(drop ? { patchType: "JSONPatch", patch: patch.toString("base64") } : {}),
                        },
                    }),
                );
            });
        },
    );
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    const name = `k8su-drop-unschedulable-${id}`;
    const configs = "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations";
    await api.create(configs, {
        metadata: { name },
        webhooks: [
            {
                name: "drop-unschedulable.k8s-upgrades.test",
                clientConfig: {
                    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}/mutate`,
                    caBundle: fs.readFileSync(pki.caCert).toString("base64"),
                },
                rules: [
                    { operations: ["UPDATE"], apiGroups: [""], apiVersions: ["v1"], resources: ["nodes"], scope: "*" },
                ],
                objectSelector: { matchLabels: { test: id } },
                sideEffects: "None",
                admissionReviewVersions: ["v1"],
                failurePolicy: "Fail",
                timeoutSeconds: 5,
            },
        ],
    });
    const stop = async () => {
        await api.request("DELETE", `${configs}/${name}`);
        server.closeAllConnections();
        await new Promise<void>((r) => server.close(() => r()));
    };
    // The apiserver picks the configuration up a moment later: probe until a cordon comes back without the field.
    try {
        const until = Date.now() + 60_000;
        for (;;) {
            const answer = (await api.patch(`/api/v1/nodes/${probeNode}`, { spec: { unschedulable: true } })) as {
                spec?: { unschedulable?: boolean };
            };
            if (answer.spec?.unschedulable === undefined) break;
            if (Date.now() > until) throw new Error("the webhook never took effect");
            await sleep(250);
        }
    } catch (err) {
        await stop();
        throw err;
    }
    return { stop };
}

describe("mutants killed", { concurrency: true }, () => {
    // drain.sh checks its variables before anything else. Without that line, a drain started without
    // K8SU_DELETE_EMPTYDIR_DATA (which no integer check covers) would cordon the pool and only then stop on an
    // unbound variable, leaving cordoned nodes behind for a mistake in its own inputs.
    for (const [i, missing] of ["K8SU_DELETE_EMPTYDIR_DATA", "K8SU_SELECTOR", "K8SU_MIN_READY_ELSEWHERE"].entries())
        test(`mutant drain.sh \`require_env …\` dropped: a drain without ${missing} is refused before any API call`, async () => {
            const id = `env${i}`;
            await bluesAndGreens(id);
            const { proxy, kubeconfig } = await recorder();
            const env: Record<string, string> = {
                K8SU_KUBECONFIG: kubeconfig,
                ...drainEnv,
                K8SU_SELECTOR: `pool=${id}-blue`,
            };
            delete env[missing];
            const r = await runScript("drain", env, KUBECTL_FOR_SERVER, { killAfterMs: 60_000 });
            assert.notEqual(r.code, 0);
            assert.match(r.stderr, new RegExp(`environment variable ${missing} is not set`));
            assert.deepEqual(proxy.requests, [], "the drain talked to the cluster before checking its inputs");
            assert.equal((await rc.node(`${id}-blue-1`)).unschedulable, false);
            rc.assertHealthy();
        });

    // wait-ready.sh checks its variables first. Without that line, an empty K8SU_SELECTOR (a pool whose label the
    // program failed to render) would select every node: the Ready nodes of other pools at the target minor then
    // count for the new pool, and the wait passes for a pool that has no Ready node at all.
    test("mutant wait-ready.sh `require_env …` dropped: an empty selector is refused, not read as every node", async () => {
        // wr-green-1 and wr-green-2 run the target minor and are Ready; wr-blue-1 runs the one before.
        await bluesAndGreens("wr");
        const { proxy, kubeconfig } = await recorder();
        const env = {
            K8SU_KUBECONFIG: kubeconfig,
            K8SU_SELECTOR: "",
            K8SU_EXPECTED_NODES: "2",
            K8SU_TARGET_MINOR: versions().target,
            K8SU_TIMEOUT_SECONDS: "5",
            K8SU_POLL_SECONDS: "1",
        };
        const r = await runScript("wait-ready", env, KUBECTL_FOR_SERVER, { killAfterMs: 60_000 });
        assert.notEqual(r.code, 0, "a wait over every node passed");
        assert.match(r.stderr, /environment variable K8SU_SELECTOR is not set/);
        assert.deepEqual(proxy.requests, [], "the wait talked to the cluster before checking its inputs");
        rc.assertHealthy();
    });

    // lke-in-place.sh waits for LKE to delete the old node, polling every K8SU_POLL_SECONDS. Without the pause,
    // the wait is a busy loop of node lists against the API server for as long as the delete takes.
    test("mutant lke-in-place.sh `pause` dropped from the wait for a deleted node: the wait polls every K8SU_POLL_SECONDS, it does not spin", async () => {
        const lke = new LinodeApi(rc.api, {
            clusterId: 4301,
            k8sVersion: versions().target,
            timing: { joinMs: 500, deleteMs: 12_000 },
        });
        try {
            await lke.start();
            const ns = await rc.namespace("pause");
            await lke.addPool({ id: 81, count: 1, kubeletVersion: versions().oldKubelet, labels: { test: "pause" } });
            await rc.deployment(ns, "web", { nodeSelector: { test: "pause" }, replicas: 1, exitAfter: "1s" });
            await rc.waitReady(ns, "web", 1);
            const { proxy, kubeconfig } = await recorder();
            // The requests the script made between LKE's answer to the delete and the Node's actual deletion.
            let from = -1;
            let to = -1;
            lke.onCall = (c) => {
                if (c.method === "DELETE") from = proxy.requests.length;
            };
            lke.onNodeGone = () => {
                to = proxy.requests.length;
            };
            const r = await runScript(
                "lke-in-place",
                { ...lkeEnv(lke, 81, kubeconfig), K8SU_POLL_SECONDS: "4" },
                KUBECTL_FOR_SERVER,
                { killAfterMs: 180_000 },
            );
            assert.equal(r.code, 0, r.stderr);
            assert.ok(from > 0 && to > from, "the old node was never deleted through the LKE API");
            // About one node list every 4 s while the 12 s delete runs.
            const lists = proxy.requests.slice(from, to).filter((q) => q.startsWith("GET /api/v1/nodes?")).length;
            assert.ok(lists >= 1, "the wait never looked");
            assert.ok(lists <= 5, `${lists} node lists in the 12 s wait: it did not pause between polls`);
            assert.deepEqual(lke.errors, []);
        } finally {
            await lke.close();
        }
        rc.assertHealthy();
    });

    // validate.sh reads one selector per line and skips blank lines. Without the skip, a blank line becomes an
    // empty selector, which lists every node of the cluster and fails the validation on nodes of other pools.
    test('mutant validate.sh `[ -n "$selector" ] || continue` dropped: a blank line among the selectors selects nothing', async () => {
        await bluesAndGreens("val");
        await rc.api.patch("/api/v1/nodes/val-blue-1", { spec: { unschedulable: true } });
        const r = await runScript(
            "validate",
            {
                K8SU_KUBECONFIG: rc.kubeconfig(),
                K8SU_TARGET_MINOR: versions().target,
                K8SU_SELECTORS: "pool=val-green\n\npool=val-green\n",
            },
            KUBECTL_FOR_SERVER,
            { killAfterMs: 60_000 },
        );
        assert.equal(r.code, 0, r.stderr);
        assert.doesNotMatch(r.stderr, /val-blue-1/);
        rc.assertHealthy();
    });

    // cordon_nodes reads spec.unschedulable from the patch's answer, because `kubectl cordon` exits 0 even when the
    // API refused the patch. An answer without the field (an admission webhook that dropped it) is no cordon.
    test("mutant lib.sh cordon check loosened: a cordon patch answered with spec.unschedulable unset is not read as cordoned", async () => {
        await bluesAndGreens("hook");
        const webhook = await dropUnschedulable(rc.api, "hook", "hook-blue-1");
        try {
            const r = await runScript(
                "cordon",
                { K8SU_KUBECONFIG: rc.kubeconfig(), K8SU_SELECTORS: "pool=hook-blue" },
                KUBECTL_FOR_SERVER,
                { killAfterMs: 60_000 },
            );
            assert.equal(r.code, 1, r.stderr);
            assert.match(
                r.stderr,
                /node hook-blue-1 is not cordoned after the patch \(spec\.unschedulable is 'unset'\)/,
            );
            assert.doesNotMatch(r.stderr, /cordoned hook-blue-1/);
            assert.equal((await rc.node("hook-blue-1")).unschedulable, false, "the webhook really dropped it");
        } finally {
            await webhook.stop();
        }
        rc.assertHealthy();
    });

    // lke-in-place.sh waits for the surge node to be Ready at the target before it takes the first old node out:
    // until then the pool has one node fewer than it should, and an old node would be drained onto nothing new.
    test("mutant lke-in-place.sh surge wait dropped: the first old node is cordoned only once the surge node is Ready at the target", async () => {
        // The surge node registers a while after the pool grows; the drain must wait for it, not for a clock.
        const lke = new LinodeApi(rc.api, {
            clusterId: 4302,
            k8sVersion: versions().target,
            timing: { joinMs: 5000, deleteMs: 500 },
        });
        const seen = new Map<
            string,
            Parameters<typeof usable>[0] & { status?: { nodeInfo?: { kubeletVersion?: string } } }
        >();
        let readyAtFirstCordon: number | undefined;
        const nodeWatch = await watch(
            rc.api,
            `/api/v1/nodes?labelSelector=${encodeURIComponent(`${POOL_LABEL}=82`)}`,
            (e) => {
                const n = e.object as { metadata: { name: string }; spec?: { unschedulable?: boolean } };
                if (e.type === "DELETED") seen.delete(n.metadata.name);
                else if (e.type === "ADDED" || e.type === "MODIFIED") seen.set(n.metadata.name, n as never);
                if (readyAtFirstCordon === undefined && e.type === "MODIFIED" && n.spec?.unschedulable)
                    readyAtFirstCordon = [...seen.values()].filter(
                        (x) => usable(x) && x.status?.nodeInfo?.kubeletVersion?.startsWith(`v${versions().target}.`),
                    ).length;
            },
        );
        try {
            await lke.start();
            const ns = await rc.namespace("surge");
            await lke.addPool({ id: 82, count: 2, kubeletVersion: versions().oldKubelet, labels: { test: "surge" } });
            await rc.deployment(ns, "web", { nodeSelector: { test: "surge" }, replicas: 2, exitAfter: "1s" });
            await rc.waitReady(ns, "web", 2);
            const r = await runScript(
                "lke-in-place",
                { ...lkeEnv(lke, 82, rc.kubeconfig()), K8SU_POOL_COUNT: "2", K8SU_POLL_SECONDS: "0.2" },
                KUBECTL_FOR_SERVER,
                { killAfterMs: 240_000 },
            );
            assert.equal(r.code, 0, r.stderr);
            assert.equal(
                readyAtFirstCordon,
                1,
                `the first old node was cordoned before the surge node was Ready at ${versions().target}`,
            );
            assert.deepEqual(lke.errors, []);
        } finally {
            nodeWatch.stop();
            await lke.close();
        }
        rc.assertHealthy();
    });
});
