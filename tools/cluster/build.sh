#!/usr/bin/env bash
# Builds the real Kubernetes components the cluster tests run, from the Go module proxy, at pinned versions,
# into a cache outside the repository. A component already in the cache is reused; one named by an environment
# variable (K8SU_KUBE_APISERVER, K8SU_KUBE_CONTROLLER_MANAGER, K8SU_KUBE_SCHEDULER, K8SU_ETCD, K8SU_KWOK) is
# never built. Usage: build.sh [--version 1.34] [component ...]; prints the binaries' paths, one per line
# (the component kwok-stages prints the folder of kwok's stage files). --print-kubernetes-version prints the release.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=tools/cluster/pins.sh
. "$here/pins.sh"

cache="${K8SU_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/k8s-upgrades}"
minor="$K8SU_DEFAULT_MINOR"
components=()
print_version=""
while [ $# -gt 0 ]; do
  case "$1" in
    --version) minor="${2:?--version needs a minor such as 1.34}"; shift 2 ;;
    --version=*) minor="${1#--version=}"; shift ;;
    --print-kubernetes-version) print_version=1; shift ;;
    -h | --help) sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) printf 'build.sh: unknown option %s\n' "$1" >&2; exit 2 ;;
    *) components+=("$1"); shift ;;
  esac
done
[ ${#components[@]} -gt 0 ] || components=(kube-apiserver kube-controller-manager kube-scheduler etcd kwok)
kube_version="$(kube_release "$minor")" || {
  printf 'build.sh: no pinned Kubernetes release for %s; pinned: %s\n' "$minor" "$K8SU_PINNED_MINORS" >&2
  exit 2
}

if [ -n "$print_version" ]; then
  printf '%s\n' "$kube_version"
  exit 0
fi

go_bin="${K8SU_GO:-/usr/local/go/bin/go}"
[ -x "$go_bin" ] || go_bin="$(command -v go 2>/dev/null)" || {
  printf 'build.sh: no Go toolchain (looked at /usr/local/go/bin/go and PATH); install Go %s or newer\n' "$K8SU_GO_MIN" >&2
  exit 1
}

fail() { # component version command log
  printf 'build.sh: building %s %s failed: %s\n' "$1" "$2" "$3" >&2
  [ -f "$4" ] && tail -n 30 "$4" | sed 's/^/  | /' >&2
  printf '  full log: %s\n' "$4" >&2
  exit 1
}

# Writes a module that requires the components' module at its release and repeats the replace lines that its own
# go.mod points at sibling folders (they are ignored when it is a dependency).
prepare_module() { # dir require-line... ; replace lines on stdin
  local dir="$1"
  shift
  rm -rf "$dir"
  mkdir -p "$dir"
  {
    printf 'module k8s-upgrades.local/build\n\ngo %s\n\n' "$K8SU_GO_MIN"
    for r in "$@"; do printf 'require %s\n' "$r"; done
    printf '\n'
    cat
  } >"$dir/go.mod"
}

# go_build component version dir package ldflags: builds into a temporary name and renames it into place, so
# the cache never holds a half-written binary.
go_build() {
  local component="$1" version="$2" dir="$3" pkg="$4" ldflags="$5" out log
  out="$cache/$component-$version"
  log="$cache/logs/$component-$version.log"
  mkdir -p "$out" "$cache/logs"
  local cmd="cd $dir && $go_bin build -trimpath -ldflags '$ldflags' -o $out/$component.partial $pkg"
  if ! (cd "$dir" && CGO_ENABLED=0 GOFLAGS=-mod=mod "$go_bin" build -trimpath -ldflags "$ldflags" \
    -o "$out/$component.partial" "$pkg") >>"$log" 2>&1; then
    rm -f "$out/$component.partial"
    fail "$component" "$version" "$cmd" "$log"
  fi
  mv -f "$out/$component.partial" "$out/$component"
}

env_override() {
  case "$1" in
    kube-apiserver) printf '%s' "${K8SU_KUBE_APISERVER:-}" ;;
    kube-controller-manager) printf '%s' "${K8SU_KUBE_CONTROLLER_MANAGER:-}" ;;
    kube-scheduler) printf '%s' "${K8SU_KUBE_SCHEDULER:-}" ;;
    etcd) printf '%s' "${K8SU_ETCD:-}" ;;
    kwok) printf '%s' "${K8SU_KWOK:-}" ;;
  esac
}

