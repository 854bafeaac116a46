// The version rules of the policy pack called directly on the raw provider resources any program declares (EKS,
// LKE, Cluster API, AKS and GKE control planes and their pools), on each k8s-upgrades component type, and the
// step recognition the ordering rules share (generated and hand-written drains, scripts sent on stdin, kubeadm
// workers, dependencies through property references). Expected messages and verdicts are written out here, from
// the Kubernetes version-skew policy and the rules' documented contract.

import * as assert from "node:assert/strict";
import { test } from "node:test";
import type { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import Ajv from "ajv";
import { buildRemoteScript, buildScript } from "../components/scripts";
import { toPolicyResources } from "../policy/evaluate";
import {
    controlPlaneOneMinor,
    drainBeforeDelete,
    kubeletWindow,
    plannedPoolsWindow,
    workersAfterControlPlane,
} from "../policy/rules";
import type { CapturedResource } from "../tools/capture-types";
import { checkStack, runResourcePolicy } from "./policy-calls";

const EKS = "aws:eks/cluster:Cluster";
const LKE = "linode:index/lkeCluster:LkeCluster";
const KCP = "kubernetes:controlplane.cluster.x-k8s.io/v1beta1:KubeadmControlPlane";
const AKS = "azure-native:containerservice:ManagedCluster";
const GKE = "gcp:container/cluster:Cluster";
const COMMAND = "command:local:Command";
const REMOTE = "command:remote:Command";

/** The proxy CrossGuard's host wraps inputs in, and its sentinel for a value unknown until the update. */
const { unknownCheckingProxy } = require("@pulumi/policy") as { unknownCheckingProxy: <T extends object>(o: T) => T };
const { unknownStringValue } = require("@pulumi/policy/proxy") as { unknownStringValue: unknown };

interface Call {
    name?: string;
    urn?: string;
    /** Merged over the schema's defaults, as the engine does; `null` hands the policy no config at all. */
    config?: Record<string, unknown> | null;
}

function check(
    policy: ResourceValidationPolicy,
    type: string,
    props: Record<string, unknown>,
    call: Call = {},
): Promise<string[]> {
    const name = call.name ?? "prod";
    const urn = call.urn ?? `urn:pulumi:dev::apps::${type}::${name}`;
    return runResourcePolicy(policy, { type, props, urn, name, config: call.config });
}

interface Links {
    deps?: string[];
    propertyDeps?: Record<string, string[]>;
    parent?: string;
    urn?: string;
}

function res(name: string, type: string, inputs: Record<string, unknown>, links: Links = {}): CapturedResource {
    return {
        urn: links.urn ?? `urn:${name}`,
        type,
        name,
        custom: true,
        dependencies: (links.deps ?? []).map((d) => `urn:${d}`),
        propertyDependencies: Object.fromEntries(
            Object.entries(links.propertyDeps ?? {}).map(([k, v]) => [k, v.map((d) => `urn:${d}`)]),
        ),
        ignoreChanges: [],
        inputs,
        secretPaths: [],
        parent: links.parent ? `urn:${links.parent}` : undefined,
    } as CapturedResource;
}

/** A k8s-upgrades component's args: running 1.30, one pool per entry of `pools` at the given kubelet version. */
function component(running: string | null, target: string, pools: Record<string, string> = {}) {
    return {
        stack: "dev",
        cluster: {
            name: "apps",
            provider: "lke",
            kubernetesVersion: target,
            nodePools: [],
            workers: {
                strategy: "in-place",
                drain: {
                    gracePeriodSeconds: 60,
                    timeoutSeconds: 900,
                    deleteEmptyDirData: false,
                    deleteEmptyDirDataExplicit: true,
                },
            },
        },
        running: running === null ? null : { controlPlaneVersion: running },
        controlPlane: { from: running ?? undefined, to: target, change: "minor" },
        pools: Object.entries(pools).map(([name, version]) => ({
            name,
            action: "in-place",
            resourceName: `apps-${name}`,
            version,
            blue: null,
        })),
        promotion: null,
    };
}

test("the policy names stack configs refer to, and all three version rules are mandatory", () => {
    assert.equal(controlPlaneOneMinor.name, "control-plane-one-minor-at-a-time");
    assert.equal(plannedPoolsWindow.name, "planned-pools-within-skew-window");
    assert.equal(kubeletWindow.name, "kubelet-within-skew-window");
    for (const p of [controlPlaneOneMinor, plannedPoolsWindow, kubeletWindow])
        assert.equal(p.enforcementLevel, "mandatory", p.name);
});

test("each version rule's description names the resources and fields it reads and the config that steers it", () => {
    // What `pulumi policy` shows a reviewer: every raw resource's version field, the config keys and the window.
    const essentials: Array<[ResourceValidationPolicy | StackValidationPolicy, string[]]> = [
        [
            controlPlaneOneMinor,
            [
                "at most one minor per deployment and never to an older version",
                "judged against the running version its program recorded",
                "aws.eks.Cluster version, linode.LkeCluster k8sVersion, KubeadmControlPlane",
                "spec.version, AKS ManagedCluster kubernetesVersion, GKE Cluster minMasterVersion",
                "runningVersions in this policy's config, keyed by resource name",
                "requireRunningVersion is true. An AKS ManagedCluster that pins kubernetesVersion",
                "channel (patch, stable, rapid) moves it is refused",
                "ask for an older version than what runs.",
            ],
        ],
        [
            plannedPoolsWindow,
            [
                "kubeadm workers and LKE pools included",
                "no newer than its control plane and at most three minors older (two below 1.25)",
            ],
        ],
        [
            kubeletWindow,
            [
                "no newer than its control plane and at most three minors older (two below 1.25)",
                "aws.eks.NodeGroup version against its aws.eks.Cluster, LKE Enterprise LkeNodePool k8sVersion",
                "MachineDeployment spec.template.spec.version against its KubeadmControlPlane, AKS orchestratorVersion",
                "GKE NodePool version against the cluster master",
                "through the reference its cluster property was built from, else by the cluster's name or id",
                "one whose control plane is in another stack is not judged",
            ],
        ],
    ];
    for (const [policy, phrases] of essentials)
        for (const phrase of phrases) assert.ok(policy.description?.includes(phrase), `${policy.name}: ${phrase}`);
});

test("the control plane rule's config schema takes version strings by name and refuses what YAML makes a number", () => {
    // The engine validates a pack's config against each policy's JSON schema and fills in its defaults.
    const ajv = new Ajv({ useDefaults: true });
    const validate = ajv.compile({ type: "object", ...controlPlaneOneMinor.configSchema });
    const filled: Record<string, unknown> = {};
    assert.ok(validate(filled));
    assert.deepEqual(filled, { runningVersions: {}, requireRunningVersion: false });
    assert.ok(validate({ runningVersions: { prod: "1.30", "prod-1a2b": "1.30.4" }, requireRunningVersion: true }));
    // `prod: 1.30` unquoted in YAML is the number 1.3: refused, not read as 1.3.
    assert.equal(validate({ runningVersions: { prod: 1.3 } }), false);
    assert.equal(validate({ runningVersions: ["prod"] }), false);
    assert.equal(validate({ runningVersions: "1.30" }), false);
    assert.equal(validate({ requireRunningVersion: "yes" }), false);
    const props = controlPlaneOneMinor.configSchema?.properties as Record<string, { description: string }>;
    assert.match(props.runningVersions.description, /by the resource's name .*\{ "prod": "1\.30" \}/);
    assert.match(props.requireRunningVersion.description, /^Refuse a raw control plane .* not in runningVersions/);
});

test("every k8s-upgrades cluster component type is judged by the component rules", async () => {
    const types = ["lke", "eks", "kubeadm", "capi-aws", "aks", "gke"].map((p) => `k8s-upgrades:${p}:Cluster`);
    for (const type of types) {
        assert.deepEqual(
            await check(plannedPoolsWindow, type, component("1.31", "1.32", { web: "1.28" }), { name: "apps" }),
            [
                "cluster apps, pool apps-web: kubelet 1.28 is 4 minors older than the apiserver 1.32; at most 3 are supported",
            ],
            type,
        );
        assert.deepEqual(
            await check(controlPlaneOneMinor, type, component("1.30", "1.32"), { name: "apps" }),
            ["cluster apps: 1.30 → 1.32 skips 1 minor(s); go through 1.31 → 1.32, one deployment each"],
            type,
        );
    }
    assert.deepEqual(
        await check(plannedPoolsWindow, "k8s-upgrades:lke:Pool", component("1.31", "1.32", { web: "1.28" })),
        [],
    );
});

test("a component's transition: the minors it skips and the path through them, and a downgrade", async () => {
    const lke = "k8s-upgrades:lke:Cluster";
    assert.deepEqual(await check(controlPlaneOneMinor, lke, component("1.29", "1.32")), [
        "cluster apps: 1.29 → 1.32 skips 2 minor(s); go through 1.30 → 1.31 → 1.32, one deployment each",
    ]);
    assert.deepEqual(await check(controlPlaneOneMinor, lke, component("1.31", "1.30")), [
        "cluster apps: 1.31 → 1.30 is a downgrade",
    ]);
    assert.deepEqual(await check(controlPlaneOneMinor, lke, component("1.31.4", "1.31.2")), [
        "cluster apps: 1.31.4 → 1.31.2 is a downgrade",
    ]);
    assert.deepEqual(await check(controlPlaneOneMinor, lke, component("1.31", "1.31")), []);
    assert.deepEqual(await check(controlPlaneOneMinor, lke, component("1.31.2", "1.31.4")), []);
});

test("AKS: a pinned kubernetesVersion under a version-moving upgrade channel is refused, in any letter case", async () => {
    const pinned = (channel: unknown) => ({
        resourceGroupName: "rg",
        resourceName: "prod",
        kubernetesVersion: "1.30",
        autoUpgradeProfile: { upgradeChannel: channel },
    });
    const refusal = (version: string, channel: string) =>
        `AKS control plane prod: kubernetesVersion ${version} is pinned while autoUpgradeProfile.upgradeChannel "${channel}" upgrades the cluster on AKS's schedule; set upgradeChannel to "none" and upgrade by changing kubernetesVersion, or leave kubernetesVersion out`;
    for (const channel of ["patch", "stable", "rapid", "Stable", "RAPID"])
        assert.deepEqual(await check(controlPlaneOneMinor, AKS, pinned(channel)), [refusal('"1.30"', channel)]);
    // node-image moves node images only; none moves nothing.
    for (const channel of ["node-image", "NodeImage", "none", "", 3, null, undefined])
        assert.deepEqual(await check(controlPlaneOneMinor, AKS, pinned(channel)), [], String(channel));
    assert.deepEqual(await check(controlPlaneOneMinor, AKS, { resourceName: "prod", kubernetesVersion: "1.30" }), []);
    // Without a pinned version the channel owns the version, which is what it is for.
    const { kubernetesVersion: _pin, ...unpinned } = pinned("stable");
    assert.deepEqual(await check(controlPlaneOneMinor, AKS, unpinned), []);
    // Only a ManagedCluster has such a channel.
    for (const type of [GKE, EKS, "azure-native:containerservice:AgentPool"])
        assert.deepEqual(await check(controlPlaneOneMinor, type, pinned("stable")), [], type);
});

test("a raw control plane is judged against runningVersions by its name, its cloud name or its URN", async () => {
    const eks = { name: "prod-1a2b", version: "1.32" };
    const skip =
        "EKS control plane prod (version): 1.30 → 1.32 skips 1 minor(s); go through 1.31 → 1.32, one deployment each";
    const urn = `urn:pulumi:dev::apps::${EKS}::prod`;
    for (const runningVersions of [{ prod: "1.30" }, { "prod-1a2b": "1.30" }, { [urn]: "1.30" }])
        assert.deepEqual(await check(controlPlaneOneMinor, EKS, eks, { config: { runningVersions } }), [skip]);
    // An empty entry is no entry: the next key that names the cluster counts.
    assert.deepEqual(
        await check(controlPlaneOneMinor, EKS, eks, { config: { runningVersions: { prod: "", "prod-1a2b": "1.30" } } }),
        [skip],
    );
    assert.deepEqual(
        await check(controlPlaneOneMinor, EKS, eks, { config: { runningVersions: { prod: "", [urn]: "1.31" } } }),
        [],
    );
    assert.deepEqual(
        await check(controlPlaneOneMinor, EKS, eks, { config: { runningVersions: { prod: "1.31" } } }),
        [],
    );
    assert.deepEqual(await check(controlPlaneOneMinor, EKS, eks, { config: { runningVersions: { prod: "1.33" } } }), [
        "EKS control plane prod (version): 1.33 → 1.32 is a downgrade",
    ]);
    // Another resource's entry does not count.
    assert.deepEqual(await check(controlPlaneOneMinor, EKS, eks, { config: { runningVersions: { dev: "1.30" } } }), []);
    // A pool carries a version too, but it is no control plane.
    assert.deepEqual(
        await check(controlPlaneOneMinor, "aws:eks/nodeGroup:NodeGroup", eks, {
            config: { runningVersions: { prod: "1.30" } },
        }),
        [],
    );
});

test("each provider's control plane is read from its own version field and named by its own identities", async () => {
    const cases: Array<[string, Record<string, unknown>, Record<string, string>, string]> = [
        [
            LKE,
            { label: "prod", k8sVersion: "1.32", id: 4711 },
            { "4711": "1.30" },
            "LKE control plane prod (k8sVersion): 1.30 → 1.32",
        ],
        [
            KCP,
            { metadata: { name: "prod-cp", namespace: "capi" }, spec: { version: "v1.32.1" } },
            { "capi/prod-cp": "v1.30.6" },
            "Cluster API control plane prod (spec.version): v1.30.6 → v1.32.1",
        ],
        [
            AKS,
            { resourceGroupName: "rg", resourceName: "prod-aks", kubernetesVersion: "1.32.0" },
            { "rg/prod-aks": "1.30.9" },
            "AKS control plane prod (kubernetesVersion): 1.30.9 → 1.32.0",
        ],
        [
            GKE,
            { name: "prod-gke", minMasterVersion: "1.32.1-gke.100" },
            { "prod-gke": "1.30.5-gke.200" },
            "GKE control plane prod (minMasterVersion): 1.30.5-gke.200 → 1.32.1-gke.100",
        ],
    ];
    for (const [type, props, runningVersions, transition] of cases)
        assert.deepEqual(
            await check(controlPlaneOneMinor, type, props, { config: { runningVersions } }),
            [`${transition} skips 1 minor(s); go through 1.31 → 1.32, one deployment each`],
            type,
        );
});

test("a raw control plane without a running version: judged only when required, and never a component's own", async () => {
    const eks = { name: "prod-1a2b", version: "1.32" };
    assert.deepEqual(await check(controlPlaneOneMinor, EKS, eks), []);
    assert.deepEqual(await check(controlPlaneOneMinor, EKS, eks, { config: { requireRunningVersion: false } }), []);
    // A config without runningVersions at all (the engine fills the default; a hand-made evaluation may not).
    assert.deepEqual(await check(controlPlaneOneMinor, EKS, eks, { config: null }), []);
    assert.deepEqual(await check(controlPlaneOneMinor, EKS, eks, { config: { requireRunningVersion: true } }), [
        'EKS control plane prod (version): its running version is unknown to the policy pack (CrossGuard gives no previous state); add "prod" to runningVersions in the policy config',
    ]);
    // The cluster resource a k8s-upgrades component owns is judged through the component, which records what runs.
    const owned = `urn:pulumi:dev::apps::k8s-upgrades:eks:Cluster$${EKS}::prod`;
    assert.deepEqual(
        await check(controlPlaneOneMinor, EKS, eks, { urn: owned, config: { requireRunningVersion: true } }),
        [],
    );
});

test("a raw control plane's version: absent or unknown until the update is not judged, unreadable is refused", async () => {
    const config = { requireRunningVersion: true, runningVersions: { prod: "1.30" } };
    assert.deepEqual(await check(controlPlaneOneMinor, EKS, { name: "prod-1a2b" }, { config }), []);
    assert.deepEqual(await check(controlPlaneOneMinor, EKS, { name: "prod-1a2b", version: "" }, { config }), []);
    const unknown = unknownCheckingProxy({ name: "prod-1a2b", version: unknownStringValue });
    assert.deepEqual(await check(controlPlaneOneMinor, EKS, unknown, { config }), []);
    assert.deepEqual(
        await check(controlPlaneOneMinor, EKS, unknown, { config: { requireRunningVersion: true } }),
        [],
        "an unknown version is not refused for a missing running version either",
    );
    assert.deepEqual(await check(controlPlaneOneMinor, EKS, { name: "prod-1a2b", version: "latest" }, { config }), [
        'EKS control plane prod (version): cannot read the version "latest"',
    ]);
    // AKS reads the version it asks for, else the one it reports running.
    assert.deepEqual(
        await check(
            controlPlaneOneMinor,
            AKS,
            { resourceName: "prod", currentKubernetesVersion: "1.32.1" },
            { config },
        ),
        [
            "AKS control plane prod (currentKubernetesVersion): 1.30 → 1.32.1 skips 1 minor(s); go through 1.31 → 1.32, one deployment each",
        ],
    );
});

test("raw pools of every provider are judged against their own control plane's version", async () => {
    const outOfWindow = (pool: string, kubelet: string, cp: string, cpVersion: string) =>
        `node pool ${pool} (${kubelet}) against ${cp} (${cpVersion}): kubelet ${kubelet.slice(0, 4)} is 4 minors older than the apiserver ${cpVersion.slice(0, 4)}; at most 3 are supported`;
    const lke = res("apps", LKE, { label: "apps", k8sVersion: "1.32", id: 4711 });
    const lkePool = (v: string) =>
        res("apps-web", "linode:index/lkeNodePool:LkeNodePool", { clusterId: 4711, k8sVersion: v });
    assert.deepEqual(await checkStack(kubeletWindow, [lke, lkePool("1.28")]), [
        outOfWindow("apps-web", "1.28", "LKE control plane apps", "1.32"),
    ]);
    assert.deepEqual(await checkStack(kubeletWindow, [lke, lkePool("1.29")]), []);
    assert.deepEqual(await checkStack(kubeletWindow, [lke, lkePool("1.32")]), []);

    const aks = res("data", AKS, { resourceGroupName: "rg", resourceName: "data", kubernetesVersion: "1.32.1" });
    const agent = (v: string) =>
        res("data-gpu", "azure-native:containerservice:AgentPool", {
            resourceGroupName: "rg",
            resourceName: "data",
            orchestratorVersion: v,
        });
    assert.deepEqual(await checkStack(kubeletWindow, [aks, agent("1.28.9")]), [
        outOfWindow("data-gpu", "1.28.9", "AKS control plane data", "1.32.1"),
    ]);
    assert.deepEqual(await checkStack(kubeletWindow, [aks, agent("1.33.0")]), [
        "node pool data-gpu (1.33.0) against AKS control plane data (1.32.1): kubelet 1.33 is newer than the apiserver 1.32; kubelets must never be newer than the apiserver",
    ]);

    const gke = res("edge", GKE, { name: "edge", minMasterVersion: "1.32.1-gke.100" });
    const nodePool = (v: string) =>
        res("edge-pool", "gcp:container/nodePool:NodePool", {
            cluster: "projects/p/locations/l/clusters/edge",
            version: v,
        });
    assert.deepEqual(await checkStack(kubeletWindow, [gke, nodePool("1.28.3-gke.1")]), [
        outOfWindow("edge-pool", "1.28.3-gke.1", "GKE control plane edge", "1.32.1-gke.100"),
    ]);
    assert.deepEqual(await checkStack(kubeletWindow, [gke, nodePool("1.31.2-gke.5")]), []);
});

test("a raw pool without a version follows its control plane; unknown is judged later, unreadable is refused", async () => {
    const eks = res("prod", EKS, { name: "prod-1a2b", version: "1.31" });
    const group = (inputs: Record<string, unknown>) =>
        res("ng", "aws:eks/nodeGroup:NodeGroup", { clusterName: "prod-1a2b", ...inputs });
    assert.deepEqual(await checkStack(kubeletWindow, [eks, group({})]), []);
    assert.deepEqual(await checkStack(kubeletWindow, [eks, group({ version: "" })]), []);
    const unknown = group({});
    unknown.inputs = unknownCheckingProxy({ clusterName: "prod-1a2b", version: unknownStringValue });
    assert.deepEqual(await checkStack(kubeletWindow, [eks, unknown]), []);
    assert.deepEqual(await checkStack(kubeletWindow, [eks, group({ version: "latest" })]), [
        'node pool ng: cannot read its version "latest"',
    ]);
    // Within the window (three minors from 1.25 on), nothing to say.
    assert.deepEqual(await checkStack(kubeletWindow, [eks, group({ version: "1.28" })]), []);
    assert.deepEqual(await checkStack(kubeletWindow, [eks, group({ version: "1.31" })]), []);
});

test("pools written inside their cluster resource are judged and named by their path", async () => {
    const aks = res("data", AKS, {
        resourceName: "data",
        kubernetesVersion: "1.32.1",
        agentPoolProfiles: [
            { name: "system", orchestratorVersion: "1.32.1" },
            { name: "old", orchestratorVersion: "1.28.2" },
        ],
    });
    assert.deepEqual(await checkStack(kubeletWindow, [aks]), [
        "node pool data agentPoolProfiles[1].orchestratorVersion (1.28.2) against AKS control plane data (1.32.1): kubelet 1.28 is 4 minors older than the apiserver 1.32; at most 3 are supported",
    ]);
    const gke = res("edge", GKE, { name: "edge", minMasterVersion: "1.30.1-gke.1", nodeVersion: "1.31.0-gke.2" });
    assert.deepEqual(await checkStack(kubeletWindow, [gke]), [
        "node pool edge nodeVersion (1.31.0-gke.2) against GKE control plane edge (1.30.1-gke.1): kubelet 1.31 is newer than the apiserver 1.30; kubelets must never be newer than the apiserver",
    ]);
});

// Steps: the control plane step of LKE cluster `apps`, and worker steps that should wait for it.
const lkeCluster = () => res("apps", LKE, {});
const cpStep = () => res("apps-cp", COMMAND, { create: buildScript("lke-control-plane") }, { deps: ["apps"] });
const late = (name: string) => `${name} changes worker capacity but does not wait for the control plane step apps-cp`;

test("every worker step kind waits for the control plane, generated or a hand-written kubectl drain", async () => {
    const steps = [
        res("apps-wait", COMMAND, { create: buildScript("wait-ready") }, { deps: ["apps"] }),
        res("apps-in-place", COMMAND, { create: buildScript("lke-in-place") }, { deps: ["apps"] }),
        res("apps-cordon", COMMAND, { create: buildScript("cordon") }, { deps: ["apps"] }),
        res("apps-drain", COMMAND, { create: buildScript("drain") }, { deps: ["apps"] }),
        res("apps-manual", COMMAND, { create: "kubectl drain node-1 --ignore-daemonsets" }, { deps: ["apps"] }),
        res("apps-aligned", COMMAND, { create: "kubectl   drain\tnode-2" }, { deps: ["apps"] }),
        // A remote `bash -s` step runs the script it sends on stdin.
        res("apps-remote", REMOTE, { create: "bash -s", stdin: buildScript("drain") }, { deps: ["apps"] }),
    ];
    assert.deepEqual(
        await checkStack(workersAfterControlPlane, [lkeCluster(), cpStep(), ...steps]),
        steps.map((s) => late(s.name)),
    );
    // Once they wait, nothing to say.
    for (const s of steps) s.dependencies.push("urn:apps-cp");
    assert.deepEqual(await checkStack(workersAfterControlPlane, [lkeCluster(), cpStep(), ...steps]), []);
});

test("steps that touch no worker capacity need not wait for the control plane", async () => {
    const steps = [
        res("apps-preflight", COMMAND, { create: buildScript("preflight") }, { deps: ["apps"] }),
        res("apps-echo", COMMAND, { create: "echo kubectl drained nothing" }, { deps: ["apps"] }),
        res("apps-empty", COMMAND, {}, { deps: ["apps"] }),
        // Only commands run scripts: another resource whose input reads like a drain is not a step.
        res("apps-note", "pulumi-nodejs:dynamic:Resource", { create: buildScript("drain") }, { deps: ["apps"] }),
    ];
    assert.deepEqual(await checkStack(workersAfterControlPlane, [lkeCluster(), cpStep(), ...steps]), []);
});

test("a dependency on the control plane step counts through property references, directly or transitively", async () => {
    const direct = res(
        "apps-direct",
        COMMAND,
        { create: buildScript("drain") },
        { deps: ["apps"], propertyDeps: { environment: ["apps-cp"] } },
    );
    const relay = res("apps-relay", "pulumi-nodejs:dynamic:Resource", {}, { propertyDeps: { after: ["apps-cp"] } });
    const transitive = res(
        "apps-transitive",
        COMMAND,
        { create: buildScript("drain") },
        { deps: ["apps", "apps-relay"] },
    );
    assert.deepEqual(
        await checkStack(workersAfterControlPlane, [lkeCluster(), cpStep(), direct, relay, transitive]),
        [],
    );
    const stray = res("apps-stray", COMMAND, { create: buildScript("drain") }, { deps: ["apps", "apps-relay"] });
    stray.propertyDependencies = {};
    relay.propertyDependencies = {};
    assert.deepEqual(await checkStack(workersAfterControlPlane, [lkeCluster(), cpStep(), relay, stray]), [
        late("apps-stray"),
    ]);
});

test("a long rolling sequence, each step waiting for the two before it, reads each step's dependencies once per worker", async () => {
    // Each step waits for the two before it, so the paths to the control plane step double with every step. The
    // rule walks each worker's dependencies once per resource it reaches: about n reads per worker, n² in all.
    // A walk that revisits what it has seen takes one read per path instead (millions at n = 24).
    const n = 24;
    const steps = Array.from({ length: n }, (_, i) =>
        res(
            `apps-node-${i}`,
            COMMAND,
            { create: buildScript("drain") },
            {
                deps: ["apps", i === 0 ? "apps-cp" : `apps-node-${i - 1}`, i < 2 ? "apps-cp" : `apps-node-${i - 2}`],
            },
        ),
    );
    const resources = toPolicyResources([lkeCluster(), cpStep(), ...steps]);
    let reads = 0;
    for (const r of resources) {
        const dependencies = r.dependencies;
        Object.defineProperty(r, "dependencies", {
            get: () => {
                reads++;
                return dependencies;
            },
        });
    }
    const messages: string[] = [];
    await workersAfterControlPlane.validateStack(
        {
            resources,
            stackTags: new Map(),
            getConfig: () => ({}) as never,
            notApplicable: () => {
                throw new Error("n/a");
            },
        },
        (m) => messages.push(m),
    );
    assert.deepEqual(messages, []);
    assert.ok(reads <= (n + 2) * (n + 2), `${reads} reads of dependencies for ${n} steps`);
});

test("a control plane step constrains only the pools of the EKS or GKE cluster it acts on", async () => {
    for (const type of [EKS, GKE]) {
        const cluster = res("apps", type, {});
        const other = res("edge", type, {});
        const step = cpStep();
        const pool = res("edge-cordon", COMMAND, { create: buildScript("cordon") }, { deps: ["edge"] });
        assert.deepEqual(await checkStack(workersAfterControlPlane, [cluster, other, step, pool]), [], type);
        const own = res("apps-cordon", COMMAND, { create: buildScript("cordon") }, { deps: ["apps"] });
        assert.deepEqual(await checkStack(workersAfterControlPlane, [cluster, other, step, pool, own]), [
            late("apps-cordon"),
        ]);
    }
});

test("kubeadm: only a command that upgrades a worker's kubelet is a worker step", async () => {
    const params = { K8SU_TARGET_VERSION: "1.31.4", K8SU_PACKAGE_MANAGER: "apt", K8SU_SWITCH_REPOSITORY: "true" };
    const cp = res(
        "onprem-cp-1",
        REMOTE,
        { create: buildRemoteScript("kubeadm-control-plane", { ...params, K8SU_FIRST: "true" }) },
        { parent: "onprem" },
    );
    const workerScript = buildRemoteScript("kubeadm-kubelet", { ...params, K8SU_ROLE: "worker" });
    const controlPlaneKubelet = buildRemoteScript("kubeadm-kubelet", { ...params, K8SU_ROLE: "control-plane" });
    assert.match(controlPlaneKubelet, /^K8SU_ROLE='control-plane'$/m);
    const steps = [
        // Another resource type carrying the same text is not a step.
        res("onprem-note", "pulumi-nodejs:dynamic:Resource", { create: workerScript }, { parent: "onprem" }),
        // A hand-written command that sets the same variable upgrades no kubelet.
        res("onprem-env", REMOTE, { create: "K8SU_ROLE='worker'\necho ready" }, { parent: "onprem" }),
        // The role is the assignment's whole value, as the kubelet script compares it: "worker-canary" is not
        // "worker", and a comment that mentions the worker role assigns nothing.
        res(
            "onprem-canary",
            REMOTE,
            { create: controlPlaneKubelet.replace("K8SU_ROLE='control-plane'", "K8SU_ROLE='worker'-canary") },
            { parent: "onprem" },
        ),
        res(
            "onprem-cp-1-kubelet",
            REMOTE,
            { create: `${controlPlaneKubelet}\n# workers run this with K8SU_ROLE='worker'` },
            { parent: "onprem" },
        ),
        // Other generated steps of the same cluster.
        res("onprem-preflight", COMMAND, { create: buildScript("preflight") }, { parent: "onprem" }),
    ];
    const parents = [res("onprem", "k8s-upgrades:kubeadm:Cluster", {})];
    assert.deepEqual(await checkStack(workersAfterControlPlane, [...parents, cp, ...steps]), []);
    const worker = res("onprem-w-1", REMOTE, { create: "bash -s", stdin: workerScript }, { parent: "onprem" });
    assert.deepEqual(await checkStack(workersAfterControlPlane, [...parents, cp, ...steps, worker]), [
        "onprem-w-1 changes worker capacity but does not wait for the control plane step onprem-cp-1",
    ]);
});

test("a drain guard is a command whose delete drains, GKE and AKS pools in a component included", async () => {
    const owned = (name: string, type: string, component: string) =>
        res(name, type, {}, { urn: `urn:pulumi:dev::apps::k8s-upgrades:${component}:Cluster$${type}::${name}` });
    const gke = owned("edge-pool", "gcp:container/nodePool:NodePool", "gke");
    const aks = owned("data-pool", "azure-native:containerservice:AgentPool", "aks");
    assert.deepEqual(await checkStack(drainBeforeDelete, [gke, aks]), [
        "node pool edge-pool has no drain guard: deleting it would remove capacity that was never drained",
        "node pool data-pool has no drain guard: deleting it would remove capacity that was never drained",
    ]);
    const guard = (name: string, pool: CapturedResource, inputs: Record<string, unknown>) => {
        const g = res(name, COMMAND, inputs);
        g.dependencies = [pool.urn];
        return g;
    };
    // A hand-written drain on delete guards as well as the generated one.
    assert.deepEqual(
        await checkStack(drainBeforeDelete, [
            gke,
            aks,
            guard("edge-guard", gke, { create: "true", delete: "kubectl drain -l pool=edge --timeout=600s" }),
            guard("data-guard", aks, { create: buildScript("drain-guard-create"), delete: buildScript("drain") }),
        ]),
        [],
    );
    // A drain sent on stdin runs at create, not on delete: no guard.
    assert.deepEqual(
        await checkStack(drainBeforeDelete, [
            gke,
            guard("edge-guard", gke, { create: "bash -s", delete: "true", stdin: buildScript("drain") }),
        ]),
        ["node pool edge-pool has no drain guard: deleting it would remove capacity that was never drained"],
    );
});
