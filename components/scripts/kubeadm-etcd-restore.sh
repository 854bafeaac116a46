# Puts a kubeadm control plane back to the etcd snapshot taken before an upgrade, at the version it ran then.
# Never part of a deployment: only `npm run restore` sends it, naming the cluster and the snapshot, with --confirm.
# The seed's order, with the etcd member stopped as well before its data directory moves, and the static pod
# manifests of the old version taken from kubeadm's own backup (/etc/kubernetes/tmp/kubeadm-backup-manifests-*):
#   checks (nothing changes) → control plane stopped → snapshot restored to a new data directory → swapped in,
#   the old one kept → kubeadm, kubelet, kubectl at the old version → old manifests → kubelet restarted →
#   API server ready, this node Ready at the old version, no kubelet newer than the restored API server.
# Until the swap, any exit puts the manifests back and the cluster runs as before: a failure, TERM, INT, and HUP
# (the SSH connection gone), whatever status bash reports. One stacked etcd member only, as etcd itself reports it
# (etcdctl member list). Every write to the cluster since the snapshot is lost; the script says so before it starts.
# Parameters: K8SU_SNAPSHOT (path on the node), K8SU_TARGET_VERSION (the version to return to), K8SU_PACKAGE_MANAGER,
# K8SU_SWITCH_REPOSITORY (true|false), K8SU_NODE_NAME (as in kubectl get nodes), K8SU_TIMEOUT_SECONDS.
require_env K8SU_SNAPSHOT K8SU_TARGET_VERSION K8SU_PACKAGE_MANAGER K8SU_SWITCH_REPOSITORY K8SU_NODE_NAME K8SU_TIMEOUT_SECONDS
require_int K8SU_TIMEOUT_SECONDS
poll="${K8SU_POLL_SECONDS:-5}"
root="${K8SU_ROOT:-}"
host="$(hostname)"
version="$K8SU_TARGET_VERSION"
manifests="$root/etc/kubernetes/manifests"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
held="$root/etc/kubernetes/manifests-before-restore-$stamp"
admin="$root/etc/kubernetes/admin.conf"
snapshot="$root$K8SU_SNAPSHOT"
components=(etcd kube-apiserver kube-controller-manager kube-scheduler)

# --- checks: nothing changes before every one of them passed ---
as_root test -s "$snapshot" || die "no snapshot at $K8SU_SNAPSHOT on node $host (or it is empty); give the path on the node that kubeadm.etcd.snapshotDir names"
on_node crictl || die "crictl is not installed on node $host; it is needed to see the control plane containers stop and start"
if on_node etcdutl; then
  etcd_tool=(etcdutl)
else
  on_node etcdctl || die "neither etcdutl nor etcdctl is installed on node $host; install etcdutl from the etcd release matching the cluster's etcd (github.com/etcd-io/etcd/releases)"
  etcdctl_version="$(as_root etcdctl version)" || die "etcdctl version failed on node $host"
  [[ "$etcdctl_version" =~ etcdctl\ version:\ 3\.[0-5]\. ]] || die "etcdctl on node $host is not 3.5 or older (it has no snapshot restore from 3.6 on) and etcdutl is not installed; install etcdutl from github.com/etcd-io/etcd/releases"
  etcd_tool=(env ETCDCTL_API=3 etcdctl)
fi
as_root "${etcd_tool[@]}" snapshot status "$snapshot" --write-out=table >&2 \
  || die "the snapshot $K8SU_SNAPSHOT on node $host does not verify (${etcd_tool[*]} snapshot status); nothing was changed"

