# Upgrades an LKE control plane by one minor through the LKE API (PUT /lke/clusters/{id}), so that the
# provider never recycles the workers, then waits until the API server serves the target minor.
# Safe to run again: an already upgraded cluster is left alone.
# Env: LINODE_TOKEN, K8SU_LKE_CLUSTER_ID, K8SU_TARGET_MINOR, K8SU_TIMEOUT_SECONDS.
require_env LINODE_TOKEN K8SU_LKE_CLUSTER_ID K8SU_TARGET_MINOR K8SU_TIMEOUT_SECONDS
setup_kubeconfig
current="$(lke_api GET "/lke/clusters/$K8SU_LKE_CLUSTER_ID" | json_field k8s_version)"
if [ "$current" = "$K8SU_TARGET_MINOR" ]; then
  log "LKE cluster $K8SU_LKE_CLUSTER_ID already runs $K8SU_TARGET_MINOR"
else
  log "LKE cluster $K8SU_LKE_CLUSTER_ID: control plane $current -> $K8SU_TARGET_MINOR"
  lke_api PUT "/lke/clusters/$K8SU_LKE_CLUSTER_ID" "{\"k8s_version\":\"$K8SU_TARGET_MINOR\"}" >/dev/null
fi
deadline=$((SECONDS + K8SU_TIMEOUT_SECONDS))
while :; do
  served="$(kubectl get --raw /version 2>/dev/null | json_field gitVersion || true)"
  if [ -n "$served" ] && [ "$(minor_of "$served")" = "$K8SU_TARGET_MINOR" ]; then
    log "API server serves $served"
    break
  fi
  [ "$SECONDS" -lt "$deadline" ] || die "the API server still serves ${served:-nothing} after ${K8SU_TIMEOUT_SECONDS}s"
  sleep "${K8SU_POLL_SECONDS:-10}"
done
