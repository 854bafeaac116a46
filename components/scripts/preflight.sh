# Pre-flight: refuses to start an upgrade on a cluster that is not healthy enough to survive one.
# Env: K8SU_TARGET_MINOR (the minor the control plane goes to).
require_env K8SU_TARGET_MINOR
setup_kubeconfig
problems=()

if ! kubectl get --raw=/readyz >/dev/null 2>"$K8SU_WORK_DIR/readyz.err"; then
  die "the API server is not reachable or not ready: $(head -c 300 "$K8SU_WORK_DIR/readyz.err")"
fi
log "API server ready"

while IFS=$'\t' read -r name version status _; do
  [ -n "$name" ] || continue
  if [ "$status" != "True" ]; then problems+=("node $name is not Ready (Ready=${status:-Unknown}, kubelet $version)"); fi
done < <(node_table "")

while read -r pod; do
  [ -n "$pod" ] || continue
  problems+=("kube-system pod $pod is not Running")
done < <(kubectl get pods --namespace kube-system --field-selector=status.phase!=Running,status.phase!=Succeeded -o 'jsonpath={range .items[*]}{.metadata.name}{" ("}{.status.phase}{")"}{"\n"}{end}')

# Deprecated APIs that the target minor removes, as counted by the API server since its start.
if kubectl get --raw /metrics >"$K8SU_WORK_DIR/metrics" 2>/dev/null; then
  while read -r line; do
    removed="$(printf '%s' "$line" | sed -n 's/.*removed_release="\([0-9.]*\)".*/\1/p')"
    [ -n "$removed" ] || continue
    if [ "$(printf '%s\n%s\n' "$removed" "$K8SU_TARGET_MINOR" | sort -V | head -n 1)" = "$removed" ]; then
      group="$(printf '%s' "$line" | sed -n 's/.*[{,]group="\([^"]*\)".*/\1/p')"
      version="$(printf '%s' "$line" | sed -n 's/.*[{,]version="\([^"]*\)".*/\1/p')"
      resource="$(printf '%s' "$line" | sed -n 's/.*[{,]resource="\([^"]*\)".*/\1/p')"
      problems+=("deprecated API in use that $removed removes: ${group:+$group/}$version $resource")
    fi
  done < <(grep '^apiserver_requested_deprecated_apis{' "$K8SU_WORK_DIR/metrics" || true)
else
  log "could not read /metrics (no permission?); deprecated API check relies on kubent/pluto if installed"
fi
if command -v kubent >/dev/null 2>&1; then
  kubent --exit-error -t "$K8SU_TARGET_MINOR.0" >&2 || problems+=("kubent found APIs removed in $K8SU_TARGET_MINOR (see above)")
fi
if command -v pluto >/dev/null 2>&1; then
  set +e
  pluto detect-all-in-cluster --target-versions "k8s=v$K8SU_TARGET_MINOR.0" >&2
  code=$?
  set -e
  if [ "$code" -eq 3 ]; then problems+=("pluto found APIs removed in $K8SU_TARGET_MINOR (see above)"); fi
fi

# PodDisruptionBudgets that allow no disruption at all would stall every drain.
while IFS=$'\t' read -r pdb allowed expected; do
  [ -n "$pdb" ] || continue
  if [ "${allowed:-0}" -eq 0 ] && [ "${expected:-0}" -gt 0 ]; then
    problems+=("PodDisruptionBudget $pdb allows no disruption ($expected pod(s) expected, 0 may be evicted): raise replicas or relax the budget")
  fi
done < <(kubectl get poddisruptionbudgets --all-namespaces -o 'jsonpath={range .items[*]}{.metadata.namespace}/{.metadata.name}{"\t"}{.status.disruptionsAllowed}{"\t"}{.status.expectedPods}{"\n"}{end}')

if [ "${#problems[@]}" -gt 0 ]; then
  log "pre-flight found ${#problems[@]} problem(s):"
  printf '  - %s\n' "${problems[@]}" >&2
  die "pre-flight checks failed; nothing was changed"
fi
log "pre-flight passed for an upgrade to $K8SU_TARGET_MINOR"
