// Every generated script, run by bash with the real kubectl (two minors, both within one minor of the
// fixture's 1.31 API server) against the in-process API fixture.

import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, test } from "node:test";
import { preflightEnvironment } from "../components/removed-apis";
import { KubeApiFixture } from "./fixture/kube-api";
import { availableKubectlMinors, runScript } from "./fixture/run-script";

const KUBECTL_MINORS = ["1.30", "1.32"];
const drainEnv = {
    K8SU_CLUSTER: "apps",
    K8SU_BATCH_SIZE: "2",
    K8SU_SOAK_SECONDS: "1",
    K8SU_GRACE_SECONDS: "5",
    K8SU_DRAIN_TIMEOUT_SECONDS: "60",
    K8SU_DELETE_EMPTYDIR_DATA: "false",
};

async function withFixture<T>(
    build: (f: KubeApiFixture) => void,
    body: (f: KubeApiFixture) => Promise<T>,
    version = "1.31.4",
): Promise<T> {
    const f = new KubeApiFixture(version);
    await f.start();
    try {
        build(f);
        return await body(f);
    } finally {
        await f.stop();
    }
}

/** Three blue nodes at 1.30 running six web pods (budget: one at a time), three empty green nodes at 1.31. */
function blueGreen(f: KubeApiFixture): void {
    for (const n of ["blue-1", "blue-2", "blue-3"])
        f.addNode(n, { labels: { pool: "blue" }, kubeletVersion: "1.30.9" });
    for (const n of ["green-1", "green-2", "green-3"]) f.addNode(n, { labels: { pool: "green" } });
    f.addDaemonSet("kube-system", "kube-proxy");
    f.addReplicaSet("default", "web", 6, ["blue-1", "blue-2", "blue-3"]);
    f.addPdb({ namespace: "default", name: "web", selector: { app: "web" }, maxUnavailable: 1 });
}

test("the machine has the kubectl minors these tests use", () => {
    for (const m of KUBECTL_MINORS)
        assert.ok(
            availableKubectlMinors().includes(m),
            `kubectl.${m} is missing; have ${availableKubectlMinors().join(", ")}`,
        );
});

