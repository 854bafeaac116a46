# Moves the inline System pool to the control plane's minor through the agent pool API, after the control plane's
# own upgrade. The managed cluster's PUT must leave every pool's orchestratorVersion unchanged (or all of them equal
# to the new control plane): pools that are separate AgentPools are not in that PUT, so the System pool keeps its
# version there and moves here, as `az aks nodepool upgrade` does (AKS's surge upgrade with the pool's settings).
# Env: K8SU_AKS_RESOURCE_GROUP, K8SU_AKS_CLUSTER, K8SU_AKS_POOL, K8SU_TARGET_MINOR, K8SU_TIMEOUT_SECONDS.
require_env K8SU_AKS_RESOURCE_GROUP K8SU_AKS_CLUSTER K8SU_AKS_POOL K8SU_TARGET_MINOR K8SU_TIMEOUT_SECONDS
require_int K8SU_TIMEOUT_SECONDS
need az
pool="agent pool $K8SU_AKS_POOL of $K8SU_AKS_RESOURCE_GROUP/$K8SU_AKS_CLUSTER"
nodepool() {
  az aks nodepool "$1" --resource-group "$K8SU_AKS_RESOURCE_GROUP" --cluster-name "$K8SU_AKS_CLUSTER" \
    --name "$K8SU_AKS_POOL" "${@:2}"
}
deadline=$((SECONDS + K8SU_TIMEOUT_SECONDS))
# Sets `current` (the running minor) and `provisioning` once no operation runs on the pool.
read_pool() {
  local state version
  while :; do
    state="$(nodepool show --query '[currentOrchestratorVersion,provisioningState]' --output tsv)" \
      || die "cannot read the $pool; check the Azure credentials of 'pulumi up' (az login)"
    version="${state%%[[:space:]]*}"
    provisioning="${state##*[[:space:]]}"
    [[ "$version" =~ ^[0-9]+\.[0-9]+(\.[0-9]+)?$ ]] || die "AKS reported no readable version for the $pool (got '$version')"
    current="$(printf '%s' "$version" | cut -d. -f1-2)"
    case "$provisioning" in
      Succeeded|Failed|Canceled) return 0 ;;
    esac
    [ "$SECONDS" -lt "$deadline" ] || die "the $pool is still $provisioning after ${K8SU_TIMEOUT_SECONDS}s; watch it with 'az aks nodepool show', then run 'pulumi up' again"
    log "the $pool is $provisioning; waiting"
    pause "${K8SU_POLL_SECONDS:-30}"
  done
}
read_pool
if [ "$current" = "$K8SU_TARGET_MINOR" ]; then
  log "the $pool runs $K8SU_TARGET_MINOR"
  exit 0
fi
log "the $pool runs $current; upgrading it to $K8SU_TARGET_MINOR (AKS's surge upgrade)"
nodepool upgrade --kubernetes-version "$K8SU_TARGET_MINOR" --yes --no-wait --output none \
  || die "AKS refused the upgrade of the $pool to $K8SU_TARGET_MINOR"
# Until the pool reports the target and Succeeded: a read right after the request may still show the old state.
while :; do
  pause "${K8SU_POLL_SECONDS:-30}"
  read_pool
  case "$provisioning" in
    Failed|Canceled) die "the upgrade of the $pool ended $provisioning at $current; see 'az aks nodepool show', then run 'pulumi up' again" ;;
  esac
  [ "$current" = "$K8SU_TARGET_MINOR" ] && break
  [ "$SECONDS" -lt "$deadline" ] || die "the $pool still runs $current after ${K8SU_TIMEOUT_SECONDS}s, not $K8SU_TARGET_MINOR; watch it with 'az aks nodepool show', then run 'pulumi up' again"
done
log "the $pool now runs $K8SU_TARGET_MINOR"
