// Runs the real program once under the Pulumi SDK's mock runtime and writes what it registered.
// Usage (one program per process, as mocks are process-global): node --import tsx tools/capture.ts REQUEST.json
// RESULT.json, or tools/capture-build.ts's compiled capture.js with the same arguments (what tools/harness.ts runs).

import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as pulumi from "@pulumi/pulumi";
import type { Capture, CapturedResource, CaptureRequest } from "./capture-types";

const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
const RESOURCE_SIG = "5cf8f73096256a8f31e491e813e4eb8e";
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** Unwraps the wire form: secrets become their values (their paths are listed apart), resource references their URNs. */
function decode(value: unknown, path: string, secretPaths: string[]): unknown {
    if (value === UNKNOWN) return "<unknown>";
    if (Array.isArray(value)) return value.map((v, i) => decode(v, `${path}[${i}]`, secretPaths));
    if (value && typeof value === "object") {
        const obj = value as Record<string, unknown>;
        if (obj[SIG_KEY] === SECRET_SIG) {
            secretPaths.push(path || ".");
            return decode(obj.value, path, []);
        }
        if (obj[SIG_KEY] === RESOURCE_SIG) return obj.urn;
        const out: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(obj)) out[k] = decode(v, path ? `${path}.${k}` : k, secretPaths);
        return out;
    }
    return value;
}

export function fakeNumericId(name: string): string {
    return String(100000 + (parseInt(createHash("sha256").update(name).digest("hex").slice(0, 8), 16) % 900000));
}