for (const kubectl of KUBECTL_MINORS) {
    describe(`with kubectl ${kubectl}`, { concurrency: true }, () => {
        const run = (f: KubeApiFixture, kind: Parameters<typeof runScript>[0], env: Record<string, string>) =>
            runScript(kind, { K8SU_KUBECONFIG: f.kubeconfig(), ...env }, kubectl);

        test("pre-flight passes on a healthy cluster", () =>
            withFixture(blueGreen, async (f) => {
                const r = await run(f, "preflight", preflightEnvironment("1.31"));
                assert.equal(r.code, 0, r.stderr);
                assert.match(r.stderr, /pre-flight passed for an upgrade to 1\.31/);
            }));

        test("pre-flight fails, naming the culprits: a NotReady node, a blocking budget, a removed API, a failing system pod", () =>
            withFixture(
                (f) => {
                    blueGreen(f);
                    f.nodes.get("green-2")!.ready = false;
                    f.addReplicaSet("default", "ledger", 2, ["blue-1", "blue-2"]);
                    f.addPdb({ namespace: "default", name: "ledger", selector: { app: "ledger" }, minAvailable: 2 });
                    f.deprecatedApis.push({
                        group: "flowcontrol.apiserver.k8s.io",
                        version: "v1beta3",
                        resource: "flowschemas",
                        removedRelease: "1.32",
                    });
                    f.deprecatedApis.push({
                        group: "storage.k8s.io",
                        version: "v1beta1",
                        resource: "csistoragecapacities",
                        removedRelease: "1.27",
                    });
                    f.addBarePod("kube-system", "coredns-broken", "green-1", { phase: "Pending" });
                },
                async (f) => {
                    const r = await run(f, "preflight", preflightEnvironment("1.31"));
                    assert.equal(r.code, 1);
                    assert.match(r.stderr, /node green-2 is not Ready \(Ready=False, kubelet v1\.31\.4\)/);
                    assert.match(
                        r.stderr,
                        /PodDisruptionBudget default\/ledger allows no disruption \(2 pod\(s\) expected, 0 may be evicted\)/,
                    );
                    assert.match(
                        r.stderr,
                        /deprecated API in use that 1\.27 removes: storage\.k8s\.io\/v1beta1 csistoragecapacities/,
                    );
                    assert.doesNotMatch(r.stderr, /flowschemas/, "an API removed only after the target is no blocker");
                    assert.match(r.stderr, /kube-system pod coredns-broken \(Pending\) is not Running/);
                    // The count heads the list (a survivor of the script mutation runner dropped that line).
                    assert.match(r.stderr, /pre-flight found 4 problem\(s\):/);
                    assert.match(r.stderr, /pre-flight checks failed; nothing was changed/);
                    assert.equal(f.events.filter((e) => e.kind === "cordoned").length, 0);
                },
            ));

        test("wait-ready succeeds once nodes are Ready at the target, and times out cleanly otherwise", () =>
            withFixture(blueGreen, async (f) => {
                f.nodes.get("green-3")!.ready = false;
                setTimeout(() => {
                    f.nodes.get("green-3")!.ready = true;
                }, 600);
                const ok = await run(f, "wait-ready", {
                    K8SU_SELECTOR: "pool=green",
                    K8SU_EXPECTED_NODES: "3",
                    K8SU_TARGET_MINOR: "1.31",
                    K8SU_TIMEOUT_SECONDS: "20",
                });
                assert.equal(ok.code, 0, ok.stderr);
                f.nodes.get("green-1")!.ready = false;
                const late = await run(f, "wait-ready", {
                    K8SU_SELECTOR: "pool=green",
                    K8SU_EXPECTED_NODES: "3",
                    K8SU_TARGET_MINOR: "1.31",
                    K8SU_TIMEOUT_SECONDS: "2",
                });
                assert.equal(late.code, 1);
                assert.match(late.stderr, /- green-1 version=v1\.31\.4 ready=False/);
                assert.match(late.stderr, /only 2 of 3 node\(s\) matching pool=green became Ready at 1\.31 within 2s/);
            }));

        test("validation catches a node at the old version and passes when all are upgraded", () =>
            withFixture(blueGreen, async (f) => {
                const bad = await run(f, "validate", {
                    K8SU_TARGET_MINOR: "1.31",
                    K8SU_SELECTORS: "pool=green\npool=blue",
                });
                assert.equal(bad.code, 1);
                assert.match(bad.stderr, /node blue-1 \(pool=blue\) runs kubelet v1\.30\.9, not 1\.31/);
                const good = await run(f, "validate", { K8SU_TARGET_MINOR: "1.31", K8SU_SELECTORS: "pool=green" });
                assert.equal(good.code, 0, good.stderr);
                assert.equal(good.stdout.trim(), "validated 1.31");
            }));

        test("drain: every blue node cordoned before the first eviction, batches of two, one eviction per pod, the budget never broken", () =>
            withFixture(blueGreen, async (f) => {
                // Starts at what runs before the drain (not Infinity), and counts the changes it saw.
                let minReady = f.readyPods("default", { app: "web" });
                let changes = 0;
                f.onChange(() => {
                    changes++;
                    minReady = Math.min(minReady, f.readyPods("default", { app: "web" }));
                });
                const r = await run(f, "drain", {
                    ...drainEnv,
                    K8SU_SELECTOR: "pool=blue",
                    K8SU_MIN_READY_ELSEWHERE: "3",
                });
                assert.equal(r.code, 0, r.stderr);
                const firstEviction = f.events.findIndex((e) => e.kind === "evicted");
                const cordons = f.events.map((e, i) => (e.kind === "cordoned" ? i : -1)).filter((i) => i >= 0);
                assert.equal(cordons.length, 3);
                assert.ok(
                    cordons.every((i) => i < firstEviction),
                    "all blue nodes are cordoned before any eviction",
                );
                assert.match(r.stderr, /drain batch 1: blue-1 blue-2\n[\s\S]*drain batch 2: blue-3/);
                const evicted = f.events.filter((e) => e.kind === "evicted").map((e) => e.object);
                assert.equal(evicted.length, 6);
                assert.equal(new Set(evicted).size, 6, "no pod is evicted twice");
                assert.ok(changes > 0, "the drain changed nothing the budget check could see");
                assert.ok(minReady >= 5, `the budget allows one web pod down; saw ${minReady} ready`);
                assert.deepEqual(
                    [...f.pods.values()]
                        .filter((p) => p.owner?.kind === "ReplicaSet")
                        .map((p) => p.nodeName?.slice(0, 5)),
                    Array(6).fill("green"),
                );
            }));

        test("a drain that cannot finish fails naming the blocking pods; nodes stay cordoned and the pods stay", () =>
            withFixture(
                (f) => {
                    blueGreen(f);
                    f.addReplicaSet("payments", "ledger", 2, ["blue-1"]);
                    f.addPdb({ namespace: "payments", name: "ledger", selector: { app: "ledger" }, minAvailable: 2 });
                },
                async (f) => {
                    const r = await run(f, "drain", {
                        ...drainEnv,
                        K8SU_SELECTOR: "pool=blue",
                        K8SU_MIN_READY_ELSEWHERE: "3",
                        K8SU_DRAIN_TIMEOUT_SECONDS: "6",
                    });
                    assert.equal(r.code, 1);
                    assert.match(r.stderr, /pods still on blue-1[^\n]*:\n( {2}- [^\n]*\n)* {2}- payments\/ledger-0/);
                    assert.match(
                        r.stderr,
                        /drain did not finish for blue-1( blue-2)?; the nodes stay cordoned and their pool stays in place/,
                    );
                    assert.ok(["blue-1", "blue-2", "blue-3"].every((n) => f.nodes.get(n)!.unschedulable));
                    assert.equal(f.podsOn("blue-1").filter((p) => p.namespace === "payments").length, 2);
                },
            ));

        test("drain refuses when capacity elsewhere is too small, and can be skipped for a whole-cluster destroy", () =>
            withFixture(blueGreen, async (f) => {
                const r = await run(f, "drain", {
                    ...drainEnv,
                    K8SU_SELECTOR: "pool=blue",
                    K8SU_MIN_READY_ELSEWHERE: "4",
                });
                assert.equal(r.code, 1);
                assert.match(
                    r.stderr,
                    /only 3 Ready, schedulable node\(s\) outside blue-1 blue-2 blue-3; taking out 3 node\(s\) needs 4\. Nothing was cordoned or drained/,
                );
                assert.equal(f.events.filter((e) => e.kind === "cordoned").length, 0);
                const skipped = await runScript(
                    "drain",
                    {
                        K8SU_KUBECONFIG: f.kubeconfig(),
                        ...drainEnv,
                        K8SU_SELECTOR: "pool=blue",
                        K8SU_MIN_READY_ELSEWHERE: "4",
                        K8S_UPGRADES_SKIP_DRAIN: "apps",
                    },
                    kubectl,
                );
                assert.equal(skipped.code, 0);
                assert.match(skipped.stderr, /K8S_UPGRADES_SKIP_DRAIN=apps: not draining pool=blue/);
            }));

        test("pods with emptyDir data block the drain unless deleting it was chosen", () =>
            withFixture(
                (f) => {
                    blueGreen(f);
                    f.addReplicaSet("default", "cache", 1, ["blue-3"], { emptyDir: true });
                },
                async (f) => {
                    const refused = await run(f, "drain", {
                        ...drainEnv,
                        K8SU_SELECTOR: "pool=blue",
                        K8SU_MIN_READY_ELSEWHERE: "3",
                    });
                    assert.equal(refused.code, 1);
                    assert.match(refused.stderr, /pods still on blue-3[^\n]*:\n {2}- default\/cache-0/);
                    assert.match(refused.stderr, /cannot delete Pods with local storage[^\n]*default\/cache-0/);
                    assert.ok(f.pods.has("default/cache-0"), "the pod with emptyDir data was not evicted");
                    const allowed = await run(f, "drain", {
                        ...drainEnv,
                        K8SU_SELECTOR: "pool=blue",
                        K8SU_MIN_READY_ELSEWHERE: "3",
                        K8SU_DELETE_EMPTYDIR_DATA: "true",
                    });
                    assert.equal(allowed.code, 0, allowed.stderr);
                },
            ));

        test("cordon takes every selector at once", () =>
            withFixture(
                (f) => {
                    blueGreen(f);
                    f.addNode("batch-1", { labels: { pool: "batch-old" } });
                },
                async (f) => {
                    const r = await run(f, "cordon", { K8SU_SELECTORS: "pool=blue\npool=batch-old" });
                    assert.equal(r.code, 0, r.stderr);
                    assert.deepEqual(
                        [...f.nodes.values()]
                            .filter((n) => n.unschedulable)
                            .map((n) => n.name)
                            .sort(),
                        ["batch-1", "blue-1", "blue-2", "blue-3"],
                    );
                },
            ));

        test("LKE control plane: one PUT with the next minor, then waits until it is served; a second run calls nothing", () =>
            withFixture(
                (f) => {
                    f.addLkePool(11, 2, "1.30.9");
                },
                async (f) => {
                    const env = {
                        LINODE_API_URL: f.linodeUrl(),
                        LINODE_TOKEN: f.linodeToken,
                        K8SU_LKE_CLUSTER_ID: String(f.clusterId),
                        K8SU_TARGET_MINOR: "1.31",
                        K8SU_TIMEOUT_SECONDS: "20",
                    };
                    const r = await run(f, "lke-control-plane", env);
                    assert.equal(r.code, 0, r.stderr);
                    assert.match(r.stderr, /control plane 1\.30 -> 1\.31/);
                    assert.match(r.stderr, /API server serves v1\.31\.1/);
                    assert.equal(f.requests.filter((q) => q.startsWith("PUT /v4/lke/clusters/4242")).length, 1);
                    const again = await run(f, "lke-control-plane", env);
                    assert.equal(again.code, 0, again.stderr);
                    assert.equal(f.requests.filter((q) => q.startsWith("PUT /v4/lke/clusters/4242")).length, 1);
                    const wrongToken = await run(f, "lke-control-plane", { ...env, LINODE_TOKEN: "nope" });
                    assert.equal(wrongToken.code, 1);
                    assert.match(
                        wrongToken.stderr,
                        /Linode API GET \/lke\/clusters\/4242 failed: .*401.*check LINODE_TOKEN/,
                    );
                    assert.doesNotMatch(
                        wrongToken.stderr + wrongToken.stdout,
                        /nope|fixture-token/,
                        "the token is never printed",
                    );
                },
                "1.30.9",
            ));

        test("LKE in-place: surge one node, move old nodes one at a time, delete the last, restore count and autoscaler; capacity never below the count", () =>
            withFixture(
                (f) => {
                    f.controlPlaneVersion = "1.31.1";
                    f.servedVersion = "1.31.1";
                    const nodes = f.addLkePool(21, 3, "1.30.9", { enabled: true, min: 3, max: 6 });
                    f.addDaemonSet("kube-system", "kube-proxy");
                    f.addReplicaSet("default", "web", 6, nodes);
                    f.addPdb({ namespace: "default", name: "web", selector: { app: "web" }, maxUnavailable: 1 });
                },
                async (f) => {
                    const schedulable = () => f.lkeNodes(21).filter((n) => n.ready && !n.unschedulable).length;
                    let minSchedulable = schedulable();
                    let changes = 0;
                    f.onChange(() => {
                        changes++;
                        minSchedulable = Math.min(minSchedulable, schedulable());
                    });
                    const env = {
                        LINODE_API_URL: f.linodeUrl(),
                        LINODE_TOKEN: f.linodeToken,
                        K8SU_LKE_CLUSTER_ID: String(f.clusterId),
                        K8SU_LKE_POOL_ID: "21",
                        K8SU_POOL_COUNT: "3",
                        K8SU_AUTOSCALER_MIN: "3",
                        K8SU_AUTOSCALER_MAX: "6",
                        K8SU_TARGET_MINOR: "1.31",
                        K8SU_READY_TIMEOUT_SECONDS: "60",
                        K8SU_GRACE_SECONDS: "5",
                        K8SU_DRAIN_TIMEOUT_SECONDS: "60",
                        K8SU_DELETE_EMPTYDIR_DATA: "false",
                    };
                    const r = await run(f, "lke-in-place", env);
                    assert.equal(r.code, 0, r.stderr);
                    const pool = f.lkePools.get(21)!;
                    assert.equal(pool.count, 3);
                    assert.deepEqual(pool.autoscaler, { enabled: true, min: 3, max: 6 });
                    assert.deepEqual(
                        f.lkeNodes(21).map((n) => n.kubeletVersion.slice(0, 4)),
                        ["1.31", "1.31", "1.31"],
                    );
                    assert.ok(f.requests.includes("PUT /v4/lke/clusters/4242/pools/21"));
                    assert.equal(f.requests.filter((q) => /\/nodes\/[^/]+\/recycle$/.test(q)).length, 2);
                    assert.equal(
                        f.requests.filter((q) => /^DELETE \/v4\/lke\/clusters\/4242\/nodes\//.test(q)).length,
                        1,
                    );
                    assert.ok(changes > 0, "the in-place upgrade changed nothing the capacity check could see");
                    assert.ok(minSchedulable >= 3, `capacity dropped to ${minSchedulable} schedulable node(s)`);
                    const before = f.requests.length;
                    const again = await run(f, "lke-in-place", env);
                    assert.equal(again.code, 0, again.stderr);
                    assert.match(again.stderr, /every node of lke\.linode\.com\/pool-id=21 already runs 1\.31/);
                    assert.equal(f.requests.slice(before).filter((q) => /recycle|DELETE/.test(q)).length, 0);
                },
                "1.31.1",
            ));

        test("LKE pool recycle brings the anchor pool to the target", () =>
            withFixture(
                (f) => {
                    f.controlPlaneVersion = "1.31.1";
                    f.servedVersion = "1.31.1";
                    f.addLkePool(1, 1, "1.30.9");
                },
                async (f) => {
                    const r = await run(f, "lke-recycle-pool", {
                        LINODE_API_URL: f.linodeUrl(),
                        LINODE_TOKEN: f.linodeToken,
                        K8SU_LKE_CLUSTER_ID: String(f.clusterId),
                        K8SU_LKE_POOL_ID: "1",
                        K8SU_POOL_COUNT: "1",
                        K8SU_TARGET_MINOR: "1.31",
                        K8SU_READY_TIMEOUT_SECONDS: "30",
                    });
                    assert.equal(r.code, 0, r.stderr);
                    assert.deepEqual(
                        f.lkeNodes(1).map((n) => n.kubeletVersion.slice(0, 4)),
                        ["1.31"],
                    );
                },
                "1.31.1",
            ));
    });
}

describe("pre-flight: removed APIs, system pods and pluto (kubectl 1.32)", { concurrency: true }, () => {
    const run = (f: KubeApiFixture, env: Record<string, string>, pathPrefix: string[] = []) =>
        runScript("preflight", { K8SU_KUBECONFIG: f.kubeconfig(), ...env }, "1.32", { pathPrefix });
    const flowschemas = (f: KubeApiFixture) => {
        blueGreen(f);
        f.customResources.push({
            group: "flowcontrol.apiserver.k8s.io",
            version: "v1beta3",
            plural: "flowschemas",
            kind: "FlowSchema",
        });
        const flowschema = (name: string, manager: string, apiVersion: string) =>
            f.customObjects.set(`flowschemas.flowcontrol.apiserver.k8s.io//${name}`, {
                apiVersion: "flowcontrol.apiserver.k8s.io/v1beta3",
                kind: "FlowSchema",
                metadata: { name, managedFields: [{ manager, operation: "Apply", apiVersion }] },
            });
        flowschema("exempt", "api-priority-and-fairness-config-producer-v1", "flowcontrol.apiserver.k8s.io/v1");
        flowschema("legacy-batch", "helm", "flowcontrol.apiserver.k8s.io/v1beta3");
    };

    test("the live objects of every API version the target removes are listed: those written through it fail, though the metric is empty; the output says what each check covered", () =>
        withFixture(flowschemas, async (f) => {
            const r = await run(f, preflightEnvironment("1.32"));
            assert.equal(r.code, 1, r.stderr);
            assert.match(
                r.stderr,
                /1 of 2 flowschemas written through flowcontrol\.apiserver\.k8s\.io\/v1beta3, which 1\.32 removes: legacy-batch;/,
            );
            assert.doesNotMatch(r.stderr, /removes: [^\n]*exempt/, "an object only the v1 manager wrote moves on");
            assert.match(
                r.stderr,
                /flowcontrol\.apiserver\.k8s\.io\/v1beta3 prioritylevelconfigurations is not served/,
            );
            assert.match(r.stderr, /checked the 2 API version\(s\) 1\.32 stops serving, 1 served here/);
            assert.match(r.stderr, /as counted by the API server instance that answered since it started/);
            assert.match(r.stderr, /pre-flight found 1 problem\(s\):/);
            // Only the v1 manager: nothing to move, the pre-flight passes.
            f.customObjects.delete("flowschemas.flowcontrol.apiserver.k8s.io//legacy-batch");
            const clean = await run(f, preflightEnvironment("1.32"));
            assert.equal(clean.code, 0, clean.stderr);
        }));

    test("the API versions a target removes come from the deprecation guide's table; without them the pre-flight refuses to run", () =>
        withFixture(blueGreen, async (f) => {
            assert.deepEqual(preflightEnvironment("1.32").K8SU_REMOVED_APIS.split("\n"), [
                "flowcontrol.apiserver.k8s.io/v1beta3 flowschemas",
                "flowcontrol.apiserver.k8s.io/v1beta3 prioritylevelconfigurations",
            ]);
            assert.match(
                preflightEnvironment("1.25").K8SU_REMOVED_APIS,
                /^policy\/v1beta1 podsecuritypolicies no-replacement$/m,
            );
            assert.equal(preflightEnvironment("1.31").K8SU_REMOVED_APIS, "");
            const none = await run(f, preflightEnvironment("1.31"));
            assert.equal(none.code, 0, none.stderr);
            assert.match(none.stderr, /1\.31 stops serving no API version/);
            const unset = await run(f, { K8SU_TARGET_MINOR: "1.31" });
            assert.equal(unset.code, 1);
            assert.match(unset.stderr, /K8SU_REMOVED_APIS is not set/);
        }));

    test("kube-system pods Running with a container in CrashLoopBackOff or ImagePullBackOff fail the pre-flight", () =>
        withFixture(
            (f) => {
                blueGreen(f);
                f.addBarePod("kube-system", "coredns-7db6d8ff4d-x2x9k", "green-1", { waiting: "CrashLoopBackOff" });
                f.addBarePod("kube-system", "metrics-server-5d9f9b8b6-q8r2m", "green-2", {
                    waiting: "ImagePullBackOff",
                });
                f.addBarePod("kube-system", "etcd-cp-1", "green-3");
            },
            async (f) => {
                const r = await run(f, preflightEnvironment("1.31"));
                assert.equal(r.code, 1, r.stderr);
                assert.match(
                    r.stderr,
                    /kube-system pod coredns-7db6d8ff4d-x2x9k: container app is waiting in CrashLoopBackOff/,
                );
                assert.match(
                    r.stderr,
                    /kube-system pod metrics-server-5d9f9b8b6-q8r2m: container app is waiting in ImagePullBackOff/,
                );
                assert.doesNotMatch(r.stderr, /etcd-cp-1/);
                assert.match(r.stderr, /pre-flight found 2 problem\(s\):/);
            },
        ));

    test("pluto exiting 3 (removed APIs found) fails the pre-flight; exiting 2 (deprecated only) does not", () =>
        withFixture(blueGreen, async (f) => {
            const verdicts: Array<[number, number]> = [
                [3, 1],
                [2, 0],
                [0, 0],
                [1, 1],
            ];
            for (const [exit, want] of verdicts) {
                const bin = fs.mkdtempSync(path.join(os.tmpdir(), "pluto-"));
                fs.writeFileSync(
                    path.join(bin, "pluto"),
                    `#!/bin/sh\necho "pluto stand-in, exit ${exit}" >&2\nexit ${exit}\n`,
                    {
                        mode: 0o755,
                    },
                );
                const r = await run(f, preflightEnvironment("1.31"), [bin]);
                assert.equal(r.code, want, `pluto exit ${exit}: ${r.stderr}`);
                if (exit === 3) assert.match(r.stderr, /pluto found APIs removed in 1\.31/);
                assert.match(r.stderr, new RegExp(`removed APIs, pluto: .* \\(exit ${exit}\\)`));
            }
        }));
});
