// The checking and waiting scripts against the real control plane: pre-flight (readyz, node conditions kwok
// reports, kube-system pods, the apiserver's own /metrics, budgets as the disruption controller computes them),
// wait-resource on a custom resource served from a real CustomResourceDefinition (as a KubeadmControlPlane is),
// kubeadm-wait-ready on the kubelet version a node reports, and the drain guard's create step. The tests run in
// order: the broken objects of the failing pre-flight are removed before the next test.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, test } from "node:test";
import { preflightEnvironment } from "../components/removed-apis";
import { claimDir, startCluster } from "../tools/cluster/cluster";
import { binaries } from "../tools/cluster/control-plane";
import { KCP_CRD } from "./fixture/crds";
import { FaultProxy } from "./fixture/fault-proxy";
import { KUBECTL_FOR_SERVER, realCluster, sleep } from "./fixture/real-cluster";
import { runScript } from "./fixture/run-script";

const rc = realCluster("checks");

function run(kind: Parameters<typeof runScript>[0], env: Record<string, string>) {
    return runScript(kind, { K8SU_KUBECONFIG: rc.kubeconfig(), K8SU_POLL_SECONDS: "0.5", ...env }, KUBECTL_FOR_SERVER);
}

/** Waits until the disruption controller has computed a budget's status for the pods it selects. */
async function budgetComputed(ns: string, name: string, expectedPods: number): Promise<void> {
    for (let i = 0; i < 300; i++) {
        const pdb = await rc.api.get<{ status?: { expectedPods?: number; observedGeneration?: number } }>(
            `/apis/policy/v1/namespaces/${ns}/poddisruptionbudgets/${name}`,
        );
        if (pdb.status?.expectedPods === expectedPods && pdb.status.observedGeneration === 1) return;
        await sleep(200);
    }
    throw new Error(`the disruption controller never computed ${ns}/${name}`);
}

