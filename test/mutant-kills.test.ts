// Tests that kill survivors of the shell mutation runner (`npm run mutants:scripts`): each is named after the
// mutant it kills (script, line content, operator) and runs the real script with the real kubectl against the
// test API server. The runner runs this file first for every script but the kubeadm node scripts, whose
// survivors are killed in test/kubeadm-scripts.test.ts.

import * as assert from "node:assert/strict";
import { describe, test } from "node:test";
import { KubeApiFixture } from "./fixture/kube-api";
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

async function withFixture(body: (f: KubeApiFixture) => Promise<void>) {
    const f = new KubeApiFixture("1.31.4");
    await f.start();
    try {
        f.addNode("blue-1", { labels: { pool: "blue" }, kubeletVersion: "1.30.9" });
        for (const n of ["green-1", "green-2"]) f.addNode(n, { labels: { pool: "green" } });
        f.addReplicaSet("default", "web", 2, ["blue-1", "green-1"]);
        await body(f);
    } finally {
        await f.stop();
    }
}

describe("mutants killed", { concurrency: true }, () => {
    // drain.sh checks its variables before anything else. Without that line, a drain started without
    // K8SU_DELETE_EMPTYDIR_DATA (which no integer check covers) would cordon the pool and only then stop on an
    // unbound variable, leaving cordoned nodes behind for a mistake in its own inputs.
    for (const missing of ["K8SU_DELETE_EMPTYDIR_DATA", "K8SU_SELECTOR", "K8SU_MIN_READY_ELSEWHERE"])
        test(`mutant drain.sh \`require_env …\` dropped: a drain without ${missing} is refused before any API call`, () =>
            withFixture(async (f) => {
                const env: Record<string, string> = { K8SU_KUBECONFIG: f.kubeconfig(), ...drainEnv };
                delete env[missing];
                const r = await runScript("drain", env, KUBECTL, { killAfterMs: 60_000 });
                assert.notEqual(r.code, 0);
                assert.match(r.stderr, new RegExp(`environment variable ${missing} is not set`));
                assert.deepEqual(f.requests, [], "the drain talked to the cluster before checking its inputs");
                assert.equal(f.nodes.get("blue-1")!.unschedulable, false);
            }));
});
