// LKE under the mock runtime: each strategy from a real 1.30 deployment to 1.31 in config, asserting the
// dependency graph a `pulumi up` would follow.

import * as assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
    allDeps,
    COMMAND,
    directDeps,
    env,
    has,
    LKE_CLUSTER,
    LKE_POOL,
    lkeCluster,
    resource,
    runProgram,
    scriptKindOf,
    stackConfig,
    upgrade,
} from "./helpers";

const at = (version: string, workers: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
    lkeCluster({ kubernetesVersion: version, workers, ...extra });
const blueGreen = { strategy: "blue-green", drain: { batchSize: 2, soakSeconds: 5, deleteEmptyDirData: false } };

describe("blue-green", async () => {
    const { first, second } = await upgrade([at("1.30", blueGreen)], [at("1.31", blueGreen)]);

    test("the first deployment arms a drain guard on every pool: delete-time drain, depending on the pool, no deletedWith", () => {
        const guard = resource(first, "apps-web-1-30-drain-guard");
        assert.equal(scriptKindOf(guard, "create"), "drain-guard-create");
        assert.equal(scriptKindOf(guard, "delete"), "drain");
        assert.ok(directDeps(first, "apps-web-1-30-drain-guard").includes("apps-web-1-30"));
        assert.equal(guard.deletedWith, undefined);
        assert.equal(
            env(guard).K8SU_SELECTOR,
            `lke.linode.com/pool-id=${(first.stackOutputs as any).k8sUpgrades.clusters.apps.pools[0].poolId}`,
        );
        assert.equal(env(guard).K8SU_BATCH_SIZE, "2");
        assert.equal(env(guard).K8SU_MIN_READY_ELSEWHERE, "3");
    });

    test("pre-flight → control plane API call → green pool → green ready → cordon blue → validation", () => {
        assert.deepEqual(directDeps(second, "apps-control-plane").sort(), ["apps", "apps-preflight"]);
        assert.equal(scriptKindOf(resource(second, "apps-control-plane")), "lke-control-plane");
        assert.ok(allDeps(second, "apps-web-1-31", LKE_POOL).has("apps-control-plane"));
        assert.ok(directDeps(second, "apps-web-1-31-ready").includes("apps-web-1-31"));
        assert.ok(directDeps(second, "apps-cordon-blue").includes("apps-web-1-31-ready"));
        assert.ok(allDeps(second, "apps-validate").has("apps-cordon-blue"));
        assert.ok(allDeps(second, "apps-validate").has("apps-web-1-31-ready"));
    });

    test("the blue pool and its guard leave the program, so the engine runs the guard's drain before deleting the pool", () => {
        assert.equal(has(second, "apps-web-1-30"), false);
        assert.equal(has(second, "apps-web-1-30-drain-guard"), false);
        const blueId = (first.stackOutputs as any).k8sUpgrades.clusters.apps.pools[0].poolId;
        assert.equal(env(resource(second, "apps-cordon-blue")).K8SU_SELECTORS, `lke.linode.com/pool-id=${blueId}`);
    });

    test("the green pool copies the blue pool's type, count and autoscaler", () => {
        const green = resource(second, "apps-web-1-31", LKE_POOL).inputs as Record<string, any>;
        assert.equal(green.type, "g6-standard-4");
        assert.equal(green.nodeCount, 3);
        assert.deepEqual(green.autoscaler, { min: 3, max: 6 });
        assert.ok((green.tags as string[]).includes("k8s-upgrades-managed"));
        assert.deepEqual(resource(second, "apps", LKE_CLUSTER).inputs.externalPoolTags, ["k8s-upgrades-managed"]);
    });

    test("the LkeCluster never carries the version change", () => {
        assert.ok(resource(second, "apps", LKE_CLUSTER).ignoreChanges.includes("k8sVersion"));
        assert.equal(allDeps(second, "apps", LKE_CLUSTER).has("apps-preflight"), false);
    });

    test("secrets reach every step only as Pulumi secrets", () => {
        const withKubeconfig = second.resources.filter(
            (r) => r.type === COMMAND && env(r).K8SU_KUBECONFIG_B64 !== undefined,
        );
        // Not vacuous: the steps that talk to the cluster carry a kubeconfig.
        for (const name of ["apps-preflight", "apps-validate"])
            assert.ok(
                withKubeconfig.some((r) => r.name === name),
                `${name} has no kubeconfig: ${withKubeconfig.map((r) => r.name).join(", ")}`,
            );
        for (const r of withKubeconfig)
            assert.ok(r.secretPaths.includes("environment.K8SU_KUBECONFIG_B64"), `${r.name} kubeconfig is not secret`);
        assert.ok(
            second.stackOutputSecretPaths.some((p) => p.startsWith("kubeconfigs")),
            "the kubeconfigs output must be secret",
        );
    });

    test("the exported running state records the green pool at 1.31", () => {
        const state = (second.stackOutputs as any).k8sUpgrades.clusters.apps;
        assert.equal(state.controlPlaneVersion, "1.31");
        assert.deepEqual(
            state.pools.map((p: any) => [p.resourceName, p.version]),
            [["apps-web-1-31", "1.31"]],
        );
        assert.equal(state.upgradeInProgress, false);
        assert.equal(state.validatedVersion, "1.31");
    });
});

describe("blue-green with retainPreviousPool", async () => {
    const retain = { ...blueGreen, retainPreviousPool: true };
    const { first, second } = await upgrade([at("1.30", retain)], [at("1.31", retain)]);
    const third = await runProgram({
        stack: "dev",
        config: stackConfig([at("1.31", retain)]),
        previous: second.stackOutputs,
    });

    test("keeps the blue pool registered and drains it now, after the blues are cordoned", () => {
        assert.ok(has(second, "apps-web-1-30"));
        assert.ok(has(second, "apps-web-1-30-drain-guard"));
        assert.equal(scriptKindOf(resource(second, "apps-web-1-30-drain")), "drain");
        assert.ok(directDeps(second, "apps-web-1-30-drain").includes("apps-cordon-blue"));
        const state = (second.stackOutputs as any).k8sUpgrades.clusters.apps;
        assert.equal(state.pools.find((p: any) => p.resourceName === "apps-web-1-30").retained, true);
        assert.equal(state.upgradeInProgress, true);
        assert.equal(first.error, undefined);
    });

    test("the next deployment removes the retained pool through its drain guard", () => {
        assert.equal(third.error, undefined);
        assert.equal(has(third, "apps-web-1-30"), false);
        assert.ok(has(third, "apps-web-1-31"));
        assert.equal(has(third, "apps-control-plane"), false);
        assert.equal((third.stackOutputs as any).k8sUpgrades.clusters.apps.upgradeInProgress, false);
    });
});

describe("in-place", async () => {
    const inPlace = { strategy: "in-place", drain: { deleteEmptyDirData: true } };
    const { second } = await upgrade([at("1.30", inPlace)], [at("1.31", inPlace)]);
    // The token comes from linode:token when set: run once more with it, as a secret.
    const withToken = await runProgram({
        stack: "dev",
        config: { ...stackConfig([at("1.31", inPlace)]), "linode:token": "t0ken" },
        secretKeys: ["linode:token"],
        previous: (await runProgram({ stack: "dev", config: stackConfig([at("1.30", inPlace)]) })).stackOutputs,
    });

    test("one surge node, one old node at a time, after the control plane; the pool keeps its name and count", () => {
        const step = resource(second, "apps-web-1-30-in-place");
        assert.equal(scriptKindOf(step), "lke-in-place");
        assert.ok(directDeps(second, "apps-web-1-30-in-place").includes("apps-control-plane"));
        assert.ok(directDeps(second, "apps-web-1-30-in-place").includes("apps-web-1-30"));
        assert.deepEqual(
            [
                env(step).K8SU_POOL_COUNT,
                env(step).K8SU_AUTOSCALER_MIN,
                env(step).K8SU_AUTOSCALER_MAX,
                env(step).K8SU_TARGET_MINOR,
            ],
            ["3", "3", "6", "1.31"],
        );
        assert.equal(resource(second, "apps-web-1-30", LKE_POOL).inputs.nodeCount, 3);
        assert.equal(has(second, "apps-web-1-31"), false);
        assert.ok(resource(second, "apps", LKE_CLUSTER).ignoreChanges.includes("k8sVersion"));
        assert.ok(allDeps(second, "apps-validate").has("apps-web-1-30-in-place"));
    });

    test("the Linode token reaches the steps only as a secret", () => {
        const step = resource(withToken, "apps-web-1-30-in-place");
        assert.equal(env(step).LINODE_TOKEN, "t0ken");
        assert.ok(step.secretPaths.includes("environment.LINODE_TOKEN"));
        assert.ok(resource(withToken, "apps-control-plane").secretPaths.includes("environment.LINODE_TOKEN"));
        assert.equal(
            env(resource(second, "apps-web-1-30-in-place")).LINODE_TOKEN,
            undefined,
            "without linode:token the step reads LINODE_TOKEN from the environment of pulumi up",
        );
    });
});

describe("recycle", async () => {
    const recycle = { strategy: "recycle", drain: { deleteEmptyDirData: true } };
    const { first, second } = await upgrade([at("1.30", recycle)], [at("1.31", recycle)]);

    test("the provider never acts on the version: control plane through the API, then each pool recycled through the recycle API, after pre-flight", () => {
        const cluster = resource(second, "apps", LKE_CLUSTER);
        assert.deepEqual(cluster.ignoreChanges, ["k8sVersion"]);
        assert.equal(scriptKindOf(resource(second, "apps-control-plane")), "lke-control-plane");
        assert.ok(directDeps(second, "apps-control-plane").includes("apps-preflight"));
        const recycle = resource(second, "apps-web-1-30-recycle");
        assert.equal(scriptKindOf(recycle), "lke-recycle-pool");
        assert.equal(
            env(recycle).K8SU_LKE_POOL_ID,
            (first.stackOutputs as any).k8sUpgrades.clusters.apps.pools[0].poolId,
            "the pool recorded by the previous deployment",
        );
        assert.ok(directDeps(second, "apps-web-1-30-recycle").includes("apps-control-plane"));
        assert.ok(allDeps(second, "apps-web-1-30-ready").has("apps-web-1-30-recycle"));
        assert.ok(directDeps(second, "apps-anchor-recycle").includes("apps-control-plane"));
        assert.ok(allDeps(second, "apps-validate").has("apps-web-1-30-ready"));
    });

    test("switching an existing cluster to recycle changes nothing by itself: no version diff reaches the provider", async () => {
        const inPlace = { strategy: "in-place" };
        const { second: switched } = await upgrade([at("1.30", inPlace)], [at("1.30", recycle)]);
        assert.equal(switched.error, undefined, switched.error);
        assert.deepEqual(resource(switched, "apps", LKE_CLUSTER).ignoreChanges, ["k8sVersion"]);
        assert.deepEqual(
            switched.resources.filter((r) => r.type === COMMAND).map((r) => scriptKindOf(r)),
            ["drain-guard-create"],
            "no recycle, no control plane step, nothing to pre-flight",
        );
    });

    test("the plan warns that capacity drops one node at a time", () => {
        assert.match(second.log ?? "", /capacity drops by one node/);
    });
});

describe("patch-only bump", async () => {
    const { second } = await upgrade([at("1.31.2", blueGreen)], [at("1.31.5", blueGreen)]);
    test("creates no pool and runs no drain, cordon, control plane or pre-flight step", () => {
        assert.equal(second.error, undefined);
        assert.deepEqual(
            second.resources.filter((r) => r.type === LKE_POOL).map((r) => r.name),
            ["apps-web-1-31"],
        );
        const commands = second.resources.filter((r) => r.type === COMMAND).map((r) => scriptKindOf(r));
        assert.deepEqual(commands, ["drain-guard-create"]);
        assert.match(second.log ?? "", /is a patch: Linode Kubernetes Engine applies patches itself/);
    });
});

describe("pool changes beside the upgrade", async () => {
    test("a machine type change under in-place is refused; under blue-green it makes a new generation", async () => {
        const inPlace = { strategy: "in-place" };
        const bigger = [{ name: "web", count: 3, type: "g6-standard-8" }];
        const refused = await upgrade([at("1.31", inPlace)], [at("1.31", inPlace, { nodePools: bigger })]);
        assert.match(
            refused.second.error ?? "",
            /nodePools\[0\]\.type: given "g6-standard-8".*use strategy blue-green/,
        );
        const moved = await upgrade([at("1.31", blueGreen)], [at("1.31", blueGreen, { nodePools: bigger })]);
        const pools = moved.second.resources.filter((r) => r.type === LKE_POOL).map((r) => r.name);
        assert.equal(pools.length, 1);
        assert.match(pools[0], /^apps-web-1-31-[0-9a-f]{6}$/);
        assert.ok(has(moved.second, "apps-cordon-blue"));
    });

    test("a pool removed from config is drained by its guard, then deleted", async () => {
        const two = [
            { name: "web", count: 3, type: "g6-standard-4" },
            { name: "batch", count: 2, type: "g6-dedicated-4" },
        ];
        const { first, second } = await upgrade(
            [at("1.31", blueGreen, { nodePools: two })],
            [at("1.31", blueGreen, { nodePools: [two[0]] })],
        );
        assert.ok(has(first, "apps-batch-1-31-drain-guard"));
        assert.equal(has(second, "apps-batch-1-31"), false);
        assert.match(second.log ?? "", /pools removed from config are drained, then deleted: apps-batch-1-31/);
    });
});

describe("the record never claims more than what is proven", async () => {
    const two = [
        { name: "web", count: 3, type: "g6-standard-4" },
        { name: "api", count: 2, type: "g6-standard-2" },
    ];
    const before = [at("1.30", blueGreen, { nodePools: two })];
    const after = [at("1.31", blueGreen, { nodePools: two })];
    const { first, second } = await upgrade(before, after);
    const failing = (name: string) =>
        runProgram({ stack: "dev", config: stackConfig(after), previous: first.stackOutputs, failResources: [name] });
    const [drainFails, guardFails] = await Promise.all([
        failing("apps-api-1-30-drain"),
        failing("apps-api-1-31-drain-guard"),
    ]);

    test("blue pools drain as steps of the deployment, one after another, after the cordon and before validation", () => {
        const web = resource(second, "apps-web-1-30-drain");
        const api = resource(second, "apps-api-1-30-drain");
        assert.equal(scriptKindOf(web), "drain");
        assert.ok(directDeps(second, "apps-web-1-30-drain").includes("apps-cordon-blue"));
        assert.ok(
            directDeps(second, "apps-api-1-30-drain").includes("apps-web-1-30-drain"),
            "the second blue pool's drain waits for the first, so batchSize is the cluster's nodes drained at once",
        );
        assert.equal(
            env(api).K8SU_SELECTOR,
            `lke.linode.com/pool-id=${(first.stackOutputs as any).k8sUpgrades.clusters.apps.pools[1].poolId}`,
        );
        assert.equal(env(web).K8SU_BATCH_SIZE, "2");
        for (const d of ["apps-web-1-30-drain", "apps-api-1-30-drain"])
            assert.ok(allDeps(second, "apps-validate").has(d));
    });

    test("when a blue drain fails, the program never supplies the record, so the previous one stays", () => {
        assert.ok(second.stackOutputs?.k8sUpgrades, "without a failure the record is supplied");
        assert.equal(drainFails.stackOutputs?.k8sUpgrades, undefined);
    });

    test("a step the record does not wait for (a drain guard's no-op create) leaves the record supplied", () => {
        assert.ok(guardFails.stackOutputs?.k8sUpgrades, "the probe tells the two cases apart");
    });

    test("the blue pools' drain guards remain the last check on delete", () => {
        assert.equal(has(second, "apps-web-1-30-drain-guard"), false);
        assert.equal(scriptKindOf(resource(first, "apps-web-1-30-drain-guard"), "delete"), "drain");
    });
});

describe("a pool removed from config, and a lower count", async () => {
    const two = [
        { name: "web", count: 3, type: "g6-standard-4" },
        { name: "batch", count: 2, type: "g6-dedicated-4" },
    ];
    const { first, second } = await upgrade(
        [at("1.31", blueGreen, { nodePools: two })],
        [at("1.31", blueGreen, { nodePools: [{ ...two[0], count: 2 }] })],
    );
    const ids = (first.stackOutputs as any).k8sUpgrades.clusters.apps.pools.map((p: any) => p.poolId);

    test("run the pre-flight first, then the shrink, then the removed pool's drain, then validation", () => {
        assert.equal(scriptKindOf(resource(second, "apps-preflight")), "preflight");
        assert.ok(directDeps(second, "apps-web-1-31-shrink").includes("apps-preflight"));
        assert.ok(directDeps(second, "apps-batch-1-31-drain").includes("apps-preflight"));
        assert.ok(directDeps(second, "apps-batch-1-31-drain").includes("apps-web-1-31-shrink"), "one drain at a time");
        assert.equal(env(resource(second, "apps-batch-1-31-drain")).K8SU_SELECTOR, `lke.linode.com/pool-id=${ids[1]}`);
        assert.ok(allDeps(second, "apps-validate").has("apps-batch-1-31-drain"));
        assert.equal(env(resource(second, "apps-validate")).K8SU_SELECTORS, `lke.linode.com/pool-id=${ids[0]}`);
    });

    test("a lower count drains and deletes the chosen nodes before the provider sets the count", () => {
        const shrink = resource(second, "apps-web-1-31-shrink");
        assert.equal(scriptKindOf(shrink), "lke-shrink-pool");
        assert.deepEqual([env(shrink).K8SU_LKE_POOL_ID, env(shrink).K8SU_POOL_COUNT], [ids[0], "2"]);
        assert.ok(directDeps(second, "apps-web-1-31", LKE_POOL).includes("apps-web-1-31-shrink"));
        assert.equal(resource(second, "apps-web-1-31", LKE_POOL).inputs.nodeCount, 2);
        assert.match(second.log ?? "", /pools removed from config are drained, then deleted: apps-batch-1-31/);
        assert.equal((second.stackOutputs as any).k8sUpgrades.clusters.apps.pools[0].count, 2);
    });
});
