// The eviction rules of kube-apiserver that the test API server now follows, each shown through the real drain
// (the generated drain.sh, which runs the real `kubectl drain` 1.31) so that a script that only passes against a
// forgiving server fails here:
// - percentage budgets, rounded up as the disruption controller does (pkg/controller/disruption/disruption.go,
//   getExpectedPodCount: intstr.GetScaledValueFromIntOrPercent(..., roundUp=true) for minAvailable and
//   maxUnavailable);
// - unhealthyPodEvictionPolicy (pkg/registry/core/pod/storage/eviction.go): a Running pod that is not Ready may be
//   evicted under AlwaysAllow, or under IfHealthyBudget (the default) only while the budget is healthy;
// - 500 with the apiserver's own message for a pod that two budgets select;
// - mirror pods of static control plane pods, which `kubectl drain` skips (k8s.io/kubectl/pkg/drain/filters.go,
//   mirrorPodFilter) and which the drain's capacity check and blocker report must leave out.

import * as assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type FixturePdb, KubeApiFixture, MIRROR_ANNOTATION, scaled, TWO_BUDGETS_MESSAGE } from "./fixture/kube-api";
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

async function withFixture(build: (f: KubeApiFixture) => void, body: (f: KubeApiFixture) => Promise<void>) {
    const f = new KubeApiFixture("1.31.4");
    await f.start();
    try {
        build(f);
        await body(f);
    } finally {
        await f.stop();
    }
}

function drain(f: KubeApiFixture, env: Record<string, string> = {}) {
    return runScript("drain", { K8SU_KUBECONFIG: f.kubeconfig(), ...drainEnv, ...env }, KUBECTL, {
        killAfterMs: 120_000,
    });
}

/** The lowest number of Ready web pods seen while `body` runs. */
async function lowestReady(f: KubeApiFixture, body: () => Promise<void>): Promise<number> {
    let lowest = f.readyPods("default", { app: "web" });
    f.onChange(() => {
        lowest = Math.min(lowest, f.readyPods("default", { app: "web" }));
    });
    await body();
    return lowest;
}

/** One blue node with two of three web pods, two green nodes with room; the third web pod on green-1. */
function cluster(f: KubeApiFixture, pdb: Omit<FixturePdb, "namespace" | "name" | "selector">): void {
    f.addNode("blue-1", { labels: { pool: "blue" }, kubeletVersion: "1.30.9" });
    for (const n of ["green-1", "green-2"]) f.addNode(n, { labels: { pool: "green" } });
    f.addReplicaSet("default", "web", 3, ["blue-1", "blue-1", "green-1"]);
    f.addPdb({ namespace: "default", name: "web", selector: { app: "web" }, ...pdb });
}

const refusals = (f: KubeApiFixture, budget: string) =>
    f.events.filter((e) => e.kind === "eviction-refused" && e.detail === budget).length;

