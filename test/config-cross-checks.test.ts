// The rules across the fields of one cluster (provider blocks, pools, drains, adoption, kubeadm, Cluster API, EKS,
// AKS and GKE), read in-process: each refusal with its exact message, and the values just inside each boundary
// accepted. The limits are the ones the config reference (docs/config.md) and the providers document.
import * as assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type ClusterConfig, parseStackConfig } from "../components/config";
import { stackRefusal } from "./config-calls";
import { capi, eks, kubeadm, lke } from "./fixtures/bad-configs";

const F = 'Pulumi.dev.yaml: stack "dev"';

/** The lines of the refusal of a stack with these clusters. */
const refusal = (...clusters: Record<string, unknown>[]): string[] => stackRefusal({ clusters });

/** The one cluster of an accepted stack. */
function accepted(cluster: Record<string, unknown>): ClusterConfig {
    const parsed = parseStackConfig("dev", { clusters: [structuredClone(cluster)] });
    assert.equal(parsed.clusters.length, 1);
    return parsed.clusters[0];
}

function aks(over: Record<string, unknown> = {}, cluster: Record<string, unknown> = {}): Record<string, unknown> {
    return {
        name: "data",
        provider: "aks",
        kubernetesVersion: "1.33",
        aks: { location: "westeurope", resourceGroupName: "rg-data", ...over },
        nodePools: [{ name: "general", type: "Standard_D4s_v5", count: 3 }],
        workers: { strategy: "blue-green" },
        ...cluster,
    };
}

function gke(over: Record<string, unknown> = {}, cluster: Record<string, unknown> = {}): Record<string, unknown> {
    return {
        name: "shop",
        provider: "gke",
        kubernetesVersion: "1.33",
        gke: {
            location: "europe-west4",
            nodeLocations: ["europe-west4-a", "europe-west4-b", "europe-west4-c"],
            ...over,
        },
        nodePools: [{ name: "web", type: "e2-standard-4", count: 6 }],
        workers: { strategy: "in-place" },
        ...cluster,
    };
}

function blueGreen(settings: Record<string, unknown>): Record<string, unknown> {
    return gke({ upgradeSettings: { strategy: "BLUE_GREEN", ...settings } });
}

const APPS = `${F}, cluster "apps", field clusters[0]`;
const DATA = `${F}, cluster "data", field clusters[0]`;
const METAL = `${F}, cluster "metal", field clusters[0]`;
const FLEET = `${F}, cluster "fleet", field clusters[0]`;
const SHOP = `${F}, cluster "shop", field clusters[0]`;

describe("the resolved cluster", () => {
    test("a pool without its own version runs the cluster's, and one with a version keeps it", () => {
        const c = accepted(
            lke({
                kubernetesVersion: "1.36",
                nodePools: [
                    { name: "web", count: 3, type: "g6-standard-4" },
                    { name: "batch", count: 1, type: "g6-standard-2", kubernetesVersion: "1.35" },
                ],
            }),
        );
        assert.deepEqual(
            c.nodePools.map((p) => [p.name, p.kubernetesVersion]),
            [
                ["web", "1.36"],
                ["batch", "1.35"],
            ],
        );
        assert.equal(c.name, "apps");
        assert.equal(c.provider, "lke");
        assert.equal(c.kubernetesVersion, "1.36");
        assert.equal(c.lke?.region, "us-ord");
        assert.equal(c.capiAws, undefined);
        assert.equal(c.import, undefined);
        assert.equal("import" in c, false);
    });

    test("drain.deleteEmptyDirData defaults to false and remembers whether the user set it", () => {
        const unset = accepted(lke()).workers.drain;
        assert.equal(unset.deleteEmptyDirData, false);
        assert.equal(unset.deleteEmptyDirDataExplicit, false);
        const no = accepted(lke({ workers: { strategy: "blue-green", drain: { deleteEmptyDirData: false } } })).workers;
        assert.equal(no.drain.deleteEmptyDirData, false);
        assert.equal(no.drain.deleteEmptyDirDataExplicit, true);
        const yes = accepted(lke({ workers: { strategy: "recycle", drain: { deleteEmptyDirData: true } } })).workers;
        assert.equal(yes.drain.deleteEmptyDirData, true);
        assert.equal(yes.drain.deleteEmptyDirDataExplicit, true);
        assert.equal(yes.strategy, "recycle");
        assert.equal(yes.drain.timeoutSeconds, 900);
        assert.equal(yes.retainPreviousPool, false);
    });

    test("labels are set only when the cluster has some", () => {
        assert.equal("labels" in accepted(lke()), false);
        assert.deepEqual(accepted(lke({ labels: { wave: "canary" } })).labels, { wave: "canary" });
    });

    test("an adopted cluster keeps its import ids", () => {
        const c = accepted(lke({ import: { cluster: "12345", pools: { web: "67890" } } }));
        assert.deepEqual(c.import, { cluster: "12345", pools: { web: "67890" } });
    });

    test("a Cluster API cluster is named after the cluster unless clusterName says otherwise", () => {
        const plain = accepted(capi()).capiAws;
        assert.equal(plain?.clusterName, "fleet");
        assert.equal(plain?.controlPlane.name, "fleet-control-plane");
        assert.equal(plain?.controlPlane.instanceType, "m6i.large");
        assert.equal(plain?.controlPlane.replicas, 3);
        assert.equal(plain?.controlPlane.maxSurge, 1);
        const named = accepted(capi({ clusterName: "fleet-prod" })).capiAws;
        assert.equal(named?.clusterName, "fleet-prod");
        assert.equal(named?.controlPlane.name, "fleet-prod-control-plane");
        const cp = accepted(capi({}, { name: "cp-main", maxSurge: 0 })).capiAws;
        assert.equal(cp?.controlPlane.name, "cp-main");
        assert.equal(cp?.controlPlane.maxSurge, 0);
        assert.equal(accepted(capi({}, { maxSurge: 1 })).capiAws?.controlPlane.maxSurge, 1);
    });

    test("each provider's block reaches the resolved cluster", () => {
        assert.equal(accepted(eks()).eks?.subnetIds.length, 2);
        assert.equal(accepted(kubeadm()).kubeadm?.packageManager, "apt");
        assert.equal(accepted(aks()).aks?.location, "westeurope");
        assert.equal(accepted(gke()).gke?.location, "europe-west4");
        assert.equal(accepted(eks()).lke, undefined);
    });
});

