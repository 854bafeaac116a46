// Cluster API on AWS under the mock runtime: immutable templates, waits, and blue-green MachineDeployments.

import * as assert from "node:assert/strict";
import { describe, test } from "node:test";
import { templateName } from "../components/capi-aws/cluster";
import { evaluatePolicies } from "../policy/evaluate";
import type { Capture } from "../tools/capture-types";
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

test("a template's name changes with its version, AMI or instance type, and only then", () => {
    const base = { version: "1.31.4", ami: "ami-0b0b0b0b0b0b0b031", instanceType: "m6i.xlarge" };
    const name = templateName("edge-md-0", base);
    assert.match(name, /^edge-md-0-[0-9a-f]{8}$/);
    assert.equal(templateName("edge-md-0", { ...base }), name);
    for (const change of [{ version: "1.31.5" }, { ami: "ami-0c0c0c0c0c0c0c0c0" }, { instanceType: "m6i.2xlarge" }]) {
        assert.notEqual(templateName("edge-md-0", { ...base, ...change }), name, JSON.stringify(change));
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

    test("MachineDeployments depend on the control plane and wait until every replica is updated and ready", () => {
        assert.ok(
            directDeps(second, "edge-md-0-1-31", MD).includes("edge-control-plane-rollout"),
            "workers wait for the control plane to report the target",
        );
        assert.deepEqual(JSON.parse(annotations(second, "edge-md-0-1-31", MD)["pulumi.com/waitFor"]), [
            "jsonpath={.status.updatedReplicas}=3",
            "jsonpath={.status.readyReplicas}=3",
        ]);
        const spec = (resource(second, "edge-md-0-1-31", MD).inputs as any).spec;
        assert.equal(spec.template.spec.version, "v1.31.4");
        assert.equal(spec.template.spec.nodeDrainTimeout, "600s");
        assert.deepEqual(spec.strategy.rollingUpdate, { maxSurge: 1, maxUnavailable: 0 });
    });

    test("blue-green keeps the old MachineDeployment until the new one is ready, then scales it to zero; the next deployment removes it", () => {
        const blue = resource(second, "edge-md-0-1-30", MD);
        assert.equal((blue.inputs as any).spec.replicas, 0);
        assert.ok(
            directDeps(second, "edge-md-0-1-30", MD).includes("edge-md-0-1-31"),
            "scaled down only after the green one is ready",
        );
        assert.deepEqual(JSON.parse(annotations(second, "edge-md-0-1-30", MD)["pulumi.com/waitFor"]), [
            "jsonpath={.status.replicas}=0",
        ]);
        assert.equal(
            templateOf(second, "edge-md-0-1-30"),
            templateOf(first, "edge-md-0-1-30"),
            "the blue template is left as it was",
        );
        assert.ok(allDeps(second, "edge-validate").has("edge-md-0-1-30"));
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
