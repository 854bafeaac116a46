// The way a version moves through the stacks, as `npm run plan` and `npm run promote` drive it, for every provider
// × strategy × retainPreviousPool the planner accepts: example-shaped dev, staging and prod stacks (written here
// into a temp folder) are deployed first, dev is bumped one minor and deployed again to settle (a kept pool
// leaves), then staging and prod are promoted and deployed the same way. At no step may the policy pack report a
// mandatory violation; a two-minor jump is still refused.

import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import * as YAML from "yaml";
import { PROVIDER_TRAITS } from "../components/providers";
import { evaluatePolicies, type Violation as PolicyViolation } from "../policy/evaluate";
import { planForStack } from "../tools/plan";
import { promote } from "../tools/promote";

const FROM = "1.34";
const TO = "1.35";
const JUMP = "1.37";
/** kubeadm and Cluster API run exact versions. */
const PATCH: Record<string, string> = { [FROM]: "1.34.3", [TO]: "1.35.2", [JUMP]: "1.37.1" };

type Provider = "lke" | "eks" | "aks" | "gke" | "kubeadm" | "capi-aws";
interface Combo {
    name: string;
    provider: Provider;
    strategy: "blue-green" | "in-place" | "recycle";
    retain: boolean;
}

const SHORT: Record<Provider, string> = {
    lke: "lke",
    eks: "eks",
    aks: "aks",
    gke: "gke",
    kubeadm: "kubeadm",
    "capi-aws": "capi",
};
const STRATEGY_SHORT = { "blue-green": "bg", "in-place": "inplace", recycle: "recycle" } as const;

/** Every provider × strategy it offers × retainPreviousPool where the strategy keeps a pool (blue-green). */
const COMBOS: Combo[] = (Object.keys(SHORT) as Provider[]).flatMap((provider) =>
    PROVIDER_TRAITS[provider].strategies.flatMap((strategy) =>
        (strategy === "blue-green" ? [false, true] : [false]).map((retain) => ({
            provider,
            strategy,
            retain,
            // No name is a prefix of another, so a resource name tells its cluster.
            name: `${SHORT[provider]}-${retain ? "keep" : STRATEGY_SHORT[strategy]}`,
        })),
    ),
);

const versionFor = (provider: Provider, minor: string) =>
    provider === "kubeadm" || provider === "capi-aws" ? PATCH[minor] : minor;

