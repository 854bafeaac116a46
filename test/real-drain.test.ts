// The worker scripts (cordon, drain, uncordon, wait-ready, validate, pre-flight) against the real control plane:
// kube-apiserver's eviction subresource, the disruption controller computing each budget, the ReplicaSet,
// StatefulSet and DaemonSet controllers replacing pods, kube-scheduler placing them, and kwok's kubelets starting
// and stopping them (a deleted pod goes when its grace period or its exit time is up). One control plane for the
// file; each test has its own namespace and its own nodes, named after the test.
import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { describe, test } from "node:test";
import { KUBECTL_FOR_SERVER, type PodView, realCluster, sleep } from "./fixture/real-cluster";
import { runScript, startScript } from "./fixture/run-script";

const rc = realCluster("drain");

const drainEnv = {
    K8SU_CLUSTER: "apps",
    K8SU_BATCH_SIZE: "2",
    K8SU_SOAK_SECONDS: "0",
    K8SU_GRACE_SECONDS: "",
    K8SU_DRAIN_TIMEOUT_SECONDS: "120",
    K8SU_DELETE_EMPTYDIR_DATA: "false",
    K8SU_POLL_SECONDS: "0.5",
};

function run(kind: Parameters<typeof runScript>[0], env: Record<string, string>) {
    return runScript(kind, { K8SU_KUBECONFIG: rc.kubeconfig(), ...env }, KUBECTL_FOR_SERVER);
}

/** Blue nodes (`<id>-blue-N`, label pool=<id>-blue, kubelet 1.33) for the pods, then green ones at 1.34. */
async function bluePool(id: string, n: number, cpu = "4"): Promise<string[]> {
    const names = Array.from({ length: n }, (_, i) => `${id}-blue-${i + 1}`);
    await rc.nodes(
        names.map((name) => ({ name, cpu, labels: { pool: `${id}-blue`, test: id }, kubeletVersion: "v1.33.7" })),
    );
    return names;
}

async function greenPool(id: string, n: number, cpu = "4"): Promise<string[]> {
    const names = Array.from({ length: n }, (_, i) => `${id}-green-${i + 1}`);
    await rc.nodes(names.map((name) => ({ name, cpu, labels: { pool: `${id}-green`, test: id } })));
    return names;
}

/** Samples the Ready, non-terminating pods of each app every 200 ms until stopped; keeps the fewest seen. */
function watchReady(ns: string, apps: string[]): { stop(): Promise<Record<string, number>> } {
    const fewest: Record<string, number> = {};
    let running = true;
    const loop = (async () => {
        while (running) {
            const pods = await rc.pods(ns);
            for (const app of apps) {
                const ready = pods.filter((p) => p.name.startsWith(`${app}-`) && p.ready && !p.terminating).length;
                fewest[app] = Math.min(fewest[app] ?? ready, ready);
            }
            await sleep(200);
        }
    })();
    return {
        async stop() {
            running = false;
            await loop;
            return fewest;
        },
    };
}

const onPool = (pods: PodView[], prefix: string) => pods.filter((p) => p.node?.startsWith(prefix));

