// One command-line behaviour in every command, the policy pack's k8s-upgrades-running-versions included: --help
// prints the usage and exits 0; the usage line lists every option; a misspelt stack, cluster or option is a usage
// error (exit 2) that names the closest one; refusals exit 1; promote says which files it read and wrote; a
// --previous (or promote's --source-outputs) record of another stack is refused.

import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import { runningVersionsCommand } from "../policy/running-versions";
import { type Command, didYouMean } from "../tools/cli";
import { clusterCommand } from "../tools/cluster";
import { ROOT } from "../tools/harness";
import { planCommand } from "../tools/plan";
import { promoteCommand } from "../tools/promote";
import { rehearseCommand } from "../tools/rehearse";
import { restoreCommand } from "../tools/restore";
import { runScript, runTool } from "./fixture/run-tool";

const STACKS = path.join(ROOT, "test", "fixtures", "stacks");
const SNAPSHOTS = path.join(ROOT, "test", "fixtures", "snapshots");

const run = runTool;

const COMMANDS = [
    planCommand,
    rehearseCommand,
    promoteCommand,
    restoreCommand,
    clusterCommand,
    runningVersionsCommand,
] as Array<Command<unknown>>;

const RUNNING_VERSIONS = "policy/running-versions.ts";
const runningVersions = (args: string[], input = "") => runScript(RUNNING_VERSIONS, args, input);

test("every command's usage line and --help list every option it takes, and no other", () => {
    for (const cmd of COMMANDS) {
        for (const option of Object.keys(cmd.options)) {
            assert.match(cmd.usage, new RegExp(`--${option}\\b`), `${cmd.name}: usage lacks --${option}`);
            assert.ok(
                cmd.help.some(([flag]) => flag.startsWith(`--${option}`)),
                `${cmd.name}: --help lacks --${option}`,
            );
        }
        assert.ok(
            cmd.help.some(([flag]) => flag === "-h, --help"),
            `${cmd.name}: --help does not list -h, --help`,
        );
        const known = new Set([...Object.keys(cmd.options), "help"]);
        for (const [, flag] of cmd.usage.matchAll(/--([a-z][a-z-]*)/g))
            assert.ok(known.has(flag), `${cmd.name}: its usage names --${flag}, which it does not take`);
    }
});

test("--help prints the usage line and the options on standard output and exits 0, in every command", async () => {
    const results = await Promise.all([
        ...["plan", "rehearse", "promote", "restore", "cluster"].map((tool) => run(tool, "--help")),
        runningVersions(["--help"]),
        runningVersions(["-h"]),
    ]);
    const names = ["plan", "rehearse", "promote", "restore", "cluster", "running-versions", "running-versions -h"];
    for (const [i, r] of results.entries()) {
        assert.equal(r.code, 0, `${names[i]}: ${r.err}`);
        assert.match(r.out, /^usage: \S/, names[i]);
        assert.match(r.out, /^options:$/m, names[i]);
        assert.match(r.out, /^exit codes: 0 /m, names[i]);
        assert.equal(r.err, "", names[i]);
    }
    assert.match(results[5].out, /^usage: pulumi stack export -s STACK \| k8s-upgrades-running-versions/);
});

test("did you mean: a typo finds its word, another word finds none", () => {
    assert.equal(didYouMean("stagin", ["dev", "prod", "staging"]), " (did you mean staging?)");
    assert.equal(didYouMean("--mark-down", ["--markdown", "--json"]), " (did you mean --markdown?)");
    assert.equal(didYouMean("qa", ["dev", "prod", "staging"]), "");
    assert.equal(didYouMean("x", []), "");
});

