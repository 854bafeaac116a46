// The version table carries the day it was checked; the plan shows that day and warns once it is more than
// STALE_AFTER_DAYS (90) days before the day the plan runs. Today comes from the clock, or from K8SU_TODAY.

import * as assert from "node:assert/strict";
import * as path from "node:path";
import { test } from "node:test";
import { STALE_AFTER_DAYS, SUPPORTED_AS_OF, staleTableWarning, versionTableAge } from "../components/config";
import { today, UsageError } from "../tools/cli";
import { planForStack, renderPlan } from "../tools/plan";
import { runToolWith } from "./fixture/run-tool";

const STACKS = path.join(__dirname, "fixtures", "stacks");
const DAY_MS = 24 * 60 * 60 * 1000;

/** The day `days` after the table was checked, at `time` (UTC). */
function after(days: number, time = "00:00:00"): Date {
    return new Date(Date.parse(`${SUPPORTED_AS_OF}T${time}Z`) + days * DAY_MS);
}
const isoDay = (d: Date) => d.toISOString().slice(0, 10);

test(`the table is fresh ${STALE_AFTER_DAYS} days after it was checked and stale the day after, whatever the time of day`, () => {
    assert.equal(STALE_AFTER_DAYS, 90);
    assert.deepEqual(versionTableAge(after(0)), { checked: SUPPORTED_AS_OF, days: 0, stale: false });
    assert.deepEqual(versionTableAge(after(90, "23:59:59")), { checked: SUPPORTED_AS_OF, days: 90, stale: false });
    assert.deepEqual(versionTableAge(after(91, "00:00:01")), { checked: SUPPORTED_AS_OF, days: 91, stale: true });
    assert.equal(staleTableWarning(after(90, "23:59:59")), undefined);
    assert.equal(
        staleTableWarning(after(91)),
        `the version table was last checked on ${SUPPORTED_AS_OF}, 91 days ago (more than 90): providers may have added or retired minors since, so its offered-version warnings and the policy's support window may be wrong. Update k8s-upgrades, or check your providers' version calendars before trusting them.`,
    );
    // A clock behind the table (a machine with a wrong date) is not stale.
    assert.equal(versionTableAge(after(-3)).stale, false);
});

test("today is the clock unless K8SU_TODAY names a day; a malformed day is a usage error", () => {
    const clock = new Date("2031-05-06T07:08:09Z");
    assert.equal(
        today({}, () => clock),
        clock,
    );
    assert.equal(
        today({ K8SU_TODAY: "" }, () => clock),
        clock,
    );
    assert.equal(isoDay(today({ K8SU_TODAY: "2027-03-08" }, () => clock)), "2027-03-08");
    for (const bad of ["2027-02-30", "8 March 2027", "2027-3-8", "tomorrow"])
        assert.throws(
            () => today({ K8SU_TODAY: bad }, () => clock),
            (e: Error) => e instanceof UsageError && e.message.includes(`K8SU_TODAY=${bad}: give a day as YYYY-MM-DD`),
        );
    const before = Date.now();
    const now = today({}).getTime();
    assert.ok(now >= before && now <= Date.now(), "without K8SU_TODAY, the system clock");
});

test("the plan names the table's day; it warns on day 91, not on day 90, in text, Markdown and JSON", async () => {
    const first = await planForStack("prod", { stackDir: STACKS, today: after(90) });
    assert.ok(first.capture, first.text);
    const previous = { outputs: undefined, label: "test" };
    const render = (days: number, opts: { markdown?: boolean; json?: boolean } = {}) =>
        renderPlan("prod", first.capture!, previous, undefined, undefined, { ...opts, today: after(days) }).text;
    const warning = /^ {2}warning: the version table was last checked on \d{4}-\d{2}-\d{2}, \d+ days ago/m;

    assert.match(first.text, new RegExp(`^ {2}version table: checked ${SUPPORTED_AS_OF}$`, "m"));
    assert.doesNotMatch(first.text, warning);
    assert.doesNotMatch(render(90), warning);
    assert.match(
        render(91),
        new RegExp(`^ {2}warning: the version table was last checked on ${SUPPORTED_AS_OF}, 91 days ago`, "m"),
    );

    assert.match(render(90, { markdown: true }), new RegExp(`^- version table: checked ${SUPPORTED_AS_OF}$`, "m"));
    assert.doesNotMatch(render(90, { markdown: true }), /^- warning: the version table/m);
    assert.match(render(91, { markdown: true }), /^- warning: the version table was last checked on .*, 91 days ago/m);

    assert.deepEqual(JSON.parse(render(90, { json: true })).versionTable, {
        checked: SUPPORTED_AS_OF,
        days: 90,
        stale: false,
    });
    assert.deepEqual(JSON.parse(render(91, { json: true })).versionTable, {
        checked: SUPPORTED_AS_OF,
        days: 91,
        stale: true,
    });
});

test("npm run plan takes today from K8SU_TODAY: day 91 warns, day 90 does not, a malformed day exits 2", async () => {
    const [day90, day91, bad] = await Promise.all([
        runToolWith({ K8SU_TODAY: isoDay(after(90)) }, "plan", "prod", "--stack-dir", STACKS),
        runToolWith({ K8SU_TODAY: isoDay(after(91)) }, "plan", "prod", "--stack-dir", STACKS),
        runToolWith({ K8SU_TODAY: "yesterday" }, "plan", "prod", "--stack-dir", STACKS),
    ]);
    assert.equal(day90.code, 0, day90.err);
    assert.doesNotMatch(day90.out, /warning: the version table/);
    assert.equal(day91.code, 0, day91.err);
    assert.match(day91.out, /^ {2}warning: the version table was last checked on .*, 91 days ago \(more than 90\)/m);
    assert.equal(bad.code, 2, bad.err);
    assert.match(bad.err, /^plan: K8SU_TODAY=yesterday: give a day as YYYY-MM-DD/m);
});
