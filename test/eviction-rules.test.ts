// The eviction rules of kube-apiserver and the disruption controller, each shown through the real drain (the
// generated drain.sh, which runs the real `kubectl drain`) against the real control plane, so that a script that
// only passes against a forgiving server fails here:
// - percentage budgets, rounded up by the disruption controller (pkg/controller/disruption/disruption.go,
//   getExpectedPodCount: intstr.GetScaledValueFromIntOrPercent(..., roundUp=true) for minAvailable and
//   maxUnavailable);
// - unhealthyPodEvictionPolicy (pkg/registry/core/pod/storage/eviction.go): a Running pod that is not Ready may be
//   evicted under AlwaysAllow, or under IfHealthyBudget (the default) only while the budget is healthy. A Pending
//   pod is evicted whatever its budget says (canIgnorePDB), so the unready pods here are Running with Ready=False,
//   as the kubelet reports a pod whose readiness probe fails;
// - 500 with the apiserver's own message for a pod that two budgets select;
// - mirror pods of static control plane pods, which `kubectl drain` skips (k8s.io/kubectl/pkg/drain/filters.go,
//   mirrorPodFilter) and which the drain's capacity check and blocker report must leave out.
// Each test has its own namespace and nodes; they run side by side on one control plane.

import * as assert from "node:assert/strict";
import { describe, test } from "node:test";
import { PodWatch } from "./fixture/pod-watch";
import { type Budget, KUBECTL_FOR_SERVER, podTemplate, realCluster, type Workload } from "./fixture/real-cluster";
import { bluePool, budgetStatus, cordon, greenPool, podNotReady, scale } from "./fixture/real-pools";
import { runScript } from "./fixture/run-script";

const rc = realCluster("eviction-rules");

const drainEnv = {
    K8SU_CLUSTER: "apps",
    K8SU_BATCH_SIZE: "1",
    K8SU_SOAK_SECONDS: "0",
    K8SU_GRACE_SECONDS: "",
    K8SU_DRAIN_TIMEOUT_SECONDS: "60",
    K8SU_DELETE_EMPTYDIR_DATA: "false",
    K8SU_MIN_READY_ELSEWHERE: "1",
};

/** The apiserver's answer to an eviction of a pod that two budgets select (eviction.go). */
const TWO_BUDGETS_MESSAGE =
    "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.";
/** Its answer (429) when the budget allows no disruption now; kubectl drain retries it every 5 s. */
const BUDGET_REFUSAL = "Cannot evict pod as it would violate the pod's disruption budget.";

function drain(id: string, env: Record<string, string> = {}) {
    return runScript(
        "drain",
        { K8SU_KUBECONFIG: rc.kubeconfig(), ...drainEnv, K8SU_SELECTOR: `pool=${id}-blue`, ...env },
        KUBECTL_FOR_SERVER,
        { killAfterMs: 300_000 },
    );
}

/**
 * Web pods spread as the test needs them: `onBlue` of `total` on the one blue node, the rest on the two green
 * nodes. The blue pods are scheduled while the blue node is the only one; the blue node is cordoned
 * while the rest are, then uncordoned. Returns the pods on each side.
 */
async function spread(
    id: string,
    ns: string,
    onBlue: number,
    total: number,
    w: Partial<Workload> = {},
): Promise<{ blue: string; onBluePods: string[]; onGreenPods: string[] }> {
    const [blue] = await bluePool(rc, id, 1);
    await rc.deployment(ns, "web", { nodeSelector: { test: id }, replicas: onBlue, exitAfter: "1s", ...w });
    await rc.waitReady(ns, "web", onBlue);
    await cordon(rc, blue!);
    await greenPool(rc, id, 2);
    if (total > onBlue) {
        await scale(rc, ns, "web", total);
        await rc.waitReady(ns, "web", total);
    }
    await cordon(rc, blue!, false);
    const pods = await rc.waitReady(ns, "web", total);
    return {
        blue: blue!,
        onBluePods: pods.filter((p) => p.node === blue).map((p) => p.name),
        onGreenPods: pods.filter((p) => p.node !== blue).map((p) => p.name),
    };
}

