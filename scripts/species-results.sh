#!/usr/bin/env bash
# The genomics results table of the README (shaped like the paper's Table C), from the shipped
# checkpoints (or your own, CKPT=dir): the Random row, then AR, MDLM and UDLM with D-CFG at
# γ = 1, 2, 3 and MDLM / UDLM with first-order D-CBG at the same γ. Every row: 3-mer and 6-mer JS
# distance to the validation windows, discriminator AUROC (90/10 split), oracle accuracy, macro F1
# and MCC; the oracle's own held-out accuracy is printed under the table.
#   scripts/species-results.sh           # writes runs/species-results/results.md
#   PER_SPECIES=64 STEPS=128 scripts/species-results.sh   # the paper's 64 per species
# With RESUME=1 a sweep whose folder already has sweep.md is kept, so the table can be completed in
# parts, e.g. KINDS="mdlm" first and RESUME=1 with the UDLM rows once that model is ready; the table
# lists the sweeps that exist. The last column is the Fréchet distance on the oracle's features.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --workspace --bins # all binaries: one package alone would rebuild the dependencies
C=${CKPT:-checkpoints/genomics}
OUT=${OUT:-runs/species-results}
# A private copy of the binary: a rebuild of the workspace while this runs cannot change it.
mkdir -p "$OUT/bin"
cp "${CARGO_TARGET_DIR:-target}/release/genomics" "$OUT/bin/genomics"
B="$OUT/bin/genomics"
PER=${PER_SPECIES:-32}
STEPS=${STEPS:-64}
GAMMAS=${GAMMAS:-1,2,3}
mkdir -p "$OUT"
common=(--oracle "$C/species-oracle.ckpt" --per-species "$PER" --steps "$STEPS" --gammas "$GAMMAS")

sweep() { # OUT_NAME ARGS...
  local d="$OUT/$1"; shift
  [ "${RESUME:-0}" = 1 ] && [ -f "$d/sweep.md" ] && return 0
  "$B" sweep "$@" "${common[@]}" --out "$d"
}
sweep ar-cfg --checkpoint "$C/species-ar.ckpt" --guidance cfg --name AR --random-row
for kind in ${KINDS:-mdlm udlm}; do
  noise=$([ $kind = mdlm ] && echo absorbing || echo uniform)
  K=$(echo $kind | tr a-z A-Z)
  sweep $kind-cfg --checkpoint "$C/species-$kind.ckpt" --guidance cfg --name "$K"
  sweep $kind-cbg --checkpoint "$C/species-$kind.ckpt" --guidance cbg --name "$K" \
    --classifier "$C/species-classifier-$noise.ckpt"
done

MD="$OUT/results.md"
{
  # One table: the header and rows of every sweep (the random row comes with the AR sweep).
  head -n 2 "$OUT/ar-cfg/sweep.md"
  for s in ar-cfg mdlm-cfg mdlm-cbg udlm-cfg udlm-cbg; do
    [ -f "$OUT/$s/sweep.md" ] || continue
    grep '^| [A-Z]' "$OUT/$s/sweep.md" | grep -v '^| Model'
  done
  echo
  grep '^Oracle held-out' "$OUT/ar-cfg/sweep.md"
} > "$MD"
cat "$MD"
