#!/usr/bin/env bash
# Runs a step script from this checkout: `run.sh <kind> <sha256>`, as a step's create command does. The script is
# lib.sh followed by <kind>.sh, assembled exactly as components/scripts.ts builds it, and runs only when its sha256
# is the one the program planned with; parameters and secrets stay in the environment.
set -euo pipefail
fail() {
  printf '[k8s-upgrades] FAILED: %s\n' "$*" >&2
  exit 1
}
[ "$#" -eq 2 ] || fail "usage: run.sh <kind> <sha256>"
kind="$1"
digest="$2"
[[ "$kind" =~ ^[a-z][a-z-]*$ ]] || fail "not a script kind: '$kind'"
dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)" || fail "cannot find the scripts folder"
[ -f "$dir/$kind.sh" ] || fail "no script $dir/$kind.sh: run pulumi up from the project's checkout"
script="$(mktemp)" || fail "mktemp failed"
trap 'rm -f "$script"' EXIT
{
  printf '#!/usr/bin/env bash\n# k8s-upgrades: %s (generated; do not edit the copy in state)\n' "$kind"
  cat "$dir/lib.sh"
  printf '\n'
  cat "$dir/$kind.sh"
} > "$script" || fail "cannot assemble the $kind script"
sum="$({ sha256sum 2>/dev/null || shasum -a 256; } < "$script")" || fail "neither sha256sum nor shasum is installed"
[ "${sum%% *}" = "$digest" ] || fail "components/scripts/$kind.sh or lib.sh differ from what this deployment planned (sha256 ${sum%% *}, planned $digest): run pulumi up again from one unchanged checkout"
bash "$script"
