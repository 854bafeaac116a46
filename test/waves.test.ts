// Fleet waves: the rollout resolved from config, refused when it cannot be carried out, and carried out as resource
// dependencies: a wave starts only after every cluster of the one before passed validation and its soak step ran.
// One program run of the test's own 6-cluster, 3-wave stack (test/fixtures/stacks/fleet), upgraded 1.36 → 1.37.
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { before, describe, test } from "node:test";
import Ajv2020 from "ajv/dist/2020";
import * as YAML from "yaml";
import { ConfigError, parseStackConfig } from "../components/config";
import { type ClusterLabels, clusterGates, describeRollout, type Rollout, resolveRollout } from "../components/rollout";
import { buildScript } from "../components/scripts";
import type { Capture, CapturedResource } from "../tools/capture-types";
import { readStackFile, runProgram } from "../tools/harness";
import { loadOutputs, renderPlan } from "../tools/plan";
import { SCHEMA_FILE } from "../tools/schema";
import { allDeps, COMMAND, directDeps, env, lkeCluster, resource, scriptKindOf } from "./helpers";

const FLEET_DIR = path.join(__dirname, "fixtures", "stacks", "fleet");
const WAVES = { canary: ["canary"], early: ["eu-1", "eu-2"], late: ["us-1", "us-2", "us-3"] };
const ALL = Object.values(WAVES).flat();

describe("resolveRollout", () => {
    const clusters: ClusterLabels[] = [
        { name: "canary", labels: { ring: "canary" } },
        { name: "eu-1", labels: { ring: "early", region: "eu" } },
        { name: "eu-2", labels: { ring: "early", region: "eu" } },
        { name: "us-1", labels: { ring: "late" } },
    ];

    test("waves by name and by label, names in the order written, then labelled clusters in config order", () => {
        const { rollout, problems } = resolveRollout(clusters, {
            waves: [
                { name: "first", clusters: ["canary"] },
                { clusters: ["eu-2"], matchLabels: { region: "eu" } },
                { clusters: [], matchLabels: { ring: "late" } },
            ],
            soakMinutes: 15,
        });
        assert.deepEqual(problems, []);
        assert.deepEqual(rollout, {
            waves: [
                { number: 1, name: "first", clusters: ["canary"] },
                { number: 2, name: "wave 2", clusters: ["eu-2", "eu-1"] },
                { number: 3, name: "wave 3", clusters: ["us-1"] },
            ],
            maxConcurrentClusters: undefined,
            soakMinutes: 15,
        });
    });

    test("unknown names, selectors that select nothing, empty waves, a cluster twice or in no wave: all refused", () => {
        const { rollout, problems } = resolveRollout(clusters, {
            waves: [
                { clusters: ["canary", "eu1"] },
                { clusters: [], matchLabels: { ring: "erly" } },
                { clusters: [] },
                { clusters: ["canary"], matchLabels: { region: "eu" } },
            ],
            soakMinutes: 0,
        });
        assert.equal(rollout, undefined);
        const byPath = problems.map((p) => [p.path.join("."), p.allowed, p.hint]);
        assert.deepEqual(byPath, [
            [
                "rollout.waves.0.clusters.1",
                "the name of a cluster of this stack: canary, eu-1, eu-2, us-1",
                'Did you mean "eu-1"?',
            ],
            [
                "rollout.waves.1.matchLabels",
                "labels that every cluster of the wave carries, matching at least one cluster",
                "Label the clusters (clusters[].labels) or fix the selector; labels in use: ring=canary, ring=early, region=eu, ring=late.",
            ],
            [
                "rollout.waves.2",
                "a wave with clusters (names) or matchLabels (cluster labels)",
                "Remove the empty wave, or say which clusters it holds.",
            ],
            [
                "rollout.waves.3",
                "each cluster in exactly one wave",
                "Cluster canary is in wave 1 already; remove it from one of the two (names and labels both select).",
            ],
            [
                "rollout.waves",
                "every cluster of the stack in one wave",
                "Add us-1 to a wave by name or label (a last wave, if they should go after the rest).",
            ],
        ]);
    });

    test("maxConcurrentClusters: cluster k of a wave waits for cluster k-m; the first of each later wave for the soak", () => {
        const rollout: Rollout = {
            waves: [
                { number: 1, name: "a", clusters: ["c1"] },
                { number: 2, name: "b", clusters: ["c2", "c3", "c4", "c5", "c6"] },
            ],
            maxConcurrentClusters: 2,
            soakMinutes: 5,
        };
        assert.deepEqual(clusterGates(rollout), [
            { cluster: "c1", wave: 1 },
            { cluster: "c2", wave: 2, afterSoakOf: 1 },
            { cluster: "c3", wave: 2, afterSoakOf: 1 },
            { cluster: "c4", wave: 2, afterSoakOf: 1, afterCluster: "c2" },
            { cluster: "c5", wave: 2, afterSoakOf: 1, afterCluster: "c3" },
            { cluster: "c6", wave: 2, afterSoakOf: 1, afterCluster: "c4" },
        ]);
        assert.deepEqual(describeRollout(rollout), [
            "a: c1 (all at once)",
            "then, once every cluster of a passed validation: rollout-wave-1-soak holds 5 min; a failure stops here and later waves do not start",
            "b: c2, c3, c4, c5, c6 (2 at a time, each starting when the one 2 place(s) before it passed validation)",
        ]);
    });
});

