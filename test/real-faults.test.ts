// The scripts when the real API fails them: kube-apiserver stopped (connection refused), frozen with SIGSTOP (a
// hang), a token it does not know (401), a ServiceAccount whose RBAC role only reads (403), and, through a proxy
// in front of it, a 500 and a slow answer. Each must fail closed: exit non-zero, say what failed and what to
// check, and leave nothing half-done (nodes cordoned before a failure stay cordoned; no pod is lost). The tests
// run one after another: stopping the apiserver is felt by the whole control plane.
import * as assert from "node:assert/strict";
import { describe, test } from "node:test";
import { nodeManifest, stopComponent } from "../tools/cluster/cluster";
import { apiserverReady, waitFor } from "../tools/cluster/control-plane";
import { FaultProxy } from "./fixture/fault-proxy";
import { KUBECTL_FOR_SERVER, realCluster, sleep } from "./fixture/real-cluster";
import { runScript, startScript } from "./fixture/run-script";

const rc = realCluster("faults");

const drainEnv = {
    K8SU_CLUSTER: "apps",
    K8SU_BATCH_SIZE: "1",
    K8SU_SOAK_SECONDS: "0",
    K8SU_GRACE_SECONDS: "",
    K8SU_DRAIN_TIMEOUT_SECONDS: "60",
    K8SU_DELETE_EMPTYDIR_DATA: "false",
    K8SU_POLL_SECONDS: "0.5",
    K8SU_REQUEST_TIMEOUT_SECONDS: "3",
};

function run(kind: Parameters<typeof runScript>[0], kubeconfig: string, env: Record<string, string>) {
    return runScript(
        kind,
        { K8SU_KUBECONFIG: kubeconfig, K8SU_REQUEST_TIMEOUT_SECONDS: "3", ...env },
        KUBECTL_FOR_SERVER,
    );
}

async function apiserverBack(): Promise<void> {
    const { state, pki } = rc.c;
    await waitFor(state, "kube-apiserver", "/readyz answering 200 again", () =>
        apiserverReady(state, pki, pki.tokens.admin),
    );
}

/** Nodes `<id>-N` labelled pool=<id> and test=<the id's first word>, which the test's workloads select. */
async function pool(id: string, n: number): Promise<string[]> {
    const names = Array.from({ length: n }, (_, i) => `${id}-${i + 1}`);
    await rc.nodes(names.map((name) => ({ name, labels: { pool: id, test: id.split("-")[0] } })));
    return names;
}

