# Validation after the workers: the upgraded pools' nodes are Ready at the target and uncordoned, and
# kube-system is healthy. Any failed call fails the validation.
# Env: K8SU_TARGET_MINOR, K8SU_SELECTORS (one label selector per line).
require_env K8SU_TARGET_MINOR K8SU_SELECTORS
setup_kubeconfig
problems=()
table="" failing=""
kube_into ignored get --raw=/readyz
while IFS= read -r selector; do
  [ -n "$selector" ] || continue
  count=0
  node_table_into table "$selector"
  while IFS=$'\t' read -r name version status unschedulable _; do
    [ -n "$name" ] || continue
    count=$((count + 1))
    if [ "$status" != "True" ]; then problems+=("node $name ($selector) is not Ready"); fi
    if [ "$(minor_of "$version")" != "$K8SU_TARGET_MINOR" ]; then problems+=("node $name ($selector) runs kubelet $version, not $K8SU_TARGET_MINOR"); fi
    if [ "$unschedulable" = "true" ]; then problems+=("node $name ($selector) is still cordoned"); fi
  done <<< "$table"
  if [ "$count" -eq 0 ]; then problems+=("no nodes match $selector"); fi
done <<< "$K8SU_SELECTORS"
kube_into failing get pods --namespace kube-system --field-selector=status.phase!=Running,status.phase!=Succeeded \
  -o 'jsonpath={range .items[*]}{.metadata.name}{" ("}{.status.phase}{")"}{"\n"}{end}'
while IFS= read -r pod; do
  [ -n "$pod" ] || continue
  problems+=("kube-system pod $pod is not Running")
done <<< "$failing"
if [ "${#problems[@]}" -gt 0 ]; then
  log "validation found ${#problems[@]} problem(s):"
  printf '  - %s\n' "${problems[@]}" >&2
  die "validation failed at $K8SU_TARGET_MINOR"
fi
log "validation passed at $K8SU_TARGET_MINOR"
echo "validated $K8SU_TARGET_MINOR"
