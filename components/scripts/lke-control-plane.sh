# Upgrades an LKE control plane by one minor through the LKE API (PUT /lke/clusters/{id}), so that the
# provider never recycles the workers, then waits until the API server serves the target minor.
# Safe to run again: an already upgraded cluster is left alone.
# Env: LINODE_TOKEN, K8SU_LKE_CLUSTER_ID, K8SU_TARGET_MINOR, K8SU_TIMEOUT_SECONDS.
require_env LINODE_TOKEN K8SU_LKE_CLUSTER_ID K8SU_TARGET_MINOR K8SU_TIMEOUT_SECONDS
require_int K8SU_TIMEOUT_SECONDS
setup_kubeconfig
cluster=""
current=""
lke_api_into cluster GET "/lke/clusters/$K8SU_LKE_CLUSTER_ID"
json_field_into current "$cluster" k8s_version
[ -n "$current" ] || die "the LKE API's answer for cluster $K8SU_LKE_CLUSTER_ID has no k8s_version"
if [ "$current" = "$K8SU_TARGET_MINOR" ]; then
  log "LKE cluster $K8SU_LKE_CLUSTER_ID already runs $K8SU_TARGET_MINOR"
else
  log "LKE cluster $K8SU_LKE_CLUSTER_ID: control plane $current -> $K8SU_TARGET_MINOR"
  lke_api_into ignored PUT "/lke/clusters/$K8SU_LKE_CLUSTER_ID" "{\"k8s_version\":\"$K8SU_TARGET_MINOR\"}"
fi
# The API server restarts during the upgrade, so a failed read here is retried until the deadline, and the last
# error is named if it never comes back.
deadline=$((SECONDS + K8SU_TIMEOUT_SECONDS))
last_error=""
while :; do
  served=""
  if answer="$(kubectl --request-timeout="${K8SU_REQUEST_TIMEOUT_SECONDS}s" get --raw /version 2>"$K8SU_WORK_DIR/version.err")"; then
    json_field_into served "$answer" gitVersion
    if [ -n "$served" ] && [ "$(minor_of "$served")" = "$K8SU_TARGET_MINOR" ]; then
      log "API server serves $served"
      break
    fi
  else
    last_error="$(head -c 300 "$K8SU_WORK_DIR/version.err")"
  fi
  if [ "$SECONDS" -ge "$deadline" ]; then
    die "the API server still serves ${served:-nothing} after ${K8SU_TIMEOUT_SECONDS}s${last_error:+; last error: $last_error. $(api_hint "$last_error")}"
  fi
  pause "${K8SU_POLL_SECONDS:-10}"
done