test("a misspelt stack is a usage error naming the closest stack, in every command", async () => {
    const results = await Promise.all([
        run("plan", "stagin", "--stack-dir", STACKS),
        run("rehearse", "rehearsal", "--snapshot", path.join(SNAPSHOTS, "healthy.json"), "--stack-dir", SNAPSHOTS),
        run("promote", "stagin", "--dry-run", "--stack-dir", STACKS),
        run("restore", "stagin", "--cluster", "apps", "--snapshot", "/s", "--version", "1.30.6", "--stack-dir", STACKS),
    ]);
    for (const [i, r] of results.entries()) {
        assert.equal(r.code, 2, `${i}: ${r.err}`);
        assert.match(r.err, /no stack "\w+" \(did you mean (staging|rehearse)\?\): stacks are /);
        assert.match(r.err, /^usage: npm run /m);
        assert.doesNotMatch(r.err, /\n\s+at /, "no stack trace");
    }
});

test("a misspelt option is a usage error naming the closest option, in every command", async () => {
    const results = await Promise.all([
        run("plan", "staging", "--mark-down", "--stack-dir", STACKS),
        run("rehearse", "rehearse", "--snapshott", "x"),
        run("promote", "staging", "--dryrun"),
        run("restore", "dev", "--confrim", "x"),
    ]);
    const expected = ["--markdown", "--snapshot", "--dry-run", "--confirm"];
    for (const [i, r] of results.entries()) {
        assert.equal(r.code, 2, r.err);
        assert.match(r.err, new RegExp(`unknown option \\S+ \\(did you mean ${expected[i]}\\?\\)`), r.err);
    }
});

test("an unknown cluster is a usage error naming the closest cluster", async () => {
    const [rehearse, restore] = await Promise.all([
        run(
            "rehearse",
            "rehearse",
            "--cluster",
            "app",
            "--snapshot",
            path.join(SNAPSHOTS, "healthy.json"),
            "--stack-dir",
            SNAPSHOTS,
        ),
        run("restore", "staging", "--cluster", "dta", "--snapshot", "/s", "--version", "1.30.6", "--stack-dir", STACKS),
    ]);
    assert.equal(rehearse.code, 2, rehearse.err);
    assert.match(rehearse.err, /--cluster app: stack rehearse has no such cluster \(did you mean apps\?\)/);
    assert.equal(restore.code, 2, restore.err);
    assert.match(
        restore.err,
        /--cluster dta: stack staging has no such cluster \(did you mean data\?\); its clusters: apps, data/,
    );
});

test("promote names the files it read and the file it wrote, and says when it wrote nothing", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "k8s-upgrades-cli-"));
    for (const f of ["Pulumi.staging.yaml", "Pulumi.dev.yaml"])
        fs.copyFileSync(path.join(STACKS, f), path.join(dir, f));
    fs.mkdirSync(path.join(dir, "running"));
    const record = JSON.parse(fs.readFileSync(path.join(STACKS, "running", "dev.json"), "utf8"));
    const { example: _, ...deployed } = record;
    fs.writeFileSync(path.join(dir, "running", "dev.json"), JSON.stringify({ commit: "abc123", ...deployed }));
    const staging = path.join(dir, "Pulumi.staging.yaml");
    fs.writeFileSync(
        staging,
        fs.readFileSync(staging, "utf8").replaceAll('kubernetesVersion: "1.31"', 'kubernetesVersion: "1.30"'),
    );
    const wrote = await run("promote", "staging", "--stack-dir", dir);
    assert.equal(wrote.code, 0, wrote.err);
    assert.match(wrote.err, /^read: .*Pulumi\.staging\.yaml$/m);
    assert.match(wrote.err, /^source outputs: running\/dev\.json \(recorded by the deployment of commit abc123\)/m);
    assert.match(wrote.err, /^wrote: .*Pulumi\.staging\.yaml$/m);
    const again = await run("promote", "staging", "--stack-dir", dir);
    assert.equal(again.code, 0, again.err);
    assert.match(again.err, /^no change: nothing was written$/m);
    assert.doesNotMatch(again.err, /^wrote:/m);
});

