#!/usr/bin/env bash
# Builds the Go-based registry clients and the OCI conformance suite used by
# tests/clients, tests/conformance and tests/types, into a persistent cache outside the repo.
#
#   scripts/go-tools.sh            build what is missing, print the bin dir
#   scripts/go-tools.sh --check    exit 0 if everything is built at the pinned versions
#
# Cache layout (override the root with ARCA_TOOLS):
#   ${ARCA_TOOLS:-$HOME/.cache/arca-tools}/bin        oras crane regctl helm cnab-to-oci cosign notation
#                                                    oci-conformance-*
#   .../gopath .../gocache .../gomodcache            Go's own caches, so rebuilds are fast
#   .../go/go1.N                                     the Go fetched by scripts/ensure-go.sh, if any
#
# Everything comes from the Go module proxy; nothing is fetched from anywhere else. The Go
# toolchain too: scripts/ensure-go.sh picks a Go recent enough for these pins, or fetches one
# (a plain Debian 12 has only golang-go 1.19). `--check` only reads the stamps and needs no Go.
# A build that fails at any step fails the script and leaves that tool without a stamp.
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
# cosign and notation (tests/clients/test_signers_auth.py signs and verifies images as
# referrers, logged in with auth: token). cosign stays on the v2 line (v2.6.5, the newest v2
# the proxy lists). The proxy lists no versions of notation (403 to the version-list query)
# but serves v1.3.2 itself, so notation is built like cnab-to-oci.
COSIGN_MOD=github.com/sigstore/cosign/v2
COSIGN_VERSION=v2.6.5
NOTATION_MOD=github.com/notaryproject/notation
NOTATION_VERSION=v1.3.2
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

# up_to_date NAME VERSION: the binary exists and was built at VERSION
up_to_date() {
  [[ -x "$BIN/$1" && -f "$STAMPS/$1" && "$(cat "$STAMPS/$1")" == "$2" ]]
}

# --check needs no Go: it only reads the stamps.
if [[ $check_only == 1 ]]; then
  missing=0
  for t in "oras $ORAS_VERSION" "crane $CRANE_VERSION" "regctl $REGCTL_VERSION" \
           "helm $HELM_VERSION" "cnab-to-oci $CNAB_VERSION" \
           "cosign $COSIGN_VERSION" "notation $NOTATION_VERSION" \
           "oci-conformance-v11 $CONF_V11_VERSION" "oci-conformance-main $CONF_MAIN_VERSION"; do
    up_to_date $t || { log "${t% *} is missing or not at ${t#* }"; missing=1; }
  done
  [[ $missing == 0 ]] && { echo "$BIN"; exit 0; }
  exit 1
fi

# A Go recent enough for the pins (fetched from the module proxy when the machine has none).
go_bin=$("$(dirname "$0")/ensure-go.sh") || { log "no Go toolchain recent enough (scripts/ensure-go.sh)"; exit 1; }
go_bin=${go_bin##*$'\n'}
PATH=$go_bin:$PATH

# Go's own configured module proxy; direct VCS fetches cannot work here, so drop "direct".
GOPROXY=${GOPROXY:-$(go env GOPROXY)}
case "$GOPROXY" in *direct*) GOPROXY=$(echo "$GOPROXY" | sed -e 's/,direct//' -e 's/|direct//');; esac
export GOPROXY
export GONOSUMDB= GOPRIVATE= GONOPROXY=

mkdir -p "$BIN" "$STAMPS" "$GOPATH" "$GOCACHE" "$GOMODCACHE"

# one builder at a time (ctest may start the client and conformance suites together)
if command -v flock >/dev/null 2>&1; then
  exec 9>"$TOOLS_ROOT/.lock"
  flock 9
fi

# Every build function below is called as `fn ... || rc=1`, a context in which bash ignores
# `set -e` inside the function (and inside any subshell it starts). So each step checks its
# own status and returns 1; the stamp is removed before a build and written only as the last
# step of a successful one, so a failed build never leaves a binary stamped with the new pin.

# begin_build NAME: forget the old stamp and any half-written output
begin_build() {
  rm -f "$STAMPS/$1" "$BIN/$1.tmp" || return 1
}

# finish_build NAME VERSION: the binary is there (an executable file); stamp it
finish_build() {
  [[ -x "$BIN/$1" ]] || { log "$1: no binary after the build"; return 1; }
  echo "$2" > "$STAMPS/$1.tmp" && mv -f "$STAMPS/$1.tmp" "$STAMPS/$1" \
    || { log "$1: could not write its stamp"; return 1; }
}

# install_tmp NAME: $BIN/NAME.tmp, built, replaces $BIN/NAME if it is an executable (`go build
# -o` on a package that is not a main package writes an archive and succeeds)
install_tmp() {
  [[ -f "$BIN/$1.tmp" && -x "$BIN/$1.tmp" ]] || { log "$1: the build made no executable"; rm -f "$BIN/$1.tmp"; return 1; }
  mv -f "$BIN/$1.tmp" "$BIN/$1" || return 1
}

