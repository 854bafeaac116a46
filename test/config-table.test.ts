// The contract of config refusals: each ordinary mistake with the exact messages it produces. The messages name the
// file, stack, cluster and field, say what was given (never a secret), what is allowed and what to do next.
import * as assert from "node:assert/strict";
import { test } from "node:test";
import { parseStackConfig } from "../components/config";
import { stackRefusal } from "./config-calls";
import { BAD_CONFIGS, type BadConfig, PEM, TOKEN } from "./fixtures/bad-configs";

function refusal(c: BadConfig): string[] {
    return stackRefusal(c.raw, { otherConfig: c.otherKeys, secretKeys: c.secretKeys });
}

test("the table covers at least 40 mistakes, each named once", () => {
    assert.ok(BAD_CONFIGS.length >= 40, `${BAD_CONFIGS.length} cases`);
    assert.equal(new Set(BAD_CONFIGS.map((c) => c.name)).size, BAD_CONFIGS.length);
});

for (const c of BAD_CONFIGS) {
    test(`refuses ${c.name}`, () => {
        const lines = refusal(c);
        assert.deepEqual(lines, c.expect);
        for (const line of lines) {
            assert.ok(line.startsWith('Pulumi.dev.yaml: stack "dev"'), line);
            assert.ok(!line.includes(TOKEN.slice(0, 16)), `a token leaked: ${line}`);
            assert.ok(!line.includes("BEGIN OPENSSH") && !line.includes(PEM.split("\n")[1]), `a key leaked: ${line}`);
        }
    });
}

test("refuses a secret a cluster names when it is missing, or set in plain text (never showing it)", () => {
    const kubeadm = {
        controlPlaneNodes: [{ name: "cp-1", host: "10.0.0.11" }],
        workerNodes: [{ name: "worker-1", host: "10.0.0.21" }],
        ssh: { user: "ops" },
        packageManager: "apt",
    };
    const cluster = {
        name: "metal",
        provider: "kubeadm",
        kubernetesVersion: "1.36.2",
        kubeadm,
        nodePools: [{ name: "workers", count: 1, type: "bare-metal" }],
        workers: { strategy: "in-place" },
    };
    const raw = { clusters: [cluster], sshPrivateKey: PEM };
    assert.throws(
        () => parseStackConfig("dev", raw, { secretKeys: [] }),
        (err: Error) => {
            assert.deepEqual(err.message.split("\n").slice(1), [
                '  - Pulumi.dev.yaml: stack "dev", field k8s-upgrades:sshPrivateKey: given <redacted>; allowed: a value Pulumi keeps secret. It is stored in plain text in Pulumi.dev.yaml: set it again with pulumi config set --secret sshPrivateKey < FILE, and rotate it if the file was ever committed.',
                '  - Pulumi.dev.yaml: stack "dev", field k8s-upgrades:kubeconfig: given nothing; allowed: a secret value a cluster names. Set it: pulumi config set --secret kubeconfig < FILE.',
            ]);
            return true;
        },
    );
    const accepted = parseStackConfig(
        "dev",
        { ...raw, kubeconfig: "x" },
        { secretKeys: ["sshPrivateKey", "kubeconfig"] },
    );
    assert.equal(accepted.clusters.length, 1);
});
