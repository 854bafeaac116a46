# Before the control plane moves: an etcd snapshot on the first control plane node, with a dated name, verified.
# etcd 3.6 removed `etcdctl snapshot status`; `etcdutl snapshot status` replaces it (etcd-io/etcd#13809). kubeadm
# hosts often have neither tool: the etcd static pod's image carries both, so without etcdctl on the node the
# snapshot is taken inside the etcd container (`crictl exec`) into its data directory, a host path, then moved.
# Parameters: K8SU_TARGET_VERSION, K8SU_SNAPSHOT_DIR.
require_env K8SU_TARGET_VERSION K8SU_SNAPSHOT_DIR
node_name="$(hostname)"
name="etcd-before-v$K8SU_TARGET_VERSION-$(date -u +%Y%m%dT%H%M%SZ).db"
snapshot="$K8SU_SNAPSHOT_DIR/$name"
etcd_tls=(--endpoints=https://127.0.0.1:2379 --cacert=/etc/kubernetes/pki/etcd/ca.crt --cert=/etc/kubernetes/pki/etcd/server.crt --key=/etc/kubernetes/pki/etcd/server.key)
how_to_get="install etcdctl and etcdutl from the etcd release matching the cluster's etcd (github.com/etcd-io/etcd/releases, etcd-<version>-linux-amd64.tar.gz) into /usr/local/bin on $node_name, or make crictl available there so the snapshot runs inside the etcd static pod; or set kubeadm.etcd.external: true if etcd is not kubeadm's"
as_root mkdir -p "$K8SU_SNAPSHOT_DIR"

# "etcdctl version: 3.6.1" -> 3 and 6; a snapshot status needs etcdctl below 3.6.
etcdctl_has_status() {
  local out v rest
  out="$(as_root etcdctl version)" || return 1
  v="${out#*etcdctl version: }"
  v="${v%%[!0-9.]*}"
  rest="${v#*.}"
  [ "${v%%.*}" -lt 3 ] || { [ "${v%%.*}" -eq 3 ] && [ "${rest%%.*}" -lt 6 ]; }
}

if on_node etcdctl; then
  as_root env ETCDCTL_API=3 etcdctl snapshot save "$snapshot" "${etcd_tls[@]}" >&2 \
    || die "etcdctl snapshot save failed on node $node_name; check that etcd is healthy there (crictl ps --name etcd)"
  if on_node etcdutl; then
    as_root etcdutl snapshot status "$snapshot" --write-out=table >&2 || die "the snapshot $snapshot on node $node_name does not verify (etcdutl snapshot status)"
  elif etcdctl_has_status; then
    as_root env ETCDCTL_API=3 etcdctl snapshot status "$snapshot" --write-out=table >&2 || die "the snapshot $snapshot on node $node_name does not verify (etcdctl snapshot status)"
  else
    die "the snapshot $snapshot on node $node_name cannot be verified: etcdctl there is 3.6 or newer (no 'snapshot status') and etcdutl is not installed; $how_to_get"
  fi
elif on_node crictl; then
  container="$(as_root crictl ps --name '^etcd$' --state Running --quiet)" || die "crictl ps failed on node $node_name"
  container="${container%%[[:space:]]*}"
  [ -n "$container" ] || die "no running etcd container on node $node_name, and etcdctl is not installed there; $how_to_get"
  inside="/var/lib/etcd/$name"
  as_root crictl exec "$container" etcdctl snapshot save "$inside" "${etcd_tls[@]}" >&2 \
    || die "etcdctl snapshot save inside the etcd container on node $node_name failed"
  if ! as_root crictl exec "$container" etcdutl snapshot status "$inside" --write-out=table >&2; then
    as_root crictl exec "$container" etcdctl snapshot status "$inside" --write-out=table >&2 \
      || die "the snapshot $inside on node $node_name does not verify inside the etcd container (neither etcdutl nor etcdctl snapshot status)"
  fi
  as_root mv "${K8SU_ROOT:-}$inside" "$snapshot" || die "could not move the snapshot from the etcd data directory to $snapshot on node $node_name"
else
  die "etcdctl is not installed on node $node_name, and crictl is not there to run it inside the etcd static pod; $how_to_get"
fi
log "etcd snapshot saved and verified on $node_name: $snapshot"
echo "$snapshot"