build_kube() { # component
  local component="$1" dir="$cache/src/kubernetes-$kube_version" minor_part="${kube_version#v*.}"
  minor_part="${minor_part%%.*}"
  if [ ! -f "$dir/.ready" ]; then
    local staging log="$cache/logs/kubernetes-$kube_version-module.log"
    mkdir -p "$cache/logs"
    : >"$log"
    # The staging modules to replace are read from k8s.io/kubernetes's own go.mod at this release.
    local gomod
    gomod="$(GOFLAGS=-mod=mod "$go_bin" mod download -json "k8s.io/kubernetes@$kube_version" 2>>"$log" |
      sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')" || true
    [ -f "$gomod" ] || fail kubernetes "$kube_version" "go mod download k8s.io/kubernetes@$kube_version" "$log"
    staging="$(sed -n 's#^[[:space:]]*\(k8s\.io/[a-z0-9-]*\) => ./staging/.*#\1#p' "$gomod")"
    local staging_release="v0.${kube_version#v1.}"
    sed -n 's#^[[:space:]]*\(k8s\.io/[a-z0-9-]*\) => ./staging/.*#\1#p' "$gomod" |
      while read -r m; do printf 'replace %s => %s %s\n' "$m" "$m" "$staging_release"; done |
      prepare_module "$dir" "k8s.io/kubernetes $kube_version"
    [ -n "$staging" ] || fail kubernetes "$kube_version" "reading the staging modules from $gomod" "$log"
    if ! (cd "$dir" && "$go_bin" get "k8s.io/kubernetes/cmd/kube-apiserver@$kube_version" \
      "k8s.io/kubernetes/cmd/kube-controller-manager@$kube_version" \
      "k8s.io/kubernetes/cmd/kube-scheduler@$kube_version") >>"$log" 2>&1; then
      fail kubernetes "$kube_version" "cd $dir && go get k8s.io/kubernetes/cmd/...@$kube_version" "$log"
    fi
    touch "$dir/.ready"
  fi
  local v=k8s.io/component-base/version
  go_build "$component" "$kube_version" "$dir" "k8s.io/kubernetes/cmd/$component" \
    "-s -w -X $v.gitVersion=$kube_version -X $v.gitMajor=1 -X $v.gitMinor=$minor_part -X $v.gitTreeState=clean -X $v.buildDate=1970-01-01T00:00:00Z"
}

build_etcd() {
  local dir="$cache/src/etcd-$K8SU_ETCD_VERSION" log="$cache/logs/etcd-$K8SU_ETCD_VERSION-module.log"
  if [ ! -f "$dir/.ready" ]; then
    mkdir -p "$cache/logs"
    : >"$log"
    prepare_module "$dir" "go.etcd.io/etcd/server/v3 $K8SU_ETCD_VERSION" "go.etcd.io/etcd/api/v3 $K8SU_ETCD_VERSION" \
      "go.etcd.io/etcd/client/pkg/v3 $K8SU_ETCD_VERSION" "go.etcd.io/etcd/client/v3 $K8SU_ETCD_VERSION" \
      "go.etcd.io/etcd/pkg/v3 $K8SU_ETCD_VERSION" </dev/null
    # etcd's own main is a one-line call of etcdmain.Main; ours is the same call.
    printf 'package main\n\nimport (\n\t"os"\n\n\t"go.etcd.io/etcd/server/v3/etcdmain"\n)\n\nfunc main() { etcdmain.Main(os.Args) }\n' >"$dir/main.go"
    if ! (cd "$dir" && "$go_bin" mod tidy) >>"$log" 2>&1; then
      fail etcd "$K8SU_ETCD_VERSION" "cd $dir && go mod tidy" "$log"
    fi
    touch "$dir/.ready"
  fi
  go_build etcd "$K8SU_ETCD_VERSION" "$dir" . "-s -w"
}

