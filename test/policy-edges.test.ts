// The policy rules at their edges, each policy called directly and awaited: the branches a mutation run showed
// no other test reaching (unreadable versions, other majors, other machine families, non-LKE resources,
// kubeadm workers, MachineDeployments that opt out of draining).

import * as assert from "node:assert/strict";
import { test } from "node:test";
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { buildRemoteScript, buildScript } from "../components/scripts";
import { read, UNKNOWN } from "../policy/clusters";
import {
    controlPlaneOneMinor,
    drainBeforeDelete,
    greenCoversBlue,
    kubeletWindow,
    plannedPoolsWindow,
    productionHighAvailability,
    promotionBound,
    saneDrain,
    supportedWindow,
    workersAfterControlPlane,
} from "../policy/rules";
import type { CapturedResource } from "../tools/capture-types";
import { checkStack, lkeComponent as component, runResourcePolicy } from "./policy-calls";

const COMPONENT = "k8s-upgrades:lke:Cluster";

function check(
    policy: ResourceValidationPolicy,
    props: Record<string, unknown>,
    type = COMPONENT,
    config: Record<string, unknown> = {},
): Promise<string[]> {
    return runResourcePolicy(policy, { type, props, urn: "urn:x", name: "x", config });
}

function res(name: string, type: string, inputs: Record<string, unknown>, deps: string[] = [], parent?: string) {
    return {
        urn: `urn:${name}`,
        type,
        name,
        custom: true,
        dependencies: deps.map((d) => `urn:${d}`),
        propertyDependencies: {},
        ignoreChanges: [],
        inputs,
        secretPaths: [],
        parent: parent ? `urn:${parent}` : undefined,
    } as CapturedResource;
}

test("resource policies ignore what is not a cluster component, and a component without its plan", async () => {
    // A component every one of these policies refuses: a skipped minor, a pool out of the kubelet window, a green
    // smaller than its blue, an unproven promotion and a drain without a timeout.
    const refused = component(
        {
            target: "1.33",
            running: { controlPlaneVersion: "1.30" },
            nodePools: [{ name: "web", count: 3, type: "g6-standard-4", kubernetesVersion: "1.33" }],
            pools: [
                {
                    name: "web",
                    action: "blue-green",
                    resourceName: "apps-web-1-28",
                    version: "1.28",
                    blue: { resourceName: "apps-web-old", type: "g6-dedicated-8", count: 5, version: "1.28" },
                },
            ],
            promotion: { stack: "staging", recorded: false, sourceVersion: null },
        },
        { timeoutSeconds: 0 },
    );
    const { controlPlane: _plan, ...unplanned } = refused;
    for (const policy of [controlPlaneOneMinor, plannedPoolsWindow, promotionBound, greenCoversBlue, saneDrain]) {
        assert.notDeepEqual(await check(policy, refused), [], `${policy.name} refuses the component itself`);
        assert.deepEqual(await check(policy, refused, "linode:index/lkeNodePool:LkeNodePool"), [], policy.name);
        assert.deepEqual(await check(policy, { stack: "dev" }), [], `${policy.name}: no cluster, no controlPlane`);
        assert.deepEqual(await check(policy, unplanned), [], `${policy.name}: a cluster without its plan`);
    }
    // The raw kubelet window reads provider resources only: the component's own pools are the planned policy's.
    assert.deepEqual(await checkStack(kubeletWindow, [res("apps", COMPONENT, refused)]), []);
});

test("control plane: unreadable versions and a major change are refused, a first deployment is not judged", async () => {
    assert.match(
        (await check(controlPlaneOneMinor, component({ target: "latest" })))[0],
        /cannot read the versions: running 1\.30, target latest/,
    );
    assert.match(
        (await check(controlPlaneOneMinor, component({ target: "2.0" })))[0],
        /cluster apps: major version change 1\.30 → 2\.0/,
    );
    assert.equal((await check(controlPlaneOneMinor, component({ target: "1.31" }))).length, 0);
    assert.equal((await check(controlPlaneOneMinor, component({ target: "1.33", running: null }))).length, 0);
    assert.deepEqual(await check(controlPlaneOneMinor, component({ target: "1.31.2" })), []);
});

