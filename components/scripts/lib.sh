# Shared helpers. Every parameter arrives through the environment (K8SU_*); secrets too, never as arguments.
# Fail closed: every API call has a timeout and its output is captured before it is read; a call that failed
# stops the script with what failed and what to check. Nothing here reads a pipeline's or process
# substitution's output without its exit status.
set -euo pipefail
shopt -s inherit_errexit
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
# Whole numbers only: a value like "3.5" or "" would otherwise turn a check into no check.
require_int() {
  local name
  for name in "$@"; do
    [[ "${!name:-}" =~ ^[0-9]+$ ]] || die "environment variable $name must be a whole number; given '${!name:-}'"
  done
}
# True only when the variable named $1 holds exactly this cluster's name (K8SU_CLUSTER), never for any other value.
flag_for_this_cluster() {
  local value="${!1:-}"
  [ -n "${K8SU_CLUSTER:-}" ] && [ "$value" = "$K8SU_CLUSTER" ]
}

# Every kubectl request and every curl call gives up after this many seconds.
K8SU_REQUEST_TIMEOUT_SECONDS="${K8SU_REQUEST_TIMEOUT_SECONDS:-30}"
require_int K8SU_REQUEST_TIMEOUT_SECONDS

K8SU_WORK_DIR="$(mktemp -d)"
# Background children (the parallel kubectl drains, a configured command): stopped on TERM and INT.
K8SU_CHILDREN=()
# What a stop leaves behind, said when the script is stopped by a signal.
K8SU_STOP_NOTE="nothing was left half-done"
cleanup() { rm -rf "$K8SU_WORK_DIR"; }
stop_children() {
  local pid
  for pid in "${K8SU_CHILDREN[@]}"; do kill -TERM "$pid" 2>/dev/null || :; done
  for pid in "${K8SU_CHILDREN[@]}"; do wait "$pid" 2>/dev/null || :; done
  K8SU_CHILDREN=()
}
on_signal() {
  trap - TERM INT
  stop_children
  log "FAILED: stopped by SIG$1; $K8SU_STOP_NOTE"
  exit "$2"
}
trap cleanup EXIT
trap 'on_signal TERM 143' TERM
trap 'on_signal INT 130' INT

# Sleeps in the background, so that a signal is handled at once rather than after the sleep.
pause() {
  sleep "$1" &
  wait "$!"
}

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
  # Only to name the API server in messages; reading the file calls nothing.
  if ! K8SU_API_SERVER="$(kubectl config view --minify -o 'jsonpath={.clusters[0].cluster.server}' 2>/dev/null)"; then
    K8SU_API_SERVER="the API server"
  fi
}

# What to check, from an error's text.
api_hint() {
  # kubectl's error lines quote the request URL, whose "?timeout=30s" would otherwise read as a timeout.
  case "${1//\?timeout=/?}" in
    *"getting credentials"*|*"exec plugin"*|*"executable "*) printf 'the kubeconfig'"'"'s credential plugin failed: log in again (an expired session or token) and check that the plugin runs' ;;
    *Unauthorized*|*"logged in"*|*"provide credentials"*|*" 401"*) printf 'the credentials were refused: refresh the token or credentials in the kubeconfig (or LINODE_TOKEN)' ;;
    *Forbidden*|*forbidden*|*" 403"*) printf 'the credentials lack a permission: check the RBAC rules of the kubeconfig'"'"'s user' ;;
    *TooManyRequests*|*"too many requests"*|*" 429"*) printf 'the API is throttling requests: run again later' ;;
    # A server's own 500 may quote a timeout inside it ("etcdserver: request timed out"): it is the server that failed.
    *InternalError*|*"Internal Server Error"*|*" 500"*|*" 502"*|*" 503"*) printf 'the API server failed: check its health (and etcd'"'"'s)' ;;
    *Timeout*|*timeout*|*"timed out"*|*"deadline exceeded"*|*"request canceled"*) printf 'no answer within %ss (K8SU_REQUEST_TIMEOUT_SECONDS): check the network path to the API and its health' "$K8SU_REQUEST_TIMEOUT_SECONDS" ;;
    *refused*|*"no such host"*|*EOF*|*reset*|*"Failed to connect"*|*"connect:"*|*"Empty reply"*) printf 'the API cannot be reached: check the network path and that the API server is up' ;;
    *) printf 'check the credentials, the network path to the API and its health' ;;
  esac
}

