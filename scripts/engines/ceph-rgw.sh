#!/usr/bin/env bash
# A throwaway single-node Ceph cluster with radosgw (a real S3 endpoint) on 127.0.0.1, for tests.
#
#   scripts/engines/ceph-rgw.sh start DIR   # prints `export S3_...` lines on stdout
#   scripts/engines/ceph-rgw.sh stop DIR
#
#   eval "$(scripts/engines/ceph-rgw.sh start /tmp/rgw1)"; ...
#   scripts/engines/ceph-rgw.sh stop /tmp/rgw1; rm -rf /tmp/rgw1
#
# Needs the Debian 12 packages ceph-mon ceph-osd radosgw ceph-common (Ceph 16; scripts/deps.sh
# test installs them) and python3 (standard library only); no systemd, no cephadm, no mgr, no
# /etc/ceph. Meant to run as root (tested so); nothing in it needs more than write access to DIR.
#
# start: DIR must be empty or absent. Everything lives under DIR: ceph.conf, keyring, the mon's
# store, logs (DIR/log: <daemon>.log written by Ceph, <daemon>.out the daemon's stdout and
# stderr) and one pid file per daemon (DIR/mon.pid, DIR/osd.pid, DIR/rgw.pid). The cluster is
# 1 mon + 1 osd + radosgw (beast). The OSD keeps its data in RAM (memstore: ~2 s to ready;
# CEPH_RGW_OSD_BACKEND=bluestore puts it on a sparse 4 GiB file in DIR instead: ~6 s); either
# way the OSD reports a 4 GiB device. RSS: mon ~35 MiB, osd ~50 MiB (+ the data, on memstore),
# radosgw ~45 MiB.
#
# Every daemon binds 127.0.0.1 only: the mon (msgr v1), the OSD's public, cluster and heartbeat
# sockets, and radosgw. No port is fixed, so clusters in different DIRs run side by side:
# radosgw binds port 0 and the port is read back from the kernel; the mon's port goes into the
# monmap beforehand, so it is one the kernel hands out as free, and another one is tried if the
# mon cannot bind it; the OSD takes the first free ports of Ceph's range (6800-7300). Each
# cluster has a fresh fsid, fresh cephx keys (all in DIR/keyring, imported by the mon's mkfs;
# not auth = none: with it, the ceph CLI on a loaded machine now and then sends a command before
# it knows the cluster's fsid and gets "EPERM: problem getting command descriptions") and a
# fresh S3 user with random keys.
#
# Ready means a SigV4-signed ListBuckets with the new user's keys answers 200 (signed by the
# small stdlib-only signer below). Progress goes to stderr; stdout gets only these lines (also
# kept in DIR/s3.env):
#   export S3_ENDPOINT=http://127.0.0.1:PORT
#   export S3_ACCESS_KEY=<20 characters>
#   export S3_SECRET_KEY=<40 characters>
#   export S3_REGION=us-east-1
# RGW accepts any region name in a SigV4 scope; buckets are addressed path-style only (no
# `rgw dns name`, so no virtual-host names). The user starts with no bucket.
# If the cluster is not ready within CEPH_RGW_START_TIMEOUT seconds (default 90), or start is
# interrupted, start stops what it started, prints the tail of every log and exits 1, leaving
# DIR for a look.
#
# stop: stops every process of the cluster in DIR: any process whose arguments name
# DIR/ceph.conf (the daemons, and a Ceph command of an interrupted start). SIGTERM in the order
# that lets each one stop at once, SIGKILL to what is left after 2 s at most, then waits until
# none runs (a zombie counts as gone): typically 0.3-0.7 s, at most ~12 s (then it fails).
# Leaves DIR alone: deleting it is the caller's job (stop still works after DIR was deleted).
# Nothing running is not an error.
#
# /etc/ceph and CEPH_CONF / CEPH_ARGS from the environment are never used: every Ceph command
# gets -c DIR/ceph.conf (or -c /dev/null).
set -euo pipefail
unset CEPH_CONF CEPH_ARGS

