# In-place worker upgrade of one LKE pool with one surge node, as the LKE runbook does it by hand:
# grow the pool by one (autoscaler min and max too), then one old node at a time: cordon, drain, recycle,
# wait for its replacement Ready at the target. The last old node is drained and deleted (which shrinks
# the pool back), and the autoscaler is restored. Capacity never drops below the configured count.
# Safe to run again after a failure: it works from what the nodes run, not from where it stopped.
# Env: LINODE_TOKEN, K8SU_LKE_CLUSTER_ID, K8SU_LKE_POOL_ID, K8SU_POOL_COUNT, K8SU_TARGET_MINOR,
#      K8SU_READY_TIMEOUT_SECONDS, drain settings; K8SU_AUTOSCALER_MIN and K8SU_AUTOSCALER_MAX when autoscaled.
require_env LINODE_TOKEN K8SU_LKE_CLUSTER_ID K8SU_LKE_POOL_ID K8SU_POOL_COUNT K8SU_TARGET_MINOR K8SU_READY_TIMEOUT_SECONDS \
  K8SU_GRACE_SECONDS K8SU_DRAIN_TIMEOUT_SECONDS K8SU_DELETE_EMPTYDIR_DATA
setup_kubeconfig
K8SU_BATCH_SIZE=1
K8SU_SOAK_SECONDS=0
pool_path="/lke/clusters/$K8SU_LKE_CLUSTER_ID/pools/$K8SU_LKE_POOL_ID"
selector="lke.linode.com/pool-id=$K8SU_LKE_POOL_ID"

pool_body() {
  if [ -n "${K8SU_AUTOSCALER_MIN:-}" ]; then
    require_env K8SU_AUTOSCALER_MAX
    printf '{"count":%d,"autoscaler":{"enabled":true,"min":%d,"max":%d}}' "$1" "$((K8SU_AUTOSCALER_MIN + $2))" "$((${K8SU_AUTOSCALER_MAX:?} + $2))"
  else
    printf '{"count":%d}' "$1"
  fi
}

# Nodes of the pool whose kubelet is not at the target minor, skipping those already handed to LKE.
old_nodes() {
  while IFS=$'\t' read -r name version _; do
    [ -n "$name" ] || continue
    if [ "$(minor_of "$version")" != "$K8SU_TARGET_MINOR" ] && ! printf '%s\n' "${handled[@]}" | grep -Fqx -- "$name"; then
      printf '%s\n' "$name"
    fi
  done < <(node_table "$selector")
}

lke_node_id() {
  local provider_id instance
  provider_id="$(kubectl get node "$1" -o 'jsonpath={.spec.providerID}')"
  instance="${provider_id#linode://}"
  [ -n "$instance" ] || die "node $1 has no linode:// providerID"
  lke_api GET "$pool_path" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const n=(JSON.parse(s).nodes||[]).find(x=>String(x.instance_id)===process.argv[1]);if(!n)process.exit(3);process.stdout.write(n.id)})' "$instance" \
    || die "node $1 (Linode $instance) is not in LKE pool $K8SU_LKE_POOL_ID"
}

# Cordons and drains one old node, then prints its LKE node id.
take_out() {
  cordon_nodes "$1"
  drain_in_batches "$1"
  lke_node_id "$1"
}

handled=("")
mapfile -t old < <(old_nodes)
surge=$((K8SU_POOL_COUNT + 1))
if [ "${#old[@]}" -eq 0 ]; then
  log "every node of $selector already runs $K8SU_TARGET_MINOR"
else
  log "${#old[@]} node(s) of $selector to move to $K8SU_TARGET_MINOR; surging the pool to $surge"
  lke_api PUT "$pool_path" "$(pool_body "$surge" 1)" >/dev/null
  wait_nodes_ready "$selector" "$((surge - ${#old[@]}))" "$K8SU_TARGET_MINOR" "$K8SU_READY_TIMEOUT_SECONDS"
  while [ "${#old[@]}" -gt 1 ]; do
    node="${old[0]}"
    log "moving $node: cordon, drain, recycle"
    id="$(take_out "$node")"
    lke_api POST "/lke/clusters/$K8SU_LKE_CLUSTER_ID/nodes/$id/recycle" >/dev/null
    handled+=("$node")
    mapfile -t old < <(old_nodes)
    wait_nodes_ready "$selector" "$((surge - ${#old[@]}))" "$K8SU_TARGET_MINOR" "$K8SU_READY_TIMEOUT_SECONDS"
  done
  node="${old[0]}"
  log "last old node $node: cordon, drain, delete (the pool shrinks back to $K8SU_POOL_COUNT)"
  id="$(take_out "$node")"
  lke_api DELETE "/lke/clusters/$K8SU_LKE_CLUSTER_ID/nodes/$id" >/dev/null
  handled+=("$node")
fi
lke_api PUT "$pool_path" "$(pool_body "$K8SU_POOL_COUNT" 0)" >/dev/null
wait_nodes_ready "$selector" "$K8SU_POOL_COUNT" "$K8SU_TARGET_MINOR" "$K8SU_READY_TIMEOUT_SECONDS"
log "pool $K8SU_LKE_POOL_ID runs $K8SU_TARGET_MINOR on $K8SU_POOL_COUNT node(s); autoscaler restored"
