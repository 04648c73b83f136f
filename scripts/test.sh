#!/usr/bin/env bash
# Every test, on a fresh machine: installs and starts the real peers the interop tests need
# (PostgreSQL 15 with psql), checks formatting, lints and docs, runs `cargo test` with the
# interop tests enabled, then fuzzes each decoder for a bounded time. CI (.ci/run) calls this.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/pg.sh
export PGPROTO_INTEROP=1
export PGPROTO_PG15_PORT=${PGPROTO_PG15_PORT:-54315}

cargo fmt --all -- --check
cargo clippy --all-targets --features interop -- -D warnings
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --quiet
cargo test --features interop
FUZZ_SECONDS=${FUZZ_SECONDS:-30} scripts/fuzz.sh
