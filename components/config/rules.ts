// The syntax Kubernetes and the clouds accept for names and values, and the bounds of every number.
// Shared by the schema (runtime and JSON Schema) and the messages, so both say the same thing.
import { isIP } from "node:net";

/** DNS-1123 label: a namespace, a Cluster API object's name part. */
export const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** DNS-1123 subdomain (at most 253 characters): node names and Cluster API object names. */
export const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
export const DNS1123_SUBDOMAIN_RULE =
    "a DNS-1123 name: lower-case letters, digits, '-' and '.', starting and ending with a letter or digit, at most 253 characters";
/** Label and taint keys: an optional DNS subdomain prefix and '/', then a name of at most 63 characters. */
export const QUALIFIED_NAME =
    /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
export const QUALIFIED_NAME_RULE =
    "a Kubernetes qualified name: an optional DNS prefix and '/', then at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit";
/** Label and taint values: empty, or at most 63 characters of the same alphabet. */
export const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;
export const LABEL_VALUE_RULE =
    "a Kubernetes label value: empty, or at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit";
/** Cluster and pool names: used in resource names and cloud labels. */
export const RESOURCE_NAME = /^[a-z0-9]([-a-z0-9]{0,22}[a-z0-9])?$/;
export const RESOURCE_NAME_RULE =
    "lower-case letters, digits and '-', starting and ending with a letter or digit, at most 24 characters";
/** "1.31" or "1.31.4", an optional leading v. */
export const VERSION = /^v?1\.\d{1,2}(\.\d{1,3})?$/;
export const VERSION_RULE = 'a Kubernetes version such as "1.31" or "1.31.4" (a leading v is accepted)';
/** Linode regions: us-ord, eu-central, jp-tyo-3. */
export const LKE_REGION = /^[a-z]{2}-[a-z]{3,}(-\d{1,2})?$/;
/** AWS regions: us-east-1, eu-central-2, us-gov-west-1. */
export const AWS_REGION = /^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}$/;
/** Linode plans: g6-standard-4, g7-highmem-1, g1-gpu-rtx6000-1. */
export const LINODE_TYPE = /^g\d{1,2}-[a-z0-9]+(-[a-z0-9]+)*$/;
/** EC2 instance types: m6i.large, c7g.2xlarge, u-6tb1.metal. */
export const EC2_TYPE = /^[a-z][a-z0-9-]*[0-9][a-z0-9-]*\.[a-z0-9]+$/;
/** Any other machine type (kubeadm pools only describe machines that exist). */
export const MACHINE_TYPE = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
/** Compute Engine machine types: e2-standard-4, n2d-highmem-8, c3-standard-22-lssd, custom-4-16384. */
export const GCE_TYPE = /^[a-z][a-z0-9]*(-[a-z0-9]+)+$/;
/** Google Cloud project ids: 6 to 30 lower-case letters, digits and hyphens, starting with a letter. */
export const GCP_PROJECT = /^[a-z][-a-z0-9]{4,28}[a-z0-9]$/;
/** Google Cloud regions (us-central1) and zones (us-central1-a). */
export const GCP_LOCATION = /^[a-z]+-[a-z]+\d{1,2}(-[a-z])?$/;
/** Google Cloud zones: us-central1-a. */
export const GCP_ZONE = /^[a-z]+-[a-z]+\d{1,2}-[a-z]$/;
/** Google Cloud resource labels: lower-case letters, digits, '_' and '-'; keys start with a letter. */
export const GCP_LABEL_KEY = /^[a-z][a-z0-9_-]{0,62}$/;
export const GCP_LABEL_VALUE = /^[a-z0-9_-]{0,63}$/;
export const GCP_LABEL_RULE = "lower-case letters, digits, '_' and '-' (keys start with a letter), at most 63";
/** A VPC network or subnetwork: a name or a (partial) self link. */
export const GCP_RESOURCE = /^[a-z0-9]([-a-z0-9/._:]*[a-z0-9])?$/;
export const GCP_SERVICE_ACCOUNT = /^[a-z0-9-]{6,30}@[a-z0-9.-]+\.iam\.gserviceaccount\.com$|^default$/;
export const SUBNET_ID = /^subnet-[0-9a-f]{8,17}$/;
export const SECURITY_GROUP_ID = /^sg-[0-9a-f]{8,17}$/;
/** Azure names: locations (westeurope), resource groups, AKS clusters, VM sizes (Standard_D4s_v5). */
export const AZURE_LOCATION = /^[a-z][a-z0-9]{1,39}$/;
export const AZURE_NAME = /^[-\w.()]{0,89}[-\w()]$/;
export const AKS_CLUSTER_NAME = /^[a-zA-Z0-9]([-_a-zA-Z0-9]{0,61}[a-zA-Z0-9])?$/;
export const AZURE_VM_SIZE = /^Standard_[A-Za-z0-9_]{1,56}$/;
/** A node count (1 to 999) or a percentage (1% to 100%). */
export const AKS_MAX_SURGE = /^([1-9]\d{0,2}|[1-9]\d?%|100%)$/;
export const AMI_ID = /^ami-[0-9a-f]{8,17}$/;
export const IAM_ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;
/** A hostname (letters, digits, '-', '.'), an IPv4 or an IPv6 address; nothing a shell or SSH would read as an option. */
export const HOST =
    /^([A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?)*|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*)$/;
export const HOST_RULE = "a hostname, an IPv4 or an IPv6 address (no user@, no port, no spaces)";
/** POSIX user names. */
export const UNIX_USER = /^[a-z_][a-z0-9_-]{0,31}$/;
/** Config keys in the stack file (for the names of secret keys). */
export const CONFIG_KEY = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;
export const ABSOLUTE_PATH = /^\/[A-Za-z0-9._/-]*$/;

export function isHost(s: string): boolean {
    if (s.includes(":")) return isIP(s) === 6;
    if (/^[0-9.]+$/.test(s)) return isIP(s) === 4;
    return s.length <= 253 && HOST.test(s);
}

/** Bounds of every number: [min, max]. Anything outside is a typo, not a setting. */
export const BOUNDS = {
    count: [1, 1000],
    anchorCount: [1, 100],
    gracePeriodSeconds: [0, 86400],
    timeoutSeconds: [1, 86400],
    batchSize: [1, 1000],
    soakSeconds: [0, 86400],
    readyTimeoutSeconds: [1, 86400],
    port: [1, 65535],
    workersAtOnce: [1, 1000],
    maxUnavailable: [1, 1000],
    percentage: [1, 100],
    replicas: [1, 9],
    controlPlaneSurge: [0, 1],
    machineDeploymentPace: [0, 1000],
    diskSizeGb: [10, 65536],
    aksDrainTimeoutMinutes: [1, 1440],
    aksSoakMinutes: [0, 30],
} as const satisfies Record<string, readonly [number, number]>;
