#!/usr/bin/env bash
# Reward steering on species (README "Reward steering on species"): the shipped species-conditional
# MDLM and UDLM sampled with SMC / FK steering (K = 4 particles), the reward being log p(species | x)
# under (a) the evaluation oracle itself — optimistic, since the same network then scores the
# samples — and (b) a second clean classifier trained separately (same data and architecture, another
# seed). Every row is scored like scripts/species-results.sh (32 per species, T = 64, seed 0), so the
# D-CFG rows of that table compare directly.
# A second table compares the methods at equal network passes (the cost of D-CFG γ = 3 at T = 64: 64
# steps of a double pass): D-CFG γ = 3 (T = 64), SMC K = 4 (T = 32), best-of-4 (T = 32) and SVDD M = 4
# (T = 24, one pass plus four candidate passes per step), the reward being the second classifier;
# each row with its measured time.
#   scripts/species-steering.sh      # writes runs/species-steering/results.md and equal-passes.md
# Rows that already have scores.json are kept (delete one to redo it); KINDS="mdlm" runs (and
# tabulates) one model only.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --workspace --bins # all binaries: one package alone would rebuild the dependencies
C=${CKPT:-checkpoints/genomics}
OUT=${OUT:-runs/species-steering}
# A private copy of the binary: a rebuild of the workspace while this runs cannot change it.
mkdir -p "$OUT/bin"
cp "${CARGO_TARGET_DIR:-target}/release/genomics" "$OUT/bin/genomics"
B="$OUT/bin/genomics"
PER=${PER_SPECIES:-32}
STEPS=${STEPS:-64}
LAMBDA=${LAMBDA:-3}
CLF2="$OUT/classifier-2/model.ckpt"
[ -f "$CLF2" ] || "$B" train-classifier --config configs/species-oracle.toml --set train.seed=11 \
  --run-dir "$OUT/classifier-2" > /dev/null

row() { # NAME REWARD_CLASSIFIER ARGS... (STEPS=T before `row` for another T)
  local name=$1 clf=$2; shift 2
  local d="$OUT/$name"
  [ -f "$d/scores.json" ] && return 0
  mkdir -p "$d"
  local t0=$(date +%s)
  "$B" sample --per-species "$PER" --steps "$STEPS" --seed 0 --quiet --force --out "$d/samples.fa" \
    ${clf:+--reward-classifier "$clf"} "$@" > "$d/sample.log"
  echo $(( $(date +%s) - t0 )) > "$d/seconds"
  "$B" eval --samples "$d/samples.fa" --oracle "$C/species-oracle.ckpt" --json "$d/scores.json" --force > /dev/null
}

for kind in ${KINDS:-mdlm udlm}; do
  for r in oracle:"$C/species-oracle.ckpt" classifier-2:"$CLF2"; do
    row "$kind-smc-${r%%:*}" "${r#*:}" --checkpoint "$C/species-$kind.ckpt" \
      --steer smc --reward classifier --particles 4 --steer-lambda "$LAMBDA"
  done
done

MD="$OUT/results.md"
{
  echo "| Model | Steering (K = 4, λ = $LAMBDA) | reward from | s | 3-mer JS ↓ | 6-mer JS ↓ | Disc. AUROC (→0.5) | Oracle acc. ↑ | Oracle F1 ↑ | MCC ↑ |"
  echo "|---|---|---|---|---|---|---|---|---|---|"
  for kind in ${KINDS:-mdlm udlm}; do
    for r in oracle classifier-2; do
      d="$OUT/$kind-smc-$r"
      jq -r '[.js3, .js6, (.auroc // "nan"), .accuracy, .macro_f1, .mcc] | @tsv' "$d/scores.json" |
        awk -v k="${kind^^}" -v r="$r" -v s="$(cat "$d/seconds")" -F'\t' \
          '{ printf "| %s | SMC | %s | %s | %.3f | %.3f | %s | %.3f | %.3f | %.3f |\n", k, r, s, $1, $2, ($3 == "nan" ? "–" : sprintf("%.3f", $3)), $4, $5, $6 }'
    done
  done
} > "$MD"
cat "$MD"

# Equal network passes (D-CFG γ = 3 at T = 64 as the yardstick).
for kind in ${KINDS:-mdlm udlm}; do
  STEPS=64 row "$kind-eq-cfg3" "" --checkpoint "$C/species-$kind.ckpt" --guidance cfg --gamma 3
  STEPS=32 row "$kind-eq-smc" "$CLF2" --checkpoint "$C/species-$kind.ckpt" \
    --steer smc --reward classifier --particles 4 --steer-lambda "$LAMBDA"
  STEPS=32 row "$kind-eq-best" "$CLF2" --checkpoint "$C/species-$kind.ckpt" \
    --steer best-of-n --reward classifier --particles 4
  STEPS=24 row "$kind-eq-svdd" "$CLF2" --checkpoint "$C/species-$kind.ckpt" \
    --steer svdd --reward classifier --candidates 4
done
EQ="$OUT/equal-passes.md"
{
  echo "| Model | Method (reward: classifier-2) | T | s | 3-mer JS ↓ | 6-mer JS ↓ | Disc. AUROC (→0.5) | Oracle acc. ↑ | Oracle F1 ↑ | MCC ↑ |"
  echo "|---|---|---|---|---|---|---|---|---|---|"
  for kind in ${KINDS:-mdlm udlm}; do
    for m in "cfg3:D-CFG γ = 3 (no reward):64" "smc:SMC K = 4, λ = $LAMBDA:32" "best:best-of-4:32" "svdd:SVDD M = 4:24"; do
      IFS=: read -r tag name T <<< "$m"
      d="$OUT/$kind-eq-$tag"
      jq -r '[.js3, .js6, (.auroc // "nan"), .accuracy, .macro_f1, .mcc] | @tsv' "$d/scores.json" |
        awk -v k="${kind^^}" -v n="$name" -v t="$T" -v s="$(cat "$d/seconds")" -F'\t' \
          '{ printf "| %s | %s | %s | %s | %.3f | %.3f | %s | %.3f | %.3f | %.3f |\n", k, n, t, s, $1, $2, ($3 == "nan" ? "–" : sprintf("%.3f", $3)), $4, $5, $6 }'
    done
  done
} > "$EQ"
cat "$EQ"