as_root test -f "$manifests/etcd.yaml" || die "no $manifests/etcd.yaml on node $host: etcd is not a kubeadm static pod here (an external etcd is restored by its own procedure); nothing was changed"
etcd_manifest="$(as_root cat "$manifests/etcd.yaml")" || die "cannot read $manifests/etcd.yaml on node $host"
# A flag of the etcd static pod: "    - --data-dir=/var/lib/etcd" -> /var/lib/etcd.
etcd_flag() {
  local line
  while IFS= read -r line; do
    if [[ "$line" =~ ^[[:space:]]*-[[:space:]]+--$1=(.+)$ ]]; then printf '%s' "${BASH_REMATCH[1]}"; return 0; fi
  done <<< "$etcd_manifest"
  die "the etcd manifest on node $host has no --$1 flag; nothing was changed"
}
data_dir="$(etcd_flag data-dir)"
member="$(etcd_flag name)"
peer_url="$(etcd_flag initial-advertise-peer-urls)"
[[ "$peer_url" != *,* ]] || die "etcd on node $host advertises several peer URLs ($peer_url); restore it by hand"
as_root test -d "$root$data_dir" || die "the etcd data directory $data_dir named in etcd.yaml does not exist on node $host"
restored="$root$data_dir.restored-$stamp"
previous="$root$data_dir.before-restore-$stamp"
if as_root test -e "$restored"; then die "$restored already exists on node $host; nothing was changed"; fi

# The members etcd itself lists, not the nodes the stack names: one member's data restored into a cluster of
# several splits it (the others keep the newer data and the restored member comes back with a new cluster ID).
etcd_tls=(--endpoints=https://127.0.0.1:2379 --cacert=/etc/kubernetes/pki/etcd/ca.crt --cert=/etc/kubernetes/pki/etcd/server.crt --key=/etc/kubernetes/pki/etcd/server.key)
if on_node etcdctl; then
  members="$(as_root env ETCDCTL_API=3 etcdctl member list --write-out=simple "${etcd_tls[@]}")" \
    || die "etcdctl member list failed on node $host: etcd could not say how many members it has, so the restore cannot know it is alone; nothing was changed"
else
  container="$(as_root crictl ps --name '^etcd$' --state Running --quiet)" || die "crictl ps failed on node $host"
  container="${container%%[[:space:]]*}"
  [ -n "$container" ] || die "no running etcd container on node $host (and no etcdctl there) to ask how many members etcd has; nothing was changed"
  members="$(as_root crictl exec "$container" etcdctl member list --write-out=simple "${etcd_tls[@]}")" \
    || die "etcdctl member list inside the etcd container on node $host failed: etcd could not say how many members it has; nothing was changed"
fi
member_names=()
while IFS=, read -r _ _ name _; do
  [ -n "$name" ] || continue
  member_names+=("${name# }")
done <<< "$members"
[ "${#member_names[@]}" -gt 0 ] || die "etcdctl member list on node $host named no member; nothing was changed"
[ "${#member_names[@]}" -eq 1 ] || die "etcd on node $host has ${#member_names[@]} members (${member_names[*]}): restoring one member's snapshot would split the cluster; restore every member by hand (etcd's disaster recovery guide) or remove the others first; nothing was changed"
[ "${member_names[0]}" = "$member" ] || die "etcd's only member is ${member_names[0]}, but the etcd manifest on node $host names $member; nothing was changed"

# The image tag of a component in a manifest file, or nothing.
image_tag() {
  local text line
  text="$(as_root cat "$1")" || return 0
  while IFS= read -r line; do
    if [[ "$line" =~ image:[[:space:]]*[^[:space:]]*/$2:v([0-9A-Za-z.+-]+) ]]; then printf '%s' "${BASH_REMATCH[1]}"; return 0; fi
  done <<< "$text"
}
# kubeadm backs up the manifests it replaces; the newest backup whose API server runs the old version is the one.
backups="$(as_root find "$root/etc/kubernetes/tmp" -mindepth 1 -maxdepth 1 -type d -name 'kubeadm-backup-manifests-*')" \
  || die "cannot list /etc/kubernetes/tmp on node $host"
backups="$(printf '%s\n' "$backups" | sort -r)"
backup=""
seen=()
while IFS= read -r dir; do
  [ -n "$dir" ] || continue
  tag="$(image_tag "$dir/kube-apiserver.yaml" kube-apiserver)"
  seen+=("${dir#"$root"} (kube-apiserver ${tag:-none})")
  if [ "$tag" = "$version" ]; then backup="$dir"; break; fi
done <<< "$backups"
[ -n "$backup" ] || die "no kubeadm manifest backup of v$version under /etc/kubernetes/tmp on node $host (found: ${seen[*]:-none}); the restored data needs the static pod manifests it ran with; nothing was changed"
log "checks passed on $host: snapshot $K8SU_SNAPSHOT verified, etcd member $member ($data_dir) is etcd's only member, manifests of v$version in ${backup#"$root"}"
log "every write to the cluster since the snapshot was taken is lost: objects created, changed or deleted after it go back to how they were then"

# --- until the swap, any failure puts the control plane back as it was ---
phase="checks"
put_back() {
  local c
  # Stopped between the two moves of the swap: the data from before goes back first, or etcd would start empty.
  if ! as_root test -e "$root$data_dir" && as_root test -d "$previous"; then as_root mv "$previous" "$root$data_dir" || :; fi
  for c in "${components[@]}"; do
    if as_root test -f "$held/$c.yaml" && ! as_root test -f "$manifests/$c.yaml"; then as_root mv "$held/$c.yaml" "$manifests/$c.yaml" || :; fi
  done
  as_root rm -rf "$restored" || :
}
# Before the swap every exit puts the manifests back, whatever its status: bash runs this trap when a signal it
# does not catch ends it (HUP when the SSH connection drops, PIPE), and $? is then the last command's, often 0.
on_exit() {
  local code=$?
  case "$phase" in
    stopping) put_back; log "the control plane manifests are back in $manifests; etcd still holds its data in $data_dir, unchanged" ;;
    swapped) if [ "$code" -ne 0 ]; then log "the restored data is in $data_dir, the data from before in ${previous#"$root"}, the manifests from before the restore in ${held#"$root"}; fix what failed and finish the remaining steps by hand (docs/rollback.md)"; fi ;;
  esac
  cleanup
}
trap on_exit EXIT
trap 'on_signal HUP 129' HUP

