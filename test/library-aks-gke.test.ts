// AksCluster and GkeCluster from source under the mock runtime (test/fixtures/programs/library-aks-gke.ts): they
// register exactly what the config program registers for the same clusters, from a first deployment through an
// upgrade, and refuse inside their own decision, before registering, what GKE or AKS does not offer.
import * as assert from "node:assert/strict";
import * as path from "node:path";
import { describe, test } from "node:test";
import { asArgumentIssue } from "../components/api/args";
import { ConfigError } from "../components/config";
import type { Capture } from "../tools/capture-types";
import type { RunOptions } from "../tools/harness";
import { runProgram } from "./helpers";

const LIBRARY = path.join(__dirname, "fixtures", "programs", "library-aks-gke.ts");
const AKS = "k8s-upgrades:aks:Cluster";
const GKE = "k8s-upgrades:gke:Cluster";

/** The fixture's two clusters, written as stack config. */
function asConfig(kubernetesVersion: string): Record<string, unknown>[] {
    return [
        {
            name: "data",
            provider: "aks",
            kubernetesVersion,
            aks: {
                location: "westeurope",
                resourceGroupName: "rg-data",
                upgradeSettings: { maxSurge: "33%", drainTimeoutInMinutes: 45 },
                tags: { team: "platform" },
            },
            nodePools: [{ name: "general", type: "Standard_D4s_v5", count: 3, labels: { tier: "web" } }],
            workers: { strategy: "blue-green", drain: { deleteEmptyDirData: false } },
        },
        {
            name: "shop",
            provider: "gke",
            kubernetesVersion,
            gke: {
                project: "shop-prod-4711",
                location: "europe-west4",
                nodeLocations: ["europe-west4-a", "europe-west4-b", "europe-west4-c"],
            },
            nodePools: [{ name: "web", type: "e2-standard-4", count: 6 }],
            workers: { strategy: "in-place", drain: { deleteEmptyDirData: false } },
        },
    ];
}

function library(version: string, previous?: Capture, extra: Partial<RunOptions> = {}): Promise<Capture> {
    return runProgram({
        program: LIBRARY,
        stack: "dev",
        config: previous ? { kubernetesVersion: version } : { kubernetesVersion: version, firstDeployment: true },
        ...(previous ? { previous: previous.stackOutputs } : {}),
        ...extra,
    });
}

function program(version: string, previous?: Capture): Promise<Capture> {
    return runProgram({
        stack: "dev",
        config: { "k8s-upgrades:clusters": asConfig(version) },
        ...(previous ? { previous: previous.stackOutputs } : {}),
    });
}

/** What a deployment registers, comparable across programs: every resource with its parent, inputs and dependencies. */
function registered(c: Capture) {
    return c.resources
        .filter((r) => r.type !== "pulumi:pulumi:Stack")
        .map((r) => ({
            urn: r.urn,
            parent: r.parent,
            inputs: r.inputs,
            dependencies: [...r.dependencies].sort(),
            secretPaths: r.secretPaths,
        }))
        .sort((a, b) => a.urn.localeCompare(b.urn));
}

const record = (c: Capture) => (c.stackOutputs as { k8sUpgrades: { clusters: Record<string, unknown> } }).k8sUpgrades;

