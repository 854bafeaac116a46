// The provider version check: refusals for versions no provider can run, warnings for ones outside the provider's
// list, never a refusal for a version that does not change, and the provider's own list preferred to the table.
// The expectations are read from the table (its minors, its date, its sources), so that updating the table to what
// the providers publish changes no test; what the table itself must satisfy is checked at the end.
import * as assert from "node:assert/strict";
import { test } from "node:test";
import {
    checkSupportedVersions,
    formatIssue,
    NEWEST_RELEASED_MINOR,
    OLDEST_INSTALLABLE_MINOR,
    PROVIDER_VERSIONS,
    type ProviderName,
    parseStackConfig,
    type StackConfig,
    SUPPORTED_AS_OF,
} from "../components/config";
import { compareMinor, formatMinor, parseVersion } from "../components/versions";
import { oldestOfferedMinor } from "../policy/supported-versions";
import { lke } from "./fixtures/bad-configs";

/** The minor `steps` after (or before, when negative) `minor`. */
function shift(minor: string, steps: number): string {
    const v = parseVersion(minor)!;
    return formatMinor({ major: v.major, minor: v.minor + steps });
}

const LKE = PROVIDER_VERSIONS.lke;
const lkeValid = `${LKE.minors.join(", ")} on lke (as of ${SUPPORTED_AS_OF}, from ${LKE.source})`;
const lkeOldest = LKE.minors[0];

function stack(version: string): StackConfig {
    return parseStackConfig("dev", { clusters: [lke({ kubernetesVersion: version })] });
}

test("a version newer than any release is refused, naming the valid ones and the table's date", () => {
    const unreleased = shift(NEWEST_RELEASED_MINOR, 8);
    const { issues, warnings } = checkSupportedVersions(stack(unreleased), {});
    assert.deepEqual(warnings, []);
    assert.equal(
        formatIssue(issues[0]),
        `Pulumi.dev.yaml: stack "dev", cluster "apps", field clusters[0].kubernetesVersion: given "${unreleased}"; allowed: ${lkeValid}. Kubernetes ${unreleased} was not released as of ${SUPPORTED_AS_OF} (the newest minor was ${NEWEST_RELEASED_MINOR}). If it has been since, update k8s-upgrades, whose version table carries that date.`,
    );
});

test("a version older than any package repository is refused for a new cluster, not for one that runs it", () => {
    const ancient = shift(OLDEST_INSTALLABLE_MINOR, -4);
    assert.equal(checkSupportedVersions(stack(ancient), {}).issues.length, 1);
    assert.deepEqual(checkSupportedVersions(stack(ancient), { apps: ancient }), { issues: [], warnings: [] });
});

test("a target outside the provider's list is a warning; an unchanged one is silent", () => {
    const retired = shift(lkeOldest, -1);
    const { issues, warnings } = checkSupportedVersions(stack(retired), { apps: shift(retired, -1) });
    assert.deepEqual(issues, []);
    assert.deepEqual(warnings, [
        `cluster apps: Kubernetes ${retired} is not among the versions lke offers: ${lkeValid}. The provider may refuse it.`,
    ]);
    assert.deepEqual(checkSupportedVersions(stack(retired), { apps: retired }).warnings, []);
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

for (const [provider, { minors, source }] of Object.entries(PROVIDER_VERSIONS) as [
    ProviderName,
    { minors: string[]; source: string },
][]) {
    test(`${provider}: each listed minor passes; the minor before the oldest is a warning naming the list, the date and the source`, () => {
        for (const m of minors)
            assert.deepEqual(checkSupportedVersions(onProvider(provider, `${m}.1`), {}), { issues: [], warnings: [] });
        const outside = shift(minors[0], -1);
        assert.deepEqual(checkSupportedVersions(onProvider(provider, outside), {}), {
            issues: [],
            warnings: [
                `cluster c: Kubernetes ${outside} is not among the versions ${provider} offers: ${minors.join(", ")} on ${provider} (as of ${SUPPORTED_AS_OF}, from ${source}). The provider may refuse it.`,
            ],
        });
    });
}

test("the newest released minor is accepted; the next one is refused", () => {
    assert.deepEqual(checkSupportedVersions(stack(NEWEST_RELEASED_MINOR), {}).issues, []);
    assert.equal(checkSupportedVersions(stack(shift(NEWEST_RELEASED_MINOR, 1)), {}).issues.length, 1);
});

test("the oldest installable minor is a warning for a new cluster; the one before is refused with what to do", () => {
    const at = checkSupportedVersions(stack(OLDEST_INSTALLABLE_MINOR), {});
    assert.deepEqual(at.issues, []);
    assert.equal(at.warnings.length, 1);
    const before = shift(OLDEST_INSTALLABLE_MINOR, -1);
    const { issues, warnings } = checkSupportedVersions(stack(before), { apps: shift(before, -1) });
    assert.deepEqual(warnings, []);
    assert.deepEqual(
        issues.map((i) => formatIssue(i)),
        [
            `Pulumi.dev.yaml: stack "dev", cluster "apps", field clusters[0].kubernetesVersion: given "${before}"; allowed: ${lkeValid}. Kubernetes ${before} is older than any version a provider or package repository still offers (${OLDEST_INSTALLABLE_MINOR} is the oldest installable). Choose one of the versions above.`,
        ],
    );
});

test("a version the check cannot read is left to the schema", () => {
    assert.deepEqual(checkSupportedVersions(onProvider("lke", "latest"), {}), { issues: [], warnings: [] });
});

test("the table is well formed: a real date, each provider's minors oldest first without gaps, none unreleased or uninstallable", () => {
    assert.match(SUPPORTED_AS_OF, /^\d{4}-\d{2}-\d{2}$/);
    assert.equal(new Date(`${SUPPORTED_AS_OF}T00:00:00Z`).toISOString().slice(0, 10), SUPPORTED_AS_OF);
    const newest = parseVersion(NEWEST_RELEASED_MINOR)!;
    const oldest = parseVersion(OLDEST_INSTALLABLE_MINOR)!;
    for (const [provider, { minors, source }] of Object.entries(PROVIDER_VERSIONS)) {
        assert.ok(minors.length > 0 && source.length > 0, provider);
        const parsed = minors.map((m) => parseVersion(m)!);
        assert.deepEqual(
            parsed.map((v) => formatMinor(v)),
            minors,
            `${provider}: minors are written as minors`,
        );
        for (const [i, v] of parsed.entries()) {
            assert.ok(compareMinor(v, newest) <= 0, `${provider}: ${minors[i]} is newer than ${NEWEST_RELEASED_MINOR}`);
            assert.ok(compareMinor(v, oldest) >= 0, `${provider}: ${minors[i]} cannot be installed`);
            if (i > 0) assert.equal(v.minor, parsed[i - 1].minor + 1, `${provider}: ${minors.join(", ")} has a gap`);
        }
        assert.equal(oldestOfferedMinor(provider), minors[0]);
    }
    assert.equal(oldestOfferedMinor("openshift"), undefined);
});
