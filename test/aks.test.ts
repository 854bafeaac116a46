// AKS under the mock runtime: from a 1.34 deployment to 1.35 in config, in place (AKS's surge upgrade) and
// blue-green (a new agent pool, the old one drained by this program); the refusals before anything changes.

import * as assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, test } from "node:test";
import { promisify } from "node:util";
import { agentPoolName } from "../components/aks/cluster";
import { readUpgradeProfile, upgradeProfileIssues } from "../components/aks/upgrade-profile";
import { ConfigError, parseStackConfig } from "../components/config";
import { planStack } from "../components/plan";
import { buildScript } from "../components/scripts";
import { evaluatePolicies } from "../policy/evaluate";
import type { Capture } from "../tools/capture-types";
import { describe as describeResource } from "../tools/graph";
import { ROOT } from "../tools/harness";
import { toolEnv } from "./fixture/run-tool";
import { allDeps, directDeps, env, has, resource, runProgram, scriptKindOf, stackConfig } from "./helpers";

const CLUSTER = "azure-native:containerservice:ManagedCluster";
const POOL = "azure-native:containerservice:AgentPool";
const UPGRADE_SETTINGS = {
    maxSurge: "33%",
    drainTimeoutInMinutes: 45,
    nodeSoakDurationInMinutes: 5,
    undrainableNodeBehavior: "Cordon",
};

function aksCluster(version: string, strategy: string, aks: Record<string, unknown> = {}) {
    return {
        name: "data",
        provider: "aks",
        kubernetesVersion: version,
        aks: {
            location: "westeurope",
            resourceGroupName: "rg-data",
            upgradeSettings: UPGRADE_SETTINGS,
            tags: { team: "platform" },
            ...aks,
        },
        nodePools: [
            {
                name: "general",
                count: 3,
                type: "Standard_D4s_v5",
                autoscaler: { min: 3, max: 6 },
                labels: { tier: "web" },
                taints: [{ key: "dedicated", value: "web", effect: "NoSchedule" }],
            },
        ],
        workers: { strategy, drain: { deleteEmptyDirData: false } },
    };
}

async function deploy(clusters: Record<string, unknown>[], previous?: Capture, extra = {}): Promise<Capture> {
    return runProgram({
        stack: "dev",
        config: stackConfig(clusters),
        ...(previous ? { previous: previous.stackOutputs } : {}),
        ...extra,
    });
}

const poolId = (c: Capture) => (c.stackOutputs as any).k8sUpgrades.clusters.data.pools[0].poolId as string;

