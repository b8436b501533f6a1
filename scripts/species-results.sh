#!/usr/bin/env bash
# The genomics results table of the README (shaped like the paper's Table C), from the shipped
# checkpoints (or your own, CKPT=dir): the Random row, then AR, MDLM and UDLM with D-CFG at
# γ = 1, 2, 3 and MDLM / UDLM with first-order D-CBG at the same γ. Every row: 3-mer and 6-mer JS
# distance to the validation windows, discriminator AUROC (90/10 split), oracle accuracy, macro F1
# and MCC; the oracle's own held-out accuracy is printed under the table.
#   scripts/species-results.sh           # writes runs/species-results/results.md
#   PER_SPECIES=64 STEPS=128 scripts/species-results.sh   # the paper's 64 per species
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --workspace --bins # all binaries: one package alone would rebuild the dependencies
B=${CARGO_TARGET_DIR:-target}/release/genomics
C=${CKPT:-checkpoints/genomics}
OUT=${OUT:-runs/species-results}
PER=${PER_SPECIES:-32}
STEPS=${STEPS:-64}
GAMMAS=${GAMMAS:-1,2,3}
mkdir -p "$OUT"
common=(--oracle "$C/species-oracle.ckpt" --per-species "$PER" --steps "$STEPS" --gammas "$GAMMAS")

"$B" sweep --checkpoint "$C/species-ar.ckpt" --guidance cfg --name AR --random-row "${common[@]}" --out "$OUT/ar-cfg"
for kind in mdlm udlm; do
  noise=$([ $kind = mdlm ] && echo absorbing || echo uniform)
  K=$(echo $kind | tr a-z A-Z)
  "$B" sweep --checkpoint "$C/species-$kind.ckpt" --guidance cfg --name "$K" "${common[@]}" --out "$OUT/$kind-cfg"
  "$B" sweep --checkpoint "$C/species-$kind.ckpt" --guidance cbg --name "$K" \
    --classifier "$C/species-classifier-$noise.ckpt" "${common[@]}" --out "$OUT/$kind-cbg"
done

MD="$OUT/results.md"
{
  # One table: the header and rows of every sweep (the random row comes with the AR sweep).
  head -n 2 "$OUT/ar-cfg/sweep.md"
  for s in ar-cfg mdlm-cfg mdlm-cbg udlm-cfg udlm-cbg; do
    grep '^| [A-Z]' "$OUT/$s/sweep.md" | grep -v '^| Model'
  done
  echo
  grep '^Oracle held-out' "$OUT/ar-cfg/sweep.md"
} > "$MD"
cat "$MD"
