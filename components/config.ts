// Stack config: the user's whole interface. One schema (components/config/schema.ts) gives the validation, the
// types and the JSON Schema editors use; every problem is reported at once, before any resource is registered.
// Pure: no Pulumi here, so the policy pack and tools reuse it.
export * from "./config/issues";
export * from "./config/parse";
export { REDACTED, redactValue, scrub } from "./config/redact";
export * from "./config/schema";
export * from "./config/supported-versions";