describe("provider blocks", () => {
    test("a cluster without its provider's block is refused", () => {
        assert.deepEqual(refusal(lke({ lke: undefined })), [
            `${APPS}.lke: given nothing; allowed: settings under lke:, which every lke cluster needs. Add it; see the config reference in docs/config.md.`,
        ]);
    });

    test("a block of another provider is refused, naming both", () => {
        assert.deepEqual(
            refusal(lke({ eks: { subnetIds: ["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002"] } })),
            [
                `${APPS}.eks: given {"subnetIds":["subnet-0a1b2c3d4e5f60001","subnet-0a1b2c3d4e5f60002"]}; allowed: only the settings of the cluster's provider (lke). Remove the eks: block, or change provider.`,
            ],
        );
    });

    test("a Cluster API version without its patch is refused: machines run an exact version", () => {
        assert.deepEqual(refusal({ ...capi(), kubernetesVersion: "1.36" }), [
            `${FLEET}.kubernetesVersion: given "1.36"; allowed: a full patch version such as "1.36.4". Cluster API machines run an exact version, built into their AMI.`,
        ]);
        assert.equal(accepted({ ...capi(), kubernetesVersion: "1.36.0" }).kubernetesVersion, "1.36.0");
    });

    test("a kubeadm version that is no version is refused for its form, and still asked for its patch", () => {
        const lines = refusal(kubeadm({}, { kubernetesVersion: "latest" }));
        assert.equal(lines.length, 2, lines.join("\n"));
        assert.match(lines[0], /field clusters\[0\]\.kubernetesVersion: given "latest"; allowed: a Kubernetes version/);
        assert.equal(
            lines[1],
            `${METAL}.kubernetesVersion: given "latest"; allowed: a full patch version such as "latest.4". kubeadm installs exact package versions.`,
        );
    });

    test("LKE, EKS, AKS and GKE take a minor alone", () => {
        assert.equal(accepted(lke({ kubernetesVersion: "1.34" })).kubernetesVersion, "1.34");
        assert.equal(accepted(eks()).kubernetesVersion, "1.35");
        assert.equal(accepted(aks()).kubernetesVersion, "1.33");
        assert.equal(accepted(gke()).kubernetesVersion, "1.33");
    });
});