test("a --previous record of another stack is refused (exit 1), in plan and rehearse", async () => {
    const other = path.join(STACKS, "running", "dev.json");
    const [plan, rehearse] = await Promise.all([
        run("plan", "staging", "--previous", other, "--stack-dir", STACKS),
        run(
            "rehearse",
            "rehearse",
            "--previous",
            other,
            "--snapshot",
            path.join(SNAPSHOTS, "healthy.json"),
            "--stack-dir",
            SNAPSHOTS,
        ),
    ]);
    for (const r of [plan, rehearse]) {
        assert.equal(r.code, 1, r.err);
        assert.match(r.err, /dev\.json is the record of stack "dev", not of stack "(staging|rehearse)"/);
    }
});

/** A `pulumi stack export` with one EKS control plane whose recorded outputs say `version`. */
function stackExport(version: unknown): string {
    return JSON.stringify({
        version: 3,
        deployment: {
            resources: [
                {
                    urn: "urn:pulumi:prod::platform::aws:eks/cluster:Cluster::prod",
                    type: "aws:eks/cluster:Cluster",
                    outputs: version === undefined ? {} : { version },
                },
            ],
        },
    });
}

test("k8s-upgrades-running-versions: exit 0 with the config, 2 for usage errors, 1 when it refuses", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "k8s-upgrades-rv-"));
    const config = path.join(dir, "policy-prod.json");
    fs.writeFileSync(
        config,
        JSON.stringify({ "sane-drain-settings": "mandatory", "control-plane-one-minor-at-a-time": "mandatory" }),
    );
    const [done, misspelt, extra, missing, notJson, notExport, unreadable] = await Promise.all([
        runningVersions([config], stackExport("1.35")),
        runningVersions(["--hepl"], stackExport("1.35")),
        runningVersions([config, config], stackExport("1.35")),
        runningVersions([path.join(dir, "nope.json")], stackExport("1.35")),
        runningVersions([], "not json"),
        runningVersions([], "{}"),
        runningVersions([], stackExport(undefined)),
    ]);
    assert.equal(done.code, 0, done.err);
    assert.deepEqual(JSON.parse(done.out), {
        "sane-drain-settings": "mandatory",
        "control-plane-one-minor-at-a-time": { enforcementLevel: "mandatory", runningVersions: { prod: "1.35" } },
    });
    assert.equal(misspelt.code, 2, misspelt.err);
    assert.match(misspelt.err, /^k8s-upgrades-running-versions: unknown option --hepl \(did you mean --help\?\)$/m);
    assert.match(misspelt.err, /^usage: pulumi stack export -s STACK \| k8s-upgrades-running-versions/m);
    for (const [r, message] of [
        [extra, /give at most one policy config file/],
        [missing, /nope\.json: no such file/],
        [notJson, /standard input is not JSON/],
        [notExport, /standard input is not a `pulumi stack export` document/],
    ] as const) {
        assert.equal(r.code, 2, r.err);
        assert.match(r.err, message);
        assert.match(r.err, /^usage: /m);
        assert.doesNotMatch(r.err, /\n\s+at /, "no stack trace");
    }
    assert.equal(unreadable.code, 1, unreadable.err);
    assert.match(unreadable.err, /aws:eks\/cluster:Cluster::prod: no readable running version/);
    assert.doesNotMatch(unreadable.err, /^usage: /m, "a refusal is not a usage error");
    assert.equal(unreadable.out, "", "nothing is printed when it refuses");
});

