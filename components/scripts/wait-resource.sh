# Waits until fields of one resource reach the values given, read with kubectl's jsonpath: for example a
# KubeadmControlPlane's status after its version was patched. A failed read stops the wait.
# Env: K8SU_RESOURCE (kind/name), K8SU_NAMESPACE, K8SU_CONDITIONS (one "{.json.path}=value" per line), K8SU_TIMEOUT_SECONDS.
require_env K8SU_RESOURCE K8SU_NAMESPACE K8SU_CONDITIONS K8SU_TIMEOUT_SECONDS
require_int K8SU_TIMEOUT_SECONDS
setup_kubeconfig
got=""
deadline=$((SECONDS + K8SU_TIMEOUT_SECONDS))
while :; do
  pending=()
  while IFS= read -r condition; do
    [ -n "$condition" ] || continue
    path="${condition%%=*}"
    want="${condition#*=}"
    kube_into got get "$K8SU_RESOURCE" --namespace "$K8SU_NAMESPACE" -o "jsonpath=$path"
    if [ "$got" != "$want" ]; then pending+=("$path is ${got:-unset}, waiting for $want"); fi
  done <<< "$K8SU_CONDITIONS"
  if [ "${#pending[@]}" -eq 0 ]; then
    log "$K8SU_RESOURCE reached every condition"
    exit 0
  fi
  if [ "$SECONDS" -ge "$deadline" ]; then
    printf '  - %s\n' "${pending[@]}" >&2
    die "$K8SU_RESOURCE did not get there within ${K8SU_TIMEOUT_SECONDS}s"
  fi
  pause "${K8SU_POLL_SECONDS:-10}"
done
