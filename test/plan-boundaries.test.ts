// The planner's refusals and decisions at their boundaries, word for word: each refusal names the field, what was
// given, what is allowed and what to do next, and each boundary (a pinned version, a rollback, a patch, a count)
// falls on the side the product documents. Expected values are written out, never computed by the planner.

import * as assert from "node:assert/strict";
import { test } from "node:test";
import { type NodePoolConfig, parseStackConfig } from "../components/config";
import {
    type ClusterInput,
    checkKubeletWindow,
    checkPoolsCurrentForControlPlane,
    checkProviderFit,
    clusterInput,
    decideChecks,
    decideControlPlane,
    decidePool,
    decidePools,
    decideRollback,
    describePhases,
    gatePromotion,
    type PoolAction,
    type PoolPlan,
    planStack,
    type RetiredPool,
    retirePools,
} from "../components/plan";
import { PROVIDER_TRAITS } from "../components/providers";
import type { RunningCluster, RunningPool, RunningState } from "../components/running";
import { requireVersion } from "../components/versions";

type Provider = "lke" | "eks";
type PoolSpec = { name: string; count?: number; type?: string; kubernetesVersion?: string };
type RunningSpec = { name: string; version: string; count?: number; type?: string; retained?: boolean; id?: string };

const TYPE = { lke: "g6-standard-4", eks: "m6i.large" } as const;

function providerBlock(provider: Provider) {
    return provider === "lke"
        ? { lke: { region: "us-ord" } }
        : { eks: { region: "us-east-1", subnetIds: ["subnet-0a1b2c3d4e5f60718", "subnet-0a1b2c3d4e5f60719"] } };
}

type Extra = { name?: string; workers?: Record<string, unknown>; drain?: Record<string, unknown>; eks?: object };

function clusterSpec(provider: Provider, version: string, strategy: string, pools: PoolSpec[], extra: Extra = {}) {
    const block = providerBlock(provider);
    return {
        name: extra.name ?? "apps",
        provider,
        kubernetesVersion: version,
        ...("eks" in block ? { eks: { ...block.eks, ...extra.eks } } : block),
        nodePools: pools.map((p) => ({ count: 3, type: TYPE[provider], ...p })),
        workers: { strategy, drain: { deleteEmptyDirData: false, ...extra.drain }, ...extra.workers },
    };
}

function cluster(provider: Provider, version: string, strategy: string, pools: PoolSpec[], extra: Extra = {}) {
    return parseStackConfig("dev", { clusters: [clusterSpec(provider, version, strategy, pools, extra)] }).clusters[0];
}

function runningPool(provider: Provider, p: RunningSpec, i: number): RunningPool {
    return {
        name: p.name,
        resourceName: p.id ?? `apps-${p.name}-${p.version.split(".").slice(0, 2).join("-")}`,
        version: p.version,
        type: p.type ?? TYPE[provider],
        count: p.count ?? 3,
        poolId: String(100 + i),
        retained: p.retained,
    };
}

function runs(provider: Provider, version: string, pools: RunningSpec[]): RunningCluster {
    return {
        name: "apps",
        provider,
        controlPlaneVersion: version,
        clusterId: "1",
        strategy: "blue-green",
        upgradeInProgress: false,
        pools: pools.map((p, i) => runningPool(provider, p, i)),
    };
}

function pool(provider: Provider, spec: PoolSpec): NodePoolConfig {
    return { count: 3, type: TYPE[provider], ...spec } as NodePoolConfig;
}

function withTraits(input: ClusterInput, provider: keyof typeof PROVIDER_TRAITS): ClusterInput {
    return { ...input, traits: PROVIDER_TRAITS[provider] };
}

function decided(decision: ReturnType<typeof decidePool>): { pool: PoolPlan; hold?: string } {
    assert.ok("pool" in decision, `expected a pool, got the refusal ${JSON.stringify(decision)}`);
    return decision;
}

test("provider fit: a strategy the provider lacks names the strategies it offers; a move of provider says what to do", () => {
    const eks = cluster("eks", "1.31", "blue-green", [{ name: "web" }]);
    assert.deepEqual(checkProviderFit(withTraits(clusterInput(eks), "kubeadm")), [
        {
            field: "workers.strategy",
            given: "blue-green",
            allowed: "one of in-place for self-managed kubeadm",
            hint: "blue-green and recycle need new machines, which this provider does not create: it upgrades the machines you list, in place.",
        },
    ]);
    const recycle = cluster("eks", "1.31", "recycle", [{ name: "web" }]);
    assert.deepEqual(
        checkProviderFit(withTraits(clusterInput(recycle), "capi-aws")).map((r) => [r.field, r.given, r.allowed]),
        [["workers.strategy", "recycle", "one of blue-green, in-place for Cluster API on AWS"]],
    );
    const lke = cluster("lke", "1.31", "blue-green", [{ name: "web" }]);
    assert.deepEqual(checkProviderFit(clusterInput(lke, runs("eks", "1.31", [{ name: "web", version: "1.31" }]))), [
        {
            field: "provider",
            given: "lke",
            allowed: '"eks", the provider this cluster runs on',
            hint: "A cluster cannot move between providers; create a new cluster under another name.",
        },
    ]);
});

