# In-place worker upgrade of one LKE pool with one surge node, as the LKE runbook does it by hand: grow the
# pool by one from its real size (read from the LKE API), then one old node at a time: check the room for
# its pods elsewhere, cordon, drain, recycle it, wait for its replacement Ready at the target. The last old
# node is drained and deleted through the node-delete API, which removes exactly that node and shrinks the
# pool back. The pool's count is never lowered through the pool API (LKE would then remove nodes of its
# choosing, drained or not). The autoscaler's minimum is raised with the surge, so it removes nothing
# meanwhile, and restored at the end, never below the pool's size.
# Safe to run again after a failure: it works from what the nodes run, and the size before the surge is kept
# as an annotation on the old nodes, so a second run does not surge twice.
# Env: LINODE_TOKEN, K8SU_LKE_CLUSTER_ID, K8SU_LKE_POOL_ID, K8SU_TARGET_MINOR, K8SU_READY_TIMEOUT_SECONDS,
#      drain settings; K8SU_AUTOSCALER_MIN and K8SU_AUTOSCALER_MAX when autoscaled.
require_env LINODE_TOKEN K8SU_LKE_CLUSTER_ID K8SU_LKE_POOL_ID K8SU_TARGET_MINOR K8SU_READY_TIMEOUT_SECONDS \
  K8SU_DRAIN_TIMEOUT_SECONDS K8SU_DELETE_EMPTYDIR_DATA
require_int K8SU_READY_TIMEOUT_SECONDS K8SU_DRAIN_TIMEOUT_SECONDS
if [ -n "${K8SU_AUTOSCALER_MIN:-}" ]; then require_int K8SU_AUTOSCALER_MIN K8SU_AUTOSCALER_MAX; fi
setup_kubeconfig
K8SU_BATCH_SIZE=1
K8SU_SOAK_SECONDS=0
pool_path="/lke/clusters/$K8SU_LKE_CLUSTER_ID/pools/$K8SU_LKE_POOL_ID"
selector="lke.linode.com/pool-id=$K8SU_LKE_POOL_ID"
size_annotation="k8s-upgrades/in-place-size-before-surge"
K8SU_AUTOSCALER_MAX="${K8SU_AUTOSCALER_MAX:-}"
pool_json="" names="" pool_info="" pool_nodes="" pool_count=0 pool_node_ids="" old_list="" id=""

# The pool as LKE has it: pool_count, and the LKE node id of each Linode instance (pool_node_ids).
read_pool() {
  lke_api_into pool_json GET "$pool_path"
  # shellcheck disable=SC2016
  node_into pool_info 'const p = JSON.parse(process.argv[1]); if (!Number.isInteger(p.count)) throw new Error("no count");
    console.log(p.count); for (const n of p.nodes || []) console.log(n.instance_id + " " + n.id);' "$pool_json"
  pool_count="$(head -n 1 <<< "$pool_info")"
  pool_node_ids="$(tail -n +2 <<< "$pool_info")"
}

# A pool update that may raise the count or change the autoscaler, never lower the count.
update_pool() {
  local count="$1" min="$2" max="$3" body
  if [ -n "$count" ] && [ "$count" -lt "$pool_count" ]; then
    die "refusing to lower pool $K8SU_LKE_POOL_ID from $pool_count to $count through the pool API: LKE would remove nodes of its choosing"
  fi
  if [ -n "${K8SU_AUTOSCALER_MIN:-}" ]; then
    body="{${count:+\"count\":$count,}\"autoscaler\":{\"enabled\":true,\"min\":$min,\"max\":$max}}"
  elif [ -n "$count" ]; then
    body="{\"count\":$count}"
  else
    return 0
  fi
  lke_api_into ignored PUT "$pool_path" "$body"
}

# The pool's nodes: name <TAB> kubelet minor <TAB> the size-before-surge annotation.
read_nodes() {
  local json
  kube_into json get nodes -l "$selector" -o json
  # shellcheck disable=SC2016
  node_into pool_nodes 'for (const n of JSON.parse(process.argv[1]).items) console.log([n.metadata.name,
    n.status.nodeInfo.kubeletVersion, (n.metadata.annotations || {})[process.argv[2]] || "", n.spec.providerID || ""].join("\t"))' "$json" "$size_annotation"
}

# Nodes of the pool whose kubelet is not at the target minor, skipping those already handed to LKE.
old_nodes_into() {
  local name version _annotation _provider list=()
  read_nodes
  while IFS=$'\t' read -r name version _annotation _provider; do
    [ -n "$name" ] || continue
    if [ "$(minor_of "$version")" != "$K8SU_TARGET_MINOR" ] && ! is_handled "$name"; then list+=("$name"); fi
  done <<< "$pool_nodes"
  local IFS=$'\n'
  printf -v "$1" '%s' "${list[*]}"
}

is_handled() {
  local h
  for h in "${handled[@]}"; do [ "$h" != "$1" ] || return 0; done
  return 1
}

