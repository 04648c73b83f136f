#!/usr/bin/env bash
# Every test, on a fresh machine: installs and starts the real peers the interop tests need
# (PostgreSQL 15 from Debian with psql and pgbench, PostgreSQL 18 from npm, psycopg 3,
# asyncpg, node-postgres, pgjdbc), checks formatting, lints and
# docs, runs `cargo test` with the interop tests enabled, then fuzzes each decoder and exchange
# for a bounded time. CI (.ci/run) calls this.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/pg.sh 15
scripts/pg.sh 18
scripts/clients.sh
export PGPROTO_INTEROP=1
export PGPROTO_PG15_PORT=${PGPROTO_PG15_PORT:-54315}
export PGPROTO_PG18_PORT=${PGPROTO_PG18_PORT:-54318}

cargo fmt --all -- --check
cargo clippy --all-targets --all-features -- -D warnings
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --all-features --quiet
# --all-features: the interop tests and the optional conversions (chrono, time, uuid,
# serde_json, rust_decimal).
cargo test --all-features
# The benchmarks once each, untimed: every contender's output is checked first (the decoders
# agree on every message and value, the encoders write PostgreSQL's bytes).
cargo test --all-features --bench codec --bench compare
FUZZ_SECONDS=${FUZZ_SECONDS:-20} scripts/fuzz.sh
