// `npm run promote`, over the test's own copy of the example stacks (test/fixtures/stacks): only version values
// change, comments and layout stay, the diff is one `git apply` takes, each refusal is explained, and the command
// line follows the project's conventions (--help, exit 0 done, 1 refused, 2 usage).

import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import { ROOT } from "../tools/harness";
import { promote, unifiedDiff } from "../tools/promote";

const STACKS = path.join(ROOT, "test", "fixtures", "stacks");

function stackDir(files: Record<string, string> = {}): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "k8s-upgrades-promote-"));
    fs.copyFileSync(path.join(STACKS, "Pulumi.prod.yaml"), path.join(dir, "Pulumi.prod.yaml"));
    for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
    return dir;
}

function staging(cluster: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> {
    return {
        k8sUpgrades: {
            schemaVersion: 1,
            stack: "staging",
            clusters: {
                apps: {
                    name: "apps",
                    provider: "lke",
                    controlPlaneVersion: "1.31",
                    clusterId: "9",
                    strategy: "blue-green",
                    upgradeInProgress: false,
                    validatedVersion: "1.31",
                    pools: [],
                    ...cluster,
                },
                ...extra,
            },
        },
    };
}

test("a clean promotion rewrites only the version line and keeps every comment", () => {
    const dir = stackDir();
    const before = fs.readFileSync(path.join(dir, "Pulumi.prod.yaml"), "utf8");
    const result = promote({
        target: "prod",
        stackDir: dir,
        sourceOutputs: staging(
            {},
            {
                edge: {
                    name: "edge",
                    provider: "lke",
                    controlPlaneVersion: "1.31",
                    pools: [],
                    validatedVersion: "1.31",
                },
            },
        ),
    });
    assert.equal(result.ok, true, result.refusals.join("\n"));
    const after = fs.readFileSync(path.join(dir, "Pulumi.prod.yaml"), "utf8");
    const a = before.split("\n");
    const b = after.split("\n");
    assert.equal(a.length, b.length);
    const changed = a.map((line, i) => [line, b[i]]).filter(([x, y]) => x !== y);
    assert.deepEqual(changed, [['      kubernetesVersion: "1.30"', '      kubernetesVersion: "1.31"']]);
    for (const comment of a.filter((l) => l.trim().startsWith("#")))
        assert.ok(b.includes(comment), `comment lost: ${comment}`);
    assert.match(
        result.diff,
        /^--- a\/Pulumi\.prod\.yaml\n\+\+\+ b\/Pulumi\.prod\.yaml\n@@ -\d+,7 \+\d+,7 @@\n( .*\n){3}- {6}kubernetesVersion: "1\.30"\n\+ {6}kubernetesVersion: "1\.31"\n( .*\n){3}$/,
    );
    // git takes the diff: it applies to the file as it was and turns it into the file as it is now.
    const repo = fs.mkdtempSync(path.join(os.tmpdir(), "k8s-upgrades-apply-"));
    fs.writeFileSync(path.join(repo, "Pulumi.prod.yaml"), before);
    fs.writeFileSync(path.join(repo, "promotion.diff"), result.diff);
    const check = spawnSync("git", ["apply", "--check", "promotion.diff"], { cwd: repo, encoding: "utf8" });
    assert.equal(check.status, 0, check.stderr);
    const apply = spawnSync("git", ["apply", "promotion.diff"], { cwd: repo, encoding: "utf8" });
    assert.equal(apply.status, 0, apply.stderr);
    assert.equal(fs.readFileSync(path.join(repo, "Pulumi.prod.yaml"), "utf8"), after);
    assert.ok(result.notes.includes("cluster apps: 1.30 → 1.31"));
    assert.ok(result.notes.includes(`cluster edge: only in stack "staging"; nothing to promote here`));
});

test("a cluster only in the target is left alone and said so", () => {
    const extraCluster =
        fs.readFileSync(path.join(STACKS, "Pulumi.prod.yaml"), "utf8") +
        [
            "    - name: legacy",
            "      provider: lke",
            '      kubernetesVersion: "1.29"',
            "      lke:",
            "        region: us-ord",
            "      nodePools:",
            "        - name: web",
            "          count: 2",
            "          type: g6-standard-2",
            "      workers:",
            "        strategy: in-place",
            "",
        ].join("\n");
    const dir = stackDir({ "Pulumi.prod.yaml": extraCluster });
    const result = promote({ target: "prod", stackDir: dir, sourceOutputs: staging({}) });
    assert.equal(result.ok, true);
    assert.ok(result.notes.includes(`cluster legacy: not in stack "staging"; left alone`));
    assert.match(fs.readFileSync(path.join(dir, "Pulumi.prod.yaml"), "utf8"), /kubernetesVersion: "1\.29"/);
});

test("refuses while the source has an upgrade in progress", () => {
    const r = promote({
        target: "prod",
        stackDir: stackDir(),
        sourceOutputs: staging({ upgradeInProgress: true }),
        dryRun: true,
    });
    assert.equal(r.ok, false);
    assert.match(r.refusals.join("\n"), /cluster apps: stack "staging" still has an upgrade in progress/);
});

test("refuses a promotion that would skip a minor", () => {
    const r = promote({
        target: "prod",
        stackDir: stackDir(),
        sourceOutputs: staging({ controlPlaneVersion: "1.32", validatedVersion: "1.32" }),
        dryRun: true,
    });
    assert.equal(r.ok, false);
    assert.match(r.refusals.join("\n"), /1\.30 → 1\.32 would skip a minor; promote through 1\.31 → 1\.32/);
});

test("refuses when the source's last validation did not pass at what it runs", () => {
    const r = promote({
        target: "prod",
        stackDir: stackDir(),
        sourceOutputs: staging({ validatedVersion: "1.30" }),
        dryRun: true,
    });
    assert.equal(r.ok, false);
    assert.match(r.refusals.join("\n"), /runs 1\.31 but its last passed validation was at 1\.30/);
});

test("refuses a source record with no validatedVersion (absent or null), and writes nothing", () => {
    for (const validatedVersion of [undefined, null]) {
        const dir = stackDir();
        const before = fs.readFileSync(path.join(dir, "Pulumi.prod.yaml"), "utf8");
        const source = staging({ validatedVersion });
        if (validatedVersion === undefined)
            delete (source.k8sUpgrades as { clusters: { apps: Record<string, unknown> } }).clusters.apps
                .validatedVersion;
        const r = promote({ target: "prod", stackDir: dir, sourceOutputs: source });
        assert.equal(r.ok, false, `validatedVersion ${validatedVersion}: ${r.diff}`);
        assert.deepEqual(r.refusals, [
            'cluster apps: stack "staging" runs 1.31 but its last passed validation was never recorded; promote only what was validated',
        ]);
        assert.equal(r.diff, "");
        assert.equal(fs.readFileSync(path.join(dir, "Pulumi.prod.yaml"), "utf8"), before);
    }
});

test("refuses when the source's outputs cannot be read", () => {
    const dir = stackDir();
    const unreadable = promote({
        target: "prod",
        stackDir: dir,
        sourceOutputs: { k8sUpgrades: { schemaVersion: 7 } },
        dryRun: true,
    });
    assert.equal(unreadable.ok, false);
    assert.match(unreadable.refusals[0], /running state recorded by stack "staging".*is malformed: schemaVersion 7/);
    const none = promote({ target: "prod", stackDir: dir, sourceOutputs: {}, dryRun: true });
    assert.match(none.refusals[0], /stack "staging" has recorded no running state/);
    const savedPath = process.env.PATH;
    process.env.PATH = "/nonexistent";
    try {
        const noCli = promote({ target: "prod", stackDir: dir, dryRun: true });
        assert.match(noCli.refusals[0], /cannot read the outputs of stack "staging".*pass --source-outputs FILE/);
    } finally {
        process.env.PATH = savedPath;
    }
    assert.equal(
        fs.readFileSync(path.join(dir, "Pulumi.prod.yaml"), "utf8"),
        fs.readFileSync(path.join(STACKS, "Pulumi.prod.yaml"), "utf8"),
        "a refusal writes nothing",
    );
});

test("the unified diff: hunks with context, merged when close, and a last line without a newline", () => {
    const before = ["a", "b", "v: 1", "c", "d", "e", "f", "g", "h", "i", "v: 1", "j", "v: 1"].join("\n");
    const after = before.replace(/v: 1/g, "v: 2");
    const diff = unifiedDiff("s.yaml", before, after);
    assert.equal(
        diff,
        [
            "--- a/s.yaml",
            "+++ b/s.yaml",
            "@@ -1,6 +1,6 @@",
            " a",
            " b",
            "-v: 1",
            "+v: 2",
            " c",
            " d",
            " e",
            "@@ -8,6 +8,6 @@",
            " g",
            " h",
            " i",
            "-v: 1",
            "+v: 2",
            " j",
            "-v: 1",
            "\\ No newline at end of file",
            "+v: 2",
            "\\ No newline at end of file",
            "",
        ].join("\n"),
    );
    const repo = fs.mkdtempSync(path.join(os.tmpdir(), "k8s-upgrades-apply-"));
    fs.writeFileSync(path.join(repo, "s.yaml"), before);
    fs.writeFileSync(path.join(repo, "d.diff"), diff);
    const r = spawnSync("git", ["apply", "d.diff"], { cwd: repo, encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(fs.readFileSync(path.join(repo, "s.yaml"), "utf8"), after);
    assert.equal(unifiedDiff("s.yaml", before, before), "");
});

function cli(...args: string[]): { code: number | null; out: string; err: string } {
    const r = spawnSync(process.execPath, ["--import", "tsx", path.join(ROOT, "tools", "promote.ts"), ...args], {
        cwd: ROOT,
        encoding: "utf8",
        env: { ...process.env, PATH: "/usr/bin:/bin" },
    });
    return { code: r.status, out: r.stdout, err: r.stderr };
}

test("the command line: --dry-run works offline from the committed record, and the exit codes", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "k8s-upgrades-promote-cli-"));
    fs.cpSync(STACKS, dir, { recursive: true });
    // dev's record says it runs 1.32, validated; staging is at 1.31.
    const devRecord = JSON.parse(fs.readFileSync(path.join(dir, "running", "dev.json"), "utf8"));
    for (const c of Object.values(devRecord.k8sUpgrades.clusters) as Array<Record<string, string>>) {
        c.controlPlaneVersion = "1.32";
        c.validatedVersion = "1.32";
    }
    fs.writeFileSync(path.join(dir, "running", "dev.json"), JSON.stringify(devRecord));
    const staging = fs.readFileSync(path.join(dir, "Pulumi.staging.yaml"), "utf8");

    const dry = cli("staging", "--dry-run", "--stack-dir", dir);
    assert.equal(dry.code, 0, dry.err);
    assert.match(dry.err, /source outputs: running\/dev\.json: EXAMPLE DATA/);
    assert.match(dry.err, /dry run: nothing was written/);
    assert.match(dry.out, /^--- a\/Pulumi\.staging\.yaml\n\+\+\+ b\/Pulumi\.staging\.yaml\n@@ /);
    assert.equal((dry.out.match(/^\+ {6}kubernetesVersion: "1\.32"$/gm) ?? []).length, 2);
    assert.equal(fs.readFileSync(path.join(dir, "Pulumi.staging.yaml"), "utf8"), staging, "a dry run writes nothing");

    // A real promotion never trusts example data: refused, exit 1, nothing written.
    const refused = cli("staging", "--stack-dir", dir);
    assert.equal(refused.code, 1, refused.err);
    assert.match(refused.err, /refused; nothing was written/);
    assert.match(refused.err, /not what a deployment recorded/);
    assert.equal(fs.readFileSync(path.join(dir, "Pulumi.staging.yaml"), "utf8"), staging);

    // A record the deploy workflow wrote is enough.
    const { example: _, ...recorded } = devRecord;
    fs.writeFileSync(path.join(dir, "running", "dev.json"), JSON.stringify({ commit: "abc123", ...recorded }));
    const real = cli("staging", "--stack-dir", dir);
    assert.equal(real.code, 0, real.err);
    assert.match(fs.readFileSync(path.join(dir, "Pulumi.staging.yaml"), "utf8"), /kubernetesVersion: "1\.32"/);

    for (const args of [[], ["staging", "prod"], ["staging", "--frobnicate"], ["qa"]]) {
        const r = cli(...args, "--stack-dir", dir);
        assert.equal(r.code, 2, `${args.join(" ")}: ${r.err}`);
        assert.match(r.err, /^usage: npm run promote -- <target-stack>/m);
        assert.doesNotMatch(r.err, /\n\s+at /, "no stack trace");
    }
    const help = cli("--help");
    assert.equal(help.code, 0);
    assert.match(help.out, /^usage: npm run promote -- <target-stack>/);
    assert.match(help.out, /--dry-run/);
    assert.equal(help.err, "");
});

