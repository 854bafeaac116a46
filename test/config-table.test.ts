// The contract of config refusals: each ordinary mistake with the exact messages it produces. The messages name the
// file, stack, cluster and field, say what was given (never a secret), what is allowed and what to do next.
import * as assert from "node:assert/strict";
import { test } from "node:test";
import { ConfigError, parseStackConfig } from "../components/config";
import { BAD_CONFIGS, type BadConfig, PEM, TOKEN } from "./fixtures/bad-configs";

export function refusal(c: BadConfig): string[] {
    try {
        parseStackConfig("dev", structuredClone(c.raw), { otherConfig: c.otherKeys, secretKeys: c.secretKeys });
    } catch (err) {
        assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${err}`);
        const [head, ...lines] = err.message.split("\n");
        assert.match(head, /^k8s-upgrades refused the stack config \(\d+ problems?\); nothing was changed:$/);
        return lines.map((l) => l.replace(/^ {2}- /, ""));
    }
    return assert.fail("the config was accepted");
}

test("the table covers at least 40 mistakes, each named once", () => {
    assert.ok(BAD_CONFIGS.length >= 40, `${BAD_CONFIGS.length} cases`);
    assert.equal(new Set(BAD_CONFIGS.map((c) => c.name)).size, BAD_CONFIGS.length);
});

for (const c of BAD_CONFIGS) {
    test(`refuses ${c.name}`, () => {
        const lines = refusal(c);
        assert.deepEqual(lines, c.expect);
        for (const line of lines) {
            assert.ok(line.startsWith('Pulumi.dev.yaml: stack "dev"'), line);
            assert.ok(!line.includes(TOKEN.slice(0, 16)), `a token leaked: ${line}`);
            assert.ok(!line.includes("BEGIN OPENSSH") && !line.includes(PEM.split("\n")[1]), `a key leaked: ${line}`);
        }
    });
}