describe("pools", () => {
    test("two pools with one name are refused at the second", () => {
        const web = { name: "web", count: 3, type: "g6-standard-4" };
        assert.deepEqual(refusal(lke({ nodePools: [web, { ...web, count: 2 }] })), [
            `${APPS}.nodePools[1].name: given "web"; allowed: a name no other pool of this cluster has. Rename one of the two pools.`,
        ]);
    });

    test("each provider's pools run on its own machine types", () => {
        assert.deepEqual(refusal(lke({ nodePools: [{ name: "web", count: 3, type: "m6i.large" }] })), [
            `${APPS}.nodePools[0].type: given "m6i.large"; allowed: a Linode plan such as g6-standard-4. Pools of lke clusters run on these machine types.`,
        ]);
        assert.deepEqual(refusal(eks({}, { type: "g6-standard-4" })), [
            `${DATA}.nodePools[0].type: given "g6-standard-4"; allowed: an EC2 instance type such as m6i.large. Pools of eks clusters run on these machine types.`,
        ]);
        assert.deepEqual(refusal({ ...capi(), nodePools: [{ name: "md-0", count: 3, type: "Standard_D4s_v5" }] }), [
            `${FLEET}.nodePools[0].type: given "Standard_D4s_v5"; allowed: an EC2 instance type such as m6i.large. Pools of capi-aws clusters run on these machine types.`,
        ]);
        assert.deepEqual(refusal(aks({}, { nodePools: [{ name: "general", type: "m6i.large", count: 3 }] })), [
            `${DATA}.nodePools[0].type: given "m6i.large"; allowed: an Azure VM size such as Standard_D4s_v5. Pools of aks clusters run on these machine types.`,
        ]);
        assert.deepEqual(refusal(gke({}, { nodePools: [{ name: "web", type: "Standard_D4s_v5", count: 6 }] })), [
            `${SHOP}.nodePools[0].type: given "Standard_D4s_v5"; allowed: a Compute Engine machine type such as e2-standard-4. Pools of gke clusters run on these machine types.`,
        ]);
        // kubeadm machines are the user's own: any name.
        assert.equal(accepted(kubeadm()).nodePools[0].type, "bare-metal");
    });

    test("an autoscaler range with min equal to max holds exactly that count", () => {
        const c = accepted(
            lke({ nodePools: [{ name: "web", count: 3, type: "g6-standard-4", autoscaler: { min: 3, max: 3 } }] }),
        );
        assert.deepEqual(c.nodePools[0].autoscaler, { min: 3, max: 3 });
    });

    test("a count at either end of the autoscaler range is accepted, one beyond it is refused", () => {
        const pool = (count: number) =>
            lke({ nodePools: [{ name: "web", count, type: "g6-standard-4", autoscaler: { min: 2, max: 4 } }] });
        assert.equal(accepted(pool(2)).nodePools[0].count, 2);
        assert.equal(accepted(pool(4)).nodePools[0].count, 4);
        assert.deepEqual(refusal(pool(1)), [
            `${APPS}.nodePools[0].count: given 1; allowed: a count between autoscaler.min 2 and autoscaler.max 4. Change the count or the autoscaler range.`,
        ]);
        assert.deepEqual(refusal(pool(5)), [
            `${APPS}.nodePools[0].count: given 5; allowed: a count between autoscaler.min 2 and autoscaler.max 4. Change the count or the autoscaler range.`,
        ]);
    });

    test("a pool one minor ahead of the control plane is refused; one three minors behind is accepted", () => {
        const pool = (v: string) =>
            lke({ nodePools: [{ name: "web", count: 3, type: "g6-standard-4", kubernetesVersion: v }] });
        assert.deepEqual(refusal(pool("1.37")), [
            `${APPS}.nodePools[0].kubernetesVersion: given "1.37"; allowed: a version from the kubelet window of the control plane 1.36: not newer than it, and at most three minors older (two below 1.25). Raise the cluster's kubernetesVersion first; workers follow the control plane.`,
        ]);
        assert.equal(accepted(pool("1.33")).nodePools[0].kubernetesVersion, "1.33");
        const lines = refusal(pool("1.32"));
        assert.equal(lines.length, 1);
        assert.ok(
            lines[0].startsWith(
                `${APPS}.nodePools[0].kubernetesVersion: given "1.32"; allowed: a version from the kubelet window of the control plane 1.36`,
            ),
            lines[0],
        );
        assert.ok(lines[0].endsWith(". Upgrade this pool before moving the control plane further."), lines[0]);
    });

    test("a pool version that is no version is refused for its form, and the later rules still run", () => {
        const lines = refusal({
            ...capi({}, { replicas: 2 }),
            nodePools: [{ name: "md-0", count: 3, type: "m6i.xlarge", kubernetesVersion: "next" }],
        });
        assert.equal(lines.length, 2, lines.join("\n"));
        assert.match(lines[0], /nodePools\[0\]\.kubernetesVersion: given "next"/);
        assert.equal(
            lines[1],
            `${FLEET}.capi-aws.controlPlane.replicas: given 2; allowed: an odd number (etcd quorum). Use 1, 3 or 5.`,
        );
    });

    test("a cluster version that is no version leaves pool versions alone, and the later rules still run", () => {
        const lines = refusal(
            lke({
                kubernetesVersion: "stable",
                nodePools: [{ name: "web", count: 3, type: "g6-standard-4", kubernetesVersion: "1.35" }],
                import: { cluster: "apps-1", pools: {} },
            }),
        );
        assert.equal(lines.length, 2, lines.join("\n"));
        assert.match(lines[0], /field clusters\[0\]\.kubernetesVersion: given "stable"/);
        assert.equal(
            lines[1],
            `${APPS}.import.cluster: given "apps-1"; allowed: a numeric LKE cluster id such as 12345.`,
        );
    });
});

