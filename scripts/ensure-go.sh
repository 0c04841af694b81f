#!/usr/bin/env bash
# Finds a Go toolchain recent enough for the pinned Go tools (scripts/go-tools.sh,
# bench/tools.sh, bench/loadgen), or fetches one, and prints its bin dir as the last line on
# stdout. Callers put that dir first on PATH and keep GOTOOLCHAIN=local.
#
#   scripts/ensure-go.sh           find one, else fetch one; print its bin dir
#   scripts/ensure-go.sh --check   print the bin dir of one already here (exit 1 if none)
#
# Looked at in this order, the first at GO_MIN or newer wins: $ARCA_GO (a go binary), `go` on
# PATH, /usr/local/go/bin/go, /usr/lib/go/bin/go, the fetched one in the cache.
#
# When none is recent enough (a plain Debian 12 has none, or its golang-go 1.19), the Go
# toolchain module golang.org/toolchain@v0.0.1-go$GO_FETCH.linux-$ARCH -- the zip that
# `GOTOOLCHAIN=go1.N` makes a Go >= 1.21 fetch by itself -- is downloaded from the Go module
# proxy ($GOPROXY, else Go's default proxy) with curl, its h1: hash is checked against the
# pin below (the hash Go's checksum database publishes for that module version, the one `go`
# itself would check), and it is unpacked into ${ARCA_TOOLS:-~/.cache/arca-tools}/go/.
set -euo pipefail

# The highest `go` directive among the modules pinned in scripts/go-tools.sh and bench/tools.sh
# (oras v1.3.6: go 1.26.7). Raise it when a pin needs more.
GO_MIN=1.26.7
# The toolchain fetched when no Go here is recent enough, and its h1: hash per architecture.
GO_FETCH=1.26.11
declare -A GO_FETCH_H1=(
  [amd64]="h1:KyINmJ/FQdKRmDYGuTAAXkumyeR2DyUlSNHZj7XaLFg="
  [arm64]="h1:GFS9FmglLJxMwOSuun3qb8tBjpr8ibzOkt8tBrRLrnk="
)

TOOLS_ROOT=${ARCA_TOOLS:-$HOME/.cache/arca-tools}
GO_CACHE=$TOOLS_ROOT/go

log() { echo "ensure-go: $*" >&2; }

check_only=0
[[ "${1:-}" == "--check" ]] && check_only=1

# go_version GOBINARY -> "1.26.8" (empty if it does not run)
go_version() {
  local v
  v=$(cd / && GOTOOLCHAIN=local GOFLAGS= "$1" env GOVERSION 2>/dev/null) || return 0
  v=${v%% *}; echo "${v#go}"
}

# version_ge A B: A >= B
version_ge() { [[ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" == "$2" ]]; }

fetched_bin=$GO_CACHE/go$GO_FETCH/bin

find_go() {
  local c v seen=" "
  for c in "${ARCA_GO:-}" "$(command -v go 2>/dev/null || true)" /usr/local/go/bin/go \
           /usr/lib/go/bin/go "$fetched_bin/go"; do
    [[ -n "$c" && -x "$c" ]] || continue
    c=$(readlink -f "$c")
    [[ "$seen" == *" $c "* ]] && continue
    seen+="$c "
    v=$(go_version "$c")
    if [[ -n "$v" ]] && version_ge "$v" "$GO_MIN"; then
      log "using $c (go$v)"
      dirname "$c"
      return 0
    fi
    log "skipping $c (go${v:-?}, need go$GO_MIN or newer)"
  done
  return 1
}

if find_go; then exit 0; fi
if [[ $check_only == 1 ]]; then
  log "no Go $GO_MIN or newer here"; exit 1
fi

case "$(uname -m)" in
  x86_64|amd64) arch=amd64 ;;
  aarch64|arm64) arch=arm64 ;;
  *) log "no pinned Go toolchain for $(uname -m): install Go $GO_MIN or newer and set ARCA_GO"; exit 1 ;;
esac
want_h1=${GO_FETCH_H1[$arch]}
for tool in curl unzip python3; do
  command -v "$tool" >/dev/null 2>&1 || { log "$tool is needed to fetch Go (scripts/deps.sh test)"; exit 1; }
done

mkdir -p "$GO_CACHE"
# One fetch at a time (ctest may start several suites that build Go tools at once).
if command -v flock >/dev/null 2>&1; then
  exec 8>"$GO_CACHE/.lock"
  flock 8
  if find_go; then exit 0; fi   # another process fetched it meanwhile
fi

mod_ver=v0.0.1-go$GO_FETCH.linux-$arch
tmp=$(mktemp -d "$GO_CACHE/.fetch.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# Every proxy in GOPROXY, in order ("direct" and "off" are no download address).
GO_DEFAULT_PROXY=https://proxy.golang.org   # what `go env GOPROXY` says when unset
proxies=${GOPROXY:-$GO_DEFAULT_PROXY}
got=0
for p in $(echo "$proxies" | tr ',|' '  '); do
  case "$p" in direct|off) continue ;; esac
  url=${p%/}/golang.org/toolchain/@v/$mod_ver.zip
  log "fetching $url"
  if curl -fsSL --retry 3 --retry-delay 5 --connect-timeout 30 -o "$tmp/go.zip" "$url"; then
    got=1; break
  fi
  log "could not fetch $url"
done
[[ $got == 1 ]] || { log "Go $GO_FETCH could not be fetched from GOPROXY=$proxies"; exit 1; }

# The module's h1: hash (golang.org/x/mod/sumdb/dirhash.Hash1 over the zip's files).
got_h1=$(python3 - "$tmp/go.zip" <<'EOF'
import base64, hashlib, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
summary = hashlib.sha256()
for name in sorted(z.namelist()):
    if "\n" in name:
        sys.exit("file name with a newline in the zip")
    summary.update(("%s  %s\n" % (hashlib.sha256(z.read(name)).hexdigest(), name)).encode())
print("h1:" + base64.b64encode(summary.digest()).decode())
EOF
) || { log "could not read the downloaded zip"; exit 1; }
if [[ "$got_h1" != "$want_h1" ]]; then
  log "golang.org/toolchain@$mod_ver: hash $got_h1, pinned $want_h1: refused"; exit 1
fi

unzip -q "$tmp/go.zip" -d "$tmp/x" || { log "unzip failed"; exit 1; }
root="$tmp/x/golang.org/toolchain@$mod_ver"
[[ -f "$root/bin/go" ]] || { log "no bin/go in golang.org/toolchain@$mod_ver"; exit 1; }
# Module zips carry no file modes; go marks the same files executable when it unpacks one.
chmod -R u+w "$root"
chmod +x "$root"/bin/* "$root"/pkg/tool/*/*
v=$(go_version "$root/bin/go")
[[ "$v" == "$GO_FETCH" ]] || { log "the fetched go says go${v:-?}, expected go$GO_FETCH"; exit 1; }
rm -rf "$GO_CACHE/go$GO_FETCH"
mv "$root" "$GO_CACHE/go$GO_FETCH"
log "fetched Go $GO_FETCH into $GO_CACHE/go$GO_FETCH"
echo "$fetched_bin"
