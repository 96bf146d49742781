#!/usr/bin/env bash
# The README's main command on a "fresh machine": a fresh clone with every cache empty (Go build
# and module caches, pip's cache, the pdn toolchain cache, pdn state). Times each phase, then
# runs `make up` again (warm, no changes) and `make down`, and removes everything it made.
#   bash benchmarks/cold_main_command.sh      (as root; stop any running local DC first)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
scratch=$(mktemp -d /tmp/pdn-cold-XXXXXX)
cleanup() {
  GOMODCACHE="$scratch/gomod" go clean -modcache 2>/dev/null || true
  rm -rf "$scratch"
}
trap cleanup EXIT
export GOCACHE="$scratch/gocache" GOMODCACHE="$scratch/gomod" PIP_CACHE_DIR="$scratch/pip"
export PDN_CACHE_DIR="$scratch/pdn-cache" PDN_STATE_DIR="$scratch/pdn-state"
git clone -q "$repo" "$scratch/clone"
cd "$scratch/clone"
t() { local label=$1 start=$SECONDS; shift; "$@" > "$scratch/$label.log" 2>&1 || { tail -20 "$scratch/$label.log" >&2; return 1; }; echo "$((SECONDS - start))"; }
venv=$(t venv make .venv/.installed)
toolchain=$(t toolchain make toolchain)
# Warm rebuild: Go's caches are warm, pdn's toolchain cache is empty (e.g. after a pin change).
rebuild=$(PDN_CACHE_DIR="$scratch/pdn-cache-2" t rebuild make toolchain)
rm -rf "$scratch/pdn-cache-2"
up=$(t up make up)
again=$(t up-again make up)
grep -q "64 unchanged" "$scratch/up-again.log" && echo "second up: no changes"
t down make down >/dev/null
printf '| fresh venv (pip, empty cache) | %ss |\n| toolchain, cold (empty Go caches) | %ss |\n' "$venv" "$toolchain"
printf '| toolchain, warm rebuild (Go caches warm, pdn cache empty) | %ss |\n' "$rebuild"
printf '| local DC + first `pulumi up` | %ss |\n| second `make up` (no changes) | %ss |\n' "$up" "$again"
printf '| cold main command in all | %ss |\n' "$((venv + toolchain + up))"
awk '/built and verified in/ {print "  " $0}' "$scratch/toolchain.log"