/** One cluster of the combination, shaped like the examples of its provider in the README and test/fixtures/stacks. */
function clusterConfig(c: Combo, stack: string, minor: string): Record<string, unknown> {
    const workers = {
        strategy: c.strategy,
        ...(c.retain ? { retainPreviousPool: true } : {}),
        drain: { timeoutSeconds: 900, batchSize: 2, soakSeconds: 30, deleteEmptyDirData: false },
    };
    const base = { name: c.name, provider: c.provider, kubernetesVersion: versionFor(c.provider, minor) };
    switch (c.provider) {
        case "lke":
            return {
                ...base,
                lke: { region: "us-ord", tags: ["team-platform", `env-${stack}`], highAvailability: true },
                nodePools: [
                    { name: "web", count: 3, type: "g6-standard-4", autoscaler: { min: 3, max: 6 } },
                    {
                        name: "batch",
                        count: 2,
                        type: "g6-dedicated-4",
                        labels: { workload: "batch" },
                        taints: [{ key: "workload", value: "batch", effect: "NoSchedule" }],
                    },
                ],
                workers,
            };
        case "eks":
            return {
                ...base,
                eks: {
                    region: "us-east-1",
                    subnetIds: ["subnet-0c1d2e3f4a5b60001", "subnet-0c1d2e3f4a5b60002"],
                    clusterRoleArn: `arn:aws:iam::210987654321:role/eks-cluster-${stack}`,
                    nodeRoleArn: `arn:aws:iam::210987654321:role/eks-nodes-${stack}`,
                },
                nodePools: [{ name: "general", count: 3, type: "m6i.xlarge", autoscaler: { min: 3, max: 6 } }],
                workers,
            };
        case "aks":
            return {
                ...base,
                aks: {
                    location: "westeurope",
                    resourceGroupName: `rg-${c.name}-${stack}`,
                    systemPool: { vmSize: "Standard_D2s_v5", count: 2 },
                    ...(c.strategy === "in-place" ? { upgradeSettings: { maxSurge: "33%" } } : {}),
                },
                nodePools: [{ name: "web", count: 3, type: "Standard_D4s_v5", autoscaler: { min: 3, max: 6 } }],
                workers,
            };
        case "gke":
            return {
                ...base,
                gke: {
                    project: `shop-${stack}-4711`,
                    location: "europe-west4",
                    nodeLocations: ["europe-west4-a", "europe-west4-b", "europe-west4-c"],
                },
                nodePools: [{ name: "web", count: 3, type: "e2-standard-4", autoscaler: { min: 3, max: 6 } }],
                workers,
            };
        case "kubeadm":
            return {
                ...base,
                kubeadm: {
                    controlPlaneNodes: [1, 2, 3].map((i) => ({ name: `cp-${i}`, host: `10.0.0.${10 + i}` })),
                    workerNodes: [1, 2, 3].map((i) => ({ name: `w-${i}`, host: `10.0.1.${i}` })),
                    ssh: { user: "ops" },
                    packageManager: "apt",
                },
                nodePools: [{ name: "workers", count: 3, type: "bare-metal" }],
                workers,
            };
        case "capi-aws":
            return {
                ...base,
                "capi-aws": {
                    namespace: "clusters",
                    controlPlane: { instanceType: "m6i.large", replicas: 3 },
                    amis: {
                        [PATCH[FROM]]: "ami-0a0a0a0a0a0a0a034",
                        [PATCH[TO]]: "ami-0b0b0b0b0b0b0b035",
                        [PATCH[JUMP]]: "ami-0c0c0c0c0c0c0c037",
                    },
                },
                nodePools: [{ name: "md-0", count: 3, type: "m6i.xlarge" }],
                workers,
            };
    }
}

const PROMOTES_FROM: Record<string, string | undefined> = { dev: undefined, staging: "dev", prod: "staging" };

/** Pulumi.<stack>.yaml with every combination's cluster at `minor`; secrets as `pulumi config set --secret` writes them. */
function writeStack(dir: string, stack: string, minor: string): void {
    const config: Record<string, unknown> = {
        ...(PROMOTES_FROM[stack] ? { "k8s-upgrades:promotesFrom": PROMOTES_FROM[stack] } : {}),
        "k8s-upgrades:clusters": COMBOS.map((c) => clusterConfig(c, stack, minor)),
        "k8s-upgrades:sshPrivateKey": { secure: "v1:c3NoLWtleQ==" },
        "k8s-upgrades:kubeconfig": { secure: "v1:a3ViZWNvbmZpZw==" },
        "k8s-upgrades:managementKubeconfig": { secure: "v1:bWdtdA==" },
    };
    fs.writeFileSync(path.join(dir, `Pulumi.${stack}.yaml`), YAML.stringify({ config }));
}

const recordOf = (dir: string, stack: string) => path.join(dir, "running", `${stack}.json`);

interface Step {
    label: string;
    exitCode: number;
    refused?: string;
    mandatory: PolicyViolation[];
}

/**
 * One deployment as the workflow runs it: the plan (previous outputs and the promotesFrom stack's from their
 * records), and when it passes, its outputs recorded as `pulumi up` would leave them.
 */
async function deploy(dir: string, stack: string, label: string, first = false): Promise<Step> {
    const source = PROMOTES_FROM[stack];
    const result = await planForStack(stack, {
        stackDir: dir,
        firstDeployment: first,
        previous: first ? undefined : recordOf(dir, stack),
        source: source ? recordOf(dir, source) : undefined,
    });
    const capture = result.capture!;
    const mandatory = capture.error ? [] : evaluatePolicies(capture).mandatory;
    if (result.exitCode === 0) fs.writeFileSync(recordOf(dir, stack), JSON.stringify(capture.stackOutputs));
    return { label: `${stack}: ${label}`, exitCode: result.exitCode, refused: capture.error, mandatory };
}

