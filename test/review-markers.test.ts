// The pull-request comment shows what changes: each change is marked create, update or delete in words, the
// removal box of the flowchart names the pools it removes, and a plan with nothing to do is one line.

import * as assert from "node:assert/strict";
import * as path from "node:path";
import { test } from "node:test";
import { SUPPORTED_AS_OF } from "../components/config";
import { planForStack } from "../tools/plan";
import { devStackAtNewestMinor } from "./helpers";

const STACKS = path.join(__dirname, "fixtures", "stacks");

test("each change of the staging upgrade is marked create, update or delete", async () => {
    const { text } = await planForStack("staging", { stackDir: STACKS, markdown: true, maxChars: 0 });
    const changes = text.slice(text.indexOf("### Changes"), text.indexOf("### Policies")).match(/^- .*$/gm) ?? [];
    assert.equal(changes.length, 8, text);
    for (const line of changes) assert.match(line, /^- \*\*(create|update|delete)\*\* (cluster|pool) /, line);
    assert.ok(changes.includes("- **update** cluster apps: control plane 1.30 → 1.31"));
    assert.ok(changes.includes("- **create** pool apps-web-1-31: 3 × g6-standard-4 at 1.31"));
    assert.ok(changes.some((c) => c.startsWith("- **delete** pool apps-batch-1-30 ")));
});

test("the flowchart's removal box names the pools it removes", async () => {
    const { text } = await planForStack("staging", { stackDir: STACKS, markdown: true, maxChars: 0 });
    assert.match(text, /^ {4}c0r\["then remove, drained first: pool web-1-30, pool batch-1-30"\]$/m);
    assert.match(text, /^ {4}c1r\["then remove, drained first: pool general-1-30"\]$/m);
});

test("a plan with nothing to do is one line", async () => {
    const { text, exitCode } = await planForStack("dev", {
        stackDir: devStackAtNewestMinor(),
        markdown: true,
        today: new Date(`${SUPPORTED_AS_OF}T12:00:00Z`),
    });
    assert.equal(exitCode, 0);
    assert.equal(
        text,
        "**k8s-upgrades plan for stack dev: nothing to do.** No change against the previous deployment's record (its versions and pools only: the record names no commit); 10 policies evaluated, none violated.\n",
    );
});

test("a plan with nothing to do but a version table more than 90 days old is not one line: it shows the warning", async () => {
    const stale = new Date(Date.parse(`${SUPPORTED_AS_OF}T12:00:00Z`) + 91 * 24 * 60 * 60 * 1000);
    const { text, exitCode } = await planForStack("dev", {
        stackDir: devStackAtNewestMinor(),
        markdown: true,
        today: stale,
    });
    assert.equal(exitCode, 0);
    assert.doesNotMatch(text, /nothing to do/);
    assert.match(text, /^- warning: the version table was last checked on .*, 91 days ago/m);
});
