// The shell mutation runner's own rules: which mutants it makes, how it samples them, which tests judge them.
import * as assert from "node:assert/strict";
import { test } from "node:test";
import { mutantsOf, sample, testFilesFor } from "../tools/mutate-scripts";

const SCRIPT = [
    "# a comment is never mutated",
    'kubectl uncordon "$node" --request-timeout=5s',
    'if [ "$left" -eq 0 ]; then',
    "  exit 1",
    "fi",
].join("\n");

test("each operator makes the mutants it names, and none on comments or block structure", () => {
    const got = mutantsOf("x.sh", SCRIPT).map((m) => `${m.line} ${m.operator} ${m.mutated.trim()}`);
    assert.deepEqual(got, [
        "2 drop-line ",
        '2 drop-flag kubectl uncordon "$node"',
        '2 swap-cordon kubectl cordon "$node" --request-timeout=5s',
        '3 flip-comparison if [ "$left" -ne 0 ]; then',
        "4 drop-line ",
        "4 exit-status exit 0",
    ]);
});

test("the sample gives every script a mutant before any gets a second, and repeats with its seed", () => {
    const all = ["a.sh", "b.sh", "c.sh"].flatMap((s) => mutantsOf(s, SCRIPT));
    const picked = sample(all, 3, 7);
    assert.deepEqual(picked.map((m) => m.script).sort(), ["a.sh", "b.sh", "c.sh"]);
    assert.deepEqual(
        sample(all, 9, 7).map((m) => m.id),
        sample(all, 9, 7).map((m) => m.id),
    );
    // Within a script, operators take turns: the first mutants of a script are of different operators.
    const ofA = sample(all, 12, 7).filter((m) => m.script === "a.sh");
    assert.equal(new Set(ofA.slice(0, 4).map((m) => m.operator)).size, 4);
    assert.equal(sample(all, 100, 1).length, all.length);
});

test("a script's mutants are judged by the tests that run it", () => {
    assert.deepEqual(testFilesFor("kubeadm-kubelet.sh"), ["test/kubeadm-scripts.test.ts"]);
    assert.deepEqual(testFilesFor("kubeadm-etcd-restore.sh"), [
        "test/kubeadm-scripts.test.ts",
        "test/kubeadm-restore.test.ts",
    ]);
    assert.ok(testFilesFor("kubeadm-lib.sh").includes("test/kubeadm-restore.test.ts"));
    assert.ok(testFilesFor("capi-retire.sh").includes("test/capi.test.ts"));
    assert.ok(testFilesFor("eks-nodegroup-version.sh").includes("test/eks.test.ts"));
    assert.ok(testFilesFor("lke-shrink-pool.sh").includes("test/shrink.test.ts"));
    for (const file of ["test/script-regressions.test.ts", "test/scripts.test.ts", "test/eviction-rules.test.ts"])
        assert.ok(testFilesFor("drain.sh").includes(file), file);
    assert.ok(testFilesFor("lib.sh").includes("test/kubeadm-scripts.test.ts"));
    for (const file of ["test/real-checks.test.ts", "test/real-drain.test.ts", "test/real-faults.test.ts"])
        assert.ok(testFilesFor("lib.sh").includes(file), file);
    assert.ok(testFilesFor("kubeadm-wait-ready.sh").includes("test/real-checks.test.ts"));
    // The LKE scripts are judged by their tests against the Linode API stand-in on the real control plane.
    for (const script of ["lke-control-plane.sh", "lke-in-place.sh", "lke-recycle-pool.sh", "lib.sh"])
        assert.ok(testFilesFor(script).includes("test/real-lke.test.ts"), script);
    assert.ok(!testFilesFor("lke-shrink-pool.sh").includes("test/real-lke.test.ts"));
    // And by their fault matrix, which runs them and lib.sh only.
    for (const script of ["lke-control-plane.sh", "lke-in-place.sh", "lke-recycle-pool.sh", "lib.sh"])
        assert.ok(testFilesFor(script).includes("test/lke-faults.test.ts"), script);
    for (const script of ["lke-shrink-pool.sh", "drain.sh"])
        assert.ok(!testFilesFor(script).includes("test/lke-faults.test.ts"), script);
    assert.ok(testFilesFor("lib.sh").includes("test/shrink.test.ts"));
    for (const file of ["test/real-lke.test.ts", "test/shrink.test.ts"])
        assert.ok(!testFilesFor("drain.sh").includes(file), `drain.sh is not run by ${file}`);
    // The regression tests, which name single bugs, come before the broad ones; the mutant kills before the other
    // real-cluster files, and the fault matrix, the longest, last.
    const forDrain = testFilesFor("drain.sh");
    assert.ok(forDrain.indexOf("test/script-regressions.test.ts") < forDrain.indexOf("test/mutant-kills.test.ts"));
    assert.ok(forDrain.indexOf("test/mutant-kills.test.ts") < forDrain.indexOf("test/real-drain.test.ts"));
    assert.equal(forDrain.at(-1), "test/faults.test.ts");
    const forInPlace = testFilesFor("lke-in-place.sh");
    assert.ok(forInPlace.indexOf("test/mutant-kills.test.ts") < forInPlace.indexOf("test/real-lke.test.ts"));
    assert.ok(forInPlace.indexOf("test/real-lke.test.ts") < forInPlace.indexOf("test/lke-faults.test.ts"));
    assert.deepEqual(forInPlace.slice(-2), ["test/lke-faults.test.ts", "test/faults.test.ts"]);
});
