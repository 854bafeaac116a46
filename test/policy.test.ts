// The policy pack: each policy called directly with built arguments, then end-to-end over real program runs
// through the same evaluation the offline plan uses.

import * as assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { ResourceValidationArgs, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { buildScript } from "../components/scripts";
import { evaluatePolicies, toPolicyResources } from "../policy/evaluate";
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
import { runningVersions, withRunningVersions } from "../policy/running-versions";
import type { Capture, CapturedResource } from "../tools/capture-types";
import { lkeCluster, runProgram, stackConfig, upgrade } from "./helpers";

function defaultsOf(policy: ResourceValidationPolicy | StackValidationPolicy): Record<string, unknown> {
    return Object.fromEntries(
        Object.entries(policy.configSchema?.properties ?? {}).map(([k, v]) => [
            k,
            (v as { default?: unknown }).default,
        ]),
    );
}

function runResource(
    policy: ResourceValidationPolicy,
    type: string,
    props: Record<string, unknown>,
    config: Record<string, unknown> = {},
): string[] {
    const messages: string[] = [];
    let propsRead = false;
    const args = {
        type,
        get props() {
            propsRead = true;
            return props;
        },
        urn: `urn:pulumi:test::k8s-upgrades::${type}::x`,
        name: "x",
        opts: {
            protect: false,
            ignoreChanges: [],
            aliases: [],
            customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
            additionalSecretOutputs: [],
        },
        stackTags: new Map(),
        isType: () => false,
        asType: () => undefined,
        getConfig: () => ({ ...defaultsOf(policy), ...config }),
        notApplicable: () => {
            throw new Error("n/a");
        },
    } as unknown as ResourceValidationArgs;
    const validate = policy.validateResource as (a: ResourceValidationArgs, r: (m: string) => void) => unknown;
    settled(
        policy.name,
        validate(args, (m) => messages.push(m)),
    );
    // "No violation" only counts when the policy looked at the resource.
    assert.ok(propsRead, `${policy.name} returned without reading the resource`);
    return messages;
}

/** The pack's rules are synchronous: a promise here would be a rule whose verdict the helper could not see. */
function settled(name: string, result: unknown): void {
    assert.ok(
        !(result instanceof Promise),
        `${name} returned a promise; await it in an async helper instead of discarding its verdict`,
    );
}

function runStack(policy: StackValidationPolicy, resources: CapturedResource[]): string[] {
    const messages: string[] = [];
    let resourcesRead = false;
    const policyResources = toPolicyResources(resources, "outputs");
    const result = policy.validateStack(
        {
            get resources() {
                resourcesRead = true;
                return policyResources;
            },
            stackTags: new Map(),
            getConfig: () => ({}) as never,
            notApplicable: () => {
                throw new Error("n/a");
            },
        },
        (m) => messages.push(m),
    );
    settled(policy.name, result);
    assert.ok(resourcesRead, `${policy.name} returned without reading the stack`);
    return messages;
}

const COMPONENT = "k8s-upgrades:lke:Cluster";
function component(
    over: {
        running?: string | null;
        target?: string;
        pools?: unknown[];
        nodePools?: unknown[];
        drain?: Record<string, unknown>;
        promotion?: unknown;
        change?: string;
    } = {},
) {
    const target = over.target ?? "1.31";
    return {
        stack: "dev",
        cluster: {
            name: "apps",
            provider: "lke",
            kubernetesVersion: target,
            nodePools: over.nodePools ?? [
                {
                    name: "web",
                    count: 3,
                    type: "g6-standard-4",
                    autoscaler: { min: 3, max: 6 },
                    kubernetesVersion: target,
                },
            ],
            workers: {
                strategy: "blue-green",
                drain: {
                    gracePeriodSeconds: 60,
                    timeoutSeconds: 900,
                    deleteEmptyDirData: false,
                    deleteEmptyDirDataExplicit: true,
                    ...over.drain,
                },
            },
        },
        running: over.running === null ? null : { controlPlaneVersion: over.running ?? "1.30" },
        controlPlane: { from: over.running ?? "1.30", to: target, change: over.change ?? "minor" },
        pools: over.pools ?? [
            {
                name: "web",
                action: "blue-green",
                resourceName: "apps-web-1-31",
                version: target,
                blue: {
                    resourceName: "apps-web-1-30",
                    type: "g6-standard-4",
                    count: 3,
                    autoscaler: { min: 3, max: 6 },
                    version: "1.30",
                },
            },
        ],
        promotion: over.promotion ?? null,
    };
}

function res(
    name: string,
    type: string,
    inputs: Record<string, unknown>,
    deps: string[] = [],
    extra: Partial<CapturedResource> = {},
): CapturedResource {
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
        ...extra,
    };
}
const cmd = (kind: string, deleteKind?: string) => ({
    create: buildScript(kind as never),
    delete: deleteKind ? buildScript(deleteKind as never) : undefined,
});

