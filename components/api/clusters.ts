// What every public cluster class shares (`LkeCluster` in components/lke/library.ts and its siblings, one folder per
// provider): each decides its plan (schema, running record, planner, promotion gate, its provider's lookups) and
// then registers the provider's upgrade component under the same name and type the config program registers, so a
// stack can move between the two without a change. The config program constructs the same classes from its
// stack-wide decision (see `decided`). No provider SDK is loaded here.
import * as pulumi from "@pulumi/pulumi";
import type { ClusterPlan } from "../plan";
import type { RunningCluster } from "../running";
import type { ClusterArgsOf, LibraryProvider, SecretArgsOf } from "./args";
import { type Decision, decideCluster } from "./decide";
import type { ProviderLookups } from "./lookups";

/** What every provider's upgrade component exposes. */
interface UpgradeComponent extends pulumi.ComponentResource {
    readonly runningState: pulumi.Output<RunningCluster>;
}

const DECISION: unique symbol = Symbol("k8s-upgrades decision");

/**
 * A cluster already decided with every other cluster of its stack (the config program: one refusal that lists every
 * problem, each lookup made once), with the secrets its component needs. Not exported from the package.
 */
export type Decided<P extends LibraryProvider> = SecretArgsOf[P] & { readonly [DECISION]: Decision };

/** The argument that makes a class register `decision` at once instead of deciding its own plan. */
export function decided<P extends LibraryProvider>(decision: Decision, secrets: SecretArgsOf[P]): Decided<P> {
    return { ...secrets, [DECISION]: decision };
}

export function isDecided<P extends LibraryProvider>(source: ClusterArgsOf[P] | Decided<P>): source is Decided<P> {
    return DECISION in source;
}

/**
 * One cluster and its upgrade. The component (`k8s-upgrades:<provider>:Cluster`) is registered once the running
 * record has been read; until then `component` is pending. Outputs resolve once every step has succeeded.
 */
export abstract class UpgradeCluster<P extends LibraryProvider, C extends UpgradeComponent = UpgradeComponent> {
    /** The cluster's name: its key in the running record and the prefix of its resource names. */
    readonly name: string;
    /**
     * The registered upgrade component; usable in `dependsOn`. Rejects when the upgrade is refused: that rejection is
     * how a refusal fails the program, once. Await it to handle the refusal yourself (in a test, `assert.rejects`).
     */
    readonly component: Promise<C>;
    /**
     * @internal The component when it was registered during construction: only for a cluster built from a stack-wide
     * decision, whose rollout waves need it at once. Undefined otherwise; use `component`.
     */
    readonly registered: C | undefined;
    /** What this deployment decided: the phases, holds and warnings the offline plan prints. Rejects when refused. */
    readonly plan: Promise<ClusterPlan>;
    /** Outputs of the component, made when first read (see `outputOf`). */
    private readonly outputs = new Map<string, pulumi.Output<unknown>>();

    protected constructor(
        provider: P,
        name: string,
        source: ClusterArgsOf[P] | Decided<P>,
        lookups: ProviderLookups,
        register: (decision: Decision) => C,
    ) {
        this.name = name;
        const registerLogged = (d: Decision): C => {
            for (const w of d.plan.warnings) void pulumi.log.warn(`cluster ${name}: ${w}`);
            for (const h of d.plan.holds) void pulumi.log.info(`cluster ${name}: ${h}`);
            return register(d);
        };
        if (isDecided(source)) {
            const decision = source[DECISION];
            const component = registerLogged(decision);
            this.registered = component;
            this.component = Promise.resolve(component);
            this.plan = Promise.resolve(decision.plan);
            return;
        }
        this.registered = undefined;
        // The program must not end while the history is read and the component not yet registered.
        const done = pulumi.runtime.rpcKeepAlive();
        const decision = decideCluster(provider, name, source, lookups);
        decision.catch(done);
        this.component = decision.then((d) => {
            try {
                return registerLogged(d);
            } finally {
                done();
            }
        });
        // A refusal is raised through `component` alone: every other promise made from it is observed here, or
        // the program would report the same refusal again as an unhandled rejection.
        this.plan = decision.then((d) => d.plan);
        this.plan.catch(() => undefined);
    }

    /** What runs once this deployment succeeds; the running record's entry for this cluster. */
    get runningState(): pulumi.Output<RunningCluster> {
        return this.outputOf("runningState", (c) => c.runningState);
    }

    /**
     * An output of the component: at once when it was registered at once; otherwise made when first read, from
     * `component`, so a refused cluster leaves no output that nobody reads (each would carry the refusal again).
     */
    protected outputOf<T>(key: string, pick: (component: C) => pulumi.Output<T>, secret = false): pulumi.Output<T> {
        let made = this.outputs.get(key) as pulumi.Output<T> | undefined;
        if (!made) {
            const now = this.registered;
            // Outputs of outputs are lifted: the values are the component's own (Output<Unwrap<T>> is Output<T>).
            made = (now ? pick(now) : pulumi.output(this.component.then(pick))) as pulumi.Output<T>;
            if (secret) made = pulumi.secret(made) as pulumi.Output<T>;
            this.outputs.set(key, made);
        }
        return made;
    }
}