# The call as a reader knows it: kubectl's arguments without output templates.
describe_call() {
  local arg skip=0 words=()
  for arg in "$@"; do
    if [ "$skip" = 1 ]; then skip=0; continue; fi
    case "$arg" in
      -o) skip=1 ;;
      -o*|--output=*|jsonpath=*) ;;
      *) words+=("$arg") ;;
    esac
  done
  printf '%s' "${words[*]}"
}

# kube_into VAR ARGS...: runs `kubectl ARGS` with the request timeout and puts its output in VAR. A failure
# stops the script, naming the call, the API server, kubectl's error and what to check. It runs in the
# calling shell (no subshell), so the stop holds wherever it is called from.
kube_into() {
  local __var="$1" __out __err="$K8SU_WORK_DIR/kubectl.err"
  shift
  if __out="$(kubectl --request-timeout="${K8SU_REQUEST_TIMEOUT_SECONDS}s" "$@" 2>"$__err")"; then
    printf -v "$__var" '%s' "$__out"
    return 0
  fi
  local text
  text="$(tail -n 3 "$__err")"
  text="${text:0:600}"
  die "kubectl $(describe_call "$@") failed against ${K8SU_API_SERVER:-the API server}${K8SU_CLUSTER:+ (cluster $K8SU_CLUSTER)}: ${text:-no error text}. $(api_hint "$text")"
}

# "v1.31.4+lke1" -> "1.31"
minor_of() {
  local v="${1#v}"
  local major="${v%%.*}"
  local rest="${v#*.}"
  printf '%s.%s' "$major" "${rest%%[!0-9]*}"
}

# node_table_into VAR SELECTOR [taints]: name <TAB> kubeletVersion <TAB> Ready status <TAB> unschedulable, one line per
# node matching the selector ("" for all); with "taints", a last column taints=<key>,<key>,... Ready is read from the
# condition of type Ready, wherever it is in the list. Empty columns collapse when read with IFS=$'\t'.
node_table_into() {
  local fields='{.metadata.name}{"\t"}{.status.nodeInfo.kubeletVersion}{"\t"}{range .status.conditions[?(@.type=="Ready")]}{.status}{end}{"\t"}{.spec.unschedulable}'
  if [ "${3:-}" = taints ]; then fields+='{"\t"}taints={range .spec.taints[*]}{.key}{","}{end}'; fi
  local args=(get nodes -o "jsonpath={range .items[*]}$fields{\"\\n\"}{end}")
  if [ -n "$2" ]; then args+=(-l "$2"); fi
  kube_into "$1" "${args[@]}"
}

# node_names_into VAR SELECTOR: the names of the nodes matching the selector, one a line, sorted.
node_names_into() {
  local __names
  kube_into __names get nodes -l "$2" -o 'jsonpath={range .items[*]}{.metadata.name}{"\n"}{end}'
  if [ -n "$__names" ]; then __names="$(sort <<< "$__names")"; fi
  printf -v "$1" '%s' "$__names"
}

