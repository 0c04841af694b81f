#!/usr/bin/env bash
# A throwaway PostgreSQL 15 server on 127.0.0.1, for tests.
#
#   scripts/engines/postgres.sh start DIR     # prints `export PG...` lines on stdout
#   scripts/engines/postgres.sh restart DIR   # crash (stop -m immediate) and start again
#   scripts/engines/postgres.sh stop DIR
#
#   eval "$(scripts/engines/postgres.sh start /tmp/pg1)"; psql -c 'SELECT 1'; ...
#   scripts/engines/postgres.sh stop /tmp/pg1; rm -rf /tmp/pg1
#
# Needs the Debian 12 package postgresql-15 (scripts/deps.sh test installs it; the binaries are
# taken from /usr/lib/postgresql/15/bin, or PG_BIN) and python3 (standard library only); no
# systemd, no pg_createcluster, nothing under /etc/postgresql or /var/run/postgresql. Meant to
# run as root (tested so): initdb and the server refuse to run as root, so both run as the
# `postgres` OS user (runuser); run by another user, they run as that user.
#
# start: DIR must be empty or absent. Everything lives under DIR: the data directory (DIR/data,
# owned by postgres), the unix socket (DIR/run/.s.PGSQL.PORT; DIR/run is 0700, owned by
# postgres), logs (DIR/log: postgres.log written by the server, initdb.out, pg_ctl.out), the
# postmaster's pid (DIR/postgres.pid) and the credentials (DIR/pg.env, 0600). DIR itself is
# made searchable by others (go+x, not readable) so that postgres reaches its subdirectories;
# every parent of DIR must be searchable by postgres already (any DIR under /tmp is; one under
# /root or pytest's /tmp/pytest-of-root is not, and start says so).
#
# Authentication: initdb makes the superuser `arca` with a fresh random password (32
# characters, [A-Za-z0-9], so the URL needs no escaping). pg_hba.conf has two lines only:
#   local all all trust                       # the socket in DIR/run: only root and postgres
#                                               can reach it (a back door for a test's admin)
#   host  all all 127.0.0.1/32 scram-sha-256  # TCP: the password, checked
# The server listens on 127.0.0.1 only (no ::1, no other address) and on the socket; no SSL.
# Database `arca` (UTF8, locale C: byte-order collation, the same on every machine) is created.
#
# The port is not fixed, so servers in different DIRs run side by side. The server cannot bind
# port 0 and report it (the port names its socket), so start picks a random port that binds on
# 127.0.0.1 now, below the kernel's ephemeral range (from 10000 up to
# net.ipv4.ip_local_port_range, 32768 by default; Ceph's 6800-7300 is below it): a port in
# the ephemeral range could be taken, while the server is down for a restart, by the local
# end of some client's outgoing connection, and restart must come back on the same port.
# If another process binds the port before the server does, start tries another one (5 tries).
#
# Durability: fsync stays on (the default), as the registry's tests of a crash expect. PG_FAST=1
# at start turns fsync and full_page_writes off, for speed; synchronous_commit stays on (off, a
# commit is acknowledged before its WAL leaves the server's memory, and a crash of the server
# loses it: the cluster test of a PostgreSQL restart caught that). A crash of the
# server (restart, kill -9) loses nothing even then, only an OS crash would. initdb always runs
# with --no-sync (its files are in the page cache; only an OS crash could lose them).
# max_connections = 200. The settings are in DIR/data/arca.conf (included by postgresql.conf);
# a test may still use ALTER SYSTEM.
#
# Ready means psql, over TCP with the printed credentials, runs `SELECT 1` in database arca.
# Progress goes to stderr; stdout gets only these lines (also kept in DIR/pg.env):
#   export PGHOST=127.0.0.1 PGPORT=PORT PGUSER=arca PGPASSWORD=PASSWORD PGDATABASE=arca
#   export ARCA_TEST_PG_URL=postgres://arca:PASSWORD@127.0.0.1:PORT/arca?sslmode=disable
# If the server is not ready within PG_START_TIMEOUT seconds (default 60), or start is
# interrupted, start stops what it started, prints the tail of every log and exits 1, leaving
# DIR for a look. Typically ready in ~1 s (initdb most of it).
#
# restart: `pg_ctl stop -m immediate` (a crash: no shutdown checkpoint; open connections are cut)
# then start again on the same data, port and password, which runs crash recovery. Ready as
# for start; prints the same lines. If the port is taken meanwhile, it tries again until the
# timeout (the port cannot change: clients hold the URL). Also starts a stopped server. On
# failure it leaves nothing running and exits 1.
#
# stop: `pg_ctl stop -m fast` (open connections are cut, a shutdown checkpoint is written),
# then, if the server is still up after 10 s, `-m immediate`, then SIGKILL to every process of
# the server: the postmaster, its children, and a pg_ctl or initdb of an interrupted start (any
# process whose arguments name DIR/data, and their children). Waits until none runs. Leaves DIR
# alone: deleting it is the caller's job (stop still works after DIR was deleted). Nothing
# running is not an error.
#
# The caller's PG* variables (PGHOST, PGSERVICE, PGSSLMODE, PGOPTIONS, ...) never reach the
# server or psql here; ~/.psqlrc is not read.
set -euo pipefail