describe("AKS", async () => {
    const [first, channelRefused] = await Promise.all([
        deploy([aksCluster("1.34", "in-place")]),
        deploy([aksCluster("1.34", "in-place", { autoUpgradeProfile: { upgradeChannel: "stable" } })]),
    ]);
    const [inPlace, blueGreen, versionRefused] = await Promise.all([
        deploy([aksCluster("1.35", "in-place")], first),
        deploy([aksCluster("1.35", "blue-green")], first),
        deploy([aksCluster("1.35", "in-place")], first, {
            aksUpgrades: { data: ["1.34.9"] },
            liveVersions: { data: "1.34.3" },
        }),
    ]);

    test("the managed cluster: control plane version, auto-upgrade off, one inline System pool naming its version", () => {
        assert.equal(first.error, undefined, first.error);
        assert.deepEqual(resource(first, "data", CLUSTER).inputs, {
            resourceGroupName: "rg-data",
            resourceName: "data",
            location: "westeurope",
            dnsPrefix: "data",
            kubernetesVersion: "1.34",
            identity: { type: "SystemAssigned" },
            autoUpgradeProfile: { upgradeChannel: "none", nodeOSUpgradeChannel: "NodeImage" },
            agentPoolProfiles: [
                {
                    name: "system",
                    mode: "System",
                    osType: "Linux",
                    type: "VirtualMachineScaleSets",
                    vmSize: "Standard_D2s_v5",
                    count: 1,
                    orchestratorVersion: "1.34",
                    nodeTaints: ["CriticalAddonsOnly=true:NoSchedule"],
                    nodeLabels: { "k8s-upgrades/role": "system" },
                    upgradeSettings: UPGRADE_SETTINGS,
                },
            ],
            tags: { team: "platform", "k8s-upgrades/stack": "dev" },
        });
    });

    test("each pool is an AgentPool with its own orchestratorVersion and aks.upgradeSettings, after the cluster", () => {
        const pool = resource(first, "data-general-1-34", POOL);
        assert.deepEqual(pool.inputs, {
            resourceGroupName: "rg-data",
            resourceName: "data",
            agentPoolName: "general134",
            mode: "User",
            osType: "Linux",
            type: "VirtualMachineScaleSets",
            vmSize: "Standard_D4s_v5",
            count: 3,
            enableAutoScaling: true,
            minCount: 3,
            maxCount: 6,
            orchestratorVersion: "1.34",
            nodeLabels: { tier: "web", "k8s-upgrades/pool": "general" },
            nodeTaints: ["dedicated=web:NoSchedule"],
            upgradeSettings: UPGRADE_SETTINGS,
            tags: { team: "platform", "k8s-upgrades/pool": "general" },
        });
        assert.deepEqual(pool.ignoreChanges, ["count"], "the autoscaler owns count");
        assert.ok(directDeps(first, "data-general-1-34", POOL).includes("data"));
        assert.equal(poolId(first), "general134");
        const guard = resource(first, "data-general-1-34-drain-guard");
        assert.equal(scriptKindOf(guard, "delete"), "drain");
        assert.equal(env(guard).K8SU_SELECTOR, "kubernetes.azure.com/agentpool=general134");
    });

    test("the review describes the cluster and the agent pool in AKS's terms: versions, sizes, surge settings", () => {
        assert.equal(
            describeResource(resource(first, "data", CLUSTER)),
            "AKS cluster data in westeurope: control plane 1.34, system pool 1 × Standard_D2s_v5 at 1.34; a version change here is AKS's control plane upgrade alone; the system pool moves after it through the agent pool API (maxSurge 33%, drain timeout 45 min, soak 5 min)",
        );
        assert.equal(
            describeResource(resource(first, "data-general-1-34", POOL)),
            "agent pool general134: 3 × Standard_D4s_v5 at 1.34 (autoscaler 3–6); a version change here is AKS's surge upgrade (maxSurge 33%, drain timeout 45 min, soak 5 min)",
        );
    });

    test("in-place: pre-flight → control plane 1.35 → the same agent pool at 1.35 (AKS's surge) → validation", () => {
        assert.equal(inPlace.error, undefined, inPlace.error);
        const cluster = resource(inPlace, "data", CLUSTER);
        assert.equal(cluster.inputs.kubernetesVersion, "1.35");
        assert.ok(directDeps(inPlace, "data", CLUSTER).includes("data-preflight"));
        const pool = resource(inPlace, "data-general-1-34", POOL);
        assert.equal(pool.inputs.orchestratorVersion, "1.35");
        assert.deepEqual(pool.inputs.upgradeSettings, UPGRADE_SETTINGS);
        assert.ok(directDeps(inPlace, "data-general-1-34", POOL).includes("data"), "the pool after the control plane");
        assert.ok(allDeps(inPlace, "data-validate").has("data-general-1-34"), "validation after the pool's upgrade");
        assert.equal(has(inPlace, "data-cordon-blue"), false);
    });

    test("the control plane moves alone: the inline System pool keeps its running version in the managed cluster's PUT", () => {
        // Through the managed cluster API AKS takes pool versions all unchanged or all equal to the new control
        // plane; the separate agent pools are still at 1.34 there, so a System pool at 1.35 beside them is refused.
        for (const c of [inPlace, blueGreen]) {
            const cluster = resource(c, "data", CLUSTER);
            assert.equal(cluster.inputs.kubernetesVersion, "1.35");
            assert.equal((cluster.inputs.agentPoolProfiles as any)[0].orchestratorVersion, "1.34");
        }
    });

    test("then the System pool moves through the agent pool API, in a step after the control plane, before the workers", () => {
        for (const c of [inPlace, blueGreen]) {
            const step = resource(c, "data-system-pool");
            assert.equal(scriptKindOf(step), "aks-system-pool");
            assert.deepEqual(
                [env(step).K8SU_AKS_RESOURCE_GROUP, env(step).K8SU_AKS_CLUSTER, env(step).K8SU_AKS_POOL],
                ["rg-data", "data", "system"],
            );
            assert.equal(env(step).K8SU_TARGET_MINOR, "1.35");
            assert.ok(directDeps(c, "data-system-pool").includes("data"), "after the control plane");
            assert.ok(allDeps(c, "data-validate").has("data-system-pool"));
        }
        assert.ok(allDeps(inPlace, "data-general-1-34", POOL).has("data-system-pool"), "the workers after it");
        assert.ok(allDeps(blueGreen, "data-general-1-35", POOL).has("data-system-pool"), "the workers after it");
        assert.equal(has(first, "data-system-pool"), false, "no step without a control plane upgrade");
    });

    test("blue-green: a green agent pool at 1.35, Ready, the blue pool cordoned and drained by the program's steps", () => {
        assert.equal(blueGreen.error, undefined, blueGreen.error);
        const green = resource(blueGreen, "data-general-1-35", POOL);
        assert.deepEqual(
            [green.inputs.agentPoolName, green.inputs.orchestratorVersion, green.inputs.vmSize],
            ["general135", "1.35", "Standard_D4s_v5"],
        );
        assert.ok(allDeps(blueGreen, "data-general-1-35", POOL).has("data"), "green after the control plane");
        assert.equal(has(blueGreen, "data-general-1-34"), false, "the blue pool leaves the program");
        assert.ok(directDeps(blueGreen, "data-general-1-35-ready").includes("data-general-1-35"));
        assert.ok(directDeps(blueGreen, "data-cordon-blue").includes("data-general-1-35-ready"));
        const drain = resource(blueGreen, "data-general-1-34-drain");
        assert.equal(scriptKindOf(drain), "drain");
        assert.equal(env(drain).K8SU_SELECTOR, "kubernetes.azure.com/agentpool=general134");
        assert.ok(directDeps(blueGreen, "data-general-1-34-drain").includes("data-cordon-blue"));
        assert.ok(allDeps(blueGreen, "data-validate").has("data-general-1-34-drain"));
    });

    test("the policies pass on both upgrades and on the first deployment", () => {
        for (const c of [first, inPlace, blueGreen]) assert.deepEqual(evaluatePolicies(c).mandatory, []);
    });

    test("a version the upgrade profile does not offer is refused before anything is registered", () => {
        const refused = versionRefused;
        assert.match(refused.error ?? "", /clusters\[0\]\.kubernetesVersion/);
        assert.match(refused.error ?? "", /AKS does not offer 1\.35/);
        assert.match(refused.error ?? "", /az aks get-upgrades --resource-group rg-data --name data/);
        assert.equal(has(refused, "data"), false);
    });

    test("an auto-upgrade channel is refused in config, with the field, what is allowed and what to do", () => {
        const refused = channelRefused;
        const error = refused.error ?? "";
        assert.match(error, /aks\.autoUpgradeProfile\.upgradeChannel/);
        assert.match(error, /stable/);
        assert.match(error, /Set upgradeChannel: none/);
        assert.equal(has(refused, "data"), false);
    });
});