async function run(request: CaptureRequest): Promise<Capture> {
    const resources: CapturedResource[] = [];
    const capture: Capture = { stack: request.stack, resources, stackOutputs: undefined, stackOutputSecretPaths: [] };
    const fakeKubeconfig = Buffer.from("apiVersion: v1\nkind: Config\n# offline plan: no real cluster\n").toString(
        "base64",
    );

    pulumi.runtime.setAllConfig(request.config, request.secretKeys);
    await pulumi.runtime.setMocks(
        {
            newResource(args) {
                const made = created(args);
                // An imported resource: the engine reads it, so its state is what the cloud reports (request.existing).
                if (args.id) {
                    const existing = request.existing?.[args.id];
                    return existing ? { id: args.id, state: { ...made.state, ...existing } } : made;
                }
                // A resource an earlier deployment left: the engine carries its id and state into this one.
                const carried = request.carriedState?.[args.name];
                return carried ? { id: carried.id, state: { ...made.state, ...carried.state } } : made;
            },
            call(args) {
                return invoked(args);
            },
        },
        request.project,
        request.stack,
        false,
        request.organization,
    );

    function created(args: pulumi.runtime.MockResourceArgs): {
        id: string | undefined;
        state: Record<string, unknown>;
    } {
        if (request.failResources?.includes(args.name)) throw new Error(`${args.name} failed (injected)`);
        const inputs = args.inputs as Record<string, unknown>;
        switch (args.type) {
            case "pulumi:pulumi:StackReference": {
                const outputs = request.stackOutputs[String(inputs.name)] ?? {};
                return {
                    id: String(inputs.name),
                    state: { name: inputs.name, outputs, secretOutputNames: [] },
                };
            }
            case "linode:index/lkeCluster:LkeCluster": {
                const pools = ((inputs.pools as Array<Record<string, unknown>> | undefined) ?? []).map((p, i) => ({
                    ...p,
                    id: Number(fakeNumericId(`${args.name}/${i}`)),
                }));
                return {
                    id: fakeNumericId(args.name),
                    state: { ...inputs, kubeconfig: fakeKubeconfig, pools, apiEndpoints: [], status: "ready" },
                };
            }
            case "linode:index/lkeNodePool:LkeNodePool":
                return { id: fakeNumericId(args.name), state: { ...inputs, nodes: [] } };
            case "aws:eks/cluster:Cluster": {
                const clusterName = String(inputs.name ?? `${args.name}-1a2b3c4`);
                return {
                    id: clusterName,
                    state: {
                        ...inputs,
                        name: clusterName,
                        arn: `arn:aws:eks:us-east-1:123456789012:cluster/${clusterName}`,
                        endpoint: `https://${clusterName}.eks.example`,
                        certificateAuthority: { data: "Q0EK" },
                    },
                };
            }
            case "aws:eks/nodeGroup:NodeGroup": {
                const nodeGroupName = String(inputs.nodeGroupName ?? `${args.name}-${fakeNumericId(args.name)}`);
                return {
                    id: `${inputs.clusterName}:${nodeGroupName}`,
                    state: {
                        ...inputs,
                        nodeGroupName,
                        arn: `arn:aws:eks:us-east-1:123456789012:nodegroup/${nodeGroupName}`,
                    },
                };
            }
            case "gcp:container/cluster:Cluster":
                return {
                    id: `projects/p/locations/${inputs.location}/clusters/${inputs.name}`,
                    state: {
                        ...inputs,
                        endpoint: "203.0.113.10",
                        masterAuth: { clusterCaCertificate: "Q0EK" },
                        masterVersion: `${inputs.minMasterVersion}.6-gke.1500`,
                    },
                };
            case "gcp:container/nodePool:NodePool":
                return { id: `${inputs.location}/${inputs.cluster}/${inputs.name}`, state: { ...inputs } };
            case "aws:iam/role:Role":
                return {
                    id: args.name,
                    state: { ...inputs, name: args.name, arn: `arn:aws:iam::123456789012:role/${args.name}` },
                };
            case "command:local:Command":
            case "command:remote:Command":
                return { id: args.name, state: { ...inputs, stdout: "", stderr: "" } };
            case "kubernetes:core/v1:Secret":
                // Cluster API's copy of the workload cluster's kubeconfig (read with Secret.get).
                return { id: String(args.id ?? args.name), state: { data: { value: fakeKubeconfig } } };
            default:
                return { id: args.custom ? `${args.name}-id` : "", state: inputs };
        }
    }

    function invoked(args: pulumi.runtime.MockCallArgs): Record<string, unknown> {
        if (args.token === "linode:index/getLkeCluster:getLkeCluster") {
            return {
                id: args.inputs.id,
                kubeconfig: fakeKubeconfig,
                k8sVersion: request.liveVersions?.[String(args.inputs.id)] ?? "",
                pools: [],
            };
        }
        if (args.token === "aws:eks/getAddonVersion:getAddonVersion") {
            return {
                addonName: args.inputs.addonName,
                kubernetesVersion: args.inputs.kubernetesVersion,
                version:
                    request.addonCatalog?.[`${args.inputs.addonName}@${args.inputs.kubernetesVersion}`] ??
                    `${args.inputs.addonName}-compatible-with-${args.inputs.kubernetesVersion}`,
            };
        }
        if (args.token === "aws:ec2/getAmi:getAmi") {
            const wanted =
                ((args.inputs.filters ?? []) as Array<{ name: string; values: string[] }>).find(
                    (f) => f.name === "tag:kubernetes_version",
                )?.values ?? [];
            const id = wanted.map((v) => request.amiCatalog?.[v.replace(/^v/, "")]).find((x) => x);
            if (!id)
                throw new Error("Your query returned no results. Please change your search criteria and try again.");
            return {
                id,
                imageId: id,
                name: `capi-image-${wanted[0]}`,
                tags: { kubernetes_version: wanted[0] },
            };
        }
        if (args.token === "gcp:container/getEngineVersions:getEngineVersions") {
            const everyMinor = Array.from({ length: 8 }, (_, i) => [
                `1.${37 - i}.6-gke.1500`,
                `1.${37 - i}.5-gke.1200`,
            ]).flat();
            const offer = request.gkeOffers?.[String(args.inputs.location)] ?? {
                validMasterVersions: everyMinor,
                validNodeVersions: everyMinor,
            };
            return { location: args.inputs.location, ...offer };
        }
        if (args.token === "gcp:container/getCluster:getCluster") {
            return {
                name: args.inputs.name,
                endpoint: "203.0.113.10",
                masterAuths: [{ clusterCaCertificate: "Q0EK" }],
                masterVersion: request.liveVersions?.[String(args.inputs.name)] ?? "",
            };
        }
        if (args.token === "azure-native:containerservice:listManagedClusterUserCredentials")
            return { kubeconfigs: [{ name: "clusterUser", value: fakeKubeconfig }] };
        if (args.token === "azure-native:resources:getResource" && args.inputs.resourceType === "upgradeProfiles") {
            const cluster = String(args.inputs.parentResourcePath).split("/").pop() ?? "";
            const offered = request.aksUpgrades?.[cluster];
            return {
                id: `${args.inputs.parentResourcePath}/upgradeProfiles/default`,
                name: "default",
                properties: {
                    controlPlaneProfile: {
                        kubernetesVersion: request.liveVersions?.[cluster] ?? "",
                        // Offline, every minor is offered: only a real preview can refuse one.
                        upgrades: (offered ?? Array.from({ length: 17 }, (_, i) => `1.${24 + i}.0`)).map(
                            (kubernetesVersion) => ({ kubernetesVersion }),
                        ),
                    },
                },
            };
        }
        if (args.token === "aws:eks/getCluster:getCluster") {
            return {
                name: args.inputs.name,
                endpoint: `https://${args.inputs.name}.eks.example`,
                certificateAuthorities: [{ data: "Q0EK" }],
                version: request.liveVersions?.[String(args.inputs.name)] ?? "",
            };
        }
        return {};
    }

    // The monitor is the SDK's untyped gRPC client: its request and response messages are read through their getters.
    // biome-ignore-start lint/suspicious/noExplicitAny: untyped gRPC messages
    const monitor = pulumi.runtime.getMonitor() as any;
    const register = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req: any, callback: (err: unknown, resp: any) => void) => {
        register(req, (err: unknown, resp: any) => {
            if (!err && resp) {
                const secretPaths: string[] = [];
                const propertyDependencies: Record<string, string[]> = {};
                req.getPropertydependenciesMap().forEach((deps: any, key: string) => {
                    propertyDependencies[key] = deps.getUrnsList();
                });
                resources.push({
                    urn: resp.getUrn(),
                    type: req.getType(),
                    name: req.getName(),
                    parent: req.getParent() || undefined,
                    custom: req.getCustom(),
                    dependencies: req.getDependenciesList(),
                    propertyDependencies,
                    deletedWith: req.getDeletedwith() || undefined,
                    importId: req.getImportid() || undefined,
                    id: resp.getId() || undefined,
                    ignoreChanges: req.getIgnorechangesList(),
                    inputs: decode(req.getObject()?.toJavaScript() ?? {}, "", secretPaths) as Record<string, unknown>,
                    outputs: decode(resp.getObject()?.toJavaScript() ?? {}, "", []) as Record<string, unknown>,
                    secretPaths,
                });
            }
            callback(err, resp);
        });
    };
    const registerOutputs = monitor.registerResourceOutputs.bind(monitor);
    monitor.registerResourceOutputs = (req: any, callback: (err: unknown, resp: any) => void) => {
        const urn: string = req.getUrn();
        if (urn.includes("::pulumi:pulumi:Stack::")) {
            const secretPaths: string[] = [];
            capture.stackOutputs = decode(req.getOutputs()?.toJavaScript() ?? {}, "", secretPaths) as Record<
                string,
                unknown
            >;
            capture.stackOutputSecretPaths = secretPaths;
        }
        registerOutputs(req, callback);
    };
    // biome-ignore-end lint/suspicious/noExplicitAny: untyped gRPC messages

    try {
        // Another program (a test fixture written the way a user writes one) when the request names it.
        const { main } = (await import(request.program ?? "../components/program")) as {
            main: () => Promise<Record<string, unknown> | undefined> | Record<string, unknown> | undefined;
        };
        await pulumi.runtime.runInPulumiStack(async () => main());
        await pulumi.runtime.disconnect();
    } catch (err) {
        const e = err as Error & { message: string };
        capture.error = e?.message ?? String(err);
    }
    return capture;
}