test("control plane refusals, word for word: a skipped minor, a downgrade, a major jump; the change stays none", () => {
    const at = runs("lke", "1.31.2", [{ name: "web", version: "1.31.2" }]);
    const c = (v: string) => clusterInput(cluster("lke", v, "blue-green", [{ name: "web" }]), at);
    assert.deepEqual(decideControlPlane(c("1.33")), {
        change: "none",
        refusals: [
            {
                field: "kubernetesVersion",
                given: "1.33",
                allowed: "1.31.2 (no change) or the next minor 1.32",
                hint: "The control plane runs 1.31.2 and must not skip minors: upgrade through 1.32 → 1.33, one deployment per minor.",
            },
        ],
    });
    assert.deepEqual(decideControlPlane(c("1.30")), {
        change: "none",
        refusals: [
            {
                field: "kubernetesVersion",
                given: "1.30",
                allowed: "1.31.2 or newer (one minor at most)",
                hint: "The control plane runs 1.31.2; downgrades are not supported. Set it back to 1.31.2.",
            },
        ],
    });
    assert.deepEqual(decideControlPlane({ ...c("1.32"), target: requireVersion("2.0") }), {
        change: "none",
        refusals: [
            {
                field: "kubernetesVersion",
                given: "1.32",
                allowed: "a 1.x version",
                hint: "Kubernetes has no major-version upgrades.",
            },
        ],
    });
});

test("EKS precondition, word for word: every lagging node group is named, and one or several retained groups", () => {
    const c = cluster("eks", "1.32", "blue-green", [{ name: "web" }, { name: "api" }]);
    const lagging = runs("eks", "1.31", [
        { name: "web", version: "1.30" },
        { name: "api", version: "1.29" },
    ]);
    assert.deepEqual(checkPoolsCurrentForControlPlane(clusterInput(c, lagging), "minor"), [
        {
            field: "kubernetesVersion",
            given: "1.32",
            allowed: "1.31 until every node group runs 1.31",
            hint: 'Amazon EKS refuses a control plane upgrade while node groups lag it: upgrade "web" (apps-web-1-30, at 1.30), "api" (apps-api-1-29, at 1.29) to 1.31 first (remove their kubernetesVersion pin), deploy, then bump the cluster.',
        },
    ]);
    const one = runs("eks", "1.31", [
        { name: "web", version: "1.31" },
        { name: "web", version: "1.30", retained: true },
        { name: "api", version: "1.31" },
    ]);
    assert.deepEqual(checkPoolsCurrentForControlPlane(clusterInput(c, one), "minor"), [
        {
            field: "kubernetesVersion",
            given: "1.32",
            allowed: "1.31 until the retained blue node group is removed",
            hint: 'Amazon EKS refuses a control plane upgrade while any node group lags it, and "web" (apps-web-1-30, at 1.30) is kept from the last blue-green move (retainPreviousPool); it would only be removed after the control plane step. Deploy once with kubernetesVersion 1.31 (that deployment drains and removes it), then bump the cluster.',
        },
    ]);
    const two = runs("eks", "1.31", [
        { name: "web", version: "1.31" },
        { name: "web", version: "1.30", retained: true },
        { name: "api", version: "1.31" },
        { name: "api", version: "1.30", retained: true },
    ]);
    assert.deepEqual(checkPoolsCurrentForControlPlane(clusterInput(c, two), "minor"), [
        {
            field: "kubernetesVersion",
            given: "1.32",
            allowed: "1.31 until the retained blue node groups are removed",
            hint: 'Amazon EKS refuses a control plane upgrade while any node group lags it, and "web" (apps-web-1-30, at 1.30), "api" (apps-api-1-30, at 1.30) are kept from the last blue-green move (retainPreviousPool); it would only be removed after the control plane step. Deploy once with kubernetesVersion 1.31 (that deployment drains and removes it), then bump the cluster.',
        },
    ]);
});

// EKS: the control plane at 1.31; "web" moved blue-green 1.30 → 1.31 and kept its blue group.
const retainedAt = (cp: string, retained: Partial<RunningSpec> = {}) =>
    runs("eks", cp, [
        { name: "web", version: "1.31" },
        { name: "web", version: "1.30", retained: true, ...retained },
    ]);
const eksCluster = (version: string) => cluster("eks", version, "blue-green", [{ name: "web" }]);

test("rollback: the retained group comes back, the group that replaced it leaves, the control plane stays", () => {
    const at = retainedAt("1.31");
    const input = clusterInput(eksCluster("1.31"), at);
    const back = pool("eks", { name: "web", kubernetesVersion: "1.30" });
    assert.deepEqual(decidePool(input, back), {
        pool: {
            name: "web",
            config: back,
            action: "rollback",
            resourceName: "apps-web-1-30",
            version: "1.30",
            running: at.pools[1],
            blue: at.pools[0],
            retainBlue: false,
            note: "rollback 1.31 → 1.30: the retained pool apps-web-1-30 uncordoned and waited Ready, then apps-web-1-31 cordoned, drained and removed; no new pool, no node downgraded",
        },
        hold: 'pool "web" rolled back to 1.30 (apps-web-1-30); the control plane stays at 1.31',
    });
    // A retained group of unknown type ("") is judged by its count alone.
    const untyped = clusterInput(eksCluster("1.31"), retainedAt("1.31", { type: "" }));
    const other = pool("eks", { name: "web", kubernetesVersion: "1.30", type: "m6i.xlarge" });
    assert.equal(decided(decidePool(untyped, other)).pool.action, "rollback");
    // Without the generation that runs, there is nothing to roll back from.
    assert.equal(decideRollback(input, back, undefined), undefined);
});

