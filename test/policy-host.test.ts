// The policy pack loaded and run the way the Pulumi CLI runs it: under @pulumi/pulumi's run-policy-pack, over
// CrossGuard's Analyzer gRPC protocol, on resources that real programs registered under mocks: a plain aws.eks
// program and a k8s-upgrades program. See test/policy-host.ts for what the CLI does and where that was read.
import * as assert from "node:assert/strict";
import * as path from "node:path";
import { after, describe, test } from "node:test";
import type { Capture, CapturedResource } from "../tools/capture-types";
import { runProgram, stackConfig } from "./helpers";
import { type Diagnostic, PACK_DIR, startPolicyHost } from "./policy-host";

const RAW_EKS = path.join(__dirname, "fixtures", "programs", "raw-eks.ts");
const NODE_GROUP = "aws:eks/nodeGroup:NodeGroup";
const CLUSTER = "aws:eks/cluster:Cluster";

const mandatory = (ds: Diagnostic[]) => ds.filter((d) => d.level === "mandatory");
const byName = (c: Capture, name: string, type: string) => c.resources.find((r) => r.name === name && r.type === type)!;

function ok(c: Capture): Capture {
    assert.equal(c.error, undefined, `the program failed: ${c.error}`);
    return c;
}

/** A copy of the run with one resource changed, for states the program itself refuses to produce. */
function edited(c: Capture, name: string, type: string, change: (r: CapturedResource) => void): CapturedResource[] {
    const copy: Capture = JSON.parse(JSON.stringify(c));
    change(byName(copy, name, type));
    return copy.resources;
}