describe("drain and worker strategy", () => {
    const drain = (d: Record<string, unknown>, strategy = "blue-green") => lke({ workers: { strategy, drain: d } });

    test("a grace period up to the drain timeout is accepted, one second more is refused", () => {
        assert.equal(
            accepted(drain({ gracePeriodSeconds: 600, timeoutSeconds: 600 })).workers.drain.gracePeriodSeconds,
            600,
        );
        assert.equal(accepted(drain({ gracePeriodSeconds: 30 })).workers.drain.gracePeriodSeconds, 30);
        assert.deepEqual(refusal(drain({ gracePeriodSeconds: 601, timeoutSeconds: 600 })), [
            `${APPS}.workers.drain.gracePeriodSeconds: given 601; allowed: at most drain.timeoutSeconds (600). A pod's grace period must fit inside the drain timeout.`,
        ]);
        assert.deepEqual(refusal(drain({ gracePeriodSeconds: 901 })), [
            `${APPS}.workers.drain.gracePeriodSeconds: given 901; allowed: at most drain.timeoutSeconds (900). A pod's grace period must fit inside the drain timeout.`,
        ]);
    });

    test("retainPreviousPool is for blue-green alone", () => {
        assert.deepEqual(refusal(lke({ workers: { strategy: "in-place", retainPreviousPool: true } })), [
            `${APPS}.workers.retainPreviousPool: given true; allowed: true only with strategy blue-green. Only blue-green has a previous pool to keep.`,
        ]);
        assert.equal(
            accepted(lke({ workers: { strategy: "blue-green", retainPreviousPool: true } })).workers.retainPreviousPool,
            true,
        );
        assert.equal(
            accepted(lke({ workers: { strategy: "recycle", retainPreviousPool: false } })).workers.retainPreviousPool,
            false,
        );
    });
});

describe("EKS and Cluster API surge", () => {
    test("EKS takes maxUnavailable or maxUnavailablePercentage, each alone", () => {
        assert.equal(accepted(eks({ maxUnavailablePercentage: 20 })).eks?.maxUnavailablePercentage, 20);
        assert.equal(accepted(eks({ maxUnavailable: 2 })).eks?.maxUnavailable, 2);
        assert.deepEqual(refusal(eks({ maxUnavailable: 1, maxUnavailablePercentage: 20 })), [
            `${DATA}.eks.maxUnavailablePercentage: given 20; allowed: maxUnavailable or maxUnavailablePercentage, not both. EKS takes one of the two.`,
        ]);
    });

    test("control plane replicas must be odd", () => {
        assert.equal(accepted(capi({}, { replicas: 1 })).capiAws?.controlPlane.replicas, 1);
        assert.equal(accepted(capi({}, { replicas: 5 })).capiAws?.controlPlane.replicas, 5);
        assert.deepEqual(refusal(capi({}, { replicas: 4 })), [
            `${FLEET}.capi-aws.controlPlane.replicas: given 4; allowed: an odd number (etcd quorum). Use 1, 3 or 5.`,
        ]);
    });

    test("a machine deployment needs room to surge or to take a machine down", () => {
        assert.deepEqual(refusal(capi({ maxSurge: 0, maxUnavailable: 0 })), [
            `${FLEET}.capi-aws.maxUnavailable: given 0; allowed: at least 1 when maxSurge is 0. A rolling update needs room to surge or to take a machine down.`,
        ]);
        assert.deepEqual(refusal(capi({ maxSurge: 0 })).length, 1);
        const down = accepted(capi({ maxSurge: 0, maxUnavailable: 1 })).capiAws;
        assert.deepEqual([down?.maxSurge, down?.maxUnavailable], [0, 1]);
        const surge = accepted(capi({ maxSurge: 1, maxUnavailable: 0 })).capiAws;
        assert.deepEqual([surge?.maxSurge, surge?.maxUnavailable], [1, 0]);
    });
});

