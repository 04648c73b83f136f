#!/usr/bin/env bash
# End-to-end benchmark, by hand (not part of CI; about 5 minutes):
#
#   1. pgbench load on examples/tokio.rs (pgproto) and examples/pgwire_server.rs (pgwire 0.42),
#      the same command against both, runs interleaved (ours, pgwire, ours, pgwire, ...), for
#      `SELECT 1` and for a fixed 1,000-row x 6-column result, in each pgbench mode (simple,
#      extended, prepared): tps per server (median of the rounds) and the ratio ours/pgwire.
#   2. A 1,000,000-row x 6-column result read by psql from examples/tokio.rs and from
#      PostgreSQL 18 (scripts/pg.sh 18) serving the same rows: rows per second and the ratio.
#
# All three servers are first checked to give psql the same bytes for the 1,000-row result.
#
#   scripts/bench-e2e.sh
#
# BENCH_SECONDS (10), BENCH_ROUNDS (2), BENCH_CLIENTS (8), BENCH_THREADS (2) and
# BENCH_LARGE_ROUNDS (3) change the load. pgbench and the servers share the machine's cores:
# on 2 cores, `SELECT 1` mostly measures pgbench's own CPU.
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_RUN=${BENCH_SECONDS:-10}
ROUNDS=${BENCH_ROUNDS:-2}
CLIENTS=${BENCH_CLIENTS:-8}
THREADS=${BENCH_THREADS:-2}
LARGE_ROUNDS=${BENCH_LARGE_ROUNDS:-3}
PGBENCH=/usr/lib/postgresql/15/bin/pgbench
PG18_PORT=${PGPROTO_PG18_PORT:-54318}
LARGE=1000000

bash scripts/pg.sh 18 >/dev/null
[ -x "$PGBENCH" ] || bash scripts/clients.sh >/dev/null
cargo build --release --quiet --example tokio --example pgwire_server

WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

# Starts example $1 on a free port; sets $2 to the port and $2_PID to the process.
start() {
  local name=$1 log=$WORK/$1.log
  "target/release/examples/$name" --listen 127.0.0.1:0 >"$log" 2>&1 &
  PIDS+=($!)
  printf -v "$2_PID" %s $!
  for _ in $(seq 100); do
    if grep -q '^listening on ' "$log"; then
      printf -v "$2" %s "$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$log")"
      return
    fi
    sleep 0.05
  done
  echo "$name did not start: $(cat "$log")" >&2
  exit 1
}
OURS='' OURS_PID='' PGWIRE='' PGWIRE_PID=''
start tokio OURS
start pgwire_server PGWIRE

# The same rows from PostgreSQL: generate_series instead of the examples' bench_rows(n).
pg_rows() {
  echo "SELECT g AS id, g * 7::int8 AS big, 'row ' || g AS label, g + 0.5::float8 AS ratio," \
    "g % 2 = 0 AS even, timestamptz '2024-01-01 00:00:00.123457+00' + g * interval '1 second' AS ts" \
    "FROM generate_series(1, $1) AS g"
}
# psql against the example on port $1.
example_psql() { psql -X -A -h 127.0.0.1 -p "$1" -U postgres "${@:2}"; }
# psql against PostgreSQL 18, which prints timestamptz in the session's TimeZone.
pg18_psql() { PGOPTIONS='-c TimeZone=UTC' psql -X -A -h 127.0.0.1 -p "$PG18_PORT" -U postgres "$@"; }

example_psql "$OURS" -c 'SELECT * FROM bench_rows(1000)' >"$WORK/ours.out"
example_psql "$PGWIRE" -c 'SELECT * FROM bench_rows(1000)' >"$WORK/pgwire.out"
pg18_psql -c "$(pg_rows 1000)" >"$WORK/pg18.out"
if ! cmp -s "$WORK/ours.out" "$WORK/pg18.out" || ! cmp -s "$WORK/pgwire.out" "$WORK/pg18.out"; then
  echo "the 1,000-row results differ:" >&2
  diff "$WORK/ours.out" "$WORK/pg18.out" | head >&2 || true
  diff "$WORK/pgwire.out" "$WORK/pg18.out" | head >&2 || true
  exit 1
fi
echo "1,000-row result: psql output identical from tokio, pgwire_server and PostgreSQL 18 ($(wc -c <"$WORK/pg18.out") bytes)"

echo "machine: $(nproc) CPUs, $(lscpu | sed -n 's/^Model name: *//p')"
echo "load: $PGBENCH -n -f SCRIPT -c $CLIENTS -j $THREADS -T $SECONDS_PER_RUN -M MODE, $ROUNDS rounds"
echo

