#!/usr/bin/env bash
# Runs `make test` several times in a row from a fresh clone, with `stress-ng --cpu <cores>`
# at the lowest priority beside it, and prints each run's result: a suite whose green depends
# on an idle machine shows up here as a run that differs from the others.
#
#   scripts/stress-check.sh [runs=3] [clone dir=/tmp/arca-stress]
#
# Each run is `.ci/run` (make test) in a clone of the committed HEAD; logs in <clone dir>.log.N.
set -euo pipefail
runs=${1:-3}
dir=${2:-/tmp/arca-stress}
top=$(cd "$(dirname "$0")/.." && pwd)

command -v stress-ng >/dev/null || {
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get install -y -qq --no-install-recommends stress-ng >&2
}

rm -rf "$dir"
git clone -q "$top" "$dir"
nice -n 19 stress-ng --cpu "$(nproc)" --timeout 0 >/dev/null 2>&1 &
stress=$!
trap 'kill "$stress" 2>/dev/null || true' EXIT

results=()
for i in $(seq 1 "$runs"); do
  start=$(date +%s)
  if (cd "$dir" && CI=true bash .ci/run) >"$dir.log.$i" 2>&1; then rc=0; else rc=$?; fi
  summary=$(grep -E "tests passed|tests failed" "$dir.log.$i" | tail -n 1 || true)
  results+=("run $i: rc=$rc, $(( $(date +%s) - start )) s, ${summary:-no ctest summary}")
  echo "stress-check: ${results[-1]}" >&2
done
printf '%s\n' "${results[@]}"
for r in "${results[@]}"; do [[ $r == *"rc=0,"* ]] || exit 1; done
