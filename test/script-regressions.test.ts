// Bugs the generated scripts once had or could easily get, each named and killed by running the real script
// with the real kubectl against the API fixture. SCRIPTS_DIR=<folder> runs them against other script sources
// (an older version, a mutant), to see which of these tests would have caught it.

import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, test } from "node:test";
import { preflightEnvironment } from "../components/removed-apis";
import type { ScriptKind } from "../components/scripts";
import { KubeApiFixture } from "./fixture/kube-api";
import { type RunOptions, runScript, scriptFrom, startScript } from "./fixture/run-script";

const KUBECTL = "1.31";
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
    K8SU_DRAIN_TIMEOUT_SECONDS: "30",
    K8SU_DELETE_EMPTYDIR_DATA: "false",
    K8SU_SELECTOR: "pool=blue",
    K8SU_MIN_READY_ELSEWHERE: "2",
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

function run(f: KubeApiFixture, kind: ScriptKind, env: Record<string, string>, extra: RunOptions = {}) {
    return runScript(kind, { K8SU_KUBECONFIG: f.kubeconfig(), ...env }, KUBECTL, opts(kind, extra));
}

/** Two blue nodes with four web pods, two green nodes, each node 1 CPU and 2 GiB allocatable. */
function pools(f: KubeApiFixture): void {
    const allocatable = { cpu: 1000, memory: 2 * 1024 ** 3 };
    for (const n of ["blue-1", "blue-2"])
        f.addNode(n, { labels: { pool: "blue" }, kubeletVersion: "1.30.9", allocatable });
    for (const n of ["green-1", "green-2"]) f.addNode(n, { labels: { pool: "green" }, allocatable });
    f.addDaemonSet("kube-system", "kube-proxy");
    f.addReplicaSet("default", "web", 4, ["blue-1", "blue-2"], { requests: { cpu: 300, memory: 512 * 1024 ** 2 } });
}

