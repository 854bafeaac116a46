# Holds the next wave of a rollout for a set time after every cluster of the previous wave passed its validation.
# Env: K8SU_WAVE (the wave that soaks, from 1), K8SU_WAVE_CLUSTERS (its clusters, one per line),
# K8SU_SOAK_SECONDS (0 to K8SU_SOAK_MAX_SECONDS).
# The step only exists after the wave's validations succeeded; a stop or a bad value fails it, and the next wave
# never starts.
require_env K8SU_WAVE K8SU_WAVE_CLUSTERS
require_int K8SU_WAVE K8SU_SOAK_SECONDS
K8SU_SOAK_MAX_SECONDS="${K8SU_SOAK_MAX_SECONDS:-86400}"
require_int K8SU_SOAK_MAX_SECONDS
[ "$K8SU_SOAK_SECONDS" -le "$K8SU_SOAK_MAX_SECONDS" ] ||
  die "K8SU_SOAK_SECONDS is $K8SU_SOAK_SECONDS, more than the bound of ${K8SU_SOAK_MAX_SECONDS}s; set k8s-upgrades:rollout.soakMinutes lower"
clusters="${K8SU_WAVE_CLUSTERS//$'\n'/, }"
K8SU_STOP_NOTE="wave $K8SU_WAVE ($clusters) is upgraded and validated; the next wave did not start. Run pulumi up again to soak and go on"
log "wave $K8SU_WAVE ($clusters) validated; soaking ${K8SU_SOAK_SECONDS}s before the next wave"
deadline=$((SECONDS + K8SU_SOAK_SECONDS))
while [ "$SECONDS" -lt "$deadline" ]; do
  left=$((deadline - SECONDS))
  pause "$((left < 60 ? left : 60))"
  [ "$SECONDS" -ge "$deadline" ] || log "wave $K8SU_WAVE soaking: $((deadline - SECONDS))s left"
done
log "wave $K8SU_WAVE soaked ${K8SU_SOAK_SECONDS}s; the next wave may start"
