// The LKE scripts (control plane, in-place, pool recycle) against a stand-in for the Linode API whose pools are real
// kwok Nodes of the real control plane (test/fixture/linode-api.ts): the scripts' kubectl meets the real apiserver,
// eviction subresource, disruption controller, scheduler and node-lifecycle controller, and their curl meets the
// stand-in. One control plane for the file; each test has its own Linode cluster id, pool ids, namespace and
// workloads (selecting the pool's `test` label), so the tests run side by side.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, test } from "node:test";
import { ANCHOR_TAINT } from "../components/lke/cluster";
import { usable } from "../tools/cluster/cluster";
import { freePort } from "../tools/cluster/control-plane";
import { type Autoscaler, LinodeApi, type LinodeOptions, POOL_LABEL, ServedVersionFront } from "./fixture/linode-api";
import { KUBECTL_FOR_SERVER, realCluster, sleep } from "./fixture/real-cluster";
import { type RunOptions, runScript } from "./fixture/run-script";

const rc = realCluster("lke");

let nextClusterId = 4242;

/** The minor the real apiserver serves (the target) and the one before it (the old pools' kubelets). */
function versions(): { target: string; old: string; oldKubelet: string } {
    const [major, minor] = rc.c.state.version.slice(1).split(".");
    const old = `${major}.${Number(minor) - 1}`;
    return { target: `${major}.${minor}`, old, oldKubelet: `v${old}.7` };
}

async function withLke(opts: Partial<LinodeOptions>, body: (lke: LinodeApi) => Promise<void>): Promise<void> {
    const lke = new LinodeApi(rc.api, { clusterId: nextClusterId++, k8sVersion: versions().target, ...opts });
    await lke.start();
    try {
        await body(lke);
        assert.deepEqual(lke.errors, [], "the stand-in's own work failed");
    } finally {
        await lke.close();
    }
}

function run(kind: Parameters<typeof runScript>[0], env: Record<string, string>, opts: RunOptions = {}) {
    return runScript(kind, { K8SU_KUBECONFIG: rc.kubeconfig(), K8SU_POLL_SECONDS: "0.5", ...env }, KUBECTL_FOR_SERVER, {
        killAfterMs: 600_000,
        ...opts,
    });
}

const lkeEnv = (lke: LinodeApi) => ({
    LINODE_API_URL: lke.url,
    LINODE_TOKEN: lke.token,
    K8SU_LKE_CLUSTER_ID: String(lke.clusterId),
    K8SU_CURL_RETRIES: "0",
});

const inPlaceEnv = (lke: LinodeApi, pool: number) => ({
    ...lkeEnv(lke),
    K8SU_LKE_POOL_ID: String(pool),
    K8SU_POOL_COUNT: "3",
    K8SU_AUTOSCALER_MIN: "3",
    K8SU_AUTOSCALER_MAX: "6",
    K8SU_TARGET_MINOR: versions().target,
    K8SU_READY_TIMEOUT_SECONDS: "180",
    K8SU_GRACE_SECONDS: "",
    K8SU_DRAIN_TIMEOUT_SECONDS: "180",
    K8SU_DELETE_EMPTYDIR_DATA: "false",
});

/**
 * An LKE pool at the old minor carrying a DaemonSet and `replicas` web pods (one may be down: maxUnavailable 1),
 * all selecting the pool's label test=<id>; returns the namespace and the pool's first nodes.
 */
async function workloadPool(
    lke: LinodeApi,
    id: string,
    poolId: number,
    count: number,
    replicas: number,
    autoscaler?: Autoscaler,
): Promise<{ ns: string; first: string[] }> {
    const ns = await rc.namespace(id);
    const first = await lke.addPool({
        id: poolId,
        count,
        kubeletVersion: versions().oldKubelet,
        autoscaler,
        labels: { test: id },
    });
    await rc.daemonSet(ns, "agent", { nodeSelector: { test: id } });
    await rc.deployment(ns, "web", { nodeSelector: { test: id }, replicas, exitAfter: "1s" });
    await rc.pdb(ns, "web", { maxUnavailable: 1 });
    await rc.waitReady(ns, "web", replicas);
    return { ns, first };
}

