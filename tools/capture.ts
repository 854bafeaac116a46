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

const FAKE_KUBECONFIG = Buffer.from("apiVersion: v1\nkind: Config\n# offline plan: no real cluster\n").toString(
    "base64",
);

/** What a mocked resource reports once created: its id and its state. */
interface Made {
    id: string | undefined;
    state: Record<string, unknown>;
}
type Inputs = Record<string, unknown>;
type MakeResource = (inputs: Inputs, args: pulumi.runtime.MockResourceArgs, request: CaptureRequest) => Made;
/** Answers a data source's call; `standIn` records each value it invented rather than read from the request. */
type AnswerCall = (
    inputs: Inputs,
    request: CaptureRequest,
    standIn: (value: string) => string,
) => Record<string, unknown>;

/** What each provider's resource reports once created, as far as the program reads it. */
const CREATED: Record<string, MakeResource> = {
    "pulumi:pulumi:StackReference": (inputs, _args, request) => ({
        id: String(inputs.name),
        state: { name: inputs.name, outputs: request.stackOutputs[String(inputs.name)] ?? {}, secretOutputNames: [] },
    }),
    "linode:index/lkeCluster:LkeCluster": (inputs, args) => {
        const pools = ((inputs.pools as Array<Record<string, unknown>> | undefined) ?? []).map((p, i) => ({
            ...p,
            id: Number(fakeNumericId(`${args.name}/${i}`)),
        }));
        return {
            id: fakeNumericId(args.name),
            state: { ...inputs, kubeconfig: FAKE_KUBECONFIG, pools, apiEndpoints: [], status: "ready" },
        };
    },
    "linode:index/lkeNodePool:LkeNodePool": (inputs, args) => ({
        id: fakeNumericId(args.name),
        state: { ...inputs, nodes: [] },
    }),
    "aws:eks/cluster:Cluster": (inputs, args) => {
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
    },
    "aws:eks/nodeGroup:NodeGroup": (inputs, args) => {
        const nodeGroupName = String(inputs.nodeGroupName ?? `${args.name}-${fakeNumericId(args.name)}`);
        return {
            id: `${inputs.clusterName}:${nodeGroupName}`,
            state: { ...inputs, nodeGroupName, arn: `arn:aws:eks:us-east-1:123456789012:nodegroup/${nodeGroupName}` },
        };
    },
    "gcp:container/cluster:Cluster": (inputs) => ({
        id: `projects/p/locations/${inputs.location}/clusters/${inputs.name}`,
        state: {
            ...inputs,
            endpoint: "203.0.113.10",
            masterAuth: { clusterCaCertificate: "Q0EK" },
            masterVersion: `${inputs.minMasterVersion}.6-gke.1500`,
        },
    }),
    "gcp:container/nodePool:NodePool": (inputs) => ({
        id: `${inputs.location}/${inputs.cluster}/${inputs.name}`,
        state: { ...inputs },
    }),
    "aws:iam/role:Role": (inputs, args) => ({
        id: args.name,
        state: { ...inputs, name: args.name, arn: `arn:aws:iam::123456789012:role/${args.name}` },
    }),
    "command:local:Command": (inputs, args) => ({ id: args.name, state: { ...inputs, stdout: "", stderr: "" } }),
    "command:remote:Command": (inputs, args) => ({ id: args.name, state: { ...inputs, stdout: "", stderr: "" } }),
    // Cluster API's copy of the workload cluster's kubeconfig (read with Secret.get).
    "kubernetes:core/v1:Secret": (_inputs, args) => ({
        id: String(args.id ?? args.name),
        state: { data: { value: FAKE_KUBECONFIG } },
    }),
};

function created(request: CaptureRequest, args: pulumi.runtime.MockResourceArgs): Made {
    if (request.failResources?.includes(args.name)) throw new Error(`${args.name} failed (injected)`);
    const inputs = args.inputs as Inputs;
    const make = CREATED[args.type];
    return make ? make(inputs, args, request) : { id: args.custom ? `${args.name}-id` : "", state: inputs };
}

