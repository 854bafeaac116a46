// kubeadm under the mock runtime: the upstream procedure as one chain of remote and local commands.

import * as assert from "node:assert/strict";
import { describe, test } from "node:test";
import { evaluatePolicies } from "../policy/evaluate";
import type { Capture } from "../tools/capture-types";
import { allDeps, directDeps, env, has, resource, runProgram, scriptKindOf, stackConfig } from "./helpers";

const SECRETS = {
    "k8s-upgrades:sshPrivateKey": "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----",
    "k8s-upgrades:kubeconfig": "apiVersion: v1\nkind: Config\n",
};
const CPS = ["cp-1", "cp-2", "cp-3"];
const WORKERS = ["w-1", "w-2", "w-3", "w-4", "w-5"];

function kubeadmCluster(version: string, extra: Record<string, unknown> = {}, kubeadm: Record<string, unknown> = {}) {
    return {
        name: "onprem",
        provider: "kubeadm",
        kubernetesVersion: version,
        kubeadm: {
            controlPlaneNodes: CPS.map((name, i) => ({ name, host: `10.0.0.${11 + i}` })),
            workerNodes: WORKERS.map((name, i) => ({ name, host: `10.0.1.${1 + i}` })),
            ssh: { user: "ops" },
            packageManager: "apt",
            workersAtOnce: 2,
            cniUpgradeCommand: "kubectl apply -f /etc/k8s-upgrades/calico.yaml",
            ...kubeadm,
        },
        nodePools: [{ name: "workers", count: 5, type: "bare-metal" }],
        workers: { strategy: "in-place", drain: { deleteEmptyDirData: false } },
        ...extra,
    };
}

async function deploy(clusters: unknown[], previous?: Record<string, unknown>): Promise<Capture> {
    return runProgram({
        stack: "dev",
        config: { ...stackConfig(clusters as Record<string, unknown>[]), ...SECRETS },
        secretKeys: Object.keys(SECRETS),
        previous,
    });
}