usage() { echo "usage: $0 start|stop DIR" >&2; exit 2; }
if [ $# -ne 2 ] || [ -z "$2" ]; then usage; fi
cmd=$1

T0=${EPOCHREALTIME/./}
now_us() { echo "${EPOCHREALTIME/./}"; }
log() {
  local ms=$(( ($(now_us) - T0) / 1000 ))
  printf '[ceph-rgw %3d.%03ds] %s\n' $((ms / 1000)) $((ms % 1000)) "$*" >&2
}

# running PID: PID runs (a zombie does not).
running() {
  local stat
  { read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
  stat=${stat##*) }
  case ${stat%% *} in Z|X|x) return 1 ;; *) return 0 ;; esac
}

# is_ours PID CONF: PID runs and CONF is one of its arguments.
is_ours() {
  local arg
  local -a args=()
  { mapfile -d '' args <"/proc/$1/cmdline"; } 2>/dev/null || return 1
  for arg in "${args[@]}"; do
    # (No bare `return`: called from the EXIT trap, it would return the status `exit` set.)
    [ "$arg" = "$2" ] && { running "$1"; return $?; }
  done
  return 1
}

# cluster_pids CONF: the pids of every running process of the cluster.
cluster_pids() {
  local p
  for p in /proc/[0-9]*; do
    p=${p#/proc/}
    [ "$p" != "$$" ] && [ "$p" != "$BASHPID" ] && is_ours "$p" "$1" && echo "$p"
  done
  return 0
}

# term_and_wait CONF MS [COMM...]: SIGTERM to the cluster's processes named COMM (all of them
# without COMM), then waits up to MS milliseconds until they are gone; true if they are.
term_and_wait() {
  local conf=$1 end=$(( $(now_us) + $2 * 1000 )) p comm first=1
  shift 2
  local -a pids=()
  while :; do
    pids=()
    for p in $(cluster_pids "$conf"); do
      if [ $# -gt 0 ]; then
        { read -r comm <"/proc/$p/comm"; } 2>/dev/null || continue
        case " $* " in *" $comm "*) ;; *) continue ;; esac
      fi
      pids+=("$p")
    done
    [ ${#pids[@]} -gt 0 ] || return 0
    if [ "$first" = 1 ]; then kill -TERM "${pids[@]}" 2>/dev/null || true; first=0; fi
    [ "$(now_us)" -lt "$end" ] || return 1
    sleep 0.02
  done
}

# stop_cluster DIR: radosgw (and any Ceph command) first, while the OSD is up: without its OSD
# it hangs; then the OSD, while the mon is up: without its mon it waits ~5 s; then the mon.
# After 2 s in all, SIGKILL to what is left, then up to 10 s for it to go.
stop_cluster() {
  local conf=$1/ceph.conf p end
  term_and_wait "$conf" 800 radosgw radosgw-admin ceph ceph-authtool timeout || true
  term_and_wait "$conf" 800 ceph-osd || true
  term_and_wait "$conf" 400 && return 0
  for p in $(cluster_pids "$conf"); do kill -KILL "$p" 2>/dev/null || true; done
  end=$(( $(now_us) + 10000000 ))
  while [ -n "$(cluster_pids "$conf")" ]; do
    if [ "$(now_us)" -ge "$end" ]; then
      echo "ceph-rgw: still running 10 s after SIGKILL: $(cluster_pids "$conf" | tr '\n' ' ')" >&2
      return 1
    fi
    sleep 0.05
  done
}

# DIR as the daemons' arguments name it: absolute, symlinks resolved. It need not exist: stop
# still finds the processes of a cluster whose DIR was deleted too early.
D=$(realpath -m -- "$2")
C=$D/ceph.conf

if [ "$cmd" = stop ]; then
  if [ -z "$(cluster_pids "$C")" ]; then
    log "nothing of a cluster in $D runs"
  else
    stop_cluster "$D"
    log "stopped the cluster in $D"
  fi
  exit 0
fi
[ "$cmd" = start ] || usage

for b in ceph ceph-mon ceph-osd radosgw radosgw-admin ceph-authtool monmaptool python3; do
  command -v "$b" >/dev/null && continue
  echo "ceph-rgw: $b not found (scripts/deps.sh test installs Ceph)" >&2
  exit 1
done
mkdir -p "$D"
[ -z "$(ls -A "$D")" ] || { echo "ceph-rgw: $D is not empty" >&2; exit 1; }
TIMEOUT=${CEPH_RGW_START_TIMEOUT:-90}
BACKEND=${CEPH_RGW_OSD_BACKEND:-memstore}
DEADLINE=$(( EPOCHSECONDS + TIMEOUT ))

# fd 3: the caller's stderr, for on_exit (the trap may fire inside a command whose stderr goes
# to /dev/null). Daemons do not get it (launch), so they never hold the caller's pipe open.
exec 3>&2
ready=0
on_exit() {
  [ "$ready" = 1 ] && return 0
  exec 2>&3
  echo "ceph-rgw: start FAILED; logs in $D/log" >&2
  for f in "$D"/log/*; do [ -s "$f" ] && { echo "--- tail $f" >&2; tail -n 8 "$f" >&2; }; done
  stop_cluster "$D" || true
  # A daemon forked a moment ago may not have exec'd yet (its arguments do not name the conf).
  for f in "$D"/*.pid; do [ -f "$f" ] && kill -KILL "$(cat "$f")" 2>/dev/null; done
  return 0
}
trap on_exit EXIT
trap 'exit 1' INT TERM HUP

# left: seconds before the deadline, at least 1 (`timeout 0` would mean no limit at all).
left() { local n=$(( DEADLINE - EPOCHSECONDS )); echo $(( n > 0 ? n : 1 )); }
past_deadline() { [ "$EPOCHSECONDS" -ge "$DEADLINE" ]; }
# alive NAME: the daemon recorded in DIR/NAME.pid runs. (No argument check: right after the
# fork, the child has not exec'd the daemon yet.)
alive() { running "$(cat "$D/$1.pid")"; }
# wait_for WHAT DAEMON CMD...: polls CMD until it succeeds; fails when DAEMON died or time is up.
wait_for() {
  local what=$1 daemon=$2
  shift 2
  until "$@" >/dev/null 2>&1; do
    alive "$daemon" || { echo "ceph-rgw: $daemon died while waiting for $what" >&2; return 1; }
    if past_deadline; then
      echo "ceph-rgw: timed out (${TIMEOUT}s) waiting for $what" >&2
      return 1
    fi
    sleep 0.2
  done
  log "$what"
}
# launch NAME CMD...: a daemon, in the foreground of a session of its own, in the background.
launch() {
  local name=$1
  shift
  setsid "$@" -c "$C" -f </dev/null >"$D/log/$name.out" 2>&1 3>&- &
  echo $! >"$D/$name.pid"
}
# ceph_ ARGS...: the ceph CLI on this cluster, never beyond the deadline.
ceph_() { timeout "$(left)" ceph -c "$C" --connect-timeout 10 "$@"; }
osd_up() { [[ $(ceph_ osd dump -f json) == *'"up":1'* ]]; }

free_port() {
  python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}
# listen_port PID: the port of the first TCP socket PID listens on (nothing if none yet).
listen_port() {
  python3 - "$1" <<'PY'
import os, sys
pid = sys.argv[1]
inodes = set()
for fd in os.listdir(f"/proc/{pid}/fd"):
    try:
        link = os.readlink(f"/proc/{pid}/fd/{fd}")
    except OSError:
        continue
    if link.startswith("socket:["):
        inodes.add(link[8:-1])
for line in open(f"/proc/{pid}/net/tcp").readlines()[1:]:
    f = line.split()
    if f[3] == "0A" and f[9] in inodes:   # 0A: LISTEN
        print(int(f[1].split(":")[1], 16))
        break
PY
}
# listens NAME PORT: the daemon NAME listens on PORT.
listens() { [ "$(listen_port "$(cat "$D/$1.pid")" 2>/dev/null)" = "$2" ]; }
# s3_ready ENDPOINT ACCESS_KEY SECRET_KEY: a SigV4-signed ListBuckets answers 200.
s3_ready() {
  python3 - "$@" <<'PY'
import datetime, hashlib, hmac, sys, urllib.request
endpoint, ak, sk = sys.argv[1:4]
region, host = "us-east-1", endpoint.split("//", 1)[1]
now = datetime.datetime.now(datetime.timezone.utc)
amz_date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
payload = hashlib.sha256(b"").hexdigest()
names = "host;x-amz-content-sha256;x-amz-date"
canonical = "\n".join(["GET", "/", "", f"host:{host}", f"x-amz-content-sha256:{payload}",
                       f"x-amz-date:{amz_date}", "", names, payload])
scope = f"{day}/{region}/s3/aws4_request"
to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                     hashlib.sha256(canonical.encode()).hexdigest()])
key = ("AWS4" + sk).encode()
for part in (day, region, "s3", "aws4_request"):
    key = hmac.new(key, part.encode(), hashlib.sha256).digest()
sig = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
req = urllib.request.Request(endpoint + "/", headers={
    "x-amz-date": amz_date, "x-amz-content-sha256": payload,
    "Authorization": f"AWS4-HMAC-SHA256 Credential={ak}/{scope}, SignedHeaders={names}, "
                     f"Signature={sig}"})
with urllib.request.urlopen(req, timeout=5) as r:
    r.read()
    sys.exit(0 if r.status == 200 else 1)
PY
}

mkdir -p "$D/log" "$D/run" "$D/osd/ceph-0" "$D/rgw"
FSID=$(cat /proc/sys/kernel/random/uuid)
OSD_UUID=$(cat /proc/sys/kernel/random/uuid)
# write_conf MON_PORT. (paxos propose interval: the mon commits a change every 1 s by default,
# and radosgw's first start makes a dozen of them, creating its pools: 10 s instead of 1.)
write_conf() {
  cat >"$C" <<CONF
[global]
fsid = $FSID
mon host = v1:127.0.0.1:$1
mon initial members = a
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind msgr2 = false
ms bind ipv6 = false
ms bind retry count = 2
ms bind retry delay = 1
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
keyring = $D/keyring
run dir = $D/run
admin socket = $D/run/\$name.asok
log file = $D/log/\$name.log
pid file = $D/run/\$name.pid
mon data = $D/mon/\$cluster-\$id
osd data = $D/osd/\$cluster-\$id
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
osd crush update on start = false
osd class update on start = false
mon allow pool size one = true
mon allow pool delete = true
mon max pg per osd = 1000
mon warn on pool no redundancy = false
mon warn on insecure global id reclaim allowed = false
mon data avail warn = 1
mon data avail crit = 0
mon osd down out interval = 0
paxos propose interval = 0.05
osd objectstore = $BACKEND
memstore device bytes = 4294967296
bluestore block path = $D/osd/ceph-0/block.file
bluestore block create = true
bluestore block size = 4294967296
bluestore block wal create = false
bluestore block db create = false
bluestore fsck on mount = false
osd memory target = 939524096
osd op num shards = 1
osd op num threads per shard = 2
osd heartbeat grace = 60
[client.admin]
admin socket =
[client.rgw]
rgw frontends = beast endpoint=127.0.0.1:0
rgw data = $D/rgw
rgw enable usage log = false
rgw thread pool size = 64
CONF
}

log "starting in $D ($BACKEND)"
ceph-authtool -c /dev/null --create-keyring "$D/keyring" --gen-key -n mon. \
  --cap mon 'allow *' >/dev/null
ceph-authtool -c /dev/null "$D/keyring" --gen-key -n client.admin \
  --cap mon 'allow *' --cap osd 'allow *' --cap mgr 'allow *' >/dev/null
ceph-authtool -c /dev/null "$D/keyring" --gen-key -n osd.0 \
  --cap mon 'allow profile osd' --cap mgr 'allow profile osd' --cap osd 'allow *' >/dev/null
ceph-authtool -c /dev/null "$D/keyring" --gen-key -n client.rgw \
  --cap mon 'allow rw' --cap osd 'allow rwx' >/dev/null

# The mon. Its port is in the monmap before it binds it: if another process took the port
# meanwhile, a new port and a new mon store.
for attempt in 1 2 3; do
  MON_PORT=$(free_port)
  write_conf "$MON_PORT"
  rm -rf "$D/mon" "$D/monmap"
  mkdir -p "$D/mon/ceph-a"
  monmaptool -c /dev/null --create --fsid "$FSID" --addv a "[v1:127.0.0.1:$MON_PORT]" \
    "$D/monmap" >/dev/null
  ceph-mon -c "$C" --mkfs -i a --monmap "$D/monmap" --keyring "$D/keyring" \
    >"$D/log/mon-mkfs.out" 2>&1
  launch mon ceph-mon -i a
  # (Listening first: `ceph mon stat` alone would wait out its connect timeout on a dead mon.)
  if wait_for "mon listening on 127.0.0.1:$MON_PORT" mon listens mon "$MON_PORT" &&
     wait_for "mon up" mon ceph_ mon stat; then break; fi
  alive mon && exit 1   # timed out with the mon running: not a port clash
  if [ "$attempt" = 3 ] || ! grep -qs "Address already in use" "$D/log/mon.out"; then exit 1; fi
  log "mon port $MON_PORT was taken meanwhile; trying another"
  mv "$D/log/mon.out" "$D/log/mon.out.$attempt"
done

# The OSD (id 0: the keyring has its key), placed in the CRUSH map by hand (osd crush update
# on start = false).
OSD_ID=$(ceph_ osd new "$OSD_UUID" 0 2>>"$D/log/ceph-cli.out")
ceph_ osd crush add "osd.$OSD_ID" 1.0 root=default >>"$D/log/ceph-cli.out" 2>&1
timeout "$(left)" ceph-osd -c "$C" -i "$OSD_ID" --mkfs --osd-uuid "$OSD_UUID" \
  >"$D/log/osd-mkfs.out" 2>&1
log "osd mkfs done"
launch osd ceph-osd -i "$OSD_ID"
wait_for "osd up" osd osd_up

# radosgw (it creates its pools on its first start), then the S3 user.
launch rgw radosgw -n client.rgw
RGW_PORT=
until [ -n "$RGW_PORT" ]; do
  alive rgw || { echo "ceph-rgw: rgw died before listening" >&2; exit 1; }
  if past_deadline; then
    echo "ceph-rgw: timed out (${TIMEOUT}s) waiting for rgw to listen" >&2
    exit 1
  fi
  sleep 0.2
  RGW_PORT=$(listen_port "$(cat "$D/rgw.pid")" 2>/dev/null || true)
done
ENDPOINT=http://127.0.0.1:$RGW_PORT
log "rgw listening on $ENDPOINT"

read -r AK SK < <(python3 -c 'import secrets, string
upper, alnum = string.ascii_uppercase + string.digits, string.ascii_letters + string.digits
print("".join(secrets.choice(upper) for _ in range(20)),
      "".join(secrets.choice(alnum) for _ in range(40)))')
timeout "$(left)" radosgw-admin -c "$C" user create --uid=arca-test --display-name=arca-test \
  --access-key="$AK" --secret-key="$SK" >"$D/log/user-create.out" 2>&1
log "s3 user created"
wait_for "signed ListBuckets answers 200" rgw s3_ready "$ENDPOINT" "$AK" "$SK"

printf 'export %s\n' "S3_ENDPOINT=$ENDPOINT" "S3_ACCESS_KEY=$AK" "S3_SECRET_KEY=$SK" \
  "S3_REGION=us-east-1" >"$D/s3.env"
ready=1
log "ready"
cat "$D/s3.env"
