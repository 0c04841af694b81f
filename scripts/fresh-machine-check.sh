#!/usr/bin/env bash
# Proves the README's promise that `make run` and `make test` work on a fresh Debian 12 machine:
# builds a plain Debian 12 (bookworm) root with debootstrap, clones the repository into it, and
# there, in a chroot inside its own mount and PID namespaces (unshare), with no cache and no
# tool of this machine:
#   1. `make run` in the background until GET http://127.0.0.1:5000/v2/ answers 200, then stops it;
#   2. `scripts/deps.sh test` and `scripts/go-tools.sh` (the Go clients and conformance suites),
#      timed on their own: the first thing `make test` needs besides the build;
#   3. `make test`.
# It prints PASS or FAIL with each stage's time; logs go to $ARCA_FRESH_ROOT/logs/<stamp>/.
#
#   sudo scripts/fresh-machine-check.sh [REPO [REF]]
#
#   REPO   a git repository to clone (default: this one); REF a commit or branch (default: its HEAD).
#          Only committed work is checked: the chroot gets a clone, not the work tree.
#
# Environment:
#   ARCA_FRESH_ROOT     where the roots and logs live (default /var/tmp/arca-fresh); never in the repo
#   ARCA_FRESH_MIRROR   Debian mirror (default: the one apt uses here, else Debian's own)
#   ARCA_FRESH_REBASE=1 debootstrap the base again (it is kept, pristine, between runs)
#   ARCA_FRESH_RUN_TIMEOUT  seconds `make run` may take to answer (default 3600: it builds first)
#   ARCA_FRESH_SKIP_TEST=1  stop after `make run` and the Go tools
#   ARCA_FRESH_RESUME=1     go on in the root the last check left (its clone, its `make run`
#                           done): only the Go tools and `make test` run. Not a fresh machine
#                           any more, so the summary says "resumed"; for a check cut short.
# Passed into the chroot when set here: GOPROXY GOFLAGS GOSUMDB GONOSUMDB GOPRIVATE GONOPROXY
# GOINSECURE PIP_INDEX_URL PIP_EXTRA_INDEX_URL http_proxy https_proxy no_proxy HTTP_PROXY
# HTTPS_PROXY NO_PROXY ARCA_TEST_TIME_SCALE, and /etc/resolv.conf and /etc/hosts are copied.
# CA certificates that this machine trusts beyond Debian's own (those in its bundle
# /etc/ssl/certs/ca-certificates.crt but in no file under /usr/share/ca-certificates: a
# TLS-intercepting proxy's, say) are added to the root as local CAs, as such a network's
# machines have them; without them the Go module proxy is unreachable over HTTPS there.
#
# Needs root (debootstrap, chroot, mounts); installs debootstrap with apt when it is missing.
# A run takes long: everything builds from scratch (about an hour on 2 cores). The mounts live
# in a private mount namespace and go away with it; the EXIT trap unmounts anything left over.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=${1:-$(cd "$here/.." && pwd)}
ref=${2:-HEAD}
FRESH=${ARCA_FRESH_ROOT:-/var/tmp/arca-fresh}
RUN_TIMEOUT=${ARCA_FRESH_RUN_TIMEOUT:-3600}
SUITE=bookworm

log() { echo "fresh-check: $(date -u +%H:%M:%S) $*" >&2; }
die() { log "$*"; exit 2; }

