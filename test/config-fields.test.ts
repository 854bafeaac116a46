// The field-level refusals of the stack config, one per field and kind of mistake: what each field allows, written
// out as the user reads it (stack, cluster, field, what was given, what is allowed, what to do next). Bounds are
// tried just outside (the value just inside is accepted by the fixtures or by the cases beside it).
import * as assert from "node:assert/strict";
import { test } from "node:test";
import { parseStackConfig } from "../components/config";
import { DEFAULT_DRAIN, quoteHint, rolloutOf, stackInput } from "../components/config/schema";
import { stackRefusal } from "./config-calls";
import { capi, eks, kubeadm, lke } from "./fixtures/bad-configs";

const F = 'Pulumi.dev.yaml: stack "dev"';

function aks(over: Record<string, unknown> = {}): Record<string, unknown> {
    return {
        name: "data",
        provider: "aks",
        kubernetesVersion: "1.33",
        aks: { location: "westeurope", resourceGroupName: "rg-data", ...over },
        nodePools: [{ name: "general", type: "Standard_D4s_v5", count: 3 }],
        workers: { strategy: "blue-green" },
    };
}
function gke(over: Record<string, unknown> = {}): Record<string, unknown> {
    return {
        name: "shop",
        provider: "gke",
        kubernetesVersion: "1.33",
        gke: { location: "europe-west4", nodeLocations: ["europe-west4-a", "europe-west4-b"], ...over },
        nodePools: [{ name: "web", type: "e2-standard-4", count: 6 }],
        workers: { strategy: "in-place" },
    };
}
function lkePool(over: Record<string, unknown>): Record<string, unknown> {
    return lke({ nodePools: [{ name: "web", count: 3, type: "g6-standard-4", ...over }] });
}
const blueGreen = (settings: Record<string, unknown>) =>
    gke({ upgradeSettings: { strategy: "BLUE_GREEN", ...settings } });
const times = <T>(n: number, f: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => f(i));

interface Case {
    name: string;
    raw: Record<string, unknown>;
    /** The refusal's lines without the leading "  - "; "…" stands for a long given value the message shortens. */
    expect: string[];
}