describe("kubeadm machines", () => {
    test("a node listed twice is refused by name", () => {
        const lines = refusal(
            kubeadm(
                {
                    workerNodes: [
                        { name: "worker-1", host: "10.0.0.21" },
                        { name: "cp-1", host: "10.0.0.22" },
                    ],
                },
                { nodePools: [{ name: "workers", count: 2, type: "bare-metal" }] },
            ),
        );
        assert.deepEqual(lines, [
            `${METAL}.kubeadm.workerNodes: given "cp-1"; allowed: each node listed once. Remove the second entry of this node.`,
        ]);
    });

    test("distinct nodes in two pools, each counted, are accepted", () => {
        const c = accepted(
            kubeadm(
                {
                    workerNodes: [
                        { name: "worker-1", host: "10.0.0.21" },
                        { name: "worker-2", host: "10.0.0.22", pool: "gpu" },
                        { name: "worker-3", host: "10.0.0.23", pool: "workers" },
                    ],
                },
                {
                    nodePools: [
                        { name: "workers", count: 2, type: "bare-metal" },
                        { name: "gpu", count: 1, type: "bare-metal" },
                    ],
                },
            ),
        );
        assert.equal(c.kubeadm?.workerNodes.length, 3);
    });

    test("a worker in an unknown pool is refused with the pools there are", () => {
        const lines = refusal(
            kubeadm(
                { workerNodes: [{ name: "worker-1", host: "10.0.0.21", pool: "zzzzzzzzzz" }] },
                {
                    nodePools: [
                        { name: "workers", count: 1, type: "bare-metal" },
                        { name: "gpu", count: 1, type: "bare-metal" },
                    ],
                },
            ),
        );
        assert.deepEqual(lines, [
            `${METAL}.kubeadm.workerNodes[0].pool: given "zzzzzzzzzz"; allowed: one of the nodePools: workers, gpu. Add the pool to nodePools, or fix the name.`,
            `${METAL}.nodePools[0].count: given 1; allowed: 0, the number of workerNodes in pool workers. kubeadm upgrades the machines you list; the count must match them.`,
            `${METAL}.nodePools[1].count: given 1; allowed: 0, the number of workerNodes in pool gpu. kubeadm upgrades the machines you list; the count must match them.`,
        ]);
    });
});

describe("adoption", () => {
    test("an LKE cluster is adopted by its numeric id, with pools nodePools names", () => {
        const c = accepted(lke({ import: { cluster: "12345", pools: { web: "67890" } } }));
        assert.equal(c.import?.cluster, "12345");
        assert.equal(accepted(lke({ import: { cluster: "7", pools: {} } })).import?.cluster, "7");
        for (const id of ["a12345", "12345a", "abc"])
            assert.deepEqual(refusal(lke({ import: { cluster: id, pools: {} } })), [
                `${APPS}.import.cluster: given "${id}"; allowed: a numeric LKE cluster id such as 12345.`,
            ]);
    });

    test("a pool to adopt that nodePools does not name is refused with the names there are", () => {
        const lines = refusal(
            lke({
                nodePools: [
                    { name: "web", count: 3, type: "g6-standard-4" },
                    { name: "batch", count: 1, type: "g6-standard-2" },
                ],
                import: { cluster: "12345", pools: { web: "67890", api: "67891" } },
            }),
        );
        assert.deepEqual(lines, [
            `${APPS}.import.pools: given "api"; allowed: a pool named in nodePools (web, batch). Name each pool as nodePools does, or add the pool to nodePools with its running type and count.`,
        ]);
    });

    test("an EKS cluster is adopted by name, with the roles it runs with", () => {
        const roles = {
            clusterRoleArn: "arn:aws:iam::123456789012:role/eks-cluster",
            nodeRoleArn: "arn:aws:iam::123456789012:role/eks-nodes",
        };
        const c = accepted({
            ...eks(roles),
            import: { cluster: "data-prod", pools: { general: "data-prod:general" } },
        });
        assert.equal(c.import?.cluster, "data-prod");
        assert.equal(c.eks?.nodeRoleArn, roles.nodeRoleArn);
        assert.deepEqual(
            refusal({ ...eks({ nodeRoleArn: roles.nodeRoleArn }), import: { cluster: "data-prod", pools: {} } }),
            [
                `${DATA}.eks.clusterRoleArn: given nothing; allowed: the ARN of the role the adopted cluster uses, when import is set. aws eks describe-cluster (roleArn) and describe-nodegroup (nodeRole) show them; a new role would differ from what runs.`,
            ],
        );
        assert.deepEqual(refusal({ ...eks(), import: { cluster: "data-prod", pools: {} } }), [
            `${DATA}.eks.clusterRoleArn: given nothing; allowed: the ARN of the role the adopted cluster uses, when import is set. aws eks describe-cluster (roleArn) and describe-nodegroup (nodeRole) show them; a new role would differ from what runs.`,
            `${DATA}.eks.nodeRoleArn: given nothing; allowed: the ARN of the role the adopted cluster uses, when import is set. aws eks describe-cluster (roleArn) and describe-nodegroup (nodeRole) show them; a new role would differ from what runs.`,
        ]);
    });

    test("an EKS cluster to adopt without its eks block is asked for the block and both roles", () => {
        const roleHint =
            "allowed: the ARN of the role the adopted cluster uses, when import is set. aws eks describe-cluster (roleArn) and describe-nodegroup (nodeRole) show them; a new role would differ from what runs.";
        assert.deepEqual(refusal({ ...eks(), eks: undefined, import: { cluster: "data-prod", pools: {} } }), [
            `${DATA}.eks: given nothing; allowed: settings under eks:, which every eks cluster needs. Add it; see the config reference in docs/config.md.`,
            `${DATA}.eks.clusterRoleArn: given nothing; ${roleHint}`,
            `${DATA}.eks.nodeRoleArn: given nothing; ${roleHint}`,
        ]);
    });

    test("kubeadm, Cluster API, AKS and GKE clusters take no import", () => {
        assert.deepEqual(refusal({ ...kubeadm(), import: { cluster: "12345", pools: {} } }), [
            `${METAL}.import: given {"cluster":"12345","pools":{}}; allowed: import only for lke and eks clusters. Remove it: kubeadm and Cluster API clusters are not created by this program, so they need no adoption.`,
        ]);
        for (const [cluster, prefix] of [
            [capi(), FLEET],
            [aks(), DATA],
            [gke(), SHOP],
        ] as const)
            assert.deepEqual(refusal({ ...cluster, import: { cluster: "x1", pools: {} } }), [
                `${prefix}.import: given {"cluster":"x1","pools":{}}; allowed: import only for lke and eks clusters. Remove it: kubeadm and Cluster API clusters are not created by this program, so they need no adoption.`,
            ]);
    });
});