# Waits until no container of these components runs (want=gone) or each runs (want=running).
wait_containers() {
  local want="$1" c ids pending deadline=$((SECONDS + K8SU_TIMEOUT_SECONDS))
  shift
  while :; do
    pending=()
    for c in "$@"; do
      ids="$(as_root crictl ps --name "^$c\$" --state Running --quiet)" || die "crictl ps failed on node $host"
      if [ "$want" = gone ] && [ -n "$ids" ]; then pending+=("$c"); fi
      if [ "$want" = running ] && [ -z "$ids" ]; then pending+=("$c"); fi
    done
    [ "${#pending[@]}" -gt 0 ] || return 0
    [ "$SECONDS" -lt "$deadline" ] || die "on node $host, ${pending[*]} not $want within ${K8SU_TIMEOUT_SECONDS}s"
    pause "$poll"
  done
}

phase="stopping"
as_root mkdir -p "$held" || die "cannot create $held on node $host"
for c in "${components[@]}"; do
  if as_root test -f "$manifests/$c.yaml"; then as_root mv "$manifests/$c.yaml" "$held/$c.yaml" || die "cannot move $c.yaml out of $manifests"; fi
done
log "control plane manifests moved to ${held#"$root"}; waiting for the containers to stop"
wait_containers gone "${components[@]}"

status=0
as_root timeout "$K8SU_TIMEOUT_SECONDS" "${etcd_tool[@]}" snapshot restore "$snapshot" --data-dir "$restored" \
  --name "$member" --initial-cluster "$member=$peer_url" --initial-advertise-peer-urls "$peer_url" >&2 || status=$?
[ "$status" -ne 124 ] || die "${etcd_tool[*]} snapshot restore did not finish within ${K8SU_TIMEOUT_SECONDS}s on node $host"
[ "$status" -eq 0 ] || die "${etcd_tool[*]} snapshot restore failed on node $host (exit $status)"
as_root test -d "$restored/member" || die "${etcd_tool[*]} snapshot restore left no member directory in $restored"