describe("AksCluster and GkeCluster", async () => {
    const [libFirst, progFirst] = await Promise.all([library("1.35"), program("1.35")]);
    const [libSecond, progSecond, gkeRefused, aksRefused] = await Promise.all([
        library("1.36", libFirst),
        program("1.36", progFirst),
        library("1.36", libFirst, {
            gkeOffers: {
                "europe-west4": { validMasterVersions: ["1.35.6-gke.1500"], validNodeVersions: ["1.35.6-gke.1500"] },
            },
        }),
        library("1.36", libFirst, { aksUpgrades: { data: ["1.35.9"] }, liveVersions: { data: "1.35.3" } }),
    ]);

    test("a first deployment registers what the config program registers for the same clusters", () => {
        assert.equal(libFirst.error, undefined, libFirst.log);
        assert.equal(progFirst.error, undefined, progFirst.log);
        assert.ok(libFirst.resources.some((r) => r.type === AKS && r.name === "data"));
        assert.ok(libFirst.resources.some((r) => r.type === GKE && r.name === "shop"));
        assert.deepEqual(registered(libFirst), registered(progFirst));
        assert.deepEqual(record(libFirst).clusters, record(progFirst).clusters);
    });

    test("the upgrade to the next minor, read back from the record, registers what the config program registers", () => {
        assert.equal(libSecond.error, undefined, libSecond.log);
        assert.equal(progSecond.error, undefined, progSecond.log);
        assert.deepEqual(registered(libSecond), registered(progSecond));
        assert.deepEqual(record(libSecond).clusters, record(progSecond).clusters);
        // GKE's offer was looked up: the pool takes the exact newest version of the minor the location offers.
        const pool = libSecond.resources.find((r) => r.type === "gcp:container/nodePool:NodePool");
        assert.equal(pool?.inputs.version, "1.36.6-gke.1500");
        const cluster = libSecond.resources.find((r) => r.type === "azure-native:containerservice:ManagedCluster");
        assert.equal(cluster?.inputs.kubernetesVersion, "1.36");
    });

    test("the kubeconfigs are secret outputs", () => {
        const kubeconfigs = (libSecond.stackOutputs as { kubeconfigs: Record<string, string> }).kubeconfigs;
        assert.match(kubeconfigs.shop, /gke-gcloud-auth-plugin/);
        assert.match(kubeconfigs.data, /apiVersion: v1/);
        assert.ok(libSecond.stackOutputSecretPaths.some((p) => p.startsWith("kubeconfigs")));
    });

    test("a minor GKE does not offer at the location is refused before the GKE cluster registers anything", () => {
        assert.match(gkeRefused.error ?? "", /1\.36/);
        // Said in the terms the user wrote: the class, its name and the argument, not a stack file they never wrote.
        assert.match(gkeRefused.error ?? "", /refused the cluster's arguments/);
        assert.match(gkeRefused.error ?? "", /GkeCluster "shop" in stack "[^"]+", argument kubernetesVersion/);
        assert.doesNotMatch(gkeRefused.error ?? "", /Pulumi\.[a-z]+\.yaml|k8s-upgrades:clusters/);
        assert.ok(!gkeRefused.resources.some((r) => r.type === GKE || r.type.startsWith("gcp:")));
    });

    test("a minor the AKS upgrade profile does not offer is refused before the AKS cluster registers anything", () => {
        assert.match(
            aksRefused.error ?? "",
            /upgrade profile of AKS cluster rg-data\/data|AKS offers cluster rg-data\/data/,
        );
        assert.ok(!aksRefused.resources.some((r) => r.type === AKS || r.type.startsWith("azure-native:")));
    });
});

test("a problem in a class's arguments names the class, the cluster and the argument's own path", () => {
    const issue = (field: string) => ({ stack: "dev", cluster: "prod", field, given: "x", allowed: "y" });
    const cases: Array<[Parameters<typeof asArgumentIssue>[0], string, string]> = [
        ["lke", "k8s-upgrades:clusters[0].lke.region", "region"],
        ["lke", "k8s-upgrades:clusters[0].nodePools[1].count", "nodePools[1].count"],
        ["capi-aws", "k8s-upgrades:clusters[0].capi-aws.amis", "amis"],
        ["eks", "k8s-upgrades:promotesFrom", "promotesFrom"],
        ["gke", "firstDeployment", "firstDeployment"],
        ["aks", "k8s-upgrades:clusters[0]", "(the arguments as a whole)"],
    ];
    for (const [provider, field, argument] of cases)
        assert.equal(asArgumentIssue(provider, "prod", issue(field)).field, argument, field);
    const message = new ConfigError([asArgumentIssue("lke", "prod", issue("k8s-upgrades:clusters[0].lke.region"))])
        .message;
    assert.equal(
        message,
        'k8s-upgrades refused the cluster\'s arguments (1 problem); nothing was changed:\n  - LkeCluster "prod" in stack "dev", argument region: given "x"; allowed: y.',
    );
    // A stack file's problem keeps its file and field.
    assert.match(
        new ConfigError([issue("k8s-upgrades:clusters[0].lke.region")]).message,
        /refused the stack config[\s\S]*Pulumi\.dev\.yaml: stack "dev", cluster "prod", field k8s-upgrades:clusters\[0\]\.lke\.region/,
    );
});