describe("AKS", () => {
    test("a minor is accepted with the channel none, the default", () => {
        const c = accepted(aks());
        assert.equal(c.kubernetesVersion, "1.33");
        assert.equal(c.aks?.autoUpgradeProfile.upgradeChannel, "none");
        assert.equal(
            accepted(aks({ autoUpgradeProfile: { upgradeChannel: "none" } })).aks?.autoUpgradeProfile.upgradeChannel,
            "none",
        );
    });

    test("a patch version is refused: AKS picks the patch", () => {
        assert.deepEqual(refusal(aks({}, { kubernetesVersion: "1.33.2" })), [
            `${DATA}.kubernetesVersion: given "1.33.2"; allowed: a minor such as "1.33". AKS installs the newest patch of a minor when the cluster or a pool moves to it; this program moves minors only.`,
        ]);
    });

    test("an auto-upgrade channel is refused, naming it", () => {
        for (const channel of ["patch", "stable", "rapid", "node-image"])
            assert.deepEqual(refusal(aks({ autoUpgradeProfile: { upgradeChannel: channel } })), [
                `${DATA}.aks.autoUpgradeProfile.upgradeChannel: given "${channel}"; allowed: none: the version is the one in kubernetesVersion, and changes only when the config does. AKS's ${channel} channel upgrades the cluster on its own schedule, without the pre-flight, the drains or the validation. Set upgradeChannel: none (or leave it out) and upgrade by changing kubernetesVersion; nodeOSUpgradeChannel may stay, as it moves node images, not Kubernetes versions.`,
            ]);
    });

    test("a version that is no version still has its channel checked", () => {
        const lines = refusal(
            aks({ autoUpgradeProfile: { upgradeChannel: "rapid" } }, { kubernetesVersion: "newest" }),
        );
        assert.equal(lines.length, 2, lines.join("\n"));
        assert.match(lines[0], /kubernetesVersion: given "newest"/);
        assert.match(
            lines[1],
            /^Pulumi\.dev\.yaml: stack "dev", cluster "data", field clusters\[0\]\.aks\.autoUpgradeProfile\.upgradeChannel: given "rapid"/,
        );
    });
});

