// Refusals through the real program (under mocks): every problem at once, each naming the file, stack, cluster and
// field, never a secret, and nothing registered before the config and the history it needs are accepted.

import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { before, describe, test } from "node:test";
import { NEWEST_RELEASED_MINOR, PROVIDER_VERSIONS, SUPPORTED_AS_OF } from "../components/config";
import type { Capture } from "../tools/capture-types";
import { readStackFile, runProgram as runWithoutDefaults } from "../tools/harness";
import { planForStack } from "../tools/plan";
import { lkeCluster, runProgram, stackConfig } from "./helpers";

const F = 'Pulumi.dev.yaml: stack "dev"';
/** What the version table says LKE offers, as the refusals name it. */
const LKE_OFFERS = `${PROVIDER_VERSIONS.lke.minors.join(", ")} on lke (as of ${SUPPORTED_AS_OF}, from ${PROVIDER_VERSIONS.lke.source})`;
const pool = { name: "web", count: 3, type: "g6-standard-4" };

function runningAt(version: string): Record<string, unknown> {
    return {
        k8sUpgrades: {
            schemaVersion: 1,
            stack: "x",
            clusters: {
                apps: {
                    name: "apps",
                    provider: "lke",
                    controlPlaneVersion: version,
                    clusterId: "111",
                    strategy: "blue-green",
                    upgradeInProgress: false,
                    pools: [
                        {
                            name: "web",
                            resourceName: `apps-web-${version.replace(".", "-")}`,
                            version,
                            type: "g6-standard-4",
                            count: 3,
                            poolId: "222",
                        },
                    ],
                },
            },
        },
    };
}

function assertRefusedBeforeAnything(capture: Capture): string {
    assert.ok(capture.error, `expected a refusal, got resources: ${capture.resources.map((r) => r.name).join(", ")}`);
    assert.match(capture.error, /nothing was changed/);
    const registered = capture.resources.filter((r) => /^(linode|aws|command|kubernetes):/.test(r.type));
    assert.deepEqual(
        registered.map((r) => r.name),
        [],
        "no resource may be registered before the config is accepted",
    );
    return capture.error;
}

interface Case {
    title: string;
    run: () => Promise<Capture>;
    expect: (string | RegExp)[];
}

const FIRST_DEPLOYMENT_LINE =
    `${F}, field k8s-upgrades:firstDeployment: given nothing; allowed: true only when this stack has never been deployed ` +
    "(no previous outputs could be read: stack output k8sUpgrades is missing). If the clusters do not exist yet, set " +
    "k8s-upgrades:firstDeployment: true in Pulumi.dev.yaml (the offline plan's --first-deployment does the same). If " +
    "they exist, do not: restore the stack's state (pulumi stack import --file <backup>) or run 'pulumi stack output " +
    "k8sUpgrades --json' to see why the outputs are missing, so the pre-flight and version checks see what runs.";

const cases: Case[] = [
    {
        title: "missing history without firstDeployment (it is not a first deployment)",
        run: () => runWithoutDefaults({ stack: "dev", config: stackConfig([lkeCluster()]) }),
        expect: [FIRST_DEPLOYMENT_LINE],
    },
    {
        title: "missing history with firstDeployment: false",
        run: () =>
            runProgram({
                stack: "dev",
                config: stackConfig([lkeCluster()], { "k8s-upgrades:firstDeployment": false }),
            }),
        expect: [FIRST_DEPLOYMENT_LINE],
    },
    {
        title: "a first deployment of a version not released yet (1.45), naming the valid ones",
        run: () => runProgram({ stack: "dev", config: stackConfig([lkeCluster({ kubernetesVersion: "1.45" })]) }),
        expect: [
            `${F}, cluster "apps", field clusters[0].kubernetesVersion: given "1.45"; allowed: ${LKE_OFFERS}. ` +
                `Kubernetes 1.45 was not released as of ${SUPPORTED_AS_OF} (the newest minor was ${NEWEST_RELEASED_MINOR}). ` +
                "If it has been since, update k8s-upgrades, whose version table carries that date.",
        ],
    },
    {
        title: "a first deployment of a version no provider offers any more (1.20)",
        run: () => runProgram({ stack: "dev", config: stackConfig([lkeCluster({ kubernetesVersion: "1.20" })]) }),
        expect: [
            `${F}, cluster "apps", field clusters[0].kubernetesVersion: given "1.20"; allowed: ${LKE_OFFERS}. ` +
                "Kubernetes 1.20 is older than any " +
                "version a provider or package repository still offers (1.24 is the oldest installable). Choose one of the versions above.",
        ],
    },
    {
        title: "an upgrade that skips a minor",
        run: () =>
            runProgram({
                stack: "dev",
                config: stackConfig([lkeCluster({ kubernetesVersion: "1.32" })]),
                previous: runningAt("1.30"),
            }),
        expect: [
            /^ {2}- Pulumi\.dev\.yaml: stack "dev", cluster "apps", field clusters\[0\]\.kubernetesVersion: given "1\.32"; allowed: 1\.30 \(no change\) or the next minor 1\.31\./m,
        ],
    },
    {
        title: "a target above what the promotesFrom stack runs",
        run: () =>
            runProgram({
                stack: "dev",
                config: stackConfig([lkeCluster({ kubernetesVersion: "1.31" })], {
                    "k8s-upgrades:promotesFrom": "staging",
                }),
                previous: runningAt("1.30"),
                sources: { staging: runningAt("1.30") },
            }),
        expect: [
            /cluster "apps", field clusters\[0\]\.kubernetesVersion: given "1\.31"; allowed: at most 1\.30, what stack "staging" runs/,
        ],
    },
    {
        title: "a misspelt namespace, which Pulumi would ignore",
        run: () =>
            runProgram({
                stack: "dev",
                config: { ...stackConfig([lkeCluster()]), "k8s-upgrade:promotesFrom": "staging" },
            }),
        expect: [
            `${F}, field k8s-upgrade:promotesFrom: given "staging"; allowed: keys in the namespace k8s-upgrades. Did you mean "k8s-upgrades:promotesFrom"? Keys in another namespace are ignored.`,
        ],
    },
    {
        title: "a value Pulumi keeps secret, pasted where it does not belong (it is never shown)",
        run: () =>
            runProgram({
                stack: "dev",
                config: {
                    ...stackConfig([lkeCluster({ note: "hunter2 is the password" })]),
                    "linode:token": "hunter2 is the password",
                },
                secretKeys: ["linode:token"],
            }),
        expect: [`${F}, cluster "apps", field clusters[0].note: given "<redacted>"; allowed: one of the keys`],
    },
];

