# Recycles one LKE pool (rolling, one node at a time) and waits until its nodes are Ready at the target.
# Used for the tainted anchor pool, which carries no workloads, so no capacity is lost.
# Env: LINODE_TOKEN, K8SU_LKE_CLUSTER_ID, K8SU_LKE_POOL_ID, K8SU_POOL_COUNT, K8SU_TARGET_MINOR, K8SU_READY_TIMEOUT_SECONDS.
require_env LINODE_TOKEN K8SU_LKE_CLUSTER_ID K8SU_LKE_POOL_ID K8SU_POOL_COUNT K8SU_TARGET_MINOR K8SU_READY_TIMEOUT_SECONDS
setup_kubeconfig
selector="lke.linode.com/pool-id=$K8SU_LKE_POOL_ID"
lagging=0
while IFS=$'\t' read -r name version _; do
  [ -n "$name" ] || continue
  if [ "$(minor_of "$version")" != "$K8SU_TARGET_MINOR" ]; then lagging=$((lagging + 1)); fi
done < <(node_table "$selector")
if [ "$lagging" -gt 0 ]; then
  log "recycling pool $K8SU_LKE_POOL_ID ($lagging node(s) below $K8SU_TARGET_MINOR)"
  lke_api POST "/lke/clusters/$K8SU_LKE_CLUSTER_ID/pools/$K8SU_LKE_POOL_ID/recycle" >/dev/null
fi
wait_nodes_ready "$selector" "$K8SU_POOL_COUNT" "$K8SU_TARGET_MINOR" "$K8SU_READY_TIMEOUT_SECONDS"