describe("GKE channels and surge", () => {
    test("a release channel is refused", () => {
        assert.deepEqual(refusal(gke({ releaseChannel: "REGULAR" })), [
            `${SHOP}.gke.releaseChannel: given "REGULAR"; allowed: UNSPECIFIED. On a release channel GKE upgrades the control plane and every pool itself, behind the program's back. Set gke.releaseChannel: UNSPECIFIED (GKE allows leaving a channel only at a version the no-channel option offers) and upgrade by changing kubernetesVersion.`,
        ]);
        assert.equal(accepted(gke({ releaseChannel: "UNSPECIFIED" })).gke?.releaseChannel, "UNSPECIFIED");
    });

    test("node auto-upgrade is refused; false is accepted", () => {
        assert.deepEqual(refusal(gke({ nodeAutoUpgrade: true })), [
            `${SHOP}.gke.nodeAutoUpgrade: given true; allowed: false. With node auto-upgrade GKE moves pools on its own schedule, undrained by this program. Remove the key (false is the default) and upgrade pools by changing kubernetesVersion.`,
        ]);
        assert.equal(accepted(gke({ nodeAutoUpgrade: false })).gke?.nodeAutoUpgrade, false);
    });

    test("SURGE takes no blue-green settings", () => {
        const settings = { standardRolloutPolicy: { batchNodeCount: 1 } };
        assert.deepEqual(refusal(gke({ upgradeSettings: { strategy: "SURGE", blueGreenSettings: settings } })), [
            `${SHOP}.gke.upgradeSettings.blueGreenSettings: given {"standardRolloutPolicy":{"batchNodeCount":1}}; allowed: no blueGreenSettings with strategy SURGE. Set strategy: BLUE_GREEN to use them, or remove them.`,
        ]);
    });

    test("SURGE needs maxSurge or maxUnavailable above 0", () => {
        const surge = (s: Record<string, unknown>) => gke({ upgradeSettings: s });
        const refused = `${SHOP}.gke.upgradeSettings.maxSurge: given 0; allowed: maxSurge or maxUnavailable above 0. GKE needs room to surge (maxSurge: 1) or to take a node down; maxSurge: 1 keeps capacity.`;
        assert.deepEqual(refusal(surge({ maxSurge: 0, maxUnavailable: 0 })), [refused]);
        assert.deepEqual(refusal(surge({ maxSurge: 0 })), [refused]);
        assert.equal(accepted(surge({ maxSurge: 0, maxUnavailable: 1 })).gke?.upgradeSettings.maxUnavailable, 1);
        assert.equal(accepted(surge({ maxSurge: 1, maxUnavailable: 1 })).gke?.upgradeSettings.maxSurge, 1);
        assert.equal(accepted(surge({ maxUnavailable: 0 })).gke?.upgradeSettings.strategy, "SURGE");
        assert.equal(accepted(surge({})).gke?.upgradeSettings.maxSurge, undefined);
    });

    test("a surge number out of range is refused alone, not also read as leaving no room", () => {
        const surge = (s: Record<string, unknown>) => gke({ upgradeSettings: s });
        assert.deepEqual(refusal(surge({ maxSurge: 1, maxUnavailable: -1 })), [
            `${SHOP}.gke.upgradeSettings.maxUnavailable: given -1; allowed: a whole number from 0 to 20.`,
        ]);
        assert.deepEqual(refusal(surge({ maxSurge: -2, maxUnavailable: 2 })), [
            `${SHOP}.gke.upgradeSettings.maxSurge: given -2; allowed: a whole number from 0 to 20.`,
        ]);
    });
});

describe("GKE blue-green", () => {
    const oneNode = { standardRolloutPolicy: { batchNodeCount: 1 } };

    test("blue-green takes no surge numbers", () => {
        for (const key of ["maxSurge", "maxUnavailable"])
            assert.deepEqual(refusal(blueGreen({ [key]: 1, blueGreenSettings: oneNode })), [
                `${SHOP}.gke.upgradeSettings.${key}: given 1; allowed: no ${key} with strategy BLUE_GREEN. Blue-green batches are set in blueGreenSettings.standardRolloutPolicy.`,
            ]);
        assert.deepEqual(refusal(blueGreen({ maxSurge: 0, maxUnavailable: 0, blueGreenSettings: oneNode })).length, 2);
    });

    test("blue-green needs exactly one of batchNodeCount or batchPercentage", () => {
        const hint =
            "exactly one of batchNodeCount or batchPercentage. Say how many blue nodes GKE drains at a time: batchNodeCount: 1, or batchPercentage: 0.25.";
        const field = `${SHOP}.gke.upgradeSettings.blueGreenSettings.standardRolloutPolicy`;
        assert.deepEqual(refusal(blueGreen({})), [`${field}: given nothing; allowed: ${hint}`]);
        assert.deepEqual(refusal(blueGreen({ blueGreenSettings: { standardRolloutPolicy: {} } })), [
            `${field}: given {}; allowed: ${hint}`,
        ]);
        assert.deepEqual(
            refusal(
                blueGreen({
                    blueGreenSettings: { standardRolloutPolicy: { batchNodeCount: 1, batchPercentage: 0.25 } },
                }),
            ),
            [`${field}: given {"batchNodeCount":1,"batchPercentage":0.25}; allowed: ${hint}`],
        );
        const byCount = accepted(blueGreen({ blueGreenSettings: oneNode })).gke?.upgradeSettings;
        assert.equal(byCount?.blueGreenSettings?.standardRolloutPolicy?.batchNodeCount, 1);
        const byShare = accepted(
            blueGreen({ blueGreenSettings: { standardRolloutPolicy: { batchPercentage: 0.25 } } }),
        );
        assert.equal(byShare.gke?.upgradeSettings.blueGreenSettings?.standardRolloutPolicy?.batchPercentage, 0.25);
    });

    test("soaks up to 604800s (7 days) are accepted, one second more is refused", () => {
        const soak = (pool: string | undefined, batch: string | undefined) =>
            blueGreen({
                blueGreenSettings: {
                    ...(pool ? { nodePoolSoakDuration: pool } : {}),
                    standardRolloutPolicy: { batchNodeCount: 1, ...(batch ? { batchSoakDuration: batch } : {}) },
                },
            });
        const bg = accepted(soak("604800s", "604800s")).gke?.upgradeSettings.blueGreenSettings;
        assert.equal(bg?.nodePoolSoakDuration, "604800s");
        assert.equal(bg?.standardRolloutPolicy?.batchSoakDuration, "604800s");
        const field = `${SHOP}.gke.upgradeSettings.blueGreenSettings`;
        const tail = `allowed: at most "604800s" (7 days). GKE keeps a blue pool at most 7 days.`;
        assert.deepEqual(refusal(soak("604801s", undefined)), [
            `${field}.nodePoolSoakDuration: given "604801s"; ${tail}`,
        ]);
        assert.deepEqual(refusal(soak(undefined, "604801s")), [
            `${field}.standardRolloutPolicy.batchSoakDuration: given "604801s"; ${tail}`,
        ]);
        assert.deepEqual(refusal(soak("999999s", "700000s")), [
            `${field}.nodePoolSoakDuration: given "999999s"; ${tail}`,
            `${field}.standardRolloutPolicy.batchSoakDuration: given "700000s"; ${tail}`,
        ]);
    });
});

