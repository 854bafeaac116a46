// The provider version check: refusals for versions no provider can run, warnings for ones outside the provider's
// list, never a refusal for a version that does not change, and the provider's own list preferred to the table.
import * as assert from "node:assert/strict";
import { test } from "node:test";
import {
    checkSupportedVersions,
    formatIssue,
    type ProviderName,
    parseStackConfig,
    type StackConfig,
} from "../components/config";
import { lke } from "./fixtures/bad-configs";

function stack(version: string): StackConfig {
    return parseStackConfig("dev", { clusters: [lke({ kubernetesVersion: version })] });
}

test("a version newer than any release is refused, naming the valid ones and the table's date", () => {
    const { issues, warnings } = checkSupportedVersions(stack("1.45"), {});
    assert.deepEqual(warnings, []);
    assert.equal(
        formatIssue(issues[0]),
        'Pulumi.dev.yaml: stack "dev", cluster "apps", field clusters[0].kubernetesVersion: given "1.45"; allowed: 1.35, 1.36, 1.37 on lke (as of 2026-11-30, from the LKE versioning and life cycle policy). Kubernetes 1.45 was not released as of 2026-11-30 (the newest minor was 1.37). If it has been since, update k8s-upgrades, whose version table carries that date.',
    );
});

test("a version older than any package repository is refused for a new cluster, not for one that runs it", () => {
    assert.equal(checkSupportedVersions(stack("1.20"), {}).issues.length, 1);
    assert.deepEqual(checkSupportedVersions(stack("1.20"), { apps: "1.20" }), { issues: [], warnings: [] });
});

test("a target outside the provider's list is a warning; an unchanged one is silent", () => {
    const { issues, warnings } = checkSupportedVersions(stack("1.31"), { apps: "1.30" });
    assert.deepEqual(issues, []);
    assert.deepEqual(warnings, [
        "cluster apps: Kubernetes 1.31 is not among the versions lke offers: 1.35, 1.36, 1.37 on lke (as of 2026-11-30, from the LKE versioning and life cycle policy). The provider may refuse it.",
    ]);
    assert.deepEqual(checkSupportedVersions(stack("1.31"), { apps: "1.31" }).warnings, []);
});

test("the provider's own list, read at preview time, replaces the table", () => {
    const { warnings } = checkSupportedVersions(stack("1.36"), {}, { lke: ["1.37", "1.38"] });
    assert.deepEqual(warnings, [
        "cluster apps: Kubernetes 1.36 is not among the versions lke offers: 1.37, 1.38 on lke (as listed by the lke API now). The provider may refuse it.",
    ]);
    assert.deepEqual(checkSupportedVersions(stack("1.36"), {}, { lke: ["1.36"] }).warnings, []);
});

/** One cluster of `provider` at `version`: the check reads only the cluster's name, provider and version. */
function onProvider(provider: ProviderName, version: string): StackConfig {
    return { stack: "dev", clusters: [{ name: "c", provider, kubernetesVersion: version }] } as unknown as StackConfig;
}

const WINDOWS: [ProviderName, string[], string, string][] = [
    ["lke", ["1.35", "1.36", "1.37"], "1.34", "the LKE versioning and life cycle policy"],
    [
        "eks",
        ["1.32", "1.33", "1.34", "1.35", "1.36"],
        "1.31",
        "the EKS Kubernetes version calendar (standard and extended support)",
    ],
    ["kubeadm", ["1.35", "1.36", "1.37"], "1.34", "the upstream release calendar (maintained minors)"],
    ["capi-aws", ["1.35", "1.36", "1.37"], "1.34", "the upstream release calendar (maintained minors)"],
    ["gke", ["1.35", "1.36", "1.37"], "1.34", "the upstream release calendar (maintained minors)"],
    [
        "aks",
        ["1.34", "1.35", "1.36"],
        "1.37",
        "the AKS Kubernetes release calendar (generally available minors; the upgrade profile has the last word)",
    ],
];

for (const [provider, minors, outside, source] of WINDOWS) {
    test(`${provider} offers ${minors.join(", ")} as of 2026-11-30; ${outside} is a warning naming them and the source`, () => {
        for (const m of minors)
            assert.deepEqual(checkSupportedVersions(onProvider(provider, `${m}.1`), {}), { issues: [], warnings: [] });
        assert.deepEqual(checkSupportedVersions(onProvider(provider, outside), {}), {
            issues: [],
            warnings: [
                `cluster c: Kubernetes ${outside} is not among the versions ${provider} offers: ${minors.join(", ")} on ${provider} (as of 2026-11-30, from ${source}). The provider may refuse it.`,
            ],
        });
    });
}

test("the newest released minor (1.37) is accepted; the next (1.38) is refused", () => {
    assert.deepEqual(checkSupportedVersions(stack("1.37"), {}), { issues: [], warnings: [] });
    assert.equal(checkSupportedVersions(stack("1.38"), {}).issues.length, 1);
});

test("the oldest installable minor (1.24) is a warning for a new cluster; 1.23 is refused with what to do", () => {
    const at = checkSupportedVersions(stack("1.24"), {});
    assert.deepEqual(at.issues, []);
    assert.equal(at.warnings.length, 1);
    const { issues, warnings } = checkSupportedVersions(stack("1.23"), { apps: "1.22" });
    assert.deepEqual(warnings, []);
    assert.deepEqual(
        issues.map((i) => formatIssue(i)),
        [
            'Pulumi.dev.yaml: stack "dev", cluster "apps", field clusters[0].kubernetesVersion: given "1.23"; allowed: 1.35, 1.36, 1.37 on lke (as of 2026-11-30, from the LKE versioning and life cycle policy). Kubernetes 1.23 is older than any version a provider or package repository still offers (1.24 is the oldest installable). Choose one of the versions above.',
        ],
    );
});

test("a version the check cannot read is left to the schema", () => {
    assert.deepEqual(checkSupportedVersions(onProvider("lke", "latest"), {}), { issues: [], warnings: [] });
});
