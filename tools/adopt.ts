// `npm run plan -- <stack> --adopt`: for a stack whose clusters already run, the `pulumi import` of each cluster and
// pool (type token, the name the program registers, the provider ID from config `import`), then the plan of the
// first deployment, which imports them and records what they report.
import type { Capture } from "./capture-types";
import { PROJECT } from "./harness";

export interface ImportCommand {
    type: string;
    name: string;
    id: string;
    /** The component the resource belongs to, as `name=urn`. */
    parent?: string;
}

/** Every resource the program registered with the `import` option, in registration order. */
export function importCommands(capture: Capture): ImportCommand[] {
    const byUrn = new Map(capture.resources.map((r) => [r.urn, r]));
    return capture.resources
        .filter((r) => r.importId)
        .map((r) => {
            const parent = r.parent ? byUrn.get(r.parent) : undefined;
            return {
                type: r.type,
                name: r.name,
                id: String(r.importId),
                parent:
                    parent && !parent.type.startsWith("pulumi:pulumi:") ? `${parent.name}=${parent.urn}` : undefined,
            };
        });
}

const quote = (s: string) => (/^[\w./:=-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

/** The adoption section printed before the plan. */
export function renderAdoption(stack: string, capture: Capture): string {
    const commands = importCommands(capture);
    if (capture.error) return "";
    if (commands.length === 0)
        return [
            `k8s-upgrades adoption of stack ${stack}`,
            "",
            "  No cluster of this stack names import IDs: nothing to adopt. Add to each cluster that already runs",
            '  import: { cluster: "<provider id>", pools: { <pool name>: "<provider id>" } } (see docs/adopt.md).',
            "",
        ].join("\n");
    const lines = [
        `k8s-upgrades adoption of stack ${stack}`,
        "",
        `  The first 'pulumi up' imports these resources (the import IDs in Pulumi.${stack}.yaml). An input that`,
        "  differs from what runs shows in 'pulumi preview' as an update of the imported resource: adopt only when",
        "  the preview lists imports alone. The same imports by hand (after a 'pulumi up --target' of the",
        "  components; --protect=false keeps blue-green able to retire a pool):",
        "",
    ];
    for (const c of commands)
        lines.push(
            `  pulumi import --stack ${quote(stack)} ${quote(c.type)} ${quote(c.name)} ${quote(c.id)} --protect=false` +
                (c.parent ? ` --parent ${quote(c.parent)}` : ""),
        );
    lines.push(
        "",
        `  Project ${PROJECT}. The running record of this first deployment comes from what the imported resources`,
        "  report (offline, the mocks echo the config back); from then on every deployment plans from that record.",
        "",
    );
    return lines.join("\n");
}
