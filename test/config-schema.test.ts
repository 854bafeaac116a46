// The published JSON Schema: up to date with the config schema, accepting every example stack, and agreeing with
// the program on the bad-config table (where JSON Schema can say the rule at all).
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import Ajv2020 from "ajv/dist/2020";
import * as YAML from "yaml";
import { parseStackConfig } from "../components/config";
import { renderSchema, SCHEMA_FILE } from "../tools/schema";
import { BAD_CONFIGS, type BadConfig } from "./fixtures/bad-configs";

const STACKS = path.join(__dirname, "fixtures", "stacks");
const ajv = new Ajv2020({ allErrors: true, strict: true });
const validate = ajv.compile(JSON.parse(fs.readFileSync(SCHEMA_FILE, "utf8")));

/** A bad config as it would sit in Pulumi.dev.yaml: namespaced keys, secrets as `secure:` values. */
function stackDocument(c: BadConfig): Record<string, unknown> {
    const config: Record<string, unknown> = { ...c.otherKeys };
    for (const [key, value] of Object.entries(structuredClone(c.raw)))
        config[`k8s-upgrades:${key}`] = c.secretKeys?.includes(key) ? { secure: "AAABAM0o3iYrTN0b" } : value;
    return { config };
}

test("schema/stack-config.schema.json is what npm run schema writes", () => {
    // Compared by content: Biome formats the file after it is written.
    assert.deepEqual(
        JSON.parse(fs.readFileSync(SCHEMA_FILE, "utf8")),
        JSON.parse(renderSchema()),
        "run npm run schema and commit the file",
    );
});

for (const file of fs.readdirSync(STACKS).filter((f) => /^Pulumi\..+\.yaml$/.test(f))) {
    test(`the example stack ${file} passes the JSON Schema and the program's validation`, () => {
        const doc = YAML.parse(fs.readFileSync(path.join(STACKS, file), "utf8")) as { config: Record<string, unknown> };
        assert.ok(validate(doc), JSON.stringify(validate.errors, null, 2));
        const raw = Object.fromEntries(
            Object.entries(doc.config)
                .filter(([k]) => k.startsWith("k8s-upgrades:"))
                .map(([k, v]) => [k.slice("k8s-upgrades:".length), v]),
        );
        const stack = file.replace(/^Pulumi\.|\.yaml$/g, "");
        assert.equal(parseStackConfig(stack, raw).clusters.length > 0, true);
    });
}

for (const c of BAD_CONFIGS) {
    const verdict = c.schema ? "refuses" : "leaves to the program (a rule across fields)";
    test(`the JSON Schema ${verdict}: ${c.name}`, () => {
        const valid = validate(stackDocument(c));
        if (c.schema) assert.equal(valid, false, "the JSON Schema accepted what the program refuses");
        else
            assert.equal(
                valid,
                true,
                `the JSON Schema refuses it too: mark it schema: true\n${JSON.stringify(validate.errors)}`,
            );
    });
}
