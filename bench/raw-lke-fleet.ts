// The plan bench's baseline: the resources the program registers for a fleet of LKE clusters with blue-green
// pools, registered directly, with no config checks, no planner and no script builders. Per cluster: a component,
// the LKE cluster, one node pool per configured pool, per pool a wait-ready and a drain-guard command, and one
// validation command; scripts are the project's own shell files, read once, so inputs are of a like size.
import * as fs from "node:fs";
import * as path from "node:path";
import * as command from "@pulumi/command";
import * as linode from "@pulumi/linode";
import * as pulumi from "@pulumi/pulumi";

interface FleetCluster {
    name: string;
    kubernetesVersion: string;
    lke: { region: string };
    nodePools: Array<{ name: string; count: number; type: string }>;
}

const SCRIPTS = path.join(__dirname, "..", "components", "scripts");
const read = (f: string) => fs.readFileSync(path.join(SCRIPTS, f), "utf8");
const INTERPRETER = ["/usr/bin/env", "bash", "-c"];

class RawLkeCluster extends pulumi.ComponentResource {
    constructor(c: FleetCluster, stack: string, scripts: Record<string, string>) {
        super("k8s-upgrades:lke:Cluster", c.name, { cluster: c, stack }, {});
        const lke = new linode.LkeCluster(
            c.name,
            {
                label: `${c.name}-${stack}`,
                region: c.lke.region,
                k8sVersion: c.kubernetesVersion,
                tags: [`k8s-upgrades-stack-${stack}`],
                pools: [{ type: "g6-standard-1", count: 1 }],
            },
            { parent: this, ignoreChanges: ["k8sVersion"] },
        );
        const kubeconfig = pulumi.secret(lke.kubeconfig);
        const steps = c.nodePools.map((p) => {
            const pool = new linode.LkeNodePool(
                `${c.name}-${p.name}`,
                { clusterId: lke.id.apply(Number), nodeCount: p.count, type: p.type, labels: { pool: p.name } },
                { parent: this },
            );
            const environment = {
                K8SU_KUBECONFIG_B64: kubeconfig,
                K8SU_POOL: p.name,
                K8SU_TARGET: c.kubernetesVersion,
            };
            const ready = new command.local.Command(
                `${c.name}-${p.name}-ready`,
                { create: scripts.ready, interpreter: INTERPRETER, environment, triggers: [c.kubernetesVersion] },
                { parent: this, dependsOn: [pool] },
            );
            return new command.local.Command(
                `${c.name}-${p.name}-drain-guard`,
                {
                    create: scripts.guard,
                    delete: scripts.drain,
                    interpreter: INTERPRETER,
                    environment,
                    triggers: [c.kubernetesVersion],
                },
                { parent: this, dependsOn: [ready] },
            );
        });
        new command.local.Command(
            `${c.name}-validate`,
            { create: scripts.validate, interpreter: INTERPRETER, environment: { K8SU_KUBECONFIG_B64: kubeconfig } },
            { parent: this, dependsOn: steps },
        );
        this.registerOutputs({ kubeconfig });
    }
}

export function main(): Record<string, unknown> {
    const config = new pulumi.Config("k8s-upgrades");
    const clusters = config.requireObject<FleetCluster[]>("clusters");
    const stack = pulumi.getStack();
    const scripts = {
        ready: read("wait-ready.sh"),
        guard: read("drain-guard-create.sh"),
        drain: read("lib.sh") + read("drain.sh"),
        validate: read("validate.sh"),
    };
    const urns: Record<string, pulumi.Output<string>> = {};
    for (const c of clusters) urns[c.name] = new RawLkeCluster(c, stack, scripts).urn;
    return { clusters: clusters.map((c) => ({ name: c.name, version: c.kubernetesVersion })), urns };
}