as_root mv "$root$data_dir" "$previous" || die "cannot move $data_dir aside on node $host"
if ! as_root mv "$restored" "$root$data_dir"; then
  as_root mv "$previous" "$root$data_dir" || die "cannot move the restored data into $data_dir, nor the old data back from ${previous#"$root"}: move it back by hand before starting etcd"
  die "cannot move the restored data into $data_dir on node $host; the old data is back in place"
fi
phase="swapped"
log "etcd data restored into $data_dir; the data from before is in ${previous#"$root"}"

if [ "$K8SU_SWITCH_REPOSITORY" = "true" ]; then switch_repository; fi
install_packages kubeadm kubelet kubectl
installed="$(as_root kubeadm version -o short)" || die "kubeadm version failed on node $host"
[ "${installed#v}" = "$version" ] || die "kubeadm reports $installed after installing $version on node $host"

for c in "${components[@]}"; do
  if as_root test -f "$backup/$c.yaml"; then
    as_root cp "$backup/$c.yaml" "$manifests/$c.yaml" || die "cannot copy $c.yaml from ${backup#"$root"}"
  elif as_root test -f "$held/$c.yaml"; then
    as_root cp "$held/$c.yaml" "$manifests/$c.yaml" || die "cannot copy $c.yaml back from ${held#"$root"}"
  fi
done
log "static pod manifests of v$version in place (from ${backup#"$root"})"
restart_kubelet

# --- the API server, this node, and the kubelets of the other nodes ---
wait_containers running etcd kube-apiserver
kube=(as_root kubectl --kubeconfig "$admin" --request-timeout="${K8SU_REQUEST_TIMEOUT_SECONDS}s")
deadline=$((SECONDS + K8SU_TIMEOUT_SECONDS))
while :; do
  why=""
  if ! ready="$("${kube[@]}" get --raw=/readyz 2>&1)"; then
    why="the API server is not ready: ${ready:0:200}"
  elif ! row="$("${kube[@]}" get node "$K8SU_NODE_NAME" -o 'jsonpath={.status.nodeInfo.kubeletVersion}{"\t"}{range .status.conditions[?(@.type=="Ready")]}{.status}{end}' 2>&1)"; then
    why="node $K8SU_NODE_NAME cannot be read: ${row:0:200}"
  elif [ "$row" != "v$version"$'\tTrue' ]; then
    why="node $K8SU_NODE_NAME reports '${row/$'\t'/ Ready=}', waiting for v$version Ready=True"
  fi
  [ -n "$why" ] || break
  [ "$SECONDS" -lt "$deadline" ] || die "$why, after ${K8SU_TIMEOUT_SECONDS}s"
  pause "$poll"
done
table="$("${kube[@]}" get nodes -o 'jsonpath={range .items[*]}{.metadata.name}{"\t"}{.status.nodeInfo.kubeletVersion}{"\n"}{end}')" \
  || die "listing the nodes failed after the restore"
phase="restored"
want_major="${version%%.*}"
want_rest="${version#*.}"
want_minor="${want_rest%%.*}"
newer=()
while IFS=$'\t' read -r name kubelet; do
  [ -n "$name" ] || continue
  [[ "${kubelet#v}" =~ ^([0-9]+)\.([0-9]+)\. ]] || die "node $name reports kubelet '${kubelet}', not a version"
  if [ "${BASH_REMATCH[1]}" -gt "$want_major" ] || { [ "${BASH_REMATCH[1]}" -eq "$want_major" ] && [ "${BASH_REMATCH[2]}" -gt "$want_minor" ]; }; then
    newer+=("$name ($kubelet)")
  fi
done <<< "$table"
[ "${#newer[@]}" -eq 0 ] || die "the control plane runs v$version again, but these kubelets are newer than the API server, which the skew policy forbids: ${newer[*]}; roll each back (drain, kubeadm, kubelet and kubectl at $version, kubeadm upgrade node, kubelet restart, uncordon)"
phase="done"
log "control plane on $host restored to the snapshot $K8SU_SNAPSHOT at v$version; the data from before is in ${previous#"$root"}"
