#!/usr/bin/env bash
# Builds the Go-based registry clients and the OCI conformance suite used by
# tests/clients, tests/conformance and tests/types, into a persistent cache outside the repo.
#
#   scripts/go-tools.sh            build what is missing, print the bin dir
#   scripts/go-tools.sh --check    exit 0 if everything is built at the pinned versions
#
# Cache layout (override the root with ARCA_TOOLS):
#   ${ARCA_TOOLS:-$HOME/.cache/arca-tools}/bin        oras crane regctl helm cnab-to-oci oci-conformance-*
#   .../gopath .../gocache .../gomodcache            Go's own caches, so rebuilds are fast
#
# Everything comes from the Go module proxy; nothing is fetched from anywhere else.
# The last line printed on stdout is the bin dir.
set -euo pipefail

# ---- pinned versions -------------------------------------------------------
ORAS_MOD=oras.land/oras
ORAS_VERSION=v1.3.6
CRANE_MOD=github.com/google/go-containerregistry
CRANE_VERSION=v0.22.1
REGCTL_MOD=github.com/regclient/regclient
REGCTL_VERSION=v0.11.7
# helm (tests/types pushes a real chart with `helm push oci://...`)
HELM_MOD=helm.sh/helm/v3
HELM_VERSION=v3.22.0
# cnab-to-oci (tests/hardening pushes a real CNAB bundle: its config manifest has "layers": null)
CNAB_MOD=github.com/cnabio/cnab-to-oci
CNAB_VERSION=v0.4.1
# The conformance module lives in the conformance/ folder of distribution-spec and
# its release tags (v1.1.x) are not module tags, so the proxy serves it only under
# pseudo-versions. Two builds:
#  - "v11": the last Ginkgo-based suite (OCI_TEST_PULL/PUSH/CONTENT_DISCOVERY/
#    CONTENT_MANAGEMENT, OCI_AUTOMATIC_CROSSMOUNT, ...), the suite of the v1.1.0 line.
#  - "main": the current suite from distribution-spec main (v1.1.1 plus what is on
#    main: anonymous mount, tag parameters, upload cancel, sha512, ...). It still
#    understands the legacy OCI_TEST_* variables.
CONF_MOD=github.com/opencontainers/distribution-spec/conformance
CONF_V11_VERSION=v0.0.0-20231101194043-f2182352d4cc
CONF_MAIN_VERSION=v0.0.0-20260831232431-97274622c111

TOOLS_ROOT=${ARCA_TOOLS:-$HOME/.cache/arca-tools}
BIN=$TOOLS_ROOT/bin
STAMPS=$BIN/.versions

export GOPATH=$TOOLS_ROOT/gopath
export GOCACHE=$TOOLS_ROOT/gocache
export GOMODCACHE=$TOOLS_ROOT/gomodcache
export GOBIN=$BIN
export GOTOOLCHAIN=local
export GOFLAGS="-buildvcs=false -modcacherw"
export CGO_ENABLED=0

check_only=0
[[ "${1:-}" == "--check" ]] && check_only=1

log() { echo "go-tools: $*" >&2; }

if ! command -v go >/dev/null 2>&1; then
  for d in /usr/local/go/bin /usr/lib/go/bin; do [[ -x $d/go ]] && PATH=$d:$PATH; done
fi
command -v go >/dev/null 2>&1 || { log "Go toolchain not found (install golang first)"; exit 1; }

# Go's own configured module proxy; direct VCS fetches cannot work here, so drop "direct".
GOPROXY=${GOPROXY:-$(go env GOPROXY)}
case "$GOPROXY" in *direct*) GOPROXY=$(echo "$GOPROXY" | sed -e 's/,direct//' -e 's/|direct//');; esac
export GOPROXY
export GONOSUMDB= GOPRIVATE= GONOPROXY=

mkdir -p "$BIN" "$STAMPS" "$GOPATH" "$GOCACHE" "$GOMODCACHE"

# one builder at a time (ctest may start the client and conformance suites together)
if [[ $check_only == 0 ]] && command -v flock >/dev/null 2>&1; then
  exec 9>"$TOOLS_ROOT/.lock"
  flock 9
fi

# up_to_date NAME VERSION: the binary exists and was built at VERSION
up_to_date() {
  [[ -x "$BIN/$1" && -f "$STAMPS/$1" && "$(cat "$STAMPS/$1")" == "$2" ]]
}

missing=0
need() { # need NAME VERSION
  if up_to_date "$1" "$2"; then return 1; fi
  missing=1
  return 0
}