describe("GKE zones", () => {
    test("a regional cluster needs its zones listed", () => {
        const tail =
            "allowed: the zones of europe-west4 the pools run in, e.g. [europe-west4-a, europe-west4-b]. GKE counts nodes per zone: with the zones listed, each pool's count is the exact total.";
        assert.deepEqual(refusal(gke({ nodeLocations: [] })), [`${SHOP}.gke.nodeLocations: given []; ${tail}`]);
        assert.deepEqual(refusal(gke({ nodeLocations: undefined })), [
            `${SHOP}.gke.nodeLocations: given nothing; ${tail}`,
        ]);
    });

    test("a zonal cluster runs in its own zone without a list, any count", () => {
        const c = accepted(
            gke(
                { location: "europe-west4-a", nodeLocations: [] },
                { nodePools: [{ name: "web", type: "e2-standard-4", count: 5 }] },
            ),
        );
        assert.deepEqual(c.gke?.nodeLocations, []);
        assert.equal(c.nodePools[0].count, 5);
    });

    test("a zonal cluster may spread pools over other zones of its region, and no further", () => {
        const c = accepted(
            gke(
                { location: "us-central1-a", nodeLocations: ["us-central1-a", "us-central1-b"] },
                { nodePools: [{ name: "web", type: "e2-standard-4", count: 4 }] },
            ),
        );
        assert.deepEqual(c.gke?.nodeLocations, ["us-central1-a", "us-central1-b"]);
        assert.deepEqual(
            refusal(
                gke(
                    { location: "us-central1-a", nodeLocations: ["us-east1-b"] },
                    { nodePools: [{ name: "web", type: "e2-standard-4", count: 4 }] },
                ),
            ),
            [
                `${SHOP}.gke.nodeLocations[0]: given "us-east1-b"; allowed: a zone of us-central1-a. Pools run in the cluster's region.`,
            ],
        );
    });

    test("a zonal cluster's region is matched whole: europe-west10 is not europe-west1", () => {
        const zonal = (zone: string) =>
            gke(
                { location: "europe-west1-b", nodeLocations: [zone] },
                { nodePools: [{ name: "web", type: "e2-standard-4", count: 2 }] },
            );
        assert.deepEqual(refusal(zonal("europe-west10-a")), [
            `${SHOP}.gke.nodeLocations[0]: given "europe-west10-a"; allowed: a zone of europe-west1-b. Pools run in the cluster's region.`,
        ]);
        assert.deepEqual(accepted(zonal("europe-west1-c")).gke?.nodeLocations, ["europe-west1-c"]);
    });

    test("a regional cluster's zones lie in its region", () => {
        assert.deepEqual(refusal(gke({ nodeLocations: ["europe-west4-a", "europe-west1-b", "europe-west4-c"] })), [
            `${SHOP}.gke.nodeLocations[1]: given "europe-west1-b"; allowed: a zone of europe-west4. Pools run in the cluster's region.`,
        ]);
    });

    test("counts and autoscaler bounds are multiples of the number of zones", () => {
        const pool = (p: Record<string, unknown>) =>
            gke({}, { nodePools: [{ name: "web", type: "e2-standard-4", ...p }] });
        const c = accepted(pool({ count: 6, autoscaler: { min: 3, max: 9 } }));
        assert.deepEqual(c.nodePools[0].autoscaler, { min: 3, max: 9 });
        const tail =
            "allowed: a multiple of 3, the number of gke.nodeLocations. GKE runs the same number of nodes in each zone of a pool.";
        assert.deepEqual(refusal(pool({ count: 4 })), [`${SHOP}.nodePools[0].count: given 4; ${tail}`]);
        assert.deepEqual(refusal(pool({ count: 6, autoscaler: { min: 2, max: 9 } })), [
            `${SHOP}.nodePools[0].autoscaler: given {"min":2,"max":9}; ${tail}`,
        ]);
        assert.deepEqual(refusal(pool({ count: 6, autoscaler: { min: 3, max: 8 } })), [
            `${SHOP}.nodePools[0].autoscaler: given {"min":3,"max":8}; ${tail}`,
        ]);
    });
});
