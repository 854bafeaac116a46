# Recycles one LKE pool (rolling, one node at a time) and waits until its nodes are Ready at the target.
# Used for the tainted anchor pool (no workloads) and, under the recycle strategy, for worker pools: LKE drains each
# node before it replaces it (its upgrade guide), so such a pool runs one node short while it works.
# Run again while LKE is still replacing the pool's nodes (an earlier run timed out or was stopped after its
# recycle call), it recycles nothing again: a node the LKE API lists with no Node in the cluster yet is one LKE
# is still provisioning, so it waits for those to register (up to K8SU_READY_TIMEOUT_SECONDS), then goes on.
# Env: LINODE_TOKEN, K8SU_LKE_CLUSTER_ID, K8SU_LKE_POOL_ID, K8SU_TARGET_MINOR, K8SU_READY_TIMEOUT_SECONDS.
require_env LINODE_TOKEN K8SU_LKE_CLUSTER_ID K8SU_LKE_POOL_ID K8SU_TARGET_MINOR K8SU_READY_TIMEOUT_SECONDS
require_int K8SU_READY_TIMEOUT_SECONDS
setup_kubeconfig
selector="lke.linode.com/pool-id=$K8SU_LKE_POOL_ID"
pool_path="/lke/clusters/$K8SU_LKE_CLUSTER_ID/pools/$K8SU_LKE_POOL_ID"
size="" listed=0 unregistered="" table=""

# The pool as LKE has it (size: its count; listed: the nodes it lists) against the cluster: unregistered holds
# "<Linode instance id> (<LKE's status>)" for each listed node that no Node of the pool has as its providerID.
read_pool_against_nodes() {
  local pool_json providers state
  lke_api_into pool_json GET "$pool_path"
  kube_into providers get nodes -l "$selector" -o 'jsonpath={range .items[*]}{.spec.providerID}{"\n"}{end}'
  # shellcheck disable=SC2016
  node_into state 'const p = JSON.parse(process.argv[1]); if (!Number.isInteger(p.count)) throw new Error("no count");
    const nodes = p.nodes || []; const here = new Set(process.argv[2].split("\n").filter(Boolean));
    console.log(p.count + " " + nodes.length);
    for (const n of nodes) if (!here.has("linode://" + n.instance_id)) console.log(n.instance_id + " (" + (n.status || "no status") + ")");' \
    "$pool_json" "$providers"
  read -r size listed <<< "${state%%$'\n'*}"
  unregistered=""
  if [[ "$state" == *$'\n'* ]]; then unregistered="${state#*$'\n'}"; fi
}

read_pool_against_nodes
if [ -n "$unregistered" ] || [ "$listed" -lt "$size" ]; then
  log "LKE is still replacing nodes of pool $K8SU_LKE_POOL_ID: it lists $listed of its $size node(s), and these have no Node in the cluster yet: ${unregistered//$'\n'/, }; recycling nothing, waiting up to ${K8SU_READY_TIMEOUT_SECONDS}s for them to register"
  deadline=$((SECONDS + K8SU_READY_TIMEOUT_SECONDS))
  while [ -n "$unregistered" ] || [ "$listed" -lt "$size" ]; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      die "LKE is still replacing the nodes of pool $K8SU_LKE_POOL_ID: after ${K8SU_READY_TIMEOUT_SECONDS}s it lists $listed of its $size node(s), and these Linode instance(s) have no Node matching $selector in the cluster: ${unregistered//$'\n'/, }. Nothing was recycled again. Check the pool in Linode Cloud Manager (a node stuck provisioning) and run 'pulumi up' again once its nodes are Ready; if LKE shows them ready, check that the kubeconfig is LKE cluster $K8SU_LKE_CLUSTER_ID's"
    fi
    pause "${K8SU_POLL_SECONDS:-10}"
    read_pool_against_nodes
  done
  log "every node LKE lists in pool $K8SU_LKE_POOL_ID has registered"
fi
node_table_into table "$selector"
[ -n "$table" ] || die "no nodes match $selector although LKE pool $K8SU_LKE_POOL_ID lists $listed; check that the kubeconfig is LKE cluster $K8SU_LKE_CLUSTER_ID's"
lagging=0
while IFS=$'\t' read -r name version _; do
  [ -n "$name" ] || continue
  if [ "$(minor_of "$version")" != "$K8SU_TARGET_MINOR" ]; then lagging=$((lagging + 1)); fi
done <<< "$table"
if [ "$lagging" -gt 0 ]; then
  log "recycling pool $K8SU_LKE_POOL_ID ($lagging of its $size node(s) below $K8SU_TARGET_MINOR)"
  lke_api_into ignored POST "$pool_path/recycle"
fi
wait_nodes_ready "$selector" "$size" "$K8SU_TARGET_MINOR" "$K8SU_READY_TIMEOUT_SECONDS"
