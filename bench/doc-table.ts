// Where `npm run bench -- … --record` writes its tables: between two markers of the benchmarks page, so that the
// page's text around them stays as written. The docs test checks that the page carries every pair of markers.
import * as fs from "node:fs";
import * as path from "node:path";

/** The page the bench tables live on, relative to the repository root. */
export const BENCH_PAGE = "docs/benchmarks.md";

/** The markers around each bench's table on BENCH_PAGE. */
export const BENCH_MARKERS = {
    drain: ["<!-- bench:drain:start -->", "<!-- bench:drain:end -->"],
    plan: ["<!-- bench:plan:start -->", "<!-- bench:plan:end -->"],
} as const;

/** Replaces what stands between the bench's markers on BENCH_PAGE with `body`; refuses a page without them. */
export function writeBenchTable(bench: keyof typeof BENCH_MARKERS, body: string): string {
    const page = path.join(__dirname, "..", BENCH_PAGE);
    const [start, end] = BENCH_MARKERS[bench];
    const text = fs.readFileSync(page, "utf8");
    const a = text.indexOf(start);
    const b = text.indexOf(end);
    if (a < 0 || b < a) throw new Error(`${BENCH_PAGE} has no ${start} … ${end} section to regenerate`);
    fs.writeFileSync(page, `${text.slice(0, a + start.length)}\n${body}${text.slice(b)}`);
    return BENCH_PAGE;
}
