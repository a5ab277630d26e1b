#!/usr/bin/env bash
# A throwaway PostgreSQL server that accepts TCP clients over TLS only, with a certificate
# from its own CA, to exercise Relance's `sslmode=verify-full` settings for real (as
# CloudNativePG serves them in k8s/).
#
#   infra/postgres-tls.sh start    make a CA and a server certificate, initdb, start, wait
#   infra/postgres-tls.sh stop     stop it
#   infra/postgres-tls.sh status   print whether it answers
#   infra/postgres-tls.sh url      print a DATABASE_URL with sslmode=verify-full and its CA
#   infra/postgres-tls.sh reset    stop and delete everything
#
# It is not a Debian cluster (no pg_createcluster, nothing under /etc/postgresql) and never
# touches the shared cluster of infra/postgres.sh: its own folder, port and process, run
# with the newest installed server's initdb and pg_ctl. As root, the server runs as the
# `postgres` system user (initdb refuses root), so its folder must be outside root-only
# directories. Settings:
#   RELANCE_PG_TLS_HOME   folder (default /tmp/relance-postgres-tls)
#   RELANCE_PG_TLS_PORT   port (default 5434)
# pg_hba.conf rejects every TCP connection without TLS ("hostnossl ... reject") and asks
# the others for a SCRAM password, as CloudNativePG's Cluster in k8s/ does.
set -euo pipefail

HOME_DIR="${RELANCE_PG_TLS_HOME:-/tmp/relance-postgres-tls}"
PORT="${RELANCE_PG_TLS_PORT:-5434}"
ROLE=relance
PASSWORD="${RELANCE_PG_TLS_PASSWORD:-relance-tls}"
DB=relance
CERTS="$HOME_DIR/certs"
DATA="$HOME_DIR/data"
LOG="$DATA/server.log"   # written by the server user

say() { echo "postgres-tls: $*" >&2; }

bin() {
  local v; v="$(ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -n 1)"
  if [[ -n "$v" ]]; then echo "/usr/lib/postgresql/$v/bin"; else dirname "$(command -v initdb)"; fi
}
BIN="$(bin)"

owner() { if [[ $EUID -eq 0 ]]; then echo postgres; else id -un; fi; }
as_owner() { if [[ $EUID -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }

make_certificates() {
  [[ -f "$CERTS/server.key" ]] && return 0
  say "making a throwaway CA and server certificate in $CERTS"
  mkdir -p "$CERTS"
  (
    cd "$CERTS"
    umask 077
    openssl req -x509 -newkey rsa:2048 -nodes -days 30 -sha256 \
      -subj "/CN=Relance test PostgreSQL CA" -keyout ca.key -out ca.crt \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
      2>/dev/null
    openssl req -newkey rsa:2048 -nodes -sha256 -subj "/CN=localhost" \
      -keyout server.key -out server.csr 2>/dev/null
    printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=digitalSignature,keyEncipherment" \
      "extendedKeyUsage=serverAuth" "subjectAltName=IP:127.0.0.1,DNS:localhost" > server.ext
    openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 30 \
      -sha256 -extfile server.ext -out server.crt 2>/dev/null
    rm -f server.csr server.ext ca.srl ca.key
    chmod 644 ca.crt server.crt
  )
  chown "$(owner)" "$CERTS/server.key" "$CERTS/server.crt"
}

running() { [[ -f "$DATA/postmaster.pid" ]] && as_owner "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; }

start() {
  if running; then say "already running on 127.0.0.1:$PORT"; return 0; fi
  mkdir -p "$HOME_DIR"
  chmod 755 "$HOME_DIR"
  make_certificates
  if [[ ! -f "$DATA/PG_VERSION" ]]; then
    say "initdb in $DATA"
    mkdir -p "$DATA"
    chown "$(owner)" "$DATA"
    chmod 700 "$DATA"
    local pwfile="$HOME_DIR/.pw"
    (umask 077; echo "$PASSWORD" > "$pwfile")
    chown "$(owner)" "$pwfile"
    as_owner "$BIN/initdb" -D "$DATA" -U "$ROLE" --pwfile="$pwfile" -A scram-sha-256 \
      --auth-local=peer -E UTF8 --locale=C.UTF-8 >/dev/null
    rm -f "$pwfile"
    cat > "$DATA/pg_hba.conf" <<HBA
# Written by infra/postgres-tls.sh: TCP only over TLS, with a SCRAM password.
local     all all              trust
hostnossl all all 0.0.0.0/0    reject
hostnossl all all ::/0         reject
hostssl   all all 127.0.0.1/32 scram-sha-256
hostssl   all all ::1/128      scram-sha-256
HBA
    cat >> "$DATA/postgresql.conf" <<CONF
# Written by infra/postgres-tls.sh
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$DATA'  # private: the folder is the server user's, mode 700
ssl = on
ssl_cert_file = '$CERTS/server.crt'
ssl_key_file = '$CERTS/server.key'
ssl_min_protocol_version = 'TLSv1.2'
max_connections = 50
shared_buffers = 32MB
fsync = off
CONF
    chown "$(owner)" "$DATA/pg_hba.conf"
  fi
  say "starting PostgreSQL ($BIN) with TLS on 127.0.0.1:$PORT"
  as_owner "$BIN/pg_ctl" -D "$DATA" -l "$LOG" -w -t 60 start >/dev/null \
    || { say "did not start; last lines of $LOG:"; tail -n 20 "$LOG" >&2; exit 1; }
  as_owner "$BIN/psql" -X -q -h "$DATA" -p "$PORT" -U "$ROLE" -d postgres \
    -c "SELECT 1 FROM pg_database WHERE datname = '$DB'" -At | grep -q 1 \
    || as_owner "$BIN/createdb" -h "$DATA" -p "$PORT" -U "$ROLE" "$DB"
  say "ready: $(url)"
}

stop() {
  if ! running; then say "not running"; return 0; fi
  as_owner "$BIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null
  say "stopped"
}

status() {
  if running; then echo "running on 127.0.0.1:$PORT"; else echo "not running"; return 1; fi
}

url() {
  echo "postgresql://$ROLE:$PASSWORD@127.0.0.1:$PORT/$DB?sslmode=verify-full&sslrootcert=$CERTS/ca.crt"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  url) url ;;
  reset) stop; rm -rf "$HOME_DIR" ;;
  *) echo "usage: $0 start|stop|status|url|reset" >&2; exit 2 ;;
esac