/** What the stack's previous record says an AKS cluster runs, found by its name in Azure; "" when none does. */
function recordedAksVersion(request: CaptureRequest, azureName: string): string {
    const own = request.stackOutputs[`${request.organization}/${request.project}/${request.stack}`] as
        | {
              k8sUpgrades?: {
                  clusters?: Record<string, { clusterId?: unknown; name?: unknown; controlPlaneVersion?: unknown }>;
              };
          }
        | undefined;
    const clusters = Object.values(own?.k8sUpgrades?.clusters ?? {});
    const found =
        clusters.find((c) => String(c.clusterId ?? "").endsWith(`/managedClusters/${azureName}`)) ??
        clusters.find((c) => c.name === azureName);
    return typeof found?.controlPlaneVersion === "string" ? found.controlPlaneVersion : "";
}

/**
 * An AKS upgrade profile: offline, every minor is offered unless the request lists the offer (only a real preview
 * can refuse one), and the control plane runs what the request says is live, else what the stack's record says.
 */
const aksUpgradeProfile: AnswerCall = (inputs, request) => {
    const cluster = String(inputs.parentResourcePath).split("/").pop() ?? "";
    const offered = request.aksUpgrades?.[cluster] ?? Array.from({ length: 17 }, (_, i) => `1.${24 + i}.0`);
    return {
        id: `${inputs.parentResourcePath}/upgradeProfiles/default`,
        name: "default",
        properties: {
            controlPlaneProfile: {
                kubernetesVersion: request.liveVersions?.[cluster] ?? recordedAksVersion(request, cluster),
                upgrades: offered.map((kubernetesVersion) => ({ kubernetesVersion })),
            },
        },
    };
};

/** Cluster API images by their kubernetes_version tag; none found is the provider's own error. */
const capiImage: AnswerCall = (inputs, request) => {
    const wanted =
        ((inputs.filters ?? []) as Array<{ name: string; values: string[] }>).find(
            (f) => f.name === "tag:kubernetes_version",
        )?.values ?? [];
    const id = wanted.map((v) => request.amiCatalog?.[v.replace(/^v/, "")]).find((x) => x);
    if (!id) throw new Error("Your query returned no results. Please change your search criteria and try again.");
    return { id, imageId: id, name: `capi-image-${wanted[0]}`, tags: { kubernetes_version: wanted[0] } };
};

/** GKE's offered versions: two patches of each of eight minors unless the request lists the location's offer. */
const gkeEngineVersions: AnswerCall = (inputs, request, standIn) => {
    const everyMinor = () =>
        Array.from({ length: 8 }, (_, i) => [`1.${37 - i}.6-gke.1500`, `1.${37 - i}.5-gke.1200`])
            .flat()
            .map(standIn);
    const offer = request.gkeOffers?.[String(inputs.location)] ?? {
        validMasterVersions: everyMinor(),
        validNodeVersions: everyMinor(),
    };
    return { location: inputs.location, ...offer };
};

/** What each provider's data source answers, as far as the program reads it. */
const INVOKED: Record<string, AnswerCall> = {
    "linode:index/getLkeCluster:getLkeCluster": (inputs, request) => ({
        id: inputs.id,
        kubeconfig: FAKE_KUBECONFIG,
        k8sVersion: request.liveVersions?.[String(inputs.id)] ?? "",
        pools: [],
    }),
    "aws:eks/getAddonVersion:getAddonVersion": (inputs, request, standIn) => ({
        addonName: inputs.addonName,
        kubernetesVersion: inputs.kubernetesVersion,
        version:
            request.addonCatalog?.[`${inputs.addonName}@${inputs.kubernetesVersion}`] ??
            standIn(`${inputs.addonName}-compatible-with-${inputs.kubernetesVersion}`),
    }),
    "aws:ec2/getAmi:getAmi": capiImage,
    "gcp:container/getEngineVersions:getEngineVersions": gkeEngineVersions,
    "gcp:container/getCluster:getCluster": (inputs, request) => ({
        name: inputs.name,
        endpoint: "203.0.113.10",
        masterAuths: [{ clusterCaCertificate: "Q0EK" }],
        masterVersion: request.liveVersions?.[String(inputs.name)] ?? "",
    }),
    "azure-native:containerservice:listManagedClusterUserCredentials": () => ({
        kubeconfigs: [{ name: "clusterUser", value: FAKE_KUBECONFIG }],
    }),
    "azure-native:resources:getResource": (inputs, request, standIn) =>
        inputs.resourceType === "upgradeProfiles" ? aksUpgradeProfile(inputs, request, standIn) : {},
    "aws:eks/getCluster:getCluster": (inputs, request) => ({
        name: inputs.name,
        endpoint: `https://${inputs.name}.eks.example`,
        certificateAuthorities: [{ data: "Q0EK" }],
        version: request.liveVersions?.[String(inputs.name)] ?? "",
    }),
};