test("rollback refusals, word for word: provider, control plane moving, kubelet window, type and count", () => {
    const back = pool("eks", { name: "web", kubernetesVersion: "1.30" });
    const capi = withTraits(clusterInput(eksCluster("1.31"), retainedAt("1.31")), "capi-aws");
    assert.deepEqual(decidePool(capi, back), {
        refusal: {
            field: "kubernetesVersion",
            given: "1.30",
            allowed: "1.31 or newer",
            hint: "Cluster API on AWS scales a retired pool to zero, so apps-web-1-30 has no nodes to return to; move the pool forward instead.",
        },
    });
    const moving = clusterInput(eksCluster("1.32"), retainedAt("1.31"));
    assert.deepEqual(decidePool(moving, back), {
        refusal: {
            field: "kubernetesVersion",
            given: "1.30",
            allowed: "1.31 while the control plane moves to 1.32",
            hint: 'A worker rollback runs while the control plane stays: set the cluster\'s kubernetesVersion back to 1.31 (what runs) for rolling pool "web" back to apps-web-1-30 (1.30), and move the control plane in a deployment of its own.',
        },
    });
    const old = clusterInput(eksCluster("1.31"), retainedAt("1.31", { version: "1.27", id: "apps-web-1-27" }));
    assert.deepEqual(decidePool(old, pool("eks", { name: "web", kubernetesVersion: "1.27" })), {
        refusal: {
            field: "kubernetesVersion",
            given: "1.27",
            allowed: "1.31: 1.27 is outside the kubelet window of the control plane 1.31",
            hint: "kubelet 1.27 is 4 minors older than the apiserver 1.31; at most 3 are supported. apps-web-1-27 cannot serve under this control plane; keep apps-web-1-31.",
        },
    });
    const input = clusterInput(eksCluster("1.31"), retainedAt("1.31"));
    const what = 'type "m6i.large" and count 3, what apps-web-1-30 runs';
    const hint =
        'A rollback brings apps-web-1-30 back as it is: set the pool\'s type and count to what it runs for rolling pool "web" back to apps-web-1-30 (1.30); change them in a later deployment.';
    assert.deepEqual(decidePool(input, { ...back, count: 5 }), {
        refusal: { field: "count", given: 5, allowed: what, hint },
    });
    assert.deepEqual(decidePool(input, { ...back, type: "m6i.xlarge" }), {
        refusal: { field: "type", given: "m6i.xlarge", allowed: what, hint },
    });
    assert.deepEqual(decidePool(input, { ...back, type: "m6i.xlarge", count: 5 }), {
        refusal: { field: "count", given: 5, allowed: what, hint },
    });
});

test("no rollback applies: below the retained group, to another pool's retained group, or at the same minor", () => {
    const input = clusterInput(eksCluster("1.31"), retainedAt("1.31"));
    assert.deepEqual(decidePool(input, pool("eks", { name: "web", kubernetesVersion: "1.29" })), {
        refusal: {
            field: "kubernetesVersion",
            given: "1.29",
            allowed: "1.31 or newer",
            hint: 'Pool "web" runs 1.31; pools are never downgraded. Workers roll back only to the pool that the last blue-green move kept (workers.retainPreviousPool: true), during the deployment after it; the pool kept for "web" is apps-web-1-30, at 1.30, not 1.29.',
        },
    });
    const elsewhere = runs("eks", "1.31", [
        { name: "web", version: "1.31" },
        { name: "api", version: "1.31" },
        { name: "api", version: "1.30", retained: true },
    ]);
    const c2 = cluster("eks", "1.31", "blue-green", [{ name: "web" }, { name: "api" }]);
    assert.deepEqual(decidePool(clusterInput(c2, elsewhere), pool("eks", { name: "web", kubernetesVersion: "1.30" })), {
        refusal: {
            field: "kubernetesVersion",
            given: "1.30",
            allowed: "1.31 or newer",
            hint: 'Pool "web" runs 1.31; pools are never downgraded. Workers roll back only to the pool that the last blue-green move kept (workers.retainPreviousPool: true), during the deployment after it; none is recorded for "web".',
        },
    });
    // A type change kept the old group at the same minor: setting the type back is a new move, not a rollback.
    const sameMinor = runs("eks", "1.31", [
        { name: "web", version: "1.31", type: "m6i.xlarge", id: "apps-web-1-31-0a1b2c" },
        { name: "web", version: "1.31", retained: true },
    ]);
    const typeBack = decided(
        decidePool(
            clusterInput(eksCluster("1.31"), sameMinor),
            pool("eks", { name: "web", kubernetesVersion: "1.31" }),
        ),
    );
    assert.equal(typeBack.pool.action, "blue-green");
    assert.equal(typeBack.pool.blue?.resourceName, "apps-web-1-31-0a1b2c");
});

