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

# Unhold, install exactly the target version, hold again.
install_packages() {
  local pkg specs=()
  case "$K8SU_PACKAGE_MANAGER" in
    apt)
      for pkg in "$@"; do specs+=("$pkg=$K8SU_TARGET_VERSION-*"); done
      as_root apt-mark unhold "$@" >/dev/null
      as_root apt-get update -q
      as_root apt-get install -y -q --allow-change-held-packages "${specs[@]}"
      as_root apt-mark hold "$@" >/dev/null
      ;;
    dnf|yum)
      for pkg in "$@"; do specs+=("$pkg-$K8SU_TARGET_VERSION-*"); done
      as_root "$K8SU_PACKAGE_MANAGER" install -y "${specs[@]}" --disableexcludes=kubernetes
      ;;
  esac
  log "installed $* at $K8SU_TARGET_VERSION"
}

restart_kubelet() {
  as_root systemctl daemon-reload
  as_root systemctl restart kubelet
  log "kubelet restarted"
}
