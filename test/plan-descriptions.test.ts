// Plan text comes from the plan: every step kind of every provider, rendered from a real run of the program under
// mocks, has a description derived from what it does. None is empty, none reads undefined, NaN or
// [object Object], none falls back to a generic phrase, and no value the mocks invented (an add-on's newest build,
// GKE's offered builds) is shown as a version: it reads "(known at deploy time)".

import * as assert from "node:assert/strict";
import * as path from "node:path";
import { before, test } from "node:test";
import { REMOTE_SCRIPT_KINDS, SCRIPT_KINDS } from "../components/scripts";
import type { Capture } from "../tools/capture-types";
import { KNOWN_AT_DEPLOY, orderSteps, type Step, scriptKind } from "../tools/graph";
import { planForStack } from "../tools/plan";
import { lkeCluster, runProgram, stackConfig } from "./helpers";

const STACKS = path.join(__dirname, "fixtures", "stacks");
const BAD = /undefined|NaN|\[object Object\]|<unknown>|-compatible-with-|^\s*$/;

interface Rendered {
    scenario: string;
    capture: Capture;
    steps: Step[];
}
const rendered: Rendered[] = [];

async function fromStack(stack: string, dir = STACKS): Promise<void> {
    const { capture } = await planForStack(stack, { stackDir: dir });
    assert.ok(capture, stack);
    assert.equal(capture.error, undefined, `${stack}: ${capture.error}`);
    rendered.push({ scenario: `stack ${stack}`, capture, steps: orderSteps(capture.resources, capture.standIns) });
}

/** Deploys `before`, then plans `after` over what it recorded. */
async function upgrade(
    scenario: string,
    before: Record<string, unknown>[],
    after: Record<string, unknown>[],
    extra: { config?: Record<string, unknown>; secretKeys?: string[]; amiCatalog?: Record<string, string> } = {},
): Promise<Capture> {
    const run = (clusters: Record<string, unknown>[], previous?: Record<string, unknown>) =>
        runProgram({
            stack: "dev",
            config: { ...stackConfig(clusters), ...extra.config },
            secretKeys: extra.secretKeys,
            amiCatalog: extra.amiCatalog,
            previous,
        });
    const first = await run(before);
    assert.equal(first.error, undefined, `${scenario}, first deployment: ${first.error}`);
    const second = await run(after, first.stackOutputs);
    assert.equal(second.error, undefined, `${scenario}: ${second.error}`);
    rendered.push({ scenario, capture: second, steps: orderSteps(second.resources, second.standIns) });
    return second;
}

const KUBEADM_SECRETS = {
    "k8s-upgrades:sshPrivateKey": "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----",
    "k8s-upgrades:kubeconfig": "apiVersion: v1\nkind: Config\n",
};
const kubeadm = (version: string) => ({
    name: "onprem",
    provider: "kubeadm",
    kubernetesVersion: version,
    kubeadm: {
        controlPlaneNodes: [{ name: "cp-1", host: "10.0.0.11" }],
        workerNodes: [{ name: "w-1", host: "10.0.1.1" }],
        ssh: { user: "ops" },
        packageManager: "apt",
        cniUpgradeCommand: "kubectl apply -f /etc/k8s-upgrades/calico.yaml",
    },
    nodePools: [{ name: "workers", count: 1, type: "bare-metal" }],
    workers: { strategy: "in-place", drain: { deleteEmptyDirData: false } },
});
const CAPI_SECRETS = { "k8s-upgrades:managementKubeconfig": "apiVersion: v1\nkind: Config\n" };
const AMIS = { "1.30.6": "ami-0a0a0a0a0a0a0a030", "1.31.4": "ami-0b0b0b0b0b0b0b031" };
const capi = (version: string, strategy: string) => ({
    name: "edge",
    provider: "capi-aws",
    kubernetesVersion: version,
    "capi-aws": { namespace: "clusters", controlPlane: { instanceType: "m6i.large", replicas: 3 }, amis: AMIS },
    nodePools: [{ name: "md-0", count: 3, type: "m6i.xlarge" }],
    workers: { strategy, drain: { timeoutSeconds: 600, deleteEmptyDirData: false } },
});
const retain = { strategy: "blue-green", retainPreviousPool: true, drain: { deleteEmptyDirData: false } };
const lkePool = { name: "web", count: 3, type: "g6-standard-4" };