describe("policies, one by one", () => {
    test("control plane one minor at a time", () => {
        assert.deepEqual(
            runResource(controlPlaneOneMinor, COMPONENT, component({ running: "1.30", target: "1.31" })),
            [],
        );
        assert.deepEqual(
            runResource(controlPlaneOneMinor, COMPONENT, component({ running: null, target: "1.31" })),
            [],
        );
        assert.match(
            runResource(controlPlaneOneMinor, COMPONENT, component({ running: "1.30", target: "1.32" }))[0],
            /skips 1 minor\(s\); go through 1\.31 → 1\.32/,
        );
        assert.match(
            runResource(controlPlaneOneMinor, COMPONENT, component({ running: "1.31", target: "1.30" }))[0],
            /downgrade/,
        );
    });

    test("raw control planes: judged against runningVersions from the policy config", () => {
        const eks = { version: "1.32", name: "prod-eks" };
        const type = "aws:eks/cluster:Cluster";
        // CrossGuard gives no previous state: without an entry nothing is judged, unless required.
        assert.deepEqual(runResource(controlPlaneOneMinor, type, eks), []);
        assert.match(
            runResource(controlPlaneOneMinor, type, eks, { requireRunningVersion: true })[0],
            /running version is unknown to the policy pack .*add "x" to runningVersions/,
        );
        assert.deepEqual(runResource(controlPlaneOneMinor, type, eks, { runningVersions: { x: "1.31" } }), []);
        assert.match(
            runResource(controlPlaneOneMinor, type, eks, { runningVersions: { x: "1.30" } })[0],
            /EKS control plane x \(version\): 1\.30 → 1\.32 skips 1 minor\(s\); go through 1\.31 → 1\.32/,
        );
        // Keyed by the cloud name too.
        assert.match(
            runResource(controlPlaneOneMinor, type, eks, { runningVersions: { "prod-eks": "1.33" } })[0],
            /downgrade/,
        );
        const kcp = "kubernetes:controlplane.cluster.x-k8s.io/v1beta1:KubeadmControlPlane";
        assert.match(
            runResource(
                controlPlaneOneMinor,
                kcp,
                { metadata: { name: "cp" }, spec: { version: "v1.32.0" } },
                {
                    runningVersions: { x: "v1.30.4" },
                },
            )[0],
            /Cluster API control plane x \(spec\.version\): v1\.30\.4 → v1\.32\.0 skips/,
        );
        const gke = "gcp:container/cluster:Cluster";
        assert.deepEqual(
            runResource(
                controlPlaneOneMinor,
                gke,
                { minMasterVersion: "1.31.4-gke.1000" },
                {
                    runningVersions: { x: "1.30.9-gke.200" },
                },
            ),
            [],
        );
        assert.match(
            runResource(controlPlaneOneMinor, "azure-native:containerservice:ManagedCluster", {
                kubernetesVersion: "1.31.x",
            })[0],
            /cannot read the version "1\.31\.x"/,
        );
    });

    test("planned pools of a component within the skew window", () => {
        assert.deepEqual(runResource(plannedPoolsWindow, COMPONENT, component()), []);
        const old = component({
            pools: [{ name: "web", action: "keep", resourceName: "apps-web-1-27", version: "1.27", blue: null }],
        });
        assert.match(
            runResource(plannedPoolsWindow, COMPONENT, old)[0],
            /kubelet 1\.27 is 4 minors older than the apiserver 1\.31/,
        );
        const newer = component({ nodePools: [{ name: "web", count: 3, type: "t", kubernetesVersion: "1.32" }] });
        assert.match(runResource(plannedPoolsWindow, COMPONENT, newer).join("\n"), /newer than the apiserver/);
    });

    test("raw node pools within the skew window of their control plane, in any program", () => {
        const eks = res("prod", "aws:eks/cluster:Cluster", { version: "1.31" }, [], {
            outputs: { version: "1.31", name: "prod-1a2b" },
        });
        const group = (version: string, extra: Partial<CapturedResource> = {}) =>
            res(`ng-${version}`, "aws:eks/nodeGroup:NodeGroup", { clusterName: "prod-1a2b", version }, [], extra);
        // By the cluster's name.
        assert.deepEqual(runStack(kubeletWindow, [eks, group("1.28")]), []);
        assert.match(
            runStack(kubeletWindow, [eks, group("1.32")])[0],
            /node pool ng-1\.32 \(1\.32\) against EKS control plane prod \(1\.31\): kubelet 1\.32 is newer than the apiserver 1\.31/,
        );
        assert.match(runStack(kubeletWindow, [eks, group("1.27")])[0], /4 minors older/);
        // By reference, whatever the name says (a @pulumi/eks cluster passes its name through a component).
        const component = res("eks-component", "eks:index:Cluster", {}, ["prod"]);
        const byRef = group("1.32", {
            inputs: { clusterName: "<unknown>", version: "1.32" },
            propertyDependencies: { clusterName: ["urn:eks-component"] },
        });
        assert.match(runStack(kubeletWindow, [eks, component, byRef])[0], /newer than the apiserver 1\.31/);
        // A pool without a version follows its cluster; one whose cluster is in another stack is not judged.
        assert.deepEqual(
            runStack(kubeletWindow, [eks, res("ng", "aws:eks/nodeGroup:NodeGroup", { clusterName: "prod-1a2b" })]),
            [],
        );
        assert.deepEqual(runStack(kubeletWindow, [group("1.32")]), []);

        const lke = res("apps", "linode:index/lkeCluster:LkeCluster", { k8sVersion: "1.31" }, [], {
            outputs: { k8sVersion: "1.31", id: "123456" },
        });
        const enterprise = res("apps-web", "linode:index/lkeNodePool:LkeNodePool", {
            clusterId: 123456,
            k8sVersion: "1.32",
        });
        assert.match(runStack(kubeletWindow, [lke, enterprise])[0], /LKE control plane apps \(1\.31\)/);

        const kcp = res("cp", "kubernetes:controlplane.cluster.x-k8s.io/v1beta1:KubeadmControlPlane", {
            metadata: { name: "work-cp", namespace: "capi" },
            spec: { version: "v1.31.2" },
        });
        const capiCluster = res("work", "kubernetes:cluster.x-k8s.io/v1beta1:Cluster", {
            metadata: { name: "work", namespace: "capi" },
            spec: { controlPlaneRef: { name: "work-cp" } },
        });
        const md = (version: string) =>
            res("md", "kubernetes:cluster.x-k8s.io/v1beta1:MachineDeployment", {
                metadata: { name: "work-md", namespace: "capi" },
                spec: { clusterName: "work", template: { spec: { version } } },
            });
        assert.deepEqual(runStack(kubeletWindow, [kcp, capiCluster, md("v1.28.9")]), []);
        assert.match(runStack(kubeletWindow, [kcp, capiCluster, md("v1.32.0")])[0], /Cluster API control plane cp/);
        // Without the Cluster API Cluster: the only control plane in the namespace.
        assert.match(runStack(kubeletWindow, [kcp, md("v1.27.0")])[0], /4 minors older/);

        const aks = res("aks", "azure-native:containerservice:ManagedCluster", {
            resourceGroupName: "rg",
            resourceName: "aks-prod",
            kubernetesVersion: "1.31.2",
            agentPoolProfiles: [{ name: "system", orchestratorVersion: "1.32.0" }],
        });
        const agentPool = res("user", "azure-native:containerservice:AgentPool", {
            resourceGroupName: "rg",
            resourceName: "aks-prod",
            orchestratorVersion: "1.27.3",
        });
        const aksFound = runStack(kubeletWindow, [aks, agentPool]);
        assert.equal(aksFound.length, 2);
        assert.match(aksFound.join("\n"), /aks agentPoolProfiles\[0\]\.orchestratorVersion \(1\.32\.0\).*newer/);
        assert.match(aksFound.join("\n"), /node pool user \(1\.27\.3\).*4 minors older/);

        const gke = res("gke", "gcp:container/cluster:Cluster", { name: "gke-prod", minMasterVersion: "1.31" }, [], {
            outputs: {
                name: "gke-prod",
                minMasterVersion: "1.31",
                id: "projects/p/locations/europe-west1/clusters/gke-prod",
            },
        });
        const nodePool = (version: string) =>
            res("pool", "gcp:container/nodePool:NodePool", {
                cluster: "projects/p/locations/europe-west1/clusters/gke-prod",
                version,
            });
        assert.deepEqual(runStack(kubeletWindow, [gke, nodePool("1.29.8-gke.1000")]), []);
        assert.match(runStack(kubeletWindow, [gke, nodePool("1.32.1-gke.1000")])[0], /GKE control plane gke \(1\.31\)/);
        assert.match(runStack(kubeletWindow, [gke, nodePool("latest")])[0], /cannot read its version "latest"/);
    });

    test("promotion never ahead of the source", () => {
        assert.deepEqual(
            runResource(
                promotionBound,
                COMPONENT,
                component({ promotion: { stack: "staging", recorded: true, sourceVersion: "1.31" } }),
            ),
            [],
        );
        assert.match(
            runResource(
                promotionBound,
                COMPONENT,
                component({ promotion: { stack: "staging", recorded: true, sourceVersion: "1.30" } }),
            )[0],
            /targets 1\.31, but stack staging runs 1\.30/,
        );
        assert.match(
            runResource(
                promotionBound,
                COMPONENT,
                component({ promotion: { stack: "staging", recorded: false, sourceVersion: null } }),
            )[0],
            /recorded no running state/,
        );
        assert.deepEqual(
            runResource(
                promotionBound,
                COMPONENT,
                component({ change: "none", promotion: { stack: "staging", recorded: false, sourceVersion: null } }),
            ),
            [],
        );
    });

    test("promotion compares patches, not only minors: prod never takes a patch staging never ran", () => {
        const verdict = (target: string, sourceVersion: string) =>
            runResource(
                promotionBound,
                COMPONENT,
                component({ target, promotion: { stack: "staging", recorded: true, sourceVersion } }),
            );
        assert.match(verdict("1.31.5", "1.31.2").join("\n"), /targets 1\.31\.5, but stack staging runs 1\.31\.2/);
        assert.match(verdict("1.31.5", "1.31").join("\n"), /records only the minor 1\.31/);
        assert.deepEqual(verdict("1.31.5", "1.31.5"), []);
        assert.deepEqual(verdict("1.31.2", "1.31.5"), []);
        assert.deepEqual(verdict("1.31", "1.31.2"), []);
        assert.deepEqual(verdict("1.30.9", "1.31"), []);
    });

    test("green covers blue", () => {
        assert.deepEqual(runResource(greenCoversBlue, COMPONENT, component()), []);
        const larger = component({
            nodePools: [
                {
                    name: "web",
                    count: 3,
                    type: "g6-standard-8",
                    autoscaler: { min: 3, max: 6 },
                    kubernetesVersion: "1.31",
                },
            ],
        });
        assert.deepEqual(runResource(greenCoversBlue, COMPONENT, larger), []);
        const smaller = component({
            nodePools: [
                {
                    name: "web",
                    count: 2,
                    type: "g6-standard-2",
                    autoscaler: { min: 2, max: 6 },
                    kubernetesVersion: "1.31",
                },
            ],
        });
        const found = runResource(greenCoversBlue, COMPONENT, smaller).join("\n");
        assert.match(found, /green type g6-standard-2 may be smaller than blue g6-standard-4/);
        assert.match(found, /green has 2 node\(s\), blue 3/);
        assert.match(found, /autoscaler minimum 2 is below blue's 3/);
    });

    test("supported window, from config", () => {
        const config = { minimumMinor: "1.31" };
        assert.deepEqual(runResource(supportedWindow, COMPONENT, component({ target: "1.31" }), config), []);
        assert.match(
            runResource(supportedWindow, COMPONENT, component({ target: "1.30" }), config)[0],
            /1\.30 is older than the oldest supported minor 1\.31/,
        );
        assert.deepEqual(
            runResource(supportedWindow, COMPONENT, component({ target: "1.30" }), { minimumMinor: "1.29" }),
            [],
        );
        assert.match(
            runResource(supportedWindow, COMPONENT, component({ target: "1.31" }), {
                ...config,
                maximumMinor: "1.30",
            })[0],
            /newer than the newest offered/,
        );
    });

    test("production control planes are HA", () => {
        const cluster = (ha: boolean, stack: string) => ({
            label: `apps-${stack}`,
            tags: [`k8s-upgrades-stack-${stack}`],
            controlPlane: { highAvailability: ha },
        });
        const type = "linode:index/lkeCluster:LkeCluster";
        assert.deepEqual(runResource(productionHighAvailability, type, cluster(true, "prod")), []);
        assert.deepEqual(runResource(productionHighAvailability, type, cluster(false, "dev")), []);
        assert.match(
            runResource(productionHighAvailability, type, cluster(false, "prod"))[0],
            /production stack prod has no highly available control plane/,
        );
        assert.match(
            runResource(productionHighAvailability, type, cluster(false, "live"), { productionStacks: ["live"] })[0],
            /live/,
        );
    });

    test("drain settings are sane", () => {
        assert.deepEqual(runResource(saneDrain, COMPONENT, component()), []);
        assert.match(
            runResource(
                saneDrain,
                COMPONENT,
                component({ drain: { gracePeriodSeconds: 1000, timeoutSeconds: 900 } }),
            )[0],
            /grace period 1000s is longer than the drain timeout 900s/,
        );
        assert.match(
            runResource(saneDrain, COMPONENT, component({ drain: { timeoutSeconds: 7200 } }))[0],
            /exceeds 3600s/,
        );
        assert.match(
            runResource(saneDrain, COMPONENT, component({ drain: { deleteEmptyDirDataExplicit: false } }))[0],
            /deleteEmptyDirData is not set/,
        );
    });

    test("workers after the control plane", () => {
        const cluster = res("apps", "linode:index/lkeCluster:LkeCluster", {});
        const cp = res("apps-control-plane", "command:local:Command", cmd("lke-control-plane"), ["apps"]);
        const good = res("apps-web-1-31", "linode:index/lkeNodePool:LkeNodePool", {}, ["apps", "apps-control-plane"]);
        const bad = res("apps-web-1-31", "linode:index/lkeNodePool:LkeNodePool", {}, ["apps"]);
        const ready = res("apps-web-1-31-ready", "command:local:Command", cmd("wait-ready"), ["apps-web-1-31"]);
        assert.deepEqual(runStack(workersAfterControlPlane, [cluster, cp, good, ready]), []);
        const found = runStack(workersAfterControlPlane, [cluster, cp, bad, ready]);
        assert.equal(found.length, 2);
        assert.match(
            found[0],
            /apps-web-1-31 changes worker capacity but does not wait for the control plane step apps-control-plane/,
        );
    });

    test("cordon and drain commands count as worker steps: one that skips the control plane is refused", () => {
        const cluster = res("apps", "linode:index/lkeCluster:LkeCluster", {});
        const cp = res("apps-control-plane", "command:local:Command", cmd("lke-control-plane"), ["apps"]);
        const green = res("apps-web-1-31", "linode:index/lkeNodePool:LkeNodePool", {}, ["apps", "apps-control-plane"]);
        for (const kind of ["cordon", "drain"]) {
            const early = res(`apps-web-1-30-${kind}`, "command:local:Command", cmd(kind), ["apps"]);
            assert.deepEqual(
                runStack(workersAfterControlPlane, [cluster, cp, green, early]),
                [
                    `apps-web-1-30-${kind} changes worker capacity but does not wait for the control plane step apps-control-plane`,
                ],
                `a ${kind} step before the control plane`,
            );
            const after = res(`apps-web-1-30-${kind}`, "command:local:Command", cmd(kind), ["apps-web-1-31"]);
            assert.deepEqual(runStack(workersAfterControlPlane, [cluster, cp, green, after]), []);
        }
    });

    test("no undrained pool deletion", () => {
        const owned = "urn:pulumi:dev::k8s-upgrades::k8s-upgrades:lke:Cluster$linode:index/lkeNodePool:LkeNodePool::";
        const pool = res("apps-web-1-31", "linode:index/lkeNodePool:LkeNodePool", {}, [], {
            urn: `${owned}apps-web-1-31`,
        });
        const guard = res(
            "apps-web-1-31-drain-guard",
            "command:local:Command",
            cmd("drain-guard-create", "drain"),
            [],
            {
                dependencies: [pool.urn],
            },
        );
        assert.deepEqual(runStack(drainBeforeDelete, [pool, guard]), []);
        assert.match(runStack(drainBeforeDelete, [pool])[0], /has no drain guard/);
        const createOnly = res("apps-web-1-31-drain-guard", "command:local:Command", cmd("drain"), [], {
            dependencies: [pool.urn],
        });
        assert.match(runStack(drainBeforeDelete, [pool, createOnly])[0], /has no drain guard/);
        const skipped = { ...guard, deletedWith: "urn:apps" };
        assert.match(
            runStack(drainBeforeDelete, [pool, skipped])[0],
            /deletedWith urn:apps: the engine would skip its drain/,
        );
        const handWritten = res(
            "drain-web",
            "command:local:Command",
            { create: "true", delete: "kubectl drain node-1 --ignore-daemonsets" },
            [],
            { dependencies: [pool.urn] },
        );
        assert.deepEqual(runStack(drainBeforeDelete, [pool, handWritten]), []);
        // Any program's pools: EKS drains a managed node group itself; a raw pool outside the component is not judged.
        assert.deepEqual(
            runStack(drainBeforeDelete, [res("ng", "aws:eks/nodeGroup:NodeGroup", { version: "1.31" })]),
            [],
        );
        assert.deepEqual(
            runStack(drainBeforeDelete, [
                res("ng", "aws:eks/nodeGroup:NodeGroup", {}, [], {
                    urn: "urn:pulumi:dev::k8s-upgrades::k8s-upgrades:eks:Cluster$aws:eks/nodeGroup:NodeGroup::ng",
                }),
            ]),
            [],
        );
        assert.deepEqual(runStack(drainBeforeDelete, [res("raw", "linode:index/lkeNodePool:LkeNodePool", {})]), []);
        // The component under the root stack's type, as URNs are written when the stack is in the type chain.
        const nested = res("apps-web-1-31", "linode:index/lkeNodePool:LkeNodePool", {}, [], {
            urn: "urn:pulumi:dev::k8s-upgrades::pulumi:pulumi:Stack$k8s-upgrades:lke:Cluster$linode:index/lkeNodePool:LkeNodePool::apps-web-1-31",
        });
        assert.match(runStack(drainBeforeDelete, [nested])[0], /has no drain guard/);
    });
});

describe("running versions from the stack's last deployment", () => {
    const stackExport = (resources: unknown[]) => ({ version: 3, deployment: { resources } });
    const urn = (type: string, name: string, parent = "pulumi:pulumi:Stack") =>
        `urn:pulumi:prod::platform::${parent}$${type}::${name}`;

    test("each control plane's recorded running version, by name; by URN where names clash", () => {
        const found = runningVersions(
            stackExport([
                { urn: urn("pulumi:pulumi:Stack", "platform-prod", ""), type: "pulumi:pulumi:Stack", outputs: {} },
                {
                    urn: urn("aws:eks/cluster:Cluster", "prod"),
                    type: "aws:eks/cluster:Cluster",
                    outputs: { version: "1.30" },
                },
                {
                    urn: urn("gcp:container/cluster:Cluster", "gke"),
                    type: "gcp:container/cluster:Cluster",
                    // What GKE runs, not the minimum the program asked for.
                    outputs: { minMasterVersion: "1.29", masterVersion: "1.30.5-gke.1014001" },
                },
                {
                    urn: urn("kubernetes:controlplane.cluster.x-k8s.io/v1beta1:KubeadmControlPlane", "cp"),
                    type: "kubernetes:controlplane.cluster.x-k8s.io/v1beta1:KubeadmControlPlane",
                    outputs: { spec: { version: "v1.31.2" }, status: { version: "v1.30.6" } },
                },
                {
                    urn: urn("linode:index/lkeCluster:LkeCluster", "a"),
                    type: "linode:index/lkeCluster:LkeCluster",
                    outputs: { k8sVersion: "1.31" },
                },
                {
                    urn: urn("azure-native:containerservice:ManagedCluster", "a"),
                    type: "azure-native:containerservice:ManagedCluster",
                    outputs: { kubernetesVersion: "1.31", currentKubernetesVersion: "1.30.9" },
                },
            ]),
        );
        assert.deepEqual(found, {
            prod: "1.30",
            gke: "1.30.5-gke.1014001",
            cp: "v1.30.6",
            [urn("linode:index/lkeCluster:LkeCluster", "a")]: "1.31",
            [urn("azure-native:containerservice:ManagedCluster", "a")]: "1.30.9",
        });
        assert.deepEqual(
            withRunningVersions(
                { "control-plane-one-minor-at-a-time": "advisory", "green-covers-blue": "mandatory" },
                found,
            ),
            {
                "control-plane-one-minor-at-a-time": { enforcementLevel: "advisory", runningVersions: found },
                "green-covers-blue": "mandatory",
            },
        );
    });

    test("a control plane recorded without a readable version, or no export at all, is an error", () => {
        assert.throws(
            () =>
                runningVersions(
                    stackExport([
                        { urn: urn("aws:eks/cluster:Cluster", "prod"), type: "aws:eks/cluster:Cluster", outputs: {} },
                    ]),
                ),
            /aws:eks\/cluster:Cluster::prod: no readable running version .*pulumi refresh/,
        );
        assert.throws(() => runningVersions({ version: 3 }), /not a `pulumi stack export` document/);
    });
});

function mutateComponent(capture: Capture, change: (props: Record<string, any>) => void): Capture {
    const copy: Capture = JSON.parse(JSON.stringify(capture));
    change(copy.resources.find((r) => r.type === COMPONENT)!.inputs as Record<string, any>);
    return copy;
}

describe("policies over real program runs", async () => {
    const blueGreen = { strategy: "blue-green", drain: { deleteEmptyDirData: false } };
    const { second } = await upgrade(
        [lkeCluster({ kubernetesVersion: "1.30", workers: blueGreen })],
        [lkeCluster({ kubernetesVersion: "1.31", workers: blueGreen })],
    );

    test("a clean 1.30 → 1.31 bump passes every mandatory policy", () => {
        const report = evaluatePolicies(second);
        assert.deepEqual(report.mandatory, []);
        assert.equal(report.evaluated, 10);
    });

    test("a hand-written resource set that skips 1.30 → 1.32 is refused", () => {
        const skipped = mutateComponent(second, (p) => {
            p.cluster.kubernetesVersion = "1.32";
        });
        const report = evaluatePolicies(skipped);
        assert.ok(
            report.mandatory.some(
                (v) => v.policy === "control-plane-one-minor-at-a-time" && /1\.30 → 1\.32 skips/.test(v.message),
            ),
        );
    });

    test("a pool at 1.27 under a 1.31 control plane is refused", () => {
        const old = mutateComponent(second, (p) => {
            p.pools[0].version = "1.27";
        });
        const report = evaluatePolicies(old);
        assert.ok(
            report.mandatory.some((v) => v.policy === "planned-pools-within-skew-window" && /1\.27/.test(v.message)),
        );
    });

    test("a prod stack ahead of staging is refused, by the program and by the pack", async () => {
        const staging = await runProgram({
            stack: "staging",
            config: stackConfig([lkeCluster({ kubernetesVersion: "1.30" })]),
        });
        const prodFirst = await runProgram({
            stack: "prod",
            config: stackConfig([lkeCluster({ kubernetesVersion: "1.30" })]),
        });
        const prod = await runProgram({
            stack: "prod",
            config: stackConfig([lkeCluster({ kubernetesVersion: "1.31" })], {
                "k8s-upgrades:promotesFrom": "staging",
            }),
            previous: prodFirst.stackOutputs,
            sources: { staging: staging.stackOutputs! },
        });
        assert.match(prod.error ?? "", /at most 1\.30, what stack "staging" runs/);
        const handWritten = mutateComponent(second, (p) => {
            p.promotion = { stack: "staging", recorded: true, sourceVersion: "1.30" };
        });
        assert.ok(evaluatePolicies(handWritten).mandatory.some((v) => v.policy === "promotion-never-ahead-of-source"));
    });

    test("a green pool that skips the control plane step, or a pool without its guard, is refused", () => {
        const copy: Capture = JSON.parse(JSON.stringify(second));
        const cp = copy.resources.find((r) => r.name === "apps-control-plane")!;
        const green = copy.resources.find((r) => r.name === "apps-web-1-31")!;
        green.dependencies = green.dependencies.filter((u) => u !== cp.urn);
        const withoutGuard = {
            ...copy,
            resources: copy.resources.filter((r) => r.name !== "apps-web-1-31-drain-guard"),
        };
        const report = evaluatePolicies(withoutGuard);
        assert.ok(
            report.mandatory.some(
                (v) =>
                    v.policy === "workers-after-control-plane" &&
                    /apps-web-1-31 changes worker capacity/.test(v.message),
            ),
        );
        assert.ok(
            report.mandatory.some(
                (v) => v.policy === "no-undrained-pool-deletion" && /apps-web-1-31 has no drain guard/.test(v.message),
            ),
        );
    });

    test("enforcement levels follow the pack config", () => {
        const skipped = mutateComponent(second, (p) => {
            p.cluster.kubernetesVersion = "1.32";
        });
        const report = evaluatePolicies(skipped, {
            "control-plane-one-minor-at-a-time": { enforcementLevel: "advisory" },
        });
        assert.equal(report.mandatory.filter((v) => v.policy === "control-plane-one-minor-at-a-time").length, 0);
        assert.ok(report.advisory.some((v) => v.policy === "control-plane-one-minor-at-a-time"));
        assert.equal(
            evaluatePolicies(skipped, { "control-plane-one-minor-at-a-time": { enforcementLevel: "disabled" } })
                .evaluated,
            9,
        );
    });
});
