// `npm run cluster`: usage errors are refused before anything is built or started.
import * as assert from "node:assert/strict";
import { test } from "node:test";
import { UsageError } from "../tools/cli";
import { clusterCommand } from "../tools/cluster";

const run = (values: Record<string, unknown>, positionals: string[]) =>
    Promise.resolve().then(() => clusterCommand.run(values, positionals));

test("an unknown verb is a usage error with a suggestion", async () => {
    await assert.rejects(run({}, ["upp"]), (err: unknown) => {
        assert.ok(err instanceof UsageError);
        assert.equal(err.message, "one of up, down, status (given: upp) (did you mean up?)");
        return true;
    });
    await assert.rejects(run({}, []), /one of up, down, status \(given: nothing\)/);
    await assert.rejects(run({}, ["up", "now"]), /one of up, down, status \(given: up now\)/);
});

test("bad values for up are refused before any build or process", async () => {
    const dir = "/nonexistent/k8su-cluster-cli-test";
    await assert.rejects(run({ dir, nodes: "0" }, ["up"]), /--nodes 0: give a whole number from 1 to 500/);
    await assert.rejects(run({ dir, nodes: "2.5" }, ["up"]), /--nodes 2\.5: give a whole number/);
    await assert.rejects(run({ dir, version: "1.34.4" }, ["up"]), /--version 1\.34\.4: give a minor such as 1\.34/);
    await assert.rejects(run({ dir, label: ["pool"] }, ["up"]), /--label pool: give KEY=VALUE/);
    await assert.rejects(run({ dir, "apiserver-port": "70000" }, ["up"]), /--apiserver-port 70000/);
});
