# Drains one pool: checks that capacity elsewhere can take its pods, cordons all its nodes, then drains
# them in batches. Runs as the delete-time step of the pool's drain guard, so a failure keeps the pool.
# Env: K8SU_CLUSTER, K8SU_SELECTOR, K8SU_MIN_READY_ELSEWHERE, K8SU_BATCH_SIZE, K8SU_SOAK_SECONDS,
#      K8SU_GRACE_SECONDS, K8SU_DRAIN_TIMEOUT_SECONDS, K8SU_DELETE_EMPTYDIR_DATA.
require_env K8SU_CLUSTER K8SU_SELECTOR K8SU_MIN_READY_ELSEWHERE K8SU_BATCH_SIZE K8SU_SOAK_SECONDS K8SU_GRACE_SECONDS K8SU_DRAIN_TIMEOUT_SECONDS K8SU_DELETE_EMPTYDIR_DATA
if [ "${K8S_UPGRADES_SKIP_DRAIN:-}" = "$K8SU_CLUSTER" ]; then
  log "K8S_UPGRADES_SKIP_DRAIN=$K8SU_CLUSTER: not draining $K8SU_SELECTOR (the whole cluster is being destroyed)"
  exit 0
fi
setup_kubeconfig
mapfile -t pool_nodes < <(node_names "$K8SU_SELECTOR")
if [ "${#pool_nodes[@]}" -eq 0 ]; then
  log "no nodes match $K8SU_SELECTOR; nothing to drain"
  exit 0
fi

# Capacity check: Ready, schedulable nodes outside this pool.
elsewhere=0
while IFS=$'\t' read -r name _ status unschedulable; do
  [ -n "$name" ] || continue
  if printf '%s\n' "${pool_nodes[@]}" | grep -Fqx -- "$name"; then continue; fi
  if [ "$status" = "True" ] && [ "$unschedulable" != "true" ]; then elsewhere=$((elsewhere + 1)); fi
done < <(node_table "")
if [ "$elsewhere" -lt "$K8SU_MIN_READY_ELSEWHERE" ] && [ "${K8S_UPGRADES_ALLOW_SHRINK:-}" != "$K8SU_CLUSTER" ]; then
  die "only $elsewhere Ready, schedulable node(s) outside $K8SU_SELECTOR; draining its ${#pool_nodes[@]} node(s) needs $K8SU_MIN_READY_ELSEWHERE. The pool stays. To shrink the cluster on purpose, set K8S_UPGRADES_ALLOW_SHRINK=$K8SU_CLUSTER"
fi

log "cordoning all ${#pool_nodes[@]} node(s) of $K8SU_SELECTOR before draining any"
cordon_nodes "${pool_nodes[@]}"
drain_in_batches "${pool_nodes[@]}"
log "drained ${#pool_nodes[@]} node(s) of $K8SU_SELECTOR"
