// Worker rollback through config, end to end under mocks: a blue-green upgrade with retainPreviousPool keeps the
// blue pool, drained; setting the pool's kubernetesVersion back to it while the control plane stays brings it back
// (uncordoned, waited Ready) and drains and removes the pool that replaced it. No new pool, no node downgraded.

import * as assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseStackConfig } from "../components/config";
import { planStack } from "../components/plan";
import { parseRunningState } from "../components/running";
import type { Capture } from "../tools/capture-types";
import { renderPlan } from "../tools/plan";
import {
    COMMAND,
    directDeps,
    env,
    has,
    LKE_POOL,
    lkeCluster,
    resource,
    runProgram,
    scriptKindOf,
    stackConfig,
    upgrade,
} from "./helpers";

const retain = {
    strategy: "blue-green",
    retainPreviousPool: true,
    drain: { batchSize: 2, soakSeconds: 5, deleteEmptyDirData: false },
};
const pool = { name: "web", count: 3, type: "g6-standard-4", autoscaler: { min: 3, max: 6 } };
const at = (cp: string, poolVersion?: string, extra: Record<string, unknown> = {}, workers = retain) =>
    lkeCluster({
        kubernetesVersion: cp,
        workers,
        nodePools: [{ ...pool, ...(poolVersion ? { kubernetesVersion: poolVersion } : {}), ...extra }],
    });
const record = (c: Capture) => (c.stackOutputs as any).k8sUpgrades.clusters.apps;
const poolId = (c: Capture, resourceName: string) =>
    record(c).pools.find((p: any) => p.resourceName === resourceName).poolId as string;
const next = (config: Record<string, unknown>[], previous: Capture) =>
    runProgram({ stack: "dev", config: stackConfig(config), previous: previous.stackOutputs });

