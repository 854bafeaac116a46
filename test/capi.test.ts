// Cluster API on AWS under the mock runtime: immutable templates, waits, and blue-green MachineDeployments.

import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, test } from "node:test";
import { controlPlaneRolloutSeconds, templateName } from "../components/capi-aws/cluster";
import { buildScript } from "../components/scripts";
import { capiRolloutMinutes } from "../components/timeouts";
import { evaluatePolicies } from "../policy/evaluate";
import type { Capture } from "../tools/capture-types";
import { ROOT } from "../tools/harness";
import { allDeps, directDeps, env, has, resource, runProgram, scriptKindOf, stackConfig } from "./helpers";

const SECRETS = { "k8s-upgrades:managementKubeconfig": "apiVersion: v1\nkind: Config\n" };
const AMIS = { "1.30.6": "ami-0a0a0a0a0a0a0a030", "1.31.4": "ami-0b0b0b0b0b0b0b031" };
const MD = "kubernetes:cluster.x-k8s.io/v1beta1:MachineDeployment";
const KCP = "kubernetes:controlplane.cluster.x-k8s.io/v1beta1:KubeadmControlPlanePatch";

function capiCluster(
    version: string,
    strategy: string,
    capi: Record<string, unknown> = {},
    pool: Record<string, unknown> = {},
) {
    return {
        name: "edge",
        provider: "capi-aws",
        kubernetesVersion: version,
        "capi-aws": {
            namespace: "clusters",
            controlPlane: { instanceType: "m6i.large", replicas: 3 },
            amis: AMIS,
            ...capi,
        },
        nodePools: [{ name: "md-0", count: 3, type: "m6i.xlarge", ...pool }],
        workers: { strategy, drain: { timeoutSeconds: 600, deleteEmptyDirData: false } },
    };
}

async function deploy(
    cluster: unknown,
    previous?: Record<string, unknown>,
    amiCatalog?: Record<string, string>,
): Promise<Capture> {
    return runProgram({
        stack: "dev",
        config: { ...stackConfig([cluster as Record<string, unknown>]), ...SECRETS },
        secretKeys: Object.keys(SECRETS),
        previous,
        amiCatalog,
    });
}

const templateOf = (c: Capture, md: string) =>
    (resource(c, md, MD).inputs as any).spec.template.spec.infrastructureRef.name as string;
const annotations = (c: Capture, name: string, type: string) =>
    (resource(c, name, type).inputs as any).metadata.annotations as Record<string, string>;

test("a template's name hashes the version and the whole spec: any field that changes gives a new template", () => {
    const spec = (extra: Record<string, unknown> = {}) => ({
        template: {
            spec: {
                instanceType: "m6i.xlarge",
                ami: { id: "ami-0b0b0b0b0b0b0b031" },
                iamInstanceProfile: "nodes.cluster-api-provider-aws.sigs.k8s.io",
                ...extra,
            },
        },
    });
    const name = templateName("edge-md-0", "1.31.4", spec());
    assert.match(name, /^edge-md-0-[0-9a-f]{8}$/);
    assert.equal(templateName("edge-md-0", "1.31.4", spec()), name);
    const reordered = {
        template: {
            spec: {
                iamInstanceProfile: "nodes.cluster-api-provider-aws.sigs.k8s.io",
                ami: { id: "ami-0b0b0b0b0b0b0b031" },
                instanceType: "m6i.xlarge",
            },
        },
    };
    assert.equal(templateName("edge-md-0", "1.31.4", reordered), name, "key order does not matter");
    assert.notEqual(templateName("edge-md-0", "1.31.5", spec()), name);
    for (const change of [
        { ami: { id: "ami-0c0c0c0c0c0c0c0c0" } },
        { instanceType: "m6i.2xlarge" },
        { iamInstanceProfile: "workers" },
        { sshKeyName: "ops" },
    ]) {
        assert.notEqual(templateName("edge-md-0", "1.31.4", spec(change)), name, JSON.stringify(change));
    }
});