describe("config refusals through the real program", () => {
    const results = new Map<string, Capture>();
    before(async () => {
        // The runs are independent processes: start them together.
        await Promise.all(cases.map(async (c) => results.set(c.title, await c.run())));
    });
    for (const c of cases) {
        test(`refuses ${c.title}`, () => {
            const error = assertRefusedBeforeAnything(results.get(c.title)!);
            for (const e of c.expect) {
                if (typeof e === "string") assert.ok(error.includes(e), `expected the line\n${e}\nin\n${error}`);
                else assert.match(error, e);
            }
            assert.ok(!error.includes("hunter2"), "a Pulumi secret leaked into the message");
        });
    }

    test("reports every problem at once", async () => {
        const capture = await runProgram({
            stack: "prod",
            config: stackConfig([
                lkeCluster({ provider: "lkee" }),
                lkeCluster({ name: "edge", nodePools: [{ ...pool, count: 0 }], workers: { strategy: "sideways" } }),
            ]),
        });
        const error = assertRefusedBeforeAnything(capture);
        assert.match(error, /3 problems/);
        assert.match(error, /Pulumi\.prod\.yaml: stack "prod", cluster "apps", field clusters\[0\]\.provider/);
        assert.match(error, /stack "prod", cluster "edge", field clusters\[1\]\.nodePools\[0\]\.count/);
        assert.match(error, /stack "prod", cluster "edge", field clusters\[1\]\.workers\.strategy/);
    });

    test("a leftover firstDeployment is ignored with a warning once previous outputs exist", async () => {
        const capture = await runProgram({
            stack: "dev",
            config: stackConfig([lkeCluster()], { "k8s-upgrades:firstDeployment": true }),
            previous: runningAt("1.30"),
        });
        assert.equal(capture.error, undefined);
        assert.match(capture.log ?? "", /k8s-upgrades:firstDeployment is ignored: stack "dev" has previous outputs/);
    });

    test("accepts a valid config with a leading v, fills the defaults, and warns about a version LKE no longer offers", async () => {
        const capture = await runProgram({
            stack: "dev",
            config: stackConfig([lkeCluster({ kubernetesVersion: "v1.30.4" })]),
        });
        assert.equal(capture.error, undefined);
        const component = capture.resources.find((r) => r.type === "k8s-upgrades:lke:Cluster")!;
        const cluster = component.inputs.cluster as {
            kubernetesVersion: string;
            workers: { drain: Record<string, unknown> };
        };
        assert.equal(cluster.kubernetesVersion, "1.30.4");
        // No grace period unless one is set: each pod's own applies.
        assert.deepEqual(cluster.workers.drain, {
            timeoutSeconds: 900,
            batchSize: 2,
            soakSeconds: 5,
            deleteEmptyDirData: false,
            deleteEmptyDirDataExplicit: true,
        });
        assert.ok(
            (capture.log ?? "").includes(
                `Kubernetes 1.30 is not among the versions lke offers: ${LKE_OFFERS}. The provider may refuse it.`,
            ),
            capture.log,
        );
    });
});

describe("the offline plan's reading of stack files", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "k8s-upgrades-stacks-"));
    const fresh = [
        "config:",
        "  k8s-upgrades:clusters:",
        "    - name: apps",
        "      provider: lke",
        '      kubernetesVersion: "1.36"',
        "      lke: { region: us-ord }",
        "      nodePools: [{ name: web, count: 2, type: g6-standard-2 }]",
        "      workers: { strategy: blue-green, drain: { deleteEmptyDirData: false } }",
        "",
    ].join("\n");
    fs.writeFileSync(path.join(dir, "Pulumi.fresh.yaml"), fresh);
    fs.writeFileSync(
        path.join(dir, "Pulumi.broken.yaml"),
        "config:\n  k8s-upgrades:clusters:\n    - name: apps\n   provider: lke\n",
    );

    test("a YAML syntax error names the file", () => {
        assert.throws(() => readStackFile("broken", dir), /Pulumi\.broken\.yaml: not valid YAML: .*line 4/s);
    });

    test("--first-deployment sets k8s-upgrades:firstDeployment; without it a stack with no history is refused", async () => {
        const [withFlag, without] = await Promise.all([
            planForStack("fresh", { stackDir: dir, firstDeployment: true }),
            planForStack("fresh", { stackDir: dir }),
        ]);
        assert.equal(withFlag.exitCode, 0, withFlag.text);
        assert.equal(without.exitCode, 1);
        assert.match(
            without.text,
            /Pulumi\.fresh\.yaml: stack "fresh", field k8s-upgrades:firstDeployment: given nothing/,
        );
    });
});
