# Shared helpers. Every parameter arrives through the environment (K8SU_*); secrets too, never as arguments.
set -euo pipefail
umask 077

log() { printf '[k8s-upgrades] %s\n' "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "$1 is not installed on the machine running pulumi; install it and run again"; }
require_env() {
  local name
  for name in "$@"; do
    [ -n "${!name:-}" ] || die "environment variable $name is not set"
  done
}

K8SU_WORK_DIR="$(mktemp -d)"
cleanup() { rm -rf "$K8SU_WORK_DIR"; }
trap cleanup EXIT

# The kubeconfig arrives base64-encoded (or plain) in the environment, lands in a 0600 file inside the
# work directory, and is removed on exit. It is never echoed.
setup_kubeconfig() {
  need kubectl
  KUBECONFIG="$K8SU_WORK_DIR/kubeconfig"
  export KUBECONFIG
  if [ -n "${K8SU_KUBECONFIG_B64:-}" ]; then
    printf '%s' "$K8SU_KUBECONFIG_B64" | base64 -d > "$KUBECONFIG" || die "the kubeconfig given in K8SU_KUBECONFIG_B64 is not base64"
  elif [ -n "${K8SU_KUBECONFIG:-}" ]; then
    printf '%s\n' "$K8SU_KUBECONFIG" > "$KUBECONFIG"
  else
    die "no kubeconfig: set K8SU_KUBECONFIG_B64 or K8SU_KUBECONFIG"
  fi
  unset K8SU_KUBECONFIG_B64 K8SU_KUBECONFIG
}

# "v1.31.4+lke1" -> "1.31"
minor_of() {
  local v="${1#v}"
  local major="${v%%.*}"
  local rest="${v#*.}"
  printf '%s.%s' "$major" "${rest%%[!0-9]*}"
}

# name <TAB> kubeletVersion <TAB> Ready status <TAB> unschedulable, one line per node matching a selector ("" for all).
node_table() {
  local selector="${1:-}"
  local args=(get nodes -o 'jsonpath={range .items[*]}{.metadata.name}{"\t"}{.status.nodeInfo.kubeletVersion}{"\t"}{range .status.conditions[?(@.type=="Ready")]}{.status}{end}{"\t"}{.spec.unschedulable}{"\n"}{end}')
  if [ -n "$selector" ]; then args+=(-l "$selector"); fi
  kubectl "${args[@]}"
}

node_names() {
  kubectl get nodes -l "$1" -o 'jsonpath={range .items[*]}{.metadata.name}{"\n"}{end}' | sort
}

# Pods on a node that a drain must move (everything but DaemonSet pods and mirror pods).
pods_to_move() {
  kubectl get pods --all-namespaces --field-selector "spec.nodeName=$1" \
    -o 'jsonpath={range .items[*]}{.metadata.namespace}/{.metadata.name}{"\t"}{.metadata.ownerReferences[0].kind}{"\t"}{.metadata.annotations.kubernetes\.io/config\.mirror}{"\n"}{end}' \
    | awk -F'\t' '$2 != "DaemonSet" && $3 == "" {print $1}'
}

cordon_nodes() {
  local node
  for node in "$@"; do
    kubectl cordon "$node" >/dev/null
    log "cordoned $node"
  done
}

# Waits until at least $2 nodes matching selector $1 are Ready at minor $3; fails after $4 seconds.
wait_nodes_ready() {
  local selector="$1" expected="$2" minor="$3" timeout="$4"
  local deadline=$((SECONDS + timeout)) ready=0
  while :; do
    ready=0
    while IFS=$'\t' read -r name version status _; do
      [ -n "$name" ] || continue
      if [ "$status" = "True" ] && [ "$(minor_of "$version")" = "$minor" ]; then ready=$((ready + 1)); fi
    done < <(node_table "$selector")
    if [ "$ready" -ge "$expected" ]; then
      log "$ready node(s) matching $selector Ready at $minor"
      return 0
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      log "nodes matching $selector after ${timeout}s:"
      node_table "$selector" | awk -F'\t' '{printf "  - %s version=%s ready=%s\n", $1, $2, ($3 == "" ? "Unknown" : $3)}' >&2
      die "only $ready of $expected node(s) matching $selector became Ready at $minor within ${timeout}s"
    fi
    sleep "${K8SU_POLL_SECONDS:-10}"
  done
}

# kubectl drain through the eviction API: PodDisruptionBudgets hold it back until the timeout.
drain_node() {
  local args=(drain "$1" --ignore-daemonsets "--grace-period=$K8SU_GRACE_SECONDS" "--timeout=${K8SU_DRAIN_TIMEOUT_SECONDS}s")
  if [ "$K8SU_DELETE_EMPTYDIR_DATA" = "true" ]; then args+=(--delete-emptydir-data); fi
  kubectl "${args[@]}"
}

report_blockers() {
  local node pods
  for node in "$@"; do
    pods="$(pods_to_move "$node" || true)"
    if [ -n "$pods" ]; then
      log "pods still on $node (check their PodDisruptionBudgets, emptyDir volumes and owners):"
      printf '%s\n' "$pods" | sed 's/^/  - /' >&2
    fi
  done
}

# Drains the given nodes in batches of K8SU_BATCH_SIZE, nodes of a batch in parallel, soaking between batches.
# The nodes must already be cordoned. On failure the nodes stay cordoned and the blocking pods are named.
drain_in_batches() {
  local nodes=("$@") total=$# start=0 batch_no=0 node idx
  while [ "$start" -lt "$total" ]; do
    local batch=("${nodes[@]:start:K8SU_BATCH_SIZE}") pids=() failed=()
    batch_no=$((batch_no + 1))
    log "drain batch $batch_no: ${batch[*]}"
    for node in "${batch[@]}"; do
      drain_node "$node" >"$K8SU_WORK_DIR/drain-$node.log" 2>&1 &
      pids+=("$!")
    done
    for idx in "${!pids[@]}"; do
      wait "${pids[$idx]}" || failed+=("${batch[$idx]}")
    done
    for node in "${batch[@]}"; do sed "s/^/  [$node] /" "$K8SU_WORK_DIR/drain-$node.log" >&2; done
    if [ "${#failed[@]}" -gt 0 ]; then
      report_blockers "${failed[@]}"
      die "drain did not finish for ${failed[*]}; the nodes stay cordoned and their pool stays in place. Fix the blocker and run 'pulumi up' again"
    fi
    start=$((start + K8SU_BATCH_SIZE))
    if [ "$start" -lt "$total" ] && [ "$K8SU_SOAK_SECONDS" -gt 0 ]; then
      log "soak ${K8SU_SOAK_SECONDS}s before the next batch"
      sleep "$K8SU_SOAK_SECONDS"
    fi
  done
}

# Calls the Linode API. The token goes to curl on stdin as a config line, never as an argument.
# A failure stops the script with the method, path and the API's answer (which never holds the token).
lke_api() {
  local method="$1" path="$2" body="${3:-}" out
  need curl
  require_env LINODE_TOKEN
  local args=(--silent --show-error --fail-with-body --retry 5 --retry-delay 5 --request "$method" --header "Content-Type: application/json" --config -)
  if [ -n "$body" ]; then args+=(--data "$body"); fi
  if ! out="$(printf 'header = "Authorization: Bearer %s"\n' "$LINODE_TOKEN" | curl "${args[@]}" "${LINODE_API_URL:-https://api.linode.com/v4}$path" 2>"$K8SU_WORK_DIR/curl.err")"; then
    die "Linode API $method $path failed: $(head -c 300 "$K8SU_WORK_DIR/curl.err") $(printf '%s' "$out" | head -c 500). Check LINODE_TOKEN (or linode:token) and the cluster id"
  fi
  printf '%s' "$out"
}

# Reads one top-level field of a JSON document on stdin (node is there: Pulumi's TypeScript runtime needs it).
json_field() {
  node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const v=JSON.parse(s)[process.argv[1]];process.stdout.write(v===undefined||v===null?"":String(v))})' "$1"
}
