#!/usr/bin/env bash
# Regenerates tests/fixtures/types_pg18.tsv: starts PostgreSQL 18 (scripts/pg.sh 18) and records
# the text and binary forms it sends for every case in tests/fixtures/types_cases.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/pg.sh 18
cargo run --quiet --example record_type_fixtures -- --port "${PGPROTO_PG18_PORT:-54318}" \
  > tests/fixtures/types_pg18.tsv.new
mv tests/fixtures/types_pg18.tsv.new tests/fixtures/types_pg18.tsv
echo "wrote tests/fixtures/types_pg18.tsv ($(grep -vc '^#' tests/fixtures/types_pg18.tsv) values)"
