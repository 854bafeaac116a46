// Every generated script that talks to Kubernetes, run by bash with the real kubectl against the real control
// plane (test/fixture/real-cluster.ts: kube-apiserver 1.34, the disruption, ReplicaSet, DaemonSet and
// node-lifecycle controllers, kube-scheduler, and kwok's kubelets).
//
// Two kubectl minors: 1.33, inside kubectl's supported skew of one minor around the 1.34 server, and 1.32, one
// minor outside it, which users meet when their CI runner's kubectl lags the cluster by an upgrade. Both must
// work: a script that only passes with the newest kubectl fails on the runners that upgrade last.
//
// Tests that count every node, pod or budget of the cluster (pre-flight, the drain's capacity floor) run first, one
// at a time, each removing its nodes, budgets and kube-system pods before the next; the others then run side by
// side, each on its own nodes. The LKE scripts are tested in test/real-lke.test.ts, beside a Linode API stand-in.

import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, test } from "node:test";
import { preflightEnvironment } from "../components/removed-apis";
import { FaultProxy } from "./fixture/fault-proxy";
import { NodeWatch, PodWatch } from "./fixture/pod-watch";
import { KUBECTL_FOR_SERVER, podTemplate, realCluster, sleep, type Workload } from "./fixture/real-cluster";
import { alone, bluePool, budgetStatus, containerWaiting, greenPool, join, nodeNotReady } from "./fixture/real-pools";
import { availableKubectlMinors, runScript } from "./fixture/run-script";

const rc = realCluster("scripts");

/** 1.33: the supported skew for a 1.34 server; 1.32: one minor outside it (see the header). */
const KUBECTL_MINORS = [KUBECTL_FOR_SERVER, "1.32"];
const drainEnv = {
    K8SU_CLUSTER: "apps",
    K8SU_BATCH_SIZE: "2",
    K8SU_SOAK_SECONDS: "1",
    K8SU_GRACE_SECONDS: "5",
    K8SU_DRAIN_TIMEOUT_SECONDS: "60",
    K8SU_DELETE_EMPTYDIR_DATA: "false",
};

function run(kind: Parameters<typeof runScript>[0], env: Record<string, string>, kubectl: string, kubeconfig?: string) {
    return runScript(kind, { K8SU_KUBECONFIG: kubeconfig ?? rc.kubeconfig(), ...env }, kubectl, {
        killAfterMs: 300_000,
    });
}

/** A test's id with the kubectl minor in it: "dr" and 1.33 give "dr-133". */
const idFor = (id: string, kubectl: string) => `${id}-${kubectl.replace(".", "")}`;

/**
 * Three blue nodes at the old kubelet running six web pods (budget: one at a time) and a DaemonSet, then three
 * empty green nodes at the server's version. The web pods are created before the green nodes exist, so they all
 * run on blue.
 */
async function blueGreen(
    id: string,
    ns: string,
    web: Partial<Workload> = {},
): Promise<{ blue: string[]; green: string[] }> {
    const blue = await bluePool(rc, id, 3);
    await rc.daemonSet(ns, "agent", { nodeSelector: { test: id }, exitAfter: "1s" });
    await rc.deployment(ns, "web", { nodeSelector: { test: id }, replicas: 6, exitAfter: "1s", ...web });
    await rc.pdb(ns, "web", { maxUnavailable: 1 });
    await rc.waitReady(ns, "web", 6);
    const green = await greenPool(rc, id, 3);
    await rc.waitReady(ns, "agent", 6);
    await budgetStatus(rc, ns, "web", (s) => s.expectedPods === 6 && s.disruptionsAllowed === 1);
    return { blue, green };
}

/**
 * A kube-system pod labelled with the test's id (so that the test can remove it): bound to `node`, or left to the
 * scheduler with a nodeSelector no node matches (it stays Pending, Unschedulable).
 */
