# shellcheck shell=bash
# Helpers sourced by every script in scripts/: repository paths, step output,
# a private PostgreSQL 15 cluster on a free loopback port (pg_start/pg_stop),
# free ports, waiting for files, and cleanup of everything a script started.
# Callers set their own shell options (set -euo pipefail).

_COMMON_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# Prints the repository root (two levels above this file), whatever the cwd.
repo_root() {
  (cd "$_COMMON_DIR/../.." && pwd)
}

ROOT="$(repo_root)"

# BUILD_DIR may come from the environment; a relative value is taken
# relative to the current directory, as a user typing it would expect.
BUILD_DIR="${BUILD_DIR:-$ROOT/build}"
case "$BUILD_DIR" in
  /*) ;;
  *) BUILD_DIR="$PWD/$BUILD_DIR" ;;
esac

PG_BIN="/usr/lib/postgresql/15/bin"

step() {
  printf '==> %s\n' "$*"
}

warn() {
  printf 'warning: %s\n' "$*" >&2
}

die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

# is_uint VALUE: true when VALUE is a non-empty string of decimal digits.
is_uint() {
  [[ "${1-}" =~ ^[0-9]+$ ]]
}

# ---------------------------------------------------------------------------
# Ports and waiting

# port_in_use PORT: true when something listens on TCP PORT (any address).
port_in_use() {
  local port="$1"
  [[ -n "$(ss -Hltn "sport = :$port" 2>/dev/null)" ]]
}

# free_port: prints a TCP port in 20000-40000 that nobody listens on.
# Another process may still take it before the caller binds; callers that can
# retry on "address in use" should do so.
free_port() {
  local tries port
  command -v ss >/dev/null 2>&1 || die "ss not found (install iproute2: scripts/setup)"
  for ((tries = 0; tries < 200; tries++)); do
    port=$((20000 + (RANDOM * 32768 + RANDOM) % 20001))
    if ! port_in_use "$port"; then
      printf '%s\n' "$port"
      return 0
    fi
  done
  die "could not find a free TCP port in 20000-40000"
}

# wait_for_file FILE TIMEOUT_SECONDS [PID]: waits until FILE exists and is
# non-empty, polling every 0.1 s. With PID, gives up early when that process
# has exited. Returns 0 when the file is there, 1 otherwise.
wait_for_file() {
  local file="$1" timeout="$2" pid="${3-}" ticks
  is_uint "$timeout" || die "wait_for_file: timeout must be whole seconds, got '$timeout'"
  for ((ticks = 10#$timeout * 10; ticks > 0; ticks--)); do
    [[ -s "$file" ]] && return 0
    if [[ -n "$pid" ]] && ! kill -0 "$pid" 2>/dev/null; then
      [[ -s "$file" ]] && return 0
      return 1
    fi
    sleep 0.1
  done
  [[ -s "$file" ]]
}

# ---------------------------------------------------------------------------
# Private PostgreSQL cluster
#
# Layout of a cluster directory: data/ (PGDATA), sock/ (Unix socket), log
# (server log), initdb.log. Only one cluster per script is tracked.

_PG_CLUSTER_DIR=""   # directory holding data/, sock/, log
_PG_STATE_DIR=""     # directory the caller asked for
_PG_FALLBACK=0       # 1 when the cluster lives in a temporary directory

# as_pg CMD...: runs CMD as the postgres user when we are root (initdb and
# postgres refuse to run as root), else as ourselves. Runs from / so that an
# unreadable current directory does not upset the PostgreSQL tools.
as_pg() {
  if [[ "$EUID" -eq 0 ]]; then
    (cd / && runuser -u postgres -- "$@")
  else
    (cd / && "$@")
  fi
}

_pg_check_tools() {
  [[ -x "$PG_BIN/initdb" && -x "$PG_BIN/pg_ctl" ]] \
    || die "PostgreSQL 15 server binaries not found in $PG_BIN (run scripts/setup)"
  if [[ "$EUID" -eq 0 ]]; then
    command -v runuser >/dev/null 2>&1 || die "runuser not found (install util-linux)"
    id -u postgres >/dev/null 2>&1 \
      || die "user 'postgres' does not exist (it comes with postgresql-15: scripts/setup)"
  fi
}

# _pg_stop_stale DIR: stops a postmaster left running on DIR/data by an
# earlier run that crashed, ignoring every error.
_pg_stop_stale() {
  local dir="$1"
  [[ -f "$dir/data/PG_VERSION" ]] || return 0
  if [[ -f "$dir/data/postmaster.pid" ]]; then
    as_pg "$PG_BIN/pg_ctl" -D "$dir/data" -m immediate -w -t 30 stop \
      >/dev/null 2>&1 || true
  fi
}

# _pg_safe_rm DIR: rm -rf with a guard against empty or root paths.
_pg_safe_rm() {
  local dir="$1"
  [[ -n "$dir" && "$dir" != "/" && "$dir" == /*/* ]] \
    || die "refusing to delete '$dir'"
  rm -rf -- "$dir"
}