[[ $(id -u) == 0 ]] || die "needs root (debootstrap, chroot, mounts)"
repo=$(cd "$repo" && pwd)
git -C "$repo" rev-parse --git-dir >/dev/null 2>&1 || die "$repo is not a git repository"
commit=$(git -C "$repo" rev-parse --verify "$ref^{commit}") || die "no commit $ref in $repo"
case "$FRESH/" in "$repo"/*) die "ARCA_FRESH_ROOT must be outside the repository" ;; esac

mirror=${ARCA_FRESH_MIRROR:-}
if [[ -z $mirror ]]; then
  # the mirror apt uses here for bookworm (deb822 or one-line sources), else Debian's own
  mirror=$(grep -hsE '^(URIs:|deb )' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list \
             /etc/apt/sources.list.d/*.list 2>/dev/null \
           | grep -oE 'https?://[^ ]*/debian/?( |$)' | head -n1 | tr -d ' ') || true
  mirror=${mirror:-http://deb.debian.org/debian}
fi
mirror=${mirror%/}
security=${mirror%/debian}/debian-security

stamp=$(date -u +%Y%m%d-%H%M%S)
logs=$FRESH/logs/$stamp
base=$FRESH/base
root=$FRESH/run
mkdir -p "$logs"
ln -sfn "$stamp" "$FRESH/logs/latest"
t_start=$(date +%s)

inner_pid=
cleanup() {
  local rc=$?
  # unshare ignores SIGTERM while it waits; SIGKILL to the namespace's first process (its
  # child) ends every process in the namespace, and then unshare
  if [[ -n $inner_pid ]]; then
    local c
    for c in $(cat /proc/"$inner_pid"/task/*/children 2>/dev/null); do kill -KILL "$c" 2>/dev/null; done
    wait "$inner_pid" 2>/dev/null
  fi
  # the namespace's mounts vanish with it; this catches any that leaked (a killed unshare)
  local m
  for m in $(findmnt -rn -o TARGET 2>/dev/null | grep -E "^$root(/|$)" | sort -r); do
    umount -l "$m" 2>/dev/null || true
  done
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- the base: a plain Debian 12, kept pristine between runs ------------------------------
if [[ ${ARCA_FRESH_REBASE:-0} == 1 || ! -f $base/.arca-fresh-base ]]; then
  if ! command -v debootstrap >/dev/null 2>&1; then
    log "installing debootstrap"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >&2
  fi
  keyring=/usr/share/keyrings/debian-archive-keyring.gpg
  [[ -f $keyring ]] || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debian-archive-keyring >&2
  log "debootstrap $SUITE from $mirror into $base (log: $logs/debootstrap.log)"
  rm -rf "$base"
  t0=$(date +%s)
  # git and make: what a person brings to run the README's commands; nothing else is added.
  if ! debootstrap --keyring="$keyring" --include=git,make "$SUITE" "$base" "$mirror" \
       >"$logs/debootstrap.log" 2>&1; then
    tail -n 20 "$logs/debootstrap.log" >&2
    die "debootstrap failed"
  fi
  cat >"$base/etc/apt/sources.list" <<EOF
deb $mirror $SUITE main
deb $mirror $SUITE-updates main
deb $security $SUITE-security main
EOF
  rm -rf "$base"/var/lib/apt/lists/* "$base"/var/cache/apt/archives/*.deb
  touch "$base/.arca-fresh-base"
  log "base ready in $(( $(date +%s) - t0 )) s"
fi

# ---- this run's root: a copy of the base -------------------------------------------------
if findmnt -rn -o TARGET | grep -qE "^$root(/|$)"; then die "something is still mounted under $root"; fi
resume=${ARCA_FRESH_RESUME:-0}
if [[ $resume == 1 ]]; then
  [[ -d $root/root/arca/.git ]] || die "nothing to resume in $root"
  commit=$(git -C "$root/root/arca" rev-parse HEAD)
  log "resuming in $root (commit ${commit:0:12})"
else
  log "copying the base to $root"
  rm -rf "$root"
  cp -a "$base" "$root"
  mkdir -p "$root/srv"
  git clone -q --bare --no-local "$repo" "$root/srv/arca.git"
  git -C "$root/srv/arca.git" update-ref refs/heads/fresh-check "$commit"
  git -C "$root/srv/arca.git" symbolic-ref HEAD refs/heads/fresh-check
fi
mkdir -p "$root/fresh-logs"
cp -L /etc/resolv.conf "$root/etc/resolv.conf"
cp -L /etc/hosts "$root/etc/hosts"
# this machine's own CAs (see above), picked up when ca-certificates is installed in the root
mkdir -p "$root/usr/local/share/ca-certificates"
python3 - "$root/usr/local/share/ca-certificates" <<'EOF'
import glob, os, re, sys
pem = re.compile(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", re.S)
def certs(path):
    try:
        return set(pem.findall(open(path, errors="replace").read()))
    except OSError:
        return set()
debian = set()
for f in glob.glob("/usr/share/ca-certificates/**/*.crt", recursive=True):
    debian |= certs(f)
extra = sorted(certs("/etc/ssl/certs/ca-certificates.crt") - debian)
for i, c in enumerate(extra):
    with open(os.path.join(sys.argv[1], "arca-fresh-host-%d.crt" % i), "w") as f:
        f.write(c + "\n")
print("fresh-check: %d CA certificate(s) of this machine beyond Debian's added" % len(extra), file=sys.stderr)
EOF
if [[ -x $root/usr/sbin/update-ca-certificates ]]; then
  chroot "$root" update-ca-certificates >/dev/null 2>&1 || die "update-ca-certificates failed in $root"
fi

# the environment of the run: a clean one, plus this machine's registry settings
envs=(HOME=/root LANG=C.UTF-8 TERM=dumb DEBIAN_FRONTEND=noninteractive
      PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin)
for v in GOPROXY GOFLAGS GOSUMDB GONOSUMDB GOPRIVATE GONOPROXY GOINSECURE PIP_INDEX_URL \
         PIP_EXTRA_INDEX_URL http_proxy https_proxy no_proxy HTTP_PROXY HTTPS_PROXY NO_PROXY \
         ARCA_TEST_TIME_SCALE; do
  [[ -n ${!v:-} ]] && envs+=("$v=${!v}")
done
[[ ${ARCA_FRESH_SKIP_TEST:-0} == 1 ]] && envs+=(FRESH_SKIP_TEST=1)
[[ $resume == 1 ]] && envs+=(FRESH_RESUME=1)
envs+=(FRESH_RUN_TIMEOUT="$RUN_TIMEOUT")

# ---- what runs inside ---------------------------------------------------------------------
cat >"$root/root/fresh-inner.sh" <<'INNER'
#!/bin/bash
# Runs in the fresh root. Each stage appends "name rc seconds" to /fresh-logs/stages.
set -uo pipefail
L=/fresh-logs
stage() { echo "$1 $2 $3" >>"$L/stages"; echo "fresh-inner: $1 rc=$2 in $3 s" >&2; }

# GET /v2/ on 127.0.0.1:5000 with bash alone (curl is not on a fresh machine before deps)
v2_ok() (
  { exec 3<>/dev/tcp/127.0.0.1/5000; } 2>/dev/null || exit 1
  printf 'GET /v2/ HTTP/1.1\r\nHost: 127.0.0.1:5000\r\nConnection: close\r\n\r\n' >&3
  IFS= read -r -t 10 line <&3 || exit 1
  [[ $line == "HTTP/1."?" 200"* ]]
)

if [[ ${FRESH_RESUME:-0} == 1 ]]; then
  cd /root/arca && git log -1 --format='commit %H %s (resumed)' >"$L/commit"
else
t=$(date +%s)
git clone -q /srv/arca.git /root/arca >"$L/clone.log" 2>&1
rc=$?; stage clone $rc $(( $(date +%s) - t ))
[[ $rc == 0 ]] || exit 1
cd /root/arca
git log -1 --format='commit %H %s' >"$L/commit"

# 1. make run: serves on 127.0.0.1:5000 once built
t=$(date +%s)
setsid make run >"$L/make-run.log" 2>&1 &
run_pid=$!
ok=0
while (( $(date +%s) - t < FRESH_RUN_TIMEOUT )); do
  if v2_ok; then ok=1; break; fi
  kill -0 "$run_pid" 2>/dev/null || break
  sleep 5
done
secs=$(( $(date +%s) - t ))
if [[ $ok == 1 ]]; then
  echo "GET /v2/ -> 200 after $secs s" >>"$L/make-run.log"
  kill -TERM -- "-$run_pid" 2>/dev/null
  for _ in $(seq 60); do kill -0 "$run_pid" 2>/dev/null || break; sleep 1; done
  kill -KILL -- "-$run_pid" 2>/dev/null
  wait "$run_pid" 2>/dev/null
  stage make-run 0 "$secs"
else
  kill -KILL -- "-$run_pid" 2>/dev/null; wait "$run_pid" 2>/dev/null
  stage make-run 1 "$secs"
  exit 1
fi
fi  # not resumed

# 2. the Go tools alone first (what `make test` installs and builds before ctest: test
#    packages, a Go recent enough, the pinned clients), so their time is told apart and
#    a check cut short still shows whether they build here
t=$(date +%s)
{ scripts/deps.sh test && scripts/go-tools.sh; } >"$L/go-tools.log" 2>&1
rc=$?; stage go-tools $rc $(( $(date +%s) - t ))
[[ $rc == 0 ]] || exit 1
[[ ${FRESH_SKIP_TEST:-0} == 1 ]] && exit 0

# 3. make test (its go-tools.sh step now finds the tools built at their pins)
t=$(date +%s)
make test >"$L/make-test.log" 2>&1
rc=$?; stage make-test $rc $(( $(date +%s) - t ))
exit $rc
INNER
chmod +x "$root/root/fresh-inner.sh"

# ---- run it: private mount and PID namespaces, so nothing outlives the check ---------------
log "running make run and make test in the fresh root (commit ${commit:0:12}); logs in $logs"
t0=$(date +%s)
set +e
unshare --mount --pid --fork --kill-child --propagation private -- /bin/bash -c '
  set -e
  r=$1; logs=$2; shift 2
  # the root a mount point of its own, as / is on a machine: podman (vfs layers) makes / private
  # and that fails with EINVAL on a plain directory
  mount --bind "$r" "$r"
  mount -t proc proc "$r/proc"
  mount --rbind /sys "$r/sys"
  mount --rbind /dev "$r/dev"
  mount -t tmpfs -o mode=755 tmpfs "$r/run"
  mount -t tmpfs -o mode=1777 tmpfs "$r/dev/shm"
  mount --bind "$logs" "$r/fresh-logs"
  exec chroot "$r" /usr/bin/env -i "$@" /bin/bash /root/fresh-inner.sh
' fresh "$root" "$logs" "${envs[@]}" >"$logs/inner.log" 2>&1 &
inner_pid=$!
wait "$inner_pid"
rc=$?
inner_pid=
set -e

# ---- summary -------------------------------------------------------------------------------
total=$(( $(date +%s) - t_start ))
result=PASS
[[ $rc == 0 ]] || result=FAIL
if [[ ${ARCA_FRESH_SKIP_TEST:-0} == 1 && $result == PASS ]]; then result="PASS (make test skipped)"; fi
[[ $resume == 1 ]] && result="$result (resumed: clone and make run were a previous check's)"
{
  echo "fresh-machine check: $result"
  echo "date:    $(date -u +%Y-%m-%dT%H:%MZ)"
  echo "commit:  $commit"
  echo "root:    Debian $SUITE from $mirror, $(nproc) cores"
  if [[ -f $logs/stages ]]; then
    while read -r name src secs; do
      printf '  %-10s %-4s %6d s  (%dm%02ds)\n' "$name" "$([[ $src == 0 ]] && echo ok || echo FAIL)" \
        "$secs" $((secs / 60)) $((secs % 60))
    done <"$logs/stages"
  else
    echo "  (no stage finished: see $logs/inner.log)"
  fi
  printf 'total:   %d s (%dm%02ds)\n' "$total" $((total / 60)) $((total % 60))
  echo "logs:    $logs"
} | tee "$logs/summary"
if [[ $rc != 0 && -f $logs/make-test.log ]]; then
  echo "--- make test, failures:" >&2
  grep -E '^[0-9]+% tests passed|Failed|\*\*\*|Timeout' "$logs/make-test.log" | tail -n 30 >&2 || true
fi
exit $rc
