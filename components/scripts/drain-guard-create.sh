# The drain guard does nothing when created; its delete-time script drains the pool before the pool is deleted.
require_env K8SU_SELECTOR
log "drain guard armed for $K8SU_SELECTOR"
