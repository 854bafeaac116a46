// `npm run plan -- <stack> [--previous FILE] [--source FILE] [--first-deployment] [--markdown]`
// Runs the real program under the mock runtime with the stack's config and prints the upgrade as ordered
// steps, what changes against the previous deployment, and the policy pack's verdicts.
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { evaluatePolicies, type PolicyReport } from "../policy/evaluate";
import type { Capture } from "./capture-types";
import { changes, orderSteps, recordedState, type Step } from "./graph";
import { ROOT, readStackFile, readStackOutputs, runProgram } from "./harness";

export interface OutputsSource {
    outputs?: Record<string, unknown>;
    /** Where the outputs came from, said in the plan's first lines. */
    label: string;
}

/**
 * A stack's previous outputs: a file when given; else the Pulumi CLI when installed and logged in; else
 * running/<stack>.json, which the deploy workflow records after every successful `pulumi up`.
 */
export function loadOutputs(stack: string, file?: string): OutputsSource {
    if (file) return { outputs: JSON.parse(fs.readFileSync(file, "utf8")), label: file };
    try {
        return { outputs: readStackOutputs(stack), label: `pulumi stack output --json --stack ${stack}` };
    } catch {
        /* no CLI, not logged in, or no such stack */
    }
    const recorded = path.join(ROOT, "running", `${stack}.json`);
    if (fs.existsSync(recorded)) {
        return {
            outputs: JSON.parse(fs.readFileSync(recorded, "utf8")),
            label: `${path.relative(ROOT, recorded)} (recorded by the last deployment; no Pulumi CLI here)`,
        };
    }
    return { outputs: undefined, label: "none (first deployment)" };
}

export interface PlanResult {
    text: string;
    exitCode: number;
}

export async function planForStack(
    stack: string,
    opts: { previous?: string; source?: string; firstDeployment?: boolean; markdown?: boolean; stackDir?: string },
): Promise<PlanResult> {
    const { config, secretKeys } = readStackFile(stack, opts.stackDir);
    if (opts.firstDeployment) config["k8s-upgrades:firstDeployment"] = true;
    const previous: OutputsSource = opts.firstDeployment
        ? { label: "none (--first-deployment)" }
        : loadOutputs(stack, opts.previous);
    const declared = config["k8s-upgrades:promotesFrom"] ?? config.promotesFrom;
    const promotesFrom = typeof declared === "string" && declared !== "" ? declared : undefined;
    const source: OutputsSource | undefined = promotesFrom ? loadOutputs(promotesFrom, opts.source) : undefined;
    const capture = await runProgram({
        stack,
        config,
        secretKeys,
        previous: previous.outputs,
        sources: promotesFrom && source?.outputs ? { [promotesFrom]: source.outputs } : {},
    });
    return renderPlan(stack, capture, previous, promotesFrom, source, !!opts.markdown);
}

export function renderPlan(
    stack: string,
    capture: Capture,
    previous: OutputsSource,
    promotesFrom: string | undefined,
    source: OutputsSource | undefined,
    markdown: boolean,
): PlanResult {
    const lines: string[] = [];
    const h = (level: number, text: string) =>
        lines.push(
            markdown ? `${level === 1 ? "" : "\n"}${"#".repeat(level)} ${text}\n` : level === 1 ? text : `\n${text}`,
        );
    h(1, `k8s-upgrades plan for stack ${stack}`);
    lines.push(`${markdown ? "- " : "  "}previous outputs: ${previous.label}`);
    if (promotesFrom)
        lines.push(`${markdown ? "- " : "  "}promotes from: ${promotesFrom} (${source?.label ?? "none"})`);
    if (capture.error) {
        h(2, "Refused");
        lines.push(markdown ? "```" : "", capture.error.trim(), markdown ? "```" : "");
        return { text: lines.join("\n"), exitCode: 1 };
    }
    const steps = orderSteps(capture.resources);
    const before = recordedState(previous.outputs, `stack "${stack}"`);
    const after = recordedState(capture.stackOutputs, "this run");

    h(2, "Steps, in order (each level waits for the levels before it)");
    if (markdown) {
        lines.push("| level | step | what it does | waits for |", "| --- | --- | --- | --- |");
        for (const s of steps)
            lines.push(
                `| ${s.level} | \`${s.resource.name}\` | ${s.what.replace(/\|/g, "\\|")} | ${s.after.map((a) => `\`${a}\``).join(", ")} |`,
            );
    } else {
        for (const s of steps) lines.push(`  ${String(s.level).padStart(2)}. ${s.resource.name.padEnd(46)} ${s.what}`);
    }
    const diff = changes(before, after);
    const removed = diff.filter((d) => d.sign === "-");
    if (removed.length > 0)
        lines.push(
            markdown ? "" : "",
            `${markdown ? "" : "  "}then, after every step above, in reverse dependency order:`,
            ...removed.map((d) => `${markdown ? "- " : "     "}${d.text}`),
        );

    h(2, "Changes against the previous deployment");
    lines.push(
        ...(diff.length > 0
            ? diff.map((d) => `${markdown ? "- " : "  "}${d.sign} ${d.text}`)
            : [`${markdown ? "- " : "  "}no change`]),
    );
    const notes = (capture.log ?? "")
        .split("\n")
        .filter((l) => /warning:|info:/.test(l))
        .map((l) => l.trim());
    if (notes.length > 0) {
        h(2, "Notes");
        lines.push(...notes.map((n) => `${markdown ? "- " : "  "}${n}`));
    }

    const report = evaluatePolicies(capture);
    h(2, "Policies");
    lines.push(...renderPolicies(report, markdown));

    if (markdown) {
        h(2, "Flow");
        lines.push(
            "",
            "```mermaid",
            ...mermaid(
                steps,
                removed.map((d) => d.text),
            ),
            "```",
        );
    }
    return { text: `${lines.join("\n")}\n`, exitCode: report.mandatory.length > 0 ? 1 : 0 };
}