/** Samples the pool's schedulable nodes (Ready, untainted, uncordoned) and the Ready web pods; keeps the fewest. */
function sampleCapacity(
    poolId: number,
    ns: string,
): { stop(): Promise<{ nodes: number; pods: number; samples: number }> } {
    const fewest = { nodes: Number.POSITIVE_INFINITY, pods: Number.POSITIVE_INFINITY, samples: 0 };
    let running = true;
    const loop = (async () => {
        while (running) {
            const nodes = await rc.api.get<{ items: Array<Parameters<typeof usable>[0]> }>(
                `/api/v1/nodes?labelSelector=${encodeURIComponent(`${POOL_LABEL}=${poolId}`)}`,
            );
            const schedulable = nodes.items.filter(
                (n) => usable(n) && !(n.spec as { unschedulable?: boolean } | undefined)?.unschedulable,
            ).length;
            const pods = (await rc.pods(ns, "app=web")).filter((p) => p.ready && !p.terminating).length;
            fewest.nodes = Math.min(fewest.nodes, schedulable);
            fewest.pods = Math.min(fewest.pods, pods);
            fewest.samples++;
            await sleep(250);
        }
    })();
    return {
        async stop() {
            running = false;
            await loop;
            return fewest;
        },
    };
}

/** A one-node anchor pool at the old minor, tainted as the program taints it; returns its node. */
async function anchorPool(lke: LinodeApi, id: number, test: string): Promise<string> {
    const [node] = await lke.addPool({
        id,
        count: 1,
        kubeletVersion: versions().oldKubelet,
        labels: { "k8s-upgrades/role": "anchor", test },
        taints: [ANCHOR_TAINT],
    });
    return node;
}

const minorOf = (v: string) => v.replace(/^v?(\d+\.\d+).*$/, "$1");
const lostPods = (lke: LinodeApi) => lke.gone.filter((g) => g.pods.length > 0);

