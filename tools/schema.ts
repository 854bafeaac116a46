// `npm run schema`: writes schema/stack-config.schema.json from the config schema (then formatted by Biome);
// `-- --check` only compares, by content.
import * as fs from "node:fs";
import * as path from "node:path";
import { stackFileJsonSchema } from "../components/config/json-schema";

export const SCHEMA_FILE = path.resolve(__dirname, "..", "schema", "stack-config.schema.json");

export function renderSchema(): string {
    return `${JSON.stringify(stackFileJsonSchema(), null, 2)}\n`;
}

if (require.main === module) {
    const text = renderSchema();
    if (process.argv.includes("--check")) {
        const current = fs.existsSync(SCHEMA_FILE) ? fs.readFileSync(SCHEMA_FILE, "utf8") : "null";
        if (JSON.stringify(JSON.parse(current)) !== JSON.stringify(JSON.parse(text))) {
            console.error(`${path.relative(process.cwd(), SCHEMA_FILE)} is out of date: run npm run schema`);
            process.exit(1);
        }
    } else {
        fs.writeFileSync(SCHEMA_FILE, text);
        console.log(`wrote ${path.relative(process.cwd(), SCHEMA_FILE)}`);
    }
}
