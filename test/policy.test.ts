// The policy pack: each policy called directly with built arguments, then end-to-end over real program runs
// through the same evaluation the offline plan uses.

import * as assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { ResourceValidationArgs, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { buildScript } from "../components/scripts";
import { evaluatePolicies, toPolicyResources } from "../policy/evaluate";
import {
    controlPlaneOneMinor,
    drainBeforeDelete,
    greenCoversBlue,
    kubeletWindow,
    productionHighAvailability,
    promotionBound,
    saneDrain,
    supportedWindow,
    workersAfterControlPlane,
} from "../policy/rules";
import type { Capture, CapturedResource } from "../tools/capture-types";
import { lkeCluster, runProgram, stackConfig, upgrade } from "./helpers";

function defaultsOf(policy: ResourceValidationPolicy | StackValidationPolicy): Record<string, unknown> {
    return Object.fromEntries(
        Object.entries(policy.configSchema?.properties ?? {}).map(([k, v]) => [
            k,
            (v as { default?: unknown }).default,
        ]),
    );
}

/**
 * Runs one resource policy and awaits it, so a policy that throws or rejects fails the test instead of passing
 * with no messages; and checks that it read the resource's properties, so "no violation" means it looked.
 */
async function runResource(
    policy: ResourceValidationPolicy,
    type: string,
    props: Record<string, unknown>,
    config: Record<string, unknown> = {},
): Promise<string[]> {
    const messages: string[] = [];
    let propsRead = false;
    const args = {
        type,
        get props() {
            propsRead = true;
            return props;
        },
        urn: `urn:pulumi:test::k8s-upgrades::${type}::x`,
        name: "x",
        opts: {
            protect: false,
            ignoreChanges: [],
            aliases: [],
            customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
            additionalSecretOutputs: [],
        },
        stackTags: new Map(),
        isType: () => false,
        asType: () => undefined,
        getConfig: () => ({ ...defaultsOf(policy), ...config }),
        notApplicable: () => {
            throw new Error("n/a");
        },
    } as unknown as ResourceValidationArgs;
    const validate = policy.validateResource as (
        a: ResourceValidationArgs,
        r: (m: string) => void,
    ) => void | Promise<void>;
    await validate(args, (m) => messages.push(m));
    assert.ok(propsRead, `${policy.name} returned without reading the resource`);
    return messages;
}

/** Runs one stack policy, awaited, and checks that it read the stack's resources. */
async function runStack(policy: StackValidationPolicy, resources: CapturedResource[]): Promise<string[]> {
    const messages: string[] = [];
    let resourcesRead = false;
    const policyResources = toPolicyResources(resources);
    await policy.validateStack(
        {
            get resources() {
                resourcesRead = true;
                return policyResources;
            },
            stackTags: new Map(),
            getConfig: () => ({}) as never,
            notApplicable: () => {
                throw new Error("n/a");
            },
        },
        (m) => messages.push(m),
    );
    assert.ok(resourcesRead, `${policy.name} returned without reading the stack`);
    return messages;
}

const COMPONENT = "k8s-upgrades:lke:Cluster";
function component(
    over: {
        running?: string | null;
        target?: string;
        pools?: unknown[];
        nodePools?: unknown[];
        drain?: Record<string, unknown>;
        promotion?: unknown;
        change?: string;
    } = {},
) {
    const target = over.target ?? "1.31";
    return {
        stack: "dev",
        cluster: {
            name: "apps",
            provider: "lke",
            kubernetesVersion: target,
            nodePools: over.nodePools ?? [
                {
                    name: "web",
                    count: 3,
                    type: "g6-standard-4",
                    autoscaler: { min: 3, max: 6 },
                    kubernetesVersion: target,
                },
            ],
            workers: {
                strategy: "blue-green",
                drain: {
                    gracePeriodSeconds: 60,
                    timeoutSeconds: 900,
                    deleteEmptyDirData: false,
                    deleteEmptyDirDataExplicit: true,
                    ...over.drain,
                },
            },
        },
        running: over.running === null ? null : { controlPlaneVersion: over.running ?? "1.30" },
        controlPlane: { from: over.running ?? "1.30", to: target, change: over.change ?? "minor" },
        pools: over.pools ?? [
            {
                name: "web",
                action: "blue-green",
                resourceName: "apps-web-1-31",
                version: target,
                blue: {
                    resourceName: "apps-web-1-30",
                    type: "g6-standard-4",
                    count: 3,
                    autoscaler: { min: 3, max: 6 },
                    version: "1.30",
                },
            },
        ],
        promotion: over.promotion ?? null,
    };
}

function res(
    name: string,
    type: string,
    inputs: Record<string, unknown>,
    deps: string[] = [],
    extra: Partial<CapturedResource> = {},
): CapturedResource {
    return {
        urn: `urn:${name}`,
        type,
        name,
        custom: true,
        dependencies: deps.map((d) => `urn:${d}`),
        propertyDependencies: {},
        ignoreChanges: [],
        inputs,
        secretPaths: [],
        ...extra,
    };
}
const cmd = (kind: string, deleteKind?: string) => ({
    create: buildScript(kind as never),
    delete: deleteKind ? buildScript(deleteKind as never) : undefined,
});

describe("policies, one by one", async () => {
    test("control plane one minor at a time", async () => {
        assert.deepEqual(
            await runResource(controlPlaneOneMinor, COMPONENT, component({ running: "1.30", target: "1.31" })),
            [],
        );
        assert.deepEqual(
            await runResource(controlPlaneOneMinor, COMPONENT, component({ running: null, target: "1.31" })),
            [],
        );
        assert.match(
            (await runResource(controlPlaneOneMinor, COMPONENT, component({ running: "1.30", target: "1.32" })))[0],
            /skips 1 minor\(s\); go through 1\.31 → 1\.32/,
        );
        assert.match(
            (await runResource(controlPlaneOneMinor, COMPONENT, component({ running: "1.31", target: "1.30" })))[0],
            /downgrade/,
        );
    });

    test("kubelet within the skew window", async () => {
        assert.deepEqual(await runResource(kubeletWindow, COMPONENT, component()), []);
        const old = component({
            pools: [{ name: "web", action: "keep", resourceName: "apps-web-1-27", version: "1.27", blue: null }],
        });
        assert.match(
            (await runResource(kubeletWindow, COMPONENT, old))[0],
            /kubelet 1\.27 is 4 minors older than the apiserver 1\.31/,
        );
        const newer = component({ nodePools: [{ name: "web", count: 3, type: "t", kubernetesVersion: "1.32" }] });
        assert.match((await runResource(kubeletWindow, COMPONENT, newer)).join("\n"), /newer than the apiserver/);
    });

    test("promotion never ahead of the source", async () => {
        assert.deepEqual(
            await runResource(
                promotionBound,
                COMPONENT,
                component({ promotion: { stack: "staging", recorded: true, sourceVersion: "1.31" } }),
            ),
            [],
        );
        assert.match(
            (
                await runResource(
                    promotionBound,
                    COMPONENT,
                    component({ promotion: { stack: "staging", recorded: true, sourceVersion: "1.30" } }),
                )
            )[0],
            /targets 1\.31, but stack staging runs 1\.30/,
        );
        assert.match(
            (
                await runResource(
                    promotionBound,
                    COMPONENT,
                    component({ promotion: { stack: "staging", recorded: false, sourceVersion: null } }),
                )
            )[0],
            /recorded no running state/,
        );
        assert.deepEqual(
            await runResource(
                promotionBound,
                COMPONENT,
                component({ change: "none", promotion: { stack: "staging", recorded: false, sourceVersion: null } }),
            ),
            [],
        );
    });

    test("promotion compares patches, not only minors: prod never takes a patch staging never ran", async () => {
        const verdict = async (target: string, sourceVersion: string) =>
            await runResource(
                promotionBound,
                COMPONENT,
                component({ target, promotion: { stack: "staging", recorded: true, sourceVersion } }),
            );
        assert.match(
            (await verdict("1.31.5", "1.31.2")).join("\n"),
            /targets 1\.31\.5, but stack staging runs 1\.31\.2/,
        );
        assert.match((await verdict("1.31.5", "1.31")).join("\n"), /records only the minor 1\.31/);
        assert.deepEqual(await verdict("1.31.5", "1.31.5"), []);
        assert.deepEqual(await verdict("1.31.2", "1.31.5"), []);
        assert.deepEqual(await verdict("1.31", "1.31.2"), []);
        assert.deepEqual(await verdict("1.30.9", "1.31"), []);
    });

    test("green covers blue", async () => {
        assert.deepEqual(await runResource(greenCoversBlue, COMPONENT, component()), []);
        const larger = component({
            nodePools: [
                {
                    name: "web",
                    count: 3,
                    type: "g6-standard-8",
                    autoscaler: { min: 3, max: 6 },
                    kubernetesVersion: "1.31",
                },
            ],
        });
        assert.deepEqual(await runResource(greenCoversBlue, COMPONENT, larger), []);
        const smaller = component({
            nodePools: [
                {
                    name: "web",
                    count: 2,
                    type: "g6-standard-2",
                    autoscaler: { min: 2, max: 6 },
                    kubernetesVersion: "1.31",
                },
            ],
        });
        const found = (await runResource(greenCoversBlue, COMPONENT, smaller)).join("\n");
        assert.match(found, /green type g6-standard-2 may be smaller than blue g6-standard-4/);
        assert.match(found, /green has 2 node\(s\), blue 3/);
        assert.match(found, /autoscaler minimum 2 is below blue's 3/);
    });

    test("supported window, from config", async () => {
        assert.deepEqual(await runResource(supportedWindow, COMPONENT, component({ target: "1.31" })), []);
        assert.match(
            (await runResource(supportedWindow, COMPONENT, component({ target: "1.30" })))[0],
            /1\.30 is older than the oldest supported minor 1\.31/,
        );
        assert.deepEqual(
            await runResource(supportedWindow, COMPONENT, component({ target: "1.30" }), { minimumMinor: "1.29" }),
            [],
        );
        assert.match(
            (await runResource(supportedWindow, COMPONENT, component({ target: "1.31" }), { maximumMinor: "1.30" }))[0],
            /newer than the newest offered/,
        );
    });

    test("production control planes are HA", async () => {
        const cluster = (ha: boolean, stack: string) => ({
            label: `apps-${stack}`,
            tags: [`k8s-upgrades-stack-${stack}`],
            controlPlane: { highAvailability: ha },
        });
        const type = "linode:index/lkeCluster:LkeCluster";
        assert.deepEqual(await runResource(productionHighAvailability, type, cluster(true, "prod")), []);
        assert.deepEqual(await runResource(productionHighAvailability, type, cluster(false, "dev")), []);
        assert.match(
            (await runResource(productionHighAvailability, type, cluster(false, "prod")))[0],
            /production stack prod has no highly available control plane/,
        );
        assert.match(
            (
                await runResource(productionHighAvailability, type, cluster(false, "live"), {
                    productionStacks: ["live"],
                })
            )[0],
            /live/,
        );
    });

    test("drain settings are sane", async () => {
        assert.deepEqual(await runResource(saneDrain, COMPONENT, component()), []);
        assert.match(
            (
                await runResource(
                    saneDrain,
                    COMPONENT,
                    component({ drain: { gracePeriodSeconds: 1000, timeoutSeconds: 900 } }),
                )
            )[0],
            /grace period 1000s is longer than the drain timeout 900s/,
        );
        assert.match(
            (await runResource(saneDrain, COMPONENT, component({ drain: { timeoutSeconds: 7200 } })))[0],
            /exceeds 3600s/,
        );
        assert.match(
            (await runResource(saneDrain, COMPONENT, component({ drain: { deleteEmptyDirDataExplicit: false } })))[0],
            /deleteEmptyDirData is not set/,
        );
    });

    test("workers after the control plane", async () => {
        const cluster = res("apps", "linode:index/lkeCluster:LkeCluster", {});
        const cp = res("apps-control-plane", "command:local:Command", cmd("lke-control-plane"), ["apps"]);
        const good = res("apps-web-1-31", "linode:index/lkeNodePool:LkeNodePool", {}, ["apps", "apps-control-plane"]);
        const bad = res("apps-web-1-31", "linode:index/lkeNodePool:LkeNodePool", {}, ["apps"]);
        const ready = res("apps-web-1-31-ready", "command:local:Command", cmd("wait-ready"), ["apps-web-1-31"]);
        assert.deepEqual(await runStack(workersAfterControlPlane, [cluster, cp, good, ready]), []);
        const found = await runStack(workersAfterControlPlane, [cluster, cp, bad, ready]);
        assert.equal(found.length, 2);
        assert.match(
            found[0],
            /apps-web-1-31 changes worker capacity but does not wait for the control plane step apps-control-plane/,
        );
    });

    test("cordon and drain commands count as worker steps: one that skips the control plane is refused", async () => {
        const cluster = res("apps", "linode:index/lkeCluster:LkeCluster", {});
        const cp = res("apps-control-plane", "command:local:Command", cmd("lke-control-plane"), ["apps"]);
        const green = res("apps-web-1-31", "linode:index/lkeNodePool:LkeNodePool", {}, ["apps", "apps-control-plane"]);
        for (const kind of ["cordon", "drain"]) {
            const early = res(`apps-web-1-30-${kind}`, "command:local:Command", cmd(kind), ["apps"]);
            assert.deepEqual(
                await runStack(workersAfterControlPlane, [cluster, cp, green, early]),
                [
                    `apps-web-1-30-${kind} changes worker capacity but does not wait for the control plane step apps-control-plane`,
                ],
                `a ${kind} step before the control plane`,
            );
            const after = res(`apps-web-1-30-${kind}`, "command:local:Command", cmd(kind), ["apps-web-1-31"]);
            assert.deepEqual(await runStack(workersAfterControlPlane, [cluster, cp, green, after]), []);
        }
    });

    test("no undrained pool deletion", async () => {
        const pool = res("apps-web-1-31", "linode:index/lkeNodePool:LkeNodePool", {});
        const guard = res("apps-web-1-31-drain-guard", "command:local:Command", cmd("drain-guard-create", "drain"), [
            "apps-web-1-31",
        ]);
        assert.deepEqual(await runStack(drainBeforeDelete, [pool, guard]), []);
        assert.match((await runStack(drainBeforeDelete, [pool]))[0], /has no drain guard/);
        const createOnly = res("apps-web-1-31-drain-guard", "command:local:Command", cmd("drain"), ["apps-web-1-31"]);
        assert.match((await runStack(drainBeforeDelete, [pool, createOnly]))[0], /has no drain guard/);
        const skipped = { ...guard, deletedWith: "urn:apps" };
        assert.match(
            (await runStack(drainBeforeDelete, [pool, skipped]))[0],
            /deletedWith urn:apps: the engine would skip its drain/,
        );
        const handWritten = res(
            "drain-web",
            "command:local:Command",
            { create: "true", delete: "kubectl drain node-1 --ignore-daemonsets" },
            ["apps-web-1-31"],
        );
        assert.deepEqual(await runStack(drainBeforeDelete, [pool, handWritten]), []);
    });
});

function mutateComponent(capture: Capture, change: (props: Record<string, any>) => void): Capture {
    const copy: Capture = JSON.parse(JSON.stringify(capture));
    change(copy.resources.find((r) => r.type === COMPONENT)!.inputs as Record<string, any>);
    return copy;
}

describe("policies over real program runs", async () => {
    const blueGreen = { strategy: "blue-green", drain: { deleteEmptyDirData: false } };
    const { second } = await upgrade(
        [lkeCluster({ kubernetesVersion: "1.30", workers: blueGreen })],
        [lkeCluster({ kubernetesVersion: "1.31", workers: blueGreen })],
    );

    test("a clean 1.30 → 1.31 bump passes every mandatory policy", () => {
        const report = evaluatePolicies(second);
        assert.deepEqual(report.mandatory, []);
        assert.equal(report.evaluated, 9);
    });

    test("a hand-written resource set that skips 1.30 → 1.32 is refused", () => {
        const skipped = mutateComponent(second, (p) => {
            p.cluster.kubernetesVersion = "1.32";
        });
        const report = evaluatePolicies(skipped);
        assert.ok(
            report.mandatory.some(
                (v) => v.policy === "control-plane-one-minor-at-a-time" && /1\.30 → 1\.32 skips/.test(v.message),
            ),
        );
    });

    test("a pool at 1.27 under a 1.31 control plane is refused", () => {
        const old = mutateComponent(second, (p) => {
            p.pools[0].version = "1.27";
        });
        const report = evaluatePolicies(old);
        assert.ok(report.mandatory.some((v) => v.policy === "kubelet-within-skew-window" && /1\.27/.test(v.message)));
    });

    test("a prod stack ahead of staging is refused, by the program and by the pack", async () => {
        const staging = await runProgram({
            stack: "staging",
            config: stackConfig([lkeCluster({ kubernetesVersion: "1.30" })]),
        });
        const prodFirst = await runProgram({
            stack: "prod",
            config: stackConfig([lkeCluster({ kubernetesVersion: "1.30" })]),
        });
        const prod = await runProgram({
            stack: "prod",
            config: stackConfig([lkeCluster({ kubernetesVersion: "1.31" })], {
                "k8s-upgrades:promotesFrom": "staging",
            }),
            previous: prodFirst.stackOutputs,
            sources: { staging: staging.stackOutputs! },
        });
        assert.match(prod.error ?? "", /at most 1\.30, what stack "staging" runs/);
        const handWritten = mutateComponent(second, (p) => {
            p.promotion = { stack: "staging", recorded: true, sourceVersion: "1.30" };
        });
        assert.ok(evaluatePolicies(handWritten).mandatory.some((v) => v.policy === "promotion-never-ahead-of-source"));
    });

    test("a green pool that skips the control plane step, or a pool without its guard, is refused", () => {
        const copy: Capture = JSON.parse(JSON.stringify(second));
        const cp = copy.resources.find((r) => r.name === "apps-control-plane")!;
        const green = copy.resources.find((r) => r.name === "apps-web-1-31")!;
        green.dependencies = green.dependencies.filter((u) => u !== cp.urn);
        const withoutGuard = {
            ...copy,
            resources: copy.resources.filter((r) => r.name !== "apps-web-1-31-drain-guard"),
        };
        const report = evaluatePolicies(withoutGuard);
        assert.ok(
            report.mandatory.some(
                (v) =>
                    v.policy === "workers-after-control-plane" &&
                    /apps-web-1-31 changes worker capacity/.test(v.message),
            ),
        );
        assert.ok(
            report.mandatory.some(
                (v) => v.policy === "no-undrained-pool-deletion" && /apps-web-1-31 has no drain guard/.test(v.message),
            ),
        );
    });

    test("enforcement levels follow the pack config", () => {
        const skipped = mutateComponent(second, (p) => {
            p.cluster.kubernetesVersion = "1.32";
        });
        const report = evaluatePolicies(skipped, {
            "control-plane-one-minor-at-a-time": { enforcementLevel: "advisory" },
        });
        assert.equal(report.mandatory.filter((v) => v.policy === "control-plane-one-minor-at-a-time").length, 0);
        assert.ok(report.advisory.some((v) => v.policy === "control-plane-one-minor-at-a-time"));
        assert.equal(
            evaluatePolicies(skipped, { "control-plane-one-minor-at-a-time": { enforcementLevel: "disabled" } })
                .evaluated,
            8,
        );
    });
});
