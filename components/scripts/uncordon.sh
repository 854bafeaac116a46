# Makes nodes schedulable again after their upgrade.
# Env: K8SU_SELECTORS (one label selector per line).
require_env K8SU_SELECTORS
setup_kubeconfig
while read -r selector; do
  [ -n "$selector" ] || continue
  mapfile -t nodes < <(node_names "$selector")
  for node in "${nodes[@]}"; do
    kubectl uncordon "$node" >/dev/null
    log "uncordoned $node"
  done
done <<< "$K8SU_SELECTORS"
