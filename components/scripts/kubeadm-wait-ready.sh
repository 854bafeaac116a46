# Waits until the nodes matching a selector are Ready and their kubelets report exactly the target version.
# kubeadm installs exact packages, so a patch upgrade (1.31.2 -> 1.31.4) is only done once the restarted
# kubelet reports the new patch; comparing minors would let it pass before the restart took effect.
# Env: K8SU_SELECTOR, K8SU_EXPECTED_NODES, K8SU_TARGET_VERSION (1.31.4), K8SU_TIMEOUT_SECONDS.
require_env K8SU_SELECTOR K8SU_EXPECTED_NODES K8SU_TARGET_VERSION K8SU_TIMEOUT_SECONDS
setup_kubeconfig
deadline=$((SECONDS + K8SU_TIMEOUT_SECONDS))
while :; do
  pending=()
  if table="$(kubectl get nodes -l "$K8SU_SELECTOR" --request-timeout="${K8SU_REQUEST_TIMEOUT_SECONDS}s" \
    -o 'jsonpath={range .items[*]}{.metadata.name}{"\t"}{.status.nodeInfo.kubeletVersion}{"\t"}{range .status.conditions[?(@.type=="Ready")]}{.status}{end}{"\n"}{end}' 2>"$K8SU_WORK_DIR/kubectl.err")"; then
    seen=0
    while IFS=$'\t' read -r name version status; do
      [ -n "$name" ] || continue
      seen=$((seen + 1))
      if [ "${version#v}" != "$K8SU_TARGET_VERSION" ]; then pending+=("node $name runs kubelet ${version:-unknown}, waiting for v$K8SU_TARGET_VERSION"); fi
      if [ "$status" != "True" ]; then pending+=("node $name is not Ready (${status:-Unknown})"); fi
    done <<< "$table"
    if [ "$seen" -lt "$K8SU_EXPECTED_NODES" ]; then pending+=("$seen node(s) match $K8SU_SELECTOR, waiting for $K8SU_EXPECTED_NODES"); fi
  else
    pending+=("listing nodes failed: $(head -c 300 "$K8SU_WORK_DIR/kubectl.err")")
  fi
  if [ "${#pending[@]}" -eq 0 ]; then
    log "every node matching $K8SU_SELECTOR is Ready at v$K8SU_TARGET_VERSION"
    exit 0
  fi
  if [ "$SECONDS" -ge "$deadline" ]; then
    printf '  - %s\n' "${pending[@]}" >&2
    die "nodes matching $K8SU_SELECTOR did not all reach v$K8SU_TARGET_VERSION Ready within ${K8SU_TIMEOUT_SECONDS}s"
  fi
  sleep "${K8SU_POLL_SECONDS:-10}"
done