test("a green generation never takes the name of a recorded one: the retained group leaves under its own name", () => {
    // A type change kept the old group ("apps-web-1-31", drained and cordoned); the type goes back. The green group
    // is new, named by its type (sha256 "m6i.large" begins 311375), and the cordoned retained group is retired,
    // not reused as the green one.
    const sameMinor = runs("eks", "1.31", [
        { name: "web", version: "1.31", type: "m6i.xlarge", id: "apps-web-1-31-c5744a" },
        { name: "web", version: "1.31", retained: true },
    ]);
    const input = clusterInput(eksCluster("1.31"), sameMinor);
    const { pools, refusals } = decidePools(input);
    assert.deepEqual(refusals, []);
    assert.deepEqual(
        pools.map((p) => [p.action, p.resourceName, p.blue?.resourceName]),
        [["blue-green", "apps-web-1-31-311375", "apps-web-1-31-c5744a"]],
    );
    assert.deepEqual(
        retirePools(input, pools).map((r) => [r.pool.resourceName, r.reason]),
        [["apps-web-1-31", "blue pool retained by the previous deployment; removed now"]],
    );
    // Then a lower EKS count while both names are recorded: the name carries type and count
    // (sha256 "m6i.xlarge/2" begins d9d996).
    const c = cluster("eks", "1.31", "blue-green", [{ name: "web", type: "m6i.xlarge", count: 2 }]);
    const fewer = decidePools(clusterInput(c, sameMinor));
    assert.deepEqual(
        fewer.pools.map((p) => [p.action, p.resourceName, p.note]),
        [
            [
                "blue-green",
                "apps-web-1-31-d9d996",
                "count 3 → 2: new pool apps-web-1-31-d9d996, then apps-web-1-31-c5744a cordoned, drained and removed",
            ],
        ],
    );
});

test("a lower count where the provider's own scale-down drains is kept, with no planned shrink", () => {
    const at = runs("eks", "1.31", [{ name: "web", version: "1.31" }]);
    const capi = withTraits(clusterInput(eksCluster("1.31"), at), "capi-aws");
    const kept = decided(decidePool(capi, pool("eks", { name: "web", kubernetesVersion: "1.31", count: 2 }))).pool;
    assert.deepEqual([kept.action, kept.shrink, kept.note], ["keep", undefined, "count 3 → 2"]);
});

test("LKE pins, word for word: a pool differs from the cluster's version only to hold back what it runs", () => {
    const at = runs("lke", "1.31", [{ name: "web", version: "1.31" }]);
    const input = clusterInput(cluster("lke", "1.32", "blue-green", [{ name: "web" }]), at);
    assert.deepEqual(decidePool(input, pool("lke", { name: "web", kubernetesVersion: "1.30" })), {
        refusal: {
            field: "kubernetesVersion",
            given: "1.30",
            allowed: "1.32 (the cluster's) or 1.31 (what it runs, to hold it back)",
            hint: 'Linode Kubernetes Engine creates every pool at the cluster\'s version. Workers roll back only to the pool that the last blue-green move kept (workers.retainPreviousPool: true), during the deployment after it; none is recorded for "web".',
        },
    });
    // Ahead of what runs: no rollback to speak of.
    assert.deepEqual(decidePool(input, pool("lke", { name: "web", kubernetesVersion: "1.33" })), {
        refusal: {
            field: "kubernetesVersion",
            given: "1.33",
            allowed: "1.32 (the cluster's) or 1.31 (what it runs, to hold it back)",
            hint: "Linode Kubernetes Engine creates every pool at the cluster's version.",
        },
    });
    // A new pool has nothing to hold back.
    assert.deepEqual(decidePool(input, pool("lke", { name: "api", kubernetesVersion: "1.31" })), {
        refusal: {
            field: "kubernetesVersion",
            given: "1.31",
            allowed: "1.32 (the cluster's)",
            hint: "Linode Kubernetes Engine creates every pool at the cluster's version.",
        },
    });
    const recycle = clusterInput(cluster("lke", "1.32", "recycle", [{ name: "web" }]), at);
    assert.deepEqual(decidePool(recycle, pool("lke", { name: "web", kubernetesVersion: "1.31" })), {
        refusal: {
            field: "kubernetesVersion",
            given: "1.31",
            allowed: "the cluster's version 1.32 with strategy recycle",
            hint: "A version change on an Linode Kubernetes Engine cluster recycles every pool; hold a pool back only with blue-green or in-place.",
        },
    });
    // Held back at what it runs, under blue-green: kept, with the reason.
    const held = decided(decidePool(input, pool("lke", { name: "web", kubernetesVersion: "1.31" })));
    assert.equal(held.pool.action, "keep");
    assert.equal(held.hold, 'pool "web" held at 1.31 by its kubernetesVersion; the control plane goes to 1.32');
});

