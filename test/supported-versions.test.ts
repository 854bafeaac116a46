// The provider version check: refusals for versions no provider can run, warnings for ones outside the provider's
// list, never a refusal for a version that does not change, and the provider's own list preferred to the table.
import * as assert from "node:assert/strict";
import { test } from "node:test";
import { checkSupportedVersions, formatIssue, parseStackConfig, type StackConfig } from "../components/config";
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
