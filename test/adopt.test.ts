// Adopting clusters that already run (an LKE and an EKS cluster): `npm run plan -- <stack> --adopt` prints their
// imports, the first deployment registers every cloud resource with Pulumi's `import` option and records what the
// clusters report, and the deployment after it has nothing to do.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { before, describe, it } from "node:test";
import * as YAML from "yaml";
import { recordReported } from "../components/adopt";
import { parseStackConfig } from "../components/config";
import { planStack } from "../components/plan";
import type { RunningCluster } from "../components/running";
import type { Capture } from "../tools/capture-types";
import { changes, recordedState } from "../tools/graph";
import { planForStack, renderPlan } from "../tools/plan";
import { runProgram, scriptKindOf, stackConfig } from "./helpers";

const ROLE = "arn:aws:iam::123456789012:role";
const clusters = [
    {
        name: "web",
        provider: "lke",
        kubernetesVersion: "1.31",
        lke: { region: "us-ord" },
        nodePools: [{ name: "general", type: "g6-standard-4", count: 3 }],
        workers: { strategy: "blue-green" },
        import: { cluster: "12345", pools: { general: "67890" } },
    },
    {
        name: "api",
        provider: "eks",
        kubernetesVersion: "1.31",
        eks: {
            region: "us-east-1",
            subnetIds: ["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002"],
            clusterRoleArn: `${ROLE}/eks-cluster`,
            nodeRoleArn: `${ROLE}/eks-nodes`,
        },
        nodePools: [{ name: "general", type: "m6i.large", count: 3, autoscaler: { min: 3, max: 8 } }],
        workers: { strategy: "blue-green" },
        import: { cluster: "api-prod", pools: { general: "api-prod:general-2024" } },
    },
];

/** What the providers report for the existing resources: the autoscaler has grown the node group to 5. */
const existing = {
    "12345": { k8sVersion: "1.31", label: "web-prod" },
    "12345,67890": { nodeCount: 3, type: "g6-standard-4" },
    "api-prod": { name: "api-prod", version: "1.31" },
    "api-prod:general-2024": {
        nodeGroupName: "general-2024",
        version: "1.31",
        scalingConfig: { desiredSize: 5, minSize: 3, maxSize: 8 },
        instanceTypes: ["m6i.large"],
    },
    "api-prod:vpc-cni": { addonVersion: "v1.19.0-eksbuild.1" },
    "api-prod:kube-proxy": { addonVersion: "v1.31.2-eksbuild.3" },
    "api-prod:coredns": { addonVersion: "v1.11.3-eksbuild.1" },
};

/** Script kinds that only read the cluster or guard a pool for later: what an adoption may create. */
const READ_ONLY = ["wait-ready", "drain-guard-create", "validate"];

let adoption: Capture;
let next: Capture;

const custom = (c: Capture) => c.resources.filter((r) => r.custom && r.type !== "pulumi:pulumi:StackReference");

before(async () => {
    adoption = await runProgram({ stack: "prod", config: stackConfig(clusters), existing });
    assert.equal(adoption.error, undefined, adoption.log);
    // The next deployment: the engine carries the adopted resources' state, and the program reads its record.
    const carriedState = Object.fromEntries(
        custom(adoption).map((r) => [r.name, { id: String(r.id), state: r.outputs ?? {} }]),
    );
    next = await runProgram({
        stack: "prod",
        config: stackConfig(clusters),
        previous: adoption.stackOutputs,
        carriedState,
    });
    assert.equal(next.error, undefined, next.log);
});

/** An input the state satisfies: equal, with fields only the provider computes (ids) left out of the input. */
function within(input: unknown, state: unknown): boolean {
    if (Array.isArray(input))
        return Array.isArray(state) && input.length === state.length && input.every((v, i) => within(v, state[i]));
    if (input && typeof input === "object")
        return (
            !!state &&
            typeof state === "object" &&
            Object.entries(input).every(([k, v]) => within(v, (state as Record<string, unknown>)[k]))
        );
    return input === state;
}

