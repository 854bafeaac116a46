// capi-retire against a real control plane serving Cluster API's MachineDeployment and Machine kinds (CRDs with the
// scale subresource): kubectl's real `scale` and Machine listing, and, through the stand-in controller of
// test/fixture/capi-controller.ts, Machines whose nodes are drained through the real eviction API, so that real
// PodDisruptionBudgets computed by the real disruption controller hold them. The workload cluster is the same
// control plane; the Machines' nodes are kwok nodes. A hang of its listing and of its scale comes from a FaultProxy
// (test/fixture/fault-proxy.ts) in front of the real apiserver, which holds the request and never forwards it.
import * as assert from "node:assert/strict";
import { describe, test } from "node:test";
import { CapiStandIn, GROUP, installCrds } from "./fixture/capi-controller";
import { FaultProxy, type ProxyFault } from "./fixture/fault-proxy";
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

/** Every kubectl request of the hang tests gives up after this long. */
const REQUEST_TIMEOUT_SECONDS = 5;
/** A retire still running after this long is stuck: upper bounds only, the second for a run that meets a hang. */
const KILL_MS = 300_000;
const HANG_KILL_MS = 120_000;

function retire(ns: string, md: string, extra: Record<string, string> = {}, killAfterMs = KILL_MS) {
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
        { killAfterMs },
    );
}

/** The MachineDeployment's spec.replicas as the apiserver has it. */
async function specReplicas(ns: string, md: string): Promise<number> {
    const r = await rc.api.get<{ spec: { replicas: number } }>(
        `/apis/${GROUP}/v1beta1/namespaces/${ns}/machinedeployments/${md}`,
    );
    return r.spec.replicas;
}

/**
 * Runs the retire through a proxy that holds, from its first match on, every request `fault` matches (never
 * forwarded); returns the run, the proxy's records and the index of the first held request.
 */
async function retireThroughHang(ns: string, md: string, fault: ProxyFault) {
    const { pki } = rc.c;
    const proxy = new FaultProxy(rc.c.state.server, { cert: pki.serverCert, key: pki.serverKey, ca: pki.caCert });
    const url = await proxy.start();
    try {
        proxy.inject({ ...fault, hang: true });
        const r = await retire(
            ns,
            md,
            { K8SU_KUBECONFIG: rc.kubeconfigFor(url), K8SU_REQUEST_TIMEOUT_SECONDS: String(REQUEST_TIMEOUT_SECONDS) },
            HANG_KILL_MS,
        );
        const held = proxy.records.findIndex((x) => x.answer === "hang");
        // It ended by itself, failing, at a request that got no answer.
        assert.equal(r.signal, undefined, `still running after ${HANG_KILL_MS / 1000}s: ${r.stderr}`);
        assert.equal(r.code, 1, r.stderr);
        assert.ok(held >= 0, `no request was held: ${proxy.records.map((x) => `${x.method} ${x.path}`).join(", ")}`);
        return { r, records: proxy.records, held };
    } finally {
        await proxy.stop();
    }
}

/** Run again without the fault, the retire finishes: every Machine gone, the MachineDeployment at 0. */
async function againFinishes(ns: string, md: string, capi: { machines(): Promise<unknown[]> }): Promise<void> {
    const again = await retire(ns, md);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(await capi.machines(), []);
    assert.equal(await specReplicas(ns, md), 0);
}

/** What the message says of a request that got no answer. */
const TIMEOUT_HINT = `no answer within ${REQUEST_TIMEOUT_SECONDS}s \\(K8SU_REQUEST_TIMEOUT_SECONDS\\)`;
const failedLine = (stderr: string) => stderr.split("\n").find((l) => l.includes("FAILED:")) ?? "";

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

    test("the Machine listing hangs after the first scale: it stops at its request timeout naming the listing, changes nothing after; run again, it finishes", async () => {
        const md = "hanglist-md-0-1-33";
        const { ns, capi } = await setup("hanglist", 3, { maxUnavailable: 1 });
        try {
            // The third listing is the first of the wait after the scale to 1 (one at the start, one per batch).
            const { r, records, held } = await retireThroughHang(ns, md, {
                match: new RegExp(`^GET /apis/${GROUP.replace(/\./g, "\\.")}/v1beta1/namespaces/${ns}/machines\\?`),
                fromNth: 3,
            });
            assert.match(
                failedLine(r.stderr),
                new RegExp(
                    `kubectl --namespace ${ns} get machines\\.cluster\\.x-k8s\\.io -l cluster\\.x-k8s\\.io/deployment-name=${md} failed against https://127\\.0\\.0\\.1:\\d+: .*${TIMEOUT_HINT}`,
                ),
                "the FAILED line names the listing and the timeout",
            );
            const changes = records.filter((x) => x.method !== "GET");
            assert.equal(changes.length, 1, `one scale, before the hang: ${JSON.stringify(changes)}`);
            assert.ok(records.indexOf(changes[0]) < held, "the scale came before the hang");
            assert.deepEqual(
                records.slice(held + 1).filter((x) => x.method !== "GET"),
                [],
                "nothing changed after the hang",
            );
            assert.equal(await specReplicas(ns, md), 1, "the MachineDeployment stays at the first batch's target");
            await againFinishes(ns, md, capi);
        } finally {
            await capi.stop();
        }
        await rc.waitReady(ns, "web", 6);
        rc.assertHealthy();
    });

    test("the scale hangs: it stops at its request timeout naming the scale, the MachineDeployment unchanged and nothing sent after; run again, it finishes", async () => {
        const md = "hangscale-md-0-1-33";
        const { ns, capi } = await setup("hangscale", 3, { maxUnavailable: 1 });
        try {
            const { r, records, held } = await retireThroughHang(ns, md, { match: /^(PATCH|PUT|POST) / });
            assert.match(
                records[held].path,
                new RegExp(`/machinedeployments/${md}/scale`),
                "the held call is the scale",
            );
            assert.match(
                failedLine(r.stderr),
                new RegExp(
                    `kubectl --namespace ${ns} scale machinedeployments\\.cluster\\.x-k8s\\.io/${md} --replicas=1 failed against https://127\\.0\\.0\\.1:\\d+: .*${TIMEOUT_HINT}`,
                ),
                "the FAILED line names the scale and the timeout",
            );
            assert.deepEqual(records.slice(held + 1), [], "nothing sent after the hang");
            assert.equal(await specReplicas(ns, md), 3, "the MachineDeployment is unchanged");
            assert.equal((await capi.machines()).length, 3, "no Machine went");
            await againFinishes(ns, md, capi);
        } finally {
            await capi.stop();
        }
        await rc.waitReady(ns, "web", 6);
        rc.assertHealthy();
    });
});