# Cordons through a patch whose answer is checked: `kubectl cordon` exits 0 even when the API refuses the
# patch (kubernetes/kubernetes#89008), so its exit status proves nothing.
cordon_nodes() {
  local out node state line line_node i
  # One kubectl patch for up to 100 nodes (it sends one PATCH per node and fails if any fails): the cordon of a
  # whole pool costs one kubectl start, not one per node.
  for ((i = 1; i <= $#; i += 100)); do
    kube_into out patch node "${@:i:100}" --type=merge -p '{"spec":{"unschedulable":true}}' \
      -o 'jsonpath={.metadata.name}{"\t"}{.spec.unschedulable}{"\n"}'
    for node in "${@:i:100}"; do
      state=""
      while IFS=$'\t' read -r line_node line; do
        if [ "$line_node" = "$node" ]; then state="$line"; fi
      done <<< "$out"
      [ "$state" = "true" ] || die "node $node is not cordoned after the patch (spec.unschedulable is '${state:-unset}')"
      log "cordoned $node"
    done
  done
}

uncordon_nodes() {
  local node out
  for node in "$@"; do
    kube_into out patch node "$node" --type=merge -p '{"spec":{"unschedulable":false}}' -o 'jsonpath={.spec.unschedulable}'
    [ "$out" != "true" ] || die "node $node is still cordoned after the patch"
    log "uncordoned $node"
  done
}

# Waits until at least $2 nodes matching selector $1 are Ready at minor $3; fails after $4 seconds, or at once
# when the API does not answer.
wait_nodes_ready() {
  local selector="$1" expected="$2" minor="$3" timeout="$4"
  local deadline=$((SECONDS + timeout)) ready table name version status line
  while :; do
    ready=0
    node_table_into table "$selector" taints
    while IFS= read -r line; do
      IFS=$'\t' read -r name version status _ <<< "$line"
      [ -n "$name" ] || continue
      # Ready, and no longer tainted not-ready or unreachable: the node-lifecycle controller removes those taints
      # a few seconds after the kubelet reports Ready, and until then no pod without a toleration lands there.
      case "${line##*taints=}" in *node.kubernetes.io/not-ready,* | *node.kubernetes.io/unreachable,*) continue ;; esac
      if [ "$status" = "True" ] && [ "$(minor_of "$version")" = "$minor" ]; then ready=$((ready + 1)); fi
    done <<< "$table"
    if [ "$ready" -ge "$expected" ]; then
      log "$ready node(s) matching $selector Ready at $minor"
      return 0
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      log "nodes matching $selector after ${timeout}s:"
      while IFS= read -r line; do
        IFS=$'\t' read -r name version status _ <<< "$line"
        [ -n "$name" ] || continue
        printf '  - %s version=%s ready=%s taints=%s\n' "$name" "$version" "${status:-Unknown}" "${line##*taints=}" >&2
      done <<< "$table"
      die "only $ready of $expected node(s) matching $selector became Ready at $minor within ${timeout}s"
    fi
    pause "${K8SU_POLL_SECONDS:-10}"
  done
}

# Runs node (there wherever Pulumi's TypeScript runtime is) on a script with arguments; its output goes to VAR.
node_into() {
  local __var="$1" __out
  shift
  need node
  if ! __out="$(node -e "$@" 2>"$K8SU_WORK_DIR/node.err")"; then
    die "could not read the API's answer: $(head -c 300 "$K8SU_WORK_DIR/node.err")"
  fi
  printf -v "$__var" '%s' "$__out"
}

# Capacity by what the pods need. Compares the CPU and memory requests of the pods on the given nodes (those a
# drain moves: not DaemonSet, not mirror, not finished, not terminating) with the free room (allocatable minus
# requested) of the nodes outside them that can take pods: Ready, not cordoned, every NoSchedule/NoExecute
# taint tolerated, nodeSelector matched. Places the pods first-fit, largest first.
# Prints "ELIGIBLE <n>" (nodes that count towards the node-count floor: Ready, uncordoned, with no taint but
# the pool's own or ones every moved pod tolerates) and, when some pods do not fit, "SHORT <message>".
# shellcheck disable=SC2016
K8SU_CAPACITY_JS='
const fs = require("fs");
const [nodesFile, podsFile, ...pool] = process.argv.slice(1);
const nodes = JSON.parse(fs.readFileSync(nodesFile, "utf8")).items || [];
const pods = JSON.parse(fs.readFileSync(podsFile, "utf8")).items || [];
const inPool = new Set(pool);
const cpu = (q) => { if (q === undefined || q === null) return 0; q = String(q); return q.endsWith("m") ? parseFloat(q) : parseFloat(q) * 1000; };
const units = { "": 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const mem = (q) => { if (q === undefined || q === null) return 0; const m = /^([0-9.]+(?:e[0-9]+)?)([A-Za-z]*)$/.exec(String(q)); if (!m || !(m[2] in units)) throw new Error("unreadable quantity " + q); return parseFloat(m[1]) * units[m[2]]; };
const requests = (p) => {
  const sum = (list) => (list || []).reduce((a, c) => { const r = (c.resources || {}).requests || {}; return { cpu: a.cpu + cpu(r.cpu), mem: a.mem + mem(r.memory) }; }, { cpu: 0, mem: 0 });
  const main = sum(p.spec.containers);
  const init = (p.spec.initContainers || []).map((c) => sum([c])).reduce((a, b) => ({ cpu: Math.max(a.cpu, b.cpu), mem: Math.max(a.mem, b.mem) }), { cpu: 0, mem: 0 });
  const o = p.spec.overhead || {};
  return { cpu: Math.max(main.cpu, init.cpu) + cpu(o.cpu), mem: Math.max(main.mem, init.mem) + mem(o.memory) };
};
const finished = (p) => ["Succeeded", "Failed"].includes((p.status || {}).phase);
const daemon = (p) => (p.metadata.ownerReferences || []).some((o) => o.kind === "DaemonSet");
const mirror = (p) => !!(p.metadata.annotations || {})["kubernetes.io/config.mirror"];
const ready = (n) => ((n.status || {}).conditions || []).some((c) => c.type === "Ready" && c.status === "True");
const hard = (n) => ((n.spec || {}).taints || []).filter((t) => t.effect === "NoSchedule" || t.effect === "NoExecute");
const id = (t) => t.key + "=" + (t.value || "") + ":" + t.effect;
const tolerates = (p, t) => (p.spec.tolerations || []).some((o) => (!o.effect || o.effect === t.effect) &&
  (o.operator === "Exists" ? !o.key || o.key === t.key : o.key === t.key && (o.value || "") === (t.value || "")));
const selects = (p, n) => Object.entries(p.spec.nodeSelector || {}).every(([k, v]) => (n.metadata.labels || {})[k] === v);
const moving = pods.filter((p) => inPool.has(p.spec.nodeName) && !finished(p) && !daemon(p) && !mirror(p) && !p.metadata.deletionTimestamp);
const used = {};
for (const p of pods) {
  if (!p.spec.nodeName || finished(p)) continue;
  const r = requests(p), u = (used[p.spec.nodeName] = used[p.spec.nodeName] || { cpu: 0, mem: 0, pods: 0 });
  u.cpu += r.cpu; u.mem += r.mem; u.pods += 1;
}
const poolTaints = new Set(nodes.filter((n) => inPool.has(n.metadata.name)).flatMap((n) => hard(n).map(id)));
const room = nodes.filter((n) => !inPool.has(n.metadata.name) && ready(n) && !(n.spec || {}).unschedulable).map((n) => {
  const a = (n.status || {}).allocatable || {}, u = used[n.metadata.name] || { cpu: 0, mem: 0, pods: 0 };
  return { n, cpu: cpu(a.cpu) - u.cpu, mem: mem(a.memory) - u.mem, pods: parseInt(a.pods || "110", 10) - u.pods };
});
const eligible = room.filter((r) => hard(r.n).every((t) => poolTaints.has(id(t)) || (moving.length > 0 && moving.every((p) => tolerates(p, t)))));
console.log("ELIGIBLE " + eligible.length);
const need = moving.reduce((a, p) => { const r = requests(p); return { cpu: a.cpu + r.cpu, mem: a.mem + r.mem }; }, { cpu: 0, mem: 0 });
const free = room.reduce((a, r) => ({ cpu: a.cpu + Math.max(0, r.cpu), mem: a.mem + Math.max(0, r.mem) }), { cpu: 0, mem: 0 });
const unplaced = [];
for (const p of [...moving].sort((a, b) => requests(b).cpu - requests(a).cpu || requests(b).mem - requests(a).mem)) {
  const r = requests(p);
  const spot = room.find((s) => hard(s.n).every((t) => tolerates(p, t)) && selects(p, s.n) && s.cpu >= r.cpu && s.mem >= r.mem && s.pods >= 1);
  if (spot) { spot.cpu -= r.cpu; spot.mem -= r.mem; spot.pods -= 1; } else unplaced.push(p);
}
if (unplaced.length > 0) {
  const c = (m) => Math.round(m) + "m CPU", g = (b) => Math.round(b / 2 ** 20) + "Mi memory";
  const names = unplaced.slice(0, 8).map((p) => { const r = requests(p); return p.metadata.namespace + "/" + p.metadata.name + " (" + Math.round(r.cpu) + "m, " + Math.round(r.mem / 2 ** 20) + "Mi)"; });
  console.log("SHORT the " + moving.length + " pod(s) to move request " + c(need.cpu) + " and " + g(need.mem) +
    "; the " + room.length + " Ready, uncordoned node(s) outside have " + c(free.cpu) + " and " + g(free.mem) + " free" +
    " (short " + c(Math.max(0, need.cpu - free.cpu)) + ", " + g(Math.max(0, need.mem - free.mem)) + ")" +
    "; " + unplaced.length + " pod(s) fit on no node that tolerates their taints and matches their nodeSelector: " +
    names.join(", ") + (unplaced.length > 8 ? ", ..." : ""));
}
'

# check_capacity FLOOR NODE...: refuses (before anything changes) to take the given nodes out when the pods on
# them do not fit elsewhere, or when fewer than FLOOR nodes outside them can take pods. K8S_UPGRADES_ALLOW_SHRINK
# set to exactly this cluster's name lets a deliberate shrink through.
check_capacity() {
  local floor="$1" nodes_json pods_json verdict eligible=0 short="" tag rest
  shift
  kube_into nodes_json get nodes -o json
  kube_into pods_json get pods --all-namespaces -o json
  printf '%s' "$nodes_json" > "$K8SU_WORK_DIR/nodes.json"
  printf '%s' "$pods_json" > "$K8SU_WORK_DIR/pods.json"
  node_into verdict "$K8SU_CAPACITY_JS" "$K8SU_WORK_DIR/nodes.json" "$K8SU_WORK_DIR/pods.json" "$@"
  while read -r tag rest; do
    case "$tag" in
      ELIGIBLE) eligible="$rest" ;;
      SHORT) short="$rest" ;;
    esac
  done <<< "$verdict"
  local problem=""
  if [ "$eligible" -lt "$floor" ]; then
    problem="only $eligible Ready, schedulable node(s) outside $*; taking out $# node(s) needs $floor"
  fi
  if [ -n "$short" ]; then problem="${problem:+$problem; }$short"; fi
  [ -n "$problem" ] || { log "capacity: the pods on $* fit on the $eligible Ready, schedulable node(s) outside"; return 0; }
  if flag_for_this_cluster K8S_UPGRADES_ALLOW_SHRINK; then
    log "K8S_UPGRADES_ALLOW_SHRINK=$K8SU_CLUSTER: going on although $problem"
    return 0
  fi
  die "$problem. Nothing was cordoned or drained. Add capacity (or free it) first${K8SU_CLUSTER:+; to shrink the cluster on purpose, set K8S_UPGRADES_ALLOW_SHRINK=$K8SU_CLUSTER}"
}

