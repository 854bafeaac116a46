// capi-retire against a real control plane serving Cluster API's MachineDeployment and Machine kinds (CRDs with the
// scale subresource): kubectl's real `scale` and Machine listing, and, through the stand-in controller of
// test/fixture/capi-controller.ts, Machines whose nodes are drained through the real eviction API, so that real
// PodDisruptionBudgets computed by the real disruption controller hold them. The workload cluster is the same
// control plane; the Machines' nodes are kwok nodes.
import * as assert from "node:assert/strict";
import { describe, test } from "node:test";
import { CapiStandIn, installCrds } from "./fixture/capi-controller";
import { KUBECTL_FOR_SERVER, realCluster, sleep } from "./fixture/real-cluster";
import { runScript } from "./fixture/run-script";

const rc = realCluster("capi");

async function setup(id: string, machines: number, budget: { maxUnavailable?: number; minAvailable?: number }) {
    const ns = await rc.namespace(id);
    const blue = Array.from({ length: machines }, (_, i) => `${id}-blue-${i + 1}`);
    await rc.nodes(blue.map((name) => ({ name, labels: { test: id }, kubeletVersion: "v1.33.7" })));
    await rc.deployment(ns, "web", { nodeSelector: { test: id }, replicas: 2 * machines, exitAfter: "1s" });
    await rc.pdb(ns, "web", budget);
    await rc.waitReady(ns, "web", 2 * machines);
    await rc.nodes(
        Array.from({ length: 2 }, (_, i) => ({ name: `${id}-green-${i + 1}`, labels: { test: id }, cpu: "8" })),
    );
    const capi = new CapiStandIn(rc.api, ns, `${id}-md-0-1-33`);
    await capi.create(blue);
    capi.start();
    return { ns, blue, capi };
}

function retire(ns: string, md: string, extra: Record<string, string> = {}) {
    return runScript(
        "capi-retire",
        {
            K8SU_KUBECONFIG: rc.kubeconfig(),
            K8SU_MACHINE_DEPLOYMENT: md,
            K8SU_NAMESPACE: ns,
            K8SU_BATCH_SIZE: "2",
            K8SU_SOAK_SECONDS: "0",
            K8SU_DRAIN_TIMEOUT_SECONDS: "120",
            K8SU_POLL_SECONDS: "0.5",
            ...extra,
        },
        KUBECTL_FOR_SERVER,
    );
}

describe("capi-retire on the real control plane", { concurrency: false }, () => {
    test("before everything: the Cluster API kinds are served", async () => {
        await installCrds(rc.api);
    });

    test("five machines in batches of two: scaled to 3, 1, 0, each batch gone before the next, the budget kept", async () => {
        const { ns, blue, capi } = await setup("five", 5, { maxUnavailable: 1 });
        let fewest = 10;
        let sampling = true;
        const sampler = (async () => {
            while (sampling) {
                const ready = (await rc.pods(ns, "app=web")).filter((p) => p.ready && !p.terminating).length;
                fewest = Math.min(fewest, ready);
                await sleep(200);
            }
        })();
        try {
            const r = await retire(ns, "five-md-0-1-33");
            assert.equal(r.code, 0, `${r.stderr}\n${capi.errors.slice(-3).join("\n")}`);
            assert.match(
                r.stderr,
                /machinedeployments\.cluster\.x-k8s\.io\/five-md-0-1-33: 5 replica\(s\), 5 machine\(s\); retiring 2 at a time/,
            );
            assert.deepEqual(
                capi.machinesAtScale,
                [5, 3, 1],
                "each scale-down starts only when the batch before is gone",
            );
            assert.deepEqual(await capi.machines(), []);
            for (const n of blue) assert.equal((await rc.api.request("GET", `/api/v1/nodes/${n}`)).status, 404);
        } finally {
            sampling = false;
            await sampler;
            await capi.stop();
        }
        assert.ok(fewest >= 9, `at most one of ten pods unavailable at a time (the budget); fewest Ready: ${fewest}`);
        await rc.waitReady(ns, "web", 10);
        rc.assertHealthy();
    });

    test("a drain held by a budget fails the step at our deadline with the machines still there; run again once it allows, it finishes", async () => {
        const { ns, capi } = await setup("held", 3, { minAvailable: 6 });
        try {
            const r = await retire(ns, "held-md-0-1-33", { K8SU_BATCH_SIZE: "1", K8SU_DRAIN_TIMEOUT_SECONDS: "5" });
            assert.equal(r.code, 1, r.stderr);
            assert.match(
                r.stderr,
                /batch 1 of machinedeployments\.cluster\.x-k8s\.io\/held-md-0-1-33 did not drain within 5s; its machines still exist/,
            );
            assert.match(r.stderr, /- held-md-0-1-33-held-blue-1\tRunning\theld-blue-1/);
            assert.equal((await capi.machines()).length, 3, "no Machine went while its node could not be drained");
            assert.ok(capi.refusals > 0, "the budget refused the evictions");
            assert.equal(
                (await rc.pods(ns, "app=web")).filter((p) => p.ready && !p.terminating).length,
                6,
                "every pod still runs",
            );
            await rc.api.patch(`/apis/policy/v1/namespaces/${ns}/poddisruptionbudgets/web`, {
                spec: { minAvailable: 5 },
            });
            const again = await retire(ns, "held-md-0-1-33", { K8SU_BATCH_SIZE: "1" });
            assert.equal(again.code, 0, again.stderr);
            assert.deepEqual(await capi.machines(), []);
        } finally {
            await capi.stop();
        }
        await rc.waitReady(ns, "web", 6);
        rc.assertHealthy();
    });
});