describe("LKE scripts against the Linode API stand-in and the real control plane", { concurrency: true }, () => {
    test("LKE control plane: one PUT with the next minor, then waits until it is served; a second run calls nothing", () =>
        withLke({ k8sVersion: versions().old, timing: { controlPlaneMs: 8000 } }, async (lke) => {
            const { target, old } = versions();
            const { pki } = rc.c;
            const front = new ServedVersionFront(
                rc.c.state.server,
                { cert: pki.serverCert, key: pki.serverKey, ca: pki.caCert },
                lke,
            );
            const frontUrl = await front.start();
            try {
                const env = {
                    ...lkeEnv(lke),
                    K8SU_KUBECONFIG: rc.kubeconfigFor(frontUrl),
                    K8SU_TARGET_MINOR: target,
                    K8SU_TIMEOUT_SECONDS: "120",
                };
                const cluster = `/v4/lke/clusters/${lke.clusterId}`;
                const r = await run("lke-control-plane", env);
                assert.equal(r.code, 0, r.stderr);
                assert.match(r.stderr, new RegExp(`control plane ${old} -> ${target}`.replace(/\./g, "\\.")));
                assert.match(r.stderr, new RegExp(`API server serves ${rc.c.state.version.replace(/\./g, "\\.")}`));
                const puts = lke.calls.filter((c) => c.line === `PUT ${cluster}`);
                assert.equal(puts.length, 1);
                assert.deepEqual(puts[0].body, { k8s_version: target });
                // It waited: the control plane still answered the old minor after the PUT, and the script went on
                // only once it served the target.
                const afterPut = front.versions.filter((v) => v.at >= puts[0].at);
                assert.ok(
                    afterPut.some((v) => minorOf(v.gitVersion) === old),
                    `no /version answer at ${old} after the PUT: ${JSON.stringify(front.versions)}`,
                );
                assert.equal(minorOf(afterPut[afterPut.length - 1].gitVersion), target);
                const before = lke.calls.length;
                const again = await run("lke-control-plane", env);
                assert.equal(again.code, 0, again.stderr);
                assert.match(again.stderr, new RegExp(`already runs ${target.replace(".", "\\.")}`));
                assert.deepEqual(lke.lines().slice(before), [`GET ${cluster}`], "the second run only read the cluster");
                const wrongToken = await run("lke-control-plane", { ...env, LINODE_TOKEN: "nope-not-the-token" });
                assert.equal(wrongToken.code, 1);
                assert.match(
                    wrongToken.stderr,
                    new RegExp(`Linode API GET /lke/clusters/${lke.clusterId} failed: .*401.*check LINODE_TOKEN`),
                );
                assert.doesNotMatch(
                    wrongToken.stderr + wrongToken.stdout,
                    new RegExp(`nope-not-the-token|${lke.token}`),
                    "the token is never printed",
                );
            } finally {
                await front.stop();
            }
            rc.assertHealthy();
        }));

    test("LKE in-place: surge one node, move old nodes one at a time, delete the last, restore count and autoscaler; capacity never below the start", () =>
        withLke({ timing: { joinMs: 1500, deleteMs: 1500 } }, async (lke) => {
            const { target } = versions();
            const { ns, first } = await workloadPool(lke, "inplace", 21, 3, 6, { enabled: true, min: 3, max: 6 });
            const capacity = sampleCapacity(21, ns);
            const r = await run("lke-in-place", inPlaceEnv(lke, 21));
            const fewest = await capacity.stop();
            assert.equal(r.code, 0, r.stderr);
            const pool = lke.pool(21);
            assert.equal(pool.count, 3);
            assert.deepEqual(pool.autoscaler, { enabled: true, min: 3, max: 6 });
            const nodes = await lke.nodesOf(21);
            assert.deepEqual(
                nodes.map((n) => minorOf(n.version)),
                [target, target, target],
            );
            assert.ok(!nodes.some((n) => first.includes(n.name)), "every old node has left the cluster");
            // The order of the calls: the surge first, then one recycle per old node but the last, then its delete.
            const poolPath = `/v4/lke/clusters/${lke.clusterId}/pools/21`;
            const lines = lke.lines();
            const surge = lines.indexOf(`PUT ${poolPath}`);
            const recycles = lines.flatMap((l, i) => (/^POST .*\/nodes\/[^/]+\/recycle$/.test(l) ? [i] : []));
            const deletes = lines.flatMap((l, i) => (/^DELETE .*\/nodes\//.test(l) ? [i] : []));
            assert.equal(recycles.length, 2);
            assert.equal(deletes.length, 1);
            assert.ok(surge >= 0 && surge < recycles[0], `the surge came first: ${lines.join(", ")}`);
            assert.ok(recycles[1] < deletes[0]);
            assert.deepEqual(
                lke.poolUpdates.map((u) => u.body.count),
                [4, undefined, undefined],
                "one surge to 4; then only the autoscaler changed",
            );
            assert.deepEqual(lostPods(lke), [], "no pod died with its node");
            assert.ok(fewest.samples > 0);
            assert.ok(fewest.nodes >= 3, `schedulable nodes fell to ${fewest.nodes}, below the 3 at the start`);
            assert.ok(fewest.pods >= 5, `Ready web pods fell to ${fewest.pods}; the budget allows one of 6 down`);
            await rc.waitReady(ns, "web", 6);
            const before = lke.calls.length;
            const again = await run("lke-in-place", inPlaceEnv(lke, 21));
            assert.equal(again.code, 0, again.stderr);
            assert.match(again.stderr, new RegExp(`every node of ${POOL_LABEL}=21 already runs ${target}`));
            assert.equal(
                lke
                    .lines()
                    .slice(before)
                    .filter((l) => /recycle|DELETE/.test(l)).length,
                0,
            );
            rc.assertHealthy();
        }));

    test("LKE pool recycle brings the anchor pool to the target", () =>
        withLke({ timing: { joinMs: 1000, deleteMs: 1000 } }, async (lke) => {
            const { target } = versions();
            const anchor = await anchorPool(lke, 31, "anchor");
            const r = await run("lke-recycle-pool", {
                ...lkeEnv(lke),
                K8SU_LKE_POOL_ID: "31",
                K8SU_POOL_COUNT: "1",
                K8SU_TARGET_MINOR: target,
                K8SU_READY_TIMEOUT_SECONDS: "120",
            });
            assert.equal(r.code, 0, r.stderr);
            assert.match(r.stderr, /recycling pool 31 \(1 of its 1 node\(s\) below/);
            const nodes = await lke.nodesOf(31);
            assert.equal(nodes.length, 1);
            assert.notEqual(nodes[0].name, anchor, "the anchor node was replaced");
            assert.equal(minorOf(nodes[0].version), target);
            assert.ok(nodes[0].usable);
            assert.equal(lke.lines().filter((l) => /^POST .*\/pools\/31\/recycle$/.test(l)).length, 1);
            assert.deepEqual(
                lke.gone.map((g) => g.node),
                [anchor],
            );
            rc.assertHealthy();
        }));

    test("bug: run again while LKE was still replacing a one-node pool, the recycle stopped with 'no nodes match … check the kubeconfig' — it waits for the replacement to register and recycles nothing again", () =>
        // The replacement registers 30 s after the old node goes: both re-runs below start inside that window.
        withLke({ timing: { joinMs: 30_000, deleteMs: 1000 } }, async (lke) => {
            const { target } = versions();
            const anchor = await anchorPool(lke, 81, "replacing");
            const env = {
                ...lkeEnv(lke),
                K8SU_LKE_POOL_ID: "81",
                K8SU_POOL_COUNT: "1",
                K8SU_TARGET_MINOR: target,
                K8SU_READY_TIMEOUT_SECONDS: "120",
            };
            const recycles = () => lke.lines().filter((l) => /^POST .*\/pools\/81\/recycle$/.test(l)).length;
            // The first run gives up before the replacement registers (its step timed out).
            const first = await run("lke-recycle-pool", { ...env, K8SU_READY_TIMEOUT_SECONDS: "2" });
            assert.equal(first.code, 1, first.stderr);
            assert.match(first.stderr, /only 0 of 1 node\(s\) matching lke\.linode\.com\/pool-id=81 became Ready/);
            assert.equal(recycles(), 1);
            for (let i = 0; lke.gone.length === 0; i++) {
                assert.ok(i < 600, "the old node never left");
                await sleep(100);
            }
            // LKE is replacing: the old node has left the cluster, LKE lists its replacement, which has no Node yet.
            const replacing = async () => {
                assert.deepEqual(await lke.nodesOf(81), [], "no Node of the pool while LKE replaces it");
                const listed = lke.pool(81).nodes;
                assert.equal(listed.length, 1);
                assert.ok(!listed[0].joined, "the replacement has not registered yet");
            };
            await replacing();
            // Run again with a short timeout: it says LKE is still replacing the pool's nodes, and recycles nothing.
            const short = await run("lke-recycle-pool", { ...env, K8SU_READY_TIMEOUT_SECONDS: "2" });
            assert.equal(short.code, 1, short.stderr);
            assert.match(
                short.stderr,
                new RegExp(
                    `FAILED: LKE is still replacing the nodes of pool 81: .*${lke.pool(81).nodes[0].instanceId} \\(not_ready\\).*Nothing was recycled again.*run 'pulumi up' again once its nodes are Ready`,
                ),
            );
            assert.doesNotMatch(short.stderr, /no nodes match/);
            assert.equal(recycles(), 1, "no second recycle");
            await replacing();
            // And with the step's own timeout: it waits for the replacement and finishes.
            const again = await run("lke-recycle-pool", env);
            assert.equal(again.code, 0, again.stderr);
            assert.match(
                again.stderr,
                /LKE is still replacing nodes of pool 81: .*recycling nothing, waiting up to 120s/,
            );
            assert.match(again.stderr, /1 node\(s\) matching lke\.linode\.com\/pool-id=81 Ready at /);
            assert.equal(recycles(), 1, "no second recycle");
            const nodes = await lke.nodesOf(81);
            assert.equal(nodes.length, 1);
            assert.notEqual(nodes[0].name, anchor);
            assert.equal(minorOf(nodes[0].version), target);
            assert.ok(nodes[0].usable);
            assert.deepEqual(
                lke.gone.map((g) => g.node),
                [anchor],
            );
            rc.assertHealthy();
        }));

    test("bug: the Linode token on curl's command line — no process ever has the token in its argv", () =>
        withLke({ k8sVersion: versions().old, token: "s3cret-linode-token-value" }, async (lke) => {
            // A curl stand-in first on PATH records every argv it is given, then runs the real curl.
            const bin = fs.mkdtempSync(path.join(os.tmpdir(), "k8su-curl-"));
            const argvLog = path.join(bin, "argv");
            fs.writeFileSync(
                path.join(bin, "curl"),
                `#!/usr/bin/env bash\nprintf '%s\\n' "$*" >> '${argvLog}'\nexec /usr/bin/curl "$@"\n`,
                { mode: 0o755 },
            );
            // And every process's argv under /proc, sampled while the script runs.
            const seen = new Set<string>();
            const sampler = setInterval(() => {
                for (const pid of fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
                    try {
                        seen.add(fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " "));
                    } catch {
                        // the process ended
                    }
                }
            }, 20);
            const r = await run(
                "lke-control-plane",
                { ...lkeEnv(lke), K8SU_TARGET_MINOR: versions().target, K8SU_TIMEOUT_SECONDS: "60" },
                { pathPrefix: [bin] },
            );
            clearInterval(sampler);
            assert.equal(r.code, 0, r.stderr);
            const argv = fs.readFileSync(argvLog, "utf8");
            assert.match(argv, /--config -/, "curl was called, with its config on stdin");
            assert.equal(lke.calls.filter((c) => c.status === 200).length, 2, "the token was accepted twice");
            assert.doesNotMatch(argv, new RegExp(lke.token), "the token is on curl's command line");
            assert.ok(![...seen].some((c) => c.includes(lke.token)), "the token is in some process's argv");
            assert.ok(seen.size > 0);
            assert.doesNotMatch(r.stderr + r.stdout, new RegExp(lke.token));
            fs.rmSync(bin, { recursive: true, force: true });
            rc.assertHealthy();
        }));

    describe("LKE in place against the LKE API's real pool", { concurrency: true }, () => {
        const autoscaled = { enabled: true, min: 3, max: 6 };
        const timing = { timing: { joinMs: 1000, deleteMs: 1000 } };

        test("bug: the surge came from the configured count — a pool the autoscaler grew to 5 surges to 6 and ends at 5, nothing removed undrained", () =>
            withLke(timing, async (lke) => {
                const { target } = versions();
                // The autoscaler raised the pool from the configured 3 to 5.
                const { ns } = await workloadPool(lke, "grown", 51, 5, 10, autoscaled);
                const r = await run("lke-in-place", inPlaceEnv(lke, 51));
                assert.equal(r.code, 0, r.stderr);
                assert.match(r.stderr, /surging the pool from 5 to 6/);
                for (const u of lke.poolUpdates)
                    assert.ok(
                        typeof u.body.count !== "number" || u.body.count >= u.before,
                        `a pool update lowered the count: ${JSON.stringify(u)}`,
                    );
                assert.deepEqual(lostPods(lke), [], "no node went with pods on it");
                const pool = lke.pool(51);
                assert.equal(pool.count, 5);
                assert.deepEqual(pool.autoscaler, autoscaled);
                assert.deepEqual(
                    (await lke.nodesOf(51)).map((n) => minorOf(n.version)),
                    Array(5).fill(target),
                );
                assert.equal(lke.lines().filter((l) => /^DELETE .*\/nodes\//.test(l)).length, 1);
                await rc.waitReady(ns, "web", 10);
                rc.assertHealthy();
            }));

        test("bug: with the API unreachable, in-place concluded the pool already ran the target", () =>
            withLke(timing, async (lke) => {
                const first = await lke.addPool({
                    id: 61,
                    count: 2,
                    kubeletVersion: versions().oldKubelet,
                    labels: { test: "unreachable" },
                });
                // The Kubernetes API refuses (nothing listens where the kubeconfig points), then the Linode API does.
                const nowhere = `https://127.0.0.1:${await freePort()}`;
                const kubeDown = await run("lke-in-place", {
                    ...inPlaceEnv(lke, 61),
                    K8SU_KUBECONFIG: rc.kubeconfigFor(nowhere),
                    K8SU_REQUEST_TIMEOUT_SECONDS: "5",
                });
                assert.equal(kubeDown.code, 1);
                assert.doesNotMatch(kubeDown.stderr, /already runs/);
                assert.match(kubeDown.stderr, /refused/);
                assert.match(kubeDown.stderr, /the API cannot be reached/);
                lke.stop();
                const linodeDown = await run("lke-in-place", inPlaceEnv(lke, 61));
                assert.equal(linodeDown.code, 1);
                assert.doesNotMatch(linodeDown.stderr, /already runs/);
                assert.match(
                    linodeDown.stderr,
                    /Linode API GET \/lke\/clusters\/\d+\/pools\/61 failed: .*(refused|Couldn't connect)[\s\S]*cannot be reached/,
                );
                assert.deepEqual(lke.poolUpdates, []);
                const nodes = await lke.nodesOf(61);
                assert.deepEqual(
                    nodes.map((n) => [n.name, n.cordoned]),
                    first.map((n) => [n, false]),
                );
                rc.assertHealthy();
            }));

        test("a re-run after a stop part-way does not surge twice and converges", () =>
            withLke(timing, async (lke) => {
                const { target } = versions();
                const { ns } = await workloadPool(lke, "rerun", 71, 5, 10, autoscaled);
                // Stop the first run when the second node is being moved (its recycle call fails).
                lke.inject({ match: /^POST .*\/nodes\/[^/]+\/recycle$/, kind: "500", fromNth: 2, times: 1 });
                const first = await run("lke-in-place", inPlaceEnv(lke, 71));
                assert.equal(first.code, 1);
                assert.match(first.stderr, /500/);
                const second = await run("lke-in-place", inPlaceEnv(lke, 71));
                assert.equal(second.code, 0, second.stderr);
                assert.match(second.stderr, /already has its surge \(6 node\(s\), 5 before\)/);
                assert.equal(lke.pool(71).count, 5);
                assert.deepEqual(
                    lke.poolUpdates.filter((u) => u.body.count !== undefined).map((u) => u.body.count),
                    [6],
                    "one surge, in the first run",
                );
                assert.deepEqual(lostPods(lke), []);
                assert.deepEqual(
                    (await lke.nodesOf(71)).map((n) => minorOf(n.version)),
                    Array(5).fill(target),
                );
                await rc.waitReady(ns, "web", 10);
                rc.assertHealthy();
            }));
    });
});
