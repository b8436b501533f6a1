#!/usr/bin/env bash
# The QM9 results tables of the README, from the shipped checkpoints (or your own, CKPT=dir):
# held-out perplexity of AR / MDLM / UDLM, γ sweeps of D-CBG (first-order) and D-CFG for QED
# and ring-count maximisation, and UDLM on SMILES vs SELFIES. 1,024 molecules per row, T = 32.
#   scripts/qm9-results.sh            # writes runs/qm9-results/results.md and validity-*.png (≈ 15 min on 2 cores)
#   SECTIONS="ppl sweeps" scripts/qm9-results.sh     # a subset (ppl, sweeps, selfies)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --workspace --bins # all binaries: one package alone would rebuild the dependencies
B=${CARGO_TARGET_DIR:-target}/release/molecules
C=${CKPT:-checkpoints/molecules}
OUT=${OUT:-runs/qm9-results}
N=${N:-1024}
GAMMAS=${GAMMAS:-0,1,2,3,5}
mkdir -p "$OUT"
MD="$OUT/results.md"
SECTIONS=${SECTIONS:-ppl sweeps selfies}
has() { [[ " $SECTIONS " == *" $1 "* ]]; }
: > "$MD"

has ppl && {
  echo "#### Held-out perplexity (5 % test split, pads excluded)"
  echo
  echo "| model | NELBO (nats/token) | PPL |"
  echo "|---|---|---|"
  for k in ar mdlm udlm; do
    "$B" validate --checkpoint "$C/$k.ckpt" --markdown-row "$k"
  done
} >> "$MD"

has sweeps && for kind in mdlm udlm; do
  for p in qed ring_count; do
    "$B" sweep --checkpoint "$C/$kind.ckpt" --guidance cbg --classifier "$C/$kind-classifier-$p.ckpt" \
      --property "$p" --gammas "$GAMMAS" -n "$N" --out "$OUT/$kind-cbg-$p"
    "$B" sweep --checkpoint "$C/$kind-cfg-$p.ckpt" --guidance cfg \
      --property "$p" --gammas "$GAMMAS" -n "$N" --out "$OUT/$kind-cfg-$p"
  done
done

has sweeps && {
  echo
  echo "#### Property maximisation: valid %, novel % and the mean property of novel molecules"
  echo
  echo "| model | guidance | γ | QED run: valid % | novel % | QED (novel) | rings run: valid % | novel % | rings (novel) |"
  echo "|---|---|---|---|---|---|---|---|---|"
  for kind in mdlm udlm; do
    for m in cbg cfg; do
      # sweep.csv: gamma,steps,samples,valid,unique,novel,novel_canonical,qed_valid_mean,qed_novel_mean,…
      paste -d, <(tail -n +2 "$OUT/$kind-$m-qed/sweep.csv") <(tail -n +2 "$OUT/$kind-$m-ring_count/sweep.csv") |
        awk -F, -v k="$kind" -v m="$([ $m = cbg ] && echo 'D-CBG (1st order)' || echo D-CFG)" \
          '{ printf "| %s | %s | %s | %.1f | %.1f | %.3f | %.1f | %.1f | %.2f |\n", k, m, $1, 100*$4, 100*$6, $9, 100*$21, 100*$23, $31 }' |
        sed 's/ nan |/ – |/g'  # no valid molecule: no mean
    done
  done
} >> "$MD"

# Validity against γ, MDLM and UDLM under both guidance rules, one plot per property.
has sweeps && for p in qed ring_count; do
  "$B" plot-sweeps --metric valid --out "$OUT/validity-$p" \
    --sweep "MDLM D-CFG=$OUT/mdlm-cfg-$p" --sweep "UDLM D-CFG=$OUT/udlm-cfg-$p" \
    --sweep "MDLM D-CBG=$OUT/mdlm-cbg-$p" --sweep "UDLM D-CBG=$OUT/udlm-cbg-$p" > /dev/null
done

has selfies && {
  echo
  echo "#### UDLM on SMILES vs SELFIES (unguided)"
  echo
  echo "| representation | NELBO | PPL | valid % | unique % | novel % | QED (novel) | rings (novel) |"
  echo "|---|---|---|---|---|---|---|---|"
  for r in smiles selfies; do
    ck="$C/udlm.ckpt"; [ $r = selfies ] && ck="$C/udlm-selfies.ckpt"
    ppl=$("$B" validate --checkpoint "$ck" --markdown-row x | awk -F'|' '{print $3 "|" $4}')
    "$B" sample --checkpoint "$ck" -n "$N" --quiet --force --out "$OUT/udlm-$r" > /dev/null
    tail -n 1 "$OUT/udlm-$r/metrics.csv" |
      awk -F, -v r="$r" -v p="$ppl" '{ printf "| %s |%s| %.1f | %.1f | %.1f | %.3f | %.2f |\n", r, p, 100*$2, 100*$3, 100*$4, $7, $12 }'
  done
} >> "$MD"
cat "$MD"