async function systemPod(id: string, name: string, container: string, node?: string): Promise<void> {
    const t = podTemplate(name, { replicas: 1 }) as {
        metadata: Record<string, unknown>;
        spec: { containers: Array<{ name: string; image: string }> };
    };
    t.spec.containers[0]!.name = container;
    t.spec.containers[0]!.image = `registry.example/${container}:1`;
    await rc.api.create("/api/v1/namespaces/kube-system/pods", {
        metadata: { name, labels: { app: name, test: id } },
        spec: node ? { ...t.spec, nodeName: node } : { ...t.spec, nodeSelector: { test: id, pool: "none" } },
    });
}

async function waitPodRunning(ns: string, name: string): Promise<void> {
    for (let i = 0; i < 300; i++) {
        const p = await rc.api.get<{ status?: { phase?: string } }>(`/api/v1/namespaces/${ns}/pods/${name}`);
        if (p.status?.phase === "Running") return;
        await sleep(200);
    }
    throw new Error(`${ns}/${name} never ran`);
}

async function cordoned(id: string): Promise<string[]> {
    const list = await rc.api.get<{ items: Array<{ metadata: { name: string }; spec?: { unschedulable?: boolean } }> }>(
        `/api/v1/nodes?labelSelector=${encodeURIComponent(`test=${id}`)}`,
    );
    return list.items
        .filter((n) => n.spec?.unschedulable)
        .map((n) => n.metadata.name)
        .sort();
}

test("the machine has the kubectl minors these tests use", () => {
    for (const m of KUBECTL_MINORS)
        assert.ok(
            availableKubectlMinors().includes(m),
            `kubectl.${m} is missing; have ${availableKubectlMinors().join(", ")}`,
        );
});

