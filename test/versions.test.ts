import * as assert from "node:assert/strict";
import { test } from "node:test";
import * as fc from "fast-check";
import {
    compareMinor,
    compareVersions,
    controlPlaneTransition,
    formatMinor,
    formatVersion,
    kubeletSkew,
    maxKubeletLag,
    minorDistance,
    minorPath,
    parseProviderVersion,
    parseVersion,
    promotionRefusal,
    requireVersion,
} from "../components/versions";

const v = requireVersion;
const minorArb = fc.integer({ min: 18, max: 40 });
const versionArb = fc.record({
    major: fc.constant(1),
    minor: minorArb,
    patch: fc.option(fc.integer({ min: 0, max: 30 }), { nil: undefined }),
});

test("parses the forms config accepts and rejects the rest", () => {
    assert.deepEqual(parseVersion("1.31"), { major: 1, minor: 31, patch: undefined });
    assert.deepEqual(parseVersion("1.31.4"), { major: 1, minor: 31, patch: 4 });
    assert.deepEqual(parseVersion("v1.31.4"), { major: 1, minor: 31, patch: 4 });
    for (const bad of ["1", "1.31.4.1", "1.31-rc.1", "one.two", "", "v", "1.031", 1.31, null]) {
        assert.equal(parseVersion(bad), undefined, `should refuse ${JSON.stringify(bad)}`);
    }
});

test("property: format and parse round-trip", () => {
    fc.assert(
        fc.property(versionArb, (ver) => {
            assert.deepEqual(parseVersion(formatVersion(ver)), { ...ver });
            assert.deepEqual(parseVersion(`v${formatVersion(ver)}`), { ...ver });
        }),
    );
});

// The version-skew policy: "kube-apiserver ... must not skip minor versions when upgrading"; patches within a minor
// have no constraint; downgrades are not supported. The expected kind of each row is written out, not computed.
test("table: control plane transitions", () => {
    const rows: Array<[string, string, string]> = [
        ["1.31", "1.31", "none"],
        ["1.31.4", "1.31.4", "none"],
        ["1.31", "1.31.4", "none"],
        ["1.31.4", "1.31", "none"],
        ["1.31.2", "1.31.5", "patch"],
        ["1.31.5", "1.31.2", "downgrade"],
        ["1.30", "1.31", "minor"],
        ["1.30.9", "1.31.0", "minor"],
        ["1.30.0", "1.31.9", "minor"],
        ["1.24", "1.25", "minor"],
        ["1.30", "1.32", "skip"],
        ["1.29.3", "1.33.1", "skip"],
        ["1.31", "1.30", "downgrade"],
        ["1.31.0", "1.30.9", "downgrade"],
        ["1.31", "2.0", "major"],
    ];
    for (const [from, to, kind] of rows)
        assert.equal(controlPlaneTransition(v(from), v(to)).kind, kind, `${from} → ${to}`);
});

test("property: the transition agrees with an independent reading of the policy", () => {
    // The oracle uses only integer arithmetic on the generated parts, never the module's comparisons.
    fc.assert(
        fc.property(versionArb, versionArb, (running, target) => {
            const minors = target.minor - running.minor;
            const patchKnown = running.patch !== undefined && target.patch !== undefined;
            const patchDelta = patchKnown ? target.patch! - running.patch! : 0;
            const expected =
                minors < 0 || (minors === 0 && patchDelta < 0)
                    ? "downgrade"
                    : minors > 1
                      ? "skip"
                      : minors === 1
                        ? "minor"
                        : patchDelta > 0
                          ? "patch"
                          : "none";
            assert.equal(
                controlPlaneTransition(running, target).kind,
                expected,
                `${formatVersion(running)} → ${formatVersion(target)}`,
            );
        }),
    );
});