build_kwok() {
  local dir="$cache/src/kwok-$K8SU_KWOK_VERSION" log="$cache/logs/kwok-$K8SU_KWOK_VERSION-module.log"
  if [ ! -f "$dir/.ready" ]; then
    mkdir -p "$cache/logs"
    : >"$log"
    prepare_module "$dir" "sigs.k8s.io/kwok $K8SU_KWOK_VERSION" </dev/null
    if ! (cd "$dir" && "$go_bin" get "sigs.k8s.io/kwok/cmd/kwok@$K8SU_KWOK_VERSION") >>"$log" 2>&1; then
      fail kwok "$K8SU_KWOK_VERSION" "cd $dir && go get sigs.k8s.io/kwok/cmd/kwok@$K8SU_KWOK_VERSION" "$log"
    fi
    touch "$dir/.ready"
  fi
  go_build kwok "$K8SU_KWOK_VERSION" "$dir" sigs.k8s.io/kwok/cmd/kwok \
    "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=$K8SU_KWOK_VERSION"
}

# kwok's own stage files (node and pod lifecycles) from the pinned kwok module, copied into the cache.
kwok_stages() {
  local out="$cache/kwok-stages-$K8SU_KWOK_VERSION" log="$cache/logs/kwok-stages-$K8SU_KWOK_VERSION.log" src
  if [ ! -d "$out" ]; then
    mkdir -p "$cache/logs"
    src="$(cd "$cache" && GOFLAGS=-mod=mod "$go_bin" mod download -json "sigs.k8s.io/kwok@$K8SU_KWOK_VERSION" 2>"$log" |
      sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')" || true
    [ -d "$src/kustomize/stage" ] || fail kwok-stages "$K8SU_KWOK_VERSION" "go mod download -json sigs.k8s.io/kwok@$K8SU_KWOK_VERSION" "$log"
    rm -rf "$out.partial"
    cp -R "$src/kustomize/stage" "$out.partial"
    chmod -R u+w "$out.partial"
    mv "$out.partial" "$out"
  fi
  printf '%s\n' "$out"
}

locked=""
for component in "${components[@]}"; do
  if [ "$component" = kwok-stages ]; then
    kwok_stages
    continue
  fi
  case "$component" in
    kube-apiserver | kube-controller-manager | kube-scheduler) version="$kube_version" ;;
    etcd) version="$K8SU_ETCD_VERSION" ;;
    kwok) version="$K8SU_KWOK_VERSION" ;;
    *) printf 'build.sh: unknown component %s (kube-apiserver, kube-controller-manager, kube-scheduler, etcd, kwok)\n' "$component" >&2; exit 2 ;;
  esac
  given="$(env_override "$component")"
  if [ -n "$given" ]; then
    [ -x "$given" ] || { printf 'build.sh: %s names %s, which is not an executable file\n' "$component" "$given" >&2; exit 1; }
    printf '%s\n' "$given"
    continue
  fi
  bin="$cache/$component-$version/$component"
  if [ ! -x "$bin" ] && [ -z "$locked" ]; then
    # One build at a time per cache: test files started together wait for the first one's build.
    mkdir -p "$cache"
    exec 9>"$cache/.build.lock"
    flock 9
    locked=1
  fi
  if [ ! -x "$bin" ]; then
    start=$SECONDS
    printf 'building %s %s (minutes on a new machine) ...\n' "$component" "$version" >&2
    case "$component" in
      etcd) build_etcd ;;
      kwok) build_kwok ;;
      *) build_kube "$component" ;;
    esac
    printf 'built %s %s in %ss: %s\n' "$component" "$version" "$((SECONDS - start))" "$bin" >&2
  fi
  printf '%s\n' "$bin"
done
