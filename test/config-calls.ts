// Reading a stack config in-process the way the program does, for tests that judge its refusal line by line.

import * as assert from "node:assert/strict";
import { ConfigError, parseStackConfig } from "../components/config";

/** The lines of the refusal of `raw` in stack "dev", without the leading "  - "; fails if it is accepted. */
export function stackRefusal(raw: unknown, opts: Parameters<typeof parseStackConfig>[2] = {}): string[] {
    try {
        parseStackConfig("dev", structuredClone(raw) as Record<string, unknown>, opts);
    } catch (err) {
        assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${err}`);
        const [head, ...lines] = err.message.split("\n");
        assert.match(head, /^k8s-upgrades refused the stack config \(\d+ problems?\); nothing was changed:$/);
        return lines.map((l) => l.replace(/^ {2}- /, ""));
    }
    return assert.fail("the config was accepted");
}
