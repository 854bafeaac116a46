// The shapes passed to and from tools/capture.ts.

export interface CaptureRequest {
    /** The module whose `main` is the program; this project's own program when absent. */
    program?: string;
    project: string;
    stack: string;
    organization: string;
    /** PULUMI_CONFIG form: "namespace:key" → string (structured values JSON-encoded). */
    config: Record<string, string>;
    secretKeys: string[];
    /** Stack reference name ("organization/k8s-upgrades/dev") → that stack's outputs. */
    stackOutputs: Record<string, Record<string, unknown>>;
    /** LKE cluster id → the version the provider's data source reports. */
    liveVersions?: Record<string, string>;
    /** Kubernetes version → the AMI an image lookup finds (aws.ec2.getAmi by kubernetes_version tag). */
    amiCatalog?: Record<string, string>;
    /** "<add-on>@<minor>" → the version aws.eks.getAddonVersion reports as most recent. */
    addonCatalog?: Record<string, string>;
    /** GKE location → the versions gcp.container.getEngineVersions offers there; unlisted locations offer 1.30-1.37. */
    gkeOffers?: Record<string, { validMasterVersions: string[]; validNodeVersions: string[] }>;
    /**
     * AKS cluster name → the versions its upgrade profile offers (controlPlaneProfile.upgrades). Unset: the target
     * minor is offered, as the offline plan cannot ask Azure.
     */
    aksUpgrades?: Record<string, string[]>;
    /** Resources whose registration fails, as a failed step does: what waits for them never resolves. */
    failResources?: string[];
    /** Import ID → what the provider reports for that existing resource (state returned when it is imported). */
    existing?: Record<string, Record<string, unknown>>;
    /** Resource name → the state an earlier deployment left (what the engine carries into this one). */
    carriedState?: Record<string, CarriedState>;
}

/** What the engine carries of a resource an earlier deployment left; `type`, when set, must match. */
export interface CarriedState {
    id: string;
    state: Record<string, unknown>;
    type?: string;
}

export interface CapturedResource {
    urn: string;
    type: string;
    name: string;
    parent?: string;
    custom: boolean;
    /** URNs this resource depends on (dependsOn and property dependencies, as sent to the engine). */
    dependencies: string[];
    propertyDependencies: Record<string, string[]>;
    deletedWith?: string;
    /** The ID given in the `import` option: the resource is adopted, not created. */
    importId?: string;
    /** The id the (mock) provider gave the resource. */
    id?: string;
    ignoreChanges: string[];
    /** The customTimeouts option, when given: how long the provider waits for each operation ("90m"). */
    customTimeouts?: { create?: string; update?: string; delete?: string };
    inputs: Record<string, unknown>;
    /** The state the (mock) provider returned: what CrossGuard's stack policies see. */
    outputs?: Record<string, unknown>;
    /** Paths of inputs that are Pulumi secrets. */
    secretPaths: string[];
}

export interface Capture {
    stack: string;
    resources: CapturedResource[];
    stackOutputs?: Record<string, unknown>;
    stackOutputSecretPaths: string[];
    /** Set when the program refused to run (config errors, refused upgrades). */
    error?: string;
    /** What the program printed (warnings, infos). */
    log?: string;
    /**
     * Values the mocks invented where a real lookup answers at deploy time (an add-on's newest build, GKE's
     * offered builds): a plan shows them as known at deploy time, never as versions.
     */
    standIns?: string[];
    /**
     * Identities the mocks gave resources this run creates (an LKE pool's id, an auto-named node group): a plan
     * shows them as "(new)".
     */
    newIds?: string[];
}