describe("scripts", { concurrency: true }, () => {
    test("bug: uncordon.sh ran `kubectl cordon` — uncordon makes the selected nodes schedulable and cordons nothing", () =>
        withFixture(
            (f) => {
                pools(f);
                for (const n of ["blue-1", "blue-2", "green-1"]) f.nodes.get(n)!.unschedulable = true;
            },
            async (f) => {
                const r = await run(f, "uncordon", { K8SU_SELECTORS: "pool=blue" });
                assert.equal(r.code, 0, r.stderr);
                assert.equal(f.nodes.get("blue-1")!.unschedulable, false);
                assert.equal(f.nodes.get("blue-2")!.unschedulable, false);
                assert.equal(f.nodes.get("green-1")!.unschedulable, true, "a node outside the selector is left alone");
                assert.equal(f.events.filter((e) => e.kind === "cordoned").length, 0);
            },
        ));

    test("bug: the drain's capacity check counted cordoned nodes — cordoned green nodes are no capacity", () =>
        withFixture(
            (f) => {
                pools(f);
                f.nodes.get("green-1")!.unschedulable = true;
                f.nodes.get("green-2")!.unschedulable = true;
                // Pods that tolerate every taint, the cordon's own included: only the cordon itself keeps them off.
                for (const p of f.pods.values()) if (p.owner?.name === "web") p.tolerations = [{ operator: "Exists" }];
            },
            async (f) => {
                const r = await run(f, "drain", drainEnv);
                assert.equal(r.code, 1);
                assert.match(r.stderr, /only 0 Ready, schedulable node\(s\) outside blue-1 blue-2/);
                assert.equal(f.events.filter((e) => e.kind === "evicted").length, 0, "nothing was evicted");
                assert.equal(f.events.filter((e) => e.kind === "cordoned").length, 0, "nothing was cordoned");
            },
        ));

    test("bug: Ready read from .status.conditions[0] — with the pressure conditions first, Ready nodes count as Ready", () =>
        withFixture(pools, async (f) => {
            const r = await run(f, "wait-ready", {
                K8SU_SELECTOR: "pool=green",
                K8SU_EXPECTED_NODES: "2",
                K8SU_TARGET_MINOR: "1.31",
                K8SU_TIMEOUT_SECONDS: "3",
            });
            assert.equal(r.code, 0, r.stderr);
            f.nodes.get("green-2")!.ready = false;
            const notReady = await run(f, "preflight", preflightEnvironment("1.31"));
            assert.equal(notReady.code, 1);
            assert.match(notReady.stderr, /node green-2 is not Ready \(Ready=False/);
            assert.doesNotMatch(notReady.stderr, /node green-1 is not Ready/);
        }));

    test("bug: K8S_UPGRADES_SKIP_DRAIN acted for any value — only the cluster's own name skips the drain", () =>
        withFixture(pools, async (f) => {
            const other = await run(f, "drain", { ...drainEnv, K8S_UPGRADES_SKIP_DRAIN: "another-cluster" });
            assert.equal(other.code, 0, other.stderr);
            assert.doesNotMatch(other.stderr, /not draining/);
            assert.equal(f.podsOn("blue-1").filter((p) => p.owner?.kind === "ReplicaSet").length, 0, "drained");
            const own = await run(f, "drain", { ...drainEnv, K8S_UPGRADES_SKIP_DRAIN: "apps" });
            assert.equal(own.code, 0, own.stderr);
            assert.match(own.stderr, /K8S_UPGRADES_SKIP_DRAIN=apps: not draining pool=blue/);
        }));

    test("bug: K8S_UPGRADES_ALLOW_SHRINK acted for any value — only the cluster's own name lets a short drain through", () =>
        withFixture(pools, async (f) => {
            const env = { ...drainEnv, K8SU_MIN_READY_ELSEWHERE: "3" };
            const other = await run(f, "drain", { ...env, K8S_UPGRADES_ALLOW_SHRINK: "another-cluster" });
            assert.equal(other.code, 1);
            assert.equal(f.events.filter((e) => e.kind === "cordoned").length, 0);
            const own = await run(f, "drain", { ...env, K8S_UPGRADES_ALLOW_SHRINK: "apps" });
            assert.equal(own.code, 0, own.stderr);
        }));

    test("bug: validation did not flag nodes left cordoned", () =>
        withFixture(pools, async (f) => {
            f.nodes.get("green-2")!.unschedulable = true;
            const r = await run(f, "validate", { K8SU_TARGET_MINOR: "1.31", K8SU_SELECTORS: "pool=green" });
            assert.equal(r.code, 1);
            assert.match(r.stderr, /node green-2 \(pool=green\) is still cordoned/);
        }));

    test("bug: the soak between drain batches was skipped — the next batch waits soakSeconds", () =>
        withFixture(pools, async (f) => {
            const r = await run(f, "drain", { ...drainEnv, K8SU_SOAK_SECONDS: "2" });
            assert.equal(r.code, 0, r.stderr);
            const evictions = f.events.filter((e) => e.kind === "evicted");
            const lastOfFirst = Math.max(...evictions.filter((e) => e.detail === "blue-1").map((e) => e.at));
            const firstOfSecond = Math.min(...evictions.filter((e) => e.detail === "blue-2").map((e) => e.at));
            assert.ok(firstOfSecond - lastOfFirst >= 2000, `batches ${firstOfSecond - lastOfFirst} ms apart`);
            assert.match(r.stderr, /soak 2s before the next batch/);
        }));

    test("bug: the Linode token on curl's command line — no process ever has the token in its argv", () =>
        withFixture(
            (f) => {
                f.controlPlaneVersion = "1.30.9";
                f.servedVersion = "1.30.9";
            },
            async (f) => {
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
                const token = "s3cret-linode-token-value";
                f.linodeToken = token;
                const r = await run(
                    f,
                    "lke-control-plane",
                    {
                        LINODE_API_URL: f.linodeUrl(),
                        LINODE_TOKEN: token,
                        K8SU_LKE_CLUSTER_ID: String(f.clusterId),
                        K8SU_TARGET_MINOR: "1.31",
                        K8SU_TIMEOUT_SECONDS: "20",
                    },
                    { pathPrefix: [bin] },
                );
                clearInterval(sampler);
                assert.equal(r.code, 0, r.stderr);
                const argv = fs.readFileSync(argvLog, "utf8");
                assert.match(argv, /--config -/, "curl was called, with its config on stdin");
                assert.doesNotMatch(argv, new RegExp(token), "the token is on curl's command line");
                assert.ok(![...seen].some((c) => c.includes(token)), "the token is in some process's argv");
                assert.ok(seen.size > 0);
                assert.doesNotMatch(r.stderr + r.stdout, new RegExp(token));
            },
        ));

    test("local-command runs the configured command with the cluster's kubeconfig and fails when it fails", () =>
        withFixture(pools, async (f) => {
            const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "k8su-cmd-")), "nodes");
            const ok = await run(f, "local-command", { K8SU_COMMAND: `kubectl get nodes -o name > '${out}'` });
            assert.equal(ok.code, 0, ok.stderr);
            assert.equal(fs.readFileSync(out, "utf8").trim().split("\n").length, 4);
            const bad = await run(f, "local-command", { K8SU_COMMAND: "kubectl get nodes >/dev/null && exit 3" });
            assert.equal(bad.code, 1);
            assert.match(bad.stderr, /the configured command failed \(exit 3\)/);
        }));

    test("drain-guard-create runs, arms the guard and touches nothing", () =>
        withFixture(pools, async (f) => {
            const r = await run(f, "drain-guard-create", { K8SU_SELECTOR: "pool=blue" });
            assert.equal(r.code, 0, r.stderr);
            assert.match(r.stderr, /drain guard armed for pool=blue/);
            assert.deepEqual(f.requests, []);
        }));

    test("wait-resource waits on a custom resource (a KubeadmControlPlane) as Cluster API serves it", () =>
        withFixture(
            (f) =>
                f.addCustomObject(
                    {
                        group: "controlplane.cluster.x-k8s.io",
                        version: "v1beta1",
                        plural: "kubeadmcontrolplanes",
                        kind: "KubeadmControlPlane",
                    },
                    "capi",
                    "prod-control-plane",
                    { spec: { version: "v1.31.4", replicas: 3 }, status: { version: "v1.30.9", updatedReplicas: 1 } },
                ),
            async (f) => {
                setTimeout(() => {
                    const kcp = f.customObjects.get(
                        "kubeadmcontrolplanes.controlplane.cluster.x-k8s.io/capi/prod-control-plane",
                    )!;
                    kcp.status = { version: "v1.31.4", updatedReplicas: 3 };
                }, 800);
                const r = await run(f, "wait-resource", {
                    K8SU_RESOURCE: "kubeadmcontrolplanes.controlplane.cluster.x-k8s.io/prod-control-plane",
                    K8SU_NAMESPACE: "capi",
                    K8SU_CONDITIONS: "{.status.version}=v1.31.4\n{.status.updatedReplicas}=3",
                    K8SU_TIMEOUT_SECONDS: "20",
                });
                assert.equal(r.code, 0, r.stderr);
                assert.ok(
                    f.requests.some((q) =>
                        q.includes(
                            "/apis/controlplane.cluster.x-k8s.io/v1beta1/namespaces/capi/kubeadmcontrolplanes/prod-control-plane",
                        ),
                    ),
                );
                const missing = await run(f, "wait-resource", {
                    K8SU_RESOURCE: "kubeadmcontrolplanes.controlplane.cluster.x-k8s.io/other",
                    K8SU_NAMESPACE: "capi",
                    K8SU_CONDITIONS: "{.status.version}=v1.31.4",
                    K8SU_TIMEOUT_SECONDS: "2",
                });
                assert.equal(missing.code, 1);
                assert.match(missing.stderr, /not found/);
            },
        ));

    test("capacity by requests: pods that need more CPU than the green nodes have free are refused with the shortfall", () =>
        withFixture(
            (f) => {
                pools(f);
                // 4 × 300m = 1200m to move; green has 2 × 1000m, of which 900m is already requested.
                f.addReplicaSet("default", "batch", 2, ["green-1", "green-2"], { requests: { cpu: 450 } });
            },
            async (f) => {
                const r = await run(f, "drain", drainEnv);
                assert.equal(r.code, 1);
                assert.match(
                    r.stderr,
                    /the 4 pod\(s\) to move request 1200m CPU and 2048Mi memory; the 2 Ready, uncordoned node\(s\) outside have [0-9]+m CPU and [0-9]+Mi memory free \(short [0-9]+m CPU, 0Mi memory\)/,
                );
                assert.equal(f.events.filter((e) => e.kind === "cordoned" || e.kind === "evicted").length, 0);
            },
        ));

    test("capacity by requests: a tainted node the pods do not tolerate, or whose labels miss their nodeSelector, is no room", () =>
        withFixture(
            (f) => {
                pools(f);
                f.nodes.get("green-1")!.taints = [{ key: "k8s-upgrades/anchor", value: "true", effect: "NoSchedule" }];
                f.nodes.get("green-2")!.labels.disk = "hdd";
                f.replicaSets.get("default/web")!.nodeSelector = { disk: "ssd" };
                for (const p of f.pods.values()) if (p.owner?.name === "web") p.nodeSelector = { disk: "ssd" };
            },
            async (f) => {
                const r = await run(f, "drain", drainEnv);
                assert.equal(r.code, 1);
                assert.match(
                    r.stderr,
                    /only 1 Ready, schedulable node\(s\) outside blue-1 blue-2; taking out 2 node\(s\) needs 2/,
                );
                assert.match(
                    r.stderr,
                    /4 pod\(s\) fit on no node that tolerates their taints and matches their nodeSelector/,
                );
            },
        ));

    test("a minimum that is not a whole number stops the drain before anything changes", () =>
        withFixture(pools, async (f) => {
            const r = await run(f, "drain", { ...drainEnv, K8SU_MIN_READY_ELSEWHERE: "2.5" });
            assert.equal(r.code, 1);
            assert.match(r.stderr, /K8SU_MIN_READY_ELSEWHERE must be a whole number; given '2\.5'/);
            assert.equal(f.events.length, 0);
        }));

    test("a pool whose selector matches no node is an error, unless the pool is known to be empty", () =>
        withFixture(pools, async (f) => {
            const r = await run(f, "drain", { ...drainEnv, K8SU_SELECTOR: "pool=gone" });
            assert.equal(r.code, 1);
            assert.match(r.stderr, /no nodes match pool=gone on cluster apps, but the pool should have nodes/);
            const empty = await run(f, "drain", { ...drainEnv, K8SU_SELECTOR: "pool=gone", K8SU_EXPECTED_NODES: "0" });
            assert.equal(empty.code, 0, empty.stderr);
        }));

    test("grace periods: by default a pod keeps its own 300 s; a configured grace period overrides it", () =>
        withFixture(
            (f) => {
                pools(f);
                f.timing = { ...f.timing, secondMs: 5 };
                f.addReplicaSet("data", "db", 1, ["blue-1"], {
                    terminationGracePeriodSeconds: 300,
                    shutdownSeconds: 120,
                });
            },
            async (f) => {
                const r = await run(f, "drain", drainEnv);
                assert.equal(r.code, 0, r.stderr);
                assert.equal(f.graceGiven.get("data/db-0"), 300, "the pod's own grace period applied");
                assert.equal(f.events.filter((e) => e.kind === "killed").length, 0, "no pod was cut short");
                const moved = [...f.pods.values()].find((p) => p.owner?.name === "db")!;
                f.nodes.get("green-1")!.unschedulable = false;
                const key = `${moved.namespace}/${moved.name}`;
                // Back onto a blue node, then a drain with an explicit 60 s grace period.
                for (const n of ["blue-1", "blue-2"]) f.nodes.get(n)!.unschedulable = false;
                moved.nodeName = "blue-1";
                const cut = await run(f, "drain", { ...drainEnv, K8SU_GRACE_SECONDS: "60" });
                assert.equal(cut.code, 0, cut.stderr);
                assert.equal(f.graceGiven.get(key), 60);
                assert.ok(
                    f.events.some((e) => e.kind === "killed" && e.object === key),
                    "60 s cut the 120 s shutdown",
                );
            },
        ));

    test("SIGINT stops a configured command too", () =>
        withFixture(pools, async (f) => {
            const { child, done } = startScript(
                "local-command",
                { K8SU_KUBECONFIG: f.kubeconfig(), K8SU_COMMAND: "sleep 30" },
                KUBECTL,
                opts("local-command"),
            );
            await new Promise((r) => setTimeout(r, 1500));
            child.kill("SIGINT");
            const r = await done;
            assert.notEqual(r.code, 0);
            assert.ok(r.ms < 10_000, `stopped after ${r.ms} ms`);
            assert.match(r.stderr, /stopped by SIGINT/);
        }));
});

