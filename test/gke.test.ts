// GKE under the mock runtime: from a 1.35 deployment to 1.36 in config, by our blue-green and by GKE's own upgrade.

import * as assert from "node:assert/strict";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import { promisify } from "node:util";
import Ajv2020 from "ajv/dist/2020";
import * as YAML from "yaml";
import { ConfigError, parseStackConfig } from "../components/config";
import { decideGkeVersions, newestOfMinor } from "../components/gke/versions";
import { planStack } from "../components/plan";
import { aksPoolUpgradeSeconds, gkePoolUpgradeMinutes, surgeNodes } from "../components/timeouts";
import { evaluatePolicies } from "../policy/evaluate";
import type { Capture } from "../tools/capture-types";
import { describe as describeResource } from "../tools/graph";
import { ROOT } from "../tools/harness";
import { SCHEMA_FILE } from "../tools/schema";
import { toolEnv } from "./fixture/run-tool";
import { allDeps, directDeps, env, has, resource, runProgram, scriptKindOf, stackConfig } from "./helpers";

const CLUSTER = "gcp:container/cluster:Cluster";
const NODE_POOL = "gcp:container/nodePool:NodePool";
const ZONES = ["europe-west4-a", "europe-west4-b", "europe-west4-c"];

function gkeCluster(
    version: string,
    strategy: string,
    gke: Record<string, unknown> = {},
    pool: Record<string, unknown> = {},
): Record<string, unknown> {
    return {
        name: "shop",
        provider: "gke",
        kubernetesVersion: version,
        gke: { project: "shop-prod-4711", location: "europe-west4", nodeLocations: ZONES, ...gke },
        nodePools: [{ name: "web", count: 6, type: "e2-standard-4", ...pool }],
        workers: { strategy, drain: { deleteEmptyDirData: false } },
    };
}

const record = (c: Capture) => (c.stackOutputs as any).k8sUpgrades.clusters.shop;
const inputs = (c: Capture, name: string, type?: string) => resource(c, name, type).inputs as Record<string, any>;

// The program runs, started at once: deployments that depend on another chain after it.
const LATER = ["1.36.7-gke.2000", "1.36.6-gke.1500"];
const BLUE_GREEN_SETTINGS = {
    upgradeSettings: {
        strategy: "BLUE_GREEN",
        blueGreenSettings: {
            standardRolloutPolicy: { batchNodeCount: 1, batchSoakDuration: "120s" },
            nodePoolSoakDuration: "1800s",
        },
    },
};
async function deploy(first: Record<string, unknown>, then: Record<string, unknown>) {
    const one = await runProgram({ stack: "dev", config: stackConfig([first]) });
    assert.equal(one.error, undefined, `the first deployment failed: ${one.error}`);
    const two = await runProgram({ stack: "dev", config: stackConfig([then]), previous: one.stackOutputs });
    return { first: one, second: two };
}
const blueGreenRuns = deploy(gkeCluster("1.35", "blue-green"), gkeCluster("1.36", "blue-green"));
const inPlaceRuns = deploy(
    gkeCluster("1.35", "in-place", { upgradeSettings: { maxSurge: 2, maxUnavailable: 1 } }),
    gkeCluster("1.36", "in-place", BLUE_GREEN_SETTINGS),
);
const patchReleaseRun = blueGreenRuns.then(({ second }) =>
    runProgram({
        stack: "dev",
        config: stackConfig([gkeCluster("1.36", "blue-green")]),
        previous: second.stackOutputs,
        gkeOffers: { "europe-west4": { validMasterVersions: LATER, validNodeVersions: LATER } },
    }),
);
// GKE has dropped the recorded 1.36.6-gke.1500 from its offer: only a newer patch of 1.36 is offered.
const retiredPatchRun = blueGreenRuns.then(({ second }) =>
    runProgram({
        stack: "dev",
        config: stackConfig([gkeCluster("1.36", "blue-green")]),
        previous: second.stackOutputs,
        gkeOffers: { "europe-west4": { validMasterVersions: [LATER[0]], validNodeVersions: [LATER[0]] } },
    }),
);
const unavailableRun = runProgram({
    stack: "dev",
    config: stackConfig([gkeCluster("1.36", "blue-green")]),
    gkeOffers: {
        "europe-west4": {
            validMasterVersions: ["1.35.6-gke.1500", "1.34.9-gke.1000"],
            validNodeVersions: ["1.35.6-gke.1500", "1.34.9-gke.1000"],
        },
    },
});