function invoked(
    request: CaptureRequest,
    args: pulumi.runtime.MockCallArgs,
    standIns: Set<string>,
): Record<string, unknown> {
    const answer = INVOKED[args.token];
    const standIn = (value: string) => {
        standIns.add(value);
        return value;
    };
    return answer ? answer(args.inputs as Inputs, request, standIn) : {};
}

/**
 * The id a provider gives a resource it imported, from the import ID, where the two differ: terraform-provider-linode's
 * lkenodepool importer takes `<cluster_id>,<pool_id>` and keeps the pool id; an ID of another form fails the import.
 */
const IMPORTED_ID: Record<string, (importId: string) => string> = {
    "linode:index/lkeNodePool:LkeNodePool": (importId) => {
        const m = /^(\d+),(\d+)$/.exec(importId);
        if (!m) throw new Error(`Unexpected import ID format ("${importId}"), expected "cluster_id,id"`);
        return m[2];
    },
};

/**
 * The identities a cloud gives a resource only when it creates it: an LKE cluster's and pool's numeric ids, the
 * name an EKS node group gets when the program leaves it to Pulumi's auto-naming. The mocks invent them; for a
 * resource this run creates, a plan shows them as "(new)", never as an id some other stack may hold.
 */
const INVENTED_IDENTITY: Record<string, (made: Made, inputs: Inputs) => unknown[]> = {
    "linode:index/lkeCluster:LkeCluster": (made) => [made.id, ...lkeInlinePoolIds(made)],
    "linode:index/lkeNodePool:LkeNodePool": (made) => [made.id],
    "aws:eks/nodeGroup:NodeGroup": (made, inputs) =>
        inputs.nodeGroupName === undefined ? [made.state.nodeGroupName] : [],
};

/** The ids the mock gave an LKE cluster's inline pools (the anchor pool). */
function lkeInlinePoolIds(made: Made): string[] {
    return ((made.state.pools as Array<{ id?: unknown }> | undefined) ?? []).map((p) => String(p.id));
}

/** The mocks: created resources, imported ones as the cloud reports them, and those an earlier deployment left. */
function mocksFor(request: CaptureRequest, standIns: Set<string>, newIds: Set<string>): pulumi.runtime.Mocks {
    return {
        newResource(args) {
            const made = created(request, args);
            // An imported resource: the engine reads it, so its state is what the cloud reports (request.existing).
            if (args.id) {
                const existing = request.existing?.[args.id];
                const id = IMPORTED_ID[args.type]?.(args.id) ?? args.id;
                return existing ? { id, state: { ...made.state, ...existing } } : made;
            }
            // A resource an earlier deployment left: the engine carries its id and state into this one.
            const carried = request.carriedState?.[args.name];
            if (carried && (carried.type === undefined || carried.type === args.type)) {
                // A running LKE cluster's inline pools keep ids the record does not hold: known at deploy time.
                if (args.type === "linode:index/lkeCluster:LkeCluster")
                    for (const id of lkeInlinePoolIds(made)) standIns.add(id);
                return { id: carried.id, state: { ...made.state, ...carried.state } };
            }
            for (const id of INVENTED_IDENTITY[args.type]?.(made, args.inputs as Inputs) ?? [])
                if (typeof id === "string" && id !== "") newIds.add(id);
            return made;
        },
        call(args) {
            return invoked(request, args, standIns);
        },
    };
}

