#!/usr/bin/env bash
# The MNIST results tables of crates/images/README.md, from the shipped checkpoints (or yours:
# CKPT=dir holding eval-classifier.ckpt, mdlm.ckpt, udlm.ckpt), shaped like the paper's CIFAR-10
# tables (spec §10):
#   (a) like Table D: MDLM and UDLM, unguided (null class) and D-CFG γ = GAMMA_D (default 4), T = 128;
#   (b) like Table E: MDLM and UDLM with D-CFG γ = 1 at T ∈ {16, 32, 128}.
# Every row: FID (project classifier features), IS (project classifier), evaluation-classifier
# accuracy and macro F1 on the intended classes. These are not Inception-v3 FID / IS.
#   scripts/mnist-results.sh                      # writes runs/mnist-results/results.md
#   PER_CLASS=100 scripts/mnist-results.sh        # more samples per row (default 20 per class = 200)
# SETTING names the data in the first line of results.md (scripts/cifar-results.sh uses this script
# for its CIFAR-10 models).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --workspace --bins # all binaries: one package alone would rebuild the dependencies
B=${CARGO_TARGET_DIR:-target}/release/images
C=${CKPT:-checkpoints/images}
OUT=${OUT:-runs/mnist-results}
PER=${PER_CLASS:-20}
GAMMA_D=${GAMMA_D:-4}
TS=${TS:-16,32,128}
EVAL="$C/eval-classifier.ckpt"
mkdir -p "$OUT"
common=(-n "$PER" --batch-size 100 --seed 0 --quiet --eval-classifier "$EVAL")

# One table row from a sample folder's metrics.csv (n,fid,is,accuracy,f1).
row() {
  tail -n 1 "$1/metrics.csv" | awk -F, -v name="$2" '{
    acc = ($4 == "") ? "–" : sprintf("%.3f", $4); f1 = ($5 == "") ? "–" : sprintf("%.3f", $5);
    printf "| %s | %d | %.2f | %.2f | %s | %s |\n", name, $1, $2, $3, acc, f1 }'
}
# Model facts, as `sample` prints them.
about() { grep '^generator: ' "$1/sample.log" | sed 's/^generator: //'; }

HEAD='| model | n | FID (project classifier features) ↓ | IS (project classifier) ↑ | eval-classifier accuracy ↑ | macro F1 ↑ |
|---|---|---|---|---|---|'
TD="$HEAD"
for kind in mdlm udlm; do
  K=$(echo $kind | tr a-z A-Z)
  "$B" sample --checkpoint "$C/$kind.ckpt" --guidance none --steps 128 "${common[@]}" --force --out "$OUT/d-$kind-unguided"
  mkdir -p "$OUT/d-$kind-cfg"
  "$B" sample --checkpoint "$C/$kind.ckpt" --guidance cfg --gamma "$GAMMA_D" --steps 128 "${common[@]}" \
    --force --out "$OUT/d-$kind-cfg" | tee "$OUT/d-$kind-cfg/sample.log"
  TD+=$'\n'"$(row "$OUT/d-$kind-unguided" "$K (unguided, null class)")"
  TD+=$'\n'"$(row "$OUT/d-$kind-cfg" "$K D-CFG γ = $GAMMA_D")"
done

TE='| T | model | n | FID (project classifier features) ↓ | IS (project classifier) ↑ | eval-classifier accuracy ↑ | macro F1 ↑ |
|---|---|---|---|---|---|---|'
for kind in mdlm udlm; do
  "$B" sweep --checkpoint "$C/$kind.ckpt" --guidance cfg --gammas 1 --steps "$TS" -n "$PER" \
    --batch-size 100 --seed 0 --eval-classifier "$EVAL" --out "$OUT/e-$kind"
done
for t in ${TS//,/ }; do
  for kind in mdlm udlm; do
    K=$(echo $kind | tr a-z A-Z)
    # sweep.csv: gamma,steps,n,fid,is,accuracy,f1
    TE+=$'\n'"$(awk -F, -v t="$t" -v name="$K" 'NR > 1 && $2 == t {
      printf "| %s | %s | %d | %.2f | %.2f | %.3f | %.3f |\n", t, name, $3, $4, $5, $6, $7 }' "$OUT/e-$kind/sweep.csv")"
  done
done

REF=$("$B" eval --samples "$OUT/d-mdlm-cfg" --eval-classifier "$EVAL" | grep '^FID / IS on')
MD="$OUT/results.md"
{
  echo "Setting: ${SETTING:-MNIST subset (datasets/images, 9,001 train / 999 validation)}, $PER samples per class per row ($((PER * 10)) images), seed 0."
  echo "MDLM: $(about "$OUT/d-mdlm-cfg"). UDLM: $(about "$OUT/d-udlm-cfg")."
  echo "$REF."
  echo
  echo "(a) Unguided vs D-CFG (like the paper's Table D), T = 128"
  echo
  echo "$TD"
  echo
  echo "(b) Fewer steps, D-CFG γ = 1 (like the paper's Table E)"
  echo
  echo "$TE"
  echo
  echo "Unguided rows sample the null class, so they have no intended class and no accuracy."
} > "$MD"
cat "$MD"
