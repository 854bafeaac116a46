// --json on plan, rehearse and promote: one JSON document per run, valid against schema/command-output.schema.json
// (compiled by ajv in strict mode), with the same exit code as the text output: steps with level, kind, target and
// description; the changes; the policy verdicts; refusals with field paths; the rehearsal's findings.

import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import Ajv from "ajv";
import { ROOT } from "../tools/harness";
import { runTool } from "./fixture/run-tool";

const STACKS = path.join(ROOT, "test", "fixtures", "stacks");
const SNAPSHOTS = path.join(ROOT, "test", "fixtures", "snapshots");
const SCHEMA = JSON.parse(fs.readFileSync(path.join(ROOT, "schema", "command-output.schema.json"), "utf8"));
const validate = new Ajv({ strict: true, allErrors: true }).compile(SCHEMA);

const run = runTool;

/** One document on standard output, valid against the schema, whose exit code is the process's. */
// A parsed document, read field by field.
type Doc = Record<string, any>;
function document(r: { code: number; out: string; err: string }): Doc {
    const doc: Doc = JSON.parse(r.out);
    const valid = validate(JSON.parse(r.out));
    assert.ok(valid, `${JSON.stringify(validate.errors, null, 2)}\n${r.out}`);
    assert.equal(doc.exitCode, r.code, r.err);
    return doc;
}

test("plan --json: the staging upgrade's steps, changes and policy verdicts, exit 0 as the text", async () => {
    const [json, text] = await Promise.all([
        run("plan", "staging", "--json", "--stack-dir", STACKS),
        run("plan", "staging", "--stack-dir", STACKS),
    ]);
    assert.equal(json.code, text.code);
    const doc = document(json);
    assert.equal(doc.command, "plan");
    assert.equal(doc.outcome, "ok");
    assert.deepEqual(doc.clusters, ["apps", "data"]);
    const drain = doc.steps.find((s: { name: string }) => s.name === "apps-web-1-30-drain");
    assert.deepEqual(
        { level: drain.level > 1, kind: drain.kind, target: drain.target },
        { level: true, kind: "drain", target: "apps" },
    );
    assert.match(drain.description, /^drain lke\.linode\.com\/pool-id=\d+ now/);
    assert.ok(doc.steps.some((s: { kind: string }) => s.kind === "aws:eks/cluster:Cluster"));
    assert.deepEqual(doc.changes[0], { action: "update", text: "cluster apps: control plane 1.30 → 1.31" });
    assert.ok(doc.changes.some((c: { action: string }) => c.action === "delete"));
    assert.equal(doc.policies.mandatory.length, 0);
    assert.ok(doc.policies.evaluated > 0);
    // Every step the text lists is in the document, in the same order and with the same change; the text names
    // the unchanged ones in one line, the document lists them too, marked unchanged.
    const listed = [...text.out.matchAll(/^ +\d+\. (create|update|replace|import) +(\S+)/gm)].map((m) => [m[2], m[1]]);
    const steps = doc.steps as Array<{ name: string; change: string }>;
    assert.deepEqual(
        steps.filter((s) => s.change !== "unchanged").map((s) => [s.name, s.change]),
        listed,
    );
    const unchanged = steps.filter((s) => s.change === "unchanged").map((s) => s.name);
    assert.ok(unchanged.length > 0);
    assert.ok(text.out.includes(`unchanged, not listed (${unchanged.length}): ${unchanged.join(", ")}`), text.out);
    assert.ok(steps.some((s) => s.name === "apps-web-1-31" && s.change === "create"));
    assert.ok(steps.some((s) => s.name === "data" && s.change === "update"));
    // What the previous deployment had and this one does not: the blue pools and their drain guards.
    const deleted = (doc.deleted as Array<{ name: string; kind: string }>).map((d) => [d.name, d.kind]);
    assert.deepEqual(deleted.filter(([n]) => n.startsWith("apps-web-1-30")).sort(), [
        ["apps-web-1-30", "linode:index/lkeNodePool:LkeNodePool"],
        ["apps-web-1-30-drain-guard", "drain"],
    ]);
});

test("plan --json of a refused config: exit 1, each refusal with its field path", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "k8s-upgrades-json-"));
    const prod = fs
        .readFileSync(path.join(STACKS, "Pulumi.prod.yaml"), "utf8")
        .replace('kubernetesVersion: "1.30"', 'kubernetesVersion: "1.31"');
    fs.writeFileSync(path.join(dir, "Pulumi.prod.yaml"), prod);
    fs.cpSync(path.join(STACKS, "running"), path.join(dir, "running"), { recursive: true });
    const r = await run("plan", "prod", "--json", "--stack-dir", dir);
    assert.equal(r.code, 1, r.err);
    const doc = document(r);
    assert.equal(doc.outcome, "refused");
    assert.deepEqual(
        doc.refusals.map((x: { field: string; cluster: string }) => [x.field, x.cluster]),
        [["clusters[0].kubernetesVersion", "apps"]],
    );
    assert.match(doc.refusals[0].message, /allowed: at most 1\.30, what stack "staging" runs/);
});

test("rehearse --json: the findings, and exit 1 when a budget would block the drain, as the text", async () => {
    // The timing the rehearsal tests use: pods leave and come back quickly, as on the test API server.
    const timing = ["--node-ready-seconds", "0", "--pod-exit-seconds", "0.05", "--pod-ready-seconds", "0.35"];
    const args = ["rehearse", "--stack-dir", SNAPSHOTS, "--cluster", "apps", ...timing, "--json", "--snapshot"];
    const [healthy, blocked] = await Promise.all([
        run("rehearse", ...args, path.join(SNAPSHOTS, "healthy.json")),
        run("rehearse", ...args, path.join(SNAPSHOTS, "blocking-pdb.json")),
    ]);
    const pass = document(healthy);
    assert.equal(pass.command, "rehearse");
    assert.equal(pass.findings.wouldFail, false);
    assert.ok(pass.findings.phases.length > 0);
    const fail = document(blocked);
    assert.equal(blocked.code, 1);
    assert.equal(fail.findings.wouldFail, true);
    assert.ok(fail.findings.blockers.some((b: { kind: string }) => b.kind === "budget"));
});

test("promote --json: the diff, the files read and whether it wrote; a refusal exits 1", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "k8s-upgrades-json-"));
    for (const f of ["Pulumi.staging.yaml", "Pulumi.dev.yaml"])
        fs.copyFileSync(path.join(STACKS, f), path.join(dir, f));
    fs.cpSync(path.join(STACKS, "running"), path.join(dir, "running"), { recursive: true });
    const dry = await run("promote", "staging", "--dry-run", "--json", "--stack-dir", dir);
    const doc = document(dry);
    assert.equal(doc.command, "promote");
    assert.equal(doc.source, "dev");
    assert.equal(doc.written, false);
    assert.equal(doc.file, path.join(dir, "Pulumi.staging.yaml"));
    assert.match(doc.sourceOutputs, /running\/dev\.json/);
    // The example record is not what a deployment recorded: a real promotion refuses it.
    const refused = await run("promote", "staging", "--json", "--stack-dir", dir);
    assert.equal(refused.code, 1);
    const no = document(refused);
    assert.equal(no.outcome, "refused");
    assert.match(no.refusals[0].message, /is not what a deployment recorded/);
});