test("pool move refusals, word for word: a downgrade, a type change in place, two minors in place, a count drop", () => {
    const lke = runs("lke", "1.31", [{ name: "web", version: "1.31" }]);
    const inPlace = clusterInput(cluster("lke", "1.31", "in-place", [{ name: "web" }]), lke);
    assert.deepEqual(
        decidePool(inPlace, pool("lke", { name: "web", type: "g6-standard-8", kubernetesVersion: "1.31" })),
        {
            refusal: {
                field: "type",
                given: "g6-standard-8",
                allowed: '"g6-standard-4" with strategy in-place',
                hint: "Changing the machine type replaces the pool; use strategy blue-green so the old pool is drained before it goes.",
            },
        },
    );
    const eks = runs("eks", "1.32", [{ name: "web", version: "1.30" }]);
    const eksInPlace = clusterInput(cluster("eks", "1.32", "in-place", [{ name: "web" }]), eks);
    const two = pool("eks", { name: "web", kubernetesVersion: "1.32" });
    assert.deepEqual(decidePool(eksInPlace, two), {
        refusal: {
            field: "kubernetesVersion",
            given: "1.32",
            allowed: "at most 1.31",
            hint: "An in-place kubelet upgrade moves one minor at a time: 1.31 → 1.32.",
        },
    });
    // Blue-green brings up a new group at the target: two minors at once are fine, and so is a lower count.
    const eksBlueGreen = clusterInput(cluster("eks", "1.32", "blue-green", [{ name: "web" }]), eks);
    const green = decided(decidePool(eksBlueGreen, two)).pool;
    assert.deepEqual(
        [green.action, green.resourceName, green.blue?.resourceName],
        ["blue-green", "apps-web-1-32", "apps-web-1-30"],
    );
    const fewer = decided(decidePool(eksBlueGreen, { ...two, count: 2 })).pool;
    assert.deepEqual([fewer.action, fewer.resourceName], ["blue-green", "apps-web-1-32"]);
    const eks31 = runs("eks", "1.32", [{ name: "web", version: "1.31" }]);
    const drop = clusterInput(cluster("eks", "1.32", "in-place", [{ name: "web" }]), eks31);
    assert.deepEqual(decidePool(drop, { ...two, count: 2 }), {
        refusal: {
            field: "count",
            given: 2,
            allowed: "3 while the pool moves in-place to 1.32",
            hint: "Amazon EKS would pick the instances to remove itself; lower the count in a deployment of its own, which moves the pool to a new node group of 2 and drains the old one.",
        },
    });
});

test("what moves a pool: a newer minor always, a newer patch only where the provider does not patch itself", () => {
    // kubeadm upgrades its own patches: 1.31.2 → 1.31.5 moves the kubelets; the same or an older patch does not.
    const kubeadmAt = runs("eks", "1.31.5", [{ name: "web", version: "1.31.2" }]);
    const kubeadm = withTraits(
        clusterInput(cluster("eks", "1.31.5", "in-place", [{ name: "web" }]), kubeadmAt),
        "kubeadm",
    );
    const patch = decided(decidePool(kubeadm, pool("eks", { name: "web", kubernetesVersion: "1.31.5" }))).pool;
    assert.deepEqual(
        [patch.action, patch.version, patch.note],
        [
            "in-place",
            "1.31.5",
            "1.31.2 → 1.31.5 in place: each node drained, its packages upgraded, kubelet restarted, uncordoned",
        ],
    );
    for (const v of ["1.31.2", "1.31.1"]) {
        const kept = decided(decidePool(kubeadm, pool("eks", { name: "web", kubernetesVersion: v }))).pool;
        assert.deepEqual([kept.action, kept.version], ["keep", "1.31.2"], `at ${v}`);
    }
    // LKE applies patches itself: a patch in config moves nothing.
    const lkeAt = runs("lke", "1.31.2", [{ name: "web", version: "1.31.2" }]);
    const lke = clusterInput(cluster("lke", "1.31.5", "blue-green", [{ name: "web" }]), lkeAt);
    const lkeKept = decided(decidePool(lke, pool("lke", { name: "web", kubernetesVersion: "1.31.5" })));
    assert.deepEqual([lkeKept.pool.action, lkeKept.pool.version, lkeKept.pool.note], ["keep", "1.31.2", "unchanged"]);
    assert.equal(lkeKept.pool.shrink, undefined, "the same count needs no drain");
    assert.equal(lkeKept.pool.retainBlue, false);
    assert.equal(lkeKept.hold, undefined, "a pool at the cluster's minor is not held back");
    // A running pool of unrecorded type ("") is not a type change.
    const untyped = runs("lke", "1.31", [{ name: "web", version: "1.31", type: "" }]);
    const input = clusterInput(cluster("lke", "1.31", "blue-green", [{ name: "web", type: "g6-standard-8" }]), untyped);
    const same = decided(
        decidePool(input, pool("lke", { name: "web", type: "g6-standard-8", kubernetesVersion: "1.31" })),
    );
    assert.deepEqual(
        [same.pool.action, same.pool.resourceName, same.pool.note],
        ["keep", "apps-web-1-31", "unchanged"],
    );
});

