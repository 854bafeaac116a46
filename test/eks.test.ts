// EKS under the mock runtime: from a real 1.30 deployment to 1.31 in config, per strategy.

import * as assert from "node:assert/strict";
import { describe, test } from "node:test";
import { evaluatePolicies } from "../policy/evaluate";
import type { Capture } from "../tools/capture-types";
import { allDeps, directDeps, env, has, resource, runProgram, scriptKindOf, stackConfig, upgrade } from "./helpers";

const NODE_GROUP = "aws:eks/nodeGroup:NodeGroup";
const CLUSTER = "aws:eks/cluster:Cluster";
const ADDON = "aws:eks/addon:Addon";

function eksCluster(
    version: string,
    strategy: string,
    extra: Record<string, unknown> = {},
    eks: Record<string, unknown> = {},
    pool: Record<string, unknown> = {},
) {
    return {
        name: "data",
        provider: "eks",
        kubernetesVersion: version,
        eks: { region: "us-east-1", subnetIds: ["subnet-a", "subnet-b"], ...eks },
        nodePools: [{ name: "general", count: 3, type: "m6i.large", autoscaler: { min: 3, max: 6 }, ...pool }],
        workers: { strategy, drain: { deleteEmptyDirData: false } },
        ...extra,
    };
}

const nodeGroupName = (c: Capture) => (c.stackOutputs as any).k8sUpgrades.clusters.data.pools[0].poolId as string;

describe("EKS blue-green", async () => {
    const { first, second } = await upgrade([eksCluster("1.30", "blue-green")], [eksCluster("1.31", "blue-green")]);

    test("pre-flight → control plane (the cluster's version) → add-ons → green node group → ready → cordon blue → validation", () => {
        assert.equal(resource(second, "data", CLUSTER).inputs.version, "1.31");
        assert.ok(directDeps(second, "data", CLUSTER).includes("data-preflight"));
        for (const a of ["vpc-cni", "kube-proxy", "coredns"])
            assert.ok(directDeps(second, `data-${a}`, ADDON).includes("data"), `${a} after the control plane`);
        const green = allDeps(second, "data-general-1-31", NODE_GROUP);
        for (const d of ["data", "data-vpc-cni", "data-kube-proxy", "data-coredns"])
            assert.ok(green.has(d), `the node group waits for ${d}`);
        assert.ok(directDeps(second, "data-general-1-31-ready").includes("data-general-1-31"));
        assert.ok(directDeps(second, "data-cordon-blue").includes("data-general-1-31-ready"));
        assert.ok(allDeps(second, "data-validate").has("data-cordon-blue"));
    });

    test("the green node group is auto-named (replacement is create-before-delete) and copies the blue one", () => {
        const green = resource(second, "data-general-1-31", NODE_GROUP).inputs as Record<string, any>;
        assert.equal(green.nodeGroupName, undefined);
        assert.deepEqual(
            [green.instanceTypes, green.version, green.scalingConfig],
            [["m6i.large"], "1.31", { desiredSize: 3, minSize: 3, maxSize: 6 }],
        );
        assert.ok(
            resource(second, "data-general-1-31", NODE_GROUP).ignoreChanges.includes("scalingConfig.desiredSize"),
            "the autoscaler owns desiredSize",
        );
    });

    test("old capacity is drained before removal: the blue group leaves the program and its guard drains it first", () => {
        const guard = resource(first, "data-general-1-30-drain-guard");
        assert.equal(scriptKindOf(guard, "delete"), "drain");
        assert.ok(directDeps(first, "data-general-1-30-drain-guard").includes("data-general-1-30"));
        assert.equal(env(guard).K8SU_SELECTOR, `eks.amazonaws.com/nodegroup=${nodeGroupName(first)}`);
        assert.equal(has(second, "data-general-1-30"), false);
        assert.equal(
            env(resource(second, "data-cordon-blue")).K8SU_SELECTORS,
            `eks.amazonaws.com/nodegroup=${nodeGroupName(first)}`,
        );
    });

    test("add-on versions come from getAddonVersion for the target, unless pinned", async () => {
        assert.equal(resource(second, "data-vpc-cni", ADDON).inputs.addonVersion, "vpc-cni-compatible-with-1.31");
        const pinned = await runProgram({
            stack: "dev",
            config: stackConfig([
                eksCluster("1.31", "blue-green", {}, { addonVersions: { coredns: "v1.11.3-eksbuild.2" } }),
            ]),
        });
        assert.equal(resource(pinned, "data-coredns", ADDON).inputs.addonVersion, "v1.11.3-eksbuild.2");
        assert.equal(resource(pinned, "data-kube-proxy", ADDON).inputs.addonVersion, "kube-proxy-compatible-with-1.31");
    });

    test("on a first deployment CoreDNS waits for the node groups", () => {
        assert.ok(directDeps(first, "data-coredns", ADDON).includes("data-general-1-30"));
    });

    test("the kubeconfig uses `aws eks get-token` and stays secret", () => {
        const kubeconfig = JSON.parse((second.stackOutputs as any).kubeconfigs.data);
        assert.deepEqual(kubeconfig.users[0].user.exec.args, [
            "eks",
            "get-token",
            "--cluster-name",
            resource(second, "data", CLUSTER).inputs.name ?? "data-1a2b3c4",
            "--region",
            "us-east-1",
        ]);
        assert.ok(second.stackOutputSecretPaths.some((p) => p.startsWith("kubeconfigs")));
        assert.ok(resource(second, "data-general-1-31-ready").secretPaths.includes("environment.K8SU_KUBECONFIG_B64"));
    });

    test("the policy pack passes it, and refuses it without a drain guard or with a skipped minor", () => {
        assert.deepEqual(evaluatePolicies(second).mandatory, []);
        const noGuard = {
            ...second,
            resources: second.resources.filter((r) => r.name !== "data-general-1-31-drain-guard"),
        };
        assert.ok(
            evaluatePolicies(noGuard).mandatory.some(
                (v) => v.policy === "no-undrained-pool-deletion" && /data-general-1-31/.test(v.message),
            ),
        );
        const skipped: Capture = JSON.parse(JSON.stringify(second));
        (
            skipped.resources.find((r) => r.type === "k8s-upgrades:eks:Cluster")!.inputs as any
        ).cluster.kubernetesVersion = "1.32";
        assert.ok(evaluatePolicies(skipped).mandatory.some((v) => v.policy === "control-plane-one-minor-at-a-time"));
    });
});

