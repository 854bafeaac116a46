// The policy pack's stack rules (workers after the control plane, no undrained deletion) and its resource rules
// on promotion, blue-green capacity, the supported window, production HA and drain settings, each called
// directly with the resources a program would show CrossGuard. Expected messages and names are written out
// literally: they are what a platform engineer reads in a refused preview and what the pack's config is keyed by.

import * as assert from "node:assert/strict";
import { test } from "node:test";
import type { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { buildRemoteScript, buildScript } from "../components/scripts";
import {
    drainBeforeDelete,
    greenCoversBlue,
    machineSize,
    policies,
    productionHighAvailability,
    promotionBound,
    resourcePolicies,
    saneDrain,
    stackPolicies,
    supportedWindow,
    workersAfterControlPlane,
} from "../policy/rules";
import { oldestOfferedMinor, oldestOfferedMinors, SUPPORTED_AS_OF } from "../policy/supported-versions";
import { formatMinor, parseVersion } from "../policy/versions";
import type { CapturedResource } from "../tools/capture-types";
import { checkStack, lkeComponent as component, runResourcePolicy } from "./policy-calls";

const COMPONENT = "k8s-upgrades:lke:Cluster";
const LKE_CLUSTER = "linode:index/lkeCluster:LkeCluster";
const LKE_POOL = "linode:index/lkeNodePool:LkeNodePool";
const EKS_CLUSTER = "aws:eks/cluster:Cluster";
const EKS_GROUP = "aws:eks/nodeGroup:NodeGroup";
const LOCAL = "command:local:Command";

interface Target {
    type?: string;
    name?: string;
    urn?: string;
    config?: Record<string, unknown>;
}

/** Calls a resource policy as CrossGuard does, with its schema's defaults under the given config. */
function check(policy: ResourceValidationPolicy, props: Record<string, unknown>, at: Target = {}): Promise<string[]> {
    const type = at.type ?? COMPONENT;
    const name = at.name ?? "x";
    const urn = at.urn ?? `urn:pulumi:dev::apps::${type}::${name}`;
    return runResourcePolicy(policy, { type, props, urn, name, config: at.config });
}

interface Links {
    /** dependsOn and property dependencies together, as the engine receives them. */
    deps?: string[];
    /** Property dependencies: the resources an input was built from. */
    inputs?: Record<string, string[]>;
    parent?: string;
}

function res(name: string, type: string, props: Record<string, unknown> = {}, links: Links = {}): CapturedResource {
    return {
        urn: `urn:${name}`,
        type,
        name,
        custom: true,
        dependencies: (links.deps ?? []).map((d) => `urn:${d}`),
        propertyDependencies: Object.fromEntries(
            Object.entries(links.inputs ?? {}).map(([k, v]) => [k, v.map((d) => `urn:${d}`)]),
        ),
        ignoreChanges: [],
        inputs: props,
        secretPaths: [],
        parent: links.parent ? `urn:${links.parent}` : undefined,
    };
}

const step = (name: string, kind: "lke-control-plane" | "drain" | "cordon" | "wait-ready", links: Links) =>
    res(name, LOCAL, { create: buildScript(kind) }, links);

const late = (worker: string, cp: string) =>
    `${worker} changes worker capacity but does not wait for the control plane step ${cp}`;

test("the pack publishes its ten policies under their names, levels and descriptions", () => {
    assert.deepEqual(
        resourcePolicies.map((p) => p.name),
        [
            "control-plane-one-minor-at-a-time",
            "planned-pools-within-skew-window",
            "promotion-never-ahead-of-source",
            "green-covers-blue",
            "version-inside-supported-window",
            "production-control-plane-ha",
            "drain-settings-sane",
        ],
    );
    assert.deepEqual(
        stackPolicies.map((p) => p.name),
        ["kubelet-within-skew-window", "workers-after-control-plane", "no-undrained-pool-deletion"],
    );
    assert.deepEqual(
        policies.map((p) => p.name),
        [...resourcePolicies, ...stackPolicies].map((p) => p.name),
    );
    // Safety rules stop an update; judgement calls only warn.
    const levels: Array<[ResourceValidationPolicy | StackValidationPolicy, string, RegExp]> = [
        [workersAfterControlPlane, "mandatory", /worker capacity depends, directly or not, on the control plane/],
        [drainBeforeDelete, "mandatory", /has a drain guard.*No guard may use deletedWith/],
        [promotionBound, "mandatory", /promotesFrom never targets a version newer than the source stack runs/],
        [greenCoversBlue, "advisory", /same machine type or a larger one of the same family, at least the old count/],
        [supportedWindow, "advisory", /inside the window the provider still supports/],
        [productionHighAvailability, "advisory", /highly available control plane.*LKE controlPlane\.highAvailability/],
        [saneDrain, "advisory", /timeout within reason, a grace period no longer than the timeout/],
    ];
    for (const [policy, level, description] of levels) {
        assert.equal(policy.enforcementLevel, level, policy.name);
        assert.match(policy.description, description, policy.name);
    }
});

test("the configurable policies publish a config schema with types, defaults and descriptions", () => {
    const shape = (policy: ResourceValidationPolicy) =>
        Object.fromEntries(
            Object.entries(policy.configSchema?.properties ?? {}).map(([k, v]) => {
                const { description, ...rest } = v as { description?: string };
                return [k, rest];
            }),
        );
    assert.deepEqual(shape(supportedWindow), {
        minimumMinor: { type: "string", default: "" },
        maximumMinor: { type: "string", default: "" },
    });
    assert.deepEqual(shape(productionHighAvailability), {
        productionStacks: { type: "array", items: { type: "string" }, default: ["prod", "production"] },
    });
    assert.deepEqual(shape(saneDrain), { maximumTimeoutSeconds: { type: "number", default: 3600 } });
    const described = (policy: ResourceValidationPolicy, key: string) =>
        (policy.configSchema?.properties?.[key] as { description?: string } | undefined)?.description ?? "";
    // Empty by default: the window starts where the version table says each provider's offer starts.
    assert.ok(
        described(supportedWindow, "minimumMinor").endsWith(
            `empty: each provider's oldest offered minor in the version table of ${SUPPORTED_AS_OF} (${oldestOfferedMinors()}).`,
        ),
        described(supportedWindow, "minimumMinor"),
    );
    assert.match(
        oldestOfferedMinors(),
        /^lke 1\.\d+, eks 1\.\d+, kubeadm 1\.\d+, capi-aws 1\.\d+, gke 1\.\d+, aks 1\.\d+$/,
    );
    assert.match(
        described(supportedWindow, "maximumMinor"),
        /newest minor offered, e\.g\. "1\.34"; empty for no bound/,
    );
    assert.match(described(productionHighAvailability, "productionStacks"), /Stack names that count as production/);
    assert.match(described(saneDrain, "maximumTimeoutSeconds"), /longest a single node's drain may take/);
});

test("workers after the control plane: a wave's step is judged against its own cluster, the one its inputs name", async () => {
    // Wave 2 (cluster b) waits for wave 1's control plane step, so it reaches cluster a too; its inputs name b.
    const wave = [
        res("a", LKE_CLUSTER),
        res("b", LKE_CLUSTER),
        step("a-control-plane", "lke-control-plane", { deps: ["a"], inputs: { environment: ["a"] } }),
        step("b-control-plane", "lke-control-plane", {
            deps: ["b", "a-control-plane"],
            inputs: { environment: ["b"] },
        }),
        res("a-web", LKE_POOL, {}, { deps: ["a", "a-control-plane"] }),
        res("b-web", LKE_POOL, {}, { deps: ["b", "b-control-plane"] }),
    ];
    assert.deepEqual(await checkStack(workersAfterControlPlane, wave), [], "wave 1's pool need not wait for wave 2");
    // A pool of cluster b that does not wait for b's step is still refused.
    const early = res("b-batch", LKE_POOL, {}, { deps: ["b"] });
    assert.deepEqual(await checkStack(workersAfterControlPlane, [...wave, early]), [
        late("b-batch", "b-control-plane"),
    ]);
});

test("workers after the control plane: a step built from two clusters judges the pools of each", async () => {
    const resources = [
        res("a", LKE_CLUSTER),
        res("b", LKE_CLUSTER),
        step("ab-control-plane", "lke-control-plane", { deps: ["a", "b"], inputs: { environment: ["a", "b"] } }),
        res("a-web", LKE_POOL, {}, { deps: ["a"] }),
        res("b-web", LKE_POOL, {}, { deps: ["b", "ab-control-plane"] }),
    ];
    assert.deepEqual(await checkStack(workersAfterControlPlane, resources), [late("a-web", "ab-control-plane")]);
});

test("workers after the control plane: a step that also waits for a pre-flight command acts on its one cluster", async () => {
    const resources = [
        res("apps", LKE_CLUSTER),
        res("edge", LKE_CLUSTER),
        res("apps-preflight", LOCAL, { create: buildScript("preflight") }, { deps: ["apps"] }),
        step("apps-control-plane", "lke-control-plane", { deps: ["apps", "apps-preflight"] }),
        res("apps-web", LKE_POOL, {}, { deps: ["apps", "apps-control-plane"] }),
        // A pool of another cluster, whose upgrade is not this step's business.
        res("edge-web", LKE_POOL, {}, { deps: ["edge"] }),
    ];
    assert.deepEqual(await checkStack(workersAfterControlPlane, resources), []);
});

test("workers after the control plane: a step whose inputs name no cluster acts on the clusters beside it", async () => {
    // Two components; b's step waits for a's (a wave) but takes no input from a cluster resource.
    const resources = [
        res("comp-a", COMPONENT),
        res("comp-b", COMPONENT),
        res("a", LKE_CLUSTER, {}, { parent: "comp-a" }),
        res("b", LKE_CLUSTER, {}, { parent: "comp-b" }),
        step("a-control-plane", "lke-control-plane", { deps: ["a"], parent: "comp-a" }),
        step("b-control-plane", "lke-control-plane", { deps: ["b", "a-control-plane"], parent: "comp-b" }),
        res("a-web", LKE_POOL, {}, { deps: ["a", "a-control-plane"], parent: "comp-a" }),
        res("b-web", LKE_POOL, {}, { deps: ["b", "b-control-plane"], parent: "comp-b" }),
        // A pool of b that another part of the program declares: it is b's, wherever it sits.
        res("b-extra", LKE_POOL, {}, { deps: ["b"] }),
    ];
    assert.deepEqual(await checkStack(workersAfterControlPlane, resources), [late("b-extra", "b-control-plane")]);
});

test("workers after the control plane: a top-level step that reaches several clusters judges the top-level workers", async () => {
    // No input names a cluster and no cluster shares the step's (absent) parent: the step is matched by parent.
    const resources = [
        res("comp-z", COMPONENT),
        res("z", LKE_CLUSTER, {}, { parent: "comp-z" }),
        res("x", LKE_CLUSTER),
        step("x-control-plane", "lke-control-plane", { deps: ["x", "z"] }),
        res("x-web", LKE_POOL, {}, { deps: ["x"] }),
        res("z-web", LKE_POOL, {}, { deps: ["z"], parent: "comp-z" }),
    ];
    assert.deepEqual(await checkStack(workersAfterControlPlane, resources), [late("x-web", "x-control-plane")]);
});

test("workers after the control plane: drain, cordon and wait-ready commands are worker steps", async () => {
    const cluster = [
        res("apps", LKE_CLUSTER),
        step("apps-control-plane", "lke-control-plane", { deps: ["apps"], inputs: { environment: ["apps"] } }),
    ];
    for (const kind of ["drain", "cordon", "wait-ready"] as const) {
        const early = step(`apps-${kind}`, kind, { deps: ["apps"] });
        assert.deepEqual(
            await checkStack(workersAfterControlPlane, [...cluster, early]),
            [late(`apps-${kind}`, "apps-control-plane")],
            kind,
        );
        const waits = step(`apps-${kind}`, kind, { deps: ["apps", "apps-control-plane"] });
        assert.deepEqual(await checkStack(workersAfterControlPlane, [...cluster, waits]), [], kind);
    }
    // A command that runs something else is not a worker step.
    const other = res("apps-notify", LOCAL, { create: "echo upgraded" }, { deps: ["apps"] });
    assert.deepEqual(await checkStack(workersAfterControlPlane, [...cluster, other]), []);
});

test("workers after the control plane: each EKS cluster's node groups wait for that cluster only", async () => {
    const resources = [
        res("data", EKS_CLUSTER, { version: "1.31" }),
        res("web", EKS_CLUSTER, { version: "1.31" }),
        res("data-general", EKS_GROUP, {}, { deps: ["data"] }),
        res("web-general", EKS_GROUP, {}, { deps: ["web"] }),
    ];
    assert.deepEqual(await checkStack(workersAfterControlPlane, resources), []);
});

test("workers after the control plane: a raw pool is not matched by parent to a kubeadm step", async () => {
    // kubeadm has no cluster resource: its steps are matched by parent, and a top-level pool has none.
    const create = buildRemoteScript("kubeadm-control-plane", {
        K8SU_TARGET_VERSION: "1.31.4",
        K8SU_PACKAGE_MANAGER: "apt",
        K8SU_SWITCH_REPOSITORY: "true",
        K8SU_FIRST: "true",
    });
    const resources = [
        res("onprem", "k8s-upgrades:kubeadm:Cluster"),
        res("onprem-cp-1", "command:remote:Command", { create }, { parent: "onprem" }),
        res("lab-web", LKE_POOL),
    ];
    assert.deepEqual(await checkStack(workersAfterControlPlane, resources), []);
});

/** A pool a k8s-upgrades component owns (its URN carries the component's type). */
function owned(name: string, type = LKE_POOL): CapturedResource {
    const r = res(name, type);
    r.urn = `urn:pulumi:dev::k8s-upgrades::${COMPONENT}$${type}::${name}`;
    return r;
}

function guard(name: string, pool: CapturedResource, also: string[] = [], type = LOCAL): CapturedResource {
    const g = res(name, type, { create: buildScript("drain-guard-create"), delete: buildScript("drain") });
    g.dependencies = [pool.urn, ...also.map((d) => `urn:${d}`)];
    return g;
}

const undrained = (pool: string) =>
    `node pool ${pool} has no drain guard: deleting it would remove capacity that was never drained`;

test("no undrained deletion: a guard that also waits for its cluster still guards its pool", async () => {
    const pool = owned("apps-web");
    const cluster = res("apps", LKE_CLUSTER);
    assert.deepEqual(await checkStack(drainBeforeDelete, [cluster, pool, guard("apps-web-guard", pool, ["apps"])]), []);
    // A guard with deletedWith is reported once, for the pool it guards, not again for the cluster it waits for.
    const skipped = guard("apps-web-guard", pool, ["apps"]);
    skipped.deletedWith = "urn:apps";
    assert.deepEqual(await checkStack(drainBeforeDelete, [cluster, pool, skipped]), [
        "drain guard apps-web-guard has deletedWith urn:apps: the engine would skip its drain",
    ]);
});

test("no undrained deletion: only a local command whose delete drains is a guard", async () => {
    const pool = owned("apps-web");
    // A local command that depends on the pool but drains nothing on delete.
    const waiter = res("apps-web-ready", LOCAL, { create: buildScript("wait-ready") });
    waiter.dependencies = [pool.urn];
    assert.deepEqual(await checkStack(drainBeforeDelete, [pool, waiter]), [undrained("apps-web")]);
    // A drain sent to a remote host is not the program's guard: the pack recognises local drain commands only.
    assert.deepEqual(
        await checkStack(drainBeforeDelete, [pool, guard("apps-web-guard", pool, [], "command:remote:Command")]),
        [undrained("apps-web")],
    );
    // A hand-written local drain counts.
    const handWritten = res("apps-web-drain", LOCAL, { create: "true", delete: "kubectl drain -l pool=web" });
    handWritten.dependencies = [pool.urn];
    assert.deepEqual(await checkStack(drainBeforeDelete, [pool, handWritten]), []);
});

test("no undrained deletion: MachineDeployments without the opt-out, and other Cluster API kinds, pass", async () => {
    const md = (spec: Record<string, unknown>) =>
        res("apps-md", "kubernetes:cluster.x-k8s.io/v1beta1:MachineDeployment", { spec });
    assert.deepEqual(await checkStack(drainBeforeDelete, [md({ replicas: 3 })]), []);
    assert.deepEqual(await checkStack(drainBeforeDelete, [md({ template: { spec: { version: "v1.31.4" } } })]), []);
    assert.deepEqual(
        await checkStack(drainBeforeDelete, [md({ template: { metadata: { labels: { pool: "web" } } } })]),
        [],
    );
    // The annotation on a MachineSet is Cluster API's business through its MachineDeployment; it is not judged.
    const machineSet = res("apps-ms", "kubernetes:cluster.x-k8s.io/v1beta1:MachineSet", {
        spec: { template: { metadata: { annotations: { "machine.cluster.x-k8s.io/exclude-node-draining": "" } } } },
    });
    assert.deepEqual(await checkStack(drainBeforeDelete, [machineSet]), []);
});

test("promotion: an unreadable target and a plan that does not move are not judged against an unrecorded source", async () => {
    const unrecorded = { stack: "staging", recorded: false, sourceVersion: null };
    assert.deepEqual(await check(promotionBound, component({ target: "latest", promotion: unrecorded })), []);
    assert.deepEqual(await check(promotionBound, component({ change: "none", promotion: unrecorded })), []);
    assert.deepEqual(await check(promotionBound, component({ change: "patch", promotion: unrecorded })), [
        "cluster apps: stack staging has recorded no running state, so 1.31 is not proven there yet",
    ]);
    const recorded = { stack: "staging", recorded: true, sourceVersion: "1.31.2" };
    assert.deepEqual(await check(promotionBound, component({ target: "1.31.2", promotion: recorded })), []);
    assert.deepEqual(await check(promotionBound, component({ target: "1.31.3", promotion: recorded })), [
        "cluster apps: targets 1.31.3, but stack staging runs 1.31.2 (1.31.3 is a newer patch than 1.31.2)",
    ]);
});

test("machine size: a plan's family and size, the dash before the size optional", () => {
    assert.deepEqual(machineSize("g6-standard-4"), { family: "g6-standard", size: 4 });
    assert.deepEqual(machineSize("g6-standard-16"), { family: "g6-standard", size: 16 });
    assert.deepEqual(machineSize("g1-gpu-rtx6000-2"), { family: "g1-gpu-rtx6000", size: 2 });
    assert.deepEqual(machineSize("plan32"), { family: "plan", size: 32 });
    assert.equal(machineSize("custom"), undefined);
    assert.equal(machineSize("g6-standard-"), undefined);
});

test("green covers blue: a larger plan of the same family passes, a smaller one does not", async () => {
    const pools = (blueType: string) => [
        {
            name: "web",
            action: "blue-green",
            resourceName: "apps-web-1-31",
            version: "1.31",
            blue: { resourceName: "apps-web-1-30", type: blueType, count: 3, version: "1.30" },
        },
    ];
    const green = (type: string) => [{ name: "web", count: 3, type, kubernetesVersion: "1.31" }];
    assert.deepEqual(
        await check(greenCoversBlue, component({ pools: pools("g6-standard-4"), nodePools: green("g6-standard-8") })),
        [],
    );
    assert.deepEqual(
        await check(greenCoversBlue, component({ pools: pools("g6-standard-8"), nodePools: green("g6-standard-4") })),
        ["pool web: green type g6-standard-4 may be smaller than blue g6-standard-8"],
    );
    assert.deepEqual(
        await check(greenCoversBlue, component({ pools: pools("g6-standard-8"), nodePools: green("g6-standard-16") })),
        [],
        "16 is larger than 8, whatever their digits",
    );
    // The same type, even one whose size cannot be read, is the same capacity.
    assert.deepEqual(
        await check(greenCoversBlue, component({ pools: pools("custom"), nodePools: green("custom") })),
        [],
    );
});

test("green covers blue: pools without a blue generation are skipped, and green is found by name", async () => {
    const blue = { resourceName: "apps-web-1-30", type: "g6-standard-8", count: 3, version: "1.30" };
    const pools = [
        { name: "batch", action: "in-place", resourceName: "apps-batch", version: "1.31", blue: null },
        { name: "web", action: "blue-green", resourceName: "apps-web-1-31", version: "1.31", blue },
    ];
    const nodePools = [
        { name: "batch", count: 1, type: "g6-standard-2", kubernetesVersion: "1.31" },
        { name: "web", count: 3, type: "g6-standard-8", kubernetesVersion: "1.31" },
    ];
    assert.deepEqual(await check(greenCoversBlue, component({ pools, nodePools })), []);
});

/** The minor `steps` after (or before, when negative) `minor`. */
function shift(minor: string, steps: number): string {
    const v = parseVersion(minor)!;
    return formatMinor({ major: v.major, minor: v.minor + steps });
}

test("supported window: by default each provider's oldest offered minor in the version table, with the exact messages", async () => {
    const lkeOldest = oldestOfferedMinor("lke")!;
    const eksOldest = oldestOfferedMinor("eks")!;
    const table = `(version table of ${SUPPORTED_AS_OF}); plan the next upgrades before the provider forces one`;
    assert.deepEqual(await check(supportedWindow, component({ target: lkeOldest })), [], "the oldest offered minor");
    assert.deepEqual(await check(supportedWindow, component({ target: `${shift(lkeOldest, -1)}.5` })), [
        `cluster apps: ${shift(lkeOldest, -1)} is older than the oldest minor lke offers, ${lkeOldest} ${table}`,
    ]);
    const lke = (k8sVersion: string) => ({ label: "apps", k8sVersion });
    assert.deepEqual(await check(supportedWindow, lke(shift(lkeOldest, -3)), { type: LKE_CLUSTER, name: "apps" }), [
        `LKE control plane apps: ${shift(lkeOldest, -3)} is older than the oldest minor lke offers, ${lkeOldest} ${table}`,
    ]);
    assert.deepEqual(await check(supportedWindow, lke(lkeOldest), { type: LKE_CLUSTER, name: "apps" }), []);
    // Each provider by its own row: an EKS control plane at EKS's oldest minor is inside, one below is not.
    const eks = (version: string) => ({ name: "data", version });
    assert.deepEqual(await check(supportedWindow, eks(eksOldest), { type: EKS_CLUSTER, name: "data" }), []);
    assert.deepEqual(await check(supportedWindow, eks(shift(eksOldest, -1)), { type: EKS_CLUSTER, name: "data" }), [
        `EKS control plane data: ${shift(eksOldest, -1)} is older than the oldest minor eks offers, ${eksOldest} ${table}`,
    ]);
    // An unreadable version is the transition policy's to refuse, not this one's.
    assert.deepEqual(await check(supportedWindow, lke("latest"), { type: LKE_CLUSTER, name: "apps" }), []);
    // The cluster resource a component owns is judged through the component, once.
    assert.deepEqual(
        await check(supportedWindow, lke("1.29"), {
            type: LKE_CLUSTER,
            name: "apps",
            urn: `urn:pulumi:dev::k8s-upgrades::${COMPONENT}$${LKE_CLUSTER}::apps`,
        }),
        [],
    );
    // A resource that is neither is not judged.
    assert.deepEqual(await check(supportedWindow, { k8sVersion: "1.20" }, { type: LKE_POOL }), []);
});

test("supported window: a configured minimumMinor or maximumMinor is one bound for every provider", async () => {
    const config = { minimumMinor: "1.31" };
    assert.deepEqual(await check(supportedWindow, component({ target: "1.31" }), { config }), []);
    assert.deepEqual(await check(supportedWindow, component({ target: "1.30.5" }), { config }), [
        "cluster apps: 1.30 is older than the oldest supported minor 1.31; plan the next upgrades before the provider forces one",
    ]);
    assert.deepEqual(
        await check(supportedWindow, component({ target: "1.35" }), { config: { maximumMinor: "1.34" } }),
        ["cluster apps: 1.35 is newer than the newest offered minor 1.34"],
    );
    const lke = (k8sVersion: string) => ({ label: "apps", k8sVersion });
    assert.deepEqual(await check(supportedWindow, lke("1.29"), { type: LKE_CLUSTER, name: "apps", config }), [
        "LKE control plane apps: 1.29 is older than the oldest supported minor 1.31; plan the next upgrades before the provider forces one",
    ]);
    assert.deepEqual(
        await check(supportedWindow, lke("1.36"), {
            type: LKE_CLUSTER,
            name: "apps",
            config: { maximumMinor: "1.35" },
        }),
        ["LKE control plane apps: 1.36 is newer than the newest offered minor 1.35"],
    );
    assert.deepEqual(await check(supportedWindow, lke("1.32"), { type: LKE_CLUSTER, name: "apps", config }), []);
});

test("production HA: the stack tag is found among others, and only production stacks without HA are refused", async () => {
    const lke = (tags: string[], controlPlane?: Record<string, unknown>) => ({
        label: "apps-prod",
        tags,
        controlPlane,
    });
    const at = { type: LKE_CLUSTER };
    const refused = (stack: string) =>
        `LKE cluster apps-prod in production stack ${stack} has no highly available control plane`;
    assert.deepEqual(await check(productionHighAvailability, lke(["team-payments", "k8s-upgrades-stack-prod"]), at), [
        refused("prod"),
    ]);
    assert.deepEqual(await check(productionHighAvailability, lke(["k8s-upgrades-stack-production"], {}), at), [
        refused("production"),
    ]);
    assert.deepEqual(await check(productionHighAvailability, lke(["k8s-upgrades-stack-dev"]), at), []);
    // A cluster the program did not tag belongs to no known stack.
    assert.deepEqual(await check(productionHighAvailability, { label: "apps-prod" }, at), []);
    assert.deepEqual(
        await check(productionHighAvailability, lke(["k8s-upgrades-stack-prod"], { highAvailability: true }), at),
        [],
    );
    assert.deepEqual(
        await check(productionHighAvailability, lke(["k8s-upgrades-stack-prod"], { highAvailability: false }), at),
        [refused("prod")],
    );
    assert.deepEqual(
        await check(productionHighAvailability, lke(["k8s-upgrades-stack-live"]), {
            ...at,
            config: { productionStacks: ["live"] },
        }),
        [refused("live")],
    );
});

test("drain settings: a grace period longer than the timeout, and an unstated emptyDir choice", async () => {
    assert.deepEqual(await check(saneDrain, component({}, { gracePeriodSeconds: 901 })), [
        "cluster apps: grace period 901s is longer than the drain timeout 900s",
    ]);
    assert.deepEqual(await check(saneDrain, component({}, { gracePeriodSeconds: 900 })), []);
    assert.deepEqual(await check(saneDrain, component({}, { deleteEmptyDirDataExplicit: false })), [
        "cluster apps: workers.drain.deleteEmptyDirData is not set; say true (emptyDir data is lost) or false (such pods block the drain) on purpose",
    ]);
    assert.deepEqual(
        await check(saneDrain, component({}, { timeoutSeconds: 1200 }), { config: { maximumTimeoutSeconds: 1000 } }),
        ["cluster apps: drain timeout 1200s exceeds 1000s"],
    );
});