# go install MODULE/cmd/X@VERSION (retried: the proxy is sometimes slow)
install_cmd() { # NAME PKG VERSION
  local name=$1 pkg=$2 version=$3 try
  for try in 1 2 3; do
    if go install "$pkg@$version"; then
      echo "$version" > "$STAMPS/$name"
      log "built $name $version"
      return 0
    fi
    log "go install $pkg@$version failed (try $try)"; sleep 5
  done
  return 1
}

# build_conformance NAME VERSION MODE: MODE=test (go test -c) or build (go build)
build_conformance() {
  local name=$1 version=$2 mode=$3 dir work try
  for try in 1 2 3; do
    dir=$(cd "$TOOLS_ROOT" && GOFLAGS=-modcacherw go mod download -json "$CONF_MOD@$version" \
          | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p') && [[ -n "$dir" ]] && break
    log "go mod download $CONF_MOD@$version failed (try $try)"; dir=; sleep 5
  done
  [[ -n "$dir" ]] || return 1
  work=$TOOLS_ROOT/src/$name
  rm -rf "$work"; mkdir -p "$work"
  cp -R "$dir"/. "$work"/
  chmod -R u+w "$work"
  (
    cd "$work"
    go mod download
    if [[ $mode == test ]]; then
      go test -c -o "$BIN/$name.tmp" .
    else
      go build -o "$BIN/$name.tmp" .
    fi
  )
  mv -f "$BIN/$name.tmp" "$BIN/$name"
  echo "$version" > "$STAMPS/$name"
  log "built $name ($CONF_MOD@$version)"
}

# build_module NAME MODULE VERSION PKG: go build PKG (a path inside MODULE) in a copy of the
# module as the proxy serves it. For modules `go install mod@version` refuses: the proxy
# answers 403 to the version-list query it makes (cnab-to-oci), while downloading the exact
# version works.
build_module() {
  local name=$1 mod=$2 version=$3 pkg=$4 dir work try
  for try in 1 2 3; do
    dir=$(cd "$TOOLS_ROOT" && go mod download -json "$mod@$version" \
          | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p') && [[ -n "$dir" ]] && break
    log "go mod download $mod@$version failed (try $try)"; dir=; sleep 5
  done
  [[ -n "$dir" ]] || return 1
  work=$TOOLS_ROOT/src/$name
  rm -rf "$work"; mkdir -p "$work"
  cp -R "$dir"/. "$work"/
  chmod -R u+w "$work"
  (cd "$work" && go build -o "$BIN/$name.tmp" "./$pkg") || return 1
  mv -f "$BIN/$name.tmp" "$BIN/$name"
  echo "$version" > "$STAMPS/$name"
  log "built $name ($mod@$version)"
}

rc=0
if need oras "$ORAS_VERSION"; then
  [[ $check_only == 1 ]] || install_cmd oras "$ORAS_MOD/cmd/oras" "$ORAS_VERSION" || rc=1
fi
if need crane "$CRANE_VERSION"; then
  [[ $check_only == 1 ]] || install_cmd crane "$CRANE_MOD/cmd/crane" "$CRANE_VERSION" || rc=1
fi
if need regctl "$REGCTL_VERSION"; then
  [[ $check_only == 1 ]] || install_cmd regctl "$REGCTL_MOD/cmd/regctl" "$REGCTL_VERSION" || rc=1
fi
if need helm "$HELM_VERSION"; then
  [[ $check_only == 1 ]] || install_cmd helm "$HELM_MOD/cmd/helm" "$HELM_VERSION" || rc=1
fi
if need cnab-to-oci "$CNAB_VERSION"; then
  [[ $check_only == 1 ]] || build_module cnab-to-oci "$CNAB_MOD" "$CNAB_VERSION" cmd/cnab-to-oci || rc=1
fi
if need oci-conformance-v11 "$CONF_V11_VERSION"; then
  [[ $check_only == 1 ]] || build_conformance oci-conformance-v11 "$CONF_V11_VERSION" test || rc=1
fi
if need oci-conformance-main "$CONF_MAIN_VERSION"; then
  [[ $check_only == 1 ]] || build_conformance oci-conformance-main "$CONF_MAIN_VERSION" build || rc=1
fi

if [[ $check_only == 1 ]]; then
  [[ $missing == 0 ]] && { echo "$BIN"; exit 0; }
  log "some tools are missing or not at the pinned version"; exit 1
fi
[[ $rc == 0 ]] || { log "some tools failed to build"; exit 1; }
echo "$BIN"