describe("kubeadm, 1.30.6 → 1.31.4", async () => {
    const first = await deploy([kubeadmCluster("1.30.6")]);
    const second = await deploy([kubeadmCluster("1.31.4")], first.stackOutputs);

    test("the first deployment adopts the running cluster: it only validates that every node runs the configured version", () => {
        assert.equal(first.error, undefined, first.error);
        assert.deepEqual(
            first.resources.filter((r) => r.type.startsWith("command:")).map((r) => r.name),
            ["onprem-validate"],
        );
        assert.equal(env(resource(first, "onprem-validate")).K8SU_SELECTORS, "kubernetes.io/hostname");
    });

    test("the etcd snapshot precedes kubeadm upgrade apply, which runs on the first control plane node only", () => {
        assert.ok(directDeps(second, "onprem-cp-1-etcd-snapshot").includes("onprem-preflight"));
        assert.deepEqual(directDeps(second, "onprem-cp-1-kubeadm"), ["onprem-cp-1-etcd-snapshot"]);
        assert.match(String(resource(second, "onprem-cp-1-kubeadm").inputs.stdin), /^K8SU_FIRST='true'$/m);
        for (const cp of ["cp-2", "cp-3"])
            assert.match(String(resource(second, `onprem-${cp}-kubeadm`).inputs.stdin), /^K8SU_FIRST='false'$/m);
        assert.match(String(resource(second, "onprem-cp-1-kubeadm").inputs.stdin), /^K8SU_SWITCH_REPOSITORY='true'$/m);
    });

    test("control plane nodes are strictly serial: kubeadm on each, then each node's kubelet, one at a time", () => {
        const chain = [
            "onprem-cp-1-kubeadm",
            "onprem-cp-2-kubeadm",
            "onprem-cp-3-kubeadm",
            ...CPS.flatMap((cp) => [
                `onprem-${cp}-drain`,
                `onprem-${cp}-kubelet`,
                `onprem-${cp}-ready`,
                `onprem-${cp}-uncordon`,
            ]),
        ];
        for (let i = 1; i < chain.length; i++)
            assert.deepEqual(
                directDeps(second, chain[i]),
                [chain[i - 1]],
                `${chain[i]} waits for ${chain[i - 1]} and nothing else`,
            );
        assert.equal(scriptKindOf(resource(second, "onprem-cp-2-drain")), "drain");
        assert.equal(env(resource(second, "onprem-cp-2-drain")).K8SU_SELECTOR, "kubernetes.io/hostname=cp-2");
    });

    test("no worker step starts before the last control plane node is done (and the CNI after it)", () => {
        assert.deepEqual(directDeps(second, "onprem-cni"), ["onprem-cp-3-uncordon"]);
        for (const w of WORKERS) {
            for (const step of ["drain", "kubelet", "ready", "uncordon"])
                assert.ok(allDeps(second, `onprem-${w}-${step}`).has("onprem-cni"), `${w} ${step}`);
        }
    });

    test("workers come in batches of workersAtOnce: a batch starts when the one before is uncordoned", () => {
        const batches = [["w-1", "w-2"], ["w-3", "w-4"], ["w-5"]];
        batches.forEach((batch, i) => {
            const before = i === 0 ? ["onprem-cni"] : batches[i - 1].map((w) => `onprem-${w}-uncordon`);
            for (const w of batch) {
                assert.deepEqual(directDeps(second, `onprem-${w}-drain`).sort(), before.sort());
                for (const other of batch.filter((o) => o !== w))
                    assert.ok(
                        !allDeps(second, `onprem-${w}-uncordon`).has(`onprem-${other}-drain`),
                        "nodes of a batch go in parallel",
                    );
            }
        });
        assert.deepEqual(directDeps(second, "onprem-versions"), ["onprem-w-5-uncordon"]);
        assert.deepEqual(directDeps(second, "onprem-validate"), ["onprem-versions"]);
    });

    test("remote scripts run as `bash -s` with the script on stdin, whatever the SSH user's login shell is", () => {
        for (const step of ["onprem-cp-1-etcd-snapshot", "onprem-cp-2-kubeadm", "onprem-w-1-kubelet"]) {
            const r = resource(second, step);
            assert.equal(r.inputs.create, "bash -s", step);
            assert.match(String(r.inputs.stdin), /^#!\/usr\/bin\/env bash\n# k8s-upgrades: kubeadm-/, step);
        }
    });

    test("each node waits for its kubelet at the exact target version, and every upgraded node is checked before validation", () => {
        const ready = resource(second, "onprem-cp-2-ready");
        assert.equal(scriptKindOf(ready), "kubeadm-wait-ready");
        assert.equal(env(ready).K8SU_TARGET_VERSION, "1.31.4");
        const versions = env(resource(second, "onprem-versions"));
        assert.equal(versions.K8SU_SELECTOR, `kubernetes.io/hostname in (${[...CPS, ...WORKERS].join(",")})`);
        assert.equal(versions.K8SU_EXPECTED_NODES, "8");
        assert.equal(versions.K8SU_TARGET_VERSION, "1.31.4");
    });

    test("the SSH key and kubeconfig stay secrets; the remote scripts hold only versions and settings", () => {
        const remote = resource(second, "onprem-cp-1-kubeadm");
        assert.ok(remote.secretPaths.includes("connection"));
        assert.doesNotMatch(String(remote.inputs.stdin), /PRIVATE KEY/);
        assert.ok(resource(second, "onprem-cp-1-drain").secretPaths.includes("environment.K8SU_KUBECONFIG_B64"));
    });

    test("the policy pack passes the chain, and refuses a worker that does not wait for the control plane", () => {
        assert.deepEqual(evaluatePolicies(second).mandatory, []);
        const early: Capture = JSON.parse(JSON.stringify(second));
        early.resources.find((r) => r.name === "onprem-w-1-drain")!.dependencies = [];
        assert.ok(
            evaluatePolicies(early).mandatory.some(
                (v) => v.policy === "workers-after-control-plane" && /onprem-w-1-kubelet/.test(v.message),
            ),
        );
        const skipped: Capture = JSON.parse(JSON.stringify(second));
        const props = skipped.resources.find((r) => r.type === "k8s-upgrades:kubeadm:Cluster")!.inputs as any;
        props.cluster.kubernetesVersion = "1.32.1";
        props.pools[0].version = "1.28.9";
        const report = evaluatePolicies(skipped);
        assert.ok(
            report.mandatory.some(
                (v) => v.policy === "control-plane-one-minor-at-a-time" && /1\.30\.6 → 1\.32\.1 skips/.test(v.message),
            ),
        );
        assert.ok(
            report.mandatory.some(
                (v) =>
                    v.policy === "planned-pools-within-skew-window" &&
                    /kubelet 1\.28 is 4 minors older/.test(v.message),
            ),
        );
    });
});

describe("kubeadm variants", () => {
    test("without a CNI command the workers follow the last control plane node directly", async () => {
        const first = await deploy([kubeadmCluster("1.30.6", {}, { cniUpgradeCommand: undefined })]);
        const second = await deploy(
            [kubeadmCluster("1.31.4", {}, { cniUpgradeCommand: undefined })],
            first.stackOutputs,
        );
        assert.equal(has(second, "onprem-cni"), false);
        assert.deepEqual(directDeps(second, "onprem-w-1-drain"), ["onprem-cp-3-uncordon"]);
    });

    test("a patch upgrade follows the same path without switching the repository", async () => {
        const first = await deploy([kubeadmCluster("1.31.2")]);
        const second = await deploy([kubeadmCluster("1.31.4")], first.stackOutputs);
        assert.equal(second.error, undefined, second.error);
        assert.match(String(resource(second, "onprem-cp-1-kubeadm").inputs.stdin), /^K8SU_SWITCH_REPOSITORY='false'$/m);
        assert.ok(has(second, "onprem-w-5-kubelet"));
        assert.equal(env(resource(second, "onprem-w-5-ready")).K8SU_TARGET_VERSION, "1.31.4", "a patch is waited for");
        assert.equal(env(resource(second, "onprem-versions")).K8SU_TARGET_VERSION, "1.31.4");
    });

    test("external etcd skips the snapshot", async () => {
        const first = await deploy([kubeadmCluster("1.30.6", {}, { etcd: { external: true } })]);
        const second = await deploy([kubeadmCluster("1.31.4", {}, { etcd: { external: true } })], first.stackOutputs);
        assert.equal(has(second, "onprem-cp-1-etcd-snapshot"), false);
        assert.deepEqual(directDeps(second, "onprem-cp-1-kubeadm"), ["onprem-preflight"]);
    });

    test("blue-green and recycle are refused: they need new machines", async () => {
        const r = await deploy([kubeadmCluster("1.30.6", { workers: { strategy: "blue-green" } })]);
        assert.match(
            r.error ?? "",
            /workers\.strategy: given "blue-green"; allowed: one of in-place for self-managed kubeadm\. blue-green and recycle need new machines, which this provider does not create/,
        );
    });

    test("a minor-only version, a worker count that does not match, and a missing key are refused", async () => {
        const r = await deploy([
            kubeadmCluster(
                "1.31",
                { nodePools: [{ name: "workers", count: 4, type: "bare-metal" }] },
                { ssh: { user: "ops", privatKey: "x" } },
            ),
        ]);
        assert.match(
            r.error ?? "",
            /field clusters\[0\]\.kubernetesVersion: given "1\.31"; allowed: a full patch version such as "1\.31\.4"/,
        );
        assert.match(
            r.error ?? "",
            /field clusters\[0\]\.nodePools\[0\]\.count: given 4; allowed: 5, the number of workerNodes in pool workers/,
        );
        assert.match(
            r.error ?? "",
            /field clusters\[0\]\.kubeadm\.ssh\.privatKey: given <redacted>; allowed: one of the keys user, port, privateKeySecret/,
        );
    });
});
