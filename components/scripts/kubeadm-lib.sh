# Remote helpers for kubeadm nodes: run as root or through sudo; every step is safe to run again.
if [ "$(id -u)" -eq 0 ]; then SUDO=(); else SUDO=(sudo -n); fi
as_root() { "${SUDO[@]}" "$@"; }
# A tool on this node (lib.sh's `need` speaks of the machine running pulumi).
on_node() { command -v "$1" >/dev/null 2>&1 || as_root sh -c "command -v $1" >/dev/null 2>&1; }

# "1.31.4" -> "1.31"
target_minor() { local rest="${K8SU_TARGET_VERSION#*.}"; printf '%s.%s' "${K8SU_TARGET_VERSION%%.*}" "${rest%%.*}"; }

# The community repositories have one repository per minor: point apt or dnf/yum at the target's.
# (K8SU_ROOT is empty on real nodes; the tests point it at a scratch folder.)
switch_repository() {
  local minor file
  minor="$(target_minor)"
  case "$K8SU_PACKAGE_MANAGER" in
    apt) file="${K8SU_ROOT:-}/etc/apt/sources.list.d/kubernetes.list" ;;
    dnf|yum) file="${K8SU_ROOT:-}/etc/yum.repos.d/kubernetes.repo" ;;
    *) die "unknown package manager $K8SU_PACKAGE_MANAGER" ;;
  esac
  as_root test -f "$file" || die "$file not found: this node does not use the pkgs.k8s.io repositories"
  as_root sed -i "s#/core:/stable:/v[0-9][0-9.]*/#/core:/stable:/v$minor/#g" "$file"
  log "package repository switched to v$minor ($file)"
}

# Unhold, install exactly the target version, hold again. Nothing may ask a question: no debconf prompt
# (DEBIAN_FRONTEND=noninteractive, through env because sudo drops the environment), and a configuration file
# changed on the node is kept, never replaced or asked about (dpkg --force-confdef --force-confold). dnf and yum
# answer yes with -y and keep a changed %config(noreplace) file, writing the packaged one beside it as .rpmnew.
# Every child reads /dev/null, never the script (see buildRemoteScript).
install_packages() {
  local pkg specs=()
  case "$K8SU_PACKAGE_MANAGER" in
    apt)
      local apt=(env DEBIAN_FRONTEND=noninteractive apt-get -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
      for pkg in "$@"; do specs+=("$pkg=$K8SU_TARGET_VERSION-*"); done
      as_root apt-mark unhold "$@" >/dev/null </dev/null
      as_root "${apt[@]}" update -q </dev/null
      as_root "${apt[@]}" install -y -q --allow-change-held-packages "${specs[@]}" </dev/null
      as_root apt-mark hold "$@" >/dev/null </dev/null
      ;;
    dnf|yum)
      for pkg in "$@"; do specs+=("$pkg-$K8SU_TARGET_VERSION-*"); done
      as_root "$K8SU_PACKAGE_MANAGER" install -y "${specs[@]}" --disableexcludes=kubernetes </dev/null
      ;;
  esac
  log "installed $* at $K8SU_TARGET_VERSION"
}

restart_kubelet() {
  as_root systemctl daemon-reload
  as_root systemctl restart kubelet
  log "kubelet restarted"
}
