// One command-line behaviour in every command: the usage line lists every option; a misspelt stack, cluster or
// option is a usage error (exit 2) that names the closest one; refusals exit 1; promote says which files it read
// and wrote; a --previous record of another stack is refused.

import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import { type Command, didYouMean } from "../tools/cli";
import { clusterCommand } from "../tools/cluster";
import { ROOT } from "../tools/harness";
import { planCommand } from "../tools/plan";
import { promoteCommand } from "../tools/promote";
import { rehearseCommand } from "../tools/rehearse";
import { restoreCommand } from "../tools/restore";
import { runTool } from "./fixture/run-tool";

const STACKS = path.join(ROOT, "test", "fixtures", "stacks");
const SNAPSHOTS = path.join(ROOT, "test", "fixtures", "snapshots");

const run = runTool;

const COMMANDS = [planCommand, rehearseCommand, promoteCommand, restoreCommand, clusterCommand] as Array<
    Command<unknown>
>;

test("every command's usage line and --help list every option it takes", () => {
    for (const cmd of COMMANDS)
        for (const option of Object.keys(cmd.options)) {
            assert.match(cmd.usage, new RegExp(`--${option}\\b`), `${cmd.name}: usage lacks --${option}`);
            assert.ok(
                cmd.help.some(([flag]) => flag.startsWith(`--${option}`)),
                `${cmd.name}: --help lacks --${option}`,
            );
        }
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