// The four groups run side by side: each test has its own API server.
describe("eviction rules", { concurrency: true }, () => {
    describe("percentage budgets, rounded up as the disruption controller does", { concurrency: true }, () => {
        test("the budget's numbers: percentages of the controllers' scale, rounded up", () => {
            // Literal values of ceil(percent × scale / 100), not the fixture's own arithmetic.
            const table: Array<[number | string, number, number]> = [
                ["50%", 3, 2],
                ["25%", 3, 1],
                ["34%", 3, 2],
                ["25%", 4, 1],
                ["0%", 5, 0],
                ["100%", 5, 5],
                ["10%", 1, 1],
                [2, 7, 2],
            ];
            for (const [value, total, expected] of table)
                assert.equal(scaled(value, total), expected, `${value} of ${total}`);
            assert.throws(() => scaled("50", 4), /not a percentage/);
            const f = new KubeApiFixture();
            f.addNode("n1", {});
            f.addReplicaSet("default", "web", 3, ["n1"]);
            const status = (pdb: Partial<FixturePdb>) =>
                f.pdbStatus({ namespace: "default", name: "web", selector: { app: "web" }, ...pdb });
            assert.deepEqual(status({ minAvailable: "50%" }), {
                expectedPods: 3,
                currentHealthy: 3,
                desiredHealthy: 2,
                disruptionsAllowed: 1,
            });
            assert.equal(status({ maxUnavailable: "25%" }).desiredHealthy, 2);
            assert.equal(status({ maxUnavailable: "34%" }).desiredHealthy, 1);
            assert.equal(status({ maxUnavailable: "100%" }).desiredHealthy, 0);
            assert.equal(status({ minAvailable: "100%" }).disruptionsAllowed, 0);
        });

        test('minAvailable "50%" of 3 keeps 2 Ready: the drain evicts one pod at a time and waits for its replacement', () =>
            withFixture(
                (f) => cluster(f, { minAvailable: "50%" }),
                async (f) => {
                    let r: Awaited<ReturnType<typeof drain>> | undefined;
                    const lowest = await lowestReady(f, async () => {
                        r = await drain(f);
                    });
                    assert.equal(r!.code, 0, r!.stderr);
                    // Rounded down (1), both blue pods would go at once and only one web pod would stay Ready.
                    assert.equal(lowest, 2, "Ready web pods fell below 50% of 3 rounded up");
                    assert.ok(refusals(f, "web") >= 1, "the second eviction should wait for the budget");
                    assert.equal(f.podsOn("blue-1").length, 0);
                },
            ));

        test('maxUnavailable "25%" of 3 allows one disruption: the drain finishes instead of waiting forever', () =>
            withFixture(
                (f) => cluster(f, { maxUnavailable: "25%" }),
                async (f) => {
                    let r: Awaited<ReturnType<typeof drain>> | undefined;
                    const lowest = await lowestReady(f, async () => {
                        r = await drain(f);
                    });
                    // Rounded down (0), the budget would allow nothing and the drain would time out.
                    assert.equal(r!.code, 0, r!.stderr);
                    assert.equal(lowest, 2);
                    assert.equal(f.podsOn("blue-1").length, 0);
                },
            ));
    });

    describe("unhealthyPodEvictionPolicy", { concurrency: true }, () => {
        /** web-0 on blue-1 Running but not Ready; `greenUnready` makes the green pod unready as well. */
        function unhealthy(f: KubeApiFixture, policy: FixturePdb["unhealthyPodEvictionPolicy"], greenUnready: boolean) {
            f.addNode("blue-1", { labels: { pool: "blue" }, kubeletVersion: "1.30.9" });
            for (const n of ["green-1", "green-2"]) f.addNode(n, { labels: { pool: "green" } });
            f.addReplicaSet("default", "web", 3, ["blue-1", "green-1", "green-2"]);
            f.pods.get("default/web-0")!.ready = false;
            if (greenUnready) f.pods.get("default/web-1")!.ready = false;
            f.addPdb({
                namespace: "default",
                name: "web",
                selector: { app: "web" },
                minAvailable: 2,
                ...(policy ? { unhealthyPodEvictionPolicy: policy } : {}),
            });
        }

        test("IfHealthyBudget (unset): an unready pod may go while the budget is healthy, though it allows no disruption", () =>
            withFixture(
                (f) => unhealthy(f, undefined, false),
                async (f) => {
                    // 2 healthy, 2 desired: disruptionsAllowed is 0, yet the unready pod is not what keeps it healthy.
                    assert.equal(f.pdbStatus(f.pdbs[0]).disruptionsAllowed, 0);
                    const r = await drain(f);
                    assert.equal(r.code, 0, r.stderr);
                    assert.equal(f.podsOn("blue-1").length, 0);
                    assert.equal(refusals(f, "web"), 0);
                },
            ));

        test("IfHealthyBudget: an unready pod gets 429 while the budget is unhealthy; the drain fails and keeps the node cordoned", () =>
            withFixture(
                (f) => unhealthy(f, "IfHealthyBudget", true),
                async (f) => {
                    const r = await drain(f, { K8SU_DRAIN_TIMEOUT_SECONDS: "4" });
                    assert.notEqual(r.code, 0, "the drain must not finish past a budget that refuses");
                    assert.ok(refusals(f, "web") >= 1);
                    assert.ok(f.pods.has("default/web-0"), "the unready pod was evicted from an unhealthy budget");
                    assert.equal(f.nodes.get("blue-1")!.unschedulable, true);
                    assert.match(r.stderr, /drain did not finish for blue-1/);
                    assert.match(r.stderr, /default\/web-0/);
                },
            ));

        test("AlwaysAllow: the unready pod goes even while the budget is unhealthy", () =>
            withFixture(
                (f) => unhealthy(f, "AlwaysAllow", true),
                async (f) => {
                    const r = await drain(f);
                    assert.equal(r.code, 0, r.stderr);
                    assert.equal(f.podsOn("blue-1").length, 0);
                    assert.equal(refusals(f, "web"), 0);
                    assert.ok(f.events.some((e) => e.kind === "evicted" && e.object === "default/web-0"));
                },
            ));

        test("AlwaysAllow covers unready pods only: a Ready pod under an unhealthy budget still gets 429", () =>
            withFixture(
                (f) => {
                    unhealthy(f, "AlwaysAllow", true);
                    f.pods.get("default/web-2")!.nodeName = "blue-1";
                },
                async (f) => {
                    const r = await drain(f, { K8SU_DRAIN_TIMEOUT_SECONDS: "4" });
                    assert.notEqual(r.code, 0);
                    assert.ok(f.pods.has("default/web-2") && !f.pods.get("default/web-2")!.terminating);
                    assert.match(r.stderr, /default\/web-2/);
                },
            ));
    });

    describe("a pod under two budgets", () => {
        test("gets 500 with the apiserver's message; the drain stops at once, names it, and evicts nothing", () =>
            withFixture(
                (f) => {
                    cluster(f, { maxUnavailable: 1 });
                    f.addPdb({
                        namespace: "default",
                        name: "everything-web",
                        selector: { app: "web" },
                        maxUnavailable: 1,
                    });
                },
                async (f) => {
                    const r = await drain(f);
                    assert.notEqual(r.code, 0);
                    assert.ok(r.stderr.includes(TWO_BUDGETS_MESSAGE), r.stderr);
                    assert.ok(r.ms < 25_000, `stopped after ${r.ms} ms, not at once`);
                    assert.equal(f.events.filter((e) => e.kind === "evicted").length, 0);
                    assert.equal(f.podsOn("blue-1").length, 2);
                    assert.equal(f.nodes.get("blue-1")!.unschedulable, true, "the node stays cordoned");
                },
            ));
    });

    describe("mirror pods on a control plane node", { concurrency: true }, () => {
        /** cp-1 carries the static control plane pods (big requests) and one web pod; workers have room for web only. */
        function controlPlane(f: KubeApiFixture): string[] {
            const cp = f.addNode("cp-1", {
                labels: { pool: "blue", "node-role.kubernetes.io/control-plane": "" },
                kubeletVersion: "1.30.9",
            });
            cp.allocatable = { cpu: 4000, memory: 8 * 1024 ** 3 };
            for (const n of ["worker-1", "worker-2"])
                f.addNode(n, { labels: { pool: "green" }, allocatable: { cpu: 1000, memory: 2 * 1024 ** 3 } });
            f.addDaemonSet("kube-system", "kube-proxy");
            const mirrors = ["kube-apiserver", "etcd", "kube-scheduler"].map((c) =>
                f.addMirrorPod("cp-1", c, { requests: { cpu: 1200, memory: 1024 ** 3 } }),
            );
            f.addReplicaSet("default", "web", 1, ["cp-1"], { requests: { cpu: 200, memory: 256 * 1024 ** 2 } });
            return mirrors;
        }

        test("the drain skips them as kubectl does, and its capacity check does not ask room for them", () =>
            withFixture(controlPlane, async (f) => {
                const before = new Map([...f.pods.values()].map((p) => [`${p.namespace}/${p.name}`, p.uid]));
                const r = await drain(f);
                // Counted as pods to move, 3.6 CPUs of static pods would not fit on two 1-CPU workers.
                assert.equal(r.code, 0, r.stderr);
                for (const key of ["kube-system/kube-apiserver-cp-1", "kube-system/etcd-cp-1"]) {
                    const pod = f.pods.get(key);
                    assert.ok(pod, `${key} is gone`);
                    assert.equal(pod.uid, before.get(key), `${key} was deleted and mirrored again`);
                    assert.ok(pod.annotations?.[MIRROR_ANNOTATION]);
                }
                assert.equal(f.events.filter((e) => e.object.startsWith("kube-system/")).length, 0);
                assert.deepEqual(
                    f
                        .podsOn("cp-1")
                        .filter((p) => p.namespace === "default")
                        .map((p) => p.name),
                    [],
                );
            }));

        test("a blocked drain names the pod that blocks it, not the mirror pods that stay by design", () =>
            withFixture(
                (f) => {
                    controlPlane(f);
                    f.addPdb({ namespace: "default", name: "web", selector: { app: "web" }, maxUnavailable: 0 });
                },
                async (f) => {
                    const r = await drain(f, { K8SU_DRAIN_TIMEOUT_SECONDS: "4" });
                    assert.notEqual(r.code, 0);
                    const blockers = r.stderr.slice(r.stderr.indexOf("pods still on cp-1"));
                    assert.match(blockers, /- default\/web-0/);
                    assert.doesNotMatch(blockers, /kube-apiserver|etcd|kube-scheduler|kube-proxy/);
                },
            ));
    });
});
