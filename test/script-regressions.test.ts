// Bugs the generated scripts once had or could easily get, each named and killed by running the real script
// with the real kubectl against the real control plane (test/fixture/real-cluster.ts). SCRIPTS_DIR=<folder> runs
// them against other script sources (an older version, a mutant), to see which of these tests would have caught it.
// Tests that count every node of the cluster (the drain's capacity floor and its room by requests) run first, one
// at a time, each removing its nodes after it; the others then run side by side on their own nodes. The Linode
// token and LKE in-place regressions are in test/real-lke.test.ts.

import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, test } from "node:test";
import { preflightEnvironment } from "../components/removed-apis";
import type { ScriptKind } from "../components/scripts";
import { KCP_CRD } from "./fixture/crds";
import { FaultProxy } from "./fixture/fault-proxy";
import { PodWatch } from "./fixture/pod-watch";
import { KUBECTL_FOR_SERVER, podTemplate, realCluster, sleep } from "./fixture/real-cluster";
import { alone, bluePool, cordon, greenPool, nodeNotReady } from "./fixture/real-pools";
import { type RunOptions, runScript, scriptFrom, startScript } from "./fixture/run-script";

const rc = realCluster("script-regressions");

const SCRIPTS_DIR = process.env.SCRIPTS_DIR;
const opts = (kind: ScriptKind, extra: RunOptions = {}): RunOptions => ({
    ...extra,
    script: SCRIPTS_DIR ? scriptFrom(SCRIPTS_DIR, kind) : undefined,
    killAfterMs: 300_000,
});
const drainEnv = {
    K8SU_CLUSTER: "apps",
    K8SU_BATCH_SIZE: "1",
    K8SU_SOAK_SECONDS: "0",
    K8SU_GRACE_SECONDS: "",
    K8SU_DRAIN_TIMEOUT_SECONDS: "60",
    K8SU_DELETE_EMPTYDIR_DATA: "false",
    K8SU_MIN_READY_ELSEWHERE: "2",
};

/** Runs a script against the real control plane (or through a proxy in front of it: `kubeconfig`). */
function real(kind: ScriptKind, env: Record<string, string>, extra: RunOptions = {}, kubeconfig = rc.kubeconfig()) {
    return runScript(kind, { K8SU_KUBECONFIG: kubeconfig, ...env }, KUBECTL_FOR_SERVER, opts(kind, extra));
}

/** A drain of the test's blue pool. */
const drainOf = (id: string, env: Record<string, string> = {}) => ({
    ...drainEnv,
    K8SU_SELECTOR: `pool=${id}-blue`,
    ...env,
});

interface PoolsOptions {
    /** Labels of the blue nodes besides pool and test. */
    blueLabels?: Record<string, string>;
    /** The web pods' nodeSelector besides test=<id>, and whether they tolerate every taint. */
    webSelector?: Record<string, string>;
    tolerateAll?: boolean;
    /** Labels and taints of each green node, instead of two plain ones. */
    green?: Array<{ labels?: Record<string, string>; taints?: Array<{ key: string; value?: string; effect: string }> }>;
}

/**
 * Two blue nodes running four web pods (300m CPU, 512Mi each), then two green nodes; each node 1 CPU and 2 GiB
 * allocatable; a DaemonSet (no requests) on every node. The web pods are created before the green nodes exist.
 */
async function pools(id: string, ns: string, o: PoolsOptions = {}): Promise<{ blue: string[]; green: string[] }> {
    const size = { cpu: "1", memory: "2Gi" };
    const blue = await bluePool(rc, id, 2, { ...size, labels: o.blueLabels });
    await rc.daemonSet(ns, "proxy", { nodeSelector: { test: id }, cpu: "0", memory: "0", exitAfter: "1s" });
    const template = podTemplate("web", {
        replicas: 4,
        nodeSelector: { test: id, ...o.webSelector },
        cpu: "300m",
        memory: "512Mi",
        exitAfter: "1s",
    }) as { spec: Record<string, unknown> };
    if (o.tolerateAll) template.spec.tolerations = [{ operator: "Exists" }];
    await rc.api.create(`/apis/apps/v1/namespaces/${ns}/deployments`, {
        metadata: { name: "web" },
        spec: { replicas: 4, selector: { matchLabels: { app: "web" } }, template },
    });
    await rc.waitReady(ns, "web", 4);
    const green = o.green ? o.green.map((_, i) => `${id}-green-${i + 1}`) : await greenPool(rc, id, 2, size);
    if (o.green) {
        await rc.nodes(
            o.green.map((g, i) => ({
                name: green[i]!,
                ...size,
                labels: { pool: `${id}-green`, test: id, ...g.labels },
                taints: g.taints,
            })),
        );
    }
    return { blue, green };
}