describe("Cluster API blue-green, 1.30.6 → 1.31.4", async () => {
    const first = await deploy(capiCluster("1.30.6", "blue-green"));
    const second = await deploy(capiCluster("1.31.4", "blue-green"), first.stackOutputs);
    const third = await deploy(capiCluster("1.31.4", "blue-green"), second.stackOutputs);

    test("the control plane is patched to the target on a new template, after pre-flight, and waited until every replica runs it", () => {
        const kcp = resource(second, "edge-control-plane", KCP).inputs as any;
        assert.equal(kcp.spec.version, "v1.31.4");
        assert.deepEqual(kcp.spec.rolloutStrategy, { type: "RollingUpdate", rollingUpdate: { maxSurge: 1 } });
        const rollout = resource(second, "edge-control-plane-rollout");
        assert.equal(scriptKindOf(rollout), "wait-resource");
        assert.deepEqual(env(rollout).K8SU_CONDITIONS.split("\n"), [
            "{.status.version}=v1.31.4",
            "{.status.updatedReplicas}=3",
            "{.status.readyReplicas}=3",
        ]);
        assert.equal(
            env(rollout).K8SU_RESOURCE,
            "kubeadmcontrolplanes.controlplane.cluster.x-k8s.io/edge-control-plane",
        );
        assert.deepEqual(directDeps(second, "edge-control-plane-rollout"), ["edge-control-plane"]);
        assert.equal(
            annotations(second, "edge-control-plane", KCP)["pulumi.com/waitFor"],
            undefined,
            "Patch resources get no await logic; the rollout step waits instead",
        );
        assert.notEqual(
            kcp.spec.machineTemplate.infrastructureRef.name,
            (resource(first, "edge-control-plane", KCP).inputs as any).spec.machineTemplate.infrastructureRef.name,
        );
        assert.ok(directDeps(second, "edge-control-plane", KCP).includes("edge-preflight"));
    });

    test("the control plane rollout waits as long as its worst case: one machine at a time, each a new machine and a drain", () => {
        // 3 replicas × (15 min for the machine + 600 s of drain) + 30 min.
        assert.equal(env(resource(second, "edge-control-plane-rollout")).K8SU_TIMEOUT_SECONDS, String(105 * 60));
        assert.equal(controlPlaneRolloutSeconds(5, 900), (5 * 30 + 30) * 60);
    });

    test("a green MachineDeployment waits for its machines past the Kubernetes provider's 10 minutes; a retiring one waits for nothing", () => {
        assert.deepEqual(resource(second, "edge-md-0-1-31", MD).customTimeouts, { create: "45m", update: "105m" });
        assert.equal(resource(second, "edge-md-0-1-30", MD).customTimeouts, undefined);
    });

    test("MachineDeployments depend on the control plane and wait until the rollout is over: total, updated and ready replicas all N", () => {
        assert.ok(
            directDeps(second, "edge-md-0-1-31", MD).includes("edge-control-plane-rollout"),
            "workers wait for the control plane to report the target",
        );
        assert.deepEqual(JSON.parse(annotations(second, "edge-md-0-1-31", MD)["pulumi.com/waitFor"]), [
            "jsonpath={.status.replicas}=3",
            "jsonpath={.status.updatedReplicas}=3",
            "jsonpath={.status.readyReplicas}=3",
        ]);
        const spec = (resource(second, "edge-md-0-1-31", MD).inputs as any).spec;
        assert.equal(spec.template.spec.version, "v1.31.4");
        assert.deepEqual(spec.strategy.rollingUpdate, { maxSurge: 1, maxUnavailable: 0 });
    });

    test("no nodeDrainTimeout anywhere: Cluster API would delete a machine undrained once it expires", () => {
        for (const c of [first, second])
            for (const r of c.resources.filter((x) => x.type === MD))
                assert.equal((r.inputs as any).spec.template.spec.nodeDrainTimeout, undefined, r.name);
    });

    test("blue-green keeps the old MachineDeployment until the new one is ready, cordons its nodes, then retires it in batches of batchSize with our deadline; the next deployment removes it", () => {
        const blue = resource(second, "edge-md-0-1-30", MD);
        assert.equal((blue.inputs as any).spec.replicas, 3, "never scaled to zero at once by its resource");
        assert.ok(blue.ignoreChanges.includes("spec.replicas"), "the retire step owns its replicas");
        assert.equal(annotations(second, "edge-md-0-1-30", MD)["pulumi.com/waitFor"], undefined);
        const cordon = resource(second, "edge-cordon-blue");
        assert.equal(scriptKindOf(cordon), "cordon");
        assert.equal(env(cordon).K8SU_SELECTORS, "node.cluster.x-k8s.io/k8s-upgrades-generation=edge-md-0-1-30");
        assert.ok(directDeps(second, "edge-cordon-blue").includes("edge-md-0-1-31"), "after the green one is ready");
        const retire = resource(second, "edge-md-0-1-30-retire");
        assert.equal(scriptKindOf(retire), "capi-retire");
        assert.deepEqual(
            [
                env(retire).K8SU_MACHINE_DEPLOYMENT,
                env(retire).K8SU_NAMESPACE,
                env(retire).K8SU_BATCH_SIZE,
                env(retire).K8SU_DRAIN_TIMEOUT_SECONDS,
            ],
            ["edge-md-0-1-30", "clusters", "1", "600"],
        );
        assert.ok(retire.secretPaths.includes("environment.K8SU_KUBECONFIG_B64"));
        assert.deepEqual(directDeps(second, "edge-md-0-1-30-retire").sort(), ["edge-cordon-blue", "edge-md-0-1-30"]);
        assert.ok(allDeps(second, "edge-validate").has("edge-md-0-1-30-retire"));
        assert.equal(
            templateOf(second, "edge-md-0-1-30"),
            templateOf(first, "edge-md-0-1-30"),
            "the blue template is left as it was",
        );
        assert.equal(has(third, "edge-md-0-1-30"), false);
        assert.ok(has(third, "edge-md-0-1-31"));
        assert.equal((third.stackOutputs as any).k8sUpgrades.clusters.edge.upgradeInProgress, false);
        assert.equal((second.stackOutputs as any).k8sUpgrades.clusters.edge.upgradeInProgress, true);
    });

    test("a deployment that changes nothing keeps every template name", () => {
        assert.equal(templateOf(third, "edge-md-0-1-31"), templateOf(second, "edge-md-0-1-31"));
    });

    test("the policy pack passes it, and refuses a MachineDeployment that skips the control plane or opts out of draining", () => {
        assert.deepEqual(evaluatePolicies(second).mandatory, []);
        const early: Capture = JSON.parse(JSON.stringify(second));
        const green = early.resources.find((r) => r.name === "edge-md-0-1-31" && r.type === MD)!;
        const controlPlaneSteps = early.resources
            .filter((r) => r.type === KCP || r.name === "edge-control-plane-rollout")
            .map((r) => r.urn);
        green.dependencies = green.dependencies.filter((u) => !controlPlaneSteps.includes(u));
        // In the inputs (what resource policies see) and the outputs (what stack policies see).
        for (const props of [green.inputs, green.outputs] as any[])
            props.spec.template.metadata.annotations = { "machine.cluster.x-k8s.io/exclude-node-draining": "" };
        const report = evaluatePolicies(early);
        assert.ok(
            report.mandatory.some(
                (v) => v.policy === "workers-after-control-plane" && /edge-md-0-1-31/.test(v.message),
            ),
        );
        assert.ok(
            report.mandatory.some(
                (v) =>
                    v.policy === "no-undrained-pool-deletion" && /excludes its machines from draining/.test(v.message),
            ),
        );
    });
});