const CASES: Case[] = [
    // Node pools, labels and taints
    {
        name: "a node pool that is not a map",
        raw: { clusters: [lke({ nodePools: ["web"] })] },
        expect: [
            `${F}, cluster "apps", field clusters[0].nodePools[0]: given "web"; allowed: a map with name, count and type.`,
        ],
    },
    {
        name: "a machine type that is not a string",
        raw: { clusters: [lkePool({ type: 4 })] },
        expect: [
            `${F}, cluster "apps", field clusters[0].nodePools[0].type: given 4; allowed: a machine type such as g6-standard-4 (LKE), m6i.large (EKS, Cluster API on AWS), Standard_D4s_v5 (AKS) or e2-standard-4 (GKE).`,
        ],
    },
    {
        name: "taints that are not a list",
        raw: { clusters: [lkePool({ taints: "dedicated" })] },
        expect: [
            `${F}, cluster "apps", field clusters[0].nodePools[0].taints: given "dedicated"; allowed: a list of {key, value, effect}.`,
        ],
    },
    {
        name: "51 taints on one pool (at most 50)",
        raw: { clusters: [lkePool({ taints: times(51, (i) => ({ key: `k${i}`, effect: "NoSchedule" })) })] },
        expect: [
            `${F}, cluster "apps", field clusters[0].nodePools[0].taints: given [{"key":"k0","effect":"NoSchedule"},…; allowed: at most 50 taints.`,
        ],
    },
    {
        name: "a taint that is not a map",
        raw: { clusters: [lkePool({ taints: ["dedicated=db:NoSchedule"] })] },
        expect: [
            `${F}, cluster "apps", field clusters[0].nodePools[0].taints[0]: given "dedicated=db:NoSchedule"; allowed: a map with key, value and effect.`,
        ],
    },
    {
        name: "an autoscaler that is not a map",
        raw: { clusters: [lkePool({ autoscaler: 3 })] },
        expect: [
            `${F}, cluster "apps", field clusters[0].nodePools[0].autoscaler: given 3; allowed: a map with min and max.`,
        ],
    },
    {
        name: "pool labels written as a list",
        raw: { clusters: [lkePool({ labels: ["tier=web"] })] },
        expect: [
            `${F}, cluster "apps", field clusters[0].nodePools[0].labels: given ["tier=web"]; allowed: a map of label names to string values.`,
        ],
    },
    {
        name: "a cluster name of 25 characters (at most 24), with why it is short",
        raw: { clusters: [lke({ name: "a".repeat(25) })] },
        expect: [
            `${F}, cluster "${"a".repeat(25)}", field clusters[0].name: given "${"a".repeat(25)}"; allowed: lower-case letters, digits and '-', starting and ending with a letter or digit, at most 24 characters. It is used in resource names and cloud labels.`,
        ],
    },
    {
        name: "drain settings that are not a map",
        raw: { clusters: [lke({ workers: { strategy: "blue-green", drain: 5 } })] },
        expect: [`${F}, cluster "apps", field clusters[0].workers.drain: given 5; allowed: a map of drain settings.`],
    },
    {
        name: "a node pool list that is not a list, with why a pool is needed",
        raw: { clusters: [lke({ nodePools: "web" })] },
        expect: [
            `${F}, cluster "apps", field clusters[0].nodePools: given "web"; allowed: a non-empty list of node pools. Every cluster needs worker capacity to upgrade.`,
        ],
    },
    {
        name: "101 node pools (at most 100)",
        raw: {
            clusters: [lke({ nodePools: times(101, (i) => ({ name: `p${i}`, count: 1, type: "g6-standard-4" })) })],
        },
        expect: [
            `${F}, cluster "apps", field clusters[0].nodePools: given [{"name":"p0","count":1,"type":"g6-standard-4"},…; allowed: at most 100 node pools.`,
        ],
    },
    {
        name: "a cluster that is not a map",
        raw: { clusters: ["apps"] },
        expect: [
            `${F}, cluster "#0", field clusters[0]: given "apps"; allowed: a map with name, provider, kubernetesVersion, nodePools and workers.`,
        ],
    },
    // LKE
    {
        name: "LKE tags that are not a list",
        raw: { clusters: [lke({ lke: { region: "us-ord", tags: "team" } })] },
        expect: [`${F}, cluster "apps", field clusters[0].lke.tags: given "team"; allowed: a list of tags.`],
    },
    {
        name: "an LKE tag of 2 characters (at least 3)",
        raw: { clusters: [lke({ lke: { region: "us-ord", tags: ["ab"] } })] },
        expect: [
            `${F}, cluster "apps", field clusters[0].lke.tags[0]: given "ab"; allowed: a tag of 3 to 50 characters.`,
        ],
    },
    {
        name: "an anchor pool plan in capitals",
        raw: { clusters: [lke({ lke: { region: "us-ord", anchorPool: { type: "G6-STANDARD-1" } } })] },
        expect: [
            `${F}, cluster "apps", field clusters[0].lke.anchorPool.type: given "G6-STANDARD-1"; allowed: a Linode plan such as g6-standard-1.`,
        ],
    },
    {
        name: "an anchor pool that is not a map",
        raw: { clusters: [lke({ lke: { region: "us-ord", anchorPool: 1 } })] },
        expect: [
            `${F}, cluster "apps", field clusters[0].lke.anchorPool: given 1; allowed: a map with type and count.`,
        ],
    },
    {
        name: "an lke block that is only the region",
        raw: { clusters: [lke({ lke: "us-ord" })] },
        expect: [
            `${F}, cluster "apps", field clusters[0].lke: given "us-ord"; allowed: a map with at least region. LKE clusters need lke.region, e.g. "us-ord".`,
        ],
    },
    // EKS
    {
        name: "an EKS add-on version without the eksbuild suffix",
        raw: { clusters: [eks({ addonVersions: { coredns: "v1.11.3" } })] },
        expect: [
            `${F}, cluster "data", field clusters[0].eks.addonVersions.coredns: given "v1.11.3"; allowed: an add-on version such as "v1.19.0-eksbuild.1".`,
        ],
    },
    {
        name: "EKS add-on versions that are not a map",
        raw: { clusters: [eks({ addonVersions: "latest" })] },
        expect: [
            `${F}, cluster "data", field clusters[0].eks.addonVersions: given "latest"; allowed: a map of vpc-cni, coredns, kube-proxy to versions.`,
        ],
    },
    {
        name: "an empty AWS tag key (at least 1 character)",
        raw: { clusters: [eks({ tags: { "": "platform" } })] },
        expect: [
            `${F}, cluster "data", field clusters[0].eks.tags[""]: given ""; allowed: a tag key of 1 to 128 characters.`,
        ],
    },
    {
        name: "an AWS tag key of 129 characters (at most 128)",
        raw: { clusters: [eks({ tags: { ["k".repeat(129)]: "platform" } })] },
        expect: [
            `${F}, cluster "data", field clusters[0].eks.tags.${"k".repeat(129)}: given "${"k".repeat(129)}"; allowed: a tag key of 1 to 128 characters.`,
        ],
    },
    {
        name: "an AWS tag value that is a number",
        raw: { clusters: [eks({ tags: { cost: 5 } })] },
        expect: [
            `${F}, cluster "data", field clusters[0].eks.tags.cost: given 5; allowed: a tag value of at most 256 characters.`,
        ],
    },
    {
        name: "an AWS tag value of 257 characters (at most 256)",
        raw: { clusters: [eks({ tags: { team: "v".repeat(257) } })] },
        expect: [
            `${F}, cluster "data", field clusters[0].eks.tags.team: given "vvvv…; allowed: a tag value of at most 256 characters.`,
        ],
    },
    {
        name: "AWS tags written as a list",
        raw: { clusters: [eks({ tags: ["team=platform"] })] },
        expect: [
            `${F}, cluster "data", field clusters[0].eks.tags: given ["team=platform"]; allowed: a map of tag names to string values.`,
        ],
    },
    {
        name: "subnet ids that are not a list",
        raw: { clusters: [eks({ subnetIds: "subnet-0a1b2c3d4e5f60001" })] },
        expect: [
            `${F}, cluster "data", field clusters[0].eks.subnetIds: given "subnet-0a1b2c3d4e5f60001"; allowed: a list of at least 2 subnet ids.`,
        ],
    },
    {
        name: "17 subnet ids (at most 16)",
        raw: {
            clusters: [eks({ subnetIds: times(17, (i) => `subnet-0a1b2c3d4e5f600${String(i).padStart(2, "0")}`) })],
        },
        expect: [
            `${F}, cluster "data", field clusters[0].eks.subnetIds: given ["subnet-0a1b2c3d4e5f60000",…; allowed: at most 16 subnet ids.`,
        ],
    },
    {
        name: "a malformed security group id",
        raw: { clusters: [eks({ securityGroupIds: ["sg-web"] })] },
        expect: [
            `${F}, cluster "data", field clusters[0].eks.securityGroupIds[0]: given "sg-web"; allowed: security group ids such as sg-0a1b2c3d4e5f60001.`,
        ],
    },
    {
        name: "security group ids that are not a list",
        raw: { clusters: [eks({ securityGroupIds: "sg-0a1b2c3d4e5f60001" })] },
        expect: [
            `${F}, cluster "data", field clusters[0].eks.securityGroupIds: given "sg-0a1b2c3d4e5f60001"; allowed: a list of security group ids.`,
        ],
    },
    {
        name: "6 security group ids (at most 5)",
        raw: { clusters: [eks({ securityGroupIds: times(6, (i) => `sg-0a1b2c3d4e5f6000${i}`) })] },
        expect: [
            `${F}, cluster "data", field clusters[0].eks.securityGroupIds: given ["sg-0a1b2c3d4e5f60000",…; allowed: at most 5 security group ids.`,
        ],
    },
    {
        name: "an eks block that is not a map, with where EKS clusters live",
        raw: { clusters: [{ ...eks(), eks: "subnet-0a1b2c3d4e5f60001" }] },
        expect: [
            `${F}, cluster "data", field clusters[0].eks: given "subnet-0a1b2c3d4e5f60001"; allowed: a map with at least subnetIds. EKS clusters live in existing subnets: list at least two, in different availability zones.`,
        ],
    },
    // kubeadm
    {
        name: "a control plane node written as its name only",
        raw: { clusters: [kubeadm({ controlPlaneNodes: ["cp-1"] })] },
        expect: [
            `${F}, cluster "metal", field clusters[0].kubeadm.controlPlaneNodes[0]: given "cp-1"; allowed: a map with name (as in kubectl get nodes) and host (for SSH).`,
        ],
    },
    {
        name: "control plane nodes that are not a list",
        raw: { clusters: [kubeadm({ controlPlaneNodes: "cp-1" })] },
        expect: [
            `${F}, cluster "metal", field clusters[0].kubeadm.controlPlaneNodes: given "cp-1"; allowed: a list of at least 1 {name, host}.`,
        ],
    },
    {
        name: "no control plane node (at least 1)",
        raw: { clusters: [kubeadm({ controlPlaneNodes: [] })] },
        expect: [
            `${F}, cluster "metal", field clusters[0].kubeadm.controlPlaneNodes: given []; allowed: a list of at least 1 {name, host}.`,
        ],
    },
    {
        name: "10 control plane nodes (at most 9)",
        raw: {
            clusters: [
                kubeadm({ controlPlaneNodes: times(10, (i) => ({ name: `cp-${i}`, host: `10.0.0.${i + 1}` })) }),
            ],
        },
        expect: [
            `${F}, cluster "metal", field clusters[0].kubeadm.controlPlaneNodes: given [{"name":"cp-0","host":"10.0.0.1"},…; allowed: at most 9 control plane nodes.`,
        ],
    },
    {
        name: "worker nodes that are not a list",
        raw: { clusters: [kubeadm({ workerNodes: "worker-1" })] },
        expect: [
            `${F}, cluster "metal", field clusters[0].kubeadm.workerNodes: given "worker-1"; allowed: a list of {name, host, pool}.`,
        ],
    },
    {
        name: "an SSH user with a capital letter",
        raw: { clusters: [kubeadm({ ssh: { user: "Ops" } })] },
        expect: [
            `${F}, cluster "metal", field clusters[0].kubeadm.ssh.user: given "Ops"; allowed: a user name (lower-case letters, digits, '_' and '-').`,
        ],
    },
    {
        name: "an SSH key secret name with a space (not shown: it sits beside a secret)",
        raw: { clusters: [kubeadm({ ssh: { user: "ops", privateKeySecret: "ssh key" } })] },
        expect: [
            `${F}, cluster "metal", field clusters[0].kubeadm.ssh.privateKeySecret: given <redacted>; allowed: a config key name such as sshPrivateKey (letters, digits, '-', '_').`,
        ],
    },
    {
        name: "ssh written as the user name only",
        raw: { clusters: [kubeadm({ ssh: "ops" })] },
        expect: [
            `${F}, cluster "metal", field clusters[0].kubeadm.ssh: given "ops"; allowed: a map with user, and optionally port and privateKeySecret.`,
        ],
    },
    {
        name: "a CNI upgrade command that is not a string",
        raw: { clusters: [kubeadm({ cniUpgradeCommand: 5 })] },
        expect: [
            `${F}, cluster "metal", field clusters[0].kubeadm.cniUpgradeCommand: given 5; allowed: a shell command.`,
        ],
    },
    {
        name: "an empty CNI upgrade command",
        raw: { clusters: [kubeadm({ cniUpgradeCommand: "" })] },
        expect: [
            `${F}, cluster "metal", field clusters[0].kubeadm.cniUpgradeCommand: given ""; allowed: a shell command.`,
        ],
    },
    {
        name: "a relative etcd snapshot directory",
        raw: { clusters: [kubeadm({ etcd: { snapshotDir: "backups/etcd" } })] },
        expect: [
            `${F}, cluster "metal", field clusters[0].kubeadm.etcd.snapshotDir: given "backups/etcd"; allowed: an absolute path on the first control plane node.`,
        ],
    },
    {
        name: "etcd settings that are not a map",
        raw: { clusters: [kubeadm({ etcd: "external" })] },
        expect: [
            `${F}, cluster "metal", field clusters[0].kubeadm.etcd: given "external"; allowed: a map with external and snapshotDir.`,
        ],
    },
    {
        name: "a kubeadm block that is not a map",
        raw: { clusters: [{ ...kubeadm(), kubeadm: "cp-1" }] },
        expect: [
            `${F}, cluster "metal", field clusters[0].kubeadm: given "cp-1"; allowed: a map with controlPlaneNodes, workerNodes, ssh and packageManager.`,
        ],
    },
    // Cluster API on AWS
    {
        name: "a Cluster API namespace in capitals",
        raw: { clusters: [capi({ namespace: "Default" })] },
        expect: [
            `${F}, cluster "fleet", field clusters[0].capi-aws.namespace: given "Default"; allowed: a Kubernetes namespace (DNS-1123 label).`,
        ],
    },
    {
        name: "a control plane surge of 2 (KubeadmControlPlane takes 0 or 1)",
        raw: { clusters: [capi({}, { maxSurge: 2 })] },
        expect: [
            `${F}, cluster "fleet", field clusters[0].capi-aws.controlPlane.maxSurge: given 2; allowed: a whole number from 0 to 1. KubeadmControlPlane rolls one machine at a time.`,
        ],
    },
    {
        name: "a control plane written as the instance type only",
        raw: { clusters: [capi({ controlPlane: "m6i.large" })] },
        expect: [
            `${F}, cluster "fleet", field clusters[0].capi-aws.controlPlane: given "m6i.large"; allowed: a map with instanceType, and optionally name, replicas and maxSurge.`,
        ],
    },
    {
        name: "an AMI keyed by a minor version instead of a patch version",
        raw: { clusters: [capi({ amis: { "1.31": "ami-0123456789abcdef0" } })] },
        expect: [
            `${F}, cluster "fleet", field clusters[0].capi-aws.amis["1.31"]: given "1.31"; allowed: full patch versions as keys, e.g. "1.31.4".`,
        ],
    },
    {
        name: "a malformed AMI id",
        raw: { clusters: [capi({ amis: { "1.31.4": "ami-ubuntu" } })] },
        expect: [
            `${F}, cluster "fleet", field clusters[0].capi-aws.amis["1.31.4"]: given "ami-ubuntu"; allowed: an AMI id such as ami-0123456789abcdef0.`,
        ],
    },
    {
        name: "AMIs written as a list",
        raw: { clusters: [capi({ amis: ["ami-0123456789abcdef0"] })] },
        expect: [
            `${F}, cluster "fleet", field clusters[0].capi-aws.amis: given ["ami-0123456789abcdef0"]; allowed: a map of Kubernetes versions to AMI ids.`,
        ],
    },
    {
        name: "an AMI owner that is no account id, self or amazon",
        raw: { clusters: [capi({ amiLookup: { owners: ["me"] } })] },
        expect: [
            `${F}, cluster "fleet", field clusters[0].capi-aws.amiLookup.owners[0]: given "me"; allowed: AWS account ids (12 digits), self or amazon.`,
        ],
    },
    {
        name: "no AMI owner (at least 1)",
        raw: { clusters: [capi({ amiLookup: { owners: [] } })] },
        expect: [
            `${F}, cluster "fleet", field clusters[0].capi-aws.amiLookup.owners: given []; allowed: a list of at least 1 owner.`,
        ],
    },
    {
        name: "an AMI name pattern that is not a string",
        raw: { clusters: [capi({ amiLookup: { owners: ["self"], namePattern: 5 } })] },
        expect: [
            `${F}, cluster "fleet", field clusters[0].capi-aws.amiLookup.namePattern: given 5; allowed: an AMI name pattern.`,
        ],
    },
    {
        name: "an AMI lookup that is not a map",
        raw: { clusters: [capi({ amiLookup: "self" })] },
        expect: [
            `${F}, cluster "fleet", field clusters[0].capi-aws.amiLookup: given "self"; allowed: a map with owners and optionally namePattern.`,
        ],
    },
    {
        name: "a worker instance profile with a space",
        raw: { clusters: [capi({ iamInstanceProfile: "my nodes" })] },
        expect: [
            `${F}, cluster "fleet", field clusters[0].capi-aws.iamInstanceProfile: given "my nodes"; allowed: an IAM instance profile name.`,
        ],
    },
    {
        name: "a control plane instance profile with a space",
        raw: { clusters: [capi({ controlPlaneIamInstanceProfile: "my nodes" })] },
        expect: [
            `${F}, cluster "fleet", field clusters[0].capi-aws.controlPlaneIamInstanceProfile: given "my nodes"; allowed: an IAM instance profile name.`,
        ],
    },
    {
        name: "an EC2 key pair name with a space",
        raw: { clusters: [capi({ sshKeyName: "ops key" })] },
        expect: [
            `${F}, cluster "fleet", field clusters[0].capi-aws.sshKeyName: given "ops key"; allowed: an EC2 key pair name.`,
        ],
    },
    {
        name: "a capi-aws block that is not a map",
        raw: { clusters: [{ ...capi(), "capi-aws": "m6i.large" }] },
        expect: [
            `${F}, cluster "fleet", field clusters[0].capi-aws: given "m6i.large"; allowed: a map with at least controlPlane.instanceType, and amis or amiLookup.`,
        ],
    },
    // GKE
    {
        name: "a Google Cloud project id in capitals",
        raw: { clusters: [gke({ project: "Shop" })] },
        expect: [
            `${F}, cluster "shop", field clusters[0].gke.project: given "Shop"; allowed: a Google Cloud project id such as my-project-123.`,
        ],
    },
    {
        name: "a GKE location written as a display name, with where to look",
        raw: { clusters: [gke({ location: "Netherlands", nodeLocations: [] })] },
        expect: [
            `${F}, cluster "shop", field clusters[0].gke.location: given "Netherlands"; allowed: a region (us-central1: a regional cluster) or a zone (us-central1-a: a zonal cluster). gcloud compute regions list shows them.`,
            "…",
        ],
    },
    {
        name: "a node location that is a region, not a zone",
        raw: { clusters: [gke({ nodeLocations: ["europe-west4"] })] },
        expect: [
            `${F}, cluster "shop", field clusters[0].gke.nodeLocations[0]: given "europe-west4"; allowed: zones such as us-central1-a.`,
            "…",
        ],
    },
    {
        name: "node locations that are not a list",
        raw: { clusters: [gke({ nodeLocations: "europe-west4-a" })] },
        expect: [
            `${F}, cluster "shop", field clusters[0].gke.nodeLocations: given "europe-west4-a"; allowed: a list of zones.`,
        ],
    },
    {
        name: "11 node locations (at most 10)",
        raw: { clusters: [gke({ nodeLocations: times(11, (i) => `europe-west4-${"abcdefghijk"[i]}`) })] },
        expect: [
            `${F}, cluster "shop", field clusters[0].gke.nodeLocations: given ["europe-west4-a","europe-west4-b","europe-west4-c","europe-west4-d","europe-west4-e","europe-west4-f","europe-west4-g","europe-west4-h","europe-west4-i","europe-west4-j","europe-west4-k"]; allowed: at most 10 zones.`,
        ],
    },
    {
        name: "a VPC network with a space",
        raw: { clusters: [gke({ network: "my net" })] },
        expect: [
            `${F}, cluster "shop", field clusters[0].gke.network: given "my net"; allowed: a VPC network name or self link.`,
        ],
    },
    {
        name: "a subnetwork with a space",
        raw: { clusters: [gke({ subnetwork: "my subnet" })] },
        expect: [
            `${F}, cluster "shop", field clusters[0].gke.subnetwork: given "my subnet"; allowed: a subnetwork name or self link.`,
        ],
    },
    {
        name: "a service account that is no email",
        raw: { clusters: [gke({ serviceAccount: "nodes" })] },
        expect: [
            `${F}, cluster "shop", field clusters[0].gke.serviceAccount: given "nodes"; allowed: a service account email.`,
        ],
    },
    {
        name: "Google Cloud labels written as a list",
        raw: { clusters: [gke({ resourceLabels: ["team=shop"] })] },
        expect: [
            `${F}, cluster "shop", field clusters[0].gke.resourceLabels: given ["team=shop"]; allowed: a map of Google Cloud label names to values.`,
        ],
    },
    ...(["maxSurge", "maxUnavailable"] as const).flatMap((key) =>
        (
            [
                ["quoted", '"1"', "1"],
                ["a fraction", "1.5", 1.5],
                ["below 0", "-1", -1],
                ["above 20", "21", 21],
            ] as const
        ).map(([what, shown, value]) => ({
            name: `a GKE surge ${key} ${what} (a whole number from 0 to 20)`,
            raw: { clusters: [gke({ upgradeSettings: { maxSurge: 2, maxUnavailable: 0, [key]: value } })] },
            expect: [
                `${F}, cluster "shop", field clusters[0].gke.upgradeSettings.${key}: given ${shown}; allowed: a whole number from 0 to 20.`,
            ],
        })),
    ),
    ...(
        [
            ["written as a percentage", '"25%"', "25%"],
            ["of 0 (above 0)", "0", 0],
            ["of 1.01 (at most 1)", "1.01", 1.01],
        ] as const
    ).map(([what, shown, value]) => ({
        name: `a blue-green batch percentage ${what}`,
        raw: { clusters: [blueGreen({ blueGreenSettings: { standardRolloutPolicy: { batchPercentage: value } } })] },
        expect: [
            `${F}, cluster "shop", field clusters[0].gke.upgradeSettings.blueGreenSettings.standardRolloutPolicy.batchPercentage: given ${shown}; allowed: a fraction of the pool above 0 and at most 1, such as 0.25.`,
        ],
    })),
    {
        name: "a standard rollout policy that is not a map",
        raw: { clusters: [blueGreen({ blueGreenSettings: { standardRolloutPolicy: 1 } })] },
        expect: [
            `${F}, cluster "shop", field clusters[0].gke.upgradeSettings.blueGreenSettings.standardRolloutPolicy: given 1; allowed: a map with batchNodeCount or batchPercentage, and batchSoakDuration.`,
        ],
    },
    {
        name: "blue-green settings that are not a map",
        raw: { clusters: [blueGreen({ blueGreenSettings: 1 })] },
        expect: [
            `${F}, cluster "shop", field clusters[0].gke.upgradeSettings.blueGreenSettings: given 1; allowed: a map with standardRolloutPolicy and nodePoolSoakDuration.`,
        ],
    },
    {
        name: "a GKE soak written in hours",
        raw: {
            clusters: [
                blueGreen({
                    blueGreenSettings: { standardRolloutPolicy: { batchNodeCount: 1 }, nodePoolSoakDuration: "1h" },
                }),
            ],
        },
        expect: [
            `${F}, cluster "shop", field clusters[0].gke.upgradeSettings.blueGreenSettings.nodePoolSoakDuration: given "1h"; allowed: a duration in seconds such as "600s" (at most "604800s", 7 days).`,
        ],
    },
    {
        name: "GKE upgrade settings that are not a map",
        raw: { clusters: [gke({ upgradeSettings: "SURGE" })] },
        expect: [
            `${F}, cluster "shop", field clusters[0].gke.upgradeSettings: given "SURGE"; allowed: a map with strategy (SURGE or BLUE_GREEN) and its settings.`,
        ],
    },
    {
        name: "a gke block that is only the location",
        raw: { clusters: [{ ...gke(), gke: "europe-west4" }] },
        expect: [
            `${F}, cluster "shop", field clusters[0].gke: given "europe-west4"; allowed: a map with at least location. GKE clusters need gke.location, e.g. "us-central1".`,
        ],
    },
    // AKS
    {
        name: "an Azure location written as a display name, with where to look",
        raw: { clusters: [aks({ location: "West Europe" })] },
        expect: [
            `${F}, cluster "data", field clusters[0].aks.location: given "West Europe"; allowed: an Azure region such as westeurope or eastus2. az account list-locations shows them.`,
        ],
    },
    {
        name: "a resource group name with a space",
        raw: { clusters: [aks({ resourceGroupName: "rg data" })] },
        expect: [
            `${F}, cluster "data", field clusters[0].aks.resourceGroupName: given "rg data"; allowed: an existing resource group name (letters, digits, '-', '_', '.', '(', ')').`,
        ],
    },
    {
        name: "an AKS cluster name with a dot",
        raw: { clusters: [aks({ clusterName: "data.prod" })] },
        expect: [
            `${F}, cluster "data", field clusters[0].aks.clusterName: given "data.prod"; allowed: an AKS cluster name: letters, digits, '-' and '_', at most 63.`,
        ],
    },
    {
        name: "a DNS prefix with a dot",
        raw: { clusters: [aks({ dnsPrefix: "data.prod" })] },
        expect: [
            `${F}, cluster "data", field clusters[0].aks.dnsPrefix: given "data.prod"; allowed: a DNS prefix: letters, digits and '-', at most 54.`,
        ],
    },
    {
        name: "a system pool VM size with a space",
        raw: { clusters: [aks({ systemPool: { vmSize: "Standard D2s" } })] },
        expect: [
            `${F}, cluster "data", field clusters[0].aks.systemPool.vmSize: given "Standard D2s"; allowed: an Azure VM size such as Standard_D2s_v5.`,
        ],
    },
    {
        name: "a system pool that is not a map",
        raw: { clusters: [aks({ systemPool: 1 })] },
        expect: [
            `${F}, cluster "data", field clusters[0].aks.systemPool: given 1; allowed: a map with vmSize and count.`,
        ],
    },
    {
        name: "an AKS max surge written as a number, with what it does",
        raw: { clusters: [aks({ upgradeSettings: { maxSurge: 1 } })] },
        expect: [
            `${F}, cluster "data", field clusters[0].aks.upgradeSettings.maxSurge: given 1; allowed: a node count such as "1" or a percentage such as "33%", quoted. AKS adds this many nodes before it drains old ones.`,
        ],
    },
    {
        name: "AKS upgrade settings that are not a map",
        raw: { clusters: [aks({ upgradeSettings: "10%" })] },
        expect: [
            `${F}, cluster "data", field clusters[0].aks.upgradeSettings: given "10%"; allowed: a map of maxSurge, drainTimeoutInMinutes, nodeSoakDurationInMinutes and undrainableNodeBehavior.`,
        ],
    },
    {
        name: "an AKS auto-upgrade profile that is not a map",
        raw: { clusters: [aks({ autoUpgradeProfile: "none" })] },
        expect: [
            `${F}, cluster "data", field clusters[0].aks.autoUpgradeProfile: given "none"; allowed: a map with upgradeChannel and nodeOSUpgradeChannel.`,
        ],
    },
    {
        name: "an aks block that is not a map, with what AKS needs",
        raw: { clusters: [{ ...aks(), aks: "westeurope" }] },
        expect: [
            `${F}, cluster "data", field clusters[0].aks: given "westeurope"; allowed: a map with at least location and resourceGroupName. AKS clusters live in an existing resource group: give location and resourceGroupName.`,
        ],
    },
    // Adoption of running clusters
    {
        name: "an adopted cluster id starting with '-', with where to find it",
        raw: { clusters: [lke({ import: { cluster: "-12345" } })] },
        expect: [
            `${F}, cluster "apps", field clusters[0].import.cluster: given "-12345"; allowed: the provider's id of the cluster: the LKE cluster id (12345) or the EKS cluster name. linode-cli lke clusters-list or aws eks list-clusters shows it.`,
            "…",
        ],
    },
    {
        name: "an adopted pool id starting with '-'",
        raw: { clusters: [lke({ import: { cluster: "12345", pools: { web: "-67890" } } })] },
        expect: [
            `${F}, cluster "apps", field clusters[0].import.pools.web: given "-67890"; allowed: the provider's id of the pool: the LKE pool id (67890) or <cluster>:<node group> for EKS.`,
        ],
    },
    {
        name: "adopted pools written as a list",
        raw: { clusters: [lke({ import: { cluster: "12345", pools: ["67890"] } })] },
        expect: [
            `${F}, cluster "apps", field clusters[0].import.pools: given ["67890"]; allowed: a map of pool names (as in nodePools) to provider ids.`,
        ],
    },
    {
        name: "an import written as the cluster id only",
        raw: { clusters: [lke({ import: "12345" })] },
        expect: [
            `${F}, cluster "apps", field clusters[0].import: given "12345"; allowed: a map with cluster and pools. Write the IDs of what runs: import: { cluster: "12345", pools: { general: "67890" } }.`,
        ],
    },
    // Rollout and the stack's own keys
    {
        name: "a wave's clusters written as one name",
        raw: { clusters: [lke()], rollout: { waves: [{ clusters: "apps" }] } },
        expect: [`${F}, field rollout.waves[0].clusters: given "apps"; allowed: a list of cluster names.`],
    },
    {
        name: "a wave of 1001 cluster names (at most 1000)",
        raw: { clusters: [lke()], rollout: { waves: [{ clusters: times(1001, (i) => `c${i}`) }] } },
        expect: [`${F}, field rollout.waves[0].clusters: given ["c0","c1",…; allowed: at most 1000 clusters.`],
    },
    {
        name: "a wave written as a cluster name",
        raw: { clusters: [lke()], rollout: { waves: ["apps"] } },
        expect: [
            `${F}, field rollout.waves[0]: given "apps"; allowed: a map with clusters (names) and/or matchLabels (cluster labels).`,
        ],
    },
    {
        name: "waves that are not a list, with what a wave is for",
        raw: { clusters: [lke()], rollout: { waves: "apps" } },
        expect: [
            `${F}, field rollout.waves: given "apps"; allowed: an ordered list of waves. Each wave upgrades after the one before it passed.`,
        ],
    },
    {
        name: "no wave (at least 1)",
        raw: { clusters: [lke()], rollout: { waves: [] } },
        expect: [`${F}, field rollout.waves: given []; allowed: an ordered list of at least 1 wave.`, "…"],
    },
    {
        name: "101 waves (at most 100)",
        raw: { clusters: [lke()], rollout: { waves: times(101, () => ({ clusters: [] })) } },
        expect: [`${F}, field rollout.waves: given [{"clusters":[]},…; allowed: at most 100 waves.`],
    },
    {
        name: "at most 0 clusters at once (at least 1), with what the setting does",
        raw: { clusters: [lke()], rollout: { waves: [{ clusters: ["apps"] }], maxConcurrentClusters: 0 } },
        expect: [
            `${F}, field rollout.maxConcurrentClusters: given 0; allowed: a whole number from 1 to 1000. How many clusters of one wave upgrade at once.`,
        ],
    },
    {
        name: "a soak of 1441 minutes between waves (at most a day)",
        raw: { clusters: [lke()], rollout: { waves: [{ clusters: ["apps"] }], soakMinutes: 1441 } },
        expect: [
            `${F}, field rollout.soakMinutes: given 1441; allowed: a whole number from 0 to 1440. The hold between two waves, in minutes (at most a day).`,
        ],
    },
    {
        name: "a rollout that is not a map, with an example",
        raw: { clusters: [lke()], rollout: "canary-first" },
        expect: [
            `${F}, field k8s-upgrades:rollout: given "canary-first"; allowed: a map with waves, and optionally maxConcurrentClusters, soakMinutes and runTimeLimitMinutes. List the waves in order: - clusters: [canary] then - matchLabels: {tier: prod}.`,
        ],
    },
    {
        name: "a wave naming a cluster the stack does not have",
        raw: { clusters: [lke()], rollout: { waves: [{ clusters: ["apps", "shop"] }] } },
        expect: [
            `${F}, field rollout.waves[0].clusters[1]: given "shop"; allowed: the name of a cluster of this stack: apps. Fix the name, or add the cluster to clusters.`,
        ],
    },
    {
        name: "a cluster in two waves, naming the cluster rather than the whole wave",
        raw: { clusters: [lke()], rollout: { waves: [{ clusters: ["apps"] }, { clusters: ["apps"] }] } },
        expect: [
            `${F}, field rollout.waves[1]: given "apps"; allowed: each cluster in exactly one wave. Cluster apps is in wave 1 already; remove it from one of the two (names and labels both select).`,
        ],
    },
    {
        name: "promotesFrom that is not a string",
        raw: { clusters: [lke()], promotesFrom: 5 },
        expect: [`${F}, field k8s-upgrades:promotesFrom: given 5; allowed: a stack name.`],
    },
    {
        name: "promotesFrom of 101 characters (at most 100)",
        raw: { clusters: [lke()], promotesFrom: "s".repeat(101) },
        expect: [`${F}, field k8s-upgrades:promotesFrom: given "${"s".repeat(101)}"; allowed: a stack name.`],
    },
];

