# Retires a blue Cluster API MachineDeployment in batches: scale it down by K8SU_BATCH_SIZE, wait until that many
# Machines are gone (Cluster API drains each one first, PodDisruptionBudgets respected, and with no
# nodeDrainTimeout it never gives up and deletes anyway), soak, repeat until none is left. The deadline is ours:
# a batch that is not gone within K8SU_DRAIN_TIMEOUT_SECONDS fails the update while its machines still exist.
# Safe to run again: it starts from the replicas the MachineDeployment has now.
# Every kubectl call has the request timeout (kube_into): a call that fails or hangs stops the script, naming the
# call, the management cluster's API server and what to check, before anything else is changed.
# Env: K8SU_MACHINE_DEPLOYMENT, K8SU_NAMESPACE, K8SU_BATCH_SIZE, K8SU_SOAK_SECONDS, K8SU_DRAIN_TIMEOUT_SECONDS (management kubeconfig).
require_env K8SU_MACHINE_DEPLOYMENT K8SU_NAMESPACE K8SU_BATCH_SIZE K8SU_SOAK_SECONDS K8SU_DRAIN_TIMEOUT_SECONDS
require_int K8SU_BATCH_SIZE K8SU_SOAK_SECONDS K8SU_DRAIN_TIMEOUT_SECONDS
[ "$K8SU_BATCH_SIZE" -ge 1 ] || die "K8SU_BATCH_SIZE must be at least 1"
setup_kubeconfig
md="machinedeployments.cluster.x-k8s.io/$K8SU_MACHINE_DEPLOYMENT"
replicas="" listed="" status=""

# The Machines the MachineDeployment owns now, into VAR: name <TAB> phase <TAB> node, one per line.
machines_into() {
  kube_into "$1" --namespace "$K8SU_NAMESPACE" get machines.cluster.x-k8s.io -l "cluster.x-k8s.io/deployment-name=$K8SU_MACHINE_DEPLOYMENT" \
    -o 'jsonpath={range .items[*]}{.metadata.name}{"\t"}{.status.phase}{"\t"}{.status.nodeRef.name}{"\n"}{end}'
}
count_lines() { printf '%s\n' "$1" | awk 'NF { n++ } END { print n + 0 }'; }

kube_into replicas --namespace "$K8SU_NAMESPACE" get "$md" -o 'jsonpath={.spec.replicas}'
[[ "$replicas" =~ ^[0-9]+$ ]] || die "$md reports spec.replicas '${replicas}', not a number"
machines_into listed
log "$md: $replicas replica(s), $(count_lines "$listed") machine(s); retiring $K8SU_BATCH_SIZE at a time"
batch_no=0
while :; do
  machines_into listed
  left="$(count_lines "$listed")"
  if [ "$replicas" -eq 0 ] && [ "$left" -eq 0 ]; then break; fi
  target=$((replicas - K8SU_BATCH_SIZE))
  if [ "$target" -lt 0 ]; then target=0; fi
  batch_no=$((batch_no + 1))
  if [ "$target" -lt "$replicas" ]; then
    kube_into ignored --namespace "$K8SU_NAMESPACE" scale "$md" --replicas="$target"
    log "batch $batch_no: $md scaled to $target; Cluster API drains the machines it removes"
  fi
  replicas="$target"
  deadline=$((SECONDS + K8SU_DRAIN_TIMEOUT_SECONDS))
  while :; do
    machines_into listed
    left="$(count_lines "$listed")"
    kube_into status --namespace "$K8SU_NAMESPACE" get "$md" -o 'jsonpath={.status.replicas}'
    if [ "$left" -le "$target" ] && [ "${status:-0}" = "$target" ]; then break; fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      log "machines of $md still there after ${K8SU_DRAIN_TIMEOUT_SECONDS}s (name, phase, node):"
      printf '%s\n' "$listed" | sed 's/^/  - /' >&2
      die "batch $batch_no of $md did not drain within ${K8SU_DRAIN_TIMEOUT_SECONDS}s; its machines still exist and Cluster API keeps draining them without deleting anything undrained. Check the PodDisruptionBudgets of the pods on those nodes, then run 'pulumi up' again"
    fi
    pause "${K8SU_POLL_SECONDS:-10}"
  done
  log "batch $batch_no done: $left machine(s) left"
  if [ "$target" -gt 0 ] && [ "$K8SU_SOAK_SECONDS" -gt 0 ]; then
    log "soak ${K8SU_SOAK_SECONDS}s before the next batch"
    pause "$K8SU_SOAK_SECONDS"
  fi
done
log "$md has no machines left"
echo "retired $K8SU_MACHINE_DEPLOYMENT"
