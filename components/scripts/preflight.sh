# Pre-flight: refuses to start an upgrade on a cluster that is not healthy enough to survive one. Every check
# rests on a call that succeeded; a failed call stops it, so it never passes on what it could not read.
# Env: K8SU_TARGET_MINOR (the minor the control plane goes to).
require_env K8SU_TARGET_MINOR
setup_kubeconfig
problems=()
table="" failing="" budgets=""

kube_into ignored get --raw=/readyz
log "API server ready"

node_table_into table ""
[ -n "$table" ] || die "the cluster lists no nodes at all; check that the kubeconfig points at the right cluster"
while IFS=$'\t' read -r name version status _; do
  [ -n "$name" ] || continue
  if [ "$status" != "True" ]; then problems+=("node $name is not Ready (Ready=${status:-Unknown}, kubelet $version)"); fi
done <<< "$table"

kube_into failing get pods --namespace kube-system --field-selector=status.phase!=Running,status.phase!=Succeeded \
  -o 'jsonpath={range .items[*]}{.metadata.name}{" ("}{.status.phase}{")"}{"\n"}{end}'
while IFS= read -r pod; do
  [ -n "$pod" ] || continue
  problems+=("kube-system pod $pod is not Running")
done <<< "$failing"

# Deprecated APIs that the target minor removes, as counted by the API server since its start. Without the
# metric (no permission on /metrics), kubent or pluto must stand in; with neither, the check cannot be made.
if metrics="$(kubectl --request-timeout="${K8SU_REQUEST_TIMEOUT_SECONDS}s" get --raw /metrics 2>"$K8SU_WORK_DIR/metrics.err")"; then
  deprecated="$(grep '^apiserver_requested_deprecated_apis{' <<< "$metrics" || :)"
  while IFS= read -r line; do
    removed="$(sed -n 's/.*removed_release="\([0-9.]*\)".*/\1/p' <<< "$line")"
    [ -n "$removed" ] || continue
    if [ "$(printf '%s\n%s\n' "$removed" "$K8SU_TARGET_MINOR" | sort -V | head -n 1)" = "$removed" ]; then
      group="$(sed -n 's/.*[{,]group="\([^"]*\)".*/\1/p' <<< "$line")"
      version="$(sed -n 's/.*[{,]version="\([^"]*\)".*/\1/p' <<< "$line")"
      resource="$(sed -n 's/.*[{,]resource="\([^"]*\)".*/\1/p' <<< "$line")"
      problems+=("deprecated API in use that $removed removes: ${group:+$group/}$version $resource")
    fi
  done <<< "$deprecated"
elif command -v kubent >/dev/null 2>&1 || command -v pluto >/dev/null 2>&1; then
  log "could not read /metrics ($(head -c 200 "$K8SU_WORK_DIR/metrics.err")); the deprecated API check relies on kubent/pluto"
else
  text="$(head -c 300 "$K8SU_WORK_DIR/metrics.err")"
  die "could not read the API server's /metrics to find deprecated APIs in use: $text. $(api_hint "$text"); or install kubent or pluto on the machine running pulumi"
fi
if command -v kubent >/dev/null 2>&1; then
  kubent --exit-error -t "$K8SU_TARGET_MINOR.0" >&2 || problems+=("kubent found APIs removed in $K8SU_TARGET_MINOR, or could not check (see above)")
fi
if command -v pluto >/dev/null 2>&1; then
  code=0
  pluto detect-all-in-cluster --target-versions "k8s=v$K8SU_TARGET_MINOR.0" >&2 || code=$?
  if [ "$code" -eq 3 ]; then problems+=("pluto found APIs removed in $K8SU_TARGET_MINOR (see above)"); fi
  if [ "$code" -ne 0 ] && [ "$code" -ne 2 ] && [ "$code" -ne 3 ]; then problems+=("pluto could not check the cluster (exit $code, see above)"); fi
fi

# PodDisruptionBudgets that allow no disruption at all would stall every drain.
kube_into budgets get poddisruptionbudgets --all-namespaces \
  -o 'jsonpath={range .items[*]}{.metadata.namespace}/{.metadata.name}{"\t"}{.status.disruptionsAllowed}{"\t"}{.status.expectedPods}{"\n"}{end}'
while IFS=$'\t' read -r pdb allowed expected; do
  [ -n "$pdb" ] || continue
  if [ "${allowed:-0}" -eq 0 ] && [ "${expected:-0}" -gt 0 ]; then
    problems+=("PodDisruptionBudget $pdb allows no disruption ($expected pod(s) expected, 0 may be evicted): raise replicas or relax the budget")
  fi
done <<< "$budgets"

if [ "${#problems[@]}" -gt 0 ]; then
  log "pre-flight found ${#problems[@]} problem(s):"
  printf '  - %s\n' "${problems[@]}" >&2
  die "pre-flight checks failed; nothing was changed"
fi
log "pre-flight passed for an upgrade to $K8SU_TARGET_MINOR"