lke_node_id_into() {
  local __provider __instance __id
  __provider="$(awk -F'\t' -v n="$2" '$1 == n {print $4}' <<< "$pool_nodes")"
  __instance="${__provider#linode://}"
  [ -n "$__instance" ] || die "node $2 has no linode:// providerID"
  read_pool
  __id="$(awk -v i="$__instance" '$1 == i {print $2}' <<< "$pool_node_ids")"
  [ -n "$__id" ] || die "node $2 (Linode $__instance) is not in LKE pool $K8SU_LKE_POOL_ID"
  printf -v "$1" '%s' "$__id"
}

# Checks the room for its pods elsewhere, cordons and drains one old node.
take_out() {
  check_capacity 1 "$1"
  cordon_nodes "$1"
  drain_in_batches "$1"
}

handled=()
read_pool
old_nodes_into old_list
old=()
if [ -n "$old_list" ]; then mapfile -t old <<< "$old_list"; fi
if [ "${#old[@]}" -eq 0 ]; then
  log "every node of $selector already runs $K8SU_TARGET_MINOR"
  if [ -n "${K8SU_AUTOSCALER_MIN:-}" ]; then
    update_pool "" "$K8SU_AUTOSCALER_MIN" "$((K8SU_AUTOSCALER_MAX > pool_count ? K8SU_AUTOSCALER_MAX : pool_count))"
  fi
  exit 0
fi

# The size before the surge: recorded on the old nodes by an earlier run, or the pool's real size now.
base="$(awk -F'\t' '$3 != "" {print $3; exit}' <<< "$pool_nodes")"
if [ -z "$base" ]; then
  base="$pool_count"
  for node in "${old[@]}"; do kube_into ignored annotate --overwrite node "$node" "$size_annotation=$base"; done
fi
[[ "$base" =~ ^[0-9]+$ ]] || die "node annotation $size_annotation holds '$base', not a whole number"
surge=$((base + 1))
K8SU_STOP_NOTE="pool $K8SU_LKE_POOL_ID keeps its surge node; the node being moved stays cordoned; run 'pulumi up' again"
if [ "$pool_count" -lt "$surge" ]; then
  log "${#old[@]} node(s) of $selector to move to $K8SU_TARGET_MINOR; surging the pool from $pool_count to $surge"
  update_pool "$surge" "$surge" "$((${K8SU_AUTOSCALER_MAX:-0} > surge ? ${K8SU_AUTOSCALER_MAX:-0} : surge))"
else
  log "${#old[@]} node(s) of $selector to move to $K8SU_TARGET_MINOR; the pool already has its surge ($pool_count node(s), $base before)"
fi
wait_nodes_ready "$selector" "$((surge - ${#old[@]}))" "$K8SU_TARGET_MINOR" "$K8SU_READY_TIMEOUT_SECONDS"
while [ "${#old[@]}" -gt 1 ]; do
  node="${old[0]}"
  log "moving $node: cordon, drain, recycle"
  take_out "$node"
  lke_node_id_into id "$node"
  lke_api_into ignored POST "/lke/clusters/$K8SU_LKE_CLUSTER_ID/nodes/$id/recycle"
  handled+=("$node")
  old_nodes_into old_list
  old=()
if [ -n "$old_list" ]; then mapfile -t old <<< "$old_list"; fi
  wait_nodes_ready "$selector" "$((surge - ${#old[@]}))" "$K8SU_TARGET_MINOR" "$K8SU_READY_TIMEOUT_SECONDS"
done
node="${old[0]}"
log "last old node $node: cordon, drain, delete through the node API (the pool goes back to $base)"
take_out "$node"
lke_node_id_into id "$node"
if [ -n "${K8SU_AUTOSCALER_MIN:-}" ]; then
  # Let the pool go back to its size before the surge, and no further.
  update_pool "" "$((K8SU_AUTOSCALER_MIN < base ? K8SU_AUTOSCALER_MIN : base))" "$((K8SU_AUTOSCALER_MAX > surge ? K8SU_AUTOSCALER_MAX : surge))"
fi
lke_api_into ignored DELETE "/lke/clusters/$K8SU_LKE_CLUSTER_ID/nodes/$id"
handled+=("$node")
# LKE deletes the node later: wait until it has left the cluster.
deadline=$((SECONDS + K8SU_READY_TIMEOUT_SECONDS))
while :; do
  node_names_into names "$selector"
  if ! grep -Fqx -- "$node" <<< "$names"; then break; fi
  [ "$SECONDS" -lt "$deadline" ] || die "node $node is still in the cluster ${K8SU_READY_TIMEOUT_SECONDS}s after its deletion through the LKE API"
  pause "${K8SU_POLL_SECONDS:-10}"
done
read_pool
if [ -n "${K8SU_AUTOSCALER_MIN:-}" ]; then
  update_pool "" "$K8SU_AUTOSCALER_MIN" "$((K8SU_AUTOSCALER_MAX > pool_count ? K8SU_AUTOSCALER_MAX : pool_count))"
fi
wait_nodes_ready "$selector" "$pool_count" "$K8SU_TARGET_MINOR" "$K8SU_READY_TIMEOUT_SECONDS"
log "pool $K8SU_LKE_POOL_ID runs $K8SU_TARGET_MINOR on $pool_count node(s)${K8SU_AUTOSCALER_MIN:+; autoscaler restored}"