const refusal = (raw: Record<string, unknown>): string[] => stackRefusal(raw);

/** An expected line, where "…" stands for any text (a shortened given value, or further lines). */
function pattern(line: string): RegExp {
    const parts = line.split("…").map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
    return new RegExp(`^${parts.join(".*")}$`, "s");
}

test("every case of the table is named once", () => {
    assert.equal(new Set(CASES.map((c) => c.name)).size, CASES.length);
});

for (const c of CASES) {
    test(`refuses ${c.name}`, () => {
        const lines = refusal(c.raw);
        const open = c.expect.at(-1) === "…";
        const expected = open ? c.expect.slice(0, -1) : c.expect;
        if (open) assert.ok(lines.length >= expected.length, lines.join("\n"));
        else assert.equal(lines.length, expected.length, lines.join("\n"));
        for (const [i, e] of expected.entries()) assert.match(lines[i], pattern(e));
    });
}

test("the top-level schema says which keys a stack takes when given something that is not a map", () => {
    const parsed = stackInput.safeParse("clusters");
    assert.equal(parsed.success, false);
    assert.deepEqual(JSON.parse(parsed.error?.issues[0].message ?? "{}"), {
        allowed: "the keys clusters, promotesFrom, firstDeployment and rollout",
    });
});

test("a version YAML read as a number is quoted back as the user wrote it", () => {
    assert.equal(quoteHint(1.3), 'YAML read it as a number; quote it: "1.30".');
    assert.equal(quoteHint(11.5), 'YAML read it as a number; quote it: "11.50".');
    assert.equal(quoteHint(1.31), 'YAML read it as a number; quote it: "1.31".');
    assert.equal(quoteHint(131), 'YAML read it as a number; quote it: "131".');
    // Only a plain major.minor gets its lost trailing zero back.
    assert.equal(quoteHint(-1.3), 'YAML read it as a number; quote it: "-1.3".');
});

