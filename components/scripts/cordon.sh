# Cordons every node of the pools being retired, all before any drain, so evicted pods never land on another old node.
# Env: K8SU_SELECTORS (one label selector per line).
require_env K8SU_SELECTORS
setup_kubeconfig
while read -r selector; do
  [ -n "$selector" ] || continue
  mapfile -t nodes < <(node_names "$selector")
  log "${#nodes[@]} node(s) match $selector"
  if [ "${#nodes[@]}" -gt 0 ]; then cordon_nodes "${nodes[@]}"; fi
done <<< "$K8SU_SELECTORS"
