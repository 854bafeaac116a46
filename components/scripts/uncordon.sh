# Makes nodes schedulable again after their upgrade.
# Env: K8SU_SELECTORS (one label selector per line); each must match at least one node.
require_env K8SU_SELECTORS
setup_kubeconfig
while IFS= read -r selector; do
  [ -n "$selector" ] || continue
  node_names_into names "$selector"
  [ -n "$names" ] || die "no nodes match $selector; nothing was uncordoned for it. Check the selector"
  mapfile -t nodes <<< "$names"
  uncordon_nodes "${nodes[@]}"
done <<< "$K8SU_SELECTORS"