# kubectl drain through the eviction API: PodDisruptionBudgets hold it back until the timeout. Each pod keeps
# its own terminationGracePeriodSeconds unless K8SU_GRACE_SECONDS overrides it. Runs in a background shell that
# stops the drain when it is told to (TERM) and also when the script itself is gone: pulumi-command cancels a
# command with SIGKILL (Go's exec.CommandContext), which no trap sees, and the drain must not run on orphaned.
# The drain is waited for directly, so its end is seen at once; a watcher beside it looks for the script every
# half second and stops the drain when the script is gone.
drain_node() {
  local args=(drain "$1" --ignore-daemonsets "--timeout=${K8SU_DRAIN_TIMEOUT_SECONDS}s" "--request-timeout=${K8SU_REQUEST_TIMEOUT_SECONDS}s")
  if [ -n "${K8SU_GRACE_SECONDS:-}" ]; then args+=("--grace-period=$K8SU_GRACE_SECONDS"); fi
  if [ "$K8SU_DELETE_EMPTYDIR_DATA" = "true" ]; then args+=(--delete-emptydir-data); fi
  local script_pid="$$" drain_pid watcher_pid code=0
  kubectl "${args[@]}" &
  drain_pid="$!"
  (
    while kill -0 "$script_pid" 2>/dev/null; do sleep 0.5; done
    kill -TERM "$drain_pid" 2>/dev/null || :
  ) &
  watcher_pid="$!"
  trap 'kill -TERM "$drain_pid" "$watcher_pid" 2>/dev/null || :; wait "$drain_pid" 2>/dev/null || :; exit 143' TERM INT
  wait "$drain_pid" || code=$?
  kill -TERM "$watcher_pid" 2>/dev/null || :
  wait "$watcher_pid" 2>/dev/null || :
  return "$code"
}