describe("alone on the control plane: checks that count every node, pod and budget", { concurrency: false }, () => {
    for (const kubectl of KUBECTL_MINORS) {
        test(`pre-flight passes on a healthy cluster (kubectl ${kubectl})`, () => {
            const id = idFor("pfok", kubectl);
            return alone(rc, id, async (ns) => {
                await blueGreen(id, ns);
                const r = await run("preflight", preflightEnvironment("1.35"), kubectl);
                assert.equal(r.code, 0, r.stderr);
                assert.match(r.stderr, /API server ready/);
                assert.match(r.stderr, /pre-flight passed for an upgrade to 1\.35/);
            });
        });

        test(`pre-flight fails, naming the culprits: a NotReady node, a blocking budget, a removed API, a failing system pod (kubectl ${kubectl})`, () => {
            const id = idFor("pfbad", kubectl);
            return alone(rc, id, async (ns) => {
                const { green } = await blueGreen(id, ns);
                await rc.deployment(ns, "ledger", { nodeSelector: { pool: `${id}-blue` }, replicas: 2 });
                await rc.pdb(ns, "ledger", { minAvailable: 2 });
                await rc.waitReady(ns, "ledger", 2);
                await budgetStatus(rc, ns, "ledger", (s) => s.expectedPods === 2 && s.currentHealthy === 2);
                await nodeNotReady(rc, green[1]!);
                // A system pod no node can take: it stays Pending.
                await systemPod(id, `coredns-${id}`, "coredns");
                // v1 Endpoints is deprecated with no removal planned: the real metric lists it, with no release.
                await rc.api.get(`/api/v1/namespaces/${ns}/endpoints`);
                // No API the 1.34 server serves has a removal release, so the proxy adds the samples a server that
                // still served such APIs would report: one removed by 1.27 (gone by the 1.35 target), one by 1.36.
                const { pki } = rc.c;
                const proxy = new FaultProxy(rc.c.state.server, {
                    cert: pki.serverCert,
                    key: pki.serverKey,
                    ca: pki.caCert,
                });
                const url = await proxy.start();
                proxy.inject({
                    match: /^GET \/metrics/,
                    append:
                        'apiserver_requested_deprecated_apis{group="storage.k8s.io",removed_release="1.27",resource="csistoragecapacities",subresource="",version="v1beta1"} 1\n' +
                        'apiserver_requested_deprecated_apis{group="example.k8s.io",removed_release="1.36",resource="widgets",subresource="",version="v1beta1"} 1\n',
                });
                let r: Awaited<ReturnType<typeof run>>;
                try {
                    r = await run("preflight", preflightEnvironment("1.35"), kubectl, rc.kubeconfigFor(url));
                } finally {
                    await proxy.stop();
                }
                assert.equal(r.code, 1, r.stderr);
                assert.ok(
                    proxy.requests.some((l) => l.startsWith("GET /metrics")),
                    "the metric was read through the proxy",
                );
                assert.match(
                    r.stderr,
                    new RegExp(`node ${green[1]} is not Ready \\(Ready=False, kubelet v1\\.34\\.4\\)`),
                );
                assert.match(
                    r.stderr,
                    new RegExp(
                        `PodDisruptionBudget ${ns}/ledger allows no disruption \\(2 pod\\(s\\) expected, 0 may be evicted\\)`,
                    ),
                );
                assert.match(
                    r.stderr,
                    /deprecated API in use that 1\.27 removes: storage\.k8s\.io\/v1beta1 csistoragecapacities/,
                );
                assert.doesNotMatch(r.stderr, /widgets/, "an API removed only after the target is no blocker");
                assert.doesNotMatch(r.stderr, /removes: [^\n]*endpoints/, "a deprecation with no removal is none");
                assert.match(r.stderr, new RegExp(`kube-system pod coredns-${id} \\(Pending\\) is not Running`));
                // The count heads the list (a survivor of the script mutation runner dropped that line).
                assert.match(r.stderr, /pre-flight found 4 problem\(s\):/);
                assert.match(r.stderr, /pre-flight checks failed; nothing was changed/);
                assert.deepEqual(await cordoned(id), [], "the pre-flight cordoned nothing");
            });
        });

        test(`drain refuses when capacity elsewhere is too small, and can be skipped for a whole-cluster destroy (kubectl ${kubectl})`, () => {
            const id = idFor("cap", kubectl);
            return alone(rc, id, async (ns) => {
                const { blue } = await blueGreen(id, ns);
                const env = { ...drainEnv, K8SU_SELECTOR: `pool=${id}-blue`, K8SU_MIN_READY_ELSEWHERE: "4" };
                const r = await run("drain", env, kubectl);
                assert.equal(r.code, 1, r.stderr);
                assert.match(
                    r.stderr,
                    new RegExp(
                        `only 3 Ready, schedulable node\\(s\\) outside ${blue.join(" ")}; taking out 3 node\\(s\\) needs 4\\. Nothing was cordoned or drained`,
                    ),
                );
                assert.deepEqual(await cordoned(id), []);
                assert.equal((await rc.pods(ns, "app=web")).filter((p) => p.terminating).length, 0);
                const skipped = await run("drain", { ...env, K8S_UPGRADES_SKIP_DRAIN: "apps" }, kubectl);
                assert.equal(skipped.code, 0, skipped.stderr);
                assert.match(skipped.stderr, new RegExp(`K8S_UPGRADES_SKIP_DRAIN=apps: not draining pool=${id}-blue`));
                assert.deepEqual(await cordoned(id), []);
            });
        });
    }

    describe("pre-flight: removed APIs, system pods and pluto", () => {
        const kubectl = KUBECTL_FOR_SERVER;
        const preflight = (env: Record<string, string>, pathPrefix: string[] = []) =>
            runScript("preflight", { K8SU_KUBECONFIG: rc.kubeconfig(), ...env }, kubectl, { pathPrefix });

        test("the live objects of every API version the target removes are listed: those written through it fail, though the metric is empty; the output says what each check covered", () =>
            alone(rc, "rmapi", async (ns) => {
                await greenPool(rc, "rmapi", 1);
                // The 1.34 server serves no API version that 1.35 removes. HorizontalPodAutoscalers are served as
                // autoscaling/v1 and v2, so autoscaling/v1 stands in for a version the target stops serving; the
                // server records in managedFields which version each writer used. flowcontrol v1beta3 is really
                // gone (removed in 1.32): not served.
                const removed = {
                    K8SU_TARGET_MINOR: "1.35",
                    K8SU_REMOVED_APIS:
                        "autoscaling/v1 horizontalpodautoscalers\nflowcontrol.apiserver.k8s.io/v1beta3 prioritylevelconfigurations",
                };
                const hpa = (version: string, name: string) => ({
                    apiVersion: `autoscaling/${version}`,
                    kind: "HorizontalPodAutoscaler",
                    metadata: { name },
                    spec: {
                        scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name },
                        minReplicas: 1,
                        maxReplicas: 3,
                    },
                });
                await rc.api.create(
                    `/apis/autoscaling/v2/namespaces/${ns}/horizontalpodautoscalers?fieldManager=v2-client`,
                    hpa("v2", "current"),
                );
                await rc.api.create(
                    `/apis/autoscaling/v1/namespaces/${ns}/horizontalpodautoscalers?fieldManager=helm`,
                    hpa("v1", "legacy-batch"),
                );
                const r = await preflight(removed);
                assert.equal(r.code, 1, r.stderr);
                assert.match(
                    r.stderr,
                    new RegExp(
                        `1 of 2 horizontalpodautoscalers written through autoscaling/v1, which 1\\.35 removes: ${ns}/legacy-batch;`,
                    ),
                );
                assert.doesNotMatch(r.stderr, /removes: [^\n]*current/, "an object only a v2 client wrote moves on");
                assert.match(
                    r.stderr,
                    /flowcontrol\.apiserver\.k8s\.io\/v1beta3 prioritylevelconfigurations is not served/,
                );
                assert.match(r.stderr, /checked the 2 API version\(s\) 1\.35 stops serving, 1 served here/);
                assert.match(r.stderr, /as counted by the API server instance that answered since it started/);
                assert.match(r.stderr, /pre-flight found 1 problem\(s\):/);
                // Only the v2 writer: nothing to move, the pre-flight passes.
                await rc.api.must(
                    "DELETE",
                    `/apis/autoscaling/v2/namespaces/${ns}/horizontalpodautoscalers/legacy-batch`,
                );
                const clean = await preflight(removed);
                assert.equal(clean.code, 0, clean.stderr);
                assert.match(
                    clean.stderr,
                    /horizontalpodautoscalers: 1 object\(s\), 0 written through autoscaling\/v1/,
                );
            }));

        test("the API versions a target removes come from the deprecation guide's table; without them the pre-flight refuses to run", () =>
            alone(rc, "rmtable", async () => {
                assert.deepEqual(preflightEnvironment("1.32").K8SU_REMOVED_APIS.split("\n"), [
                    "flowcontrol.apiserver.k8s.io/v1beta3 flowschemas",
                    "flowcontrol.apiserver.k8s.io/v1beta3 prioritylevelconfigurations",
                ]);
                assert.match(
                    preflightEnvironment("1.25").K8SU_REMOVED_APIS,
                    /^policy\/v1beta1 podsecuritypolicies no-replacement$/m,
                );
                assert.equal(preflightEnvironment("1.35").K8SU_REMOVED_APIS, "");
                await greenPool(rc, "rmtable", 1);
                const none = await preflight(preflightEnvironment("1.35"));
                assert.equal(none.code, 0, none.stderr);
                assert.match(none.stderr, /1\.35 stops serving no API version/);
                // What 1.32 removed is gone from the 1.34 server: listed as not served, no blocker.
                const gone = await preflight(preflightEnvironment("1.32"));
                assert.equal(gone.code, 0, gone.stderr);
                assert.match(gone.stderr, /checked the 2 API version\(s\) 1\.32 stops serving, 0 served here/);
                const unset = await preflight({ K8SU_TARGET_MINOR: "1.35" });
                assert.equal(unset.code, 1);
                assert.match(unset.stderr, /K8SU_REMOVED_APIS is not set/);
            }));

        test("kube-system pods Running with a container in CrashLoopBackOff or ImagePullBackOff fail the pre-flight", () =>
            alone(rc, "crash", async () => {
                const [n1, n2, n3] = await greenPool(rc, "crash", 3);
                await systemPod("crash", "coredns-7db6d8ff4d-x2x9k", "coredns", n1!);
                await systemPod("crash", "metrics-server-5d9f9b8b6-q8r2m", "metrics-server", n2!);
                await systemPod("crash", "etcd-cp-1", "etcd", n3!);
                for (const p of ["coredns-7db6d8ff4d-x2x9k", "metrics-server-5d9f9b8b6-q8r2m", "etcd-cp-1"])
                    await waitPodRunning("kube-system", p);
                await containerWaiting(rc, "kube-system", "coredns-7db6d8ff4d-x2x9k", "coredns", "CrashLoopBackOff");
                await containerWaiting(
                    rc,
                    "kube-system",
                    "metrics-server-5d9f9b8b6-q8r2m",
                    "metrics-server",
                    "ImagePullBackOff",
                );
                const r = await preflight(preflightEnvironment("1.35"));
                assert.equal(r.code, 1, r.stderr);
                assert.match(
                    r.stderr,
                    /kube-system pod coredns-7db6d8ff4d-x2x9k: container coredns is waiting in CrashLoopBackOff/,
                );
                assert.match(
                    r.stderr,
                    /kube-system pod metrics-server-5d9f9b8b6-q8r2m: container metrics-server is waiting in ImagePullBackOff/,
                );
                assert.doesNotMatch(r.stderr, /etcd-cp-1/);
                assert.match(r.stderr, /pre-flight found 2 problem\(s\):/);
            }));

        test("pluto exiting 3 (removed APIs found) fails the pre-flight; exiting 2 (deprecated only) does not", () =>
            alone(rc, "pluto", async () => {
                await greenPool(rc, "pluto", 1);
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
                        { mode: 0o755 },
                    );
                    const r = await preflight(preflightEnvironment("1.35"), [bin]);
                    assert.equal(r.code, want, `pluto exit ${exit}: ${r.stderr}`);
                    if (exit === 3) assert.match(r.stderr, /pluto found APIs removed in 1\.35/);
                    assert.match(r.stderr, new RegExp(`removed APIs, pluto: .* \\(exit ${exit}\\)`));
                }
            }));
    });
});

