# Before the control plane moves: an etcd snapshot on the first control plane node, with a dated name,
# verified with `etcdctl snapshot status`.
# Parameters: K8SU_TARGET_VERSION, K8SU_SNAPSHOT_DIR.
require_env K8SU_TARGET_VERSION K8SU_SNAPSHOT_DIR
need etcdctl
snapshot="$K8SU_SNAPSHOT_DIR/etcd-before-v$K8SU_TARGET_VERSION-$(date -u +%Y%m%dT%H%M%SZ).db"
as_root mkdir -p "$K8SU_SNAPSHOT_DIR"
as_root env ETCDCTL_API=3 etcdctl snapshot save "$snapshot" \
  --endpoints=https://127.0.0.1:2379 \
  --cacert=/etc/kubernetes/pki/etcd/ca.crt \
  --cert=/etc/kubernetes/pki/etcd/server.crt \
  --key=/etc/kubernetes/pki/etcd/server.key >&2
as_root env ETCDCTL_API=3 etcdctl snapshot status "$snapshot" --write-out=table >&2 || die "the snapshot $snapshot does not verify"
log "etcd snapshot saved and verified: $snapshot"
echo "$snapshot"