median() {
  sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# CPU time (user + system) process $1 has used, in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
TICK_US=$((1000000 / $(getconf CLK_TCK)))

# One pgbench run against the server on port $1 (process $2): prints its tps and the server's
# CPU time per transaction in microseconds.
pgbench_run() {
  local port=$1 pid=$2 script=$3 mode=$4 out before after
  before=$(cpu_ticks "$pid")
  out=$("$PGBENCH" -n -f "$script" -c "$CLIENTS" -j "$THREADS" -T "$SECONDS_PER_RUN" -M "$mode" \
    -h 127.0.0.1 -p "$port" -U postgres 2>&1) || { echo "pgbench failed: $out" >&2; exit 1; }
  after=$(cpu_ticks "$pid")
  if ! grep -q '^number of failed transactions: 0 ' <<<"$out"; then
    echo "pgbench had failed transactions: $out" >&2
    exit 1
  fi
  awk -v ticks=$((after - before)) -v tick_us="$TICK_US" '
    /^number of transactions actually processed:/ { n = $NF }
    /^tps = / { tps = $3 }
    END { printf "%.0f %.2f\n", tps, ticks * tick_us / n }' <<<"$out"
}

echo 'SELECT 1;' >"$WORK/select1.sql"
echo 'SELECT * FROM bench_rows(1000);' >"$WORK/rows1000.sql"
echo "tps: median of the rounds; CPU: the server process's CPU time per transaction (median)"
printf '%-22s %-9s %9s %9s %6s %11s %11s %6s   %s\n' workload mode "ours tps" "pgwire" ratio \
  "ours CPU" "pgwire CPU" ratio "tps of each run (ours | pgwire)"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", a / b }'; }
for workload in select1 rows1000; do
  for mode in simple extended prepared; do
    ours=() theirs=() ours_cpu=() theirs_cpu=()
    for _ in $(seq "$ROUNDS"); do
      read -r tps cpu < <(pgbench_run "$OURS" "$OURS_PID" "$WORK/$workload.sql" "$mode")
      ours+=("$tps") ours_cpu+=("$cpu")
      read -r tps cpu < <(pgbench_run "$PGWIRE" "$PGWIRE_PID" "$WORK/$workload.sql" "$mode")
      theirs+=("$tps") theirs_cpu+=("$cpu")
    done
    a=$(printf '%s\n' "${ours[@]}" | median)
    b=$(printf '%s\n' "${theirs[@]}" | median)
    ac=$(printf '%s\n' "${ours_cpu[@]}" | median)
    bc=$(printf '%s\n' "${theirs_cpu[@]}" | median)
    label=$([ $workload = select1 ] && echo 'SELECT 1' || echo '1,000 rows x 6 cols')
    printf '%-22s %-9s %9.0f %9.0f %6s %8.1f us %8.1f us %6s   %s | %s\n' "$label" "$mode" "$a" "$b" \
      "$(ratio "$a" "$b")" "$ac" "$bc" "$(ratio "$bc" "$ac")" "${ours[*]}" "${theirs[*]}"
  done
done
echo

# Seconds psql takes to read the large result and throw it away.
psql_seconds() {
  local start end
  start=$(date +%s%N)
  "$@" >/dev/null
  end=$(date +%s%N)
  awk -v ns=$((end - start)) 'BEGIN { printf "%.3f", ns / 1e9 }'
}
echo "large result: psql -X -A -t -c QUERY > /dev/null, $LARGE rows x 6 columns, $LARGE_ROUNDS rounds"
ours=() theirs=()
for _ in $(seq "$LARGE_ROUNDS"); do
  ours+=("$(psql_seconds example_psql "$OURS" -t -c "SELECT * FROM bench_rows($LARGE)")")
  theirs+=("$(psql_seconds pg18_psql -t -c "$(pg_rows $LARGE)")")
done
a=$(printf '%s\n' "${ours[@]}" | median)
b=$(printf '%s\n' "${theirs[@]}" | median)
printf '%-16s %12s %12s   %s\n' server "seconds" "rows/s" "runs (s)"
printf '%-16s %12.3f %12.0f   %s\n' "tokio (ours)" "$a" "$(awk -v s="$a" -v n=$LARGE 'BEGIN { print n / s }')" "${ours[*]}"
printf '%-16s %12.3f %12.0f   %s\n' "PostgreSQL 18" "$b" "$(awk -v s="$b" -v n=$LARGE 'BEGIN { print n / s }')" "${theirs[*]}"
printf 'ratio ours/PostgreSQL 18 (rows/s): %.2fx\n' "$(awk -v a="$a" -v b="$b" 'BEGIN { print b / a }')"