# Names the pods still on the given nodes (after a failed drain; a failure to list is said, not fatal).
report_blockers() {
  local node out pods
  for node in "$@"; do
    if ! out="$(kubectl --request-timeout="${K8SU_REQUEST_TIMEOUT_SECONDS}s" get pods --all-namespaces --field-selector "spec.nodeName=$node" \
      -o 'jsonpath={range .items[*]}{.metadata.namespace}/{.metadata.name}{"\t"}{.metadata.ownerReferences[0].kind}{"\t"}{.metadata.annotations.kubernetes\.io/config\.mirror}{"\n"}{end}' 2>&1)"; then
      log "could not list the pods still on $node: $(head -c 300 <<< "$out")"
      continue
    fi
    pods="$(awk -F'\t' '$2 != "DaemonSet" && $3 == "" && $1 != "" {print $1}' <<< "$out")"
    if [ -n "$pods" ]; then
      log "pods still on $node (check their PodDisruptionBudgets, emptyDir volumes and owners):"
      sed 's/^/  - /' <<< "$pods" >&2
    fi
  done
  # A budget counts a pod as disrupted from the moment its eviction is granted until the pod is deleted. An eviction
  # cut off in between (a drain cancelled mid-request) leaves a pod that is not going counted for up to two minutes,
  # the disruption controller's DeletionTimeout, and the budget allows nothing more meanwhile.
  if ! out="$(kubectl --request-timeout="${K8SU_REQUEST_TIMEOUT_SECONDS}s" get poddisruptionbudgets --all-namespaces \
    -o 'jsonpath={range .items[*]}{.metadata.namespace}/{.metadata.name}{"\t"}{.status.disruptedPods}{"\n"}{end}' 2>&1)"; then
    log "could not list the PodDisruptionBudgets: $(head -c 300 <<< "$out")"
    return 0
  fi
  pods="$(awk -F'\t' '$2 != "" && $2 != "{}" {print $1 " counts as being evicted: " $2}' <<< "$out")"
  if [ -n "$pods" ]; then
    log "budgets holding evictions granted but not yet carried out (a cancelled eviction is released two minutes after its time):"
    sed 's/^/  - /' <<< "$pods" >&2
  fi
}