usage() { echo "usage: $0 start|stop|restart DIR" >&2; exit 2; }
if [ $# -ne 2 ] || [ -z "$2" ]; then usage; fi
cmd=$1
case $cmd in start | stop | restart) ;; *) usage ;; esac

FAST=${PG_FAST:-0}
TIMEOUT=${PG_START_TIMEOUT:-60}
BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
for v in $(compgen -e); do
  case $v in PG*) unset "$v" ;; esac
done

T0=${EPOCHREALTIME/./}
now_us() { echo "${EPOCHREALTIME/./}"; }
log() {
  local ms=$(( ($(now_us) - T0) / 1000 ))
  printf '[postgres %3d.%03ds] %s\n' $((ms / 1000)) $((ms % 1000)) "$*" >&2
}

# DIR as the server's arguments name it: absolute, symlinks resolved. It need not exist.
D=$(realpath -m -- "$2")
DATA=$D/data
cd /   # the postgres user may not be able to enter the caller's directory

# as_pg CMD...: CMD as the postgres user (as this user when not root).
AS_PG=()
if [ "$(id -u)" = 0 ]; then
  AS_PG=(runuser -u postgres --)
  own() { chown postgres:postgres "$@"; }
else
  own() { :; }
fi
as_pg() { "${AS_PG[@]}" "$@"; }

# running PID: PID runs (a zombie does not).
running() {
  local stat
  { read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
  stat=${stat##*) }
  case ${stat%% *} in Z|X|x) return 1 ;; *) return 0 ;; esac
}