before(async () => {
    // The example stacks of the test fixtures: LKE and EKS (blue-green, recycle, in place), AKS, GKE, waves.
    for (const stack of ["dev", "staging", "aks"]) await fromStack(stack);
    await fromStack("gke-dev", path.join(STACKS, "gke"));
    await fromStack("fleet", path.join(STACKS, "fleet"));
    const eks = (version: string, strategy: string) => ({
        name: "data",
        provider: "eks",
        kubernetesVersion: version,
        eks: { region: "us-east-1", subnetIds: ["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002"] },
        nodePools: [{ name: "general", count: 2, type: "m6i.large" }],
        workers: { strategy, drain: { deleteEmptyDirData: true } },
    });
    const recycle = (version: string) =>
        lkeCluster({ kubernetesVersion: version, workers: { strategy: "recycle" }, nodePools: [lkePool] });
    await upgrade(
        "LKE recycle and EKS in place",
        [recycle("1.30"), eks("1.30", "in-place")],
        [recycle("1.31"), eks("1.31", "in-place")],
    );
    await upgrade(
        "LKE in place",
        [lkeCluster({ workers: { strategy: "in-place" } })],
        [lkeCluster({ kubernetesVersion: "1.31", workers: { strategy: "in-place" } })],
    );
    await upgrade(
        "LKE pool shrunk",
        [lkeCluster({ nodePools: [lkePool] })],
        [lkeCluster({ nodePools: [{ ...lkePool, count: 2 }] })],
    );
    const rolledOut = await upgrade(
        "LKE blue-green kept",
        [lkeCluster({ workers: retain, nodePools: [lkePool] })],
        [lkeCluster({ kubernetesVersion: "1.31", workers: retain, nodePools: [lkePool] })],
    );
    const back = await runProgram({
        stack: "dev",
        config: stackConfig([
            lkeCluster({
                kubernetesVersion: "1.31",
                workers: retain,
                nodePools: [{ ...lkePool, kubernetesVersion: "1.30" }],
            }),
        ]),
        previous: rolledOut.stackOutputs,
    });
    assert.equal(back.error, undefined, back.error);
    rendered.push({
        scenario: "LKE workers rolled back",
        capture: back,
        steps: orderSteps(back.resources, back.standIns),
    });
    await upgrade("kubeadm", [kubeadm("1.30.6")], [kubeadm("1.31.4")], {
        config: KUBEADM_SECRETS,
        secretKeys: Object.keys(KUBEADM_SECRETS),
    });
    for (const strategy of ["blue-green", "in-place"])
        await upgrade(`Cluster API ${strategy}`, [capi("1.30.6", strategy)], [capi("1.31.4", strategy)], {
            config: CAPI_SECRETS,
            secretKeys: Object.keys(CAPI_SECRETS),
            amiCatalog: AMIS,
        });
});

test("every step of every provider and strategy has a description, and none reads undefined, NaN or a stand-in", () => {
    for (const { scenario, capture, steps } of rendered) {
        assert.ok(steps.length > 0, scenario);
        for (const s of steps) {
            const where = `${scenario}, step ${s.resource.name} (${s.resource.type}): ${JSON.stringify(s.what)}`;
            assert.doesNotMatch(s.what, BAD, where);
            for (const invented of capture.standIns ?? []) assert.ok(!s.what.includes(invented), where);
            // No generic fallback: every resource type and script kind has words of its own.
            assert.doesNotMatch(s.what, /^(the \S+ script|the command |on \S+: the )/, where);
            assert.ok(!s.what.startsWith(`resource ${s.resource.type} `), where);
        }
    }
});

test("every script kind a deployment runs is among the steps rendered", () => {
    const seen = new Set(rendered.flatMap(({ steps }) => steps.map((s) => scriptKind(s.resource)).filter(Boolean)));
    const expected = [...SCRIPT_KINDS, ...REMOTE_SCRIPT_KINDS].filter((k) => k !== "kubeadm-etcd-restore");
    assert.deepEqual(
        expected.filter((k) => !seen.has(k)),
        [],
        "script kinds no scenario rendered",
    );
});

const stepOf = (scenario: string, name: string): Step => {
    const found = rendered.find((r) => r.scenario === scenario)?.steps.find((s) => s.resource.name === name);
    assert.ok(found, `${scenario}: no step ${name}`);
    return found;
};

test("an EKS add-on whose build is looked up at deploy time says so, never a mock's stand-in", () => {
    assert.equal(
        stepOf("stack staging", "data-vpc-cni").what,
        `add-on vpc-cni at the newest build EKS lists for the control plane's new minor ${KNOWN_AT_DEPLOY}`,
    );
});

test("a workload pool's recycle names the pool; only the anchor pool's is called the anchor pool", () => {
    const workload = stepOf("LKE recycle and EKS in place", "apps-web-1-30-recycle").what;
    assert.match(workload, /^recycle pool apps-web-1-30, LKE pool \d+, to 1\.31/);
    assert.doesNotMatch(workload, /anchor/);
    assert.match(
        stepOf("stack staging", "apps-anchor-recycle").what,
        /^recycle the anchor pool \(tainted, no workloads\)/,
    );
});

test("the EKS node group's version check and Cluster API's retirement say what they do", () => {
    assert.match(
        stepOf("LKE recycle and EKS in place", "data-general-1-30-version").what,
        /^check that node group .* of .* runs 1\.31; if it lags after a failed rolling update, issue the version update and wait \(timeout \d+s\)$/,
    );
    const retire = rendered
        .find((r) => r.scenario === "Cluster API blue-green")
        ?.steps.find((s) => scriptKind(s.resource) === "capi-retire");
    assert.ok(retire);
    assert.match(
        retire.what,
        /^retire MachineDeployment edge-md-0-\S+ in namespace clusters: scale down 1 machine\(s\) at a time, Cluster API draining each, \d+s soak \(each batch within 600s\)$/,
    );
});

test("GKE builds the mocks invented keep their minor and say the build is known at deploy time", () => {
    const pools = rendered
        .find((r) => r.scenario === "stack gke-dev")!
        .steps.filter((s) => s.resource.type === "gcp:container/nodePool:NodePool");
    assert.ok(pools.length > 0);
    for (const p of pools) assert.match(p.what, / at 1\.\d+ \(the exact build is known at deploy time\)[ ;]/, p.what);
});
