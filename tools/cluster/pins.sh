# shellcheck shell=bash
# The pinned releases of the real components the cluster tests run. kubectl on this project's machines reaches
# 1.33, and kubectl works within one minor of the server, so 1.34 is the default.
export K8SU_DEFAULT_MINOR="1.34"
export K8SU_PINNED_MINORS="1.34 1.35 1.36 1.37"
export K8SU_ETCD_VERSION="v3.6.16"
export K8SU_KWOK_VERSION="v0.8.0"
export K8SU_GO_MIN="1.26.0"

kube_release() {
  case "$1" in
    1.34) printf 'v1.34.4\n' ;;
    1.35) printf 'v1.35.4\n' ;;
    1.36) printf 'v1.36.3\n' ;;
    1.37) printf 'v1.37.2\n' ;;
    *) return 1 ;;
  esac
}