// The monitor is the SDK's untyped gRPC client: its request and response messages are read through their getters.
// biome-ignore-start lint/suspicious/noExplicitAny: untyped gRPC messages
function recordResource(req: any, resp: any): CapturedResource {
    const secretPaths: string[] = [];
    const propertyDependencies: Record<string, string[]> = {};
    req.getPropertydependenciesMap().forEach((deps: any, key: string) => {
        propertyDependencies[key] = deps.getUrnsList();
    });
    return {
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
        customTimeouts: (() => {
            const t = req.getCustomtimeouts();
            const all = {
                create: t?.getCreate() || undefined,
                update: t?.getUpdate() || undefined,
                delete: t?.getDelete() || undefined,
            };
            return Object.values(all).some((v) => v !== undefined) ? all : undefined;
        })(),
        inputs: decode(req.getObject()?.toJavaScript() ?? {}, "", secretPaths) as Record<string, unknown>,
        outputs: decode(resp.getObject()?.toJavaScript() ?? {}, "", []) as Record<string, unknown>,
        secretPaths,
    };
}

/** Wraps the mock monitor so that every registered resource, and the stack's outputs, land in the capture. */
function recordRegistrations(capture: Capture): void {
    const monitor = pulumi.runtime.getMonitor() as any;
    const register = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req: any, callback: (err: unknown, resp: any) => void) => {
        register(req, (err: unknown, resp: any) => {
            if (!err && resp) capture.resources.push(recordResource(req, resp));
            callback(err, resp);
        });
    };
    const registerOutputs = monitor.registerResourceOutputs.bind(monitor);
    monitor.registerResourceOutputs = (req: any, callback: (err: unknown, resp: any) => void) => {
        const urn: string = req.getUrn();
        if (urn.includes("::pulumi:pulumi:Stack::")) {
            const secretPaths: string[] = [];
            const outputs = decode(req.getOutputs()?.toJavaScript() ?? {}, "", secretPaths);
            capture.stackOutputs = outputs as Record<string, unknown>;
            capture.stackOutputSecretPaths = secretPaths;
        }
        registerOutputs(req, callback);
    };
}
// biome-ignore-end lint/suspicious/noExplicitAny: untyped gRPC messages

async function run(request: CaptureRequest): Promise<Capture> {
    const capture: Capture = {
        stack: request.stack,
        resources: [],
        stackOutputs: undefined,
        stackOutputSecretPaths: [],
    };
    const standIns = new Set<string>();
    const newIds = new Set<string>();
    pulumi.runtime.setAllConfig(request.config, request.secretKeys);
    await pulumi.runtime.setMocks(
        mocksFor(request, standIns, newIds),
        request.project,
        request.stack,
        false,
        request.organization,
    );
    recordRegistrations(capture);
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
    if (standIns.size > 0) capture.standIns = [...standIns].sort();
    if (newIds.size > 0) capture.newIds = [...newIds].sort();
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

/**
 * The capture as JSON, written a resource at a time: a fleet's capture as one string (and the buffer written from
 * it) would add its whole size to the child's peak memory. Compact, as only tools/harness.ts reads it.
 */
function writeCapture(file: string, capture: Capture): void {
    const { resources, ...rest } = capture;
    const fd = fs.openSync(file, "w");
    try {
        let chunk = `${JSON.stringify(rest).slice(0, -1)},"resources":[`;
        resources.forEach((r, i) => {
            chunk += `${i > 0 ? "," : ""}${JSON.stringify(r)}`;
            if (chunk.length < 1 << 20) return;
            fs.writeSync(fd, chunk);
            chunk = "";
        });
        fs.writeSync(fd, `${chunk}]}`);
    } finally {
        fs.closeSync(fd);
    }
}

async function cli(): Promise<void> {
    dropStackTraces();
    const [requestFile, resultFile] = process.argv.slice(2);
    const request = JSON.parse(fs.readFileSync(requestFile, "utf8")) as CaptureRequest;
    const result = await run(request);
    writeCapture(resultFile, result);
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