function renderPolicies(report: PolicyReport, markdown: boolean): string[] {
    const bullet = markdown ? "- " : "  ";
    const out: string[] = [`${bullet}${report.evaluated} policies evaluated over ${report.resources} resources`];
    for (const [label, list] of [
        ["mandatory (blocks the update)", report.mandatory],
        ["advisory", report.advisory],
    ] as const) {
        if (list.length === 0) {
            out.push(`${bullet}${label}: none`);
            continue;
        }
        out.push(`${bullet}${label}:`);
        for (const v of list)
            out.push(
                `${markdown ? "  - " : "     - "}[${v.policy}] ${v.urn ? `${v.urn.split("::").pop()}: ` : ""}${v.message}`,
            );
    }
    return out;
}

function mermaid(steps: Step[], removals: string[]): string[] {
    const id = new Map(steps.map((s, i) => [s.resource.name, `s${i}`]));
    const label = (text: string) => text.replace(/"/g, "#quot;");
    const out = ["flowchart TD"];
    for (const s of steps) out.push(`  ${id.get(s.resource.name)}["${label(s.resource.name)}<br/>${label(s.what)}"]`);
    for (const s of steps) for (const a of s.after) out.push(`  ${id.get(a)} --> ${id.get(s.resource.name)}`);
    const sinks = steps.filter((s) => !steps.some((o) => o.after.includes(s.resource.name)));
    removals.forEach((text, i) => {
        out.push(`  r${i}["${label(text)}"]:::retire`);
        for (const s of sinks) out.push(`  ${id.get(s.resource.name)} -.-> r${i}`);
    });
    if (removals.length > 0) out.push("  classDef retire stroke-dasharray: 5 5");
    return out;
}

async function cli(): Promise<void> {
    const { values, positionals } = parseArgs({
        allowPositionals: true,
        options: {
            previous: { type: "string" },
            source: { type: "string" },
            "stack-dir": { type: "string" },
            "first-deployment": { type: "boolean" },
            markdown: { type: "boolean" },
            help: { type: "boolean" },
        },
    });
    const stackDir = values["stack-dir"] ? path.resolve(values["stack-dir"]) : ROOT;
    const stacks = fs
        .readdirSync(stackDir)
        .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
        .filter((s): s is string => !!s);
    if (values.help || positionals.length !== 1) {
        console.error(
            `usage: npm run plan -- <stack> [--previous outputs.json] [--source outputs.json] [--first-deployment] [--markdown] [--stack-dir DIR]\nstacks: ${stacks.join(", ")}`,
        );
        process.exit(values.help ? 0 : 2);
    }
    const stack = positionals[0];
    if (!stacks.includes(stack)) {
        console.error(`no stack "${stack}": stacks are ${stacks.join(", ")} (Pulumi.<stack>.yaml)`);
        process.exit(2);
    }
    const result = await planForStack(stack, {
        previous: values.previous,
        source: values.source,
        firstDeployment: values["first-deployment"],
        markdown: values.markdown,
        stackDir,
    });
    process.stdout.write(result.text);
    process.exit(result.exitCode);
}

if (require.main === module)
    cli().catch((err) => {
        console.error(err instanceof Error ? err.message : err);
        process.exit(2);
    });