/**
 * Pulumi's SDK wraps every promise it makes for a resource in debuggablePromise, which stores `new Error().stack`
 * on it for its leak report (@pulumi/pulumi runtime/debuggable.js): thousands of formatted stack traces per
 * fleet, each mapped back through tsx's source maps when run from source. Nothing here reads them: the capture
 * keeps error messages only. With no frames to capture the SDK's calls are cheap; source positions of resources
 * are unaffected, as Resource.callsites lifts the limit while it reads its own trace (@pulumi/pulumi resource.js).
 * K8SU_CAPTURE_FROM_SOURCE=1 keeps every trace, for debugging the program.
 */
function dropStackTraces(): void {
    if (process.env.K8SU_CAPTURE_FROM_SOURCE === "1") return;
    Error.stackTraceLimit = 0;
    process.setSourceMapsEnabled(false);
}

async function cli(): Promise<void> {
    dropStackTraces();
    const [requestFile, resultFile] = process.argv.slice(2);
    const request = JSON.parse(fs.readFileSync(requestFile, "utf8")) as CaptureRequest;
    const result = await run(request);
    fs.writeFileSync(resultFile, JSON.stringify(result, null, 2));
}

if (require.main === module) {
    // Unhandled rejections from resources whose program failed must not mask the recorded error.
    process.on("unhandledRejection", () => undefined);
    cli().then(
        () => process.exit(0),
        (err) => {
            console.error(err);
            process.exit(2);
        },
    );
}
