// EKS under the mock runtime: from a real 1.30 deployment to 1.31 in config, per strategy.

import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, test } from "node:test";
import { buildScript } from "../components/scripts";
import { eksNodeGroupUpdateMinutes } from "../components/timeouts";
import { evaluatePolicies } from "../policy/evaluate";
import type { Capture } from "../tools/capture-types";
import { ROOT } from "../tools/harness";
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
        eks: { region: "us-east-1", subnetIds: ["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002"], ...eks },
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

    test("the kubeconfig uses `aws eks get-token` for the cluster its node groups join, and stays secret", () => {
        const kubeconfig = JSON.parse((second.stackOutputs as any).kubeconfigs.data);
        // The cluster's name is whatever the provider returns (the mock makes one up): compare it with the name
        // the node groups were given, not with a copy of the mock's naming.
        const clusterName = resource(second, "data-general-1-31", NODE_GROUP).inputs.clusterName;
        assert.equal(typeof clusterName, "string");
        assert.notEqual(clusterName, "");
        assert.deepEqual(kubeconfig.users[0].user.exec.args, [
            "eks",
            "get-token",
            "--cluster-name",
            clusterName,
            "--region",
            "us-east-1",
        ]);
        assert.ok(second.stackOutputSecretPaths.some((p) => p.startsWith("kubeconfigs")));
        assert.ok(resource(second, "data-general-1-31-ready").secretPaths.includes("environment.K8SU_KUBECONFIG_B64"));
    });

    test("the policy pack passes it, with or without the drain guard (EKS drains a managed node group itself), and refuses a skipped minor", () => {
        assert.deepEqual(evaluatePolicies(second).mandatory, []);
        const noGuard = {
            ...second,
            resources: second.resources.filter((r) => r.name !== "data-general-1-31-drain-guard"),
        };
        assert.deepEqual(evaluatePolicies(noGuard).mandatory, []);
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
        assert.ok(directDeps(inPlace.second, "data-validate").includes("data-general-1-30-version"));
        const check = resource(inPlace.second, "data-general-1-30-version");
        assert.equal(scriptKindOf(check), "eks-nodegroup-version");
        assert.deepEqual(directDeps(inPlace.second, "data-general-1-30-version").includes("data-general-1-30"), true);
        assert.equal(env(check).K8SU_TARGET_MINOR, "1.31");
        assert.equal(env(check).K8SU_NODEGROUP, nodeGroupName(inPlace.first));
        assert.equal(has(inPlace.second, "data-cordon-blue"), false);
    });

    test("the plan warns that EKS fails blocked evictions after 15 minutes, unless forceUpdateVersion is chosen", () => {
        assert.match(inPlace.second.log ?? "", /PodEvictionFailure/);
        assert.doesNotMatch(forced.second.log ?? "", /PodEvictionFailure/);
        assert.equal(resource(forced.second, "data-general-1-30", NODE_GROUP).inputs.forceUpdateVersion, true);
    });

    test("a node group update's timeout: maxUnavailable nodes at a time, each a new instance and up to 15 minutes of eviction", () => {
        // 3 nodes one at a time: 3 × (15 + 15) + 30, past the provider's 60-minute default.
        assert.equal(eksNodeGroupUpdateMinutes(3, { maxUnavailable: 1 }), 120);
        assert.equal(eksNodeGroupUpdateMinutes(6, { maxUnavailable: 3 }), 90);
        // 25 % of 6 is 1.5 nodes: rounded down, so 6 batches.
        assert.equal(eksNodeGroupUpdateMinutes(6, { maxUnavailablePercentage: 25 }), 210);
        assert.equal(eksNodeGroupUpdateMinutes(6, { maxUnavailablePercentage: 34 }), 120);
        assert.equal(eksNodeGroupUpdateMinutes(2, { maxUnavailablePercentage: 10 }), 90, "at least one node at a time");
    });

    test("each node group registers that timeout for its updates, and the version step waits twice as long", () => {
        // The pool autoscales up to 6 nodes, 25 % at a time.
        assert.deepEqual(resource(inPlace.second, "data-general-1-30", NODE_GROUP).customTimeouts, { update: "210m" });
        // It may wait out an update still running, then issue its own.
        assert.equal(
            env(resource(inPlace.second, "data-general-1-30-version")).K8SU_TIMEOUT_SECONDS,
            String(2 * 210 * 60),
        );
        assert.deepEqual(resource(recycle.second, "data-general-1-30", NODE_GROUP).customTimeouts, { update: "210m" });
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

test("the next minor is refused while a retained blue node group waits for removal, saying to deploy once first", async () => {
    const retain = {
        workers: { strategy: "blue-green", retainPreviousPool: true, drain: { deleteEmptyDirData: false } },
    };
    const { second } = await upgrade(
        [eksCluster("1.30", "blue-green", retain)],
        [eksCluster("1.31", "blue-green", retain)],
    );
    assert.equal(second.error, undefined, second.error);
    const third = await runProgram({
        stack: "dev",
        config: stackConfig([eksCluster("1.32", "blue-green", retain)]),
        previous: second.stackOutputs,
    });
    assert.match(
        third.error ?? "",
        /allowed: 1\.31 until the retained blue node group is removed\. Amazon EKS refuses a control plane upgrade while any node group lags it, and "general" \(data-general-1-30, at 1\.30\) is kept from the last blue-green move \(retainPreviousPool\).*Deploy once with kubernetesVersion 1\.31 \(that deployment drains and removes it\), then bump the cluster/,
    );
    const removal = await runProgram({
        stack: "dev",
        config: stackConfig([eksCluster("1.31", "blue-green", retain)]),
        previous: second.stackOutputs,
    });
    assert.equal(removal.error, undefined, removal.error);
    assert.equal(has(removal, "data-general-1-30"), false, "the deployment at the same version removes it");
});

describe("EKS add-on versions are recorded and move only with an upgrade", async () => {
    const at130 = {
        "vpc-cni@1.30": "v1.18.1-eksbuild.1",
        "kube-proxy@1.30": "v1.30.0-eksbuild.3",
        "coredns@1.30": "v1.11.1-eksbuild.9",
    };
    const at131 = {
        "vpc-cni@1.31": "v1.19.2-eksbuild.1",
        "kube-proxy@1.31": "v1.31.2-eksbuild.3",
        "coredns@1.31": "v1.11.3-eksbuild.1",
    };
    const first = await runProgram({
        stack: "dev",
        config: stackConfig([eksCluster("1.30", "in-place")]),
        addonCatalog: at130,
    });
    const addonsOf = (c: Capture) => (c.stackOutputs as any).k8sUpgrades.clusters.data.addons;

    test("the running record carries each add-on's version", () => {
        assert.deepEqual(addonsOf(first), {
            "vpc-cni": "v1.18.1-eksbuild.1",
            "kube-proxy": "v1.30.0-eksbuild.3",
            coredns: "v1.11.1-eksbuild.9",
        });
    });

    test("a newer compatible build does not move an add-on in a deployment without an upgrade", async () => {
        const newer = { ...at130, "vpc-cni@1.30": "v1.19.0-eksbuild.1", "coredns@1.30": "v1.11.4-eksbuild.2" };
        const again = await runProgram({
            stack: "dev",
            config: stackConfig([eksCluster("1.30", "in-place")]),
            previous: first.stackOutputs,
            addonCatalog: newer,
        });
        assert.equal(again.error, undefined, again.error);
        assert.equal(resource(again, "data-vpc-cni", ADDON).inputs.addonVersion, "v1.18.1-eksbuild.1");
        assert.equal(resource(again, "data-coredns", ADDON).inputs.addonVersion, "v1.11.1-eksbuild.9");
    });

    test("an upgrade moves them to the most recent compatible with the target, one VPC CNI minor", async () => {
        const up = await runProgram({
            stack: "dev",
            config: stackConfig([eksCluster("1.31", "in-place")]),
            previous: first.stackOutputs,
            addonCatalog: at131,
        });
        assert.equal(up.error, undefined, up.error);
        assert.equal(resource(up, "data-vpc-cni", ADDON).inputs.addonVersion, "v1.19.2-eksbuild.1");
        assert.equal(addonsOf(up)["kube-proxy"], "v1.31.2-eksbuild.3");
    });

    test("an upgrade whose VPC CNI would skip a minor is refused, saying how to step through", async () => {
        const skip = { ...at131, "vpc-cni@1.31": "v1.20.1-eksbuild.1" };
        const r = await runProgram({
            stack: "dev",
            config: stackConfig([eksCluster("1.31", "in-place")]),
            previous: first.stackOutputs,
            addonCatalog: skip,
        });
        assert.match(
            r.error ?? "",
            /field clusters\[0\]\.eks\.addonVersions\.vpc-cni: given "v1\.20\.1-eksbuild\.1"; allowed: a v1\.19\.x build \(one minor from v1\.18\.1-eksbuild\.1, what runs\)\. EKS refuses a VPC CNI update that moves more than one minor at a time/,
        );
    });

    test("a promoted stack takes the versions its source runs at the same minor, not a fresh lookup", async () => {
        const dev = await runProgram({
            stack: "dev",
            config: stackConfig([eksCluster("1.31", "in-place")]),
            previous: first.stackOutputs,
            addonCatalog: at131,
        });
        const stagingFirst = await runProgram({
            stack: "staging",
            config: stackConfig([eksCluster("1.30", "in-place")]),
            addonCatalog: at130,
        });
        const later = { ...at131, "vpc-cni@1.31": "v1.19.6-eksbuild.2", "coredns@1.31": "v1.11.4-eksbuild.2" };
        const staging = await runProgram({
            stack: "staging",
            config: stackConfig([eksCluster("1.31", "in-place")], { "k8s-upgrades:promotesFrom": "dev" }),
            previous: stagingFirst.stackOutputs,
            sources: { dev: dev.stackOutputs! },
            addonCatalog: later,
        });
        assert.equal(staging.error, undefined, staging.error);
        assert.equal(resource(staging, "data-vpc-cni", ADDON).inputs.addonVersion, "v1.19.2-eksbuild.1");
        assert.equal(resource(staging, "data-coredns", ADDON).inputs.addonVersion, "v1.11.3-eksbuild.1");
    });
});

describe("eks-nodegroup-version: resuming an in-place update that failed", () => {
    function nodeGroup(version: string, outcome = "Successful") {
        const state = fs.mkdtempSync(path.join(os.tmpdir(), "eks-"));
        const bin = path.join(state, "bin");
        fs.mkdirSync(bin);
        fs.symlinkSync(path.join(ROOT, "test", "fixture", "node-bin", "aws"), path.join(bin, "aws"));
        fs.writeFileSync(path.join(state, "version"), version);
        fs.writeFileSync(path.join(state, "outcome"), outcome);
        fs.writeFileSync(path.join(state, "calls"), "");
        const run = () =>
            spawnSync("bash", ["-c", buildScript("eks-nodegroup-version")], {
                encoding: "utf8",
                env: {
                    PATH: `${bin}:/usr/bin:/bin`,
                    AWS_STATE: state,
                    K8SU_EKS_CLUSTER: "data-1a2b3c4",
                    K8SU_NODEGROUP: "data-general-1-30-20261130",
                    K8SU_TARGET_MINOR: "1.31",
                    K8SU_FORCE: "false",
                    K8SU_TIMEOUT_SECONDS: "10",
                    K8SU_AWS_REGION: "us-east-1",
                    K8SU_POLL_SECONDS: "0.1",
                },
            });
        const calls = () => fs.readFileSync(path.join(state, "calls"), "utf8").trim().split("\n").filter(Boolean);
        return { state, run, calls };
    }

    test("a node group that still runs the old minor gets the version update issued again, and waited for", () => {
        const g = nodeGroup("1.30");
        const r = g.run();
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.stderr, /runs 1\.30, not 1\.31: its last update did not finish/);
        assert.ok(
            g
                .calls()
                .includes(
                    "eks update-nodegroup-version --cluster-name data-1a2b3c4 --nodegroup-name data-general-1-30-20261130 --kubernetes-version 1.31 --no-force --query update.id --output text",
                ),
        );
        assert.equal(fs.readFileSync(path.join(g.state, "version"), "utf8"), "1.31");
    });

    test("a node group at the target is left alone", () => {
        const g = nodeGroup("1.31");
        const r = g.run();
        assert.equal(r.status, 0, r.stderr);
        assert.equal(g.calls().filter((c) => c.includes("update-nodegroup-version")).length, 0);
    });

    test("an update that fails again stops the deployment with EKS's errors; a failed describe is an error too", () => {
        const g = nodeGroup("1.30", "Failed");
        const r = g.run();
        assert.equal(r.status, 1);
        assert.match(r.stderr, /PodEvictionFailure/);
        assert.match(r.stderr, /update upd-1 of the node group data-general-1-30-20261130 of data-1a2b3c4 is Failed/);
        const h = nodeGroup("1.30");
        fs.writeFileSync(path.join(h.state, "fail-describe-nodegroup"), "");
        const denied = h.run();
        assert.equal(denied.status, 1);
        assert.match(denied.stderr, /cannot describe the node group/);
    });
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
