# Runs a command the user configured (e.g. the CNI upgrade) with the cluster's kubeconfig. A signal stops it.
# Env: K8SU_COMMAND.
require_env K8SU_COMMAND
setup_kubeconfig
log "running: $K8SU_COMMAND"
K8SU_STOP_NOTE="the configured command was stopped part-way; run 'pulumi up' again"
bash -c "$K8SU_COMMAND" &
K8SU_CHILDREN+=("$!")
if wait "$!"; then
  log "the configured command succeeded"
else
  die "the configured command failed (exit $?): $K8SU_COMMAND. Its output is above"
fi