describe("the policy pack under the Pulumi CLI's policy host", async () => {
    const rawProgram = (nodeGroups: Array<{ name: string; version: string }>) =>
        runProgram({ program: RAW_EKS, stack: "dev", config: { clusterVersion: "1.31", nodeGroups } });
    const [host, raw, rawNewer, k8su] = await Promise.all([
        startPolicyHost({ packDir: PACK_DIR, stack: "dev", project: "k8s-upgrades" }),
        rawProgram([{ name: "web", version: "1.28" }]),
        rawProgram([
            { name: "web", version: "1.28" },
            { name: "canary", version: "1.32" },
        ]),
        runProgram({
            stack: "dev",
            config: stackConfig([
                {
                    name: "data",
                    provider: "eks",
                    kubernetesVersion: "1.31",
                    eks: { region: "us-east-1", subnetIds: ["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002"] },
                    nodePools: [{ name: "general", count: 3, type: "m6i.large", kubernetesVersion: "1.28" }],
                    workers: { strategy: "blue-green", drain: { deleteEmptyDirData: false } },
                },
            ]),
        }),
    ]);
    after(() => host.stop());
    for (const c of [raw, rawNewer, k8su]) ok(c);

    test("the host compiles and loads the pack and describes its policies", () => {
        assert.equal(host.info.getName(), "k8s-upgrades");
        assert.equal(host.info.getVersion(), "0.1.0");
        assert.ok(host.info.getSupportsconfig());
        const policies = new Map(host.info.getPoliciesList().map((p) => [p.getName(), p]));
        for (const name of [
            "control-plane-one-minor-at-a-time",
            "kubelet-within-skew-window",
            "workers-after-control-plane",
            "no-undrained-pool-deletion",
        ])
            assert.equal(policies.get(name)?.getEnforcementlevel(), 1, `${name} is mandatory`);
        const schema = policies
            .get("control-plane-one-minor-at-a-time")!
            .getConfigschema()!
            .getProperties()!
            .toJavaScript();
        assert.deepEqual(Object.keys(schema).sort(), ["requireRunningVersion", "runningVersions"]);
    });

    describe("a plain aws.eks program", () => {
        test("a NodeGroup three minors behind its cluster passes; EKS managed node groups need no drain guard", async () => {
            await host.configure();
            const found = [...(await host.analyze(raw.resources)), ...(await host.analyzeStack(raw.resources))];
            assert.deepEqual(mandatory(found), []);
            assert.equal(byName(raw, "web", NODE_GROUP).inputs.version, "1.28");
        });

        test("a NodeGroup newer than its cluster is refused, the cluster found through the clusterName reference", async () => {
            await host.configure();
            const found = mandatory(await host.analyzeStack(rawNewer.resources));
            assert.deepEqual(
                found.map((d) => [d.policy, d.urn]),
                [["kubelet-within-skew-window", byName(rawNewer, "canary", NODE_GROUP).urn]],
            );
            assert.match(
                found[0].message,
                /node pool canary \(1\.32\) against EKS control plane prod \(1\.31\): kubelet 1\.32 is newer than the apiserver 1\.31/,
            );
        });

        test("a two-minor control plane jump is refused against runningVersions from the policy config", async () => {
            await host.configure({ "control-plane-one-minor-at-a-time": { runningVersions: { prod: "1.29" } } });
            const found = mandatory(await host.analyze(raw.resources));
            assert.deepEqual(
                found.map((d) => [d.policy, d.urn]),
                [["control-plane-one-minor-at-a-time", byName(raw, "prod", CLUSTER).urn]],
            );
            assert.match(found[0].message, /1\.29 → 1\.31 skips 1 minor\(s\); go through 1\.30 → 1\.31/);
            await host.configure({ "control-plane-one-minor-at-a-time": { runningVersions: { prod: "1.30" } } });
            assert.deepEqual(mandatory(await host.analyze(raw.resources)), []);
        });

        test("without a running version nothing is judged, unless the config requires one", async () => {
            await host.configure();
            assert.deepEqual(mandatory(await host.analyze(raw.resources)), []);
            await host.configure({ "control-plane-one-minor-at-a-time": { requireRunningVersion: true } });
            const found = mandatory(await host.analyze(raw.resources));
            assert.equal(found.length, 1);
            assert.match(found[0].message, /running version is unknown to the policy pack/);
        });

        test("enforcement levels come from the policy config", async () => {
            await host.configure({ "kubelet-within-skew-window": "advisory" });
            const found = await host.analyzeStack(rawNewer.resources);
            assert.deepEqual(mandatory(found), []);
            assert.ok(found.some((d) => d.policy === "kubelet-within-skew-window" && d.level === "advisory"));
            await host.configure({ all: "disabled" });
            assert.deepEqual(await host.analyzeStack(rawNewer.resources), []);
        });
    });

    describe("a k8s-upgrades program", () => {
        test("a node group three minors behind its cluster passes every mandatory policy", async () => {
            await host.configure();
            assert.equal(byName(k8su, "data-general-1-28", NODE_GROUP).inputs.version, "1.28");
            const found = [...(await host.analyze(k8su.resources)), ...(await host.analyzeStack(k8su.resources))];
            assert.deepEqual(mandatory(found), []);
        });

        test("a node group newer than its cluster is refused", async () => {
            // The program refuses such a config itself; this is the state a hand edit would leave.
            const newer = edited(k8su, "data-general-1-28", NODE_GROUP, (r) => {
                r.inputs.version = "1.32";
                r.outputs = { ...r.outputs, version: "1.32" };
            });
            const found = mandatory(await host.analyzeStack(newer));
            assert.deepEqual(
                found.map((d) => d.policy),
                ["kubelet-within-skew-window"],
            );
            assert.match(found[0].message, /kubelet 1\.32 is newer than the apiserver 1\.31/);
        });

        test("a two-minor control plane jump is refused, from the component's record or from the policy config", async () => {
            await host.configure();
            const recorded = edited(k8su, "data", "k8s-upgrades:eks:Cluster", (r) => {
                (r.inputs as { running: unknown }).running = { controlPlaneVersion: "1.29" };
            });
            const fromRecord = mandatory(await host.analyze(recorded));
            assert.deepEqual(
                fromRecord.map((d) => d.policy),
                ["control-plane-one-minor-at-a-time"],
            );
            assert.match(fromRecord[0].message, /cluster data: 1\.29 → 1\.31 skips 1 minor/);
            // A cluster the program has no record of (adopted, or its outputs lost): the operator says what runs.
            await host.configure({ "control-plane-one-minor-at-a-time": { runningVersions: { data: "1.29" } } });
            const fromConfig = mandatory(await host.analyze(k8su.resources));
            assert.deepEqual(
                fromConfig.map((d) => [d.policy, d.urn]),
                [["control-plane-one-minor-at-a-time", byName(k8su, "data", CLUSTER).urn]],
            );
        });
    });
});
