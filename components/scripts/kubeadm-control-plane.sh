# One control plane node's kubeadm step: the target's package repository (minor upgrades), kubeadm at the
# target, then `kubeadm upgrade plan` and `kubeadm upgrade apply` on the first node, `kubeadm upgrade node`
# on the others. kubeadm upgrade is idempotent, so running this again after a failure completes it.
# Parameters: K8SU_TARGET_VERSION, K8SU_PACKAGE_MANAGER, K8SU_SWITCH_REPOSITORY (true|false), K8SU_FIRST (true|false).
require_env K8SU_TARGET_VERSION K8SU_PACKAGE_MANAGER K8SU_SWITCH_REPOSITORY K8SU_FIRST
if [ "$K8SU_SWITCH_REPOSITORY" = "true" ]; then switch_repository; fi
install_packages kubeadm
installed="$(as_root kubeadm version -o short)"
[ "${installed#v}" = "$K8SU_TARGET_VERSION" ] || die "kubeadm reports $installed after installing $K8SU_TARGET_VERSION"
if [ "$K8SU_FIRST" = "true" ]; then
  as_root kubeadm upgrade plan "v$K8SU_TARGET_VERSION" >&2
  as_root kubeadm upgrade apply "v$K8SU_TARGET_VERSION" --yes >&2
else
  as_root kubeadm upgrade node >&2
fi
log "control plane on $(hostname) upgraded to $K8SU_TARGET_VERSION"