describe("k8s-upgrades:rollout in stack config", () => {
    const two = [lkeCluster({ name: "a", labels: { ring: "one" } }), lkeCluster({ name: "b" })];

    test("the stack's rollout is resolved; without the key there is none", () => {
        const parsed = parseStackConfig("dev", {
            clusters: two,
            rollout: { waves: [{ matchLabels: { ring: "one" } }, { clusters: ["b"] }] },
        });
        assert.deepEqual(parsed.rollout, {
            waves: [
                { number: 1, name: "wave 1", clusters: ["a"] },
                { number: 2, name: "wave 2", clusters: ["b"] },
            ],
            maxConcurrentClusters: undefined,
            soakMinutes: 0,
        });
        assert.deepEqual(parsed.clusters[0].labels, { ring: "one" });
        assert.equal(parseStackConfig("dev", { clusters: two }).rollout, undefined);
    });

    test("a refused rollout names the stack, the field, what was given and what to do", () => {
        let error: unknown;
        try {
            parseStackConfig("dev", {
                clusters: two,
                rollout: { waves: [{ clusters: ["a"] }], soakMinutes: 2000, maxConcurrentClusters: 0 },
            });
        } catch (err) {
            error = err;
        }
        assert.ok(error instanceof ConfigError);
        assert.deepEqual(error.message.split("\n").slice(1), [
            '  - Pulumi.dev.yaml: stack "dev", field rollout.maxConcurrentClusters: given 0; allowed: a whole number from 1 to 1000. How many clusters of one wave upgrade at once.',
            '  - Pulumi.dev.yaml: stack "dev", field rollout.soakMinutes: given 2000; allowed: a whole number from 0 to 1440. The hold between two waves, in minutes (at most a day).',
            '  - Pulumi.dev.yaml: stack "dev", field rollout.waves: given [{"clusters":["a"]}]; allowed: every cluster of the stack in one wave. Add b to a wave by name or label (a last wave, if they should go after the rest).',
        ]);
    });

    test("soaks that cannot fit in one CI job are refused, naming the waves, the total, the limit and what to do", () => {
        const three = [...two, lkeCluster({ name: "c" })];
        const waves = [{ name: "canary", clusters: ["a"] }, { clusters: ["b"] }, { clusters: ["c"] }];
        let error: unknown;
        try {
            parseStackConfig("prod", { clusters: three, rollout: { waves, soakMinutes: 180 } });
        } catch (err) {
            error = err;
        }
        assert.ok(error instanceof ConfigError, "two soaks of 3 h fill the 6 h of a GitHub-hosted job");
        assert.deepEqual(error.message.split("\n").slice(1), [
            '  - Pulumi.prod.yaml: stack "prod", field rollout.soakMinutes: given 180; allowed: soaks that fit in one run of pulumi up: the soaks after waves 1 (canary), 2 (wave 2) hold 180 min each, 360 min in all, and a run may last 360 min (rollout.runTimeLimitMinutes, the job limit of GitHub-hosted runners), with the upgrades themselves still to run. Shorten soakMinutes to at most 179, or split the waves into stacks that deploy in separate runs (for example a canary stack promoted before the rest); on self-hosted runners with a longer job limit, set rollout.runTimeLimitMinutes to it.',
        ]);
        // Under the limit, or with a limit a self-hosted runner allows, the same waves pass.
        assert.equal(
            parseStackConfig("prod", { clusters: three, rollout: { waves, soakMinutes: 179 } }).rollout?.soakMinutes,
            179,
        );
        const selfHosted = { waves, soakMinutes: 180, runTimeLimitMinutes: 1440 };
        assert.equal(parseStackConfig("prod", { clusters: three, rollout: selfHosted }).rollout?.soakMinutes, 180);
        // A lower limit of the team's own is held too; the last wave has no soak, so one wave has none at all.
        assert.throws(
            () =>
                parseStackConfig("prod", {
                    clusters: three,
                    rollout: { waves, soakMinutes: 30, runTimeLimitMinutes: 60 },
                }),
            /30 min each, 60 min in all, and a run may last 60 min \(rollout\.runTimeLimitMinutes\), .*at most 29/,
        );
        const one = { waves: [{ clusters: ["a", "b", "c"] }], soakMinutes: 1440 };
        assert.equal(parseStackConfig("prod", { clusters: three, rollout: one }).rollout?.soakMinutes, 1440);
        assert.throws(
            () => parseStackConfig("prod", { clusters: three, rollout: { waves, runTimeLimitMinutes: 0 } }),
            /field rollout\.runTimeLimitMinutes: given 0; allowed: a whole number from 1 to 7200/,
        );
    });

    test("the fleet stack passes the published JSON Schema", () => {
        const validate = new Ajv2020({ allErrors: true, strict: true, strictRequired: false }).compile(
            JSON.parse(fs.readFileSync(SCHEMA_FILE, "utf8")),
        );
        const doc = YAML.parse(fs.readFileSync(path.join(FLEET_DIR, "Pulumi.fleet.yaml"), "utf8"));
        assert.ok(validate(doc), JSON.stringify(validate.errors, null, 2));
    });
});