test("table: version order, where a minor-only version stands for any patch of it", () => {
    const rows: Array<[string, string, "<" | "=" | ">"]> = [
        ["1.30", "1.31", "<"],
        ["1.31", "1.30", ">"],
        ["1.30.12", "1.31.0", "<"],
        ["1.31.2", "1.31.10", "<"],
        ["1.31.10", "1.31.2", ">"],
        ["1.31", "1.31.7", "="],
        ["1.31.7", "1.31", "="],
        ["1.31.7", "1.31.7", "="],
        ["1.9", "1.10", "<"],
    ];
    for (const [a, b, order] of rows) {
        const c = compareVersions(v(a), v(b));
        assert.equal(c < 0 ? "<" : c > 0 ? ">" : "=", order, `${a} vs ${b}`);
    }
    assert.ok(compareMinor(v("1.31.9"), v("1.31.0")) === 0);
    assert.ok(compareMinor(v("1.9"), v("1.10")) < 0);
    assert.ok(compareMinor(v("1.10"), v("1.9")) > 0);
    assert.equal(minorDistance(v("1.29"), v("1.32")), 3);
    assert.equal(minorDistance(v("1.32"), v("1.29")), -3);
    assert.throws(() => minorDistance(v("1.31"), v("2.0")), /no major-version upgrades/);
    assert.equal(formatMinor(v("1.31.4")), "1.31");
    assert.equal(formatVersion(v("v1.31.4")), "1.31.4");
    assert.throws(() => requireVersion("1.31-rc.1"), /not a Kubernetes version: "1\.31-rc\.1"/);
});

test("table: promotion never goes past what the source runs, down to the patch", () => {
    const rows: Array<[string, string, RegExp | undefined]> = [
        ["1.31", "1.31", undefined],
        ["1.30", "1.31", undefined],
        ["1.30.9", "1.31", undefined],
        ["1.31", "1.31.4", undefined],
        ["1.31.4", "1.31.4", undefined],
        ["1.31.2", "1.31.4", undefined],
        ["1.32", "1.31", /1\.32 is a newer minor than 1\.31/],
        ["1.32.0", "1.31.9", /newer minor/],
        ["1.31.5", "1.31.4", /1\.31\.5 is a newer patch than 1\.31\.4/],
        ["1.31.5", "1.31", /1\.31\.5 pins a patch, but the source records only the minor 1\.31/],
    ];
    for (const [target, source, refusal] of rows) {
        const why = promotionRefusal(v(target), v(source));
        if (refusal) assert.match(why ?? "", refusal, `${target} from ${source}`);
        else assert.equal(why, undefined, `${target} from ${source}`);
    }
});

test("property: the path of minors has one entry per minor, in order, ending at the target", () => {
    fc.assert(
        fc.property(minorArb, fc.integer({ min: 0, max: 8 }), (from, steps) => {
            const path = minorPath({ major: 1, minor: from }, { major: 1, minor: from + steps });
            assert.equal(path.length, steps);
            path.forEach((p, i) => {
                assert.equal(p, `1.${from + i + 1}`);
            });
        }),
    );
});

// The version-skew policy's own examples and wording (kubernetes.io/releases/version-skew-policy).
test("table: kubelet window, as the policy states it", () => {
    const rows: Array<[string, string, boolean]> = [
        // "kube-apiserver is at 1.32; kubelet is supported at 1.32, 1.31, 1.30, and 1.29"
        ["1.32", "1.32", true],
        ["1.32", "1.31", true],
        ["1.32", "1.30", true],
        ["1.32", "1.29", true],
        ["1.32", "1.28", false],
        // "kubelet must not be newer than kube-apiserver"
        ["1.31", "1.32", false],
        // "kubelet < 1.25: up to two minors older"
        ["1.26", "1.24", true],
        ["1.26", "1.23", false],
        ["1.27", "1.24", false],
        ["1.28", "1.25", true],
    ];
    for (const [api, kubelet, ok] of rows)
        assert.equal(kubeletSkew(v(api), v(kubelet)).ok, ok, `apiserver ${api}, kubelet ${kubelet}`);
});

test("table: HA apiservers narrow the kubelet window", () => {
    // "kube-apiserver instances are at 1.32 and 1.31; kubelet is supported at 1.31, 1.30, and 1.29 (1.32 is not supported)"
    const api = [v("1.32"), v("1.31")];
    assert.equal(kubeletSkew(api, v("1.32")).ok, false);
    assert.equal(kubeletSkew(api, v("1.31")).ok, true);
    assert.equal(kubeletSkew(api, v("1.29")).ok, true);
    assert.equal(kubeletSkew(api, v("1.28")).ok, false);
});