/** A target stack of its own (not the example stacks): one kubeadm-style cluster pinned at `version`. */
function pinnedStackDir(version: string): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "k8s-upgrades-promote-"));
    const text = [
        "config:",
        "  k8s-upgrades:promotesFrom: staging",
        "  k8s-upgrades:clusters:",
        "    - name: apps",
        "      provider: lke",
        `      kubernetesVersion: "${version}"`,
        "",
    ].join("\n");
    fs.writeFileSync(path.join(dir, "Pulumi.prod.yaml"), text);
    return dir;
}

function versionIn(dir: string): string {
    return /kubernetesVersion: "([^"]+)"/.exec(fs.readFileSync(path.join(dir, "Pulumi.prod.yaml"), "utf8"))![1];
}

test("promotion compares patches, not only minors: a newer patch in the source is promoted", () => {
    const dir = pinnedStackDir("1.31.2");
    const r = promote({
        target: "prod",
        stackDir: dir,
        sourceOutputs: staging({ controlPlaneVersion: "1.31.5", validatedVersion: "1.31.5" }),
    });
    assert.equal(r.ok, true, r.refusals.join("\n"));
    assert.equal(versionIn(dir), "1.31.5");
    assert.ok(r.notes.includes("cluster apps: 1.31.2 → 1.31.5"));
});