function readJson(file: string): Record<string, unknown> {
    return JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>;
}

/** Which combination a violation is about: the cluster its resource or its message names. */
function comboOf(v: PolicyViolation): string | undefined {
    const text = `${v.urn?.split("::").pop() ?? ""} ${v.message}`;
    return COMBOS.find((c) => new RegExp(`(^|[\\s"(])${c.name}(-|\\b)`).test(text))?.name;
}

describe("policy verdicts along dev → staging → prod, every provider × strategy × retainPreviousPool", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "k8s-upgrades-flow-"));
    const steps: Step[] = [];
    const promotions: Array<{ stack: string; ok: boolean; refusals: string[] }> = [];
    let jump: Step;

    before(async () => {
        fs.mkdirSync(path.join(dir, "running"));
        for (const stack of ["dev", "staging", "prod"]) writeStack(dir, stack, FROM);
        for (const stack of ["dev", "staging", "prod"])
            steps.push(await deploy(dir, stack, `first deployment at ${FROM}`, true));
        writeStack(dir, "dev", TO);
        steps.push(await deploy(dir, "dev", `bump ${FROM} → ${TO}`));
        steps.push(await deploy(dir, "dev", `deployed again at ${TO} (a kept pool leaves)`));
        for (const stack of ["staging", "prod"]) {
            const source = PROMOTES_FROM[stack]!;
            const r = promote({ target: stack, stackDir: dir, sourceOutputs: readJson(recordOf(dir, source)) });
            promotions.push({ stack, ok: r.ok, refusals: r.refusals });
            steps.push(await deploy(dir, stack, `promoted ${FROM} → ${TO}`));
            steps.push(await deploy(dir, stack, `deployed again at ${TO} (a kept pool leaves)`));
        }
        writeStack(dir, "dev", JUMP);
        jump = await deploy(dir, "dev", `jump ${TO} → ${JUMP}`);
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    test("the table covers every provider, and both retainPreviousPool values wherever blue-green is offered", () => {
        assert.deepEqual([...new Set(COMBOS.map((c) => c.provider))].sort(), [
            "aks",
            "capi-aws",
            "eks",
            "gke",
            "kubeadm",
            "lke",
        ]);
        assert.equal(COMBOS.filter((c) => c.retain).length, 5);
        assert.equal(COMBOS.length, 18);
    });

    test("every step plans and deploys (exit 0), and each promotion goes ahead", () => {
        assert.equal(steps.length, 9);
        for (const s of steps) assert.equal(s.exitCode, 0, `${s.label}: ${s.refused ?? ""}`);
        assert.deepEqual(
            promotions.map((p) => [p.stack, p.ok, p.refusals]),
            [
                ["staging", true, []],
                ["prod", true, []],
            ],
        );
        for (const stack of ["staging", "prod"])
            assert.match(fs.readFileSync(path.join(dir, `Pulumi.${stack}.yaml`), "utf8"), /kubernetesVersion: "?1\.35/);
    });

    for (const c of COMBOS)
        test(`${c.provider} ${c.strategy}${c.retain ? " with retainPreviousPool" : ""}: no mandatory violation at any step, and a two-minor jump is refused`, () => {
            for (const s of steps) {
                const mine = s.mandatory.filter((v) => comboOf(v) === c.name);
                assert.deepEqual(
                    mine.map((v) => `[${v.policy}] ${v.message}`),
                    [],
                    `${s.label}: mandatory violations for cluster ${c.name}`,
                );
            }
            assert.equal(jump.exitCode, 1);
            const given = `given "${versionFor(c.provider, JUMP)}"`;
            const refusal = (jump.refused ?? "")
                .split("\n")
                .find((l) => l.includes(`cluster "${c.name}", field`) && l.includes(given));
            assert.match(refusal ?? "", /kubernetesVersion: .*must not skip minors/, jump.refused);
        });

    test("no mandatory violation at any step is left unaccounted for by a cluster", () => {
        for (const s of steps)
            assert.deepEqual(
                s.mandatory.filter((v) => comboOf(v) === undefined).map((v) => `[${v.policy}] ${v.message}`),
                [],
                s.label,
            );
    });
});
