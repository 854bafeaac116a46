// The version rules live in the policy pack (policy/versions.ts), which is published on its own and must not
// import the program; the program, the planner and the tools import them from here.
export * from "../policy/versions";