describe("LKE in place against the LKE API's real pool", { concurrency: true }, () => {
    const env = (f: KubeApiFixture) => ({
        LINODE_API_URL: f.linodeUrl(),
        LINODE_TOKEN: f.linodeToken,
        K8SU_LKE_CLUSTER_ID: String(f.clusterId),
        K8SU_LKE_POOL_ID: "21",
        K8SU_POOL_COUNT: "3",
        K8SU_AUTOSCALER_MIN: "3",
        K8SU_AUTOSCALER_MAX: "6",
        K8SU_TARGET_MINOR: "1.31",
        K8SU_READY_TIMEOUT_SECONDS: "60",
        K8SU_GRACE_SECONDS: "",
        K8SU_DRAIN_TIMEOUT_SECONDS: "60",
        K8SU_DELETE_EMPTYDIR_DATA: "false",
        K8SU_CURL_RETRIES: "0",
    });
    const autoscaled = (f: KubeApiFixture) => {
        f.controlPlaneVersion = "1.31.1";
        f.servedVersion = "1.31.1";
        f.timing = { ...f.timing, nodeReadyMs: 150, linodeDeleteMs: 150 };
        // The autoscaler raised the pool from the configured 3 to 5.
        const nodes = f.addLkePool(21, 5, "1.30.9", { enabled: true, min: 3, max: 6 });
        f.addDaemonSet("kube-system", "kube-proxy");
        f.addReplicaSet("default", "web", 10, nodes);
        f.addPdb({ namespace: "default", name: "web", selector: { app: "web" }, maxUnavailable: 1 });
    };

    test("bug: the surge came from the configured count — a pool the autoscaler grew to 5 surges to 6 and ends at 5, nothing removed undrained", () =>
        withFixture(autoscaled, async (f) => {
            const r = await run(f, "lke-in-place", env(f));
            assert.equal(r.code, 0, r.stderr);
            assert.match(r.stderr, /surging the pool from 5 to 6/);
            for (const u of f.linodePoolUpdates)
                assert.ok(
                    typeof u.body.count !== "number" || u.body.count >= u.before,
                    `a pool update lowered the count: ${JSON.stringify(u)}`,
                );
            const lost = f.events.filter((e) => e.kind === "node-deleted" && e.detail);
            assert.deepEqual(lost, [], "no node went with pods on it");
            const pool = f.lkePools.get(21)!;
            assert.equal(pool.count, 5);
            assert.deepEqual(pool.autoscaler, { enabled: true, min: 3, max: 6 });
            await new Promise((res) => setTimeout(res, 400));
            assert.deepEqual(
                f.lkeNodes(21).map((n) => n.kubeletVersion.slice(0, 4)),
                Array(5).fill("1.31"),
            );
            assert.equal(f.requests.filter((q) => /^DELETE \/v4\/lke\/clusters\/4242\/nodes\//.test(q)).length, 1);
        }));

    test("bug: with the API unreachable, in-place concluded the pool already ran the target", () =>
        withFixture(autoscaled, async (f) => {
            f.injectFault({ mode: "refused", resource: "nodes" });
            const r = await run(f, "lke-in-place", env(f));
            assert.equal(r.code, 1);
            assert.doesNotMatch(r.stderr, /already runs/);
            assert.match(r.stderr, /refused|reset|EOF/);
            assert.deepEqual(f.linodePoolUpdates, []);
        }));

    test("a re-run after a stop part-way does not surge twice and converges", () =>
        withFixture(autoscaled, async (f) => {
            // Stop the first run when the second node is being moved (its second recycle call fails).
            f.injectFault({ mode: "500", resource: "linode", verb: "create", at: 2, times: 1 });
            const first = await run(f, "lke-in-place", env(f));
            assert.equal(first.code, 1);
            assert.match(first.stderr, /500/);
            const second = await run(f, "lke-in-place", env(f));
            assert.equal(second.code, 0, second.stderr);
            assert.match(second.stderr, /already has its surge \(6 node\(s\), 5 before\)/);
            assert.equal(f.lkePools.get(21)!.count, 5);
            assert.deepEqual(
                f.events.filter((e) => e.kind === "node-deleted" && e.detail),
                [],
            );
        }));
});
