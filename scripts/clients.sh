#!/usr/bin/env bash
# Installs the real PostgreSQL clients that tests/clients/ drives (see ../shared/ORACLES.md):
#
#   - a Python venv with psycopg 3 (psycopg[binary], which bundles libpq 18) and asyncpg,
#   - an npm project with node-postgres (pg),
#   - pgjdbc from Debian (libpostgresql-jdbc-java, /usr/share/java/postgresql.jar),
#   - psql and pgbench from Debian (postgresql-client-15, postgresql-15).
#
# Everything but the Debian packages goes under ${PGPROTO_CLIENTS_DIR:-/opt/pgproto-clients}
# (venv/ and node/). Idempotent and fast when everything is already there. Runs as root.
#
#   scripts/clients.sh
set -euo pipefail

DIR=${PGPROTO_CLIENTS_DIR:-/opt/pgproto-clients}
VENV=$DIR/venv
NODE_DIR=$DIR/node
JAR=/usr/share/java/postgresql.jar
mkdir -p "$DIR"

# --- Debian packages: pgjdbc, psql, pgbench -------------------------------------------------
apt_missing=()
[ -f "$JAR" ] || apt_missing+=(libpostgresql-jdbc-java)
# Debian's own python3 makes venvs only with python3-venv (ensurepip).
if [ ! -x "$VENV/bin/python" ] && ! python3 -c 'import ensurepip' 2>/dev/null; then
  apt_missing+=(python3-venv)
fi
command -v psql >/dev/null || apt_missing+=(postgresql-client-15)
if ! command -v pgbench >/dev/null && [ ! -x /usr/lib/postgresql/15/bin/pgbench ]; then
  apt_missing+=(postgresql-15)
fi
if [ ${#apt_missing[@]} -gt 0 ]; then
  echo "installing from Debian: ${apt_missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # postgresql-15 would start its own cluster on port 5432; policy-rc.d keeps it from starting.
  had_policy=0
  [ -e /usr/sbin/policy-rc.d ] && had_policy=1
  [ $had_policy = 1 ] || { printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d; }
  apt-get install -y -qq "${apt_missing[@]}" >/dev/null
  [ $had_policy = 1 ] || rm -f /usr/sbin/policy-rc.d
fi
PGBENCH=$(command -v pgbench || echo /usr/lib/postgresql/15/bin/pgbench)

# --- Python: psycopg 3 and asyncpg in a venv ------------------------------------------------
if ! "$VENV/bin/python" -c 'import psycopg, psycopg_binary, asyncpg' 2>/dev/null; then
  echo "installing psycopg[binary] and asyncpg into $VENV"
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check 'psycopg[binary]>=3.2' asyncpg
fi

# --- node-postgres in an npm project --------------------------------------------------------
if [ ! -f "$NODE_DIR/node_modules/pg/package.json" ]; then
  echo "installing pg (node-postgres) into $NODE_DIR"
  mkdir -p "$NODE_DIR"
  (cd "$NODE_DIR" && { [ -f package.json ] || npm init -y >/dev/null; } \
    && npm install --no-audit --no-fund --silent pg >/dev/null)
fi

# --- What is there ---------------------------------------------------------------------------
jar_version() {
  # The manifest of pgjdbc's jar names its version (Bundle-Version / Implementation-Version).
  python3 - "$JAR" <<'PY'
import sys, zipfile
m = zipfile.ZipFile(sys.argv[1]).read("META-INF/MANIFEST.MF").decode()
fields = dict(l.split(": ", 1) for l in m.replace("\r\n ", "").splitlines() if ": " in l)
print(fields.get("Implementation-Version") or fields.get("Bundle-Version") or "unknown")
PY
}
echo "clients in $DIR:"
echo "  psycopg (libpq): $("$VENV/bin/python" -c 'import psycopg; print(psycopg.__version__, psycopg.pq.version())')"
echo "  asyncpg:         $("$VENV/bin/python" -c 'import asyncpg; print(asyncpg.__version__)')"
echo "  node-postgres:   $(cd "$NODE_DIR" && node -e "console.log(require('pg/package.json').version)") (node $(node --version))"
echo "  pgjdbc:          $(jar_version) ($JAR; $(java -version 2>&1 | head -n1))"
echo "  pgbench:         $("$PGBENCH" --version)"
echo "  psql:            $(psql --version)"