test("how a pool moves: EKS recycle is its managed rolling update in place; a pool new to a running cluster", () => {
    const at = runs("eks", "1.31", [{ name: "web", version: "1.31" }]);
    const recycle = decided(
        decidePool(
            clusterInput(cluster("eks", "1.32", "recycle", [{ name: "web" }]), at),
            pool("eks", { name: "web", kubernetesVersion: "1.32" }),
        ),
    );
    assert.deepEqual(recycle.pool, {
        name: "web",
        config: pool("eks", { name: "web", kubernetesVersion: "1.32" }),
        action: "in-place",
        resourceName: "apps-web-1-31",
        version: "1.32",
        running: at.pools[0],
        retainBlue: false,
        shrink: undefined,
        note: "1.31 → 1.32 in place: the managed rolling update (new instances before old ones are drained and terminated)",
    });
    const bg = decided(
        decidePool(
            clusterInput(cluster("eks", "1.32", "blue-green", [{ name: "web" }]), at),
            pool("eks", { name: "web", kubernetesVersion: "1.32" }),
        ),
    );
    assert.deepEqual([bg.pool.action, bg.pool.resourceName], ["blue-green", "apps-web-1-32"]);
    const added = decided(
        decidePool(
            clusterInput(cluster("eks", "1.31", "blue-green", [{ name: "web" }, { name: "api" }]), at),
            pool("eks", { name: "api", kubernetesVersion: "1.31" }),
        ),
    );
    assert.deepEqual(added.pool, {
        name: "api",
        config: pool("eks", { name: "api", kubernetesVersion: "1.31" }),
        action: "create",
        resourceName: "apps-api-1-31",
        version: "1.31",
        retainBlue: false,
        note: "new pool",
    });
});

test("kubelet window: the refusal names the pool's own index and the window, word for word", () => {
    const c = cluster("eks", "1.32", "in-place", [{ name: "web" }, { name: "api" }]);
    const input = clusterInput(c);
    const at = (name: string, version: string) =>
        ({ name, version, action: "keep", resourceName: `apps-${name}`, retainBlue: false, note: "" }) as PoolPlan;
    assert.deepEqual(checkKubeletWindow(input, [at("web", "1.32"), at("api", "1.28")]), [
        {
            field: "nodePools[1].kubernetesVersion",
            given: "1.28",
            allowed: "a version inside the control plane's kubelet window",
            hint: 'kubelet 1.28 is 4 minors older than the apiserver 1.32; at most 3 are supported. Upgrade pool "api" first.',
        },
    ]);
});

test("retirements: a retained group that a rollback brings back stays; nothing runs, nothing retires", () => {
    const at = retainedAt("1.31");
    const input = clusterInput(cluster("eks", "1.31", "blue-green", [{ name: "web", kubernetesVersion: "1.30" }]), at);
    const { pools, refusals } = decidePools(input);
    assert.deepEqual(refusals, []);
    assert.deepEqual(
        pools.map((p) => p.action),
        ["rollback"],
    );
    assert.deepEqual(retirePools(input, pools), []);
    // Without the rollback the retained group leaves.
    assert.deepEqual(
        retirePools(input, []).map((r) => r.pool.resourceName),
        ["apps-web-1-30"],
    );
    assert.deepEqual(retirePools(clusterInput(eksCluster("1.31"))), []);
});

test("a refused cluster yields issues and no plan; the clusters beside it are still planned", () => {
    const config = parseStackConfig("dev", {
        clusters: [
            clusterSpec("lke", "1.33", "blue-green", [{ name: "web" }]),
            clusterSpec("lke", "1.31", "blue-green", [{ name: "web" }], { name: "db" }),
        ],
    });
    const { plans, issues } = planStack(config, {
        schemaVersion: 1,
        stack: "dev",
        clusters: { apps: runs("lke", "1.31", [{ name: "web", version: "1.31" }]) },
    });
    assert.deepEqual(
        plans.map((p) => p.cluster.name),
        ["db"],
    );
    assert.deepEqual(
        issues.map((i) => [i.cluster, i.field, i.given]),
        [["apps", "clusters[0].kubernetesVersion", "1.33"]],
    );
});

const planned = (action: PoolAction, extra: Partial<PoolPlan> = {}): PoolPlan => ({
    name: action,
    config: pool("lke", { name: action }),
    action,
    resourceName: `apps-${action}-1-31`,
    version: "1.31",
    retainBlue: false,
    note: "",
    ...extra,
});

test("checks: the pre-flight runs before anything that drains, the validation after anything that changes", () => {
    const at = runs("lke", "1.31", [{ name: "web", version: "1.31" }]);
    const input = clusterInput(cluster("lke", "1.31", "blue-green", [{ name: "web" }]), at);
    const kubeadm = withTraits(input, "kubeadm");
    const checks = (
        change: Parameters<typeof decideChecks>[1],
        pools: PoolPlan[],
        retired: RetiredPool[] = [],
        i = input,
    ) => {
        const c = decideChecks(i, change, pools, retired);
        return { preflight: c.preflight, validation: c.validation };
    };
    const none = { preflight: false, validation: false };
    const both = { preflight: true, validation: true };
    assert.deepEqual(checks("none", []), none);
    assert.deepEqual(checks("minor", []), both, "the control plane alone moves");
    assert.deepEqual(checks("patch", []), none, "LKE applies patches itself");
    assert.deepEqual(checks("patch", [], [], kubeadm), both, "kubeadm upgrades its own patches");
    assert.deepEqual(checks("none", [], [], kubeadm), none);
    assert.deepEqual(checks("none", [planned("keep")]), none);
    for (const action of ["blue-green", "in-place", "recycle"] as const)
        assert.deepEqual(checks("none", [planned("keep"), planned(action)]), both, action);
    assert.deepEqual(checks("none", [planned("rollback"), planned("keep")]), { preflight: true, validation: false });
    assert.deepEqual(checks("none", [planned("create"), planned("keep")]), { preflight: false, validation: true });
    const shrink = planned("keep", { shrink: { from: 3, to: 2 } });
    assert.deepEqual(checks("none", [shrink, planned("keep")]), both);
    // A retained blue pool leaving was drained by the deployment before: nothing to check, nothing to warn of.
    const retained = { pool: at.pools[0], reason: "blue pool retained by the previous deployment; removed now" };
    assert.deepEqual(decideChecks(input, "none", [], [retained]), { ...none, holds: [], warnings: [] });
    // A new cluster has nothing to check before: the pre-flight needs a cluster that runs.
    const created = clusterInput(cluster("lke", "1.31", "blue-green", [{ name: "web" }]));
    assert.deepEqual(checks("create", [planned("blue-green")], [], created), { preflight: false, validation: true });
});

