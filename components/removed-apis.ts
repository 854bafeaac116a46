// The API versions each Kubernetes minor stops serving, from kubernetes.io's Deprecated API Migration Guide
// (https://kubernetes.io/docs/reference/using-api/deprecation-guide/, "Removed APIs by release"). Only resources
// that hold objects are listed: the review APIs (TokenReview, SubjectAccessReview, ...) keep nothing to find.
// The pre-flight lists the live objects of each one the target removes (components/scripts/preflight.sh).

/** "<group>/<version> <resource>" by the minor that stops serving it. The core group has no removals here. */
export const REMOVED_APIS: Readonly<Record<string, readonly string[]>> = {
    "1.22": [
        "admissionregistration.k8s.io/v1beta1 mutatingwebhookconfigurations",
        "admissionregistration.k8s.io/v1beta1 validatingwebhookconfigurations",
        "apiextensions.k8s.io/v1beta1 customresourcedefinitions",
        "apiregistration.k8s.io/v1beta1 apiservices",
        "certificates.k8s.io/v1beta1 certificatesigningrequests",
        "coordination.k8s.io/v1beta1 leases",
        "extensions/v1beta1 ingresses",
        "networking.k8s.io/v1beta1 ingresses",
        "networking.k8s.io/v1beta1 ingressclasses",
        "rbac.authorization.k8s.io/v1beta1 clusterroles",
        "rbac.authorization.k8s.io/v1beta1 clusterrolebindings",
        "rbac.authorization.k8s.io/v1beta1 roles",
        "rbac.authorization.k8s.io/v1beta1 rolebindings",
        "scheduling.k8s.io/v1beta1 priorityclasses",
        "storage.k8s.io/v1beta1 csidrivers",
        "storage.k8s.io/v1beta1 csinodes",
        "storage.k8s.io/v1beta1 storageclasses",
        "storage.k8s.io/v1beta1 volumeattachments",
    ],
    "1.25": [
        "batch/v1beta1 cronjobs",
        "discovery.k8s.io/v1beta1 endpointslices",
        "events.k8s.io/v1beta1 events",
        "autoscaling/v2beta1 horizontalpodautoscalers",
        "policy/v1beta1 poddisruptionbudgets",
        // No replacement: every PodSecurityPolicy stops working, whatever version wrote it.
        "policy/v1beta1 podsecuritypolicies",
        "node.k8s.io/v1beta1 runtimeclasses",
    ],
    "1.26": [
        "flowcontrol.apiserver.k8s.io/v1beta1 flowschemas",
        "flowcontrol.apiserver.k8s.io/v1beta1 prioritylevelconfigurations",
        "autoscaling/v2beta2 horizontalpodautoscalers",
    ],
    "1.27": ["storage.k8s.io/v1beta1 csistoragecapacities"],
    "1.29": [
        "flowcontrol.apiserver.k8s.io/v1beta2 flowschemas",
        "flowcontrol.apiserver.k8s.io/v1beta2 prioritylevelconfigurations",
    ],
    "1.32": [
        "flowcontrol.apiserver.k8s.io/v1beta3 flowschemas",
        "flowcontrol.apiserver.k8s.io/v1beta3 prioritylevelconfigurations",
    ],
};

/** Resources removed with no replacement: any live object is lost, not only those written through the old version. */
export const REMOVED_WITHOUT_REPLACEMENT: readonly string[] = ["policy/v1beta1 podsecuritypolicies"];

/**
 * The pre-flight's environment for a control plane going to `targetMinor` ("1.32"): the target, and one line per
 * API version that minor stops serving (K8SU_REMOVED_APIS, empty when it removes none). The control plane moves one
 * minor at a time (the policy refuses more), so the versions removed by earlier minors are already gone.
 */
export function preflightEnvironment(targetMinor: string): Record<string, string> {
    const removed = (REMOVED_APIS[targetMinor] ?? []).map((line) =>
        REMOVED_WITHOUT_REPLACEMENT.includes(line) ? `${line} no-replacement` : line,
    );
    return { K8SU_TARGET_MINOR: targetMinor, K8SU_REMOVED_APIS: removed.join("\n") };
}
