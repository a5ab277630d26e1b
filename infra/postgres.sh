#!/usr/bin/env bash
# A local PostgreSQL cluster for development, tests and the demo, from Debian's packages.
#
#   infra/postgres.sh install   apt-get install postgresql if its server is missing
#   infra/postgres.sh start     install if needed, create the cluster once, start it,
#                               create the roles and the database, wait until ready
#   infra/postgres.sh stop      stop the cluster
#   infra/postgres.sh status    print whether it answers
#   infra/postgres.sh url       print the DATABASE_URL of the local cluster
#
# Skipped when DATABASE_URL points to an existing server.
# initdb refuses to run as root, so the cluster is created and run by Debian's cluster
# tools (pg_createcluster, pg_ctlcluster) which switch to the `postgres` system user.
# The cluster is named `relance` on its own port so that it never touches another cluster.
set -euo pipefail

CLUSTER="${RELANCE_PG_CLUSTER:-relance}"
PORT="${RELANCE_PG_PORT:-5433}"
ROLE="${RELANCE_PG_ROLE:-relance}"
PASSWORD="${RELANCE_PG_PASSWORD:-relance}"
DB="${RELANCE_PG_DB:-relance}"

say() { echo "postgres: $*" >&2; }

external() {
  if [[ -n "${DATABASE_URL:-}" ]]; then
    say "DATABASE_URL is set; using that server"
    return 0
  fi
  return 1
}

as_root() { if [[ $EUID -eq 0 ]]; then "$@"; else sudo "$@"; fi; }
as_postgres() {
  if [[ $EUID -eq 0 ]]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi
}

version() {
  # newest server installed
  ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -n 1
}

install() {
  local v; v="$(version)"
  if [[ -n "$v" && -x "/usr/lib/postgresql/$v/bin/postgres" ]] && command -v pg_createcluster >/dev/null; then
    return 0
  fi
  say "installing PostgreSQL from Debian's packages"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq postgresql postgresql-contrib >/dev/null
}

cluster_exists() { pg_lsclusters -h | awk -v c="$CLUSTER" '$2 == c {found=1} END {exit !found}'; }
cluster_online() { pg_lsclusters -h | awk -v c="$CLUSTER" '$2 == c && $4 ~ /online/ {found=1} END {exit !found}'; }

psql_admin() { as_postgres psql -X -q -v ON_ERROR_STOP=1 -p "$PORT" -d postgres "$@"; }

start() {
  external && return 0
  install
  local v; v="$(version)"
  if ! cluster_exists; then
    say "creating cluster $v/$CLUSTER on port $PORT"
    as_root pg_createcluster "$v" "$CLUSTER" -p "$PORT" -- --auth-local=peer --auth-host=scram-sha-256 >/dev/null
  fi
  # Written at every start, so that a cluster made by an earlier version of this script
  # gets the same settings (those that need it take effect at the reload below).
  local conf="/etc/postgresql/$v/$CLUSTER/conf.d/relance.conf"
  as_root tee "$conf" >/dev/null <<CONF
# Written by infra/postgres.sh: a development cluster sized for a 2-core, 24 GiB machine.
listen_addresses = '127.0.0.1'
max_connections = 300
shared_buffers = 1GB
work_mem = 16MB
maintenance_work_mem = 256MB
max_wal_size = 4GB
checkpoint_timeout = 15min
# Logical decoding, for bench.ingestion_wal_outbox only (ledger events through the WAL
# against the outbox table: docs/ingestion.md, sixth round); no service reads the WAL.
wal_level = logical
max_replication_slots = 64
# Loopback only: TLS would protect nothing here, and it cost clients (which prefer it when
# offered) 40-60% more CPU per round trip and the server 15-40% (measured with asyncpg).
# Deployed servers are reached with sslmode=verify-full (docs/operations.md).
ssl = off
CONF
  if ! cluster_online; then
    say "starting cluster $v/$CLUSTER"
    as_root pg_ctlcluster "$v" "$CLUSTER" start
  else
    as_root pg_ctlcluster "$v" "$CLUSTER" reload
    # Settings read only at start (wal_level, max_replication_slots) need a restart when a
    # cluster made by an earlier version of this script runs without them.
    if [[ "$(as_postgres psql -X -At -p "$PORT" -d postgres -c \
          "SELECT count(*) FROM pg_settings WHERE pending_restart")" != 0 ]]; then
      say "restarting cluster $v/$CLUSTER for settings read at start"
      as_root pg_ctlcluster "$v" "$CLUSTER" restart
    fi
  fi
  local deadline=$((SECONDS + 60))
  until pg_isready -q -h 127.0.0.1 -p "$PORT"; do
    (( SECONDS > deadline )) && { say "not ready after 60s"; exit 1; }
    sleep 0.5
  done
  # Roles and database, idempotently. The application role may create databases (each
  # integration test gets a fresh one) and roles (the read-only BI role).
  psql_admin <<SQL
SELECT 'CREATE ROLE $ROLE LOGIN CREATEDB CREATEROLE REPLICATION' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$ROLE')\gexec
ALTER ROLE $ROLE WITH LOGIN CREATEDB CREATEROLE REPLICATION PASSWORD '$PASSWORD';
-- lets the tests drop a database whose sessions belong to the BI role
GRANT pg_signal_backend TO $ROLE;
SELECT 'CREATE DATABASE $DB OWNER $ROLE' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$DB')\gexec
SQL
  say "ready: $(url)"
}

stop() {
  external && return 0
  local v; v="$(version)"
  if [[ -n "$v" ]] && cluster_online; then as_root pg_ctlcluster "$v" "$CLUSTER" stop; say "stopped"; else say "not running"; fi
}

status() {
  if external; then pg_isready -d "$DATABASE_URL"; return; fi
  pg_isready -h 127.0.0.1 -p "$PORT"
}

url() { echo "postgresql://$ROLE:$PASSWORD@127.0.0.1:$PORT/$DB"; }

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  status) status ;;
  url) if [[ -n "${DATABASE_URL:-}" ]]; then echo "$DATABASE_URL"; else url; fi ;;
  *) echo "usage: $0 install|start|stop|status|url" >&2; exit 2 ;;
esac