describe("LKE: blue-green 1.30 → 1.31 with retainPreviousPool, then the workers back to 1.30", async () => {
    const { second } = await upgrade([at("1.30")], [at("1.31")]);
    const rollback = await next([at("1.31", "1.30")], second);
    const after = await next([at("1.31", "1.30")], rollback);

    test("the upgrade records the drained blue pool as retained", () => {
        assert.equal(second.error, undefined, second.error);
        assert.deepEqual(
            record(second).pools.map((p: any) => [p.resourceName, p.version, p.retained ?? false]),
            [
                ["apps-web-1-31", "1.31", false],
                ["apps-web-1-30", "1.30", true],
            ],
        );
    });

    test("the rollback keeps the retained pool as registered, creates no pool and leaves the control plane alone", () => {
        assert.equal(rollback.error, undefined, rollback.error);
        const pools = rollback.resources.filter((r) => r.type === LKE_POOL).map((r) => r.name);
        assert.deepEqual(pools, ["apps-web-1-30"], "no new pool; the replacing pool leaves the program");
        assert.deepEqual(
            resource(rollback, "apps-web-1-30", LKE_POOL).inputs,
            resource(second, "apps-web-1-30", LKE_POOL).inputs,
            "the retained pool's inputs are unchanged: nothing about it is replaced or updated",
        );
        assert.ok(has(rollback, "apps-web-1-30-drain-guard"));
        assert.equal(has(rollback, "apps-web-1-31-drain-guard"), false, "its guard leaves with it, draining on delete");
        assert.equal(has(rollback, "apps-control-plane"), false);
        assert.equal(has(rollback, "apps-validate"), false, "no pool at the control plane's minor moved");
    });

    test("the retained pool is uncordoned, then waited Ready at 1.30, after the pre-flight", () => {
        const selector = `lke.linode.com/pool-id=${poolId(second, "apps-web-1-30")}`;
        const uncordon = resource(rollback, "apps-web-1-30-uncordon", COMMAND);
        assert.equal(scriptKindOf(uncordon), "uncordon");
        assert.equal(env(uncordon).K8SU_SELECTORS, selector);
        assert.deepEqual(directDeps(rollback, "apps-web-1-30-uncordon").sort(), [
            "apps",
            "apps-preflight",
            "apps-web-1-30",
        ]);
        const ready = resource(rollback, "apps-web-1-30-ready", COMMAND);
        assert.equal(scriptKindOf(ready), "wait-ready");
        assert.deepEqual(
            [env(ready).K8SU_SELECTOR, env(ready).K8SU_TARGET_MINOR, env(ready).K8SU_EXPECTED_NODES],
            [selector, "1.30", "3"],
        );
        assert.ok(directDeps(rollback, "apps-web-1-30-ready").includes("apps-web-1-30-uncordon"));
    });

    test("then the pool that replaced it is cordoned and drained, and the record waits for the drain", () => {
        const green = `lke.linode.com/pool-id=${poolId(second, "apps-web-1-31")}`;
        const cordon = resource(rollback, "apps-cordon-blue", COMMAND);
        assert.equal(env(cordon).K8SU_SELECTORS, green);
        assert.ok(directDeps(rollback, "apps-cordon-blue").includes("apps-web-1-30-ready"));
        const drain = resource(rollback, "apps-web-1-31-drain", COMMAND);
        assert.equal(scriptKindOf(drain), "drain");
        assert.equal(env(drain).K8SU_SELECTOR, green);
        assert.equal(env(drain).K8SU_MIN_READY_ELSEWHERE, "3");
        assert.ok(directDeps(rollback, "apps-web-1-31-drain").includes("apps-cordon-blue"));
        assert.equal(record(rollback).pools.length, 1, "the record is supplied, so the drain succeeded first");
        assert.equal(has(rollback, "apps-web-1-30-drain"), false, "the pool coming back is not drained");
    });

    test("the record: the control plane at 1.31, the pool back at 1.30 and no longer retained, upgrade in progress", () => {
        const state = record(rollback);
        assert.equal(state.controlPlaneVersion, "1.31");
        assert.deepEqual(
            state.pools.map((p: any) => [p.resourceName, p.version, p.retained ?? false]),
            [["apps-web-1-30", "1.30", false]],
        );
        assert.equal(state.pools[0].poolId, poolId(second, "apps-web-1-30"));
        assert.equal(state.upgradeInProgress, true, "the pool lags the control plane");
    });

    test("the plan text and the Markdown review show the rollback", () => {
        const previous = { outputs: second.stackOutputs, label: "test" };
        const plan = renderPlan("dev", rollback, previous, undefined, undefined);
        assert.equal(plan.exitCode, 0, plan.text);
        assert.match(plan.text, /mandatory \(blocks the update\): none\n/, "no policy refuses it");
        // The support window judges how old the versions are against the dated version table, not the rollback.
        const advisories = plan.text.split("\n").filter((l) => /^\s+- \[/.test(l));
        assert.deepEqual(
            advisories.filter((l) => !l.includes("[version-inside-supported-window]")),
            [],
            "no policy objects to the rollback",
        );
        const text = plan.text;
        assert.match(text, /apps-web-1-30-uncordon\s+uncordon lke\.linode\.com\/pool-id=/);
        assert.match(
            text,
            /~ pool apps-web-1-30: rolled back to, the retained pool at 1\.30 uncordoned and waited Ready before the pool that replaced it is drained/,
        );
        assert.match(text, /- pool apps-web-1-31 \(3 × g6-standard-4 at 1\.31\): drained by a step of this deployment/);
        assert.match(
            text,
            /cluster apps: pool "web" rolled back to 1\.30 \(apps-web-1-30\); the control plane stays at 1\.31/,
        );
        const md = renderPlan("dev", rollback, previous, undefined, undefined, { markdown: true }).text;
        assert.match(md, /- \*\*update\*\* pool apps-web-1-30: rolled back to/);
        assert.match(md, /apps-web-1-30-uncordon/);
        assert.match(md, /pool &quot;web&quot; rolled back|pool "web" rolled back/);
    });

    test("the deployment after the rollback changes nothing more: the pool is held at 1.30", () => {
        assert.equal(after.error, undefined, after.error);
        assert.equal(has(after, "apps-cordon-blue"), false);
        assert.equal(has(after, "apps-web-1-30-uncordon"), false);
        assert.deepEqual(
            after.resources.filter((r) => r.type === LKE_POOL).map((r) => r.name),
            ["apps-web-1-30"],
        );
    });
});

describe("LKE: a rollback refused, with the reason", async () => {
    const { second } = await upgrade([at("1.30")], [at("1.31")]);
    // The same record without the retained pool: an upgrade without retainPreviousPool.
    const plain = structuredClone(second.stackOutputs) as Record<string, unknown>;
    const plainPools = (plain as any).k8sUpgrades.clusters.apps.pools as unknown[];
    plainPools.splice(1, 1);
    const noRetained = await runProgram({ stack: "dev", config: stackConfig([at("1.31", "1.30")]), previous: plain });
    const running = parseRunningState(second.stackOutputs?.k8sUpgrades, "test");
    const planned = (cluster: Record<string, unknown>, state = running) =>
        planStack(parseStackConfig("dev", { clusters: [cluster] }), state);
    const refusal = (cluster: Record<string, unknown>, state = running) => {
        const { plans, issues } = planned(cluster, state);
        assert.equal(plans.length, 0, "refused");
        return issues
            .map((i) => `${i.field}: given ${JSON.stringify(i.given)}; allowed: ${i.allowed}. ${i.hint}`)
            .join("\n");
    };

    test("no retained pool recorded: the downgrade refusal, saying what a rollback needs, nothing registered", () => {
        assert.match(
            noRetained.error ?? "",
            /nodePools\[0\]\.kubernetesVersion: given "1\.30".*Workers roll back only to the pool that the last blue-green move kept \(workers\.retainPreviousPool: true\), during the deployment after it; none is recorded for "web"/s,
        );
        assert.equal(noRetained.resources.filter((r) => r.type === LKE_POOL).length, 0);
    });

    test("the control plane moving in the same deployment", () => {
        assert.match(
            refusal(at("1.32", "1.30")),
            /nodePools\[0\]\.kubernetesVersion: given "1\.30"; allowed: 1\.31 while the control plane moves to 1\.32\. A worker rollback runs while the control plane stays: set the cluster's kubernetesVersion back to 1\.31/,
        );
    });

    test("a version the retained pool does not run", () => {
        assert.match(refusal(at("1.31", "1.29")), /the pool kept for "web" is apps-web-1-30, at 1\.30, not 1\.29/);
    });

    test("a type or count other than the retained pool's", () => {
        const allowed = /allowed: type "g6-standard-4" and count 3, what apps-web-1-30 runs/;
        assert.match(
            refusal(at("1.31", "1.30", { type: "g6-standard-8" })),
            new RegExp(`^clusters\\[0\\]\\.nodePools\\[0\\]\\.type: .*${allowed.source}`),
        );
        assert.match(
            refusal(at("1.31", "1.30", { count: 4 })),
            new RegExp(`nodePools\\[0\\]\\.count: given 4; ${allowed.source}`),
        );
    });

    test("a retained pool outside the kubelet window of the running control plane", () => {
        const skewed = structuredClone(running)!;
        Object.assign(skewed.clusters.apps.pools[1], { version: "1.27", resourceName: "apps-web-1-27" });
        // The config rules already refuse a pool outside the cluster's window; the planner says it again on its own.
        assert.throws(
            () => planned(at("1.31", "1.27"), skewed),
            /kubelet 1\.27 is 4 minors older than the apiserver 1\.31/,
        );
        const config = parseStackConfig("dev", { clusters: [at("1.31", "1.28")] });
        config.clusters[0].nodePools[0].kubernetesVersion = "1.27";
        const { plans, issues } = planStack(config, skewed);
        assert.equal(plans.length, 0);
        assert.match(
            `${issues[0]?.allowed}. ${issues[0]?.hint}`,
            /^1\.31: 1\.27 is outside the kubelet window of the control plane 1\.31\. kubelet 1\.27 is 4 minors older than the apiserver 1\.31/,
        );
    });

    test("the rollback itself plans without a refusal", () => {
        const { plans, issues } = planned(at("1.31", "1.30"));
        assert.deepEqual(issues, []);
        assert.deepEqual(
            plans[0].pools.map((p) => [p.action, p.resourceName, p.version, p.blue?.resourceName]),
            [["rollback", "apps-web-1-30", "1.30", "apps-web-1-31"]],
        );
        assert.deepEqual(plans[0].retired, [], "the retained pool is not retired");
        assert.equal(plans[0].preflight, true);
    });
});

describe("EKS: the same rollback of a node group", async () => {
    const workers = { strategy: "blue-green", retainPreviousPool: true, drain: { deleteEmptyDirData: false } };
    const eks = (cp: string, poolVersion?: string) => ({
        name: "data",
        provider: "eks",
        kubernetesVersion: cp,
        eks: { region: "us-east-1", subnetIds: ["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002"] },
        nodePools: [
            {
                name: "general",
                count: 3,
                type: "m6i.large",
                ...(poolVersion ? { kubernetesVersion: poolVersion } : {}),
            },
        ],
        workers,
    });
    const NODE_GROUP = "aws:eks/nodeGroup:NodeGroup";
    const { second } = await upgrade([eks("1.30")], [eks("1.31")]);
    const rollback = await next([eks("1.31", "1.30")], second);
    const groups = (c: Capture) => (c.stackOutputs as any).k8sUpgrades.clusters.data.pools;

    test("the retained node group stays as registered, is uncordoned and waited Ready; the newer one is drained and removed", () => {
        assert.equal(rollback.error, undefined, rollback.error);
        assert.deepEqual(
            rollback.resources.filter((r) => r.type === NODE_GROUP).map((r) => r.name),
            ["data-general-1-30"],
        );
        assert.deepEqual(
            resource(rollback, "data-general-1-30", NODE_GROUP).inputs,
            resource(second, "data-general-1-30", NODE_GROUP).inputs,
        );
        assert.equal(resource(rollback, "data", "aws:eks/cluster:Cluster").inputs.version, "1.31");
        const [green, blue] = groups(second).map((p: { poolId: string }) => `eks.amazonaws.com/nodegroup=${p.poolId}`);
        assert.equal(env(resource(rollback, "data-general-1-30-uncordon", COMMAND)).K8SU_SELECTORS, blue);
        assert.equal(env(resource(rollback, "data-general-1-30-ready", COMMAND)).K8SU_TARGET_MINOR, "1.30");
        assert.equal(env(resource(rollback, "data-general-1-31-drain", COMMAND)).K8SU_SELECTOR, green);
        assert.ok(directDeps(rollback, "data-cordon-blue").includes("data-general-1-30-ready"));
        assert.deepEqual(
            groups(rollback).map((p: { resourceName: string; retained?: boolean }) => [p.resourceName, !!p.retained]),
            [["data-general-1-30", false]],
        );
    });
});