test("kubelet window: the pool names come from the plan and from config; unreadable versions are left to config", async () => {
    const old = component({
        target: "1.32",
        pools: [{ name: "web", action: "keep", resourceName: "apps-web-1-28", version: "1.28", blue: null }],
        nodePools: [{ name: "batch", count: 1, type: "t", kubernetesVersion: "1.33" }],
    });
    assert.deepEqual(await check(plannedPoolsWindow, old), [
        "cluster apps, pool apps-web-1-28: kubelet 1.28 is 4 minors older than the apiserver 1.32; at most 3 are supported",
        "cluster apps, pool nodePools batch: kubelet 1.33 is newer than the apiserver 1.32; kubelets must never be newer than the apiserver",
    ]);
    // An unreadable control plane version is not judged here (the supported window and the transition judge it),
    // even with pools that would be out of any window.
    assert.deepEqual(
        await check(plannedPoolsWindow, { ...old, cluster: { ...old.cluster, kubernetesVersion: "soon" } }),
        [],
    );
    // An unreadable pool version is skipped, and the pools after it are still judged.
    const unreadable = component({
        pools: [
            { name: "web", action: "keep", resourceName: "apps-web", version: "n/a", blue: null },
            { name: "batch", action: "keep", resourceName: "apps-batch-1-27", version: "1.27", blue: null },
        ],
    });
    assert.deepEqual(await check(plannedPoolsWindow, unreadable), [
        "cluster apps, pool apps-batch-1-27: kubelet 1.27 is 4 minors older than the apiserver 1.31; at most 3 are supported",
    ]);

    // The raw window: an unreadable control plane version is reported once per pool it judges, and not judged further.
    const eks = (version: string) => res("prod", "aws:eks/cluster:Cluster", { name: "prod-1a2b", version });
    const group = res("ng", "aws:eks/nodeGroup:NodeGroup", { clusterName: "prod-1a2b", version: "1.25" });
    assert.deepEqual(await checkStack(kubeletWindow, [eks("latest"), group]), [
        'EKS control plane prod: cannot read its version "latest"',
    ]);
    assert.deepEqual(await checkStack(kubeletWindow, [eks("1.31"), group]), [
        "node pool ng (1.25) against EKS control plane prod (1.31): kubelet 1.25 is 6 minors older than the apiserver 1.31; at most 3 are supported",
    ]);
});

test("promotion: a recorded source that lacks the cluster does not bound it; no move needs no proof", async () => {
    assert.deepEqual(
        await check(
            promotionBound,
            component({ promotion: { stack: "staging", recorded: true, sourceVersion: null } }),
        ),
        [],
    );
    assert.deepEqual(
        await check(
            promotionBound,
            component({ change: "none", promotion: { stack: "staging", recorded: true, sourceVersion: "1.30" } }),
        ),
        ["cluster apps: targets 1.31, but stack staging runs 1.30 (1.31 is a newer minor than 1.30)"],
        "a stack already ahead of its source is still reported",
    );
    assert.match(
        (
            await check(
                promotionBound,
                component({ promotion: { stack: "staging", recorded: false, sourceVersion: null } }),
            )
        )[0],
        /cluster apps: stack staging has recorded no running state, so 1\.31 is not proven there yet/,
    );
});

test("green covers blue: another family, a lost autoscaler and a pool that is gone", async () => {
    const blue = { resourceName: "apps-web-1-30", type: "g6-dedicated-8", count: 3, autoscaler: { min: 3, max: 6 } };
    const pools = [{ name: "web", action: "blue-green", resourceName: "apps-web-1-31", version: "1.31", blue }];
    assert.deepEqual(
        await check(
            greenCoversBlue,
            component({
                pools,
                nodePools: [{ name: "web", count: 3, type: "g6-standard-16", kubernetesVersion: "1.31" }],
            }),
        ),
        ["pool web: green type g6-standard-16 may be smaller than blue g6-dedicated-8"],
    );
    assert.deepEqual(
        await check(
            greenCoversBlue,
            component({
                pools,
                nodePools: [{ name: "web", count: 2, type: "g6-dedicated-8", kubernetesVersion: "1.31" }],
            }),
        ),
        ["pool web: green has 2 node(s), blue 3", "pool web: green autoscaler minimum 2 is below blue's 3"],
    );
    assert.deepEqual(
        await check(
            greenCoversBlue,
            component({ pools, nodePools: [{ name: "web", count: 3, type: "custom", kubernetesVersion: "1.31" }] }),
        ),
        ["pool web: green type custom may be smaller than blue g6-dedicated-8"],
    );
    assert.deepEqual(await check(greenCoversBlue, component({ pools, nodePools: [] })), []);
});