describe("Cluster API in-place and images", () => {
    test("in-place is the MachineDeployment's rolling update onto a new template; an instance type change alone makes one too", async () => {
        const first = await deploy(capiCluster("1.30.6", "in-place"));
        const second = await deploy(capiCluster("1.31.4", "in-place"), first.stackOutputs);
        assert.equal(second.error, undefined, second.error);
        assert.equal((resource(second, "edge-md-0-1-30", MD).inputs as any).spec.template.spec.version, "v1.31.4");
        assert.notEqual(templateOf(second, "edge-md-0-1-30"), templateOf(first, "edge-md-0-1-30"));
        const resized = await deploy(
            capiCluster("1.31.4", "in-place", {}, { type: "m6i.2xlarge" }),
            second.stackOutputs,
        );
        assert.equal(resized.error, undefined, resized.error);
        assert.notEqual(templateOf(resized, "edge-md-0-1-30"), templateOf(second, "edge-md-0-1-30"));
    });

    test("the rolling update waits as long as its worst case: maxSurge + maxUnavailable machines at a time, each drained", async () => {
        assert.equal(capiRolloutMinutes(3, 1, 600), 3 * 25 + 30);
        assert.equal(capiRolloutMinutes(3, 3, 600), 25 + 30);
        const pace = { maxSurge: 2, maxUnavailable: 1 };
        const first = await deploy(capiCluster("1.30.6", "in-place", pace, { count: 6 }));
        const second = await deploy(capiCluster("1.31.4", "in-place", pace, { count: 6 }), first.stackOutputs);
        assert.equal(second.error, undefined, second.error);
        // 6 machines, 3 at a time: 2 × (15 + 10) + 30.
        assert.deepEqual(resource(second, "edge-md-0-1-30", MD).customTimeouts, { create: "45m", update: "80m" });
    });

    test("a target with no AMI is refused before anything is registered", async () => {
        const r = await deploy(capiCluster("1.32.1", "in-place", { amis: AMIS }));
        assert.match(
            r.error ?? "",
            /cluster "edge", field clusters\[0\]\.capi-aws\.amis: given \["1\.30\.6","1\.31\.4"\]; allowed: an AMI built for Kubernetes 1\.32\.1\. Machines from an image built for another version never join the cluster/,
        );
        assert.deepEqual(
            r.resources
                .filter((x) => x.type.startsWith("kubernetes:") || x.type.startsWith("command:"))
                .map((x) => x.name),
            [],
        );
    });

    test("an AMI can be found by its kubernetes_version tag; none found is refused", async () => {
        const lookup = { amis: {}, amiLookup: { owners: ["258751437250"] } };
        const found = await deploy(capiCluster("1.31.4", "in-place", lookup), undefined, {
            "1.31.4": "ami-0d0d0d0d0d0d0d0d0",
        });
        assert.equal(found.error, undefined, found.error);
        assert.equal(
            (resource(found, "edge-md-0-1-31-machine-template").inputs as any).spec.template.spec.ami.id,
            "ami-0d0d0d0d0d0d0d0d0",
        );
        const missing = await deploy(capiCluster("1.31.4", "in-place", lookup), undefined, {});
        assert.match(
            missing.error ?? "",
            /allowed: an AMI built for Kubernetes 1\.31\.4.*or publish it where amiLookup finds it/,
        );
    });
});

