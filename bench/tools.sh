#!/usr/bin/env bash
# Builds the peers `make bench` needs that Debian does not package, into the same cache as
# scripts/go-tools.sh (so `make test`, which only runs go-tools.sh, never builds them):
#
#   distribution-v3   CNCF Distribution's registry at DIST_V3_VERSION (Debian ships 2.8 only)
#
#   bench/tools.sh            build what is missing, print the bin dir
#   bench/tools.sh --check    exit 0 if everything is built at the pinned version
#
# Everything comes from the Go module proxy. The last line printed on stdout is the bin dir.
set -euo pipefail

DIST_V3_MOD=github.com/distribution/distribution/v3
DIST_V3_VERSION=v3.1.2

TOOLS_ROOT=${ARCA_TOOLS:-$HOME/.cache/arca-tools}
BIN=$TOOLS_ROOT/bin
STAMPS=$BIN/.versions

export GOPATH=$TOOLS_ROOT/gopath
export GOCACHE=$TOOLS_ROOT/gocache
export GOMODCACHE=$TOOLS_ROOT/gomodcache
export GOTOOLCHAIN=local
export GOFLAGS="-buildvcs=false -modcacherw"
export CGO_ENABLED=0

log() { echo "bench-tools: $*" >&2; }

up_to_date() { [[ -x "$BIN/$1" && -f "$STAMPS/$1" && "$(cat "$STAMPS/$1")" == "$2" ]]; }

if [[ "${1:-}" == "--check" ]]; then
  up_to_date distribution-v3 "$DIST_V3_VERSION" && { echo "$BIN"; exit 0; }
  log "distribution-v3 is missing or not at $DIST_V3_VERSION"; exit 1
fi
if up_to_date distribution-v3 "$DIST_V3_VERSION"; then echo "$BIN"; exit 0; fi

# A Go recent enough for the pin: the machine's, or one scripts/ensure-go.sh fetches.
go_bin=$("$(dirname "$0")/../scripts/ensure-go.sh") || { log "no Go recent enough"; exit 1; }
PATH=${go_bin##*$'\n'}:$PATH
GOPROXY=${GOPROXY:-$(go env GOPROXY)}
case "$GOPROXY" in *direct*) GOPROXY=$(echo "$GOPROXY" | sed -e 's/,direct//' -e 's/|direct//');; esac
export GOPROXY GONOSUMDB= GOPRIVATE= GONOPROXY=
mkdir -p "$BIN" "$STAMPS" "$GOPATH" "$GOCACHE" "$GOMODCACHE"

# The same lock as go-tools.sh: one Go build at a time on this cache.
if command -v flock >/dev/null 2>&1; then
  exec 9>"$TOOLS_ROOT/.lock"
  flock 9
fi

# `go install` names the binary "registry"; build into a scratch GOBIN and rename. If the
# proxy refuses `go install` (a replace directive in a later version, say), build in the
# module's own folder instead.
build_v3() {
  local scratch=$TOOLS_ROOT/scratch-v3 dir ldflags
  ldflags="-X $DIST_V3_MOD/version.version=$DIST_V3_VERSION"
  rm -rf "$scratch"; mkdir -p "$scratch"
  if GOBIN=$scratch go install -ldflags "$ldflags" "$DIST_V3_MOD/cmd/registry@$DIST_V3_VERSION"; then
    mv -f "$scratch/registry" "$BIN/distribution-v3"
  else
    log "go install refused; building from the downloaded module"
    dir=$(cd "$TOOLS_ROOT" && go mod download -json "$DIST_V3_MOD@$DIST_V3_VERSION" \
          | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p')
    [[ -n "$dir" ]] || return 1
    (cd "$dir" && go build -ldflags "$ldflags" -o "$BIN/distribution-v3.tmp" ./cmd/registry)
    mv -f "$BIN/distribution-v3.tmp" "$BIN/distribution-v3"
  fi
  rm -rf "$scratch"
}

for try in 1 2 3; do
  if build_v3; then
    echo "$DIST_V3_VERSION" > "$STAMPS/distribution-v3"
    log "built distribution-v3 $DIST_V3_VERSION"
    echo "$BIN"
    exit 0
  fi
  log "building distribution-v3 failed (try $try)"; sleep 5
done
exit 1
