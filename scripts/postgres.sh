#!/usr/bin/env bash
# A private PostgreSQL 15 + PostGIS 3 cluster for development, tests and CI, from Debian's packages
# (no Docker). Data in var/pg/data, log in var/pg/log, unix socket in var/pg/run, TCP on 127.0.0.1 only,
# trust authentication for those local connections only.
#
# Usage: scripts/postgres.sh [start|stop|status|url]
#   start   (default) install the packages when missing, create the cluster when missing, start it,
#           create the role and databases `wardplan`, `wardplan_test` and `wardplan_jobs_test`
#           with PostGIS. Idempotent.
#   stop    stop the cluster (fast shutdown).
#   status  say whether it is running; exit 0 when it is, 3 when it is not.
#   url     print the SQLAlchemy URL of the `wardplan` database.
#
# Environment: WARDPLAN_PG_PORT (default 54329); WARDPLAN_PG_DIR (default <repo>/var/pg).
# When run as root the cluster belongs to the `postgres` OS user (initdb refuses root). If that user
# cannot reach the clone (e.g. a clone under /root) or the socket path would be too long, and
# WARDPLAN_PG_DIR is not set, the cluster goes to /var/tmp/wardplan-pg-<hash of the clone's path>.
set -euo pipefail
umask 022
cd "$(dirname "$0")/.."
root_dir="$(pwd -P)"

PG_VERSION=15
PG_BIN="/usr/lib/postgresql/${PG_VERSION}/bin" # explicit: never whatever `postgres` is first on PATH
PACKAGES=("postgresql-${PG_VERSION}" "postgresql-${PG_VERSION}-postgis-3")
PORT="${WARDPLAN_PG_PORT:-54329}"
HOST=127.0.0.1
ROLE=wardplan
DATABASES=(wardplan wardplan_test wardplan_jobs_test) # the last: tests with real worker processes
SUPERUSER=postgres

is_root() { [ "$(id -u)" -eq 0 ]; }

socket_fits() { local socket="$1/run/.s.PGSQL.$PORT" && [ "${#socket}" -le 100 ]; }

if [ -n "${WARDPLAN_PG_DIR:-}" ]; then
  pg_dir="$WARDPLAN_PG_DIR"
else
  pg_dir="$root_dir/var/pg"
  # `nobody` stands in for `postgres`, which does not exist before the packages are installed.
  if ! socket_fits "$pg_dir" || { is_root && ! runuser -u nobody -- test -x "$root_dir"; }; then
    pg_dir="/var/tmp/wardplan-pg-$(printf '%s' "$root_dir" | sha256sum | cut -c1-12)"
  fi
fi
data_dir="$pg_dir/data"
run_dir="$pg_dir/run"
log_dir="$pg_dir/log"
log_file="$log_dir/postgres.log"

say() { echo "postgres.sh: $*" >&2; }
die() {
  say "error: $*"
  exit 1
}

# Run a command as the cluster's owner: the `postgres` OS user under root, else the caller.
as_owner() {
  if is_root; then
    (cd / && runuser -u postgres -- "$@") # from /: the clone itself may be out of its reach
  else
    "$@"
  fi
}

ensure_packages() {
  "$root_dir/scripts/debian-packages.sh" "${PACKAGES[@]}"
  [ -x "$PG_BIN/initdb" ] || die "$PG_BIN/initdb not found after installing ${PACKAGES[*]}"
  [ -f "/usr/share/postgresql/${PG_VERSION}/extension/postgis.control" ] ||
    die "the PostGIS extension for PostgreSQL ${PG_VERSION} is not installed"
}

check_paths() {
  # The server refuses socket paths longer than 107 bytes.
  socket_fits "$pg_dir" ||
    die "socket path too long: $run_dir/.s.PGSQL.$PORT; set WARDPLAN_PG_DIR to a shorter folder"
  if is_root && [ -d "$pg_dir" ] && ! runuser -u postgres -- test -x "$pg_dir"; then
    die "the postgres OS user cannot reach $pg_dir (a parent folder is not world-searchable);" \
      "set WARDPLAN_PG_DIR to a folder it can reach, e.g. /var/tmp/wardplan-pg"
  fi
}

running() {
  [ -f "$data_dir/PG_VERSION" ] && as_owner "$PG_BIN/pg_ctl" -D "$data_dir" status >/dev/null 2>&1
}

