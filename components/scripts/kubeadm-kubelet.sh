# One drained node's kubelet step. Workers first get the target's repository and kubeadm and run
# `kubeadm upgrade node`; every node then gets kubelet and kubectl at the target and a kubelet restart.
# Parameters: K8SU_TARGET_VERSION, K8SU_PACKAGE_MANAGER, K8SU_SWITCH_REPOSITORY (true|false), K8SU_ROLE (control-plane|worker).
require_env K8SU_TARGET_VERSION K8SU_PACKAGE_MANAGER K8SU_SWITCH_REPOSITORY K8SU_ROLE
if [ "$K8SU_ROLE" = "worker" ]; then
  if [ "$K8SU_SWITCH_REPOSITORY" = "true" ]; then switch_repository; fi
  install_packages kubeadm
  as_root kubeadm upgrade node >&2
fi
install_packages kubelet kubectl
restart_kubelet