# server_pids: the pids of every running process of the server in DIR: those whose arguments
# name DIR/data (the postmaster; pg_ctl, initdb and runuser of a start), and their children (the
# postmaster's children set their own titles, which no longer name it).
server_pids() {
  local p stat arg
  local -a args=()
  local -A ppid=() ours=()
  for p in /proc/[0-9]*; do
    p=${p#/proc/}
    [ "$p" != "$$" ] && [ "$p" != "$BASHPID" ] || continue
    { read -r stat <"/proc/$p/stat"; } 2>/dev/null || continue
    stat=${stat##*) }
    case ${stat%% *} in Z|X|x) continue ;; esac
    stat=${stat#* }
    ppid[$p]=${stat%% *}
    { mapfile -d '' args <"/proc/$p/cmdline"; } 2>/dev/null || continue
    for arg in "${args[@]}"; do
      if [ "$arg" = "$DATA" ]; then ours[$p]=1; break; fi
    done
  done
  for p in "${!ppid[@]}"; do
    if [ -n "${ours[$p]:-}" ] || [ -n "${ours[${ppid[$p]}]:-}" ]; then echo "$p"; fi
  done
  return 0
}

# stop_server MODE: pg_ctl stop -m MODE (fast or immediate; fast falls back to immediate), then
# SIGKILL to whatever of the server is left; returns once nothing of it runs (fails if something
# still runs 10 s after SIGKILL).
stop_server() {
  local mode=$1 out=/dev/null p end
  local -a killed=()
  [ -d "$D/log" ] && out=$D/log/pg_ctl.out
  [ -n "$(server_pids)" ] || return 0
  if [ -f "$DATA/postmaster.pid" ] &&
     ! as_pg "$BIN/pg_ctl" -D "$DATA" -m "$mode" -w -t 10 stop >>"$out" 2>&1 &&
     [ "$mode" != immediate ]; then
    log "pg_ctl stop -m $mode did not stop it; -m immediate"
    as_pg "$BIN/pg_ctl" -D "$DATA" -m immediate -w -t 5 stop >>"$out" 2>&1 || true
  fi
  killed=($(server_pids))
  [ ${#killed[@]} -gt 0 ] || return 0
  log "SIGKILL to what is left"
  kill -KILL "${killed[@]}" 2>/dev/null || true
  end=$(( $(now_us) + 10000000 ))
  while [ -n "$(server_pids)" ]; do
    if [ "$(now_us)" -ge "$end" ]; then
      echo "postgres: still running 10 s after SIGKILL: $(server_pids | tr '\n' ' ')" >&2
      return 1
    fi
    sleep 0.05
  done
  # A killed postmaster leaves its (small) SysV segment behind: the ones a killed process
  # created and nothing is attached to any more. (A postmaster stopped by pg_ctl removes it.)
  for p in $(awk -v pids=" ${killed[*]} " \
      'NR > 1 && index(pids, " " $5 " ") && $7 == 0 { print $2 }' /proc/sysvipc/shm 2>/dev/null)
  do
    ipcrm -m "$p" 2>/dev/null || true
  done
}

if [ "$cmd" = stop ]; then
  if [ -z "$(server_pids)" ]; then
    log "nothing of a server in $D runs"
  else
    t=$(now_us)
    stop_server fast
    log "stopped the server in $D ($(( ($(now_us) - t) / 1000 )) ms)"
  fi
  exit 0
fi

for b in "$BIN/initdb" "$BIN/pg_ctl" "$BIN/postgres" "$BIN/psql" python3; do
  command -v "$b" >/dev/null && continue
  echo "postgres: $b not found (scripts/deps.sh test installs postgresql-15)" >&2
  exit 1
done
if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
  echo "postgres: no OS user postgres (the postgresql-15 package makes it)" >&2
  exit 1
fi
DEADLINE=$(( EPOCHSECONDS + TIMEOUT ))
left() { local n=$(( DEADLINE - EPOCHSECONDS )); echo $(( n > 0 ? n : 1 )); }
past_deadline() { [ "$EPOCHSECONDS" -ge "$DEADLINE" ]; }

# fd 3: the caller's stderr, for on_exit. The server never gets it (3>&-): it would hold the
# caller's pipe open for as long as it runs.
exec 3>&2
ready=0
on_exit() {
  [ "$ready" = 1 ] && return 0
  exec 2>&3
  echo "postgres: $cmd FAILED; logs in $D/log" >&2
  for f in "$D"/log/*; do [ -s "$f" ] && { echo "--- tail $f" >&2; tail -n 8 "$f" >&2; }; done
  stop_server immediate || true
  return 0
}

# psql_ DB ARGS...: psql over TCP with the credentials, never beyond the deadline.
psql_() {
  local db=$1
  shift
  PGPASSWORD=$PASSWORD PGCONNECT_TIMEOUT=5 timeout "$(left)" "$BIN/psql" -X -w -q -A -t \
    -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PORT" -U arca -d "$db" "$@"
}
# wait_ready: psql runs SELECT 1 in database arca; fails when the postmaster died or time is up.
wait_ready() {
  until [ "$(psql_ arca -c 'SELECT 1' 2>>"$D/log/psql.out")" = 1 ]; do
    running "$(cat "$D/postgres.pid")" || { echo "postgres: the server died" >&2; return 1; }
    if past_deadline; then
      echo "postgres: timed out (${TIMEOUT}s) waiting for SELECT 1" >&2
      return 1
    fi
    sleep 0.1
  done
}
# pg_start: pg_ctl start, waiting until the server accepts connections. True if it does; on
# false, DIR/log/postgres.log tells why.
pg_start() {
  LOG_AT=$(stat -c %s "$D/log/postgres.log" 2>/dev/null || echo 0)
  as_pg "$BIN/pg_ctl" -D "$DATA" -l "$D/log/postgres.log" -w -t "$(left)" start \
    </dev/null >>"$D/log/pg_ctl.out" 2>&1 3>&- || return 1
  head -n 1 "$DATA/postmaster.pid" >"$D/postgres.pid"
}
# port_clash: the last start failed because 127.0.0.1:PORT was taken (its part of the log
# says so).
port_clash() {
  [ ! -f "$DATA/postmaster.pid" ] &&
    [[ $(tail -c +$(( LOG_AT + 1 )) "$D/log/postgres.log" 2>/dev/null) == \
       *'could not bind IPv4 address'* ]]
}

# pick_port: a random port in [10000, start of the ephemeral range) that binds on 127.0.0.1
# now (without SO_REUSEADDR, so one in TIME_WAIT or held on 0.0.0.0 / [::] is skipped).
pick_port() {
  python3 - <<'PY'
import random, socket
try:
    lo = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
except (OSError, ValueError, IndexError):
    lo = 32768
ports = range(10000, lo) if lo > 11000 else range(lo + 20000, 65536)
for _ in range(500):
    port = random.choice(ports)
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        continue
    finally:
        s.close()
    print(port)
    break
else:
    raise SystemExit("no free port found")
PY
}

write_conf() {
  local off=on
  [ "$FAST" = 1 ] && off=off
  cat >"$DATA/arca.conf" <<CONF
# Written by scripts/engines/postgres.sh (PG_FAST=$FAST).
listen_addresses = '127.0.0.1'
port = $1
unix_socket_directories = '$D/run'
max_connections = 200
ssl = off
password_encryption = 'scram-sha-256'
fsync = $off
synchronous_commit = on
full_page_writes = $off
log_line_prefix = '%m [%p] %q%u@%d '
CONF
  own "$DATA/arca.conf"
}

print_env() {
  ready=1
  log "ready on 127.0.0.1:$PORT"
  cat "$D/pg.env"
}

if [ "$cmd" = restart ]; then
  [ -f "$DATA/PG_VERSION" ] && [ -f "$D/pg.env" ] ||
    { echo "postgres: no server made by start in $D" >&2; exit 1; }
  PORT=$(sed -n 's/.* PGPORT=\([0-9]*\) .*/\1/p' "$D/pg.env")
  PASSWORD=$(sed -n 's/.* PGPASSWORD=\([A-Za-z0-9]*\) .*/\1/p' "$D/pg.env")
  trap on_exit EXIT
  trap 'exit 1' INT TERM HUP
  t=$(now_us)
  stop_server immediate
  log "stopped (-m immediate) in $(( ($(now_us) - t) / 1000 )) ms"
  until pg_start; do
    port_clash && ! past_deadline || exit 1
    log "127.0.0.1:$PORT is taken; trying again"
    sleep 0.2
  done
  log "server up (crash recovery done)"
  wait_ready
  print_env
  exit 0
fi

mkdir -p "$D"
[ -z "$(ls -A "$D")" ] || { echo "postgres: $D is not empty" >&2; exit 1; }
chmod go+x "$D"
if ! as_pg test -x "$D"; then
  echo "postgres: the postgres user cannot reach $D (a parent directory is not searchable" \
    "by it); use a DIR under /tmp" >&2
  exit 1
fi
mkdir -m 0700 "$DATA" "$D/run"
mkdir "$D/log"
own "$DATA" "$D/run" "$D/log"
trap on_exit EXIT
trap 'exit 1' INT TERM HUP

log "starting in $D (fsync $([ "$FAST" = 1 ] && echo off || echo on))"
PASSWORD=$(python3 -c 'import secrets, string
print("".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(32)))')
(umask 077 && echo "$PASSWORD" >"$D/pwfile")
own "$D/pwfile"
timeout "$(left)" "${AS_PG[@]}" "$BIN/initdb" -D "$DATA" -U arca --pwfile="$D/pwfile" -E UTF8 --locale=C \
  --auth-local=trust --auth-host=scram-sha-256 --no-sync --no-instructions \
  </dev/null >"$D/log/initdb.out" 2>&1 3>&-
rm -f "$D/pwfile"
log "initdb done"
cat >"$DATA/pg_hba.conf" <<'HBA'
# Written by scripts/engines/postgres.sh: the socket in DIR/run (0700, postgres) trusted; TCP
# on 127.0.0.1 with the password; nothing else.
# TYPE  DATABASE  USER  ADDRESS       METHOD
local   all       all                 trust
host    all       all   127.0.0.1/32  scram-sha-256
HBA
echo "include 'arca.conf'" >>"$DATA/postgresql.conf"

for attempt in 1 2 3 4 5; do
  PORT=$(pick_port)
  write_conf "$PORT"
  pg_start && break
  port_clash && [ "$attempt" != 5 ] && ! past_deadline || exit 1
  log "port $PORT was taken meanwhile; trying another"
  mv "$D/log/postgres.log" "$D/log/postgres.log.$attempt"
done
log "server up on 127.0.0.1:$PORT"
psql_ postgres -c 'CREATE DATABASE arca' >>"$D/log/psql.out" 2>&1
wait_ready

(umask 077 && printf '%s\n' \
  "export PGHOST=127.0.0.1 PGPORT=$PORT PGUSER=arca PGPASSWORD=$PASSWORD PGDATABASE=arca" \
  "export ARCA_TEST_PG_URL=postgres://arca:$PASSWORD@127.0.0.1:$PORT/arca?sslmode=disable" \
  >"$D/pg.env")
print_env
