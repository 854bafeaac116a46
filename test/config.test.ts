// Every refusal goes through the real program (under mocks) and must name stack, cluster, field,
// what was given and what is allowed, before any cloud resource is registered.

import * as assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import type { Capture } from "../tools/capture-types";
import { lkeCluster, runProgram, stackConfig } from "./helpers";

interface Case {
    title: string;
    clusters: Record<string, unknown>[];
    extra?: Record<string, unknown>;
    previousAt?: string;
    sources?: Record<string, Record<string, unknown>>;
    expect: RegExp[];
}

const pool = { name: "web", count: 3, type: "g6-standard-4" };
const cases: Case[] = [
    {
        title: "unknown provider, with a suggestion",
        clusters: [lkeCluster({ provider: "lkee" })],
        expect: [
            /cluster "apps", field clusters\[0\]\.provider: given "lkee"; allowed: one of lke, eks, kubeadm, capi-aws\. Did you mean "lke"\?/,
        ],
    },
    {
        title: "unknown strategy, with a suggestion",
        clusters: [lkeCluster({ workers: { strategy: "blue-gren" } })],
        expect: [
            /field clusters\[0\]\.workers\.strategy: given "blue-gren"; allowed: one of blue-green, in-place, recycle\. Did you mean "blue-green"\?/,
        ],
    },
    {
        title: "malformed version",
        clusters: [lkeCluster({ kubernetesVersion: "1.31-rc.1" })],
        expect: [
            /field clusters\[0\]\.kubernetesVersion: given "1\.31-rc\.1"; allowed: a Kubernetes version such as "1\.31" or "1\.31\.4"/,
        ],
    },
    {
        title: "a version YAML read as a number",
        clusters: [lkeCluster({ kubernetesVersion: 1.3 })],
        expect: [/given 1\.3; allowed: a Kubernetes version.*quote it: "1\.3"/],
    },
    {
        title: "duplicate cluster names",
        clusters: [lkeCluster(), lkeCluster()],
        expect: [/field clusters\[1\]\.name: given "apps"; allowed: a name no other cluster in this stack has/],
    },
    {
        title: "duplicate pool names",
        clusters: [lkeCluster({ nodePools: [pool, pool] })],
        expect: [
            /field clusters\[0\]\.nodePools\[1\]\.name: given "web"; allowed: a name no other pool of this cluster has/,
        ],
    },
    {
        title: "count below 1",
        clusters: [lkeCluster({ nodePools: [{ ...pool, count: 0 }] })],
        expect: [/field clusters\[0\]\.nodePools\[0\]\.count: given 0; allowed: a whole number of at least 1/],
    },
    {
        title: "autoscaler min above max",
        clusters: [lkeCluster({ nodePools: [{ ...pool, autoscaler: { min: 5, max: 2 } }] })],
        expect: [
            /field clusters\[0\]\.nodePools\[0\]\.autoscaler: given \{"min":5,"max":2\}; allowed: min at most max/,
        ],
    },
    {
        title: "count outside the autoscaler",
        clusters: [lkeCluster({ nodePools: [{ ...pool, count: 9, autoscaler: { min: 2, max: 4 } }] })],
        expect: [
            /field clusters\[0\]\.nodePools\[0\]\.count: given 9; allowed: a count between autoscaler\.min 2 and autoscaler\.max 4/,
        ],
    },
    {
        title: "pool newer than its control plane",
        clusters: [lkeCluster({ nodePools: [{ ...pool, kubernetesVersion: "1.31" }] })],
        expect: [
            /nodePools\[0\]\.kubernetesVersion: given "1\.31"; allowed: a version from the kubelet window of the control plane 1\.30.*Raise the cluster's kubernetesVersion first/,
        ],
    },
    {
        title: "pool outside the kubelet window",
        clusters: [lkeCluster({ kubernetesVersion: "1.31", nodePools: [{ ...pool, kubernetesVersion: "1.27" }] })],
        expect: [
            /nodePools\[0\]\.kubernetesVersion: given "1\.27".*kubelet 1\.27 is 4 minors older than the apiserver 1\.31; at most 3 are supported/,
        ],
    },
    {
        title: "an upgrade that skips a minor",
        clusters: [lkeCluster({ kubernetesVersion: "1.32" })],
        previousAt: "1.30",
        expect: [
            /field clusters\[0\]\.kubernetesVersion: given "1\.32"; allowed: 1\.30 \(no change\) or the next minor 1\.31\. The control plane runs 1\.30 and must not skip minors: upgrade through 1\.31 → 1\.32/,
        ],
    },
    {
        title: "an upgrade that goes down",
        clusters: [lkeCluster({ kubernetesVersion: "1.29" })],
        previousAt: "1.30",
        expect: [/given "1\.29"; allowed: 1\.30 or newer.*downgrades are not supported/],
    },
    {
        title: "a target above what the promotesFrom stack runs",
        clusters: [lkeCluster({ kubernetesVersion: "1.31" })],
        extra: { "k8s-upgrades:promotesFrom": "staging" },
        previousAt: "1.30",
        sources: { staging: runningAt("1.30") },
        expect: [
            /stack "dev", cluster "apps", field clusters\[0\]\.kubernetesVersion: given "1\.31"; allowed: at most 1\.30, what stack "staging" runs for cluster "apps"\. Upgrade "staging" first/,
        ],
    },
    {
        title: "a promotion from a stack that recorded nothing",
        clusters: [lkeCluster({ kubernetesVersion: "1.31" })],
        extra: { "k8s-upgrades:promotesFrom": "staging" },
        previousAt: "1.30",
        expect: [/Stack "staging" has recorded no running clusters.*Deploy it first/],
    },
    {
        title: "a misspelt key, with a suggestion",
        clusters: [lkeCluster({ nodePools: [{ ...pool, autoscaller: { min: 1, max: 2 } }] })],
        expect: [
            /field clusters\[0\]\.nodePools\[0\]\.autoscaller: given \{"min":1,"max":2\}; allowed: one of the keys .*Did you mean "autoscaler"\?/,
        ],
    },
    {
        title: "a misspelt stack key",
        clusters: [lkeCluster()],
        extra: { "k8s-upgrades:promoteFrom": "staging" },
        expect: [/field k8s-upgrades:promoteFrom: given "staging".*Did you mean "promotesFrom"\?/],
    },
    {
        title: "an EKS cluster without enough subnets, with two update paces, and a malformed role",
        clusters: [
            lkeCluster({
                provider: "eks",
                lke: undefined,
                eks: {
                    subnetIds: ["subnet-a"],
                    maxUnavailable: 1,
                    maxUnavailablePercentage: 20,
                    nodeRoleArn: "eks-nodes",
                },
            }),
        ],
        expect: [
            /field clusters\[0\]\.eks\.subnetIds: given \["subnet-a"\]; allowed: a list of at least 2 non-empty strings/,
            /eks\.maxUnavailablePercentage: given 20; allowed: maxUnavailable or maxUnavailablePercentage, not both/,
            /eks\.nodeRoleArn: given "eks-nodes"; allowed: an IAM role ARN/,
        ],
    },
];