test("refusals exit 1 in every command that can refuse", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "k8s-upgrades-cli-"));
    fs.copyFileSync(path.join(STACKS, "Pulumi.prod.yaml"), path.join(dir, "Pulumi.prod.yaml"));
    fs.cpSync(path.join(STACKS, "running"), path.join(dir, "running"), { recursive: true });
    // prod skips a minor: the program refuses its config.
    const prod = path.join(dir, "Pulumi.prod.yaml");
    fs.writeFileSync(
        prod,
        fs.readFileSync(prod, "utf8").replaceAll('kubernetesVersion: "1.30"', 'kubernetesVersion: "1.32"'),
    );
    const [plan, restore] = await Promise.all([
        run("plan", "prod", "--stack-dir", dir),
        run(
            "restore",
            "staging",
            "--cluster",
            "apps",
            "--snapshot",
            "/var/lib/etcd-before-v1.31.4-20261122T041500Z.db",
            "--version",
            "1.30.6",
            "--stack-dir",
            STACKS,
        ),
    ]);
    assert.equal(plan.code, 1, plan.err);
    assert.match(plan.out, /^Refused$/m);
    assert.equal(restore.code, 1, restore.err);
    assert.match(restore.err, /cluster "apps" of stack "staging" is provider lke: a managed control plane/);
    assert.doesNotMatch(restore.err, /^usage: /m);
});

test("promote refuses (exit 1, nothing written) --source-outputs that are the record of another stack, naming both", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "k8s-upgrades-cli-"));
    for (const f of ["Pulumi.staging.yaml", "Pulumi.dev.yaml"])
        fs.copyFileSync(path.join(STACKS, f), path.join(dir, f));
    const before = fs.readFileSync(path.join(dir, "Pulumi.staging.yaml"), "utf8");
    // staging promotes from dev; prod's record is given instead.
    const other = path.join(STACKS, "running", "prod.json");
    const [text, json] = await Promise.all([
        run("promote", "staging", "--source-outputs", other, "--stack-dir", dir),
        run("promote", "staging", "--source-outputs", other, "--stack-dir", dir, "--json"),
    ]);
    assert.equal(text.code, 1, text.err);
    assert.match(
        text.err,
        new RegExp(
            `^ {2}- --source-outputs ${other.replaceAll(".", "\\.")} is the record of stack "prod", not of stack "dev" \\(the stack staging promotes from\\): give the outputs of stack "dev"`,
            "m",
        ),
    );
    assert.match(text.err, /^promotion of stack "staging" refused; nothing was written:$/m);
    assert.equal(json.code, 1, json.err);
    const doc = JSON.parse(json.out);
    assert.equal(doc.written, false);
    assert.match(doc.refusals[0].message, /is the record of stack "prod", not of stack "dev"/);
    assert.equal(fs.readFileSync(path.join(dir, "Pulumi.staging.yaml"), "utf8"), before, "the stack file is untouched");
});

test("a file an option names that is missing or not JSON is a usage error (exit 2) naming the option or the file", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "k8s-upgrades-cli-"));
    const garbage = path.join(dir, "outputs.json");
    fs.writeFileSync(garbage, "k8sUpgrades: not json\n");
    const [plan, rehearse, promote, restore] = await Promise.all([
        run("plan", "staging", "--previous", garbage, "--stack-dir", STACKS),
        run(
            "rehearse",
            "rehearse",
            "--previous",
            garbage,
            "--snapshot",
            path.join(SNAPSHOTS, "healthy.json"),
            "--stack-dir",
            SNAPSHOTS,
        ),
        run("promote", "staging", "--source-outputs", garbage, "--dry-run", "--stack-dir", STACKS),
        run(
            "restore",
            "staging",
            "--cluster",
            "apps",
            "--snapshot",
            "/s",
            "--version",
            "1.30.6",
            "--identity",
            path.join(dir, "id_missing"),
            "--stack-dir",
            STACKS,
        ),
    ]);
    for (const r of [plan, rehearse, promote]) {
        assert.equal(r.code, 2, r.err);
        assert.match(r.err, new RegExp(`${garbage.replaceAll(".", "\\.")} is not JSON \\(`));
        assert.match(r.err, /^usage: npm run /m);
    }
    assert.equal(restore.code, 2, restore.err);
    assert.match(restore.err, /--identity \S+id_missing: no such file/);
});
