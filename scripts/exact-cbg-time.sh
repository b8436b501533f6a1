#!/usr/bin/env bash
# Wall time of D-CBG on QM9 with the shipped generators and ring-count classifiers (L·N = 32 × 35,
# classifier hidden 64, 2 blocks): unguided, first-order and exact, N molecules at T = 32, γ = 1,
# batch 256, one process after another on an otherwise idle machine. Writes
# runs/exact-cbg/results.md (the table in README "Speed").
#   scripts/exact-cbg-time.sh                    # N = 1024, MDLM and UDLM (≈ 45 min on 2 cores)
#   N=256 KINDS=udlm scripts/exact-cbg-time.sh   # a subset
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --workspace --bins # all binaries: one package alone would rebuild the dependencies
B=${CARGO_TARGET_DIR:-target}/release/molecules
C=${CKPT:-checkpoints/molecules}
OUT=${OUT:-runs/exact-cbg}
N=${N:-1024}
KINDS=${KINDS:-mdlm udlm}
mkdir -p "$OUT"
MD="$OUT/results.md"
{
  echo "| model | guidance | molecules | wall time | per 1,024 molecules | × unguided | valid % | rings (valid) |"
  echo "|---|---|---|---|---|---|---|---|"
} > "$MD"
for kind in $KINDS; do
  base=""
  for mode in none first-order exact; do
    args=()
    case $mode in
      first-order) args=(--guidance cbg --classifier "$C/$kind-classifier-ring_count.ckpt") ;;
      exact) args=(--guidance cbg --classifier "$C/$kind-classifier-ring_count.ckpt" --exact) ;;
    esac
    dir="$OUT/$kind-$mode"
    start=$(date +%s.%N)
    "$B" sample --checkpoint "$C/$kind.ckpt" "${args[@]}" -n "$N" --quiet --force --out "$dir" > /dev/null
    secs=$(echo "$(date +%s.%N) - $start" | bc -l)
    [ -z "$base" ] && base=$secs
    # metrics.json: fraction valid and the mean ring count of the valid molecules.
    read -r valid rings < <(python3 -c "import json,sys; m=json.load(open(sys.argv[1])); print(m['valid'], (m.get('rings_valid') or {}).get('mean') or 'nan')" "$dir/metrics.json")
    awk -v k="$kind" -v m="$mode" -v n="$N" -v s="$secs" -v b="$base" -v v="$valid" -v r="$rings" 'BEGIN {
      per = s * 1024 / n
      t = per >= 60 ? sprintf("%.1f min", per / 60) : sprintf("%.0f s", per)
      printf "| %s | %s | %d | %.0f s | %s | %.1f× | %.1f | %.2f |\n", k, m, n, s, t, s / b, 100 * v, r }' >> "$MD"
  done
done
cat "$MD"