function runningAt(version: string): Record<string, unknown> {
    return {
        k8sUpgrades: {
            schemaVersion: 1,
            stack: "x",
            clusters: {
                apps: {
                    name: "apps",
                    provider: "lke",
                    controlPlaneVersion: version,
                    clusterId: "111",
                    strategy: "blue-green",
                    upgradeInProgress: false,
                    pools: [
                        {
                            name: "web",
                            resourceName: `apps-web-${version.replace(".", "-")}`,
                            version,
                            type: "g6-standard-4",
                            count: 3,
                            poolId: "222",
                        },
                    ],
                },
            },
        },
    };
}

describe("config refusals through the real program", () => {
    const results = new Map<string, Capture>();
    before(async () => {
        // The runs are independent processes: start them together.
        await Promise.all(
            cases.map(async (c) => {
                results.set(
                    c.title,
                    await runProgram({
                        stack: "dev",
                        config: stackConfig(c.clusters, c.extra),
                        previous: c.previousAt ? runningAt(c.previousAt) : undefined,
                        sources: c.sources,
                    }),
                );
            }),
        );
    });
    for (const c of cases) {
        test(`refuses ${c.title}`, () => {
            const capture = results.get(c.title)!;
            assert.ok(
                capture.error,
                `expected a refusal, got resources: ${capture.resources.map((r) => r.name).join(", ")}`,
            );
            assert.match(capture.error, /nothing was changed/);
            for (const re of c.expect) assert.match(capture.error, re);
            const cloud = capture.resources.filter(
                (r) => r.type.startsWith("linode:") || r.type.startsWith("command:"),
            );
            assert.deepEqual(
                cloud.map((r) => r.name),
                [],
                "no resource may be registered before the config is accepted",
            );
        });
    }

    test("reports every problem at once", async () => {
        const capture = await runProgram({
            stack: "prod",
            config: stackConfig([
                lkeCluster({ provider: "lkee" }),
                lkeCluster({ name: "edge", nodePools: [{ ...pool, count: 0 }], workers: { strategy: "sideways" } }),
            ]),
        });
        assert.match(capture.error ?? "", /3 problems/);
        assert.match(capture.error ?? "", /stack "prod", cluster "apps", field clusters\[0\]\.provider/);
        assert.match(capture.error ?? "", /stack "prod", cluster "edge", field clusters\[1\]\.nodePools\[0\]\.count/);
        assert.match(capture.error ?? "", /stack "prod", cluster "edge", field clusters\[1\]\.workers\.strategy/);
    });

    test("accepts a valid config with a leading v and fills the defaults", async () => {
        const capture = await runProgram({
            stack: "dev",
            config: stackConfig([lkeCluster({ kubernetesVersion: "v1.30.4" })]),
        });
        assert.equal(capture.error, undefined);
        const component = capture.resources.find((r) => r.type === "k8s-upgrades:lke:Cluster")!;
        const cluster = component.inputs.cluster as {
            kubernetesVersion: string;
            workers: { drain: Record<string, unknown> };
        };
        assert.equal(cluster.kubernetesVersion, "1.30.4");
        assert.deepEqual(cluster.workers.drain, {
            timeoutSeconds: 900,
            batchSize: 2,
            soakSeconds: 5,
            deleteEmptyDirData: false,
            deleteEmptyDirDataExplicit: true,
        });
    });
});
