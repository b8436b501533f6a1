#!/usr/bin/env bash
# A newcomer's first hour, timed: clone the repository into a fresh folder with its own target/,
# build and run the molecules demo, then run the README's test command (README "Expected times").
#   scripts/first-hour.sh [SCRATCH_DIR]      # default /tmp/gdd-first-hour; prints a timing table
# Run it on an otherwise idle machine. The crates must be downloadable or already in the cargo
# registry cache; the download is not part of the timed steps only if they are cached.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
DIR=${1:-/tmp/gdd-first-hour}
rm -rf "$DIR"
git clone -q "$SRC" "$DIR"
cd "$DIR"
unset CARGO_TARGET_DIR
echo "CPU: $(lscpu | sed -n 's/^Model name:[[:space:]]*//p'), $(nproc) cores; commit $(git rev-parse --short HEAD)"
t0=$(date +%s)
cargo build --release -p molecules 2>&1 | tail -1
t1=$(date +%s)
cargo run --release -p molecules -- demo > demo.log 2>&1
t2=$(date +%s)
cargo test --workspace --release > test.log 2>&1
t3=$(date +%s)
summary=$(grep '^test result' test.log | awk '{p+=$4; f+=$6; i+=$8} END {printf "%d passed, %d failed, %d ignored", p, f, i}')
min() { awk -v s="$1" 'BEGIN { printf "%.1f min", s / 60 }'; }
echo "| step | time |"
echo "|---|---|"
echo "| \`cargo run --release -p molecules -- demo\`: cold build | $(min $((t1 - t0))) |"
echo "| … the demo itself | $(min $((t2 - t1))) |"
echo "| \`cargo test --workspace --release\` ($summary) | $(min $((t3 - t2))) |"
echo "| clone → demo → tests passing | $(min $((t3 - t0))) |"