describe("scripts side by side, each test on its own nodes", { concurrency: true }, () => {
    for (const kubectl of KUBECTL_MINORS) {
        describe(`with kubectl ${kubectl}`, { concurrency: true }, () => {
            test("wait-ready succeeds once nodes are Ready at the target, and times out cleanly otherwise", async () => {
                const id = idFor("wr", kubectl);
                const green = await greenPool(rc, id, 3);
                const late = green[2]!;
                // Its kubelet restarting: NotReady (and tainted not-ready by the node-lifecycle controller) until it
                // reports Ready again.
                await nodeNotReady(rc, late);
                const env = {
                    K8SU_SELECTOR: `pool=${id}-green`,
                    K8SU_EXPECTED_NODES: "3",
                    K8SU_TARGET_MINOR: "1.34",
                };
                const waiting = run("wait-ready", { ...env, K8SU_TIMEOUT_SECONDS: "120" }, kubectl);
                setTimeout(() => void join(rc, late), 1500);
                const ok = await waiting;
                assert.equal(ok.code, 0, ok.stderr);
                assert.match(ok.stderr, new RegExp(`3 node\\(s\\) matching pool=${id}-green Ready at 1\\.34`));
                await nodeNotReady(rc, green[0]!);
                const timedOut = await run("wait-ready", { ...env, K8SU_TIMEOUT_SECONDS: "2" }, kubectl);
                assert.equal(timedOut.code, 1);
                assert.match(timedOut.stderr, new RegExp(`- ${green[0]} version=v1\\.34\\.4 ready=False`));
                // The count is the nodes the script listed as Ready and free of the not-ready and unreachable taints.
                // Usually two; but the node-lifecycle controller can taint the node that just came back (from a
                // health pass that read it before it reported Ready) for a few seconds after it is Ready, and such a
                // node is rightly not counted.
                const listed = [...timedOut.stderr.matchAll(/^ {2}- \S+ version=\S+ ready=(\S+) taints=(.*)$/gm)];
                assert.equal(listed.length, 3, timedOut.stderr);
                const usable = listed.filter(
                    ([, ready, taints]) =>
                        ready === "True" && !/node\.kubernetes\.io\/(not-ready|unreachable),/.test(taints!),
                ).length;
                assert.ok(usable <= 2, timedOut.stderr);
                assert.match(
                    timedOut.stderr,
                    new RegExp(
                        `only ${usable} of 3 node\\(s\\) matching pool=${id}-green became Ready at 1\\.34 within 2s`,
                    ),
                );
                rc.assertHealthy();
            });

            test("validation catches a node at the old version and passes when all are upgraded", async () => {
                const id = idFor("val", kubectl);
                await bluePool(rc, id, 2);
                await greenPool(rc, id, 2);
                const bad = await run(
                    "validate",
                    { K8SU_TARGET_MINOR: "1.34", K8SU_SELECTORS: `pool=${id}-green\npool=${id}-blue` },
                    kubectl,
                );
                assert.equal(bad.code, 1);
                assert.match(
                    bad.stderr,
                    new RegExp(`node ${id}-blue-1 \\(pool=${id}-blue\\) runs kubelet v1\\.33\\.7, not 1\\.34`),
                );
                const good = await run(
                    "validate",
                    { K8SU_TARGET_MINOR: "1.34", K8SU_SELECTORS: `pool=${id}-green` },
                    kubectl,
                );
                assert.equal(good.code, 0, good.stderr);
                assert.equal(good.stdout.trim(), "validated 1.34");
                rc.assertHealthy();
            });

            test("drain: every blue node cordoned before the first eviction, batches of two, one eviction per pod, the budget never broken", async () => {
                const id = idFor("dr", kubectl);
                const ns = await rc.namespace(id);
                // A replacement is Ready 2 s after it is scheduled: the budget, not luck, keeps five Ready.
                const { blue } = await blueGreen(id, ns, { readyAfter: "2s" });
                const before = (await rc.pods(ns, "app=web")).map((p) => p.name).sort();
                const pods = await PodWatch.start(rc.api, ns, ["web"]);
                const nodes = await NodeWatch.start(rc.api, `test=${id}`);
                const r = await run(
                    "drain",
                    { ...drainEnv, K8SU_SELECTOR: `pool=${id}-blue`, K8SU_MIN_READY_ELSEWHERE: "3" },
                    kubectl,
                );
                await pods.stop();
                nodes.stop();
                assert.equal(r.code, 0, r.stderr);
                assert.deepEqual([...nodes.cordonedAt.keys()].sort(), blue);
                const lastCordon = Math.max(...nodes.cordonedAt.values());
                const firstEviction = Math.min(...pods.evictions.map((e) => e.revision));
                assert.ok(lastCordon < firstEviction, "all blue nodes are cordoned before any eviction");
                assert.match(
                    r.stderr,
                    new RegExp(`drain batch 1: ${blue[0]} ${blue[1]}\\n[\\s\\S]*drain batch 2: ${blue[2]}`),
                );
                // Every web pod that ran on blue was evicted once, and no replacement was evicted after it.
                assert.deepEqual(
                    pods
                        .evictedOf("web")
                        .map((e) => e.pod)
                        .sort(),
                    before,
                );
                assert.equal(pods.evictedOf("agent").length, 0, "DaemonSet pods stay");
                assert.ok(
                    pods.fewestReady("web") >= 5,
                    `the budget allows one web pod down; saw ${pods.fewestReady("web")} Ready`,
                );
                const after = await rc.waitReady(ns, "web", 6);
                assert.deepEqual(
                    after.map((p) => p.node?.startsWith(`${id}-green-`)),
                    Array(6).fill(true),
                    "every web pod runs on green",
                );
                rc.assertHealthy();
            });

            test("a drain that cannot finish fails naming the blocking pods; nodes stay cordoned and the pods stay", async () => {
                const id = idFor("block", kubectl);
                const ns = await rc.namespace(id);
                // The ledger's two pods on blue-1: it is the only node when they are scheduled.
                const [blue1] = await bluePool(rc, id, 1);
                await rc.deployment(ns, "ledger", { nodeSelector: { test: id }, replicas: 2, exitAfter: "1s" });
                await rc.pdb(ns, "ledger", { minAvailable: 2 });
                await rc.waitReady(ns, "ledger", 2);
                await rc.nodes(
                    [2, 3].map((i) => ({
                        name: `${id}-blue-${i}`,
                        labels: { pool: `${id}-blue`, test: id },
                        kubeletVersion: "v1.33.7",
                    })),
                );
                await rc.daemonSet(ns, "agent", { nodeSelector: { test: id }, exitAfter: "1s" });
                await greenPool(rc, id, 3);
                await budgetStatus(rc, ns, "ledger", (s) => s.expectedPods === 2 && s.currentHealthy === 2);
                const r = await run(
                    "drain",
                    {
                        ...drainEnv,
                        K8SU_SELECTOR: `pool=${id}-blue`,
                        K8SU_MIN_READY_ELSEWHERE: "3",
                        K8SU_DRAIN_TIMEOUT_SECONDS: "6",
                    },
                    kubectl,
                );
                assert.equal(r.code, 1, r.stderr);
                assert.match(
                    r.stderr,
                    new RegExp(`pods still on ${blue1}[^\\n]*:\\n( {2}- [^\\n]*\\n)* {2}- ${ns}/ledger-`),
                );
                assert.doesNotMatch(r.stderr, new RegExp(`- ${ns}/agent-`), "DaemonSet pods are no blockers");
                assert.match(
                    r.stderr,
                    new RegExp(
                        `drain did not finish for ${blue1}( ${id}-blue-2)?; the nodes stay cordoned and their pool stays in place`,
                    ),
                );
                assert.deepEqual(await cordoned(id), [blue1, `${id}-blue-2`, `${id}-blue-3`]);
                const ledger = (await rc.pods(ns, "app=ledger")).filter((p) => !p.terminating);
                assert.deepEqual(
                    ledger.map((p) => [p.node, p.ready]),
                    [
                        [blue1, true],
                        [blue1, true],
                    ],
                );
                rc.assertHealthy();
            });

            test("pods with emptyDir data block the drain unless deleting it was chosen", async () => {
                const id = idFor("ed", kubectl);
                const ns = await rc.namespace(id);
                await bluePool(rc, id, 3);
                await rc.deployment(ns, "cache", {
                    nodeSelector: { test: id },
                    replicas: 1,
                    emptyDir: true,
                    exitAfter: "1s",
                });
                const [cache] = await rc.waitReady(ns, "cache", 1);
                await greenPool(rc, id, 3);
                const env = { ...drainEnv, K8SU_SELECTOR: `pool=${id}-blue`, K8SU_MIN_READY_ELSEWHERE: "3" };
                const refused = await run("drain", env, kubectl);
                assert.equal(refused.code, 1, refused.stderr);
                assert.match(
                    refused.stderr,
                    new RegExp(`pods still on ${cache!.node}[^\\n]*:\\n {2}- ${ns}/${cache!.name}`),
                );
                assert.match(
                    refused.stderr,
                    new RegExp(`cannot delete Pods with local storage[^\\n]*${ns}/${cache!.name}`),
                );
                const still = (await rc.pods(ns, "app=cache")).find((p) => p.name === cache!.name);
                assert.ok(still && !still.terminating, "the pod with emptyDir data was not evicted");
                const allowed = await run("drain", { ...env, K8SU_DELETE_EMPTYDIR_DATA: "true" }, kubectl);
                assert.equal(allowed.code, 0, allowed.stderr);
                const [moved] = await rc.waitReady(ns, "cache", 1);
                assert.match(moved!.node ?? "", new RegExp(`^${id}-green-`));
                rc.assertHealthy();
            });

            test("cordon takes every selector at once", async () => {
                const id = idFor("co", kubectl);
                const blue = await bluePool(rc, id, 3);
                await rc.nodes([{ name: `${id}-batch-1`, labels: { pool: `${id}-batch-old`, test: id } }]);
                await greenPool(rc, id, 3);
                const r = await run("cordon", { K8SU_SELECTORS: `pool=${id}-blue\npool=${id}-batch-old` }, kubectl);
                assert.equal(r.code, 0, r.stderr);
                assert.deepEqual(await cordoned(id), [`${id}-batch-1`, ...blue].sort());
                rc.assertHealthy();
            });
        });
    }
});