init_cluster() {
  mkdir -p "$data_dir" "$run_dir" "$log_dir"
  if is_root; then
    chown postgres:postgres "$data_dir" "$run_dir" "$log_dir"
    runuser -u postgres -- test -x "$pg_dir" ||
      die "the postgres OS user cannot reach $pg_dir; set WARDPLAN_PG_DIR to a folder it can reach"
  fi
  chmod 700 "$data_dir"
  if [ ! -f "$data_dir/PG_VERSION" ]; then
    say "creating the cluster in $data_dir"
    as_owner "$PG_BIN/initdb" -D "$data_dir" --username="$SUPERUSER" --encoding=UTF8 \
      --locale=C.UTF-8 --auth-local=trust --auth-host=reject >/dev/null
    # Trust for this machine only: the unix socket and the loopback addresses; nothing else.
    as_owner tee "$data_dir/pg_hba.conf" >/dev/null <<'EOF'
# Wardplan's private cluster: trust local connections only.
# TYPE  DATABASE  USER  ADDRESS        METHOD
local   all       all                  trust
host    all       all   127.0.0.1/32   trust
host    all       all   ::1/128        trust
EOF
    echo "include_if_exists = 'wardplan.conf'" | as_owner tee -a "$data_dir/postgresql.conf" >/dev/null
  fi
  # Rewritten at every start so that WARDPLAN_PG_PORT and the folder can change.
  as_owner tee "$data_dir/wardplan.conf" >/dev/null <<EOF
# Written by scripts/postgres.sh at each start; edits are lost.
listen_addresses = '$HOST'
port = $PORT
unix_socket_directories = '$run_dir'
EOF
}

psql_admin() {
  as_owner "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$run_dir" -p "$PORT" -U "$SUPERUSER" "$@"
}

create_databases() {
  psql_admin -d postgres -c "SELECT 1" >/dev/null
  psql_admin -d postgres <<EOF
SELECT format('CREATE ROLE %I LOGIN', '$ROLE')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$ROLE') \gexec
EOF
  local db
  for db in "${DATABASES[@]}"; do
    psql_admin -d postgres <<EOF
SELECT format('CREATE DATABASE %I OWNER %I ENCODING ''UTF8''', '$db', '$ROLE')
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$db') \gexec
EOF
    # The extension is created by the superuser; the owner role needs no superuser rights.
    psql_admin -d "$db" -c "CREATE EXTENSION IF NOT EXISTS postgis" 2>&1 | grep -v 'already exists' || true
    psql_admin -d "$db" -tAc "SELECT postgis_lib_version()" >/dev/null ||
      die "PostGIS is not usable in database $db"
  done
}

cmd_start() {
  ensure_packages
  check_paths
  if running; then
    say "already running on $HOST:$PORT (data $data_dir)"
    create_databases # a newer checkout may list more databases
    return 0
  fi
  init_cluster
  say "starting on $HOST:$PORT (log $log_file)"
  if ! as_owner "$PG_BIN/pg_ctl" -D "$data_dir" -l "$log_file" -w -t 60 start >/dev/null; then
    tail -n 20 "$log_file" >&2 || true
    die "the server did not start; see $log_file"
  fi
  local i
  for i in $(seq 1 60); do
    "$PG_BIN/pg_isready" -q -h "$HOST" -p "$PORT" && break
    [ "$i" -eq 60 ] && die "the server is not accepting connections on $HOST:$PORT"
    sleep 0.5
  done
  create_databases
  say "ready: $(cmd_url)"
}

cmd_stop() {
  if running; then
    as_owner "$PG_BIN/pg_ctl" -D "$data_dir" -m fast -w stop >/dev/null
    say "stopped"
  else
    say "not running"
  fi
}

cmd_status() {
  if running; then
    say "running on $HOST:$PORT (data $data_dir)"
    "$PG_BIN/pg_isready" -h "$HOST" -p "$PORT"
  else
    say "not running (data $data_dir)"
    return 3
  fi
}

cmd_url() {
  echo "postgresql+psycopg://$ROLE@$HOST:$PORT/${DATABASES[0]}"
}

case "${1:-start}" in
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
url) cmd_url ;;
*)
  echo "usage: $0 [start|stop|status|url]" >&2
  exit 2
  ;;
esac
