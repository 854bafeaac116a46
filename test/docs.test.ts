// The README is the front page; docs/ holds the reference. The README stays short, names every docs page, and
// keeps its contract with CI; every relative link in the README or a docs page resolves to a file and, with a
// #fragment, to a heading of that file; the lists and messages the docs quote are the program's own.
import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import { BENCH_MARKERS, BENCH_PAGE } from "../bench/doc-table";
import { checkSupportedVersions, formatIssue, parseStackConfig } from "../components/config";
import { PROVIDERS } from "../components/config/schema";
import { BAD_CONFIGS, lke } from "./fixtures/bad-configs";

const ROOT = path.join(__dirname, "..");
const README_MAX_LINES = 400;

const read = (file: string) => fs.readFileSync(path.join(ROOT, file), "utf8");

function docsPages(dir = "docs"): string[] {
    return fs
        .readdirSync(path.join(ROOT, dir), { withFileTypes: true })
        .flatMap((e) =>
            e.isDirectory() ? docsPages(`${dir}/${e.name}`) : e.name.endsWith(".md") ? [`${dir}/${e.name}`] : [],
        )
        .sort();
}
const MARKDOWN = ["README.md", ...docsPages()];

/** The lines outside fenced code blocks, each with its 1-based number. */
function prose(text: string): { line: string; at: number }[] {
    const out: { line: string; at: number }[] = [];
    let fence: string | undefined;
    text.split("\n").forEach((line, i) => {
        const open = line.match(/^\s*(`{3,}|~{3,})/);
        if (open && (fence === undefined || open[1].startsWith(fence)))
            fence = fence === undefined ? open[1] : undefined;
        else if (fence === undefined) out.push({ line, at: i + 1 });
    });
    return out;
}

/** GitHub's anchor for a heading: its text as rendered, lower case, punctuation dropped, spaces as hyphens. */
function slug(heading: string): string {
    const rendered = heading
        .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
        .replace(/[`*]/g, "")
        .trim();
    return rendered
        .toLowerCase()
        .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, "")
        .replace(/ /g, "-");
}

/** Every anchor a file's headings give, numbered as GitHub numbers repeated ones. */
function anchors(file: string): Set<string> {
    const seen = new Map<string, number>();
    const out = new Set<string>();
    for (const { line } of prose(read(file))) {
        const h = line.match(/^#{1,6}\s+(.*?)\s*#*\s*$/);
        if (!h) continue;
        const base = slug(h[1]);
        const n = seen.get(base) ?? 0;
        seen.set(base, n + 1);
        out.add(n === 0 ? base : `${base}-${n}`);
    }
    return out;
}

interface Link {
    from: string;
    at: number;
    target: string;
}

/** The relative links of a Markdown file (inline links outside code), external ones left out. */
function relativeLinks(file: string): Link[] {
    const links: Link[] = [];
    for (const { line, at } of prose(read(file))) {
        const text = line.replace(/`[^`]*`/g, "``");
        for (const m of text.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
            const target = m[1];
            if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith("//")) continue;
            links.push({ from: file, at, target });
        }
    }
    return links;
}

/** The repository path a link points to, and its fragment. */
function resolve(link: Link): { file: string; fragment?: string } {
    const [pathPart, fragment] = link.target.split("#", 2) as [string, string | undefined];
    const file =
        pathPart === "" ? link.from : path.posix.normalize(path.posix.join(path.posix.dirname(link.from), pathPart));
    return { file, fragment: fragment === undefined ? undefined : decodeURIComponent(fragment) };
}

function section(text: string, heading: string): string {
    const start = text.indexOf(`\n${heading}\n`);
    assert.ok(start >= 0, `no section "${heading}"`);
    const level = heading.match(/^#+/)?.[0] ?? "";
    const rest = text.slice(start + heading.length + 2);
    const next = rest.search(new RegExp(`^#{1,${level.length}} `, "m"));
    return next < 0 ? rest : rest.slice(0, next);
}

test(`README.md is a front page: at most ${README_MAX_LINES} lines`, () => {
    const text = read("README.md");
    const lines = text.endsWith("\n") ? text.split("\n").length - 1 : text.split("\n").length;
    assert.ok(lines <= README_MAX_LINES, `README.md has ${lines} lines; move reference text into docs/`);
});

test("every relative link in README.md and docs/ resolves to a file, and its #fragment to a heading there", () => {
    const broken: string[] = [];
    const links = MARKDOWN.flatMap(relativeLinks);
    assert.ok(links.length > 50, `only ${links.length} relative links found: the link reader is broken`);
    for (const link of links) {
        const { file, fragment } = resolve(link);
        const where = `${link.from}:${link.at}: ${link.target}`;
        if (file.startsWith("..") || !fs.existsSync(path.join(ROOT, file))) {
            broken.push(`${where}: no file ${file}`);
        } else if (fragment !== undefined) {
            if (!file.endsWith(".md")) broken.push(`${where}: an anchor into a file that is not Markdown`);
            else if (!anchors(file).has(fragment))
                broken.push(`${where}: ${file} has no heading #${fragment} (it has ${[...anchors(file)].join(", ")})`);
        }
    }
    assert.deepEqual(broken, []);
});

test("the anchors are GitHub's: punctuation dropped, spaces kept as hyphens, repeats numbered", () => {
    assert.equal(slug("How an upgrade flows, dev → staging → prod"), "how-an-upgrade-flows-dev--staging--prod");
    assert.equal(slug("Reading `pulumi preview --diff`"), "reading-pulumi-preview---diff");
    assert.equal(slug("What happens when…"), "what-happens-when");
    assert.equal(slug("Cluster API on AWS, step by step"), "cluster-api-on-aws-step-by-step");
    assert.equal(slug("The `k8s_upgrades` record"), "the-k8s_upgrades-record");
});

test("every docs page is linked from README.md", () => {
    const linked = new Set(relativeLinks("README.md").map((l) => resolve(l).file));
    assert.deepEqual(
        docsPages().filter((page) => !linked.has(page)),
        [],
        "pages README.md does not link to",
    );
});

test("every docs page the README links to ships in the npm package beside it", () => {
    const out = execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], {
        cwd: ROOT,
        encoding: "utf8",
    });
    const packed = new Set((JSON.parse(out) as { files: { path: string }[] }[])[0].files.map((f) => f.path));
    assert.ok(packed.has("README.md"), "README.md is not in the package");
    const linked = [...new Set(relativeLinks("README.md").map((l) => resolve(l).file))].filter((f) =>
        f.startsWith("docs/"),
    );
    assert.ok(linked.length > 0);
    assert.deepEqual(
        linked.filter((f) => !packed.has(f)),
        [],
        "README.md links to pages the package leaves out",
    );
});

test("The two commands: the main job from a fresh checkout, and exactly the test command .ci/run runs", () => {
    const block = section(read("README.md"), "## The two commands").match(/```sh\n([\s\S]*?)```/);
    assert.ok(block, "The two commands has no sh block");
    const commands = block[1]
        .split("\n")
        .map((l) => l.replace(/\s+#.*$/, "").trim())
        .filter(Boolean);
    assert.equal(commands.length, 2, `two commands, not ${JSON.stringify(commands)}`);
    const [mainJob, tests] = commands;
    assert.match(mainJob, /^npm ci && npm run plan -- \S+$/, "the main job installs first, then plans");
    const ciCommands = read(".ci/run")
        .split("\n")
        .map((l) => l.trim())
        .filter((l) => l !== "" && !l.startsWith("#"));
    assert.equal(ciCommands.at(-1), tests, ".ci/run ends with the README's test command");
    assert.ok(ciCommands.includes("npm ci"), ".ci/run installs with npm ci, as on a fresh machine");
});

test("the README's provider table has a row and a page for every provider the config accepts", () => {
    const rows = read("README.md")
        .split("\n")
        .filter((l) => /^\| [^|]+ \| `[a-z-]+` \|/.test(l));
    const providers = rows.map((r) => r.split(" | ")[1].replaceAll("`", ""));
    assert.deepEqual([...providers].sort(), [...PROVIDERS].sort());
    const pages = rows.map((r) => r.match(/\]\((docs\/[^)#]+\.md)\)/)?.[1]);
    assert.ok(
        pages.every((p) => p !== undefined),
        "every row links to its provider's page",
    );
    assert.equal(new Set(pages).size, PROVIDERS.length, "one page per provider");
    const docsLine = read("README.md")
        .split("\n")
        .findIndex((l) => l.startsWith("Providers, each step by step:"));
    assert.ok(docsLine >= 0, "README.md lists the provider pages under Documentation");
    const listed = read("README.md")
        .split("\n")
        .slice(docsLine, docsLine + 2)
        .join(" ");
    for (const page of pages) assert.ok(listed.includes(`(${page})`), `the Documentation list names ${page}`);
});

test("the config reference names every provider the config accepts", () => {
    const row = read("docs/config.md")
        .split("\n")
        .find((l) => l.startsWith("| `clusters[].provider` |"));
    assert.ok(row, "docs/config.md has a clusters[].provider row");
    const named = [...row.split(" | ")[1].matchAll(/`([a-z-]+)`/g)].map((m) => m[1]);
    assert.deepEqual(named.sort(), [...PROVIDERS].sort());
});

test("the config reference's common mistakes quote the program's own messages, and count its cases", () => {
    const page = read("docs/config.md");
    const part = section(page, "## Common mistakes");
    assert.match(part, new RegExp(`the full list,\\s+${BAD_CONFIGS.length} cases with their exact messages`));
    const versionRefusal = checkSupportedVersions(
        parseStackConfig("dev", { clusters: [lke({ kubernetesVersion: "1.45" })] }),
        {},
    ).issues.map((issue) => formatIssue(issue));
    const messages = [...BAD_CONFIGS.flatMap((b) => b.expect), ...versionRefusal];
    // Worded where other tests hold them word for word (test/config.test.ts), not in the table of cases.
    const elsewhere = new Set(["no previous outputs, no `firstDeployment`", "a YAML syntax error (offline plan)"]);
    const rows = part.split("\n").filter((l) => l.startsWith("| ") && !/^\| (mistake|---) /.test(l));
    assert.ok(rows.length >= 10, `${rows.length} rows`);
    const unmatched: string[] = [];
    for (const row of rows) {
        const [, mistake, quoted] = row.match(/^\| (.*?) \| `(.*?)`( .*)? \|$/) ?? [];
        assert.ok(mistake && quoted, `a row of mistake and quoted message: ${row}`);
        if (elsewhere.has(mistake)) continue;
        const fragments = quoted
            .split("…")
            .map((f) => f.trim())
            .filter(Boolean);
        const inOrder = (m: string) => {
            let from = 0;
            for (const f of fragments) {
                const i = m.indexOf(f, from);
                if (i < 0) return false;
                from = i + f.length;
            }
            return true;
        };
        if (!messages.some(inOrder)) unmatched.push(`${mistake}: ${quoted}`);
    }
    assert.deepEqual(unmatched, [], "rows whose message the program does not give");
});

test("the benchmarks page carries the markers the bench regenerates its tables between", () => {
    const page = read(BENCH_PAGE);
    for (const [bench, [start, end]] of Object.entries(BENCH_MARKERS)) {
        const a = page.indexOf(start);
        assert.ok(a >= 0 && page.indexOf(end) > a, `${BENCH_PAGE} has ${start} … ${end} (npm run bench ${bench})`);
    }
    assert.ok(
        relativeLinks("README.md").some((l) => resolve(l).file === BENCH_PAGE),
        "README.md links to the page",
    );
});
