import * as assert from "node:assert/strict";
import { test } from "node:test";
import * as fc from "fast-check";
import {
    apiserverSkew,
    compareVersions,
    controllerSkew,
    controlPlaneTransition,
    formatVersion,
    isAllowedControlPlaneStep,
    kubectlSkew,
    kubeletSkew,
    kubeProxySkew,
    minorPath,
    oldestSupportedKubelet,
    parseVersion,
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

test("property: the control plane moves at most one minor, never down", () => {
    fc.assert(
        fc.property(versionArb, versionArb, (running, target) => {
            const allowed = isAllowedControlPlaneStep(running, target);
            const distance = target.minor - running.minor;
            const down = compareVersions(target, running) < 0;
            assert.equal(allowed, !down && distance <= 1, `${formatVersion(running)} → ${formatVersion(target)}`);
        }),
    );
});

test("transitions are named as a reviewer would name them", () => {
    assert.equal(controlPlaneTransition(v("1.31.2"), v("1.31.5")).kind, "patch");
    assert.equal(controlPlaneTransition(v("1.30"), v("1.31")).kind, "minor");
    assert.equal(controlPlaneTransition(v("1.30.9"), v("1.31.0")).kind, "minor");
    assert.equal(controlPlaneTransition(v("1.31"), v("1.31.4")).kind, "none");
    assert.equal(controlPlaneTransition(v("1.31.5"), v("1.31.2")).kind, "downgrade");
    assert.equal(controlPlaneTransition(v("1.31"), v("1.30")).kind, "downgrade");
    const skip = controlPlaneTransition(v("1.30"), v("1.32"));
    assert.equal(skip.kind, "skip");
    assert.deepEqual(skip.kind === "skip" ? skip.path : [], ["1.31", "1.32"]);
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
    assert.equal(apiserverSkew(api).ok, true);
    assert.equal(apiserverSkew([v("1.32"), v("1.30")]).ok, false);
});

test("table: controller-manager, scheduler, cloud-controller-manager, kubectl, kube-proxy", () => {
    assert.equal(controllerSkew(v("1.32"), v("1.32")).ok, true);
    assert.equal(controllerSkew(v("1.32"), v("1.31")).ok, true);
    assert.equal(controllerSkew(v("1.32"), v("1.30")).ok, false);
    assert.equal(controllerSkew(v("1.31"), v("1.32")).ok, false);
    // "kube-apiserver instances are at 1.32 and 1.31; controllers at 1.31 (1.32 is not supported)"
    assert.equal(controllerSkew([v("1.32"), v("1.31")], v("1.32")).ok, false);
    assert.equal(controllerSkew([v("1.32"), v("1.31")], v("1.31")).ok, true);
    for (const [kubectl, ok] of [
        ["1.33", true],
        ["1.32", true],
        ["1.31", true],
        ["1.30", false],
        ["1.34", false],
    ] as const) {
        assert.equal(kubectlSkew(v("1.32"), v(kubectl)).ok, ok, `kubectl ${kubectl}`);
    }
    assert.equal(kubeProxySkew(v("1.32"), v("1.29")).ok, true);
    assert.equal(kubeProxySkew(v("1.32"), v("1.28")).ok, false);
    assert.equal(kubeProxySkew(v("1.32"), v("1.33")).ok, false);
    assert.equal(kubeProxySkew(v("1.32"), v("1.32"), v("1.29")).ok, true);
    assert.equal(kubeProxySkew(v("1.26"), v("1.26"), v("1.23")).ok, false);
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

test("property: the oldest supported kubelet is supported and one older is not", () => {
    fc.assert(
        fc.property(fc.integer({ min: 20, max: 40 }), (api) => {
            const apiserver = { major: 1, minor: api };
            const oldest = oldestSupportedKubelet(apiserver);
            assert.equal(kubeletSkew(apiserver, oldest).ok, true);
            assert.equal(kubeletSkew(apiserver, { major: 1, minor: oldest.minor - 1 }).ok, false);
        }),
    );
});

test("refusals explain themselves", () => {
    assert.match(kubeletSkew(v("1.31"), v("1.27")).reason, /4 minors older.*at most 3/);
    assert.match(kubeletSkew(v("1.30"), v("1.31")).reason, /newer than the apiserver/);
});
