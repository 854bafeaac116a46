// What `pulumi preview --diff` would show between two captured runs of the program, in its notation: resources
// created (+), deleted (-), replaced (+-, a changed trigger) or updated (~, only the inputs that changed).
// Inputs under ignoreChanges are left out, as the engine leaves them; secrets print as [secret].
// test/preview.test.ts renders a version bump of the dev fixture with it; docs/ci-and-promotion.md shows that excerpt.
import type { Capture, CapturedResource } from "./capture-types";

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

function flatten(value: unknown, prefix: string, out: Map<string, unknown>): Map<string, unknown> {
    if (value && typeof value === "object" && !Array.isArray(value)) {
        for (const [k, v] of Object.entries(value as Record<string, unknown>))
            flatten(v, prefix ? `${prefix}.${k}` : k, out);
    } else out.set(prefix, value);
    return out;
}

function inputs(r: CapturedResource): Map<string, unknown> {
    const flat = flatten(r.inputs, "", new Map());
    for (const key of [...flat.keys()])
        if (r.ignoreChanges.some((i) => key === i || key.startsWith(`${i}.`))) flat.delete(key);
    return flat;
}

const isSecret = (r: CapturedResource, key: string) => r.secretPaths.some((p) => key === p || key.startsWith(`${p}.`));

function block(sign: string, r: CapturedResource, op: string, lines: string[]): string[] {
    return [`  ${sign} ${r.type}: (${op})`, `      [urn=${r.urn}]`, ...lines];
}

export function previewDiff(before: Capture, after: Capture): string {
    const keep = (r: CapturedResource) => r.custom && !r.type.startsWith("pulumi:");
    const old = new Map(before.resources.filter(keep).map((r) => [r.urn, r]));
    const out: string[] = [];
    for (const r of after.resources.filter(keep)) {
        const prev = old.get(r.urn);
        old.delete(r.urn);
        const now = inputs(r);
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
        const was = inputs(prev);
        const keys = [...new Set([...was.keys(), ...now.keys()])].filter(
            (k) => JSON.stringify(was.get(k)) !== JSON.stringify(now.get(k)),
        );
        if (keys.length === 0) continue;
        const replace = keys.some((k) => k.startsWith("triggers"));
        const lines = keys.map((k) => {
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
