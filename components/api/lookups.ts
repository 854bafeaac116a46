// What one provider adds to the provider-neutral decision: the lookups that need its SDK (offered versions,
// images, add-on versions). Each provider's entry point passes its own, so a program loads only the SDKs of the
// providers it declares; the config program passes every provider's.
import type { ConfigIssue, ProviderName } from "../config";
import type { ClusterPlan, PromotionSource } from "../plan";
import type { Decision } from "./decide";

/** Where a cluster's lookups run: its stack, its place in the stack's clusters, the promotion source. */
export interface LookupContext {
    stack: string;
    /** The cluster's index in the stack's clusters, for the field paths of the issues found. */
    index: number;
    source: PromotionSource | undefined;
}

export interface ProviderLookups {
    /**
     * The Kubernetes versions the provider's API offers now. Absent where the provider has no such list; a failed
     * call leaves the dated table in policy/supported-versions.ts to decide.
     */
    offeredVersions?(): Promise<(string | undefined)[]>;
    /**
     * Looks up what the plan needs before any resource is registered, fills the provider's part of the decision
     * and returns the problems found (they join the planner's issues, so a refusal lists every problem at once).
     */
    prepare?(plan: ClusterPlan, decision: Decision, context: LookupContext): Promise<ConfigIssue[]>;
}

/** The lookups of each provider a program declares clusters of. */
export type LookupsByProvider = Partial<Record<ProviderName, ProviderLookups>>;