# Drains the given nodes in batches of K8SU_BATCH_SIZE, nodes of a batch in parallel, soaking K8SU_SOAK_SECONDS
# between batches. The nodes must already be cordoned. On failure, or when stopped by a signal, the nodes stay
# cordoned (nothing here uncordons) and the blocking pods are named.
drain_in_batches() {
  local nodes=("$@") total=$# start=0 batch_no=0 node idx
  require_int K8SU_BATCH_SIZE K8SU_SOAK_SECONDS K8SU_DRAIN_TIMEOUT_SECONDS
  [ "$K8SU_BATCH_SIZE" -ge 1 ] || die "K8SU_BATCH_SIZE must be at least 1"
  if [ -n "${K8SU_GRACE_SECONDS:-}" ]; then require_int K8SU_GRACE_SECONDS; fi
  K8SU_STOP_NOTE="the nodes ${nodes[*]} stay cordoned; run 'pulumi up' again to finish the drain"
  while [ "$start" -lt "$total" ]; do
    local batch=("${nodes[@]:start:K8SU_BATCH_SIZE}") pids=() failed=()
    batch_no=$((batch_no + 1))
    log "drain batch $batch_no: ${batch[*]}"
    for node in "${batch[@]}"; do
      drain_node "$node" >"$K8SU_WORK_DIR/drain-$node.log" 2>&1 &
      pids+=("$!")
      K8SU_CHILDREN+=("$!")
    done
    for idx in "${!pids[@]}"; do
      wait "${pids[$idx]}" || failed+=("${batch[$idx]}")
    done
    K8SU_CHILDREN=()
    for node in "${batch[@]}"; do sed "s/^/  [$node] /" "$K8SU_WORK_DIR/drain-$node.log" >&2; done
    if [ "${#failed[@]}" -gt 0 ]; then
      report_blockers "${failed[@]}"
      die "drain did not finish for ${failed[*]}; the nodes stay cordoned and their pool stays in place. Fix the blocker (or the API problem shown above) and run 'pulumi up' again"
    fi
    start=$((start + K8SU_BATCH_SIZE))
    if [ "$start" -lt "$total" ] && [ "$K8SU_SOAK_SECONDS" -gt 0 ]; then
      log "soak ${K8SU_SOAK_SECONDS}s before the next batch"
      pause "$K8SU_SOAK_SECONDS"
    fi
  done
}

