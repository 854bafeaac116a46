# Lowers an LKE pool to a smaller count without letting LKE pick the nodes: chooses exactly the nodes that go
# (already cordoned ones first, so a run after a failure carries on with the same nodes; then not Ready ones;
# then by name, last first), checks that Ready capacity elsewhere can take their pods, cordons them all, drains
# them in batches, deletes each through the node API (which lowers the pool's count by one), then sets the
# count and waits until the pool has exactly that many Ready nodes.
# Safe to run again: it works from the pool's real size.
# Env: LINODE_TOKEN, K8SU_CLUSTER, K8SU_LKE_CLUSTER_ID, K8SU_LKE_POOL_ID, K8SU_POOL_COUNT, K8SU_READY_TIMEOUT_SECONDS,
#      drain settings (K8SU_GRACE_SECONDS empty: each pod's own grace period); K8SU_AUTOSCALER_MIN and
#      K8SU_AUTOSCALER_MAX when autoscaled.
require_env LINODE_TOKEN K8SU_CLUSTER K8SU_LKE_CLUSTER_ID K8SU_LKE_POOL_ID K8SU_POOL_COUNT K8SU_READY_TIMEOUT_SECONDS \
  K8SU_BATCH_SIZE K8SU_SOAK_SECONDS K8SU_DRAIN_TIMEOUT_SECONDS K8SU_DELETE_EMPTYDIR_DATA
setup_kubeconfig
pool_path="/lke/clusters/$K8SU_LKE_CLUSTER_ID/pools/$K8SU_LKE_POOL_ID"
selector="lke.linode.com/pool-id=$K8SU_LKE_POOL_ID"
target="$K8SU_POOL_COUNT"
pool_json="" table="" left="" _deleted="" _resized=""

lke_api_into pool_json GET "$pool_path"
# instance id <TAB> LKE node id, one line per node of the pool, as the Linode API lists them.
lke_nodes="$(printf '%s' "$pool_json" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const p=JSON.parse(s);if(!Array.isArray(p.nodes))process.exit(3);for(const n of p.nodes)console.log(n.instance_id+"\t"+n.id)})')" \
  || die "the Linode API answered GET $pool_path without a node list; cannot tell which nodes pool $K8SU_LKE_POOL_ID has"
real=0
if [ -n "$lke_nodes" ]; then real="$(printf '%s\n' "$lke_nodes" | wc -l)"; fi

# name <TAB> providerID <TAB> Ready <TAB> unschedulable, for the pool's nodes.
kube_into table get nodes -l "$selector" -o 'jsonpath={range .items[*]}{.metadata.name}{"\t"}{.spec.providerID}{"\t"}{range .status.conditions[?(@.type=="Ready")]}{.status}{end}{"\t"}{.spec.unschedulable}{"\n"}{end}'
known=0
if [ -n "$table" ]; then known="$(printf '%s\n' "$table" | grep -c .)"; fi
if [ "$known" -ne "$real" ]; then
  die "pool $K8SU_LKE_POOL_ID has $real node(s) in the Linode API but $known registered in Kubernetes; wait until they agree (a node joining or leaving), then run 'pulumi up' again"
fi
if [ "$real" -le "$target" ]; then
  log "pool $K8SU_LKE_POOL_ID has $real node(s), at most $target: no node to remove"
  exit 0
fi

# Cordoned first, then not Ready, then by name (last first).
victims_text="$(printf '%s\n' "$table" | awk -F'\t' '{rank = ($4 == "true") ? 0 : (($3 != "True") ? 1 : 2); print rank "\t" $1}' | sort -t$'\t' -k1,1n -k2,2r | head -n "$((real - target))" | cut -f2)"
read -r -d '' -a victims <<< "$victims_text" || true
[ "${#victims[@]}" -eq "$((real - target))" ] || die "could not choose $((real - target)) node(s) to remove from pool $K8SU_LKE_POOL_ID"

# Capacity: the pods of the nodes that go must fit on the nodes that stay (by their requests), and at least
# the target count of nodes must stay able to take pods.
check_capacity "$target" "${victims[@]}"

log "pool $K8SU_LKE_POOL_ID: $real → $target node(s); removing ${victims[*]}"
cordon_nodes "${victims[@]}"
drain_in_batches "${victims[@]}"
for node in "${victims[@]}"; do
  instance="$(printf '%s\n' "$table" | awk -F'\t' -v n="$node" '$1 == n {sub("^linode://", "", $2); print $2}')"
  [ -n "$instance" ] || die "node $node has no linode:// providerID; it stays, drained and cordoned"
  id="$(printf '%s\n' "$lke_nodes" | awk -F'\t' -v i="$instance" '$1 == i {print $2}')"
  [ -n "$id" ] || die "node $node (Linode $instance) is not in LKE pool $K8SU_LKE_POOL_ID; it stays, drained and cordoned"
  lke_api_into _deleted DELETE "/lke/clusters/$K8SU_LKE_CLUSTER_ID/nodes/$id"
  log "deleted drained node $node (LKE node $id)"
done
if [ -n "${K8SU_AUTOSCALER_MIN:-}" ]; then
  require_env K8SU_AUTOSCALER_MAX
  body="{\"count\":$target,\"autoscaler\":{\"enabled\":true,\"min\":$K8SU_AUTOSCALER_MIN,\"max\":${K8SU_AUTOSCALER_MAX:?}}}"
else
  body="{\"count\":$target}"
fi
lke_api_into _resized PUT "$pool_path" "$body"
deadline=$((SECONDS + K8SU_READY_TIMEOUT_SECONDS))
while :; do
  node_names_into left "$selector"
  count=0
  if [ -n "$left" ]; then count="$(printf '%s\n' "$left" | grep -c .)"; fi
  if [ "$count" -eq "$target" ]; then break; fi
  [ "$SECONDS" -lt "$deadline" ] || die "pool $K8SU_LKE_POOL_ID still has $count node(s) registered, not $target, after ${K8SU_READY_TIMEOUT_SECONDS}s"
  pause "${K8SU_POLL_SECONDS:-10}"
done
log "pool $K8SU_LKE_POOL_ID runs $target node(s)"