test("supported window and production HA at their edges", async () => {
    assert.deepEqual(
        await check(supportedWindow, component({ target: "1.34" }), COMPONENT, {
            minimumMinor: "1.34",
            maximumMinor: "1.34",
        }),
        [],
    );
    assert.deepEqual(await check(supportedWindow, component({ target: "next" })), []);
    assert.deepEqual(
        await check(supportedWindow, component({ target: "1.30" }), COMPONENT, { minimumMinor: "1.30" }),
        [],
        "a configured minimum is inclusive",
    );
    assert.match(
        (await check(supportedWindow, component({ target: "1.30" }), COMPONENT, { minimumMinor: "" }))[0] ?? "",
        /older than the oldest minor lke offers/,
        "an empty minimum is the version table's",
    );
    const prod = { label: "apps-prod", tags: ["k8s-upgrades-stack-prod"], controlPlane: {} };
    assert.deepEqual(await check(productionHighAvailability, prod, "aws:eks/cluster:Cluster"), []);
    assert.deepEqual(
        await check(productionHighAvailability, { ...prod, tags: [] }, "linode:index/lkeCluster:LkeCluster"),
        [],
    );
    assert.deepEqual(await check(productionHighAvailability, prod, "linode:index/lkeCluster:LkeCluster"), [
        "LKE cluster apps-prod in production stack prod has no highly available control plane",
    ]);
});

test("drain settings: no timeout at all, and the exact limits", async () => {
    assert.deepEqual(await check(saneDrain, component({}, { timeoutSeconds: 0, gracePeriodSeconds: 0 })), [
        "cluster apps: drain has no timeout",
    ]);
    assert.deepEqual(await check(saneDrain, component({}, { timeoutSeconds: 3600, gracePeriodSeconds: 3600 })), []);
    assert.deepEqual(await check(saneDrain, component({}, { timeoutSeconds: 3601 })), [
        "cluster apps: drain timeout 3601s exceeds 3600s",
    ]);
});

test("workers after the control plane: EKS's versioned cluster, and kubeadm's workers under the same parent", async () => {
    const eks = res("data", "aws:eks/cluster:Cluster", {});
    const late = res("data-general", "aws:eks/nodeGroup:NodeGroup", {}, ["data"]);
    assert.deepEqual(await checkStack(workersAfterControlPlane, [eks, late]), []);
    // A pool of another cluster is not judged against this cluster's control plane step.
    const lke = res("apps", "linode:index/lkeCluster:LkeCluster", {});
    const cpStep = res("apps-control-plane", "command:local:Command", { create: buildScript("lke-control-plane") }, [
        "apps",
    ]);
    const edge = res("edge", "linode:index/lkeCluster:LkeCluster", {});
    const edgePool = res("edge-web", "linode:index/lkeNodePool:LkeNodePool", {}, ["edge"]);
    const appsPool = res("apps-web", "linode:index/lkeNodePool:LkeNodePool", {}, ["apps"]);
    assert.deepEqual(await checkStack(workersAfterControlPlane, [lke, cpStep, edge, edgePool]), []);
    assert.deepEqual(await checkStack(workersAfterControlPlane, [lke, cpStep, edge, edgePool, appsPool]), [
        "apps-web changes worker capacity but does not wait for the control plane step apps-control-plane",
    ]);

    const kubelet = (role: string) =>
        buildRemoteScript("kubeadm-kubelet", {
            K8SU_TARGET_VERSION: "1.31.4",
            K8SU_PACKAGE_MANAGER: "apt",
            K8SU_SWITCH_REPOSITORY: "true",
            K8SU_ROLE: role,
        });
    const cp = res(
        "onprem-cp-1",
        "command:remote:Command",
        {
            create: buildRemoteScript("kubeadm-control-plane", {
                K8SU_TARGET_VERSION: "1.31.4",
                K8SU_PACKAGE_MANAGER: "apt",
                K8SU_SWITCH_REPOSITORY: "true",
                K8SU_FIRST: "true",
            }),
        },
        [],
        "onprem",
    );
    const worker = res("onprem-w-1", "command:remote:Command", { create: kubelet("worker") }, [], "onprem");
    const cpKubelet = res(
        "onprem-cp-1-kubelet",
        "command:remote:Command",
        { create: kubelet("control-plane") },
        [],
        "onprem",
    );
    const otherCluster = res("lab-w-1", "command:remote:Command", { create: kubelet("worker") }, [], "lab");
    const parents = [res("onprem", "k8s-upgrades:kubeadm:Cluster", {}), res("lab", "k8s-upgrades:kubeadm:Cluster", {})];
    assert.deepEqual(await checkStack(workersAfterControlPlane, [...parents, cp, worker, cpKubelet, otherCluster]), [
        "onprem-w-1 changes worker capacity but does not wait for the control plane step onprem-cp-1",
    ]);
});