# module_dir MODULE VERSION: download MODULE@VERSION from the proxy, print its folder (retried:
# the proxy is sometimes slow)
module_dir() {
  local mod=$1 version=$2 dir try
  for try in 1 2 3; do
    if dir=$(cd "$TOOLS_ROOT" && go mod download -json "$mod@$version" \
             | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p') && [[ -n "$dir" && -d "$dir" ]]; then
      echo "$dir"; return 0
    fi
    log "go mod download $mod@$version failed (try $try)"; sleep 5
  done
  return 1
}

# copy_module NAME DIR: a writable copy of DIR in $TOOLS_ROOT/src/NAME, printed
copy_module() {
  local work=$TOOLS_ROOT/src/$1
  rm -rf "$work" && mkdir -p "$work" && cp -R "$2"/. "$work"/ && chmod -R u+w "$work" \
    || { log "$1: could not copy $2 to $work"; return 1; }
  echo "$work"
}

# install_cmd NAME PKG VERSION: go install PKG@VERSION (retried: the proxy is sometimes slow)
install_cmd() {
  local name=$1 pkg=$2 version=$3 try
  begin_build "$name" || return 1
  for try in 1 2 3; do
    if go install "$pkg@$version"; then
      finish_build "$name" "$version" || return 1
      log "built $name $version"
      return 0
    fi
    log "go install $pkg@$version failed (try $try)"; sleep 5
  done
  return 1
}

# build_conformance NAME VERSION MODE: MODE=test (go test -c) or build (go build)
build_conformance() {
  local name=$1 version=$2 mode=$3 dir work
  begin_build "$name" || return 1
  dir=$(module_dir "$CONF_MOD" "$version") || return 1
  work=$(copy_module "$name" "$dir") || return 1
  (cd "$work" && go mod download) || { log "$name: go mod download failed"; return 1; }
  if [[ $mode == test ]]; then
    (cd "$work" && go test -c -o "$BIN/$name.tmp" .) || { log "$name: go test -c failed"; return 1; }
  else
    (cd "$work" && go build -o "$BIN/$name.tmp" .) || { log "$name: go build failed"; return 1; }
  fi
  install_tmp "$name" || return 1
  finish_build "$name" "$version" || return 1
  log "built $name ($CONF_MOD@$version)"
}

# build_module NAME MODULE VERSION PKG: go build PKG (a path inside MODULE) in a copy of the
# module as the proxy serves it. For modules `go install mod@version` refuses: the proxy
# answers 403 to the version-list query it makes (cnab-to-oci), while downloading the exact
# version works.
build_module() {
  local name=$1 mod=$2 version=$3 pkg=$4 dir work
  begin_build "$name" || return 1
  dir=$(module_dir "$mod" "$version") || return 1
  work=$(copy_module "$name" "$dir") || return 1
  (cd "$work" && go build -o "$BIN/$name.tmp" "./$pkg") || { log "$name: go build failed"; return 1; }
  install_tmp "$name" || return 1
  finish_build "$name" "$version" || return 1
  log "built $name ($mod@$version)"
}

rc=0
up_to_date oras "$ORAS_VERSION" || install_cmd oras "$ORAS_MOD/cmd/oras" "$ORAS_VERSION" || rc=1
up_to_date crane "$CRANE_VERSION" || install_cmd crane "$CRANE_MOD/cmd/crane" "$CRANE_VERSION" || rc=1
up_to_date regctl "$REGCTL_VERSION" || install_cmd regctl "$REGCTL_MOD/cmd/regctl" "$REGCTL_VERSION" || rc=1
up_to_date helm "$HELM_VERSION" || install_cmd helm "$HELM_MOD/cmd/helm" "$HELM_VERSION" || rc=1
up_to_date cnab-to-oci "$CNAB_VERSION" \
  || build_module cnab-to-oci "$CNAB_MOD" "$CNAB_VERSION" cmd/cnab-to-oci || rc=1
up_to_date cosign "$COSIGN_VERSION" || install_cmd cosign "$COSIGN_MOD/cmd/cosign" "$COSIGN_VERSION" || rc=1
up_to_date notation "$NOTATION_VERSION" \
  || build_module notation "$NOTATION_MOD" "$NOTATION_VERSION" cmd/notation || rc=1
up_to_date oci-conformance-v11 "$CONF_V11_VERSION" \
  || build_conformance oci-conformance-v11 "$CONF_V11_VERSION" test || rc=1
up_to_date oci-conformance-main "$CONF_MAIN_VERSION" \
  || build_conformance oci-conformance-main "$CONF_MAIN_VERSION" build || rc=1

[[ $rc == 0 ]] || { log "some tools failed to build"; exit 1; }
echo "$BIN"