# _pg_reachable DIR: true when the server user can create files in DIR
# (every parent must be traversable by postgres).
_pg_reachable() {
  local dir="$1"
  if [[ "$EUID" -eq 0 ]]; then
    chown postgres:postgres "$dir" || return 1
    runuser -u postgres -- test -w "$dir" -a -x "$dir" 2>/dev/null
  else
    [[ -w "$dir" && -x "$dir" ]]
  fi
}

_pg_locale_args() {
  if locale -a 2>/dev/null | grep -qiE '^c\.utf-?8$'; then
    printf '%s\n' "--locale=C.UTF-8"
  else
    printf '%s\n' "--no-locale"
  fi
}

# _pg_conf_quote VALUE: VALUE as a postgresql.conf string literal.
_pg_conf_quote() {
  local v="$1"
  printf "'%s'" "${v//\'/\'\'}"
}

# pg_start DIR [NAME=VALUE...]: creates a fresh PostgreSQL 15 cluster in DIR,
# starts it on a free port of 127.0.0.1 with trust authentication, and
# exports PGHOST, PGPORT, PGUSER, PGDATABASE and SYNCADMIN_PG_DIR. Any
# cluster left in DIR by an earlier run is stopped and deleted first.
# The server runs with fsync=off (test data need no durability) unless a
# NAME=VALUE setting says otherwise; each one is passed as `-c NAME=VALUE`
# after the defaults, so it wins over them.
pg_start() {
  local dir="${1-}" cluster initdb_log sock_dir port attempt setting
  local extra=""
  [[ -n "$dir" ]] || die "pg_start: missing directory"
  shift
  for setting in "$@"; do
    [[ "$setting" =~ ^[a-z_]+=[A-Za-z0-9._-]+$ ]] \
      || die "pg_start: setting must look like name=value, got '$setting'"
    extra+=" -c $setting"
  done
  case "$dir" in
    /*) ;;
    *) dir="$PWD/$dir" ;;
  esac
  [[ -z "$_PG_CLUSTER_DIR" ]] || die "pg_start: a cluster is already running in $_PG_CLUSTER_DIR"
  _pg_check_tools

  # Leftovers of a crashed run: the cluster in DIR itself, or the temporary
  # directory it pointed at.
  _pg_stop_stale "$dir"
  if [[ -f "$dir/fallback-path" ]]; then
    local old
    old="$(head -n 1 "$dir/fallback-path")"
    if [[ "$old" =~ ^/tmp/syncadmin-pg\.[A-Za-z0-9]+$ && -d "$old" ]]; then
      _pg_stop_stale "$old"
      _pg_safe_rm "$old"
    fi
  fi
  [[ -e "$dir" ]] && _pg_safe_rm "$dir"
  mkdir -p "$dir"

  cluster="$dir"
  _PG_FALLBACK=0
  if ! _pg_reachable "$dir"; then
    # Typical when the checkout lives under a private home directory: the
    # server user cannot reach it, so the cluster goes to /tmp instead.
    cluster="$(mktemp -d /tmp/syncadmin-pg.XXXXXXXX)"
    chmod 755 "$cluster"
    printf '%s\n' "$cluster" >"$dir/fallback-path"
    warn "postgres cannot reach $dir; using $cluster for the cluster"
    _PG_FALLBACK=1
    _pg_reachable "$cluster" || die "postgres cannot write to $cluster"
  fi

  mkdir -p "$cluster/data" "$cluster/sock"
  chmod 700 "$cluster/data"
  touch "$cluster/log"
  if [[ "$EUID" -eq 0 ]]; then
    chown -R postgres:postgres "$cluster"
  fi
  _PG_STATE_DIR="$dir"
  _PG_CLUSTER_DIR="$cluster"

  initdb_log="$cluster/initdb.log"
  if ! as_pg "$PG_BIN/initdb" -D "$cluster/data" --auth=trust \
      --username=postgres --encoding=UTF8 "$(_pg_locale_args)" --no-sync \
      >"$initdb_log" 2>&1; then
    cat "$initdb_log" >&2
    pg_stop
    die "initdb failed in $cluster/data"
  fi

  # The socket path is written to postgresql.conf rather than passed on the
  # command line, so an unusual checkout path cannot break the quoting.
  # Unix socket paths are limited to 107 bytes; past that, TCP only.
  sock_dir="$cluster/sock"
  if (( ${#sock_dir} + 20 > 107 )); then
    warn "cluster path too long for a Unix socket; using TCP only"
    sock_dir=""
  fi
  printf '\n# Added by scripts/lib/common.sh\nunix_socket_directories = %s\n' \
    "$(_pg_conf_quote "$sock_dir")" >>"$cluster/data/postgresql.conf"

  for ((attempt = 1; attempt <= 3; attempt++)); do
    port="$(free_port)"
    if as_pg "$PG_BIN/pg_ctl" -D "$cluster/data" -l "$cluster/log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -c port=$port -c fsync=off -c max_connections=200$extra" \
        start >/dev/null; then
      break
    fi
    if (( attempt < 3 )) && grep -qE 'could not bind|could not create listen socket|already in use' \
        "$cluster/log"; then
      warn "port $port was taken; trying another"
      continue
    fi
    tail -n 30 "$cluster/log" >&2 || true
    as_pg "$PG_BIN/pg_ctl" -D "$cluster/data" -m immediate stop >/dev/null 2>&1 || true
    pg_stop
    die "PostgreSQL failed to start (log: $cluster/log)"
  done

  # Connection settings for psql, createdb and the tests. Variables that
  # would redirect libpq elsewhere are cleared.
  unset PGHOSTADDR PGSERVICE PGSERVICEFILE PGPASSFILE PGPASSWORD PGOPTIONS PGSSLMODE
  export PGHOST=127.0.0.1
  export PGPORT="$port"
  export PGUSER=postgres
  export PGDATABASE=postgres
  export SYNCADMIN_PG_DIR="$cluster"
  printf '    PostgreSQL 15 on 127.0.0.1:%s (data %s, log %s)\n' \
    "$port" "$cluster/data" "$cluster/log"
}

_pg_forget() {
  _PG_CLUSTER_DIR=""
  _PG_STATE_DIR=""
  _PG_FALLBACK=0
}

# pg_stop: stops the cluster started by pg_start (fast shutdown, immediate
# if that fails). Safe to call when nothing runs, and more than once.
pg_stop() {
  local cluster="$_PG_CLUSTER_DIR" state="$_PG_STATE_DIR"
  [[ -n "$cluster" ]] || return 0
  if [[ -f "$cluster/data/postmaster.pid" ]]; then
    if ! as_pg "$PG_BIN/pg_ctl" -D "$cluster/data" -m fast -w -t 60 stop >/dev/null 2>&1; then
      warn "fast shutdown failed; stopping PostgreSQL immediately"
      as_pg "$PG_BIN/pg_ctl" -D "$cluster/data" -m immediate -w -t 30 stop \
        >/dev/null 2>&1 || true
    fi
  fi
  if [[ "$_PG_FALLBACK" -eq 1 ]]; then
    # Keep the server log next to where it was asked for; drop the rest.
    cp -- "$cluster/log" "$state/log" 2>/dev/null || true
    _pg_safe_rm "$cluster"
    rm -f -- "$state/fallback-path"
  fi
  _pg_forget
}

# ---------------------------------------------------------------------------
# Cleanup of background processes and the cluster

_CLEANUP_PIDS=()
_CLEANUP_HOOKS=()

# register_pid PID: cleanup will stop PID (SIGTERM, then SIGKILL after 10 s).
register_pid() {
  _CLEANUP_PIDS+=("$1")
}

# forget_pid PID: cleanup will no longer touch PID (already stopped).
forget_pid() {
  local kept=() p
  for p in "${_CLEANUP_PIDS[@]}"; do
    [[ "$p" == "$1" ]] || kept+=("$p")
  done
  _CLEANUP_PIDS=("${kept[@]}")
}

# register_cleanup FUNCTION: cleanup calls FUNCTION first (with the exit
# status as $1), e.g. to print a log tail on failure.
register_cleanup() {
  _CLEANUP_HOOKS+=("$1")
}

# stop_pid PID [TIMEOUT_SECONDS]: SIGTERM, wait, SIGKILL if still alive.
# Prints nothing; returns the process's exit status when it is our child.
stop_pid() {
  local pid="$1" timeout="${2:-10}" ticks
  is_uint "$timeout" || timeout=10
  kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return; }
  kill -TERM "$pid" 2>/dev/null || true
  for ((ticks = 10#$timeout * 10; ticks > 0; ticks--)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    warn "process $pid ignored SIGTERM for ${timeout}s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null
}

# cleanup: stops every registered process and the cluster. Idempotent, keeps
# the exit status it was entered with.
cleanup() {
  local rc=$? pid hook
  set +e
  for hook in "${_CLEANUP_HOOKS[@]}"; do
    "$hook" "$rc"
  done
  _CLEANUP_HOOKS=()
  for pid in "${_CLEANUP_PIDS[@]}"; do
    stop_pid "$pid" 10
  done
  _CLEANUP_PIDS=()
  pg_stop
  return "$rc"
}

# install_cleanup_trap: runs cleanup on exit, and turns SIGINT/SIGTERM into
# an exit (status 130/143) so cleanup runs once and the script stops.
install_cleanup_trap() {
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}
