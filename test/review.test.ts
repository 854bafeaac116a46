// The plan as a pull-request comment scales: for 1, 10 and 50 clusters upgraded blue-green, the Markdown stays
// under GitHub's comment limit, its flowchart has one subgraph per cluster with linear edges under Mermaid's edge
// limit, and the real Mermaid parser accepts it.

import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { before, test } from "node:test";
import * as YAML from "yaml";
import type { CapturedResource } from "../tools/capture-types";
import type { Step } from "../tools/graph";
import { planForStack } from "../tools/plan";
import { GITHUB_COMMENT_LIMIT, MERMAID_MAX_EDGES, renderReview } from "../tools/review";

interface Mermaid {
    initialize(config: Record<string, unknown>): void;
    parse(text: string): Promise<unknown>;
}
let mermaid: Mermaid;

before(async () => {
    // Mermaid's parser loads DOMPurify, which needs a window; jsdom provides one.
    const { JSDOM } = await import("jsdom");
    const dom = new JSDOM("<!doctype html><html><body></body></html>");
    Object.assign(globalThis, { window: dom.window, document: dom.window.document });
    const specifier = "mermaid";
    mermaid = ((await import(specifier)) as { default: Mermaid }).default;
    mermaid.initialize({ startOnLoad: false });
});

function flowcharts(markdown: string): string[] {
    return [...markdown.matchAll(/```mermaid\n([\s\S]*?)\n```/g)].map((m) => m[1]);
}

/** A stack of N LKE clusters at 1.31 whose record says they run 1.30, with two pools each. */
function fleet(n: number): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `k8s-upgrades-fleet-${n}-`));
    const names = Array.from({ length: n }, (_, i) => `c${String(i + 1).padStart(2, "0")}`);
    const clusters = names.map((name) => ({
        name,
        provider: "lke",
        kubernetesVersion: "1.31",
        lke: { region: "us-ord" },
        nodePools: [
            { name: "web", count: 3, type: "g6-standard-4" },
            { name: "batch", count: 2, type: "g6-dedicated-4" },
        ],
        workers: { strategy: "blue-green", drain: { deleteEmptyDirData: false } },
    }));
    fs.writeFileSync(
        path.join(dir, "Pulumi.fleet.yaml"),
        YAML.stringify({ config: { "k8s-upgrades:clusters": clusters } }),
    );
    const running = Object.fromEntries(
        names.map((name, i) => [
            name,
            {
                name,
                provider: "lke",
                controlPlaneVersion: "1.30",
                clusterId: String(1000 + i),
                strategy: "blue-green",
                upgradeInProgress: false,
                validatedVersion: "1.30",
                pools: ["web", "batch"].map((pool, j) => ({
                    name: pool,
                    poolId: String(5000 + i * 10 + j),
                    resourceName: `${name}-${pool}-1-30`,
                    type: pool === "web" ? "g6-standard-4" : "g6-dedicated-4",
                    count: pool === "web" ? 3 : 2,
                    version: "1.30",
                })),
            },
        ]),
    );
    fs.mkdirSync(path.join(dir, "running"));
    fs.writeFileSync(
        path.join(dir, "running", "fleet.json"),
        JSON.stringify({ k8sUpgrades: { schemaVersion: 1, stack: "fleet", clusters: running } }),
    );
    return dir;
}

for (const n of [1, 10, 50]) {
    test(`${n} cluster(s): the comment fits, draws one linear subgraph per cluster, and Mermaid parses it`, async () => {
        const artifact = "[the full plan](https://example.invalid/artifact)";
        const result = await planForStack("fleet", { stackDir: fleet(n), markdown: true, artifact });
        assert.equal(result.exitCode, 0, result.text);
        assert.ok(result.text.length < GITHUB_COMMENT_LIMIT, `${result.text.length} characters`);
        assert.match(result.text, new RegExp(`\\*\\*${n} cluster\\(s\\), `));
        const charts = flowcharts(result.text);
        assert.equal(charts.length, 1);
        const chart = charts[0];
        const subgraphs = chart.match(/^ {2}subgraph /gm) ?? [];
        const drawn = subgraphs.length;
        assert.ok(drawn >= Math.min(n, 10), `only ${drawn} of ${n} clusters drawn`);
        if (drawn < n) assert.match(result.text, /Not drawn, to keep the comment readable: .*the full plan/);
        // Linear: inside each subgraph every level has at most one edge in and one out.
        for (const block of chart.split(/^ {2}subgraph /m).slice(1)) {
            const edges = [...block.matchAll(/^ {4}(\S+) -(?:->|\.->) (\S+)$/gm)];
            const from = edges.map((e) => e[1]);
            const to = edges.map((e) => e[2]);
            assert.equal(new Set(from).size, from.length, `a level with two edges out:\n${block}`);
            assert.equal(new Set(to).size, to.length, `a level with two edges in:\n${block}`);
        }
        assert.ok((chart.match(/ (-->|-\.->|~~~) /g) ?? []).length <= MERMAID_MAX_EDGES);
        assert.match(chart, /c0l0 --> c0l1/);
        await mermaid.parse(chart);
        // Every cluster's steps are there, collapsed, or named as left to the artifact.
        const tables = result.text.match(/<details><summary><b>c\d+<\/b>/g) ?? [];
        if (tables.length < n) assert.match(result.text, /Steps of \d+ more cluster\(s\) .* are in \[the full plan\]/);
        // Sections are kept in priority order: at 50 clusters the changes and the flowchart fill the comment.
        if (n <= 10) assert.ok(tables.length >= 1);
    });
}

test("the Mermaid parser in these tests does refuse a broken flowchart", async () => {
    await assert.rejects(mermaid.parse('flowchart TD\n  subgraph c0["apps"]\n    a --> \n'));
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

test("a fleet far beyond one comment is cut at the limit, with the rest named and left to the artifact", async () => {
    const clusters = Array.from({ length: 400 }, (_, i) => `k${i}`);
    const steps = clusters.flatMap((c) =>
        Array.from({ length: 30 }, (_, l) => [0, 1, 2].map((k) => syntheticStep(c, l + 1, k))).flat(),
    );
    const text = renderReview(
        {
            header: ["## k8s-upgrades plan for stack huge"],
            clusters,
            steps,
            changes: clusters.map((c) => `~ cluster ${c}: control plane 1.30 → 1.31`),
            removals: [],
            policies: ["- 9 policies evaluated"],
            notes: [],
        },
        { artifact: "ARTIFACT" },
    );
    assert.ok(text.length < GITHUB_COMMENT_LIMIT, `${text.length}`);
    assert.match(text, /Not drawn, to keep the comment readable: \d+ cluster\(s\)/);
    assert.match(text, /are in ARTIFACT/);
    const chart = flowcharts(text)[0];
    assert.ok((chart.match(/ (-->|-\.->|~~~) /g) ?? []).length <= MERMAID_MAX_EDGES);
    await mermaid.parse(chart);
});

test("the golden staging plan's flowchart parses", async () => {
    const golden = fs.readFileSync(path.join(__dirname, "fixtures", "plan-staging.md"), "utf8");
    const charts = flowcharts(golden);
    assert.equal(charts.length, 1);
    await mermaid.parse(charts[0]);
});