test("the promote tool refuses a downgrade, of a patch or of a minor, and writes nothing", () => {
    for (const [here, there] of [
        ["1.31.5", "1.31.2"],
        ["1.32", "1.31"],
        ["1.32.1", "1.31.9"],
    ]) {
        const dir = pinnedStackDir(here);
        const r = promote({
            target: "prod",
            stackDir: dir,
            sourceOutputs: staging({ controlPlaneVersion: there, validatedVersion: there }),
        });
        assert.equal(r.ok, false, `${here} ← ${there} must be refused`);
        assert.match(r.refusals.join("\n"), new RegExp(`runs ${there.replace(/\./g, "\\.")}, older than`));
        assert.equal(versionIn(dir), here, "a refusal writes nothing");
    }
});

test("the promote tool refuses a pinned patch that the source, recording only its minor, never proved", () => {
    const dir = pinnedStackDir("1.31.5");
    const r = promote({ target: "prod", stackDir: dir, sourceOutputs: staging({}), dryRun: true });
    assert.equal(r.ok, false);
    assert.match(r.refusals.join("\n"), /targets 1\.31\.5 but stack "staging" runs 1\.31 .*records only the minor/);
    const minorOnly = promote({
        target: "prod",
        stackDir: pinnedStackDir("1.31"),
        sourceOutputs: staging({ controlPlaneVersion: "1.31.4", validatedVersion: "1.31.4" }),
        dryRun: true,
    });
    assert.equal(minorOnly.ok, true, minorOnly.refusals.join("\n"));
    assert.ok(minorOnly.notes.includes("cluster apps: already at 1.31.4"));
});
