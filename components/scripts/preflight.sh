# Pre-flight: refuses to start an upgrade on a cluster that is not healthy enough to survive one. Every check
# rests on a call that succeeded; a failed call stops it, so it never passes on what it could not read.
# Env: K8SU_TARGET_MINOR (the minor the control plane goes to); K8SU_REMOVED_APIS, one "<group>/<version> <resource>
# [no-replacement]" a line for each API version the target stops serving (components/removed-apis.ts, from
# kubernetes.io's Deprecated API Migration Guide), empty when it removes none.
require_env K8SU_TARGET_MINOR
[ -n "${K8SU_REMOVED_APIS+set}" ] || die "environment variable K8SU_REMOVED_APIS is not set: the program passes the API versions $K8SU_TARGET_MINOR removes (components/removed-apis.ts)"
setup_kubeconfig
problems=()
table="" failing="" budgets="" verdict=""

kube_into ignored get --raw=/readyz
log "API server ready"

node_table_into table ""
[ -n "$table" ] || die "the cluster lists no nodes at all; check that the kubeconfig points at the right cluster"
while IFS=$'\t' read -r name version status _; do
  [ -n "$name" ] || continue
  if [ "$status" != "True" ]; then problems+=("node $name is not Ready (Ready=${status:-Unknown}, kubelet $version)"); fi
done <<< "$table"

# A kube-system pod fails the check when it is not Running (or done), and also when Running with a container
# that cannot start: its phase stays Running while a container waits in CrashLoopBackOff or ImagePullBackOff.
kube_into failing get pods --namespace kube-system \
  -o 'jsonpath={range .items[*]}{.metadata.name}{"\t"}{.status.phase}{"\t"}{range .status.initContainerStatuses[*]}{.name}{"="}{.state.waiting.reason}{" "}{end}{range .status.containerStatuses[*]}{.name}{"="}{.state.waiting.reason}{" "}{end}{"\n"}{end}'
system_pods=0
while IFS=$'\t' read -r pod phase waiting; do
  [ -n "$pod" ] || continue
  system_pods=$((system_pods + 1))
  if [ "$phase" != "Running" ] && [ "$phase" != "Succeeded" ]; then problems+=("kube-system pod $pod ($phase) is not Running"); continue; fi
  for entry in $waiting; do
    case "${entry#*=}" in
      CrashLoopBackOff|ImagePullBackOff|ErrImagePull|InvalidImageName|CreateContainerConfigError|CreateContainerError|RunContainerError)
        problems+=("kube-system pod $pod: container ${entry%%=*} is waiting in ${entry#*=}") ;;
    esac
  done
done <<< "$failing"
log "checked $system_pods kube-system pod(s): phase, and containers waiting in CrashLoopBackOff, ImagePullBackOff or another start failure"

