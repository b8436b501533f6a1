#!/usr/bin/env bash
# Nucleus (top-p) sampling on QM9 (README "Nucleus sampling on QM9"): the shipped AR, MDLM and UDLM
# (SMILES), unguided, 1,024 molecules per run, T = 32, seed 0, at top-p 1 (plain ancestral sampling),
# 0.95, 0.9, 0.8 and 0.6. Valid, unique and novel fractions and the QED / ring count of novel molecules
# show what the truncation buys in validity and what it costs in diversity. Two more rows combine
# top-p 0.9 with the refinements of scripts/qm9-samplers.sh: UDLM with one corrector step per step
# (twice the network passes) and MDLM with ReMDM-cap remasking (η_cap = 0.02).
#   scripts/qm9-nucleus.sh           # writes runs/qm9-nucleus/results.md
# Runs that already have metrics.json are kept (delete the folder to redo one).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --workspace --bins # all binaries: one package alone would rebuild the dependencies
B=${CARGO_TARGET_DIR:-target}/release/molecules
C=${CKPT:-checkpoints/molecules}
OUT=${OUT:-runs/qm9-nucleus}
N=${N:-1024}
PS=(1 0.95 0.9 0.8 0.6)
mkdir -p "$OUT"

for kind in ar mdlm udlm; do
  for p in "${PS[@]}"; do
    d="$OUT/$kind-p$p"
    [ -f "$d/metrics.json" ] && continue
    "$B" sample --checkpoint "$C/$kind.ckpt" -n "$N" --steps 32 --seed 0 --top-p "$p" \
      --quiet --force --out "$d" > /dev/null
  done
done

[ -f "$OUT/udlm-corrector-p0.9/metrics.json" ] || "$B" sample --checkpoint "$C/udlm.ckpt" -n "$N" \
  --steps 32 --seed 0 --top-p 0.9 --corrector-steps 1 --quiet --force --out "$OUT/udlm-corrector-p0.9" > /dev/null
[ -f "$OUT/mdlm-remdm-p0.9/metrics.json" ] || "$B" sample --checkpoint "$C/mdlm.ckpt" -n "$N" \
  --steps 32 --seed 0 --top-p 0.9 --remask-cap 0.02 --quiet --force --out "$OUT/mdlm-remdm-p0.9" > /dev/null

row() { # LABEL P DIR
  jq -r --arg k "$1" --arg p "$2" \
    '"| \($k) | \($p) | \(100 * .valid | . * 10 | round / 10) | \(100 * .unique | . * 10 | round / 10) | \(100 * .novel | . * 10 | round / 10) | \(.qed_novel.mean // null | if . == null then "–" else (. * 1000 | round / 1000 | tostring) end) | \(.rings_novel.mean // null | if . == null then "–" else (. * 100 | round / 100 | tostring) end) | \(.run.seconds | . * 10 | round / 10) |"' \
    "$3/metrics.json"
}

MD="$OUT/results.md"
{
  echo "| model | top-p | valid % | unique % | novel % | QED (novel) | rings (novel) | s |"
  echo "|---|---|---|---|---|---|---|---|"
  for kind in ar mdlm udlm; do
    for p in "${PS[@]}"; do
      row "$kind" "$p" "$OUT/$kind-p$p"
    done
  done
  row "udlm + 1 corrector step" 0.9 "$OUT/udlm-corrector-p0.9"
  row "mdlm + ReMDM-cap 0.02" 0.9 "$OUT/mdlm-remdm-p0.9"
} > "$MD"
cat "$MD"
