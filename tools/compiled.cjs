// `node tools/compiled.cjs <module> [args…]` runs one of the project's commands (a module such as tools/plan that
// exports one `…Command`) from the compiled build of tools/capture-build.ts rather than through tsx: the same code,
// without transpiling every module it loads at each start. The build is reused while no source has changed and
// made again when one has. K8SU_CAPTURE_FROM_SOURCE=1 runs the TypeScript through tsx instead, for debugging.
// This file is plain JavaScript because it runs before anything is compiled.
"use strict";
const path = require("node:path");
const tsx = require("tsx/cjs/api");

const ROOT = path.join(__dirname, "..");

function fail(message, code) {
    process.stderr.write(`${message}\n`);
    process.exit(code);
}

function main() {
    const [name, ...args] = process.argv.slice(2);
    if (!name || !/^(tools|bench)\/[a-z0-9.-]+$/.test(name))
        fail("usage: node tools/compiled.cjs <tools/NAME|bench/NAME> [args…]", 2);
    let load;
    if (process.env.K8SU_CAPTURE_FROM_SOURCE === "1") {
        tsx.register();
        load = (module) => require(path.join(ROOT, `${module}.ts`));
    } else {
        let build;
        try {
            build = tsx.require("./capture-build.ts", __filename).captureBuild(ROOT);
        } catch (err) {
            fail(`${name}: cannot compile the project (${err instanceof Error ? err.message : err}); npm run typecheck shows where`, 1);
        }
        load = (module) => require(path.join(build.dir, `${module}.js`));
    }
    const exported = load(name);
    const commands = Object.keys(exported).filter((k) => k.endsWith("Command"));
    if (commands.length !== 1) fail(`${name} exports ${commands.length} commands; expected one`, 2);
    return load("tools/cli").runCommand(exported[commands[0]], args);
}

main();