describe("the rollout-soak step's script", () => {
    const run = (environment: Record<string, string>) => {
        const started = Date.now();
        const r = spawnSync("bash", ["-c", buildScript("rollout-soak")], {
            env: { PATH: process.env.PATH, ...environment },
            encoding: "utf8",
            timeout: 20_000,
        });
        return { code: r.status, stderr: r.stderr, ms: Date.now() - started };
    };
    const base = { K8SU_WAVE: "1", K8SU_WAVE_CLUSTERS: "canary\nedge" };

    test("holds for the soak, then lets the next wave go", () => {
        const r = run({ ...base, K8SU_SOAK_SECONDS: "1" });
        assert.equal(r.code, 0, r.stderr);
        assert.ok(r.ms >= 1000, `it returned after ${r.ms} ms`);
        assert.match(r.stderr, /wave 1 \(canary, edge\) validated; soaking 1s before the next wave/);
        assert.match(r.stderr, /wave 1 soaked 1s; the next wave may start/);
    });

    test("a missing, non-numeric or unbounded soak fails the step, so the next wave does not start", () => {
        for (const [extra, message] of [
            [{}, /K8SU_SOAK_SECONDS must be a whole number; given ''/],
            [{ K8SU_SOAK_SECONDS: "30m" }, /K8SU_SOAK_SECONDS must be a whole number; given '30m'/],
            [{ K8SU_SOAK_SECONDS: "86401" }, /more than the bound of 86400s/],
        ] as const) {
            const r = run({ ...base, ...extra });
            assert.equal(r.code, 1, JSON.stringify(extra));
            assert.match(r.stderr, message);
        }
        assert.match(run({ K8SU_SOAK_SECONDS: "1" }).stderr, /K8SU_WAVE is not set/);
    });
});

