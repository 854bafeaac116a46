# Runs a command the user configured (e.g. the CNI upgrade) with the cluster's kubeconfig.
# Env: K8SU_COMMAND.
require_env K8SU_COMMAND
setup_kubeconfig
log "running: $K8SU_COMMAND"
bash -c "$K8SU_COMMAND"