test("property: kubelet skew is exactly 'not newer, at most three (two below 1.25) older'", () => {
    fc.assert(
        fc.property(minorArb, minorArb, (api, kubelet) => {
            const lag = api - kubelet;
            const expected = lag >= 0 && lag <= (kubelet < 25 ? 2 : 3);
            assert.equal(kubeletSkew({ major: 1, minor: api }, { major: 1, minor: kubelet }).ok, expected);
        }),
    );
});

test("table: how far a kubelet may lag, by its own minor", () => {
    for (const [kubelet, lag] of [
        ["1.22", 2],
        ["1.24", 2],
        ["1.25", 3],
        ["1.33", 3],
    ] as const)
        assert.equal(maxKubeletLag(v(kubelet)), lag, kubelet);
});

test("refusals explain themselves", () => {
    assert.match(kubeletSkew(v("1.31"), v("1.27")).reason, /4 minors older.*at most 3/);
    assert.match(kubeletSkew(v("1.30"), v("1.31")).reason, /kubelet 1\.31 is newer than the apiserver 1\.30/);
    assert.match(
        kubeletSkew(v("1.26"), v("1.23")).reason,
        /3 minors older.*at most 2 are supported for kubelets older than 1\.25/,
    );
    assert.equal(kubeletSkew(v("1.31"), v("1.31")).reason, "");
    assert.throws(() => kubeletSkew([], v("1.31")), /at least one apiserver/);
});

test("edges: surrounding spaces, other majors, an empty path", () => {
    assert.deepEqual(parseVersion(" 1.31.4 "), { major: 1, minor: 31, patch: 4 });
    assert.ok(compareMinor(v("2.0"), v("1.40")) > 0, "a newer major is newer whatever the minor");
    assert.ok(compareMinor(v("1.40"), v("2.0")) < 0);
    assert.equal(compareVersions(v("2.0.0"), v("1.40.9")) > 0, true);
    assert.deepEqual(minorPath(v("1.31"), v("2.2")), [], "no path of minors across majors");
    assert.deepEqual(minorPath(v("1.31"), v("1.31")), []);
    assert.deepEqual(minorPath(v("1.31"), v("1.30")), []);
    assert.equal(maxKubeletLag(v("2.3")), 3, "the two-minor rule is for 1.x below 1.25 only");
    assert.equal(controlPlaneTransition(v("1.31"), v("1.33")).kind === "skip" ? 2 : 0, 2);
    const skip = controlPlaneTransition(v("1.29"), v("1.32"));
    assert.deepEqual(skip, { kind: "skip", minors: 3, path: ["1.30", "1.31", "1.32"] });
});

test("HA apiservers in any order, and no path of minors across majors", () => {
    // "kube-apiserver instances are at 1.32 and 1.31": the order they are listed in does not matter.
    for (const api of [
        [v("1.31"), v("1.32")],
        [v("1.32"), v("1.31")],
    ]) {
        assert.equal(kubeletSkew(api, v("1.32")).ok, false);
        assert.equal(kubeletSkew(api, v("1.29")).ok, true);
        assert.equal(kubeletSkew(api, v("1.28")).ok, false);
    }
    assert.deepEqual(minorPath(v("1.1"), v("2.5")), []);
});

test("a version part beyond what a number holds exactly is no version, in config and from a provider", () => {
    // 2^53 and more: Number() would round it, so "1.9007199254740993" would read as another minor.
    for (const text of ["1.9007199254740993", "9007199254740993.31", "1.31.9007199254740993"]) {
        assert.equal(parseVersion(text), undefined, text);
        assert.equal(parseProviderVersion(`${text}-gke.1000`), undefined, text);
    }
    assert.deepEqual(parseVersion("1.9007199254740991"), { major: 1, minor: 9007199254740991, patch: undefined });
});

test("a provider's version is read with surrounding blanks, and anything not a string is no version", () => {
    assert.deepEqual(parseProviderVersion("  1.31.4-gke.1000\n"), { major: 1, minor: 31, patch: 4 });
    assert.deepEqual(parseProviderVersion(" v1.30.2+k3s1 "), { major: 1, minor: 30, patch: 2 });
    for (const value of [131, 1.31, null, undefined, { version: "1.31" }, ["1.31"]])
        assert.equal(parseProviderVersion(value), undefined, JSON.stringify(value));
});