describe("a 6-cluster, 3-wave fleet upgraded 1.36 → 1.37", () => {
    let capture: Capture;
    const previous = loadOutputs("fleet", undefined, FLEET_DIR);
    before(async () => {
        const { config, secretKeys } = readStackFile("fleet", FLEET_DIR);
        capture = await runProgram({ stack: "fleet", config, secretKeys, previous: previous.outputs });
        assert.equal(capture.error, undefined, capture.error);
    });
    const ownResources = (cluster: string) =>
        capture.resources.filter((r) => r.custom && (r.name === cluster || r.name.startsWith(`${cluster}-`)));
    /** The URNs a resource waits for, transitively (a component among them stands for its children). */
    const waitsFor = (r: CapturedResource): Set<string> => {
        const byUrn = new Map(capture.resources.map((x) => [x.urn, x]));
        const seen = new Set<string>();
        const todo = [r];
        while (todo.length > 0) {
            const next = todo.pop()!;
            for (const u of [...next.dependencies, ...Object.values(next.propertyDependencies).flat()])
                if (!seen.has(u) && byUrn.has(u)) {
                    seen.add(u);
                    todo.push(byUrn.get(u)!);
                }
        }
        return seen;
    };

    test("the first step of each later-wave cluster waits for the previous wave's soak step", () => {
        for (const c of WAVES.early) assert.ok(directDeps(capture, `${c}-preflight`).includes("rollout-wave-1-soak"));
        for (const c of WAVES.late) assert.ok(directDeps(capture, `${c}-preflight`).includes("rollout-wave-2-soak"));
        for (const c of WAVES.canary) assert.ok(!allDeps(capture, `${c}-preflight`).has("rollout-wave-1-soak"));
    });

    test("each soak step waits for the validation of every cluster of its wave, and only of its wave and before", () => {
        const soak1 = directDeps(capture, "rollout-wave-1-soak", COMMAND);
        const soak2 = directDeps(capture, "rollout-wave-2-soak", COMMAND);
        assert.ok(soak1.includes("canary-validate"));
        for (const c of WAVES.early) assert.ok(soak2.includes(`${c}-validate`), `${c}-validate`);
        for (const c of [...WAVES.early, ...WAVES.late])
            assert.ok(!allDeps(capture, "rollout-wave-1-soak").has(`${c}-validate`));
        for (const c of WAVES.late) assert.ok(!allDeps(capture, "rollout-wave-2-soak").has(`${c}-validate`));
        assert.ok(allDeps(capture, "rollout-wave-2-soak").has("rollout-wave-1-soak"));
    });

    test("the soak is a timed step of the bounded script, replaced only when its wave's versions change", () => {
        const soak = resource(capture, "rollout-wave-2-soak", COMMAND);
        assert.equal(scriptKindOf(soak), "rollout-soak");
        assert.deepEqual(env(soak), { K8SU_WAVE: "2", K8SU_WAVE_CLUSTERS: "eu-1\neu-2", K8SU_SOAK_SECONDS: "1800" });
        assert.deepEqual(soak.inputs.triggers, ["eu-1@1.37[web=1.37]", "eu-2@1.37[web=1.37]"]);
        assert.ok(!capture.resources.some((r) => r.name === "rollout-wave-3-soak"), "no soak after the last wave");
    });

    test("maxConcurrentClusters 2: us-3 waits for us-1's validation, us-1 and us-2 go together", () => {
        assert.ok(directDeps(capture, "us-3-preflight").includes("us-1-validate"));
        assert.ok(!allDeps(capture, "us-3-preflight").has("us-2-validate"));
        assert.ok(!allDeps(capture, "us-2-preflight").has("us-1-validate"));
        assert.ok(!allDeps(capture, "eu-2-preflight").has("eu-1-validate"), "early has two clusters: both at once");
    });

    test("a failed cluster stops every later wave; earlier waves and its own wave's peers do not wait for it", () => {
        // The engine never starts a resource whose dependency failed: what depends on eu-1-validate never runs.
        const failed = resource(capture, "eu-1-validate", COMMAND).urn;
        const stopped = new Set(ALL.flatMap(ownResources).filter((r) => waitsFor(r).has(failed)));
        for (const c of WAVES.late) for (const r of ownResources(c)) assert.ok(stopped.has(r), r.name);
        for (const c of [...WAVES.canary, "eu-2"]) for (const r of ownResources(c)) assert.ok(!stopped.has(r), r.name);
        // The canary's steps wait for nothing outside the canary: its upgrade stands whatever happens after it.
        const canary = new Set(ownResources("canary").map((r) => r.urn));
        for (const r of ownResources("canary"))
            for (const u of waitsFor(r)) assert.ok(canary.has(u), `${r.name} waits for ${u}`);
    });

    test("npm run plan shows the Rollout section and the steps in wave order, with no policy violated", () => {
        const { text, exitCode } = renderPlan("fleet", capture, previous, undefined, undefined);
        assert.equal(exitCode, 0, text);
        const lines = text.split("\n");
        const start = lines.indexOf(
            "Rollout (each wave starts only after every cluster of the one before passed validation)",
        );
        assert.deepEqual(lines.slice(start + 1, start + 6), [
            "  canary: canary (all at once)",
            "  then, once every cluster of canary passed validation: rollout-wave-1-soak holds 30 min; a failure stops here and later waves do not start",
            "  early: eu-1, eu-2 (all at once)",
            "  then, once every cluster of early passed validation: rollout-wave-2-soak holds 30 min; a failure stops here and later waves do not start",
            "  late: us-1, us-2, us-3 (2 at a time, each starting when the one 2 place(s) before it passed validation)",
        ]);
        const at = (name: string) => lines.findIndex((l) => new RegExp(`^\\s+\\d+\\. ${name} `).test(l));
        assert.ok(at("canary-validate") < at("rollout-wave-1-soak"));
        assert.ok(at("rollout-wave-1-soak") < at("eu-1-preflight"));
        assert.ok(at("eu-2-validate") < at("rollout-wave-2-soak"));
        assert.ok(at("rollout-wave-2-soak") < at("us-1-preflight"));
        assert.ok(at("us-1-validate") < at("us-3-preflight"));
        assert.match(
            lines[at("rollout-wave-1-soak")],
            /^ {3}7\. rollout-wave-1-soak +rollout: wave 1 \(canary\) passed validation; hold 30 min before the next wave starts$/,
        );
        assert.match(text, /mandatory \(blocks the update\): none/);
    });

    test("the Markdown review draws one subgraph per wave, the soak steps between them, and the pace inside a wave", () => {
        const { text } = renderPlan("fleet", capture, previous, undefined, undefined, { markdown: true });
        assert.match(text, /### Rollout in 3 waves\n\n- canary: canary \(all at once\)\n/);
        const flow = text.slice(text.indexOf("```mermaid"), text.indexOf("```", text.indexOf("```mermaid") + 3));
        const waveLines = flow.split("\n").filter((l) => /^ {2}(subgraph w|w\d|s\d)/.test(l));
        assert.deepEqual(waveLines, [
            '  subgraph w1["canary: canary"]',
            '  s1{{"rollout-wave-1-soak: hold 30 min"}}',
            '  subgraph w2["early: eu-1, eu-2"]',
            "  w1 --> s1",
            "  s1 --> w2",
            '  s2{{"rollout-wave-2-soak: hold 30 min"}}',
            '  subgraph w3["late: us-1, us-2, us-3"]',
            "  w2 --> s2",
            "  s2 --> w3",
        ]);
        // Inside wave 3, us-3 (c5) waits for us-1 (c3).
        assert.match(flow, /\n {2}c3 --> c5\n/);
        assert.match(flow, /\n {4}subgraph c5\["us-3"\]\n/);
        assert.doesNotMatch(text, /Not drawn/);
    });
});