describe("GKE blue-green (our own: a new pool, the old one drained by the program's steps)", async () => {
    const { first, second } = await blueGreenRuns;

    test("the cluster: minMasterVersion is the target minor, no default pool, no release channel", () => {
        assert.equal(second.error, undefined, second.error);
        assert.deepEqual(inputs(second, "shop", CLUSTER), {
            name: "shop",
            project: "shop-prod-4711",
            location: "europe-west4",
            minMasterVersion: "1.36",
            removeDefaultNodePool: true,
            initialNodeCount: 1,
            releaseChannel: { channel: "UNSPECIFIED" },
            deletionProtection: true,
            resourceLabels: {},
        });
        assert.deepEqual(resource(second, "shop", CLUSTER).ignoreChanges, ["nodeVersion"]);
        assert.ok(directDeps(second, "shop", CLUSTER).includes("shop-preflight"));
    });

    test("the green pool: an exact version of the new minor, auto-upgrade off, counts per zone, after the control plane", () => {
        assert.deepEqual(inputs(second, "shop-web-1-36", NODE_POOL), {
            name: "shop-web-1-36",
            cluster: "shop",
            project: "shop-prod-4711",
            location: "europe-west4",
            nodeLocations: ZONES,
            version: "1.36.6-gke.1500",
            nodeCount: 2,
            management: { autoUpgrade: false, autoRepair: true },
            upgradeSettings: { strategy: "SURGE", maxSurge: 1, maxUnavailable: 0 },
            nodeConfig: {
                machineType: "e2-standard-4",
                diskSizeGb: 100,
                labels: { "k8s-upgrades/pool": "web" },
                taints: [],
                resourceLabels: {},
            },
        });
        assert.ok(allDeps(second, "shop-web-1-36", NODE_POOL).has("shop"));
        assert.equal(inputs(first, "shop-web-1-35", NODE_POOL).version, "1.35.6-gke.1500");
    });

    test("the review describes the cluster and the pool in GKE's terms: master, per-zone count, node upgrade", () => {
        assert.equal(
            describeResource(resource(second, "shop", CLUSTER)),
            "GKE cluster shop in europe-west4: master 1.36, release channel UNSPECIFIED; a version change here is GKE's control plane upgrade",
        );
        assert.equal(
            describeResource(resource(second, "shop-web-1-36", NODE_POOL)),
            "node pool shop-web-1-36: 2 per zone × e2-standard-4 at 1.36.6-gke.1500; node auto-upgrade off; a version change here is GKE's surge node upgrade",
        );
    });

    test("the blue pool is cordoned after the green one is Ready, drained by a step, and leaves the program", () => {
        const selector = "cloud.google.com/gke-nodepool=shop-web-1-35";
        assert.equal(env(resource(second, "shop-cordon-blue")).K8SU_SELECTORS, selector);
        assert.ok(directDeps(second, "shop-cordon-blue").includes("shop-web-1-36-ready"));
        const drain = resource(second, "shop-web-1-35-drain");
        assert.equal(scriptKindOf(drain), "drain");
        assert.equal(env(drain).K8SU_SELECTOR, selector);
        assert.ok(allDeps(second, "shop-validate").has("shop-web-1-35-drain"));
        assert.equal(has(second, "shop-web-1-35"), false);
        const guard = resource(first, "shop-web-1-35-drain-guard");
        assert.equal(scriptKindOf(guard, "delete"), "drain");
        assert.equal(env(guard).K8SU_SELECTOR, selector);
    });

    test("the running record keeps the exact node version of the minor the pools run", () => {
        assert.deepEqual(record(first).nodeVersions, { "1.35": "1.35.6-gke.1500" });
        assert.deepEqual(record(second).nodeVersions, { "1.36": "1.36.6-gke.1500" });
        assert.equal(record(second).pools[0].poolId, "shop-web-1-36");
    });

    test("the kubeconfig authenticates through gke-gcloud-auth-plugin and stays secret", () => {
        const kubeconfig = JSON.parse((second.stackOutputs as any).kubeconfigs.shop);
        assert.equal(kubeconfig.clusters[0].cluster.server, "https://203.0.113.10");
        assert.equal(kubeconfig.users[0].user.exec.command, "gke-gcloud-auth-plugin");
        assert.ok(second.stackOutputSecretPaths.some((p) => p.startsWith("kubeconfigs")));
    });

    test("the policy pack passes it, and refuses it without the drain guard or with a skipped minor", () => {
        assert.deepEqual(evaluatePolicies(second).mandatory, []);
        const noGuard = { ...second, resources: second.resources.filter((r) => !r.name.endsWith("-drain-guard")) };
        assert.ok(evaluatePolicies(noGuard).mandatory.some((v) => v.policy === "no-undrained-pool-deletion"));
        const skipped: Capture = JSON.parse(JSON.stringify(second));
        (
            skipped.resources.find((r) => r.type === "k8s-upgrades:gke:Cluster")!.inputs as any
        ).cluster.kubernetesVersion = "1.37";
        assert.ok(evaluatePolicies(skipped).mandatory.some((v) => v.policy === "control-plane-one-minor-at-a-time"));
    });
});

