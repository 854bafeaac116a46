// Each step of a plan is marked with what `pulumi up` does to it, against the previous deployment rebuilt by
// running the program as that deployment ran: from the stack file at the commit the record names when git has
// it, else from the stack file as it is with each cluster at its recorded version.

import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import { SUPPORTED_AS_OF } from "../components/config";
import type { CapturedResource } from "../tools/capture-types";
import { planForStack } from "../tools/plan";
import { stepChanges } from "../tools/step-changes";
import { devStackAtNewestMinor } from "./helpers";

const STACKS = path.join(__dirname, "fixtures", "stacks");
const TODAY = new Date(`${SUPPORTED_AS_OF}T12:00:00Z`);

function resource(name: string, type: string, inputs: Record<string, unknown>, more: Partial<CapturedResource> = {}) {
    return {
        urn: `urn:pulumi:dev::k8s-upgrades::${type}::${name}`,
        type,
        name,
        custom: true,
        dependencies: [],
        propertyDependencies: {},
        ignoreChanges: [],
        inputs,
        secretPaths: [],
        ...more,
    } satisfies CapturedResource;
}

test("create, update, replace, delete, unchanged and import, as the engine decides them from the inputs", () => {
    const cmd = "command:local:Command";
    const pool = "linode:index/lkeNodePool:LkeNodePool";
    const before = [
        resource("same", cmd, { create: "a", environment: { X: "1" } }),
        resource("env", cmd, { create: "a", environment: { X: "1" } }),
        resource("trig", cmd, { create: "a", triggers: ["1.30"] }),
        resource("count", pool, { nodeCount: 2, type: "g6-standard-2" }),
        resource("type", pool, { nodeCount: 2, type: "g6-standard-2" }),
        resource(
            "ignored",
            "linode:index/lkeCluster:LkeCluster",
            { k8sVersion: "1.30" },
            { ignoreChanges: ["k8sVersion"] },
        ),
        resource("gone", cmd, { create: "a", delete: "b" }),
        resource("provider", "pulumi:providers:linode", {}),
    ];
    const after = [
        resource("same", cmd, { create: "a", environment: { X: "1" } }),
        resource("env", cmd, { create: "a", environment: { X: "2" } }),
        resource("trig", cmd, { create: "a", triggers: ["1.31"] }),
        resource("count", pool, { nodeCount: 3, type: "g6-standard-2" }),
        resource("type", pool, { nodeCount: 2, type: "g6-standard-4" }),
        resource(
            "ignored",
            "linode:index/lkeCluster:LkeCluster",
            { k8sVersion: "1.31" },
            { ignoreChanges: ["k8sVersion"] },
        ),
        resource("new", cmd, { create: "a" }),
        resource("adopted", pool, { nodeCount: 1 }, { importId: "1,2" }),
    ];
    const { of, deleted } = stepChanges(before, after);
    const by = Object.fromEntries(after.map((r) => [r.name, of.get(r.urn)]));
    assert.deepEqual(by, {
        same: "unchanged",
        env: "update",
        trig: "replace",
        count: "update",
        type: "replace",
        ignored: "unchanged",
        new: "create",
        adopted: "import",
    });
    assert.deepEqual(
        deleted.map((r) => r.name),
        ["gone"],
    );
    // Nothing ran before: every resource is created.
    assert.ok([...stepChanges(undefined, after.slice(0, 7)).of.values()].every((c) => c === "create"));
});

/** The folder as a git repository whose one commit holds the stack file, and the record naming that commit. */
function committed(dir: string): string {
    const git = (...args: string[]) =>
        execFileSync("git", ["-C", dir, ...args], {
            encoding: "utf8",
            env: {
                ...process.env,
                GIT_AUTHOR_NAME: "t",
                GIT_AUTHOR_EMAIL: "t@t",
                GIT_COMMITTER_NAME: "t",
                GIT_COMMITTER_EMAIL: "t@t",
            },
        }).trim();
    git("init", "-q");
    git("add", "Pulumi.dev.yaml");
    git("commit", "-q", "-m", "deployed");
    const commit = git("rev-parse", "HEAD");
    const recordFile = path.join(dir, "running", "dev.json");
    const record = JSON.parse(fs.readFileSync(recordFile, "utf8"));
    delete record.example;
    fs.writeFileSync(recordFile, JSON.stringify({ commit, ...record }, null, 2));
    return commit;
}