describe("drain on the real control plane", { concurrency: true }, () => {
    test("blue-green drain: budgets (whole, percentage) never broken, StatefulSet and DaemonSet pods handled, every pod moved once", async () => {
        const ns = await rc.namespace("bg");
        const blue = await bluePool("bg", 3);
        await rc.daemonSet(ns, "agent", { nodeSelector: { test: "bg" }, exitAfter: "1s" });
        await rc.deployment(ns, "web", { nodeSelector: { test: "bg" }, replicas: 6, exitAfter: "1s" });
        await rc.pdb(ns, "web", { maxUnavailable: 1 });
        await rc.deployment(ns, "api", { nodeSelector: { test: "bg" }, replicas: 4, exitAfter: "1s" });
        await rc.pdb(ns, "api", { minAvailable: "50%" });
        await rc.statefulSet(ns, "db", { nodeSelector: { test: "bg" }, replicas: 3, exitAfter: "1s" });
        await rc.pdb(ns, "db", { maxUnavailable: 1, unhealthyPodEvictionPolicy: "AlwaysAllow" });
        await rc.waitReady(ns, "web", 6);
        await rc.waitReady(ns, "api", 4);
        await rc.waitReady(ns, "db", 3);
        await rc.waitReady(ns, "agent", 3);
        const before = await rc.pods(ns);
        await greenPool("bg", 3);
        const watch = watchReady(ns, ["web", "api", "db"]);
        const r = await run("drain", { ...drainEnv, K8SU_SELECTOR: "pool=bg-blue", K8SU_MIN_READY_ELSEWHERE: "3" });
        const fewest = await watch.stop();
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stderr, /drain batch 1: bg-blue-1 bg-blue-2\n[\s\S]*drain batch 2: bg-blue-3/);
        assert.ok(fewest.web >= 5, `web's budget allows one down; saw ${fewest.web} Ready`);
        assert.ok(fewest.api >= 2, `api's budget keeps 50% of 4; saw ${fewest.api} Ready`);
        assert.ok(fewest.db >= 2, `db's budget allows one down; saw ${fewest.db} Ready`);
        for (const n of blue) assert.equal((await rc.node(n)).unschedulable, true, `${n} stays cordoned`);
        const after = await rc.pods(ns);
        const workloads = after.filter((p) => !p.name.startsWith("agent-"));
        assert.equal(onPool(workloads, "bg-blue").length, 0, "no workload pod is left on a blue node");
        assert.equal(workloads.filter((p) => p.ready).length, 13);
        // Every pod that ran on blue was replaced once: the Deployments' pods are new, none was replaced twice.
        const beforeNames = new Set(before.map((p) => p.name));
        assert.equal(after.filter((p) => p.name.startsWith("web-") && beforeNames.has(p.name)).length, 0);
        // DaemonSet pods stay where they are (kubectl drain --ignore-daemonsets).
        assert.equal(
            onPool(
                after.filter((p) => p.name.startsWith("agent-")),
                "bg-blue",
            ).length,
            3,
        );
        rc.assertHealthy();
    });

    test("a budget that allows no disruption stops the drain at its timeout, naming the pod; nodes stay cordoned and the pods stay", async () => {
        const ns = await rc.namespace("pdb");
        const blue = await bluePool("pdb", 2);
        await rc.deployment(ns, "ledger", { nodeSelector: { test: "pdb" }, replicas: 2, exitAfter: "1s" });
        await rc.pdb(ns, "ledger", { minAvailable: 2 });
        await rc.waitReady(ns, "ledger", 2);
        await greenPool("pdb", 2);
        const r = await run("drain", {
            ...drainEnv,
            K8SU_SELECTOR: "pool=pdb-blue",
            K8SU_MIN_READY_ELSEWHERE: "2",
            K8SU_DRAIN_TIMEOUT_SECONDS: "8",
        });
        assert.equal(r.code, 1, r.stderr);
        assert.match(r.stderr, /Cannot evict pod as it would violate the pod's disruption budget/);
        assert.match(
            r.stderr,
            /drain did not finish for pdb-blue-1( pdb-blue-2)?; the nodes stay cordoned and their pool stays in place/,
        );
        assert.match(r.stderr, new RegExp(`${ns}/ledger-`));
        for (const n of blue) assert.equal((await rc.node(n)).unschedulable, true);
        const ledger = await rc.pods(ns, "app=ledger");
        assert.equal(ledger.filter((p) => p.ready && !p.terminating).length, 2, "both ledger pods still run");
        assert.equal(onPool(ledger, "pdb-blue").length, 2, "and still on the blue pool");
        rc.assertHealthy();
    });

    test("an eviction granted but never carried out holds the budget; the failed drain names the budget and the pod", async () => {
        const ns = await rc.namespace("phantom");
        await bluePool("phantom", 1);
        await rc.deployment(ns, "web", { nodeSelector: { test: "phantom" }, replicas: 2, exitAfter: "1s" });
        await rc.pdb(ns, "web", { maxUnavailable: 1 });
        const [held] = await rc.waitReady(ns, "web", 2);
        await greenPool("phantom", 1);
        // What the eviction API writes before it deletes the pod, left as a cancelled request leaves it.
        const pdbPath = `/apis/policy/v1/namespaces/${ns}/poddisruptionbudgets/web`;
        await rc.api.patch(`${pdbPath}/status`, {
            status: { disruptedPods: { [held!.name]: new Date().toISOString().replace(/\.\d+Z$/, "Z") } },
        });
        for (let i = 0; i < 100; i++) {
            const pdb = await rc.api.get<{ status?: { disruptionsAllowed?: number } }>(pdbPath);
            if (pdb.status?.disruptionsAllowed === 0) break;
            await sleep(100);
        }
        const r = await run("drain", {
            ...drainEnv,
            K8SU_SELECTOR: "pool=phantom-blue",
            K8SU_MIN_READY_ELSEWHERE: "1",
            K8SU_DRAIN_TIMEOUT_SECONDS: "6",
        });
        assert.equal(r.code, 1, r.stderr);
        assert.match(r.stderr, /budgets holding evictions granted but not yet carried out/);
        assert.match(r.stderr, new RegExp(`${ns}/web counts as being evicted: .*${held!.name}`));
        assert.equal((await rc.pods(ns, "app=web")).filter((p) => p.ready && !p.terminating).length, 2);
        rc.assertHealthy();
    });
    test("pods without a controller and emptyDir pods stop the drain before any eviction", async () => {
        const ns = await rc.namespace("bare");
        const [blue1] = await bluePool("bare", 1);
        await rc.barePod(ns, "oneoff", blue1);
        await rc.deployment(ns, "cache", { nodeSelector: { test: "bare" }, replicas: 1, emptyDir: true });
        await rc.deployment(ns, "web", { nodeSelector: { test: "bare" }, replicas: 2 });
        await rc.waitReady(ns, "oneoff", 1);
        await rc.waitReady(ns, "cache", 1);
        await rc.waitReady(ns, "web", 2);
        await greenPool("bare", 1);
        const r = await run("drain", {
            ...drainEnv,
            K8SU_SELECTOR: "pool=bare-blue",
            K8SU_MIN_READY_ELSEWHERE: "1",
            K8SU_DRAIN_TIMEOUT_SECONDS: "20",
        });
        assert.equal(r.code, 1, r.stderr);
        assert.match(r.stderr, new RegExp(`cannot delete Pods that declare no controller[^\\n]*${ns}/oneoff`));
        assert.match(r.stderr, new RegExp(`cannot delete Pods with local storage[^\\n]*${ns}/cache-`));
        const pods = await rc.pods(ns);
        assert.equal(pods.filter((p) => p.terminating).length, 0, "no pod was evicted");
        assert.equal(onPool(pods, "bare-blue").length, 4);
        rc.assertHealthy();
    });

    test("a static pod's mirror is skipped and stays; a long grace period is waited out, not cut", async () => {
        const ns = await rc.namespace("grace");
        const [blue1] = await bluePool("grace", 1);
        await rc.mirrorPod(ns, "etcd", blue1);
        await rc.deployment(ns, "slow", { nodeSelector: { test: "grace" }, replicas: 1, graceSeconds: 6 });
        await rc.waitReady(ns, "slow", 1);
        await greenPool("grace", 1);
        const r = await run("drain", {
            ...drainEnv,
            K8SU_SELECTOR: "pool=grace-blue",
            K8SU_MIN_READY_ELSEWHERE: "1",
            K8SU_BATCH_SIZE: "1",
        });
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stderr, /evicting pod grace-\d+\/slow-/);
        const pods = await rc.pods(ns);
        assert.ok(
            pods.some((p) => p.name === `etcd-${blue1}` && p.node === blue1),
            "the mirror pod stays on its node",
        );
        // kwok removes the evicted pod at its deletionTimestamp: the drain took at least the 6 s grace period.
        assert.ok(r.ms >= 6000, `the drain waited for the pod's 6 s grace period (took ${r.ms} ms)`);
        rc.assertHealthy();
    });

    test("cordon, uncordon, wait-ready and validate against real nodes", async () => {
        await bluePool("cu", 2);
        await greenPool("cu", 2);
        const cordon = await run("cordon", { K8SU_SELECTORS: "pool=cu-blue" });
        assert.equal(cordon.code, 0, cordon.stderr);
        assert.equal((await rc.node("cu-blue-1")).unschedulable, true);
        assert.equal((await rc.node("cu-blue-2")).unschedulable, true);
        const ready = await run("wait-ready", {
            K8SU_SELECTOR: "pool=cu-green",
            K8SU_EXPECTED_NODES: "2",
            K8SU_TARGET_MINOR: "1.34",
            K8SU_TIMEOUT_SECONDS: "30",
        });
        assert.equal(ready.code, 0, ready.stderr);
        const notYet = await run("wait-ready", {
            K8SU_SELECTOR: "pool=cu-blue",
            K8SU_EXPECTED_NODES: "2",
            K8SU_TARGET_MINOR: "1.34",
            K8SU_TIMEOUT_SECONDS: "2",
        });
        assert.equal(notYet.code, 1);
        assert.match(notYet.stderr, /only 0 of 2 node\(s\) matching pool=cu-blue became Ready at 1\.34 within 2s/);
        const bad = await run("validate", { K8SU_TARGET_MINOR: "1.34", K8SU_SELECTORS: "pool=cu-green\npool=cu-blue" });
        assert.equal(bad.code, 1);
        assert.match(bad.stderr, /node cu-blue-1 \(pool=cu-blue\) runs kubelet v1\.33\.7, not 1\.34/);
        const good = await run("validate", { K8SU_TARGET_MINOR: "1.34", K8SU_SELECTORS: "pool=cu-green" });
        assert.equal(good.code, 0, good.stderr);
        const uncordon = await run("uncordon", { K8SU_SELECTORS: "pool=cu-blue" });
        assert.equal(uncordon.code, 0, uncordon.stderr);
        assert.equal((await rc.node("cu-blue-1")).unschedulable, false);
        rc.assertHealthy();
    });

    test("a drain killed halfway leaves the pool cordoned and a second run finishes it", async () => {
        const ns = await rc.namespace("kill");
        await bluePool("kill", 2);
        await rc.deployment(ns, "web", { nodeSelector: { test: "kill" }, replicas: 4, graceSeconds: 4 });
        await rc.pdb(ns, "web", { maxUnavailable: 1 });
        await rc.waitReady(ns, "web", 4);
        await greenPool("kill", 2);
        const env = {
            K8SU_KUBECONFIG: rc.kubeconfig(),
            ...drainEnv,
            K8SU_SELECTOR: "pool=kill-blue",
            K8SU_MIN_READY_ELSEWHERE: "2",
            K8SU_BATCH_SIZE: "1",
        };
        const first = startScript("drain", env, KUBECTL_FOR_SERVER, { killAfterMs: 600_000 });
        // Kill it (SIGKILL, as the engine cancels a command) once its first eviction is under way.
        while (!(await rc.pods(ns)).some((p) => p.terminating)) await sleep(200);
        process.kill(-first.child.pid!, "SIGKILL");
        await first.done;
        assert.equal((await rc.node("kill-blue-1")).unschedulable, true);
        assert.equal((await rc.node("kill-blue-2")).unschedulable, true);
        // An eviction cut off by the kill may have been granted (the pod counted in the budget's disruptedPods) but
        // never carried out; the disruption controller releases it two minutes later (DeletionTimeout), so the
        // second run needs a drain timeout longer than that, as the default (900 s) is.
        const second = await runScript("drain", { ...env, K8SU_DRAIN_TIMEOUT_SECONDS: "300" }, KUBECTL_FOR_SERVER);
        assert.equal(second.code, 0, second.stderr);
        assert.equal(onPool(await rc.pods(ns, "app=web"), "kill-blue").length, 0);
        await rc.waitReady(ns, "web", 4);
        rc.assertHealthy();
    });
    test("SIGKILL of the script alone (how the engine cancels a command): its kubectl drain stops, nothing more is evicted", async () => {
        const ns = await rc.namespace("orphan");
        await bluePool("orphan", 1);
        await rc.deployment(ns, "web", { nodeSelector: { test: "orphan" }, replicas: 2 });
        await rc.deployment(ns, "ledger", { nodeSelector: { test: "orphan" }, replicas: 1 });
        await rc.pdb(ns, "ledger", { minAvailable: 1 });
        await rc.waitReady(ns, "web", 2);
        await rc.waitReady(ns, "ledger", 1);
        await greenPool("orphan", 1);
        const env = {
            K8SU_KUBECONFIG: rc.kubeconfig(),
            ...drainEnv,
            K8SU_SELECTOR: "pool=orphan-blue",
            K8SU_MIN_READY_ELSEWHERE: "1",
        };
        // Not its own process group: only the bash script is killed, as Go's exec.CommandContext kills it.
        const drain = startScript("drain", env, KUBECTL_FOR_SERVER);
        // The ledger pod's budget holds the drain in its retry loop.
        while (!(await rc.pods(ns, "app=web")).some((p) => p.terminating)) await sleep(200);
        drain.child.kill("SIGKILL");
        await drain.done;
        const drains = () =>
            execFileSync("ps", ["-eo", "args"], { encoding: "utf8" })
                .split("\n")
                .filter((l) => l.startsWith("kubectl drain orphan-blue-1"));
        for (let i = 0; i < 50 && drains().length > 0; i++) await sleep(200);
        assert.deepEqual(drains(), [], "the orphaned kubectl drain was stopped");
        // With the budget relaxed, a drain still running would evict the ledger pod at its next 5 s retry.
        await rc.api.patch(`/apis/policy/v1/namespaces/${ns}/poddisruptionbudgets/ledger`, {
            spec: { minAvailable: 0 },
        });
        await sleep(7000);
        const ledger = await rc.pods(ns, "app=ledger");
        assert.equal(
            ledger.filter((p) => !p.terminating && p.node === "orphan-blue-1").length,
            1,
            "nothing evicted after",
        );
        assert.equal((await rc.node("orphan-blue-1")).unschedulable, true);
        rc.assertHealthy();
    });
});