describe("faults from the real API", { concurrency: false }, () => {
    test("401: a token the apiserver does not know is refused, and the script says to refresh the credentials", async () => {
        await pool("auth", 1);
        const r = await run("cordon", rc.kubeconfig("wrongToken"), { K8SU_SELECTORS: "pool=auth" });
        assert.equal(r.code, 1);
        assert.match(
            r.stderr,
            /kubectl get nodes -l pool=auth failed[^\n]*the server has asked for the client to provide credentials/,
        );
        assert.match(r.stderr, /the credentials were refused/);
        assert.equal((await rc.node("auth-1")).unschedulable, false);
        rc.assertHealthy();
    });

    test("403: a ServiceAccount that may only read is refused the cordon by RBAC, and the script names the permission", async () => {
        await pool("rbac", 2);
        const r = await run("cordon", rc.kubeconfig("restricted"), { K8SU_SELECTORS: "pool=rbac" });
        assert.equal(r.code, 1);
        assert.match(r.stderr, /1|2 node\(s\) match pool=rbac/);
        assert.match(
            r.stderr,
            /kubectl patch node rbac-1[^\n]*failed[^\n]*forbidden[^\n]*system:serviceaccount:default:k8su-restricted/,
        );
        assert.match(r.stderr, /the credentials lack a permission/);
        assert.equal((await rc.node("rbac-1")).unschedulable, false);
        rc.assertHealthy();
    });

    test("connection refused: the apiserver stopped; the script fails at once naming the unreachable API", async () => {
        await pool("down", 1);
        await stopComponent(rc.c.state, "kube-apiserver");
        try {
            const r = await run("cordon", rc.kubeconfig(), { K8SU_SELECTORS: "pool=down" });
            assert.equal(r.code, 1);
            assert.match(r.stderr, /connection refused/);
            assert.match(r.stderr, /the API cannot be reached/);
        } finally {
            rc.restart("kube-apiserver");
            await apiserverBack();
        }
        assert.equal((await rc.node("down-1")).unschedulable, false);
    });

    test("a hang: the apiserver frozen with SIGSTOP; every call gives up at the request timeout", async () => {
        await pool("hang", 1);
        const pid = rc.c.state.pids["kube-apiserver"]!;
        process.kill(pid, "SIGSTOP");
        let r: Awaited<ReturnType<typeof run>>;
        try {
            r = await run("cordon", rc.kubeconfig(), { K8SU_SELECTORS: "pool=hang" });
        } finally {
            process.kill(pid, "SIGCONT");
        }
        await apiserverBack();
        assert.equal(r.code, 1);
        assert.match(r.stderr, /no answer within 3s \(K8SU_REQUEST_TIMEOUT_SECONDS\)/);
        rc.assertHealthy();
    });

    test("the apiserver stopped mid-drain: the drain fails closed, its pool stays cordoned, no pod is lost", async () => {
        const ns = await rc.namespace("mid");
        const blue = await pool("mid-blue", 2);
        await rc.deployment(ns, "web", { nodeSelector: { test: "mid" }, replicas: 4, graceSeconds: 3 });
        await rc.pdb(ns, "web", { maxUnavailable: 1 });
        await rc.waitReady(ns, "web", 4);
        await pool("mid-green", 2);
        const env = {
            K8SU_KUBECONFIG: rc.kubeconfig(),
            ...drainEnv,
            K8SU_SELECTOR: "pool=mid-blue",
            K8SU_MIN_READY_ELSEWHERE: "2",
        };
        const drain = startScript("drain", env, KUBECTL_FOR_SERVER, { killAfterMs: 300_000 });
        while (!(await rc.pods(ns)).some((p) => p.terminating)) await sleep(200);
        await stopComponent(rc.c.state, "kube-apiserver");
        const r = await drain.done;
        rc.restart("kube-apiserver");
        await apiserverBack();
        assert.notEqual(r.code, 0, "a drain that lost its API never reports success");
        for (const n of blue) assert.equal((await rc.node(n)).unschedulable, true, `${n} stays cordoned`);
        await rc.waitReady(ns, "web", 4);
        rc.assertHealthy();
    });

    test("500 and slow answers through a proxy: an eviction answered 500 and a list slower than the timeout both fail closed", async () => {
        const ns = await rc.namespace("proxy");
        const blue = await pool("px-blue", 1);
        await rc.deployment(ns, "web", { nodeSelector: { test: "px" }, replicas: 2 });
        await rc.waitReady(ns, "web", 2);
        await pool("px-green", 1);
        const { pki } = rc.c;
        const proxy = new FaultProxy(rc.c.state.server, { cert: pki.serverCert, key: pki.serverKey, ca: pki.caCert });
        const url = await proxy.start();
        try {
            proxy.inject({ match: /^POST .*\/eviction/, status: 500 });
            const r500 = await run("drain", rc.kubeconfigFor(url), {
                ...drainEnv,
                K8SU_SELECTOR: "pool=px-blue",
                K8SU_MIN_READY_ELSEWHERE: "1",
                K8SU_DRAIN_TIMEOUT_SECONDS: "10",
            });
            assert.equal(r500.code, 1, r500.stderr);
            assert.match(r500.stderr, /drain did not finish for px-blue-1/);
            assert.ok(
                proxy.requests.some((l) => /^POST .*\/eviction/.test(l)),
                "the eviction went through the proxy",
            );
            assert.equal((await rc.pods(ns, "app=web")).filter((p) => p.node === blue[0] && !p.terminating).length, 2);
            proxy.clear();
            proxy.inject({ match: /^GET \/api\/v1\/nodes\?/, delayMs: 6000 });
            const slow = await run("uncordon", rc.kubeconfigFor(url), { K8SU_SELECTORS: "pool=px-blue" });
            assert.equal(slow.code, 1, slow.stderr);
            assert.match(slow.stderr, /no answer within 3s/);
            assert.equal((await rc.node(blue[0])).unschedulable, true, "the slow list changed nothing");
        } finally {
            await proxy.stop();
        }
        rc.assertHealthy();
    });
    test("wait-ready counts a node only once the node-lifecycle controller has lifted its not-ready taint", async () => {
        // Without the controller nothing lifts the taint a kubelet registers with, though kwok reports Ready.
        await stopComponent(rc.c.state, "kube-controller-manager");
        try {
            await rc.api.create(
                "/api/v1/nodes",
                nodeManifest(
                    {
                        name: "tainted-1",
                        labels: { pool: "tainted" },
                        taints: [{ key: "node.kubernetes.io/not-ready", effect: "NoSchedule" }],
                    },
                    rc.c.state.version,
                ),
            );
            const env = { K8SU_SELECTOR: "pool=tainted", K8SU_EXPECTED_NODES: "1", K8SU_TARGET_MINOR: "1.34" };
            const early = await run("wait-ready", rc.kubeconfig(), { ...env, K8SU_TIMEOUT_SECONDS: "4" });
            assert.equal(early.code, 1, early.stderr);
            assert.match(
                early.stderr,
                /- tainted-1 version=v1\.34\.4 ready=True taints=node\.kubernetes\.io\/not-ready,/,
            );
            assert.match(early.stderr, /only 0 of 1 node\(s\) matching pool=tainted became Ready at 1\.34 within 4s/);
        } finally {
            rc.restart("kube-controller-manager");
        }
        const done = await run("wait-ready", rc.kubeconfig(), {
            K8SU_SELECTOR: "pool=tainted",
            K8SU_EXPECTED_NODES: "1",
            K8SU_TARGET_MINOR: "1.34",
            K8SU_TIMEOUT_SECONDS: "120",
        });
        assert.equal(done.code, 0, done.stderr);
        rc.assertHealthy();
    });
});
