# Cordons every node of the pools being retired, all before any drain, so evicted pods never land on another old node.
# Env: K8SU_SELECTORS (one label selector per line); each must match at least one node.
require_env K8SU_SELECTORS
setup_kubeconfig
K8SU_STOP_NOTE="some nodes may be cordoned already; run 'pulumi up' again to cordon the rest"
while IFS= read -r selector; do
  [ -n "$selector" ] || continue
  node_names_into names "$selector"
  [ -n "$names" ] || die "no nodes match $selector: a pool being retired should have nodes. Check the selector and the pool"
  mapfile -t nodes <<< "$names"
  log "${#nodes[@]} node(s) match $selector"
  cordon_nodes "${nodes[@]}"
done <<< "$K8SU_SELECTORS"
