#!/usr/bin/env bash
# pgbench against a server that serves the pgproto test catalog (tests/clients/README.md): the
# script select1.sql (`SELECT 1;`) from 2 clients for a few seconds in each query mode,
#
#   pgbench -n -f select1.sql -c 2 -T 3 -M simple|extended|prepared -h H -p P -U U D
#
# asserting "number of failed transactions: 0" and a positive tps. One line per mode: `ok MODE`
# or `FAIL MODE: reason`; exit status 1 when any mode failed.
#
#   pgbench_check.sh --host 127.0.0.1 --port 54318 --user pgproto_scram --password scram-secret
#   pgbench_check.sh ... --only prepared --seconds 1 --sslmode require
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
HOST=127.0.0.1 PORT= USER_= PASSWORD= DBNAME=postgres ONLY= SKIP= SECONDS_=3 CLIENTS=2 SSLMODE=
while [ $# -gt 0 ]; do
  case "$1" in
    --host) HOST=$2 ;;
    --port) PORT=$2 ;;
    --user) USER_=$2 ;;
    --password) PASSWORD=$2 ;;
    --dbname) DBNAME=$2 ;;
    --only) ONLY=$2 ;;
    --skip) SKIP=$2 ;;
    --seconds) SECONDS_=$2 ;;
    --clients) CLIENTS=$2 ;;
    --sslmode) SSLMODE=$2 ;;
    --timeout) ;; # accepted like the other programs; pgbench's -T bounds the run
    --list) echo simple; echo extended; echo prepared; exit 0 ;;
    *) echo "usage: pgbench_check.sh --host H --port P --user U [--password PW] [--dbname D] [--only simple,extended,prepared] [--skip M] [--seconds S] [--clients N] [--sslmode M]" >&2; exit 2 ;;
  esac
  shift 2 || { echo "missing value for $1" >&2; exit 2; }
done
[ -n "$PORT" ] && [ -n "$USER_" ] || { echo "--port and --user are required" >&2; exit 2; }

PGBENCH=$(command -v pgbench || echo /usr/lib/postgresql/15/bin/pgbench)
[ -x "$PGBENCH" ] || { echo "FAIL setup: pgbench is not installed (run scripts/clients.sh)"; exit 1; }
"$PGBENCH" --version

# The password goes through the environment, never the command line; no ~/.pgpass either.
export PGPASSFILE=/dev/null
if [ -n "$PASSWORD" ]; then export PGPASSWORD=$PASSWORD; else unset PGPASSWORD; fi
if [ -n "$SSLMODE" ]; then export PGSSLMODE=$SSLMODE; fi
export PGCONNECT_TIMEOUT=10

in_list() { [[ ",$2," == *",$1,"* ]]; }

failed=0 total=0
for mode in simple extended prepared; do
  if [ -n "$ONLY" ]; then in_list "$mode" "$ONLY" || continue; fi
  if [ -n "$SKIP" ] && in_list "$mode" "$SKIP"; then continue; fi
  total=$((total + 1))
  out=$(cd "$HERE" && timeout $((SECONDS_ + 20)) "$PGBENCH" -n -f select1.sql -c "$CLIENTS" -T "$SECONDS_" -M "$mode" \
    -h "$HOST" -p "$PORT" -U "$USER_" "$DBNAME" 2>&1)
  rc=$?
  tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' <<<"$out" | head -n1)
  txns=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' <<<"$out")
  if [ $rc -ne 0 ]; then
    why="pgbench exited with $rc"
  elif ! grep -q '^number of failed transactions: 0 ' <<<"$out"; then
    why="failed transactions: $(grep '^number of failed transactions' <<<"$out" || echo 'no such line')"
  elif [ -z "$tps" ] || ! awk -v t="$tps" 'BEGIN { exit !(t > 0) }'; then
    why="tps is not positive: '${tps}'"
  else
    echo "ok $mode (tps $tps, $txns transactions)"
    continue
  fi
  failed=$((failed + 1))
  echo "FAIL $mode: $why"
  sed 's/^/    /' <<<"$out" >&2
done
echo "done: $((total - failed)) ok, $failed FAIL"
[ $failed -eq 0 ]