test("checks: the warnings a reviewer reads, word for word", () => {
    const at = runs("eks", "1.31", [{ name: "web", version: "1.31" }]);
    const warnings = (
        strategy: string,
        pools: PoolPlan[],
        extra: Extra = {},
        provider: Provider = "eks",
        retired: RetiredPool[] = [],
    ) =>
        decideChecks(
            clusterInput(cluster(provider, "1.32", strategy, [{ name: "web" }], extra), at),
            "minor",
            pools,
            retired,
        ).warnings;
    const eksInPlace =
        "in-place on Amazon EKS forces nothing: when PodDisruptionBudgets keep pods on a node for 15 minutes, the node group update fails with PodEvictionFailure and stops part-way (no rollback). Fix the budget and deploy again, or set eks.forceUpdateVersion to evict regardless";
    assert.deepEqual(warnings("recycle", [planned("in-place")]), [
        "strategy recycle: Amazon EKS has no cluster-wide recycle, so it is the managed rolling update with maxUnavailable 1: one node down at a time",
        eksInPlace,
    ]);
    assert.deepEqual(warnings("recycle", [planned("keep")]), [], "nothing is recycled");
    assert.deepEqual(warnings("in-place", [planned("keep"), planned("in-place")]), [eksInPlace]);
    assert.deepEqual(warnings("in-place", [planned("in-place")], { eks: { forceUpdateVersion: true } }), []);
    assert.deepEqual(warnings("blue-green", [planned("blue-green")]), []);
    assert.deepEqual(warnings("recycle", [planned("recycle")], {}, "lke"), [
        "strategy recycle: every node is recycled one at a time, so capacity drops by one node during the upgrade. Use blue-green or in-place where that hurts.",
    ]);
    // GKE's clusters carry no eks block: its in-place warning stands on its own.
    const gke = withTraits(clusterInput(cluster("lke", "1.32", "in-place", [{ name: "web" }]), at), "gke");
    assert.deepEqual(decideChecks(gke, "minor", [planned("in-place")], []).warnings, [
        "in-place on GKE is GKE's own node upgrade: it respects PodDisruptionBudgets for at most one hour per node, then evicts regardless. Use strategy blue-green for drains that never force",
    ]);
    const gone = (name: string) => ({
        pool: { ...at.pools[0], name, resourceName: `apps-${name}-1-31` },
        reason: "no longer in config",
    });
    assert.deepEqual(warnings("blue-green", [], {}, "eks", [gone("api"), gone("batch")]), [
        "pools removed from config are drained, then deleted: apps-api-1-31, apps-batch-1-31",
    ]);
});

test("promotion gate: a source that recorded nothing refuses every change that moves a version, word for word", () => {
    const input = clusterInput(cluster("lke", "1.32", "blue-green", [{ name: "web" }]));
    const promotion = { stack: "staging", recorded: false, sourceVersion: null };
    const refusal = {
        field: "kubernetesVersion",
        given: "1.32",
        allowed: 'a version the promotesFrom stack "staging" already runs',
        hint: 'Stack "staging" has recorded no running clusters (never deployed, or its outputs cannot be read). Deploy it first, then promote.',
    };
    for (const change of ["create", "minor", "patch"] as const)
        assert.deepEqual(
            gatePromotion(input, change, "prod", { stack: "staging" }),
            {
                refusals: [refusal],
                warnings: [],
                promotion,
            },
            change,
        );
    assert.deepEqual(gatePromotion(input, "none", "prod", { stack: "staging" }), {
        refusals: [],
        warnings: [],
        promotion,
    });
    const state: RunningState = {
        schemaVersion: 1,
        stack: "staging",
        clusters: { apps: runs("lke", "1.32", [{ name: "web", version: "1.32" }]) },
    };
    assert.deepEqual(gatePromotion(input, "minor", "prod", { stack: "staging", state }), {
        refusals: [],
        warnings: [],
        promotion: { stack: "staging", recorded: true, sourceVersion: "1.32" },
    });
});

test("after the deployment: a retained blue pool keeps the upgrade in progress, even beside a pool that stays", () => {
    const running: RunningState = {
        schemaVersion: 1,
        stack: "dev",
        clusters: {
            apps: runs("lke", "1.31", [
                { name: "web", version: "1.31" },
                { name: "api", version: "1.31" },
            ]),
        },
    };
    const after = (workers: Record<string, unknown>) => {
        const spec = clusterSpec(
            "lke",
            "1.31",
            "blue-green",
            [{ name: "web", type: "g6-standard-8" }, { name: "api" }],
            {
                workers,
            },
        );
        const { plans, issues } = planStack(parseStackConfig("dev", { clusters: [spec] }), running);
        assert.deepEqual(issues, []);
        assert.deepEqual(
            plans[0].pools.map((p) => [p.name, p.action, p.retainBlue]),
            [
                ["web", "blue-green", workers.retainPreviousPool === true],
                ["api", "keep", false],
            ],
        );
        return plans[0].upgradeInProgressAfter;
    };
    assert.equal(after({ retainPreviousPool: true }), true);
    assert.equal(after({}), false);
});

