# Drains one pool: checks that the room elsewhere can take its pods, cordons all its nodes, then drains
# them in batches. Runs as the delete-time step of the pool's drain guard, so a failure keeps the pool.
# Env: K8SU_CLUSTER, K8SU_SELECTOR, K8SU_MIN_READY_ELSEWHERE, K8SU_BATCH_SIZE, K8SU_SOAK_SECONDS,
#      K8SU_GRACE_SECONDS (empty: each pod's own grace period), K8SU_DRAIN_TIMEOUT_SECONDS, K8SU_DELETE_EMPTYDIR_DATA;
#      K8SU_EXPECTED_NODES=0 when the pool is known to be empty (otherwise no matching node is an error).
require_env K8SU_CLUSTER K8SU_SELECTOR K8SU_MIN_READY_ELSEWHERE K8SU_BATCH_SIZE K8SU_SOAK_SECONDS K8SU_DRAIN_TIMEOUT_SECONDS K8SU_DELETE_EMPTYDIR_DATA
require_int K8SU_MIN_READY_ELSEWHERE K8SU_BATCH_SIZE K8SU_SOAK_SECONDS K8SU_DRAIN_TIMEOUT_SECONDS
if flag_for_this_cluster K8S_UPGRADES_SKIP_DRAIN; then
  log "K8S_UPGRADES_SKIP_DRAIN=$K8SU_CLUSTER: not draining $K8SU_SELECTOR (the whole cluster is being destroyed)"
  exit 0
fi
setup_kubeconfig
node_names_into names "$K8SU_SELECTOR"
if [ -z "$names" ]; then
  if [ "${K8SU_EXPECTED_NODES:-}" = "0" ]; then
    log "no nodes match $K8SU_SELECTOR, as expected for an empty pool; nothing to drain"
    exit 0
  fi
  die "no nodes match $K8SU_SELECTOR on cluster $K8SU_CLUSTER, but the pool should have nodes: the list call succeeded and came back empty. Check that the pool's label selector still matches its nodes. If its nodes are really gone (removed outside Pulumi), run once with K8S_UPGRADES_SKIP_DRAIN=$K8SU_CLUSTER"
fi
mapfile -t pool_nodes <<< "$names"
check_capacity "$K8SU_MIN_READY_ELSEWHERE" "${pool_nodes[@]}"

log "cordoning all ${#pool_nodes[@]} node(s) of $K8SU_SELECTOR before draining any"
K8SU_STOP_NOTE="the nodes of $K8SU_SELECTOR that were cordoned stay cordoned; run 'pulumi up' again"
cordon_nodes "${pool_nodes[@]}"
drain_in_batches "${pool_nodes[@]}"
log "drained ${#pool_nodes[@]} node(s) of $K8SU_SELECTOR"
