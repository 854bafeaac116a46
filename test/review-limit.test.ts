// --max-chars is a hard limit: the pull-request comment never takes more characters than it allows, whatever the
// limit; its sections are kept in priority order (summary, changes, policies, then the flowchart, then the step
// tables); a cut falls at a line boundary, closes what it leaves open, and ends with a whole-number notice that
// points at the artifact; no placeholder is left in the text.

import * as assert from "node:assert/strict";
import { execFile } from "node:child_process";
import * as path from "node:path";
import { before, test } from "node:test";
import { promisify } from "node:util";
import * as fc from "fast-check";
import type { CapturedResource } from "../tools/capture-types";
import type { Step } from "../tools/graph";
import { loadOutputs, type PlanResult, planForStack, renderPlan } from "../tools/plan";
import { renderReview } from "../tools/review";

const STACKS = path.join(__dirname, "fixtures", "stacks");
const SECTIONS = [
    /^(### Changes against the previous deployment|<details open><summary>Changes against)/m,
    /^### Policies$/m,
    /^### Flow /m,
    /^### Steps per cluster$/m,
];

/** What every comment must be at the limit `max`, given the whole comment `full`. */
function assertWithin(text: string, full: string, max: number, artifact: RegExp): void {
    assert.ok(text.length <= max, `${text.length} characters at --max-chars ${max}:\n${text}`);
    assert.doesNotMatch(text, /<stack>|\bSTACK\b|undefined|NaN/);
    if (full.length <= max) {
        assert.equal(text, full);
        return;
    }
    if (text === "") return;
    assert.ok(text.endsWith("\n"), JSON.stringify(text.slice(-40)));
    const fullLines = new Set(full.split("\n"));
    for (const line of text.split("\n")) {
        if (fullLines.has(line)) continue;
        // Else a notice of what was left out: whole numbers only, and the artifact wherever there is room for it.
        assert.doesNotMatch(line, /\d\.\d/, line);
        if (line !== "… (cut)") assert.match(line, artifact, `neither a whole line of the full comment nor a notice`);
    }
    assert.equal((text.match(/^`{3,}/gm)?.length ?? 0) % 2, 0, "every code fence is closed");
    assert.equal(text.match(/^<details/gm)?.length ?? 0, text.match(/^<\/details>/gm)?.length ?? 0, "details");
    // A section is there only when every section above it is.
    const present = SECTIONS.map((re) => re.test(text));
    for (let i = 1; i < present.length; i++)
        if (present[i]) assert.ok(present[i - 1], `section ${SECTIONS[i]} without ${SECTIONS[i - 1]}:\n${text}`);
    const at = SECTIONS.map((re) => text.search(re)).filter((i) => i >= 0);
    assert.deepEqual(
        at,
        [...at].sort((a, b) => a - b),
    );
}

let staging: (maxChars: number) => PlanResult;
let stagingFull: string;

before(async () => {
    const previous = loadOutputs("staging", undefined, STACKS);
    const source = loadOutputs("dev", undefined, STACKS);
    const { capture, previousRun } = await planForStack("staging", { stackDir: STACKS, markdown: true });
    staging = (maxChars) =>
        renderPlan(
            "staging",
            capture!,
            previous,
            "dev",
            source,
            { markdown: true, maxChars, artifact: undefined },
            previousRun,
        );
    stagingFull = staging(0).text;
});

test("npm run plan -- staging --markdown --max-chars 2000 prints at most 2,000 characters, cut at a line", async () => {
    const { stdout } = await promisify(execFile)(
        process.execPath,
        [
            "--import",
            "tsx",
            path.join(__dirname, "..", "tools", "plan.ts"),
            "staging",
            "--markdown",
            "--max-chars",
            "2000",
            "--stack-dir",
            STACKS,
        ],
        { env: { ...process.env, PATH: "/usr/bin:/bin" } },
    );
    assert.ok(stagingFull.length > 2000, "the full staging comment must need a cut for this test to mean anything");
    assertWithin(stdout, stagingFull, 2000, /npm run plan -- staging --markdown --max-chars 0/);
    assert.match(stdout, /^### Changes against the previous deployment$/m);
    assert.match(stdout, /^- \*\*update\*\* cluster apps: control plane 1\.30 → 1\.31$/m);
    assert.match(stdout, /^- 10 policies evaluated over 34 resources$/m);
});

test("the staging comment keeps to any limit, from one character to more than it needs", () => {
    for (const max of [1, 8, 60, 200, 500, 1000, 1500, 2000, 3000, 4000, stagingFull.length, stagingFull.length + 1])
        assertWithin(staging(max).text, stagingFull, max, /npm run plan -- staging --markdown --max-chars 0/);
    fc.assert(
        fc.property(fc.integer({ min: 1, max: stagingFull.length + 100 }), (max) =>
            assertWithin(staging(max).text, stagingFull, max, /npm run plan -- staging --markdown --max-chars 0/),
        ),
        { numRuns: 60 },
    );
});

function syntheticStep(cluster: string, level: number, k: number): Step {
    const resource: CapturedResource = {
        urn: `urn:${cluster}-${level}-${k}`,
        type: "command:local:Command",
        name: `${cluster}-step-${level}-${k}`,
        custom: true,
        dependencies: [],
        propertyDependencies: {},
        ignoreChanges: [],
        inputs: {},
        secretPaths: [],
    };
    return { resource, level, after: level > 1 ? [`${cluster}-step-${level - 1}-0`] : [], what: "a step ".repeat(12) };
}

test("a fleet of any size keeps to any limit, and names its artifact in every notice", () => {
    fc.assert(
        fc.property(fc.integer({ min: 1, max: 60 }), fc.integer({ min: 1, max: 70_000 }), (n, max) => {
            const clusters = Array.from({ length: n }, (_, i) => `k${i}`);
            const input = {
                header: ["## k8s-upgrades plan for stack fleet"],
                clusters,
                steps: clusters.flatMap((c) => [1, 2, 3, 4].flatMap((l) => [0, 1].map((k) => syntheticStep(c, l, k)))),
                changes: clusters.map((c) => `~ cluster ${c}: control plane 1.30 → 1.31`),
                removals: clusters.map((c) => ({ cluster: c, text: `pool ${c}-web-1-30` })),
                policies: ["- 9 policies evaluated", "- mandatory (blocks the update): none"],
                notes: ["warning: a note"],
            };
            const full = renderReview(input, { maxChars: 0, artifact: "ARTIFACT" });
            assertWithin(renderReview(input, { maxChars: max, artifact: "ARTIFACT" }), full, max, /ARTIFACT/);
        }),
        { numRuns: 80 },
    );
});

test("a refusal is cut at a line too, and the default artifact names the stack", () => {
    const refused = Array.from({ length: 80 }, (_, i) => `  - cluster c${i}: field clusters[${i}].x: given 1.5`).join(
        "\n",
    );
    const input = { header: ["## plan"], clusters: [], steps: [], changes: [], removals: [], policies: [], notes: [] };
    const full = renderReview({ ...input, refused }, { maxChars: 0, stack: "prod" });
    const text = renderReview({ ...input, refused }, { maxChars: 1000, stack: "prod" });
    assertWithin(text, full, 1000, /npm run plan -- prod --markdown --max-chars 0/);
    assert.match(text, /^### Refused$/m);
});