# lke_api_into VAR METHOD PATH [BODY]: calls the Linode API and puts the answer in VAR. The token goes to curl on
# stdin as a config line, never as an argument. Every call has a time limit (K8SU_REQUEST_TIMEOUT_SECONDS) and
# K8SU_CURL_RETRIES retries (default 5) on transient errors. A failure stops the script with the method, path,
# curl's error and the API's answer (which never holds the token).
lke_api_into() {
  local __var="$1" method="$2" path="$3" body="${4:-}" __out
  need curl
  require_env LINODE_TOKEN
  require_int K8SU_REQUEST_TIMEOUT_SECONDS
  local retries="${K8SU_CURL_RETRIES:-5}"
  [[ "$retries" =~ ^[0-9]+$ ]] || die "K8SU_CURL_RETRIES must be a whole number; given '$retries'"
  local args=(--silent --show-error --fail-with-body --max-time "$K8SU_REQUEST_TIMEOUT_SECONDS" --connect-timeout "$K8SU_REQUEST_TIMEOUT_SECONDS"
    --retry "$retries" --retry-delay 5 --request "$method" --header "Content-Type: application/json" --config -)
  if [ -n "$body" ]; then args+=(--data "$body"); fi
  if ! __out="$(printf 'header = "Authorization: Bearer %s"\n' "$LINODE_TOKEN" | curl "${args[@]}" "${LINODE_API_URL:-https://api.linode.com/v4}$path" 2>"$K8SU_WORK_DIR/curl.err")"; then
    local text
    text="$(head -c 300 "$K8SU_WORK_DIR/curl.err") $(head -c 500 <<< "$__out")"
    die "Linode API $method $path failed: $text. $(api_hint "$text"); check LINODE_TOKEN (or linode:token) and the cluster id $K8SU_LKE_CLUSTER_ID"
  fi
  printf -v "$__var" '%s' "$__out"
}

# json_field_into VAR JSON FIELD: one top-level field of a JSON document ("" when absent); unreadable JSON stops the script.
json_field_into() {
  # shellcheck disable=SC2016
  node_into "$1" 'const v = JSON.parse(process.argv[1])[process.argv[2]]; process.stdout.write(v === undefined || v === null ? "" : String(v))' "$2" "$3"
}