async function unschedulable(node: string): Promise<boolean> {
    return (await rc.node(node)).unschedulable;
}

/** Nothing of the blue pool was cordoned and no web pod is going. */
async function untouched(ns: string, blue: string[]): Promise<void> {
    for (const n of blue) assert.equal(await unschedulable(n), false, `${n} was cordoned`);
    assert.equal((await rc.pods(ns, "app=web")).filter((p) => p.terminating).length, 0, "a web pod was evicted");
}

/** A proxy in front of the real apiserver that records every request. */
async function recordingProxy(): Promise<{ proxy: FaultProxy; kubeconfig: string }> {
    const { pki } = rc.c;
    const proxy = new FaultProxy(rc.c.state.server, { cert: pki.serverCert, key: pki.serverKey, ca: pki.caCert });
    return { proxy, kubeconfig: rc.kubeconfigFor(await proxy.start()) };
}

describe("alone on the control plane: the drain's count of the room elsewhere", { concurrency: false }, () => {
    test("bug: the drain's capacity check counted cordoned nodes — cordoned green nodes are no capacity", () =>
        alone(rc, "cordoned", async (ns) => {
            // Pods that tolerate every taint, the cordon's own included: only the cordon itself keeps them off.
            const { blue, green } = await pools("cordoned", ns, { tolerateAll: true });
            for (const n of green) await cordon(rc, n);
            const r = await real("drain", drainOf("cordoned"));
            assert.equal(r.code, 1, r.stderr);
            assert.match(r.stderr, new RegExp(`only 0 Ready, schedulable node\\(s\\) outside ${blue.join(" ")}`));
            await untouched(ns, blue);
        }));

    test("bug: K8S_UPGRADES_ALLOW_SHRINK acted for any value — only the cluster's own name lets a short drain through", () =>
        alone(rc, "shrink", async (ns) => {
            const { blue } = await pools("shrink", ns);
            const env = drainOf("shrink", { K8SU_MIN_READY_ELSEWHERE: "3" });
            const other = await real("drain", { ...env, K8S_UPGRADES_ALLOW_SHRINK: "another-cluster" });
            assert.equal(other.code, 1, other.stderr);
            assert.match(other.stderr, /only 2 Ready, schedulable node\(s\) outside/);
            await untouched(ns, blue);
            const own = await real("drain", { ...env, K8S_UPGRADES_ALLOW_SHRINK: "apps" });
            assert.equal(own.code, 0, own.stderr);
            assert.match(own.stderr, /K8S_UPGRADES_ALLOW_SHRINK=apps: going on although only 2 Ready/);
        }));

    test("capacity by requests: pods that need more CPU than the green nodes have free are refused with the shortfall", () =>
        alone(rc, "cpu", async (ns) => {
            const { blue } = await pools("cpu", ns);
            // 4 × 300m = 1200m to move; green has 2 × 1000m, of which 900m is already requested.
            await rc.deployment(ns, "batch", { nodeSelector: { pool: "cpu-green" }, replicas: 2, cpu: "450m" });
            await rc.waitReady(ns, "batch", 2);
            const r = await real("drain", drainOf("cpu"));
            assert.equal(r.code, 1, r.stderr);
            assert.match(
                r.stderr,
                /the 4 pod\(s\) to move request 1200m CPU and 2048Mi memory; the 2 Ready, uncordoned node\(s\) outside have 1100m CPU and [0-9]+Mi memory free \(short 100m CPU, 0Mi memory\)/,
            );
            await untouched(ns, blue);
        }));

    test("capacity by requests: a tainted node the pods do not tolerate, or whose labels miss their nodeSelector, is no room", () =>
        alone(rc, "fit", async (ns) => {
            const { blue } = await pools("fit", ns, {
                blueLabels: { disk: "ssd" },
                webSelector: { disk: "ssd" },
                green: [
                    {
                        labels: { disk: "ssd" },
                        taints: [{ key: "k8s-upgrades/anchor", value: "true", effect: "NoSchedule" }],
                    },
                    { labels: { disk: "hdd" } },
                ],
            });
            const r = await real("drain", drainOf("fit"));
            assert.equal(r.code, 1, r.stderr);
            assert.match(
                r.stderr,
                new RegExp(
                    `only 1 Ready, schedulable node\\(s\\) outside ${blue.join(" ")}; taking out 2 node\\(s\\) needs 2`,
                ),
            );
            assert.match(
                r.stderr,
                /4 pod\(s\) fit on no node that tolerates their taints and matches their nodeSelector/,
            );
            await untouched(ns, blue);
        }));
});