const webOn = async (ns: string, node: string) =>
    (await rc.pods(ns, "app=web")).filter((p) => p.node === node && !p.terminating);

// The groups run side by side: each test has its own namespace and nodes.
describe("eviction rules", { concurrency: true }, () => {
    describe("percentage budgets, rounded up as the disruption controller does", { concurrency: true }, () => {
        test("the budget's numbers: percentages of the controllers' scale, rounded up", async () => {
            const ns = await rc.namespace("pct");
            await greenPool(rc, "pct", 2);
            // [budget, replicas, desiredHealthy, disruptionsAllowed]: literal values of ceil(percent × scale / 100).
            const table: Array<[Budget, number, number, number]> = [
                [{ minAvailable: "50%" }, 3, 2, 1],
                [{ minAvailable: "25%" }, 3, 1, 2],
                [{ minAvailable: "34%" }, 3, 2, 1],
                [{ minAvailable: "10%" }, 1, 1, 0],
                [{ minAvailable: "100%" }, 5, 5, 0],
                [{ minAvailable: 2 }, 7, 2, 5],
                [{ maxUnavailable: "25%" }, 3, 2, 1],
                [{ maxUnavailable: "34%" }, 3, 1, 2],
                [{ maxUnavailable: "25%" }, 4, 3, 1],
                [{ maxUnavailable: "0%" }, 5, 5, 0],
                [{ maxUnavailable: "100%" }, 5, 0, 5],
            ];
            const names = table.map((_, i) => `b${i}`);
            for (const [i, [budget, replicas]] of table.entries()) {
                await rc.deployment(ns, names[i]!, { nodeSelector: { test: "pct" }, replicas, cpu: "10m" });
                await rc.pdb(ns, names[i]!, budget);
            }
            for (const [i, [budget, replicas, desired, allowed]] of table.entries()) {
                const s = await budgetStatus(
                    rc,
                    ns,
                    names[i]!,
                    (st) => st.expectedPods === replicas && st.currentHealthy === replicas,
                );
                const row = `${JSON.stringify(budget)} of ${replicas}`;
                assert.equal(s.desiredHealthy, desired, `${row}: desiredHealthy`);
                assert.equal(s.disruptionsAllowed, allowed, `${row}: disruptionsAllowed`);
            }
            // A string that is not a percentage is refused by the API's validation.
            const bad = await rc.api.request("POST", `/apis/policy/v1/namespaces/${ns}/poddisruptionbudgets`, {
                metadata: { name: "not-a-percentage" },
                spec: { selector: { matchLabels: { app: "b0" } }, minAvailable: "50" },
            });
            assert.equal(bad.status, 422, bad.text);
            assert.match(bad.text, /percent/);
            rc.assertHealthy();
        });

        test('minAvailable "50%" of 3 keeps 2 Ready: the drain evicts one pod at a time and waits for its replacement', async () => {
            const ns = await rc.namespace("half");
            // A replacement is Ready 3 s after it is scheduled: until then the budget holds the next eviction. (Ready
            // at once, the replacement would free the budget within the apiserver's own 500 ms conflict retry.)
            const { blue } = await spread("half", ns, 3, 3, { readyAfter: "3s" });
            await rc.pdb(ns, "web", { minAvailable: "50%" });
            await budgetStatus(rc, ns, "web", (s) => s.expectedPods === 3 && s.disruptionsAllowed === 1);
            const pods = await PodWatch.start(rc.api, ns, ["web"]);
            const r = await drain("half");
            await pods.stop();
            assert.equal(r.code, 0, r.stderr);
            // Rounded down (1), two blue pods would go at once and only one web pod would stay Ready.
            assert.equal(pods.fewestReady("web"), 2, "Ready web pods fell below 50% of 3 rounded up");
            assert.ok(
                r.stderr.includes(BUDGET_REFUSAL),
                `the second eviction should wait for the budget:\n${r.stderr}`,
            );
            assert.equal(pods.evictedOf("web").length, 3);
            assert.deepEqual(await webOn(ns, blue), []);
            rc.assertHealthy();
        });

        test('maxUnavailable "25%" of 3 allows one disruption: the drain finishes instead of waiting forever', async () => {
            const ns = await rc.namespace("quarter");
            const { blue } = await spread("quarter", ns, 2, 3);
            await rc.pdb(ns, "web", { maxUnavailable: "25%" });
            await budgetStatus(rc, ns, "web", (s) => s.expectedPods === 3 && s.currentHealthy === 3);
            const pods = await PodWatch.start(rc.api, ns, ["web"]);
            // Rounded down (0), the budget would allow nothing and the drain would time out.
            const r = await drain("quarter");
            await pods.stop();
            assert.equal(r.code, 0, r.stderr);
            assert.equal(pods.fewestReady("web"), 2);
            assert.deepEqual(await webOn(ns, blue), []);
            rc.assertHealthy();
        });
    });

    describe("unhealthyPodEvictionPolicy", { concurrency: true }, () => {
        /**
         * Three web pods, `onBlue` of them on the blue node, under minAvailable 2 with `policy`: the first blue pod
         * is Running but not Ready; with `greenUnready`, a green pod as well (the budget is then unhealthy).
         */
        async function unhealthy(
            id: string,
            policy: Budget["unhealthyPodEvictionPolicy"],
            greenUnready: boolean,
            onBlue = 1,
        ) {
            const ns = await rc.namespace(id);
            const placed = await spread(id, ns, onBlue, 3);
            const unready = placed.onBluePods[0]!;
            await podNotReady(rc, ns, unready);
            if (greenUnready) await podNotReady(rc, ns, placed.onGreenPods[0]!);
            await rc.pdb(ns, "web", { minAvailable: 2, ...(policy ? { unhealthyPodEvictionPolicy: policy } : {}) });
            const healthy = greenUnready ? 1 : 2;
            const status = await budgetStatus(
                rc,
                ns,
                "web",
                (s) => s.expectedPods === 3 && s.currentHealthy === healthy,
            );
            return { ns, ...placed, unready, status };
        }

        /** The drain finishes, the budget never refusing, having evicted the unready pod and only it. */
        async function drainsOnlyTheUnready(id: string, ns: string, blue: string, unready: string): Promise<void> {
            const pods = await PodWatch.start(rc.api, ns);
            const r = await drain(id);
            await pods.stop();
            assert.equal(r.code, 0, r.stderr);
            assert.deepEqual(await webOn(ns, blue), []);
            assert.ok(!r.stderr.includes(BUDGET_REFUSAL), "the unready pod was refused");
            assert.deepEqual(
                pods.evictions.map((e) => e.pod),
                [unready],
            );
            rc.assertHealthy();
        }

        test("IfHealthyBudget (unset): an unready pod may go while the budget is healthy, though it allows no disruption", async () => {
            const { ns, blue, unready, status } = await unhealthy("ifh-ok", undefined, false);
            // 2 healthy, 2 desired: disruptionsAllowed is 0, yet the unready pod is not what keeps it healthy.
            assert.equal(status.disruptionsAllowed, 0);
            await drainsOnlyTheUnready("ifh-ok", ns, blue, unready);
        });

        test("IfHealthyBudget: an unready pod gets 429 while the budget is unhealthy; the drain fails and keeps the node cordoned", async () => {
            const { ns, blue, unready } = await unhealthy("ifh-no", "IfHealthyBudget", true);
            const r = await drain("ifh-no", { K8SU_DRAIN_TIMEOUT_SECONDS: "4" });
            assert.notEqual(r.code, 0, "the drain must not finish past a budget that refuses");
            assert.ok(r.stderr.includes(BUDGET_REFUSAL), r.stderr);
            assert.deepEqual(
                (await webOn(ns, blue)).map((p) => p.name),
                [unready],
                "the unready pod was evicted from an unhealthy budget",
            );
            assert.equal((await rc.node(blue)).unschedulable, true);
            assert.match(r.stderr, new RegExp(`drain did not finish for ${blue}`));
            assert.match(r.stderr, new RegExp(`- ${ns}/${unready}`));
            rc.assertHealthy();
        });

        test("AlwaysAllow: the unready pod goes even while the budget is unhealthy", async () => {
            const { ns, blue, unready } = await unhealthy("always", "AlwaysAllow", true);
            await drainsOnlyTheUnready("always", ns, blue, unready);
        });

        test("AlwaysAllow covers unready pods only: a Ready pod under an unhealthy budget still gets 429", async () => {
            const { ns, blue, unready, onBluePods } = await unhealthy("always-ready", "AlwaysAllow", true, 2);
            const ready = onBluePods.find((p) => p !== unready)!;
            const pods = await PodWatch.start(rc.api, ns);
            const r = await drain("always-ready", { K8SU_DRAIN_TIMEOUT_SECONDS: "4" });
            await pods.stop();
            assert.notEqual(r.code, 0);
            assert.ok(r.stderr.includes(BUDGET_REFUSAL), r.stderr);
            assert.deepEqual(
                pods.evictions.map((e) => e.pod),
                [unready],
                "the unready pod went, the Ready one stayed",
            );
            assert.deepEqual(
                (await webOn(ns, blue)).map((p) => p.name),
                [ready],
            );
            assert.match(r.stderr, new RegExp(`- ${ns}/${ready}`));
            rc.assertHealthy();
        });
    });

    describe("a pod under two budgets", () => {
        test("gets 500 with the apiserver's message; the drain stops at once, names it, and evicts nothing", async () => {
            const ns = await rc.namespace("two");
            const { blue, onBluePods } = await spread("two", ns, 2, 3);
            await rc.pdb(ns, "web", { maxUnavailable: 1 });
            await rc.api.create(`/apis/policy/v1/namespaces/${ns}/poddisruptionbudgets`, {
                metadata: { name: "everything-web" },
                spec: { selector: { matchLabels: { app: "web" } }, maxUnavailable: 1 },
            });
            for (const b of ["web", "everything-web"])
                await budgetStatus(rc, ns, b, (s) => s.expectedPods === 3 && s.disruptionsAllowed === 1);
            const pods = await PodWatch.start(rc.api, ns);
            const r = await drain("two", { K8SU_DRAIN_TIMEOUT_SECONDS: "120" });
            await pods.stop();
            assert.notEqual(r.code, 0);
            assert.ok(r.stderr.includes(TWO_BUDGETS_MESSAGE), r.stderr);
            // A 500 is not retried as a 429 is: the drain ends on it, not at its timeout.
            assert.doesNotMatch(r.stderr, /global timeout reached/);
            assert.deepEqual(pods.evictions, []);
            assert.deepEqual((await webOn(ns, blue)).map((p) => p.name).sort(), onBluePods.sort());
            assert.equal((await rc.node(blue)).unschedulable, true, "the node stays cordoned");
            rc.assertHealthy();
        });
    });

    describe("mirror pods on a control plane node", { concurrency: true }, () => {
        const STATIC = ["kube-apiserver", "etcd", "kube-scheduler"];

        /**
         * The control plane node (pool <id>-blue) carries the static control plane pods (big requests) and one web
         * pod; two workers have room for web only. A DaemonSet runs on all three.
         */
        async function controlPlane(id: string, ns: string): Promise<string> {
            const cp = `${id}-cp-1`;
            await rc.nodes([
                {
                    name: cp,
                    cpu: "4",
                    memory: "8Gi",
                    kubeletVersion: "v1.33.7",
                    labels: { pool: `${id}-blue`, test: id, "node-role.kubernetes.io/control-plane": "" },
                },
            ]);
            const node = await rc.api.get<{ metadata: { uid: string } }>(`/api/v1/nodes/${cp}`);
            for (const c of STATIC) {
                // What the kubelet posts for a static pod's manifest: a mirror, owned by the Node.
                const t = podTemplate(c, { replicas: 1, cpu: "1200m", memory: "1Gi" }) as { spec: object };
                await rc.api.create(`/api/v1/namespaces/${ns}/pods`, {
                    metadata: {
                        name: `${c}-${cp}`,
                        labels: { app: c },
                        annotations: { "kubernetes.io/config.mirror": "mirror", "kubernetes.io/config.source": "file" },
                        ownerReferences: [
                            { apiVersion: "v1", kind: "Node", name: cp, uid: node.metadata.uid, controller: true },
                        ],
                    },
                    spec: { ...t.spec, nodeName: cp },
                });
            }
            await rc.daemonSet(ns, "kube-proxy", { nodeSelector: { test: id }, exitAfter: "1s" });
            await rc.deployment(ns, "web", {
                nodeSelector: { test: id },
                replicas: 1,
                cpu: "200m",
                memory: "256Mi",
                exitAfter: "1s",
            });
            await rc.waitReady(ns, "web", 1);
            for (const c of STATIC) await rc.waitReady(ns, c, 1);
            await rc.nodes(
                [1, 2].map((i) => ({
                    name: `${id}-worker-${i}`,
                    cpu: "1",
                    memory: "2Gi",
                    labels: { pool: `${id}-green`, test: id },
                })),
            );
            await rc.waitReady(ns, "kube-proxy", 3);
            return cp;
        }

        test("the drain skips them as kubectl does, and its capacity check does not ask room for them", async () => {
            const ns = await rc.namespace("mirror");
            const cp = await controlPlane("mirror", ns);
            const mirrors = STATIC.map((c) => `${c}-${cp}`);
            const uids = async () => {
                const list = await rc.api.get<{ items: Array<{ metadata: { name: string; uid: string } }> }>(
                    `/api/v1/namespaces/${ns}/pods`,
                );
                return new Map(list.items.map((p) => [p.metadata.name, p.metadata.uid]));
            };
            const before = await uids();
            const pods = await PodWatch.start(rc.api, ns);
            const r = await drain("mirror");
            await pods.stop();
            // Counted as pods to move, 3.6 CPUs of static pods would not fit on two 1-CPU workers.
            assert.equal(r.code, 0, r.stderr);
            const after = await uids();
            for (const name of mirrors) {
                assert.ok(before.has(name), `${name} was never there`);
                assert.ok(after.has(name), `${name} is gone`);
                assert.equal(after.get(name), before.get(name), `${name} was deleted and mirrored again`);
            }
            assert.deepEqual(
                pods.evictions.map((e) => e.pod.replace(/-[a-z0-9]+-[a-z0-9]+$/, "")),
                ["web"],
                "only the web pod was evicted",
            );
            assert.deepEqual(await webOn(ns, cp), []);
            rc.assertHealthy();
        });

        test("a blocked drain names the pod that blocks it, not the mirror pods that stay by design", async () => {
            const ns = await rc.namespace("mirror-block");
            const cp = await controlPlane("mirror-block", ns);
            await rc.pdb(ns, "web", { maxUnavailable: 0 });
            await budgetStatus(rc, ns, "web", (s) => s.expectedPods === 1);
            const r = await drain("mirror-block", { K8SU_DRAIN_TIMEOUT_SECONDS: "4" });
            assert.notEqual(r.code, 0);
            const blockers = r.stderr.slice(r.stderr.indexOf(`pods still on ${cp}`));
            assert.match(blockers, new RegExp(`- ${ns}/web-`));
            assert.doesNotMatch(blockers, /kube-apiserver|etcd|kube-scheduler|kube-proxy/);
            rc.assertHealthy();
        });
    });
});
