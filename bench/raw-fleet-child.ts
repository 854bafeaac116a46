// The plan bench's baseline as a command, started the way `npm run plan` starts (tools/compiled.cjs), so that both
// sides of the ratio pay the same start-up: runs bench/raw-lke-fleet.ts for the fleet stack in the folder given,
// through the same harness and capture child as the plan, and prints how many resources it registered.
import * as path from "node:path";
import { type Command, EXIT, UsageError } from "../tools/cli";
import { ROOT, readStackFile, runProgram } from "../tools/harness";

export const rawFleetCommand: Command<Record<string, never>> = {
    name: "raw-fleet",
    usage: "node tools/compiled.cjs bench/raw-fleet-child <stack-dir>",
    description: "Registers the plan bench's fleet directly under the capture's mocks (no config checks, no planner).",
    help: [["-h, --help", "this text"]],
    options: {},
    async run(_values, positionals) {
        if (positionals.length !== 1) throw new UsageError("give the folder holding Pulumi.fleet.yaml");
        const { config, secretKeys } = readStackFile("fleet", positionals[0]);
        // Through the source root, so that the capture child loads the compiled program like the plan's does.
        const program = path.join(ROOT, "bench", "raw-lke-fleet.ts");
        const capture = await runProgram({ program, stack: "fleet", config, secretKeys });
        if (capture.error) throw new Error(`the baseline program failed: ${capture.error}`);
        console.log(`resources: ${capture.resources.length}`);
        return EXIT.ok;
    },
};