# Removed APIs, three ways, each saying what it covered. (1) The apiserver_requested_deprecated_apis metric: it
# counts requests to this API server instance since it started, so it misses other instances and anything older.
# (2) The live objects of each API version the target stops serving, listed through that version: those some client
# wrote through it (metadata.managedFields keeps the API version each manager used; kubectl apply's
# last-applied-configuration too) are named, and every object of a resource removed with no replacement.
# (3) kubent and pluto, when installed. Without the metric (no permission on /metrics), (2) still runs.
if metrics="$(kubectl --request-timeout="${K8SU_REQUEST_TIMEOUT_SECONDS}s" get --raw /metrics 2>"$K8SU_WORK_DIR/metrics.err")"; then
  deprecated="$(grep '^apiserver_requested_deprecated_apis{' <<< "$metrics" || :)"
  in_use=0
  while IFS= read -r line; do
    removed="$(sed -n 's/.*removed_release="\([0-9.]*\)".*/\1/p' <<< "$line")"
    [ -n "$removed" ] || continue
    if [ "$(printf '%s\n%s\n' "$removed" "$K8SU_TARGET_MINOR" | sort -V | head -n 1)" = "$removed" ]; then
      group="$(sed -n 's/.*[{,]group="\([^"]*\)".*/\1/p' <<< "$line")"
      version="$(sed -n 's/.*[{,]version="\([^"]*\)".*/\1/p' <<< "$line")"
      resource="$(sed -n 's/.*[{,]resource="\([^"]*\)".*/\1/p' <<< "$line")"
      problems+=("deprecated API in use that $removed removes: ${group:+$group/}$version $resource")
      in_use=$((in_use + 1))
    fi
  done <<< "$deprecated"
  log "removed APIs, requests: $in_use requested API version(s) that $K8SU_TARGET_MINOR or earlier removes, as counted by the API server instance that answered since it started (apiserver_requested_deprecated_apis; other instances and older requests are not seen)"
elif command -v kubent >/dev/null 2>&1 || command -v pluto >/dev/null 2>&1; then
  log "removed APIs, requests: not checked, /metrics could not be read ($(head -c 200 "$K8SU_WORK_DIR/metrics.err")); the live objects and kubent/pluto stand in"
else
  text="$(head -c 300 "$K8SU_WORK_DIR/metrics.err")"
  die "could not read the API server's /metrics to find deprecated APIs in use: $text. $(api_hint "$text"); or install kubent or pluto on the machine running pulumi"
fi

# shellcheck disable=SC2016
K8SU_WRITTEN_THROUGH_JS='
const fs = require("fs");
const [file, gv, flag] = process.argv.slice(1);
const items = JSON.parse(fs.readFileSync(file, "utf8")).items || [];
const through = (o) => {
  const m = o.metadata || {};
  if ((m.managedFields || []).some((f) => f.apiVersion === gv)) return true;
  const applied = (m.annotations || {})["kubectl.kubernetes.io/last-applied-configuration"];
  if (!applied) return false;
  try { return JSON.parse(applied).apiVersion === gv; } catch { return false; }
};
const hit = items.filter((o) => flag === "no-replacement" || through(o));
const name = (o) => (o.metadata.namespace ? o.metadata.namespace + "/" : "") + o.metadata.name;
console.log(items.length + "\t" + hit.length + "\t" + hit.slice(0, 10).map(name).join(", ") + (hit.length > 10 ? ", ..." : ""));
'
removed_apis=0 served=0
while read -r -u 3 gv resource flag; do
  [ -n "$gv" ] || continue
  removed_apis=$((removed_apis + 1))
  if ! listing="$(kubectl --request-timeout="${K8SU_REQUEST_TIMEOUT_SECONDS}s" get --raw "/apis/$gv/$resource" 2>"$K8SU_WORK_DIR/removed.err")"; then
    text="$(tail -n 3 "$K8SU_WORK_DIR/removed.err")"
    # Not served by this cluster (already removed, or its group not installed): no object can be written through it.
    if [[ "$text" == *NotFound* ]] || [[ "$text" == *"could not find the requested resource"* ]]; then
      log "removed APIs, live objects: $gv $resource is not served by this cluster"
      continue
    fi
    die "kubectl get --raw /apis/$gv/$resource failed against ${K8SU_API_SERVER:-the API server}: ${text:0:600}. $(api_hint "$text")"
  fi
  served=$((served + 1))
  printf '%s' "$listing" > "$K8SU_WORK_DIR/removed.json"
  node_into verdict "$K8SU_WRITTEN_THROUGH_JS" "$K8SU_WORK_DIR/removed.json" "$gv" "${flag:-}"
  IFS=$'\t' read -r total hits names <<< "$verdict"
  if [ "${hits:-0}" -gt 0 ]; then
    if [ "${flag:-}" = no-replacement ]; then
      problems+=("$hits $resource of $gv, which $K8SU_TARGET_MINOR removes with no replacement: $names")
    else
      problems+=("$hits of $total $resource written through $gv, which $K8SU_TARGET_MINOR removes: $names; move their manifests and clients to a served version")
    fi
  fi
  log "removed APIs, live objects: $gv $resource: $total object(s), ${hits:-0} written through $gv"
done 3<<< "$K8SU_REMOVED_APIS"
if [ "$removed_apis" -eq 0 ]; then
  log "removed APIs, live objects: $K8SU_TARGET_MINOR stops serving no API version (kubernetes.io deprecation guide)"
else
  log "removed APIs, live objects: checked the $removed_apis API version(s) $K8SU_TARGET_MINOR stops serving, $served served here"
fi

if command -v kubent >/dev/null 2>&1; then
  kubent --exit-error -t "$K8SU_TARGET_MINOR.0" >&2 || problems+=("kubent found APIs removed in $K8SU_TARGET_MINOR, or could not check (see above)")
  log "removed APIs, kubent: manifests, Helm releases and last-applied configurations checked against $K8SU_TARGET_MINOR"
fi
# pluto exits 2 when it finds deprecated versions only, 3 when it finds removed ones, 1 when it fails.
if command -v pluto >/dev/null 2>&1; then
  code=0
  pluto detect-all-in-cluster --target-versions "k8s=v$K8SU_TARGET_MINOR.0" >&2 || code=$?
  if [ "$code" -eq 3 ]; then problems+=("pluto found APIs removed in $K8SU_TARGET_MINOR (see above)"); fi
  if [ "$code" -ne 0 ] && [ "$code" -ne 2 ] && [ "$code" -ne 3 ]; then problems+=("pluto could not check the cluster (exit $code, see above)"); fi
  log "removed APIs, pluto: Helm releases and last-applied configurations checked against $K8SU_TARGET_MINOR (exit $code)"
fi

# PodDisruptionBudgets that allow no disruption at all would stall every drain.
kube_into budgets get poddisruptionbudgets --all-namespaces \
  -o 'jsonpath={range .items[*]}{.metadata.namespace}/{.metadata.name}{"\t"}{.status.disruptionsAllowed}{"\t"}{.status.expectedPods}{"\n"}{end}'
while IFS=$'\t' read -r pdb allowed expected; do
  [ -n "$pdb" ] || continue
  if [ "${allowed:-0}" -eq 0 ] && [ "${expected:-0}" -gt 0 ]; then
    problems+=("PodDisruptionBudget $pdb allows no disruption ($expected pod(s) expected, 0 may be evicted): raise replicas or relax the budget")
  fi
done <<< "$budgets"

if [ "${#problems[@]}" -gt 0 ]; then
  log "pre-flight found ${#problems[@]} problem(s):"
  printf '  - %s\n' "${problems[@]}" >&2
  die "pre-flight checks failed; nothing was changed"
fi
log "pre-flight passed for an upgrade to $K8SU_TARGET_MINOR"