describe("Cluster API images are pinned in the running record", () => {
    const lookup = { amis: {}, amiLookup: { owners: ["258751437250"] } };
    test("a rebuilt image found by amiLookup changes nothing until the version moves; the new version takes the newest", async () => {
        const first = await deploy(capiCluster("1.30.6", "blue-green", lookup), undefined, {
            "1.30.6": AMIS["1.30.6"],
        });
        assert.equal(first.error, undefined, first.error);
        assert.deepEqual((first.stackOutputs as any).k8sUpgrades.clusters.edge.images, { "1.30.6": AMIS["1.30.6"] });
        const rebuilt = { "1.30.6": "ami-0e0e0e0e0e0e0e0e0", "1.31.4": AMIS["1.31.4"] };
        const again = await deploy(capiCluster("1.30.6", "blue-green", lookup), first.stackOutputs, rebuilt);
        assert.equal(again.error, undefined, again.error);
        assert.equal(
            templateOf(again, "edge-md-0-1-30"),
            templateOf(first, "edge-md-0-1-30"),
            "the pinned image stays",
        );
        assert.equal(
            (resource(again, "edge-control-plane", KCP).inputs as any).spec.machineTemplate.infrastructureRef.name,
            (resource(first, "edge-control-plane", KCP).inputs as any).spec.machineTemplate.infrastructureRef.name,
        );
        assert.equal(has(again, "edge-preflight"), false);
        const upgraded = await deploy(capiCluster("1.31.4", "blue-green", lookup), again.stackOutputs, rebuilt);
        assert.equal(upgraded.error, undefined, upgraded.error);
        assert.equal(
            (resource(upgraded, "edge-md-0-1-31-machine-template").inputs as any).spec.template.spec.ami.id,
            AMIS["1.31.4"],
        );
        assert.equal(
            templateOf(upgraded, "edge-md-0-1-30"),
            templateOf(first, "edge-md-0-1-30"),
            "blue keeps its image",
        );
    });

    test("a new AMI the user writes into capi-aws.amis moves the version's machines, pre-flighted, control plane first", async () => {
        const first = await deploy(capiCluster("1.31.4", "in-place"));
        const moved = { amis: { ...AMIS, "1.31.4": "ami-0f0f0f0f0f0f0f0f0" } };
        const second = await deploy(capiCluster("1.31.4", "in-place", moved), first.stackOutputs);
        assert.equal(second.error, undefined, second.error);
        assert.notEqual(templateOf(second, "edge-md-0-1-31"), templateOf(first, "edge-md-0-1-31"));
        assert.ok(directDeps(second, "edge-control-plane", KCP).includes("edge-preflight"));
        assert.ok(resource(second, "edge-control-plane-rollout").inputs.triggers);
        assert.notDeepEqual(
            resource(second, "edge-control-plane-rollout").inputs.triggers,
            resource(first, "edge-control-plane-rollout").inputs.triggers,
            "the control plane rollout is waited for again before the workers move",
        );
        assert.match(second.log ?? "", /Kubernetes 1\.31\.4 moves from ami-0b0b0b0b0b0b0b031 to ami-0f0f0f0f0f0f0f0f0/);
        assert.deepEqual((second.stackOutputs as any).k8sUpgrades.clusters.edge.images, {
            "1.31.4": "ami-0f0f0f0f0f0f0f0f0",
        });
    });
});