test("phases: add-ons follow the control plane where the provider does not manage them", () => {
    const running: RunningState = {
        schemaVersion: 1,
        stack: "dev",
        clusters: { apps: runs("lke", "1.31", [{ name: "web", version: "1.31" }]) },
    };
    const spec = clusterSpec("lke", "1.32", "blue-green", [{ name: "web" }]);
    const plan = planStack(parseStackConfig("dev", { clusters: [spec] }), running).plans[0];
    const addons = (p: typeof plan) => describePhases(p).find((ph) => ph.id === "addons")?.steps;
    assert.deepEqual(addons(plan), ["managed by Linode Kubernetes Engine with the control plane"]);
    assert.deepEqual(addons({ ...plan, traits: PROVIDER_TRAITS.kubeadm }), ["upgraded after the control plane"]);
});

test("phases: the workers phase lists new, moving and shrinking pools, and a drain step only where nodes drain", () => {
    const lkeRuns = (pools: RunningSpec[], cp = "1.31"): RunningState => ({
        schemaVersion: 1,
        stack: "dev",
        clusters: { apps: runs("lke", cp, pools) },
    });
    const phases = (spec: ReturnType<typeof clusterSpec>, running: RunningState) => {
        const { plans, issues } = planStack(parseStackConfig("dev", { clusters: [spec] }), running);
        assert.deepEqual(issues, []);
        return plans[0].phases;
    };
    const workers = (p: ReturnType<typeof phases>) => p.find((ph) => ph.id === "workers")?.steps;
    // In place: the moving pool (once, with its lower count) and the new one; the pool held back is not listed, and
    // nothing drains blue.
    const inPlace = phases(
        clusterSpec("lke", "1.32", "in-place", [
            { name: "web", count: 2 },
            { name: "api", kubernetesVersion: "1.31" },
            { name: "batch" },
        ]),
        lkeRuns([
            { name: "web", version: "1.31" },
            { name: "api", version: "1.31" },
        ]),
    );
    assert.deepEqual(workers(inPlace), [
        "apps-batch-1-32: new pool at 1.32",
        "apps-web-1-31: 1.31 → 1.32 in place: one surge node, then each old node cordoned, drained and recycled; count 3 → 2: the 1 node(s) to go cordoned, drained and deleted through the node API before the count is set",
    ]);
    // A new pool beside a shrinking one: both listed, no drain step for blue nodes.
    const shrink = phases(
        clusterSpec("lke", "1.31", "blue-green", [{ name: "web", count: 2 }, { name: "batch" }]),
        lkeRuns([{ name: "web", version: "1.31" }]),
    );
    assert.deepEqual(workers(shrink), [
        "apps-batch-1-31: new pool at 1.31",
        "apps-web-1-31: count 3 → 2: the 1 node(s) to go cordoned, drained and deleted through the node API before the count is set",
    ]);
    // Only a retained blue pool leaves: it was drained by the deployment before, so there is no workers phase.
    const retiredOnly = phases(
        clusterSpec("lke", "1.31", "blue-green", [{ name: "web" }]),
        lkeRuns([
            { name: "web", version: "1.31" },
            { name: "web", version: "1.30", retained: true },
        ]),
    );
    assert.deepEqual(
        retiredOnly.map((ph) => ph.id),
        ["retire"],
    );
});

test("phases: one blue pool among moving pools brings the drain step, with the configured grace period", () => {
    const spec = clusterSpec(
        "eks",
        "1.32",
        "in-place",
        [{ name: "web" }, { name: "api", kubernetesVersion: "1.31", count: 2 }],
        {
            drain: { batchSize: 2, soakSeconds: 5, timeoutSeconds: 600, gracePeriodSeconds: 30 },
        },
    );
    const running: RunningState = {
        schemaVersion: 1,
        stack: "dev",
        clusters: {
            apps: runs("eks", "1.31", [
                { name: "web", version: "1.31" },
                { name: "api", version: "1.31" },
            ]),
        },
    };
    const { plans, issues } = planStack(parseStackConfig("dev", { clusters: [spec] }), running);
    assert.deepEqual(issues, []);
    assert.deepEqual(
        plans[0].pools.map((p) => [p.name, p.action, p.blue?.resourceName]),
        [
            ["web", "in-place", undefined],
            ["api", "blue-green", "apps-api-1-31"],
        ],
    );
    const steps = plans[0].phases.find((ph) => ph.id === "workers")?.steps ?? [];
    assert.equal(steps.length, 3);
    assert.equal(
        steps[2],
        "drain: all blue nodes cordoned first, then one pool after another, 2 node(s) at a time in this cluster, 5s soak between batches, grace 30s, timeout 600s, PodDisruptionBudgets respected; the running record moves only after every drain and the validation after it",
    );
});
