// Mutation testing (`npm run mutants`): StrykerJS changes one operator, condition or literal at a time in the
// decision modules and runs the test files that reached that code; a mutant the tests do not notice is a
// behaviour nobody checks. Node's test runner speaks TAP, so the tap runner runs each test file as one test;
// per-test coverage then picks, for each mutant, only the files that executed it.
// The default covers the decision modules (the version rules, the planner, the policy rules): about half an hour
// on two cores. Other files on demand: `npm run mutants -- --mutate 'components/config/*.ts'` (the config schema and
// its checks, judged by the in-process config tests in the list below; about an hour); `npm run mutants:all` widens
// it to every module under components/, policy/ and tools/ with every test file (hours).
const all = process.env.K8SU_MUTANTS_ALL === "1";

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
    packageManager: "npm",
    testRunner: "tap",
    // The TypeScript checker turns mutants that break a type into compile errors instead of test runs. It costs
    // more than the tests it saves on a small machine, so it is opt-in: K8SU_MUTANTS_TYPECHECK=1. Without it, tsx
    // strips the types and such a mutant is judged by the tests like any other.
    checkers: process.env.K8SU_MUTANTS_TYPECHECK === "1" ? ["typescript"] : [],
    // The checker compiles the modules only, not the tests.
    tsconfigFile: "tsconfig.stryker.json",
    typescriptChecker: { prioritizePerformanceOverAccuracy: true },
    coverageAnalysis: "perTest",
    // Static mutants (module-level constants) would need every test file for each; skip them.
    ignoreStatic: true,
    mutate: all
        ? ["components/**/*.ts", "policy/*.ts", "tools/*.ts"]
        : ["policy/versions.ts", "components/plan.ts", "policy/rules.ts"],
    tap: {
        // Test files that run the decision modules in-process, fastest first: a mutant stops at the first
        // file that fails. Files that only drive the program in a child process add no coverage here, and
        // test/policy.test.ts (whose end-to-end half runs the program several times, about a minute per
        // mutant on two busy cores) is left to mutants:all; test/policy-edges.test.ts calls each rule directly.
        testFiles: all
            ? ["test/*.test.ts"]
            : [
                  "test/versions.test.ts",
                  "test/supported-versions.test.ts",
                  "test/config-table.test.ts",
                  "test/config-schema.test.ts",
                  "test/config-properties.test.ts",
                  "test/config-cross-checks.test.ts",
                  "test/config-messages.test.ts",
                  "test/config-fields.test.ts",
                  "test/plan-boundaries.test.ts",
                  "test/policy-stack-rules.test.ts",
                  "test/plan-phases.test.ts",
                  "test/plan.test.ts",
                  "test/plan-drains.test.ts",
                  "test/plan-text.test.ts",
                  "test/promote.test.ts",
                  "test/policy-edges.test.ts",
                  "test/policy-version-rules.test.ts",
              ],
        nodeArgs: ["--import", "tsx", "--test-reporter=tap", "-r", "{{hookFile}}", "{{testFile}}"],
        forceBail: true,
    },
    // One test process at a time by default: a second one only adds contention on a small shared machine.
    // K8SU_MUTANTS_CONCURRENCY=<n> on a bigger one.
    concurrency: Number(process.env.K8SU_MUTANTS_CONCURRENCY ?? 1),
    timeoutMS: 60000,
    incremental: true,
    incrementalFile: "reports/mutation/stryker-incremental.json",
    reporters: ["clear-text", "progress", "html", "json"],
    htmlReporter: { fileName: "reports/mutation/mutation.html" },
    jsonReporter: { fileName: "reports/mutation/mutation.json" },
    tempDirName: ".stryker-tmp",
    cleanTempDir: "always",
    thresholds: { high: 80, low: 60, break: null },
};
