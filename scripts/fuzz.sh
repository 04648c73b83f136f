#!/usr/bin/env bash
# Fuzzes the decoders, SCRAM and both connection state machines for a bounded time: each
# cargo-fuzz target in fuzz/ runs for FUZZ_SECONDS (default 30) from a scratch corpus seeded
# with fuzz/corpus_seeds/<target>.
# Exits non-zero if any target crashes (a panic, a failed property, a sanitizer report, or
# going over 512 MB of RSS); the crashing input is left in fuzz/artifacts/<target>/ and
# printed in hex.
#
# cargo-fuzz needs nightly-only rustc flags; RUSTC_BOOTSTRAP=1 lets the stable toolchain
# accept them.
set -euo pipefail

cd "$(dirname "$0")/.."

FUZZ_SECONDS="${FUZZ_SECONDS:-30}"
TARGETS=(decode_frontend decode_backend scram_server scram_client server_bytes client_bytes server_ops client_ops pgoutput)

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi

export RUSTC_BOOTSTRAP=1

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
touch "$scratch/started"

# -a: debug assertions and overflow checks on, in the optimized build.
echo "== building fuzz targets"
cargo fuzz build -a

status=0
for target in "${TARGETS[@]}"; do
    corpus="$scratch/corpus/$target"
    mkdir -p "$corpus"
    cp fuzz/corpus_seeds/"$target"/* "$corpus"/
    echo "== fuzzing $target for ${FUZZ_SECONDS}s"
    log="$scratch/$target.log"
    if cargo fuzz run -a "$target" "$corpus" -- \
        -max_total_time="$FUZZ_SECONDS" -rss_limit_mb=512 -print_final_stats=1 >"$log" 2>&1; then
        # The closing statistics only: executions, coverage, corpus.
        grep -E '^(#[0-9]+\s+DONE|Done [0-9]+ runs|stat::number_of_executed_units|stat::peak_rss_mb)' "$log" || true
    else
        tail -n 60 "$log" >&2
        echo "== FAILED: $target" >&2
        status=1
        if [ -d "fuzz/artifacts/$target" ]; then
            find "fuzz/artifacts/$target" -type f -newer "$scratch/started" | while read -r f; do
                echo "== reproducer $f (replay: cargo fuzz run $target $f):" >&2
                od -An -v -tx1 "$f" | tr -d ' \n' >&2
                echo >&2
            done
        fi
    fi
done

if [ "$status" -eq 0 ]; then
    echo "== fuzzing passed: ${TARGETS[*]}, ${FUZZ_SECONDS}s each"
fi
exit "$status"