describe("checks and waits on the real control plane", { concurrency: false }, () => {
    test("pre-flight passes on a healthy cluster, having read readyz, nodes, kube-system pods, /metrics and budgets", async () => {
        await rc.nodes([
            { name: "pf-1", labels: { test: "pf" } },
            { name: "pf-2", labels: { test: "pf" } },
        ]);
        const r = await run("preflight", preflightEnvironment("1.35"));
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stderr, /API server ready/);
        assert.match(r.stderr, /pre-flight passed for an upgrade to 1\.35/);
        rc.assertHealthy();
    });

    test("pre-flight fails naming a node kwok does not run (no Ready condition), a Pending kube-system pod and a budget that allows nothing", async () => {
        const ns = await rc.namespace("pf");
        // A node no kubelet runs: it never reports Ready, as a node whose kubelet died before registering.
        await rc.api.create("/api/v1/nodes", { metadata: { name: "pf-dead", labels: { test: "pf-dead" } } });
        await rc.barePod("kube-system", "coredns-stuck", "pf-dead");
        await rc.deployment(ns, "ledger", { nodeSelector: { test: "pf" }, replicas: 2 });
        await rc.pdb(ns, "ledger", { minAvailable: 2 });
        await rc.waitReady(ns, "ledger", 2);
        await budgetComputed(ns, "ledger", 2);
        try {
            const r = await run("preflight", preflightEnvironment("1.35"));
            assert.equal(r.code, 1);
            assert.match(r.stderr, /node pf-dead is not Ready \(Ready=Unknown, kubelet \)/);
            assert.match(r.stderr, /kube-system pod coredns-stuck \(Pending\) is not Running/);
            assert.match(
                r.stderr,
                new RegExp(
                    `PodDisruptionBudget ${ns}/ledger allows no disruption \\(2 pod\\(s\\) expected, 0 may be evicted\\)`,
                ),
            );
            assert.match(r.stderr, /pre-flight found 3 problem\(s\):/);
            assert.match(r.stderr, /pre-flight checks failed; nothing was changed/);
        } finally {
            await rc.api.request("DELETE", "/api/v1/namespaces/kube-system/pods/coredns-stuck?gracePeriodSeconds=0");
            await rc.api.request("DELETE", "/api/v1/nodes/pf-dead");
            await rc.api.request("DELETE", `/apis/policy/v1/namespaces/${ns}/poddisruptionbudgets/ledger`);
        }
        rc.assertHealthy();
    });

    test("wait-resource waits on a custom resource's status written later, and times out naming what is missing", async () => {
        await rc.api.create("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", KCP_CRD);
        const ns = await rc.namespace("kcp");
        const base = `/apis/controlplane.cluster.x-k8s.io/v1beta1/namespaces/${ns}/kubeadmcontrolplanes`;
        for (let i = 0; ; i++) {
            const res = await rc.api.request("POST", base, {
                apiVersion: "controlplane.cluster.x-k8s.io/v1beta1",
                kind: "KubeadmControlPlane",
                metadata: { name: "cp" },
                spec: { version: "v1.35.1", replicas: 3 },
            });
            if (res.status === 201) break;
            if (i > 100) throw new Error(`the CRD was never served: ${res.status} ${res.text}`);
            await sleep(200);
        }
        const env = {
            K8SU_RESOURCE: "kubeadmcontrolplane/cp",
            K8SU_NAMESPACE: ns,
            K8SU_CONDITIONS: "{.status.version}=v1.35.1\n{.status.updatedReplicas}=3",
            K8SU_TIMEOUT_SECONDS: "60",
        };
        setTimeout(() => {
            void rc.api.patch(`${base}/cp/status`, { status: { version: "v1.35.1", updatedReplicas: 3 } });
        }, 1500);
        const ok = await run("wait-resource", env);
        assert.equal(ok.code, 0, ok.stderr);
        assert.match(ok.stderr, /kubeadmcontrolplane\/cp reached every condition/);
        const late = await run("wait-resource", {
            ...env,
            K8SU_CONDITIONS: "{.status.readyReplicas}=3",
            K8SU_TIMEOUT_SECONDS: "1",
        });
        assert.equal(late.code, 1);
        assert.match(late.stderr, /- \{\.status\.readyReplicas\} is unset, waiting for 3/);
        assert.match(late.stderr, /kubeadmcontrolplane\/cp did not get there within 1s/);
        rc.assertHealthy();
    });

    test('mutant kubeadm-wait-ready.sh `[ -n "$name" ] || continue` dropped: a selector expected to match no node is done at once', async () => {
        // An empty list is one empty line to `read`; counted as a node, it would wait for "node  runs kubelet unknown".
        await rc.nodes([{ name: "kw0-1", labels: { test: "kw0" }, kubeletVersion: "v1.34.4" }]);
        const r = await run("kubeadm-wait-ready", {
            K8SU_SELECTOR: "test=kw0-gone",
            K8SU_EXPECTED_NODES: "0",
            K8SU_TARGET_VERSION: "1.34.4",
            K8SU_TIMEOUT_SECONDS: "1",
        });
        assert.equal(r.code, 0, r.stderr);
        assert.doesNotMatch(r.stderr, /runs kubelet/);
        rc.assertHealthy();
    });

    test("kubeadm-wait-ready waits for the exact patch the kubelet reports, not just the minor", async () => {
        await rc.nodes([{ name: "kw-1", labels: { test: "kw" }, kubeletVersion: "v1.34.1" }]);
        const env = {
            K8SU_SELECTOR: "test=kw",
            K8SU_EXPECTED_NODES: "1",
            K8SU_TARGET_VERSION: "1.34.4",
            K8SU_TIMEOUT_SECONDS: "2",
        };
        const early = await run("kubeadm-wait-ready", env);
        assert.equal(early.code, 1, "1.34.1 is the right minor but not the target");
        assert.match(early.stderr, /node kw-1 runs kubelet v1\.34\.1, waiting for v1\.34\.4/);
        // What a restarted kubelet does: it reports its new version in the node's status.
        setTimeout(() => {
            void rc.api.must(
                "PATCH",
                "/api/v1/nodes/kw-1/status",
                { status: { nodeInfo: { kubeletVersion: "v1.34.4" } } },
                "application/strategic-merge-patch+json",
            );
        }, 1000);
        const done = await run("kubeadm-wait-ready", { ...env, K8SU_TIMEOUT_SECONDS: "60" });
        assert.equal(done.code, 0, done.stderr);
        assert.match(done.stderr, /every node matching test=kw is Ready at v1\.34\.4/);
        rc.assertHealthy();
    });

    test("kubeadm-wait-ready fails closed: a refused token, and an answer later than K8SU_REQUEST_TIMEOUT_SECONDS, are no 'Ready'", async () => {
        // kw-1 is Ready at the target (the test above): without a fault the wait succeeds at once.
        const env = {
            K8SU_SELECTOR: "test=kw",
            K8SU_EXPECTED_NODES: "1",
            K8SU_TARGET_VERSION: "1.34.4",
            K8SU_TIMEOUT_SECONDS: "3",
        };
        const denied = await run("kubeadm-wait-ready", { ...env, K8SU_KUBECONFIG: rc.kubeconfig("wrongToken") });
        assert.equal(denied.code, 1, denied.stderr);
        assert.match(denied.stderr, /listing nodes failed: .*(Unauthorized|provide credentials)/);
        const { pki } = rc.c;
        const proxy = new FaultProxy(rc.c.state.server, { cert: pki.serverCert, key: pki.serverKey, ca: pki.caCert });
        const url = await proxy.start();
        try {
            // Answered after 8 s: a request timeout of 2 s gives up first; a fixed 30 s would have waited and passed.
            proxy.inject({ match: /^GET \/api\/v1\/nodes\?/, delayMs: 8000 });
            const slow = await run("kubeadm-wait-ready", {
                ...env,
                K8SU_KUBECONFIG: rc.kubeconfigFor(url),
                K8SU_REQUEST_TIMEOUT_SECONDS: "2",
            });
            assert.equal(slow.code, 1, slow.stderr);
            assert.match(slow.stderr, /listing nodes failed: /);
            assert.doesNotMatch(slow.stderr, /is Ready at v1\.34\.4/);
        } finally {
            await proxy.stop();
        }
        rc.assertHealthy();
    });

    test("the drain guard's create step changes nothing and says what it guards", async () => {
        const r = await run("drain-guard-create", { K8SU_SELECTOR: "test=kw" });
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stderr, /drain guard armed for test=kw/);
        assert.equal((await rc.node("kw-1")).unschedulable, false);
    });
    test("a second control plane is refused over the first one's folder and onto its ports", async () => {
        assert.throws(
            () => claimDir(rc.dir),
            /a cluster is still running from .* \(etcd pid \d+.*stop it first with npm run cluster -- down/,
        );
        const other = fs.mkdtempSync(path.join(os.tmpdir(), "k8su-second-"));
        try {
            await assert.rejects(
                startCluster({ dir: other, binaries: binaries(), ports: { apiserver: rc.c.state.ports.apiserver } }),
                new RegExp(
                    `port ${rc.c.state.ports.apiserver} \\(kube-apiserver\\) is already taken on 127\\.0\\.0\\.1`,
                ),
            );
        } finally {
            fs.rmSync(other, { recursive: true, force: true });
        }
        rc.assertHealthy();
    });
});
