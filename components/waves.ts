// The rollout as resources: clusters registered wave by wave, each wave's clusters waiting for the previous wave's
// soak step, which waits for every resource of every cluster of that wave (their validations included). The engine
// never starts a resource whose dependency failed, so a failed cluster stops the later waves while the earlier ones
// keep what they reached.
import * as pulumi from "@pulumi/pulumi";
import type { ClusterPlan } from "./plan";
import { clusterGates, type Rollout, soakStepName, type Wave } from "./rollout";
import { scriptStep } from "./steps";

/** A cluster's component, as the provider adapters build it. */
export type ClusterComponent = pulumi.ComponentResource;
export type RegisterCluster = (plan: ClusterPlan, opts: pulumi.ComponentResourceOptions) => ClusterComponent;

/**
 * Options that make the component and every resource inside it wait for `after`. A component's dependsOn is not
 * passed on to its children, but its transformations are (pulumi/pulumi sdk/nodejs/resource.ts: a resource runs its
 * own transformations, then its parent's), so the wait reaches the first step of every provider's adapter.
 */
export function waitingFor(after: pulumi.Resource[]): pulumi.ComponentResourceOptions {
    if (after.length === 0) return {};
    return {
        transformations: [(a) => ({ props: a.props, opts: pulumi.mergeOptions(a.opts, { dependsOn: after }) })],
    };
}

/** What the wave runs at: a change of any of it replaces the soak step, which then holds again. */
export function waveTriggers(wave: Wave, plans: Map<string, ClusterPlan>): string[] {
    return wave.clusters.map((name) => {
        const cluster = plans.get(name)!.cluster;
        const pools = cluster.nodePools.map((p) => `${p.name}=${p.kubernetesVersion}`).join(",");
        return `${name}@${cluster.kubernetesVersion}[${pools}]`;
    });
}

function soakStep(wave: Wave, rollout: Rollout, plans: Map<string, ClusterPlan>, after: pulumi.Resource[]) {
    return scriptStep(
        soakStepName(wave.number),
        {
            create: "rollout-soak",
            environment: {
                K8SU_WAVE: String(wave.number),
                K8SU_WAVE_CLUSTERS: wave.clusters.join("\n"),
                K8SU_SOAK_SECONDS: String(rollout.soakMinutes * 60),
            },
            triggers: waveTriggers(wave, plans),
        },
        { dependsOn: after },
    );
}

/**
 * Registers every cluster in rollout order. Without a rollout, every cluster at once, in config order, as before.
 * Returns each cluster's component by name.
 */
export async function registerInWaves(
    plans: ClusterPlan[],
    rollout: Rollout | undefined,
    register: RegisterCluster,
): Promise<Map<string, ClusterComponent>> {
    const out = new Map<string, ClusterComponent>();
    if (!rollout) {
        for (const plan of plans) {
            out.set(plan.cluster.name, register(plan, {}));
            await new Promise<void>((resolve) => setImmediate(resolve));
        }
        return out;
    }
    const byName = new Map(plans.map((p) => [p.cluster.name, p]));
    const soaks = new Map<number, pulumi.Resource>();
    const gates = clusterGates(rollout);
    for (const [w, wave] of rollout.waves.entries()) {
        for (const gate of gates.filter((g) => g.wave === wave.number)) {
            const after = [
                ...(gate.afterSoakOf !== undefined ? [soaks.get(gate.afterSoakOf)!] : []),
                ...(gate.afterCluster !== undefined ? [out.get(gate.afterCluster)!] : []),
            ];
            out.set(gate.cluster, register(byName.get(gate.cluster)!, waitingFor(after)));
        }
        if (w < rollout.waves.length - 1)
            soaks.set(
                wave.number,
                soakStep(
                    wave,
                    rollout,
                    byName,
                    wave.clusters.map((c) => out.get(c)!),
                ),
            );
    }
    return out;
}