test("drain settings left out default to a 900 s timeout, one node at a time, a 30 s soak and no emptyDir loss", () => {
    assert.deepEqual(DEFAULT_DRAIN, { timeoutSeconds: 900, batchSize: 1, soakSeconds: 30, deleteEmptyDirData: false });
    const [cluster] = parseStackConfig("dev", { clusters: [lke()] }).clusters;
    assert.equal(cluster.workers.drain.timeoutSeconds, 900);
    assert.equal(cluster.workers.drain.batchSize, 1);
    assert.equal(cluster.workers.drain.soakSeconds, 30);
    assert.equal(cluster.workers.drain.deleteEmptyDirData, false);
    assert.equal(cluster.workers.drain.deleteEmptyDirDataExplicit, false);
});

test("a stack with a rollout gets its waves resolved; one without has none", () => {
    const withWaves = parseStackConfig("dev", {
        clusters: [lke(), { ...lke(), name: "shop" }],
        rollout: { waves: [{ name: "canary", clusters: ["apps"] }, { clusters: ["shop"] }], soakMinutes: 30 },
    });
    assert.deepEqual(withWaves.rollout, {
        waves: [
            { number: 1, name: "canary", clusters: ["apps"] },
            { number: 2, name: "wave 2", clusters: ["shop"] },
        ],
        maxConcurrentClusters: undefined,
        soakMinutes: 30,
    });
    assert.equal(parseStackConfig("dev", { clusters: [lke()] }).rollout, undefined);
    assert.equal(rolloutOf(withWaves.clusters, undefined), undefined);
});

test("resolving a rollout the schema did not check fails loudly with every problem", () => {
    const { clusters } = parseStackConfig("dev", { clusters: [lke()] });
    assert.throws(
        () => rolloutOf(clusters, { waves: [{ clusters: ["shop"] }], soakMinutes: 0 }),
        (err: Error) => {
            assert.equal(
                err.message,
                "rollout: the name of a cluster of this stack: apps; every cluster of the stack in one wave",
            );
            return true;
        },
    );
});
