// What `pulumi preview --diff` would show between two captured runs of the program, in its notation: resources
// created (+), deleted (-), replaced (+-, an input changed that forces a new resource) or updated (~, only the inputs
// that changed).
// Inputs under ignoreChanges are left out, as the engine leaves them; secrets print as [secret]. Which is which is
// decided as the plan's change markers decide it (tools/step-changes.ts).
// test/preview.test.ts renders a version bump of the dev fixture with it; docs/ci-and-promotion.md shows that excerpt.
import type { Capture, CapturedResource } from "./capture-types";
import { changedInputs, changeOf, comparedInputs, isStepResource } from "./step-changes";

/** Strings longer than this are shown by their first line and length (said so where it happens). */
const LONG = 240;

function shown(value: unknown, secret: boolean): string {
    if (secret) return "[secret]";
    if (typeof value === "string") {
        if (value.length <= LONG && !value.includes("\n")) return JSON.stringify(value);
        if (value.length <= LONG) return `"${value.replace(/\n/g, "\\n")}"`;
        return `${JSON.stringify(value.split("\n")[0].slice(0, 100))}… (${value.length} characters)`;
    }
    return JSON.stringify(value);
}

const isSecret = (r: CapturedResource, key: string) => r.secretPaths.some((p) => key === p || key.startsWith(`${p}.`));

function block(sign: string, r: CapturedResource, op: string, lines: string[]): string[] {
    return [`  ${sign} ${r.type}: (${op})`, `      [urn=${r.urn}]`, ...lines];
}

export function previewDiff(before: Capture, after: Capture): string {
    const old = new Map(before.resources.filter(isStepResource).map((r) => [r.urn, r]));
    const out: string[] = [];
    for (const r of after.resources.filter(isStepResource)) {
        const prev = old.get(r.urn);
        old.delete(r.urn);
        const now = comparedInputs(r);
        if (!prev) {
            out.push(
                ...block(
                    "+",
                    r,
                    "create",
                    [...now].map(([k, v]) => `        ${k}: ${shown(v, isSecret(r, k))}`),
                ),
            );
            continue;
        }
        const change = changeOf(prev, r);
        if (change === "unchanged") continue;
        const was = comparedInputs(prev);
        const replace = change === "replace";
        const lines = changedInputs(prev, r).map((k) => {
            const secret = isSecret(r, k) || isSecret(prev, k);
            if (!was.has(k)) return `      + ${k}: ${shown(now.get(k), secret)}`;
            if (!now.has(k)) return `      - ${k}: ${shown(was.get(k), secret)}`;
            return `      ~ ${k}: ${shown(was.get(k), secret)} => ${shown(now.get(k), secret)}`;
        });
        out.push(...block(replace ? "+-" : "~", r, replace ? "replace" : "update", lines));
    }
    for (const r of old.values()) out.push(...block("-", r, "delete", []));
    return `${out.join("\n")}\n`;
}