describe("EKS in-place and recycle", async () => {
    const inPlace = await upgrade(
        [eksCluster("1.30", "in-place", {}, { maxUnavailablePercentage: 25, updateStrategy: "MINIMAL" })],
        [eksCluster("1.31", "in-place", {}, { maxUnavailablePercentage: 25, updateStrategy: "MINIMAL" })],
    );
    const recycle = await upgrade([eksCluster("1.30", "recycle")], [eksCluster("1.31", "recycle")]);
    const forced = await upgrade(
        [eksCluster("1.30", "in-place", {}, { forceUpdateVersion: true })],
        [eksCluster("1.31", "in-place", {}, { forceUpdateVersion: true })],
    );

    test("in-place is the managed rolling update of the same node group, after the add-ons", () => {
        const ng = resource(inPlace.second, "data-general-1-30", NODE_GROUP);
        assert.equal(ng.inputs.version, "1.31");
        assert.deepEqual(ng.inputs.updateConfig, { maxUnavailablePercentage: 25, updateStrategy: "MINIMAL" });
        assert.ok(allDeps(inPlace.second, "data-general-1-30", NODE_GROUP).has("data-kube-proxy"));
        assert.ok(directDeps(inPlace.second, "data-validate").includes("data-general-1-30"));
        assert.equal(has(inPlace.second, "data-cordon-blue"), false);
    });

    test("the plan warns that EKS fails blocked evictions after 15 minutes, unless forceUpdateVersion is chosen", () => {
        assert.match(inPlace.second.log ?? "", /PodEvictionFailure/);
        assert.doesNotMatch(forced.second.log ?? "", /PodEvictionFailure/);
        assert.equal(resource(forced.second, "data-general-1-30", NODE_GROUP).inputs.forceUpdateVersion, true);
    });

    test("recycle is the rolling update with maxUnavailable 1, and says so", () => {
        assert.deepEqual(resource(recycle.second, "data-general-1-30", NODE_GROUP).inputs.updateConfig, {
            maxUnavailable: 1,
            updateStrategy: "DEFAULT",
        });
        assert.match(
            recycle.second.log ?? "",
            /strategy recycle: Amazon EKS has no cluster-wide recycle, so it is the managed rolling update with maxUnavailable 1/,
        );
    });
});

test("a second minor bump while a node group lags is refused, naming the group", async () => {
    const pinned = { kubernetesVersion: "1.30" };
    const { second } = await upgrade(
        [eksCluster("1.30", "in-place")],
        [eksCluster("1.31", "in-place", {}, {}, pinned)],
    );
    assert.equal(second.error, undefined, second.error);
    const third = await runProgram({
        stack: "dev",
        config: stackConfig([eksCluster("1.32", "in-place", {}, {}, pinned)]),
        previous: second.stackOutputs,
    });
    assert.match(
        third.error ?? "",
        /Amazon EKS refuses a control plane upgrade while node groups lag it: upgrade "general" \(data-general-1-30, at 1\.30\) to 1\.31 first/,
    );
});

describe("EKS: a lower count moves the pool to a new node group", async () => {
    // The Auto Scaling group would pick the instances to terminate and EKS terminates after five minutes of drain.
    const fixed = { autoscaler: undefined };
    const { first, second } = await upgrade(
        [eksCluster("1.31", "in-place", {}, {}, { ...fixed, count: 3 })],
        [eksCluster("1.31", "in-place", {}, {}, { ...fixed, count: 2 })],
    );
    const moving = await runProgram({
        stack: "dev",
        config: stackConfig([eksCluster("1.32", "in-place", {}, {}, { ...fixed, count: 2 })]),
        previous: first.stackOutputs,
    });

    test("a new node group of the new size, the old one cordoned and drained by a step, then deleted empty", () => {
        assert.equal(second.error, undefined, second.error);
        const green = second.resources.filter((r) => r.type === NODE_GROUP).map((r) => r.name);
        assert.equal(green.length, 1);
        assert.match(green[0], /^data-general-1-31-[0-9a-f]{6}$/);
        assert.deepEqual((resource(second, green[0], NODE_GROUP).inputs as any).scalingConfig, {
            desiredSize: 2,
            minSize: 2,
            maxSize: 2,
        });
        assert.ok(directDeps(second, "data-general-1-31-drain").includes("data-cordon-blue"));
        assert.equal(
            env(resource(second, "data-general-1-31-drain")).K8SU_SELECTOR,
            `eks.amazonaws.com/nodegroup=${nodeGroupName(first)}`,
        );
        assert.ok(has(second, "data-preflight"));
    });

    test("with an in-place version move in the same deployment, it is refused with what to do", () => {
        assert.match(moving.error ?? "", /nodePools\[0\]\.count: given 2.*lower the count in a deployment of its own/);
    });
});