describe("import IDs in config", () => {
    const refused = (cluster: Record<string, unknown>): string => {
        try {
            parseStackConfig("prod", { clusters: [cluster] });
        } catch (err) {
            return (err as Error).message;
        }
        return assert.fail("accepted");
    };

    it("names only pools the cluster declares, and a numeric LKE cluster id", () => {
        const message = refused({ ...clusters[0], import: { cluster: "web-prod", pools: { genral: "67890" } } });
        assert.match(message, /import\.pools: given "genral"; allowed: a pool named in nodePools \(general\)/);
        assert.match(message, /import\.cluster: given "web-prod"; allowed: a numeric LKE cluster id/);
        const pools = refused({ ...clusters[0], import: { cluster: "12345", pools: { general: "pool-67890" } } });
        assert.match(pools, /import\.pools\.general: given "pool-67890"; allowed: a numeric LKE pool id such as 67890/);
        const eks = refused({ ...clusters[1], import: { cluster: "api-prod", pools: { general: "general-2024" } } });
        assert.match(
            eks,
            /import\.pools\.general: given "general-2024"; allowed: <cluster>:<node group>, the cluster being api-prod/,
        );
    });

    it("an adopted EKS cluster names the roles it runs with", () => {
        const { clusterRoleArn: _, nodeRoleArn: __, ...eks } = clusters[1].eks as Record<string, unknown>;
        const message = refused({ ...clusters[1], eks });
        assert.match(
            message,
            /eks\.clusterRoleArn: given nothing; allowed: the ARN of the role the adopted cluster uses/,
        );
        assert.match(message, /eks\.nodeRoleArn: given nothing/);
    });

    it("is refused for providers this program does not create", () => {
        const kubeadm = {
            name: "metal",
            provider: "kubeadm",
            kubernetesVersion: "1.31.4",
            kubeadm: {
                controlPlaneNodes: [{ name: "cp-1", host: "10.0.0.1" }],
                ssh: { user: "ops" },
                packageManager: "apt",
            },
            nodePools: [{ name: "general", type: "metal", count: 1 }],
            workers: { strategy: "in-place" },
            import: { cluster: "metal" },
        };
        assert.match(refused(kubeadm), /import: given .*; allowed: import only for lke and eks clusters/);
    });
});