function refusal(clusters: Record<string, unknown>[]): string {
    try {
        parseStackConfig("dev", { clusters });
    } catch (err) {
        assert.ok(err instanceof ConfigError, String(err));
        return err.message;
    }
    return assert.fail("the config was accepted");
}

describe("AKS pure parts", () => {
    test("config: a patch version, a bad maxSurge, a drain timeout out of range and a VM size are refused", () => {
        assert.match(
            refusal([aksCluster("1.35.2", "in-place")]),
            /clusters\[0\]\.kubernetesVersion: given "1\.35\.2"; allowed: a minor such as "1\.35"/,
        );
        const settings = { upgradeSettings: { maxSurge: "0", drainTimeoutInMinutes: 0 } };
        const message = refusal([aksCluster("1.35", "in-place", settings)]);
        assert.match(message, /aks\.upgradeSettings\.maxSurge: given "0"/);
        assert.match(
            message,
            /aks\.upgradeSettings\.drainTimeoutInMinutes: given 0; allowed: a whole number from 1 to 1440/,
        );
        const vm = aksCluster("1.35", "in-place");
        vm.nodePools[0].type = "m6i.large";
        assert.match(refusal([vm]), /nodePools\[0\]\.type: given "m6i\.large"; allowed: an Azure VM size/);
    });

    test("the planner refuses recycle on AKS, saying what to use instead", () => {
        const config = parseStackConfig("dev", { clusters: [aksCluster("1.34", "recycle")], firstDeployment: true });
        const { issues } = planStack(config, undefined);
        assert.equal(issues.length, 1);
        assert.equal(issues[0].field, "clusters[0].workers.strategy");
        assert.match(issues[0].hint ?? "", /in-place is AKS's own surge upgrade/);
    });

    test("an upgrade profile that cannot be read is a refusal; the running minor needs no offer", () => {
        const config = parseStackConfig("dev", { clusters: [aksCluster("1.35", "in-place")], firstDeployment: true });
        const plan = planStack(config, undefined).plans[0];
        const unreadable = upgradeProfileIssues(plan, 0, new Error("AuthorizationFailed"));
        assert.match(unreadable[0].allowed, /could not be read \(AuthorizationFailed\)/);
        assert.match(unreadable[0].hint ?? "", /Nothing was changed/);
        assert.equal(upgradeProfileIssues(plan, 0, undefined).length, 1);
        assert.deepEqual(upgradeProfileIssues(plan, 0, { controlPlaneVersion: "1.35.3", upgrades: [] }), []);
        assert.deepEqual(upgradeProfileIssues(plan, 0, { controlPlaneVersion: "1.34.3", upgrades: ["1.35.1"] }), []);
        assert.match(
            upgradeProfileIssues(plan, 0, { controlPlaneVersion: "1.34.3", upgrades: ["1.34.9"] })[0].allowed,
            /one of 1\.34: what AKS offers cluster rg-data\/data \(now at 1\.34\.3\)/,
        );
    });

    test("an upgrade profile with no readable current version is a refusal, even when it offers the target", () => {
        const config = parseStackConfig("dev", { clusters: [aksCluster("1.35", "in-place")], firstDeployment: true });
        const plan = planStack(config, undefined).plans[0];
        for (const [current, shown] of [
            [undefined, "absent"],
            ["", '""'],
            ["latest", '"latest"'],
        ] as const) {
            const issues = upgradeProfileIssues(plan, 0, { controlPlaneVersion: current, upgrades: ["1.35.1"] });
            assert.equal(issues.length, 1, `current version ${shown}`);
            assert.equal(issues[0].field, "clusters[0].kubernetesVersion");
            assert.equal(
                issues[0].allowed,
                `a version the upgrade profile of AKS cluster rg-data/data offers, which could not be judged: the profile reports no readable current version (controlPlaneProfile.kubernetesVersion ${shown})`,
            );
            assert.match(
                issues[0].hint ?? "",
                /^Nothing was changed\. .*az aks get-upgrades --resource-group rg-data --name data/,
            );
        }
    });

    test("agent pool names fit AKS's rule (a letter first, at most 12 lower-case letters and digits)", () => {
        assert.equal(agentPoolName("data", "data-general-1-34"), "general134");
        for (const n of [
            agentPoolName("data", "data-a-very-long-pool-name-1-35"),
            agentPoolName("data", "data-9lives-1-35"),
            agentPoolName("data", "data-general-1-35-standardd8sv5"),
        ])
            assert.match(n, /^[a-z][a-z0-9]{0,11}$/);
        assert.notEqual(
            agentPoolName("data", "data-a-very-long-pool-name-1-35"),
            agentPoolName("data", "data-a-very-long-pool-name-1-36"),
        );
    });

    test("the upgrade profile is read from the resource's properties; another shape is no profile", () => {
        assert.deepEqual(
            readUpgradeProfile({
                controlPlaneProfile: { kubernetesVersion: "1.34.3", upgrades: [{ kubernetesVersion: "1.35.1" }] },
            }),
            { controlPlaneVersion: "1.34.3", upgrades: ["1.35.1"] },
        );
        assert.equal(readUpgradeProfile({}), undefined);
        assert.equal(readUpgradeProfile(undefined), undefined);
    });
});

test("the AKS stack's plan matches test/fixtures/plan-aks.md (UPDATE_GOLDEN=1 rewrites it)", async () => {
    const stacks = path.join(ROOT, "test", "fixtures", "stacks");
    const { stdout } = await promisify(execFile)(
        process.execPath,
        ["--import", "tsx", path.join(ROOT, "tools", "plan.ts"), "aks", "--markdown", "--stack-dir", stacks],
        { cwd: ROOT, env: toolEnv() },
    );
    const golden = path.join(ROOT, "test", "fixtures", "plan-aks.md");
    if (process.env.UPDATE_GOLDEN === "1") fs.writeFileSync(golden, stdout);
    assert.equal(stdout, fs.readFileSync(golden, "utf8"), "the plan changed: review it, then run UPDATE_GOLDEN=1");
    for (const step of ["orders-web-1-34-drain", "search-index-1-34", "orders-cordon-blue"])
        assert.ok(stdout.includes(`\`${step}\``), `${step} is planned`);
    assert.match(stdout, /mandatory \(blocks the update\): none/);
});

test("policy: a raw AKS cluster that pins its version under a version-moving upgrade channel is refused", () => {
    const raw = (channel: string | undefined, kubernetesVersion: string | null = "1.34") => ({
        resources: [
            {
                urn: "urn:pulumi:dev::raw::azure-native:containerservice:ManagedCluster::aks",
                type: CLUSTER,
                name: "aks",
                dependencies: [],
                propertyDependencies: {},
                ignoreChanges: [],
                inputs: {
                    resourceGroupName: "rg",
                    resourceName: "aks",
                    ...(kubernetesVersion === null ? {} : { kubernetesVersion }),
                    ...(channel ? { autoUpgradeProfile: { upgradeChannel: channel } } : {}),
                },
            },
        ],
    });
    const refused = (c: ReturnType<typeof raw>) =>
        evaluatePolicies(c).mandatory.filter((v) => v.policy === "control-plane-one-minor-at-a-time");
    for (const channel of ["stable", "rapid", "patch"]) {
        const found = refused(raw(channel));
        assert.equal(found.length, 1, channel);
        assert.match(found[0].message, new RegExp(`upgradeChannel "${channel}" upgrades the cluster`));
    }
    const allowed: Array<[string | undefined, string | null]> = [
        ["none", "1.34"],
        ["node-image", "1.34"],
        [undefined, "1.34"],
        ["stable", null],
    ];
    for (const [channel, version] of allowed)
        assert.deepEqual(refused(raw(channel, version)), [], `${channel} with ${version}`);
});

describe("aks-system-pool: the System pool to the control plane's minor through the agent pool API", () => {
    function systemPool(version: string, outcome = "Succeeded") {
        const state = fs.mkdtempSync(path.join(os.tmpdir(), "aks-"));
        const bin = path.join(state, "bin");
        fs.mkdirSync(bin);
        fs.symlinkSync(path.join(ROOT, "test", "fixture", "node-bin", "az"), path.join(bin, "az"));
        fs.writeFileSync(path.join(state, "version"), version);
        fs.writeFileSync(path.join(state, "outcome"), outcome);
        fs.writeFileSync(path.join(state, "calls"), "");
        const run = () =>
            spawnSync("bash", ["-c", buildScript("aks-system-pool")], {
                encoding: "utf8",
                env: {
                    PATH: `${bin}:/usr/bin:/bin`,
                    AZ_STATE: state,
                    K8SU_AKS_RESOURCE_GROUP: "rg-data",
                    K8SU_AKS_CLUSTER: "data",
                    K8SU_AKS_POOL: "system",
                    K8SU_TARGET_MINOR: "1.35",
                    K8SU_TIMEOUT_SECONDS: "10",
                    K8SU_POLL_SECONDS: "0.1",
                },
            });
        const calls = () => fs.readFileSync(path.join(state, "calls"), "utf8").trim().split("\n").filter(Boolean);
        return { state, run, calls };
    }

    test("a pool at the old minor is upgraded with `az aks nodepool upgrade` and waited for until it runs the target", () => {
        const p = systemPool("1.34.7");
        const r = p.run();
        assert.equal(r.status, 0, r.stderr);
        assert.ok(
            p
                .calls()
                .includes(
                    "aks nodepool upgrade --resource-group rg-data --cluster-name data --name system --kubernetes-version 1.35 --yes --no-wait --output none",
                ),
            p.calls().join("\n"),
        );
        assert.match(r.stderr, /agent pool system of rg-data\/data is Upgrading; waiting/);
        assert.match(r.stderr, /now runs 1\.35/);
        assert.equal(fs.readFileSync(path.join(p.state, "version"), "utf8"), "1.35.4");
    });

    test("a pool already at the target is left alone (a deployment resumed after this step)", () => {
        const p = systemPool("1.35.2");
        const r = p.run();
        assert.equal(r.status, 0, r.stderr);
        assert.equal(p.calls().filter((c) => c.includes("upgrade")).length, 0);
    });

    test("a failed upgrade, a refused one and an unreadable pool stop the deployment with what to do", () => {
        const failed = systemPool("1.34.7", "Failed");
        const r = failed.run();
        assert.equal(r.status, 1);
        assert.match(r.stderr, /the upgrade of the agent pool system of rg-data\/data ended Failed at 1\.34/);
        const refused = systemPool("1.34.7");
        fs.writeFileSync(path.join(refused.state, "fail-upgrade"), "");
        assert.match(refused.run().stderr, /AKS refused the upgrade of the agent pool system/);
        const unreadable = systemPool("1.34.7");
        fs.writeFileSync(path.join(unreadable.state, "fail-show"), "");
        assert.match(unreadable.run().stderr, /cannot read the agent pool system of rg-data\/data/);
    });
});
