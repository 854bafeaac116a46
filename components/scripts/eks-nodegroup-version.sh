# Makes sure a managed node group really runs the target minor after its in-place (rolling) update.
# When an update fails (PodEvictionFailure after 15 minutes of blocked evictions), the AWS provider returns the
# error without partial mode, so the planned version is saved in state anyway (terraform-plugin-sdk#476), and the
# next `pulumi up` sees no diff and never re-issues the update (pulumi/pulumi#21458). This step asks EKS what runs
# and, when the node group lags, issues the version update itself and waits for it.
# Env: K8SU_EKS_CLUSTER, K8SU_NODEGROUP, K8SU_TARGET_MINOR, K8SU_FORCE (true|false), K8SU_TIMEOUT_SECONDS, K8SU_AWS_REGION (optional).
require_env K8SU_EKS_CLUSTER K8SU_NODEGROUP K8SU_TARGET_MINOR K8SU_FORCE K8SU_TIMEOUT_SECONDS
need aws
eks() {
  local region=()
  if [ -n "${K8SU_AWS_REGION:-}" ]; then region=(--region "$K8SU_AWS_REGION"); fi
  aws "${region[@]}" --cli-connect-timeout 30 --cli-read-timeout 60 eks "$@"
}
group="node group $K8SU_NODEGROUP of $K8SU_EKS_CLUSTER"
deadline=$((SECONDS + K8SU_TIMEOUT_SECONDS))
# version <TAB> status, once no update is running.
while :; do
  state="$(eks describe-nodegroup --cluster-name "$K8SU_EKS_CLUSTER" --nodegroup-name "$K8SU_NODEGROUP" --query 'nodegroup.[version,status]' --output text)" \
    || die "cannot describe the $group; check the AWS credentials of 'pulumi up'"
  version="${state%%[[:space:]]*}"
  status="${state##*[[:space:]]}"
  [ "$status" != "UPDATING" ] && break
  [ "$SECONDS" -lt "$deadline" ] || die "the $group is still UPDATING after ${K8SU_TIMEOUT_SECONDS}s"
  log "the $group is UPDATING; waiting"
  sleep "${K8SU_POLL_SECONDS:-30}"
done
[ -n "$version" ] || die "EKS reported no version for the $group"
if [ "$version" = "$K8SU_TARGET_MINOR" ]; then
  log "the $group runs $K8SU_TARGET_MINOR"
  exit 0
fi
log "the $group runs $version, not $K8SU_TARGET_MINOR: its last update did not finish; issuing the version update again"
force=(--no-force)
if [ "$K8SU_FORCE" = "true" ]; then force=(--force); fi
update="$(eks update-nodegroup-version --cluster-name "$K8SU_EKS_CLUSTER" --nodegroup-name "$K8SU_NODEGROUP" \
  --kubernetes-version "$K8SU_TARGET_MINOR" "${force[@]}" --query 'update.id' --output text)" \
  || die "EKS refused the version update of the $group"
[ -n "$update" ] || die "EKS returned no update id for the $group"
while :; do
  result="$(eks describe-update --name "$K8SU_EKS_CLUSTER" --nodegroup-name "$K8SU_NODEGROUP" --update-id "$update" --query 'update.status' --output text)" \
    || die "cannot read update $update of the $group"
  case "$result" in
    Successful) log "the $group now runs $K8SU_TARGET_MINOR (update $update)"; exit 0 ;;
    Failed|Cancelled)
      errors="$(eks describe-update --name "$K8SU_EKS_CLUSTER" --nodegroup-name "$K8SU_NODEGROUP" --update-id "$update" --query 'update.errors' --output json || true)"
      printf '%s\n' "$errors" >&2
      die "update $update of the $group is $result. A PodEvictionFailure means PodDisruptionBudgets kept pods on a node for 15 minutes: fix them (or set eks.forceUpdateVersion) and run 'pulumi up' again" ;;
  esac
  [ "$SECONDS" -lt "$deadline" ] || die "update $update of the $group is still $result after ${K8SU_TIMEOUT_SECONDS}s; watch it with 'aws eks describe-update', then run 'pulumi up' again"
  sleep "${K8SU_POLL_SECONDS:-30}"
done
