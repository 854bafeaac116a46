// Every JSON Schema under schema/ compiles under ajv's strict mode, every strict option on (no unknown keywords,
// no ignored ones, types on every keyword that needs one, every required property defined beside it), with the
// ajv class of the draft it declares.

import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import Ajv from "ajv";
import Ajv2020 from "ajv/dist/2020";
import { ROOT } from "../tools/harness";

const DIR = path.join(ROOT, "schema");
const files = fs.readdirSync(DIR).filter((f) => f.endsWith(".schema.json"));

test("schema/ holds the stack config's schema and the --json output's", () => {
    assert.deepEqual(files.sort(), ["command-output.schema.json", "stack-config.schema.json"]);
});

for (const file of files)
    test(`${file} compiles under ajv's strict mode`, () => {
        const schema = JSON.parse(fs.readFileSync(path.join(DIR, file), "utf8"));
        const options = { strict: true, allErrors: true } as const;
        const ajv =
            schema.$schema === "https://json-schema.org/draft/2020-12/schema" ? new Ajv2020(options) : new Ajv(options);
        assert.doesNotThrow(() => ajv.compile(schema));
    });