test("no undrained deletion: a MachineDeployment that opts out of draining, and a guard on another pool", async () => {
    const md = res("apps-md", "kubernetes:cluster.x-k8s.io/v1beta1:MachineDeployment", {
        spec: { template: { metadata: { annotations: { "machine.cluster.x-k8s.io/exclude-node-draining": "" } } } },
    });
    assert.deepEqual(await checkStack(drainBeforeDelete, [md]), [
        "MachineDeployment apps-md excludes its machines from draining (machine.cluster.x-k8s.io/exclude-node-draining)",
    ]);
    assert.deepEqual(
        await checkStack(drainBeforeDelete, [
            res("apps-md", "kubernetes:cluster.x-k8s.io/v1beta1:MachineDeployment", {}),
        ]),
        [],
    );
    // Pools a k8s-upgrades component owns: a guard on another pool does not cover this one.
    const owned = (name: string) => {
        const r = res(name, "linode:index/lkeNodePool:LkeNodePool", {});
        r.urn = `urn:pulumi:dev::k8s-upgrades::${COMPONENT}$linode:index/lkeNodePool:LkeNodePool::${name}`;
        return r;
    };
    const pool = owned("apps-web");
    const other = owned("apps-batch");
    const guard = res(
        "apps-batch-guard",
        "command:local:Command",
        { create: buildScript("drain-guard-create"), delete: buildScript("drain") },
        [],
    );
    guard.dependencies = [other.urn];
    assert.deepEqual(await checkStack(drainBeforeDelete, [pool, other, guard]), [
        "node pool apps-web has no drain guard: deleting it would remove capacity that was never drained",
    ]);
    // The same pools outside a component, and an EKS node group inside one, need no guard.
    const raw = res("apps-web", "linode:index/lkeNodePool:LkeNodePool", {});
    assert.deepEqual(await checkStack(drainBeforeDelete, [raw]), []);
    const group = res("apps-ng", "aws:eks/nodeGroup:NodeGroup", {});
    group.urn = "urn:pulumi:dev::k8s-upgrades::k8s-upgrades:eks:Cluster$aws:eks/nodeGroup:NodeGroup::apps-ng";
    assert.deepEqual(await checkStack(drainBeforeDelete, [group]), []);
    // A guard that would be skipped on deletion is refused on any pool, a raw one included.
    const skipped = res(
        "apps-web-guard",
        "command:local:Command",
        { create: buildScript("drain-guard-create"), delete: buildScript("drain") },
        ["apps-web"],
    );
    skipped.deletedWith = "urn:apps";
    assert.deepEqual(await checkStack(drainBeforeDelete, [raw, skipped]), [
        "drain guard apps-web-guard has deletedWith urn:apps: the engine would skip its drain",
    ]);
});

test("a value CrossGuard marks unknown reads as unknown, through the proxy the pack's host wraps inputs in", () => {
    // The proxy and its sentinel values as @pulumi/policy's own analyzer uses them (its index exports the proxy).
    const { unknownCheckingProxy } = require("@pulumi/policy") as { unknownCheckingProxy: (o: object) => object };
    const { unknownStringValue } = require("@pulumi/policy/proxy") as { unknownStringValue: unknown };
    const props = unknownCheckingProxy({ spec: { version: unknownStringValue, replicas: 3 } });
    assert.equal(read(props, "spec.version"), UNKNOWN);
    assert.equal(read(props, "spec.replicas"), 3);
    // Any other error still surfaces.
    const throwing = new Proxy(
        {},
        {
            get: () => {
                throw new Error("boom");
            },
        },
    );
    assert.throws(() => read(throwing, "spec"), /boom/);
});
