# Recycles one LKE pool (rolling, one node at a time) and waits until its nodes are Ready at the target.
# Used for the tainted anchor pool, which carries no workloads, so no capacity is lost.
# Env: LINODE_TOKEN, K8SU_LKE_CLUSTER_ID, K8SU_LKE_POOL_ID, K8SU_TARGET_MINOR, K8SU_READY_TIMEOUT_SECONDS.
require_env LINODE_TOKEN K8SU_LKE_CLUSTER_ID K8SU_LKE_POOL_ID K8SU_TARGET_MINOR K8SU_READY_TIMEOUT_SECONDS
require_int K8SU_READY_TIMEOUT_SECONDS
setup_kubeconfig
selector="lke.linode.com/pool-id=$K8SU_LKE_POOL_ID"
# The pool's real size, from the LKE API.
pool="" size="" table=""
lke_api_into pool "GET" "/lke/clusters/$K8SU_LKE_CLUSTER_ID/pools/$K8SU_LKE_POOL_ID"
json_field_into size "$pool" count
[[ "$size" =~ ^[0-9]+$ ]] || die "the LKE API's answer for pool $K8SU_LKE_POOL_ID has no count"
node_table_into table "$selector"
[ -n "$table" ] || die "no nodes match $selector although LKE pool $K8SU_LKE_POOL_ID has $size; check the cluster and the kubeconfig"
lagging=0
while IFS=$'\t' read -r name version _; do
  [ -n "$name" ] || continue
  if [ "$(minor_of "$version")" != "$K8SU_TARGET_MINOR" ]; then lagging=$((lagging + 1)); fi
done <<< "$table"
if [ "$lagging" -gt 0 ]; then
  log "recycling pool $K8SU_LKE_POOL_ID ($lagging of its $size node(s) below $K8SU_TARGET_MINOR)"
  lke_api_into ignored POST "/lke/clusters/$K8SU_LKE_CLUSTER_ID/pools/$K8SU_LKE_POOL_ID/recycle"
fi
wait_nodes_ready "$selector" "$size" "$K8SU_TARGET_MINOR" "$K8SU_READY_TIMEOUT_SECONDS"
