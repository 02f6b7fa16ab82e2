#!/usr/bin/env bash
# Builds every fuzz target and runs each for a short, fixed time, seeded from the
# committed corpus (fuzz/seeds/<target>/), so that CI catches a regression. Exits
# non-zero on any finding (a crash, a broken property, a black-box finding), after
# running every target, and prints how to replay each one.
#
#   bash fuzz/ci.sh                 # every target, FUZZ_SECONDS (default 15) each
#   FUZZ_SECONDS=60 bash fuzz/ci.sh hub_sequences blackbox_server
#
# Works on the stable toolchain: cargo-fuzz needs nightly flags, which
# RUSTC_BOOTSTRAP=1 allows on stable. cargo-fuzz is installed if it is missing.
set -uo pipefail

cd "$(dirname "$0")"
SECONDS_EACH="${FUZZ_SECONDS:-15}"
export RUSTC_BOOTSTRAP=1
# The fuzz build keeps its own target directory (fuzz/target): its flags differ.
unset CARGO_TARGET_DIR
# A launched third-party server is for people fuzzing their own; CI fuzzes the
# reference server, in process.
unset P2PCHAT_SERVER_CMD P2PCHAT_SERVER_ADDR

if ! command -v cargo-fuzz >/dev/null 2>&1 && [ ! -x "${CARGO_HOME:-$HOME/.cargo}/bin/cargo-fuzz" ]; then
    echo "fuzz/ci.sh: installing cargo-fuzz"
    cargo install cargo-fuzz --locked || exit 1
fi
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

TARGETS=("$@")
if [ ${#TARGETS[@]} -eq 0 ]; then
    mapfile -t TARGETS < <(cargo fuzz list)
fi

start=$(date +%s)
echo "fuzz/ci.sh: building ${#TARGETS[@]} targets"
cargo fuzz build || exit 1
echo "fuzz/ci.sh: built in $(( $(date +%s) - start )) s"

failed=()
for t in "${TARGETS[@]}"; do
    # New inputs go to the scratch corpus (ignored by git); the seeds are read only.
    mkdir -p "corpus/$t" "seeds/$t"
    echo "=== $t: ${SECONDS_EACH}s"
    log="target/ci-$t.log"
    mkdir -p target
    if cargo fuzz run "$t" "corpus/$t" "seeds/$t" -- \
        -max_total_time="$SECONDS_EACH" -dict=p2pchat.dict -print_final_stats=1 \
        -timeout=30 -rss_limit_mb=4096 >"$log" 2>&1; then
        grep -E '^#[0-9]+.*(DONE|pulse)' "$log" | tail -1
        grep -E 'stat::number_of_executed_units|stat::average_exec_per_sec' "$log"
    else
        echo "FINDING in $t; the end of its output:"
        tail -60 "$log"
        artifact=$(grep -oE 'artifacts/[^ ]+' "$log" | tail -1)
        if [ -n "$artifact" ]; then
            echo "replay: (cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run $t $artifact)"
        fi
        failed+=("$t")
    fi
done

echo "fuzz/ci.sh: done in $(( $(date +%s) - start )) s"
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz/ci.sh: findings in: ${failed[*]}"
    exit 1
fi
echo "fuzz/ci.sh: ${#TARGETS[@]} targets, no finding"