const editDrainTimeout = (dir: string) => {
    const file = path.join(dir, "Pulumi.dev.yaml");
    const text = fs.readFileSync(file, "utf8");
    assert.match(text, /timeoutSeconds: 300/);
    fs.writeFileSync(file, text.replace("timeoutSeconds: 300", "timeoutSeconds: 900"));
};

test("against the stack file at the record's commit, an edit other than a version marks the steps it changes", async () => {
    const dir = devStackAtNewestMinor();
    const commit = committed(dir);
    const untouched = await planForStack("dev", { stackDir: dir, today: TODAY });
    assert.match(untouched.text, /: nothing to do\. /, untouched.text);
    editDrainTimeout(dir);
    const { text, exitCode } = await planForStack("dev", { stackDir: dir, today: TODAY });
    assert.equal(exitCode, 0, text);
    assert.match(
        text,
        new RegExp(`^  changes: per step, against .*Pulumi\\.dev\\.yaml at commit ${commit.slice(0, 12)}`, "m"),
    );
    // The LKE pool's drain guard carries the drain timeout; nothing is created or deleted.
    const marked = [...text.matchAll(/^ +\d+\. (create|update|replace|import) +(\S+)/gm)].map((m) => `${m[1]} ${m[2]}`);
    assert.ok(marked.length > 0, text);
    assert.ok(
        marked.every((m) => m.startsWith("update ")),
        text,
    );
    assert.ok(
        marked.some((m) => /-drain-guard$/.test(m)),
        text,
    );
    assert.match(text, /^ {2}unchanged, not listed \(\d+\): /m);
    assert.doesNotMatch(text, /delete:/);
});

test("without the record's commit the stack file at the recorded versions stands in, and the header says so", async () => {
    const dir = devStackAtNewestMinor();
    editDrainTimeout(dir);
    // The edit cannot be seen without the stack file the deployment ran; the one line says what was compared.
    const { text } = await planForStack("dev", { stackDir: dir, today: TODAY });
    assert.equal(
        text,
        "k8s-upgrades plan for stack dev: nothing to do. No change against the previous deployment's record (its versions and pools only: the record names no commit); 10 policies evaluated, none violated.\n",
    );
    const staging = await planForStack("staging", { stackDir: STACKS, today: TODAY });
    assert.match(
        staging.text,
        /^ {2}changes: per step, against the previous deployment rebuilt from its record: Pulumi\.staging\.yaml as it is now, each cluster at its recorded version \(the record names no commit\)$/m,
    );
    const json = JSON.parse((await planForStack("dev", { stackDir: dir, today: TODAY, json: true })).text);
    assert.ok(json.steps.every((s: { change: string }) => s.change === "unchanged"));
    assert.deepEqual(json.deleted, []);
    // A record that names a commit this folder's git does not have (here: no git at all) says so, and what to do.
    const recordFile = path.join(dir, "running", "dev.json");
    const record = JSON.parse(fs.readFileSync(recordFile, "utf8"));
    delete record.example;
    fs.writeFileSync(recordFile, JSON.stringify({ commit: "0123456789abcdef0123456789abcdef01234567", ...record }));
    const missing = await planForStack("dev", { stackDir: dir, today: TODAY });
    assert.match(
        missing.text,
        /\(its versions and pools only: commit 0123456789ab or its Pulumi\.dev\.yaml is not in this clone; fetch its history for exact markers\)/,
    );
});

test("a new pool's id reads (new); an id the record holds is shown as recorded", async () => {
    const { text } = await planForStack("staging", { stackDir: STACKS, today: TODAY });
    const record = JSON.parse(fs.readFileSync(path.join(STACKS, "running", "staging.json"), "utf8"));
    const blueWeb = record.k8sUpgrades.clusters.apps.pools.find((p: { name: string }) => p.name === "web").poolId;
    assert.match(text, /apps-web-1-31-ready +wait until 3 node\(s\) of lke\.linode\.com\/pool-id=\(new\) are Ready/);
    assert.match(text, /data-general-1-31-drain-guard +drain guard for eks\.amazonaws\.com\/nodegroup=\(new\):/);
    assert.match(text, new RegExp(`apps-web-1-30-drain +drain lke\\.linode\\.com/pool-id=${blueWeb} now`));
    // The anchor pool's id is not in the record: known only at deploy time, not a number the mocks made up.
    assert.match(
        text,
        /apps-anchor-recycle +recycle the anchor pool \(tainted, no workloads\), LKE pool \(known at deploy time\),/,
    );
});