describe("capi-retire against a stand-in management cluster", () => {
    const standIn = path.join(ROOT, "test", "fixture", "node-bin", "capi-kubectl");
    function cluster(machines: number, opts: { blocked?: boolean } = {}) {
        const state = fs.mkdtempSync(path.join(os.tmpdir(), "capi-"));
        const bin = path.join(state, "bin");
        fs.mkdirSync(bin);
        fs.symlinkSync(standIn, path.join(bin, "kubectl"));
        fs.writeFileSync(path.join(state, "replicas"), String(machines));
        fs.writeFileSync(
            path.join(state, "machines"),
            Array.from({ length: machines }, (_, i) => `edge-md-0-1-30-m${i}\tRunning\tip-10-0-0-${i}\n`).join(""),
        );
        if (opts.blocked) fs.writeFileSync(path.join(state, "blocked"), "");
        return {
            state,
            calls: () => fs.readFileSync(path.join(state, "calls"), "utf8").trim().split("\n"),
            machines: () => fs.readFileSync(path.join(state, "machines"), "utf8").trim().split("\n").filter(Boolean),
            run: (extra: Record<string, string> = {}) =>
                spawnSync("bash", ["-c", buildScript("capi-retire")], {
                    encoding: "utf8",
                    // A script that never ends (it went on scaling with the machines still there) fails, not hangs.
                    timeout: 60_000,
                    env: {
                        PATH: `${bin}:/usr/bin:/bin`,
                        CAPI_STATE: state,
                        K8SU_KUBECONFIG: "apiVersion: v1\nkind: Config\n",
                        K8SU_MACHINE_DEPLOYMENT: "edge-md-0-1-30",
                        K8SU_NAMESPACE: "clusters",
                        K8SU_BATCH_SIZE: "2",
                        K8SU_SOAK_SECONDS: "0",
                        // Only an upper bound (a batch ends when its machines are gone): generous, so that a busy machine
                        // does not make a passing batch look stuck. Tests of the deadline set their own.
                        K8SU_DRAIN_TIMEOUT_SECONDS: "120",
                        K8SU_POLL_SECONDS: "0.1",
                        ...extra,
                    },
                }),
        };
    }
    const scales = (calls: string[]) => calls.filter((c) => c.startsWith("scale")).map((c) => c.split(" ").pop());

    test("five machines in batches of two: scaled to 3, 1, 0, each batch gone before the next", () => {
        const c = cluster(5);
        const r = c.run();
        assert.equal(r.status, 0, r.stderr);
        // The step's log says where it starts from: what the MachineDeployment asks for and what runs.
        assert.match(
            r.stderr,
            /machinedeployments\.cluster\.x-k8s\.io\/edge-md-0-1-30: 5 replica\(s\), 5 machine\(s\); retiring 2 at a time/,
        );
        assert.deepEqual(scales(c.calls()), ["--replicas=3", "--replicas=1", "--replicas=0"]);
        assert.deepEqual(c.machines(), []);
    });

    test("a drain held by a budget fails the step at our deadline with the machines still there, and goes no further", () => {
        const c = cluster(3, { blocked: true });
        const r = c.run({ K8SU_BATCH_SIZE: "1", K8SU_DRAIN_TIMEOUT_SECONDS: "1" });
        assert.equal(r.status, 1);
        assert.match(
            r.stderr,
            /batch 1 of machinedeployments\.cluster\.x-k8s\.io\/edge-md-0-1-30 did not drain within 1s; its machines still exist/,
        );
        assert.match(r.stderr, /- edge-md-0-1-30-m2\tRunning\tip-10-0-0-2/);
        assert.deepEqual(scales(c.calls()), ["--replicas=2"], "never scaled further while a batch is stuck");
        assert.equal(c.machines().length, 3);
        fs.rmSync(path.join(c.state, "blocked"));
        const again = c.run({ K8SU_BATCH_SIZE: "1" });
        assert.equal(again.status, 0, again.stderr);
        assert.deepEqual(
            scales(c.calls()),
            ["--replicas=2", "--replicas=1", "--replicas=0"],
            "resumes from where it stopped",
        );
    });

    test("status.replicas at the target while the removed Machines still exist: the next batch waits for the Machines", () => {
        const c = cluster(5);
        fs.writeFileSync(path.join(c.state, "status-follows-spec"), "");
        fs.writeFileSync(path.join(c.state, "drain-every"), "3");
        const r = c.run();
        assert.equal(r.status, 0, r.stderr);
        assert.deepEqual(scales(c.calls()), ["--replicas=3", "--replicas=1", "--replicas=0"]);
        const atScale = fs.readFileSync(path.join(c.state, "machines-at-scale"), "utf8").trim().split("\n");
        assert.deepEqual(atScale, ["5", "3", "1"], "each scale-down starts only when the batch before is gone");
        // Held by a budget: status.replicas says done, the Machines stay, the step fails at its deadline.
        const held = cluster(3, { blocked: true });
        fs.writeFileSync(path.join(held.state, "status-follows-spec"), "");
        const stuck = held.run({ K8SU_BATCH_SIZE: "1", K8SU_DRAIN_TIMEOUT_SECONDS: "1" });
        assert.equal(stuck.status, 1);
        assert.match(stuck.stderr, /batch 1 of .* did not drain within 1s; its machines still exist/);
        assert.deepEqual(scales(held.calls()), ["--replicas=2"]);
    });

    test("a failed listing is an error, not 'nothing left'", () => {
        const c = cluster(2);
        fs.writeFileSync(path.join(c.state, "fail-get-machines"), "");
        const r = c.run();
        assert.equal(r.status, 1);
        assert.match(
            r.stderr,
            /FAILED: kubectl --namespace clusters get machines\.cluster\.x-k8s\.io -l cluster\.x-k8s\.io\/deployment-name=edge-md-0-1-30 failed against the API server: error: the server is currently unable/,
        );
        assert.deepEqual(scales(c.calls()), []);
    });
});