describe("GKE in-place: GKE's own node upgrade with gke.upgradeSettings", async () => {
    const { first, second } = await inPlaceRuns;

    test("the same pool moves to the exact version of the new minor, after the control plane, with no drain step of ours", () => {
        assert.equal(second.error, undefined, second.error);
        assert.equal(inputs(first, "shop-web-1-35", NODE_POOL).version, "1.35.6-gke.1500");
        assert.equal(inputs(second, "shop-web-1-35", NODE_POOL).version, "1.36.6-gke.1500");
        assert.equal(inputs(second, "shop", CLUSTER).minMasterVersion, "1.36");
        assert.ok(directDeps(second, "shop-web-1-35", NODE_POOL).includes("shop"));
        assert.equal(
            second.resources.some((r) => r.name.endsWith("-drain") || r.name.endsWith("-cordon-blue")),
            false,
        );
        assert.ok(directDeps(second, "shop-validate").includes("shop-web-1-35"));
        assert.match(second.log ?? "", /in-place on GKE is GKE's own node upgrade/);
        assert.deepEqual(evaluatePolicies(second).mandatory, []);
    });

    test("SURGE: maxSurge and maxUnavailable reach the pool exactly", () => {
        assert.deepEqual(inputs(first, "shop-web-1-35", NODE_POOL).upgradeSettings, {
            strategy: "SURGE",
            maxSurge: 2,
            maxUnavailable: 1,
        });
    });

    test("BLUE_GREEN: GKE's blue-green settings reach the pool exactly", () => {
        assert.deepEqual(inputs(second, "shop-web-1-35", NODE_POOL).upgradeSettings, {
            strategy: "BLUE_GREEN",
            blueGreenSettings: {
                standardRolloutPolicy: { batchNodeCount: 1, batchSoakDuration: "120s" },
                nodePoolSoakDuration: "1800s",
            },
        });
    });
});

describe("GKE versions", async () => {
    test("a new GKE patch release moves nothing: a pool keeps the exact version recorded for its minor", async () => {
        const again = await patchReleaseRun;
        assert.equal(again.error, undefined, again.error);
        assert.equal(inputs(again, "shop-web-1-36", NODE_POOL).version, "1.36.6-gke.1500");
        assert.equal(newestOfMinor(LATER, "1.36"), "1.36.7-gke.2000");
    });

    test("a recorded node version GKE no longer offers is not reused: the newest patch of its minor, said in the plan", async () => {
        const run = await retiredPatchRun;
        assert.equal(run.error, undefined, run.error);
        assert.equal(inputs(run, "shop-web-1-36", NODE_POOL).version, "1.36.7-gke.2000");
        assert.equal(record(run).nodeVersions["1.36"], "1.36.7-gke.2000");
        assert.match(
            run.log ?? "",
            /GKE no longer offers node version 1\.36\.6-gke\.1500 \(recorded for 1\.36\) in europe-west4: pools at 1\.36 take 1\.36\.7-gke\.2000/,
        );
    });

    test("a target minor the location does not offer is refused before anything is registered", async () => {
        const run = await unavailableRun;
        assert.ok(run.error, "the program must refuse");
        assert.equal(
            run.resources.some((r) => r.type === CLUSTER || r.type === NODE_POOL),
            false,
        );
        assert.match(run.error, /clusters\[0\]\.kubernetesVersion/);
        assert.match(run.error, /europe-west4: 1\.34, 1\.35/);
        assert.match(run.error, /gcloud container get-server-config --location europe-west4/);
    });

    test("the recorded exact version is kept while GKE offers it, and replaced by the newest patch once it does not", () => {
        const config = parseStackConfig("dev", { clusters: [gkeCluster("1.36", "in-place")] });
        const running = {
            name: "shop",
            provider: "gke",
            controlPlaneVersion: "1.36",
            nodeVersions: { "1.36": "1.36.6-gke.1500" },
        };
        const plan = { ...planStack(config).plans[0], running } as any;
        const decide = (offered: string[]) =>
            decideGkeVersions(plan, 0, {
                location: "europe-west4",
                validMasterVersions: offered,
                validNodeVersions: offered,
            });
        const offeredStill = decide(["1.36.7-gke.2000", "1.36.6-gke.1500"]);
        assert.equal(offeredStill.versions.nodeVersions["1.36"], "1.36.6-gke.1500");
        assert.deepEqual(offeredStill.warnings, []);
        const dropped = decide(["1.36.7-gke.2000", "1.36.5-gke.1200"]);
        assert.equal(dropped.versions.nodeVersions["1.36"], "1.36.7-gke.2000");
        assert.deepEqual(dropped.issues, []);
        assert.equal(dropped.warnings.length, 1);
        assert.match(dropped.warnings[0], /no longer offers node version 1\.36\.6-gke\.1500.*take 1\.36\.7-gke\.2000/);
        assert.match(dropped.warnings[0], /in-place upgrade/);
    });

    test("a pool minor with no node version offered (and none recorded) is refused on the pool's field", () => {
        const config = parseStackConfig("dev", {
            clusters: [gkeCluster("1.35", "blue-green", {}, { kubernetesVersion: "1.34" })],
        });
        const plan = planStack(config).plans[0];
        const offered = ["1.35.6-gke.1500"];
        const { issues } = decideGkeVersions(plan, 0, {
            location: "europe-west4",
            validMasterVersions: offered,
            validNodeVersions: offered,
        });
        assert.deepEqual(
            issues.map((i) => [i.field, i.given]),
            [["k8s-upgrades:clusters[0].nodePools[0].kubernetesVersion", "1.34"]],
        );
    });
});

describe("GKE: the provider waits for a node pool upgrade as long as its worst case", async () => {
    const { second } = await blueGreenRuns;
    const { second: toBlueGreen } = await inPlaceRuns;

    test("the update timeout grows with the pool's size, the surge and the soaks, past the provider's 30 minutes", () => {
        // SURGE 1 + 0 on 6 nodes: 6 batches of a new node (15 min) and a drain held at most an hour, + 30 min.
        assert.equal(gkePoolUpgradeMinutes(6, { strategy: "SURGE", maxSurge: 1, maxUnavailable: 0 }), 480);
        assert.equal(gkePoolUpgradeMinutes(6, { strategy: "SURGE", maxSurge: 2, maxUnavailable: 1 }), 180);
        // BLUE_GREEN, batches of 1 with a 120 s soak, a 1800 s pool soak: 15 + 6 × (60 + 2) + 30 + 30.
        const bg = { batchNodeCount: 1, batchSoakDuration: "120s" };
        assert.equal(
            gkePoolUpgradeMinutes(6, {
                strategy: "BLUE_GREEN",
                blueGreenSettings: { standardRolloutPolicy: bg, nodePoolSoakDuration: "1800s" },
            }),
            447,
        );
        const half = { standardRolloutPolicy: { batchPercentage: 0.5 } };
        assert.equal(gkePoolUpgradeMinutes(6, { strategy: "BLUE_GREEN", blueGreenSettings: half }), 165);
        assert.ok(gkePoolUpgradeMinutes(1, { strategy: "SURGE", maxSurge: 1 }) > 30);
    });

    test("each node pool registers that timeout for its updates", () => {
        assert.deepEqual(resource(second, "shop-web-1-36", NODE_POOL).customTimeouts, { update: "480m" });
        assert.deepEqual(resource(toBlueGreen, "shop-web-1-35", NODE_POOL).customTimeouts, { update: "447m" });
    });
});

describe("AKS: an agent pool upgrade's timeout", () => {
    test("ceil(count / surge) batches of a new node, the drain timeout and the soak, + 30 min", () => {
        const u = {
            maxSurge: "33%",
            drainTimeoutInMinutes: 45,
            nodeSoakDurationInMinutes: 5,
            undrainableNodeBehavior: "Cordon",
        };
        assert.equal(aksPoolUpgradeSeconds(6, { upgradeSettings: u } as any), (3 * 65 + 30) * 60);
        assert.equal(aksPoolUpgradeSeconds(3, { upgradeSettings: { ...u, maxSurge: "1" } } as any), (3 * 65 + 30) * 60);
        assert.equal(surgeNodes("10%", 3), 1);
    });
});

describe("GKE config refusals, all at once and before anything is registered", () => {
    const refusal = (cluster: Record<string, unknown>): string => {
        try {
            const config = parseStackConfig("dev", { clusters: [cluster] });
            const { issues } = planStack(config);
            assert.ok(issues.length > 0, "the config must be refused");
            return new ConfigError(issues).message;
        } catch (err) {
            if (err instanceof ConfigError) return err.message;
            throw err;
        }
    };

    test("a release channel or node auto-upgrade: Google would upgrade behind the program's back", () => {
        const error = refusal(gkeCluster("1.35", "blue-green", { releaseChannel: "REGULAR", nodeAutoUpgrade: true }));
        assert.match(error, /gke\.releaseChannel/);
        assert.match(error, /"REGULAR"/);
        assert.match(error, /UNSPECIFIED/);
        assert.match(error, /gke\.nodeAutoUpgrade/);
    });

    test("upgradeSettings GKE would refuse, and zones that do not divide the count", () => {
        const error = refusal(
            gkeCluster(
                "1.35",
                "in-place",
                {
                    nodeLocations: ["europe-west4-a", "europe-west4-b"],
                    upgradeSettings: { strategy: "BLUE_GREEN", maxSurge: 1 },
                },
                { count: 3 },
            ),
        );
        assert.match(error, /upgradeSettings\.maxSurge/);
        assert.match(error, /exactly one of batchNodeCount or batchPercentage/);
        assert.match(error, /a multiple of 2/);
        const both = refusal(
            gkeCluster("1.35", "in-place", {
                upgradeSettings: {
                    strategy: "BLUE_GREEN",
                    blueGreenSettings: { standardRolloutPolicy: { batchNodeCount: 1, batchPercentage: 0.5 } },
                },
            }),
        );
        assert.match(both, /exactly one of batchNodeCount or batchPercentage/);
        const still = refusal(gkeCluster("1.35", "in-place", { upgradeSettings: { maxSurge: 0, maxUnavailable: 0 } }));
        assert.match(still, /maxSurge or maxUnavailable above 0/);
        const soak = refusal(
            gkeCluster("1.35", "in-place", {
                upgradeSettings: {
                    strategy: "BLUE_GREEN",
                    blueGreenSettings: {
                        standardRolloutPolicy: { batchNodeCount: 1 },
                        nodePoolSoakDuration: "900000s",
                    },
                },
            }),
        );
        assert.match(soak, /nodePoolSoakDuration/);
    });

    test("recycle, with the hint to use GKE's own surge upgrade", () => {
        assert.match(refusal(gkeCluster("1.35", "recycle")), /GKE has no recycle of its own/);
    });

    test("a regional cluster without its zones", () => {
        assert.match(refusal(gkeCluster("1.35", "blue-green", { nodeLocations: [] })), /gke\.nodeLocations/);
    });
});

describe("the example GKE stack's plan", () => {
    test("the stack passes the published JSON Schema, which refuses a gke block on another provider and a non-GCE machine type", () => {
        const validate = new Ajv2020({ allErrors: true, strict: true, strictRequired: false }).compile(
            JSON.parse(fs.readFileSync(SCHEMA_FILE, "utf8")),
        );
        const file = path.join(ROOT, "test", "fixtures", "stacks", "gke", "Pulumi.gke-dev.yaml");
        const doc = YAML.parse(fs.readFileSync(file, "utf8")) as { config: Record<string, any> };
        assert.ok(validate(doc), JSON.stringify(validate.errors, null, 2));
        const onEks = structuredClone(doc);
        onEks.config["k8s-upgrades:clusters"][0].provider = "eks";
        assert.equal(validate(onEks), false);
        const badType = structuredClone(doc);
        badType.config["k8s-upgrades:clusters"][0].nodePools[0].type = "m6i.large";
        assert.equal(validate(badType), false);
    });

    test("its Markdown matches test/fixtures/plan-gke-dev.md (UPDATE_GOLDEN=1 rewrites it)", async () => {
        const stacks = path.join(ROOT, "test", "fixtures", "stacks", "gke");
        const { stdout } = await promisify(execFile)(
            process.execPath,
            ["--import", "tsx", path.join(ROOT, "tools", "plan.ts"), "gke-dev", "--markdown", "--stack-dir", stacks],
            { cwd: ROOT, env: toolEnv() },
        );
        const golden = path.join(ROOT, "test", "fixtures", "plan-gke-dev.md");
        if (process.env.UPDATE_GOLDEN === "1") fs.writeFileSync(golden, stdout);
        assert.equal(stdout, fs.readFileSync(golden, "utf8"), "review the plan, then run UPDATE_GOLDEN=1");
        for (const step of ["shop-web-1-35-drain", "shop-cordon-blue", "search-validate"])
            assert.match(stdout, new RegExp(step));
    });
});
