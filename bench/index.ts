// `npm run bench [-- drain] [options]` runs the drain bench (bench/drain.bench.ts), as it always has;
// `npm run bench -- plan [options]` runs the offline plan's bench (bench/plan.bench.ts).
const [which] = process.argv.slice(2);
if (which === "plan" || which === "drain") process.argv.splice(2, 1);
if (which === "plan") {
    import("./plan.bench")
        .then((bench) => bench.main())
        .catch((err: unknown) => {
            console.error(err instanceof Error ? err.message : err);
            process.exit(1);
        });
} else {
    // The drain bench runs as it loads.
    import("./drain.bench");
}