describe("adopting an LKE and an EKS cluster that already run", () => {
    it("registers every cloud resource with the import option, under the names the program keeps using", () => {
        const imported = custom(adoption)
            .filter((r) => r.type !== "command:local:Command")
            .map((r) => [r.type, r.name, r.importId]);
        assert.deepEqual(imported.sort(), [
            ["aws:eks/addon:Addon", "api-coredns", "api-prod:coredns"],
            ["aws:eks/addon:Addon", "api-kube-proxy", "api-prod:kube-proxy"],
            ["aws:eks/addon:Addon", "api-vpc-cni", "api-prod:vpc-cni"],
            ["aws:eks/cluster:Cluster", "api", "api-prod"],
            ["aws:eks/nodeGroup:NodeGroup", "api-general-1-31", "api-prod:general-2024"],
            ["linode:index/lkeCluster:LkeCluster", "web", "12345"],
            ["linode:index/lkeNodePool:LkeNodePool", "web-general-1-31", "12345,67890"],
        ]);
        // No control plane move, no drain, no recycle: only checks and the drain guards kept for later.
        const kinds = custom(adoption)
            .filter((r) => r.type === "command:local:Command")
            .map((r) => scriptKindOf(r));
        assert.deepEqual([...new Set(kinds)].sort(), [...READ_ONLY].sort());
    });

    it("every import ID has the form its provider's SDK documents for `pulumi import`", () => {
        // The example ID of each type's "## Import" docs in node_modules, and the shape it shows.
        const SDK: Record<string, [string, RegExp]> = {
            "linode:index/lkeCluster:LkeCluster": ["@pulumi/linode/lkeCluster.d.ts", /^\d+$/],
            "linode:index/lkeNodePool:LkeNodePool": ["@pulumi/linode/lkeNodePool.d.ts", /^\d+,\d+$/],
            "aws:eks/cluster:Cluster": ["@pulumi/aws/eks/cluster.d.ts", /^[\w-]+$/],
            "aws:eks/nodeGroup:NodeGroup": ["@pulumi/aws/eks/nodeGroup.d.ts", /^[\w-]+:[\w-]+$/],
            "aws:eks/addon:Addon": ["@pulumi/aws/eks/addon.d.ts", /^[\w-]+:[\w-]+$/],
        };
        for (const [type, [file, shape]] of Object.entries(SDK)) {
            const docs = fs.readFileSync(require.resolve(file), "utf8");
            const example = new RegExp(`\\$ pulumi import ${type.replace(/[/$]/g, "\\$&")} \\S+ (\\S+)`).exec(
                docs,
            )?.[1];
            assert.ok(example && shape.test(example), `${type}: the SDK's example ${example} has the shape ${shape}`);
            const ids = custom(adoption)
                .filter((r) => r.type === type)
                .map((r) => String(r.importId));
            assert.ok(ids.length > 0, type);
            for (const id of ids) assert.match(id, shape, `${type}: ${id}`);
        }
        // The LKE pool is the cluster's: its import ID starts with the cluster's.
        const pool = custom(adoption).find((r) => r.type === "linode:index/lkeNodePool:LkeNodePool");
        assert.equal(pool?.importId, "12345,67890");
    });

    it("records what the clusters report, not what config says", () => {
        const record = recordedState(adoption.stackOutputs, "adoption");
        const api = record?.clusters.api;
        assert.equal(api?.controlPlaneVersion, "1.31");
        assert.equal(api?.clusterId, "api-prod");
        // The autoscaler grew the node group to 5; the record keeps the configured count an autoscaled pool starts at.
        assert.deepEqual(
            api?.pools.map((p) => [p.name, p.version, p.count, p.type, p.poolId]),
            [["general", "1.31", 3, "m6i.large", "general-2024"]],
        );
        assert.deepEqual(api?.addons, {
            "vpc-cni": "v1.19.0-eksbuild.1",
            "kube-proxy": "v1.31.2-eksbuild.3",
            coredns: "v1.11.3-eksbuild.1",
        });
        const web = record?.clusters.web;
        assert.equal(web?.clusterId, "12345");
        assert.deepEqual(
            web?.pools.map((p) => [p.version, p.count, p.poolId]),
            [["1.31", 3, "67890"]],
        );
        assert.equal(web?.validatedVersion, undefined);
    });

    it("the deployment after the adoption changes nothing: same resources and inputs, no import, no change", () => {
        // Every resource again, under the same name, and each input equal to what the adopted resource's state holds:
        // the provider has nothing to update, and nothing is created or deleted.
        const cloud = (c: Capture) => custom(c).filter((r) => r.type !== "command:local:Command");
        const names = (c: Capture) =>
            cloud(c)
                .map((r) => `${r.type} ${r.name}`)
                .sort();
        assert.deepEqual(names(next), names(adoption));
        // The adoption's one-off checks (wait-ready, validate) leave state with no delete action; the guards stay.
        const steps = (c: Capture) => custom(c).filter((r) => r.type === "command:local:Command");
        const gone = steps(adoption).filter((a) => !steps(next).some((r) => r.name === a.name));
        for (const r of gone) {
            assert.ok(["wait-ready", "validate"].includes(String(scriptKindOf(r))), r.name);
            assert.equal(r.inputs.delete, undefined, `${r.name} has no delete action`);
        }
        assert.deepEqual(
            steps(next).map((r) => scriptKindOf(r)),
            ["drain-guard-create", "drain-guard-create"],
        );
        for (const r of custom(next)) {
            const adopted = custom(adoption).find((a) => a.name === r.name && a.type === r.type);
            // What the resource's ignoreChanges names is no difference (an autoscaled node group's desired size).
            const inputs = structuredClone(r.inputs);
            for (const ignored of r.ignoreChanges) {
                const parts = ignored.split(".");
                const holder = parts
                    .slice(0, -1)
                    .reduce<unknown>((o, k) => (o as Record<string, unknown>)?.[k], inputs);
                if (holder && typeof holder === "object")
                    delete (holder as Record<string, unknown>)[parts.at(-1) ?? ""];
            }
            for (const [key, value] of Object.entries(inputs))
                assert.ok(
                    within(value, adopted?.outputs?.[key]),
                    `${r.name}.${key}: ${JSON.stringify(value)} is not what the adopted state holds (${JSON.stringify(adopted?.outputs?.[key])})`,
                );
        }
        assert.deepEqual(
            custom(next).filter((r) => r.importId),
            [],
        );
        const before = recordedState(adoption.stackOutputs, "adoption");
        assert.deepEqual(changes(before, recordedState(next.stackOutputs, "next")), []);
        const text = renderPlan(
            "prod",
            next,
            { outputs: adoption.stackOutputs, label: "the adoption" },
            undefined,
            undefined,
        ).text;
        assert.match(text, /Changes against the previous deployment\n {2}no change\n/);
    });

    it("the record follows what the cluster reports: an LKE cluster found at 1.30 is upgraded from 1.30 next", async () => {
        const behind = { ...existing, "12345": { k8sVersion: "1.30" } };
        const run = await runProgram({ stack: "prod", config: stackConfig([clusters[0]]), existing: behind });
        assert.equal(run.error, undefined, run.log);
        const record = recordedState(run.stackOutputs, "adoption");
        assert.equal(record?.clusters.web.controlPlaneVersion, "1.30");
        assert.deepEqual(
            record?.clusters.web.pools.map((p) => p.version),
            ["1.30"],
        );
        const config = parseStackConfig("prod", { clusters: [clusters[0]] });
        const [plan] = planStack(config, record).plans;
        assert.deepEqual(plan.controlPlane, { from: "1.30", to: "1.31", change: "minor" });
        assert.equal(plan.preflight, true);
    });

    it("a stack with no record and no import IDs is still refused as an unannounced first deployment", async () => {
        const plain = clusters.map(({ import: _, ...c }) => c);
        const refused = await runProgram({
            stack: "prod",
            config: stackConfig(plain, { "k8s-upgrades:firstDeployment": false }),
        });
        assert.match(refused.error ?? "", /firstDeployment/);
    });

    it("npm run plan -- <stack> --adopt prints the pulumi import of each cluster and pool, then the first plan", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "k8su-adopt-"));
        try {
            fs.writeFileSync(
                path.join(dir, "Pulumi.prod.yaml"),
                YAML.stringify({ config: { "k8s-upgrades:clusters": clusters } }),
            );
            const { text, exitCode } = await planForStack("prod", { adopt: true, stackDir: dir });
            assert.equal(exitCode, 0, text);
            for (const line of [
                "pulumi import --stack prod linode:index/lkeCluster:LkeCluster web 12345 --protect=false --parent 'web=urn:pulumi:prod::k8s-upgrades::pulumi:pulumi:Stack$k8s-upgrades:lke:Cluster::web'",
                "pulumi import --stack prod linode:index/lkeNodePool:LkeNodePool web-general-1-31 '12345,67890' --protect=false --parent 'web=",
                "pulumi import --stack prod aws:eks/cluster:Cluster api api-prod --protect=false --parent 'api=",
                "pulumi import --stack prod aws:eks/nodeGroup:NodeGroup api-general-1-31 api-prod:general-2024 --protect=false",
            ])
                assert.ok(text.includes(line), `${line}\nin\n${text}`);
            assert.match(text, /previous outputs: none \(--adopt/);
            assert.match(text, /Steps, in order/);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});

describe("what an adopted cluster reports, recorded", () => {
    const planned: RunningCluster = {
        name: "api",
        provider: "eks",
        controlPlaneVersion: "1.31",
        clusterId: "api-prod",
        strategy: "blue-green",
        upgradeInProgress: false,
        pools: [{ name: "general", resourceName: "api-general-1-31", version: "1.31", type: "m6i.large", count: 3 }],
    };
    const pool = (reported: Record<string, unknown>) => ({
        "api-general-1-31": { count: 3, type: "m6i.large", ...reported },
    });

    it("a pool with a version of its own that reports none, or none readable, fails; never the control plane's", () => {
        for (const version of [undefined, null, "", "latest"])
            assert.throws(
                () => recordReported("api", planned, "1.31", pool({ version })),
                new RegExp(
                    `cluster api: the adopted pool general reports no readable Kubernetes version \\(${version === undefined ? "none" : JSON.stringify(version)}\\); it is not recorded at the control plane's 1\\.31, since a pool may lag it\\. Nothing is recorded\\. Check its import ID and run 'pulumi refresh'\\.`,
                ),
                `version ${JSON.stringify(version)}`,
            );
    });

    it("a pool's own version is recorded as reported, lagging or not; a pool that follows the control plane takes its version", () => {
        const lagging = recordReported("api", planned, "1.31", pool({ version: "v1.30.4-eks-1a2b3c" }));
        assert.deepEqual(
            lagging.pools.map((p) => p.version),
            ["1.30.4"],
        );
        assert.equal(lagging.upgradeInProgress, true);
        const lke = recordReported("web", planned, "1.31", pool({ followsControlPlane: true }));
        assert.deepEqual(
            lke.pools.map((p) => p.version),
            ["1.31"],
        );
        assert.equal(lke.validatedVersion, undefined);
    });

    it("a control plane with no readable version fails", () => {
        assert.throws(
            () => recordReported("api", planned, "", pool({ version: "1.31" })),
            /cluster api: the adopted cluster reports no readable Kubernetes version \(""\); nothing is recorded/,
        );
    });
});