describe("scripts", { concurrency: true }, () => {
    test("bug: uncordon.sh ran `kubectl cordon` — uncordon makes the selected nodes schedulable and cordons nothing", async () => {
        const ns = await rc.namespace("uncordon");
        const { blue, green } = await pools("uncordon", ns);
        for (const n of [...blue, green[0]!]) await cordon(rc, n);
        const r = await real("uncordon", { K8SU_SELECTORS: "pool=uncordon-blue" });
        assert.equal(r.code, 0, r.stderr);
        for (const n of blue) assert.equal(await unschedulable(n), false, `${n} is schedulable again`);
        assert.equal(await unschedulable(green[0]!), true, "a node outside the selector is left alone");
        assert.equal(await unschedulable(green[1]!), false, "nothing was cordoned");
        rc.assertHealthy();
    });

    test("bug: Ready read from .status.conditions[0] — with the pressure conditions first, Ready nodes count as Ready", async () => {
        const green = await greenPool(rc, "order", 2);
        // The order a real kubelet reports its conditions in: the pressure conditions first, Ready last.
        const now = new Date().toISOString().replace(/\.\d+Z$/, "Z");
        const condition = (type: string, status: string) => ({
            type,
            status,
            reason: `Kubelet${type}`,
            lastHeartbeatTime: now,
            lastTransitionTime: now,
        });
        for (const n of green) {
            await rc.api.must(
                "PATCH",
                `/api/v1/nodes/${n}/status`,
                {
                    status: {
                        conditions: [
                            condition("MemoryPressure", "False"),
                            condition("DiskPressure", "False"),
                            condition("PIDPressure", "False"),
                            condition("Ready", "True"),
                        ],
                    },
                },
                "application/merge-patch+json",
            );
        }
        const r = await real("wait-ready", {
            K8SU_SELECTOR: "pool=order-green",
            K8SU_EXPECTED_NODES: "2",
            K8SU_TARGET_MINOR: "1.34",
            K8SU_TIMEOUT_SECONDS: "3",
        });
        assert.equal(r.code, 0, r.stderr);
        await nodeNotReady(rc, green[1]!);
        const notReady = await real("preflight", preflightEnvironment("1.35"));
        assert.equal(notReady.code, 1);
        assert.match(notReady.stderr, new RegExp(`node ${green[1]} is not Ready \\(Ready=False`));
        assert.doesNotMatch(notReady.stderr, new RegExp(`node ${green[0]} is not Ready`));
        rc.assertHealthy();
    });

    test("bug: K8S_UPGRADES_SKIP_DRAIN acted for any value — only the cluster's own name skips the drain", async () => {
        const ns = await rc.namespace("skip");
        const { blue } = await pools("skip", ns);
        const other = await real("drain", drainOf("skip", { K8S_UPGRADES_SKIP_DRAIN: "another-cluster" }));
        assert.equal(other.code, 0, other.stderr);
        assert.doesNotMatch(other.stderr, /not draining/);
        const web = await rc.pods(ns, "app=web");
        assert.equal(web.filter((p) => blue.includes(p.node ?? "") && !p.terminating).length, 0, "drained");
        const own = await real("drain", drainOf("skip", { K8S_UPGRADES_SKIP_DRAIN: "apps" }));
        assert.equal(own.code, 0, own.stderr);
        assert.match(own.stderr, /K8S_UPGRADES_SKIP_DRAIN=apps: not draining pool=skip-blue/);
        rc.assertHealthy();
    });

    test("bug: validation did not flag nodes left cordoned", async () => {
        const green = await greenPool(rc, "left", 2);
        await cordon(rc, green[1]!);
        const r = await real("validate", { K8SU_TARGET_MINOR: "1.34", K8SU_SELECTORS: "pool=left-green" });
        assert.equal(r.code, 1);
        assert.match(r.stderr, new RegExp(`node ${green[1]} \\(pool=left-green\\) is still cordoned`));
        assert.doesNotMatch(r.stderr, new RegExp(`node ${green[0]} `));
        rc.assertHealthy();
    });

    test("bug: the soak between drain batches was skipped — the next batch waits soakSeconds", async () => {
        const ns = await rc.namespace("soak");
        const { blue } = await pools("soak", ns);
        const pods = await PodWatch.start(rc.api, ns);
        const r = await real("drain", drainOf("soak", { K8SU_SOAK_SECONDS: "5" }));
        await pods.stop();
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stderr, /soak 5s before the next batch/);
        // The first batch ends when its pods are gone; the second starts with an eviction.
        const goneFromFirst = pods.deletions.filter((d) => d.node === blue[0] && d.pod.startsWith("web-"));
        const evictedFromSecond = pods.evictions.filter((e) => e.node === blue[1] && e.pod.startsWith("web-"));
        assert.ok(goneFromFirst.length > 0 && evictedFromSecond.length > 0, "both batches moved web pods");
        const gap =
            Math.min(...evictedFromSecond.map((e) => e.seenAt)) - Math.max(...goneFromFirst.map((d) => d.seenAt));
        assert.ok(gap >= 5000, `batches ${gap} ms apart`);
        rc.assertHealthy();
    });

    test("local-command runs the configured command with the cluster's kubeconfig and fails when it fails", async () => {
        await greenPool(rc, "cmd", 4);
        const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "k8su-cmd-")), "nodes");
        const ok = await real("local-command", { K8SU_COMMAND: `kubectl get nodes -l test=cmd -o name > '${out}'` });
        assert.equal(ok.code, 0, ok.stderr);
        assert.deepEqual(fs.readFileSync(out, "utf8").trim().split("\n").sort(), [
            "node/cmd-green-1",
            "node/cmd-green-2",
            "node/cmd-green-3",
            "node/cmd-green-4",
        ]);
        const bad = await real("local-command", { K8SU_COMMAND: "kubectl get nodes >/dev/null && exit 3" });
        assert.equal(bad.code, 1);
        assert.match(bad.stderr, /the configured command failed \(exit 3\)/);
        rc.assertHealthy();
    });

    test("drain-guard-create runs, arms the guard and touches nothing", async () => {
        const { proxy, kubeconfig } = await recordingProxy();
        try {
            const r = await real("drain-guard-create", { K8SU_SELECTOR: "pool=guard-blue" }, {}, kubeconfig);
            assert.equal(r.code, 0, r.stderr);
            assert.match(r.stderr, /drain guard armed for pool=guard-blue/);
            assert.deepEqual(proxy.requests, []);
        } finally {
            await proxy.stop();
        }
        rc.assertHealthy();
    });

    test("wait-resource waits on a custom resource (a KubeadmControlPlane) as Cluster API serves it", async () => {
        await rc.api.create("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", KCP_CRD);
        const ns = await rc.namespace("capi");
        const base = `/apis/controlplane.cluster.x-k8s.io/v1beta1/namespaces/${ns}/kubeadmcontrolplanes`;
        // The CRD is served once established; until then the create is refused.
        for (let i = 0; ; i++) {
            const res = await rc.api.request("POST", base, {
                apiVersion: "controlplane.cluster.x-k8s.io/v1beta1",
                kind: "KubeadmControlPlane",
                metadata: { name: "prod-control-plane" },
                spec: { version: "v1.35.0", replicas: 3 },
            });
            if (res.status === 201) break;
            if (i > 150) throw new Error(`the CRD was never served: ${res.status} ${res.text}`);
            await sleep(200);
        }
        await rc.api.patch(`${base}/prod-control-plane/status`, { status: { version: "v1.34.4", updatedReplicas: 1 } });
        const { proxy, kubeconfig } = await recordingProxy();
        try {
            setTimeout(() => {
                void rc.api.patch(`${base}/prod-control-plane/status`, {
                    status: { version: "v1.35.0", updatedReplicas: 3 },
                });
            }, 800);
            const r = await real(
                "wait-resource",
                {
                    K8SU_RESOURCE: "kubeadmcontrolplanes.controlplane.cluster.x-k8s.io/prod-control-plane",
                    K8SU_NAMESPACE: ns,
                    K8SU_CONDITIONS: "{.status.version}=v1.35.0\n{.status.updatedReplicas}=3",
                    K8SU_TIMEOUT_SECONDS: "60",
                },
                {},
                kubeconfig,
            );
            assert.equal(r.code, 0, r.stderr);
            assert.match(r.stderr, /prod-control-plane reached every condition/);
            assert.ok(
                proxy.requests.some((q) => q.startsWith(`GET ${base}/prod-control-plane`)),
                "the script read the object at the custom resource's own path",
            );
        } finally {
            await proxy.stop();
        }
        const missing = await real("wait-resource", {
            K8SU_RESOURCE: "kubeadmcontrolplanes.controlplane.cluster.x-k8s.io/other",
            K8SU_NAMESPACE: ns,
            K8SU_CONDITIONS: "{.status.version}=v1.35.0",
            K8SU_TIMEOUT_SECONDS: "2",
        });
        assert.equal(missing.code, 1);
        assert.match(missing.stderr, /not found/);
        rc.assertHealthy();
    });

    test("a minimum that is not a whole number stops the drain before anything changes", async () => {
        const { proxy, kubeconfig } = await recordingProxy();
        try {
            const r = await real("drain", drainOf("whole", { K8SU_MIN_READY_ELSEWHERE: "2.5" }), {}, kubeconfig);
            assert.equal(r.code, 1);
            assert.match(r.stderr, /K8SU_MIN_READY_ELSEWHERE must be a whole number; given '2\.5'/);
            assert.deepEqual(proxy.requests, [], "the drain called the API");
        } finally {
            await proxy.stop();
        }
    });

    test("a pool whose selector matches no node is an error, unless the pool is known to be empty", async () => {
        const r = await real("drain", drainOf("gone"));
        assert.equal(r.code, 1);
        assert.match(r.stderr, /no nodes match pool=gone-blue on cluster apps, but the pool should have nodes/);
        const empty = await real("drain", drainOf("gone", { K8SU_EXPECTED_NODES: "0" }));
        assert.equal(empty.code, 0, empty.stderr);
        assert.match(empty.stderr, /no nodes match pool=gone-blue, as expected for an empty pool/);
        rc.assertHealthy();
    });

    test("grace periods: by default a pod keeps its own grace period; a configured grace period overrides it", async () => {
        const ns = await rc.namespace("grace");
        // Two pools drained one after the other, each with one db pod that shuts down only at the end of its grace
        // period (kwok removes it at its deletionTimestamp): 8 s of its own, and 30 s cut to 2 by the drain.
        const [own] = await bluePool(rc, "grace", 1, { labels: { own: "yes" } });
        await rc.nodes([{ name: "grace-amber-1", labels: { pool: "grace-amber", test: "grace", cut: "yes" } }]);
        await rc.deployment(ns, "db", { nodeSelector: { own: "yes" }, replicas: 1, graceSeconds: 8 });
        await rc.deployment(ns, "ledger", { nodeSelector: { cut: "yes" }, replicas: 1, graceSeconds: 30 });
        await rc.waitReady(ns, "db", 1);
        await rc.waitReady(ns, "ledger", 1);
        await greenPool(rc, "grace", 1, { labels: { own: "yes", cut: "yes" } });
        const pods = await PodWatch.start(rc.api, ns);
        const kept = await real("drain", drainOf("grace", { K8SU_MIN_READY_ELSEWHERE: "1" }));
        assert.equal(kept.code, 0, kept.stderr);
        const cut = await real(
            "drain",
            drainOf("grace", {
                K8SU_SELECTOR: "pool=grace-amber",
                K8SU_MIN_READY_ELSEWHERE: "1",
                K8SU_GRACE_SECONDS: "2",
            }),
        );
        assert.equal(cut.code, 0, cut.stderr);
        await pods.stop();
        const [db] = pods.evictedOf("db");
        const [ledger] = pods.evictedOf("ledger");
        assert.equal(db?.node, own);
        assert.equal(db?.graceSeconds, 8, "the pod's own grace period applied");
        assert.equal(ledger?.node, "grace-amber-1");
        assert.equal(ledger?.graceSeconds, 2, "the configured grace period cut the pod's 30 s");
        assert.ok(
            pods.deletions.some((d) => d.pod.startsWith("ledger-")),
            "the cut pod is gone",
        );
        rc.assertHealthy();
    });

    test("SIGINT stops a configured command too", async () => {
        const marker = "sleep 307";
        const { child, done } = startScript(
            "local-command",
            { K8SU_KUBECONFIG: rc.kubeconfig(), K8SU_COMMAND: marker },
            KUBECTL_FOR_SERVER,
            opts("local-command"),
        );
        const running = () =>
            execFileSync("ps", ["-eo", "args"], { encoding: "utf8" })
                .split("\n")
                .filter((l) => l === marker);
        for (let i = 0; i < 100 && running().length === 0; i++) await sleep(100);
        assert.equal(running().length, 1, "the configured command started");
        child.kill("SIGINT");
        const r = await done;
        assert.notEqual(r.code, 0);
        assert.match(r.stderr, /stopped by SIGINT/);
        for (let i = 0; i < 50 && running().length > 0; i++) await sleep(100);
        assert.deepEqual(running(), [], "the configured command was stopped with the script");
    });
});
