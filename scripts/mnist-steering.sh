#!/usr/bin/env bash
# Reward steering on MNIST against D-CFG (README "Reward steering on MNIST"): the shipped
# class-conditional UNet MDLM and UDLM, each row at the network cost of D-CFG γ = 4 at T = 64 (64 steps
# of a double pass): D-CFG γ = 4 (T = 64); SMC / FK with K = 4 (T = 32), best-of-4 (T = 32) and SVDD with
# M = 4 (T = 24), the reward being log p(class | image) of a second clean classifier trained here
# (configs/mnist-eval-classifier.toml with another seed). The steering rows start from the
# unconditional model (null class), so the reward alone aims each group at its digit, except one SMC
# row that steers the conditional model (γ = 1); for reference, SMC with the evaluation classifier
# itself as the reward (optimistic: the same network then scores the samples). D-CFG γ = 1 (T = 64)
# is the unsteered conditional model. 20 images per digit, seed 0, scored like
# scripts/mnist-results.sh (FID / IS on the project classifier, accuracy and F1 on the intended digits).
#   scripts/mnist-steering.sh        # writes runs/mnist-steering/results.md
# Rows that already have metrics.csv are kept; "s" is each row's sampling time, so run it on an
# otherwise idle machine.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --workspace --bins # all binaries: one package alone would rebuild the dependencies
B=${CARGO_TARGET_DIR:-target}/release/images
C=${CKPT:-checkpoints/images}
OUT=${OUT:-runs/mnist-steering}
PER=${PER_CLASS:-20}
LAMBDA=${LAMBDA:-3}
mkdir -p "$OUT"
CLF2="$OUT/classifier-2/model.ckpt"
[ -f "$CLF2" ] || "$B" train-classifier --config configs/mnist-eval-classifier.toml --set train.seed=11 \
  --run-dir "$OUT/classifier-2" > /dev/null

run() { # DIR T ARGS...
  local d=$1 t=$2; shift 2
  [ -f "$d/metrics.csv" ] && return 0
  "$B" sample -n "$PER" --batch-size 100 --seed 0 --quiet --force --steps "$t" \
    --eval-classifier "$C/eval-classifier.ckpt" --out "$d" "$@" > /dev/null < /dev/null
}
{
  echo "| model | method | reward from | T | passes per image | s | FID (project features) ↓ | IS (project classifier) ↑ | accuracy ↑ | macro F1 ↑ |"
  echo "|---|---|---|---|---|---|---|---|---|---|"
  for kind in mdlm udlm; do
    # name | reward | T | passes per image | tag | flags
    while IFS='|' read -r name reward T passes tag flags; do
      d="$OUT/$kind-$tag"
      # shellcheck disable=SC2086
      run "$d" "$T" --checkpoint "$C/$kind.ckpt" $flags
      secs=$(jq -r '.run.seconds | floor' "$d/metrics.json")
      tail -n 1 "$d/metrics.csv" | awk -F, -v k="${kind^^}" -v n="$name" -v r="$reward" -v t="$T" \
        -v p="$passes" -v s="$secs" \
        '{ printf "| %s | %s | %s | %s | %s | %s | %.2f | %.2f | %.3f | %.3f |\n", k, n, r, t, p, s, $2, $3, $4, $5 }'
    done <<ROWS
D-CFG γ = 1 (conditional)|–|64|64|cfg1|--guidance cfg --gamma 1
D-CFG γ = 4|–|64|128|cfg4|--guidance cfg --gamma 4
SMC K = 4, λ = $LAMBDA|classifier-2|32|128|smc|--steer smc --reward classifier --particles 4 --steer-lambda $LAMBDA --reward-classifier $CLF2
best-of-4|classifier-2|32|128|best|--steer best-of-n --reward classifier --particles 4 --reward-classifier $CLF2
SVDD M = 4|classifier-2|24|120|svdd|--steer svdd --reward classifier --candidates 4 --reward-classifier $CLF2
SMC K = 4, λ = $LAMBDA, conditional base (γ = 1)|classifier-2|32|128|smc-cond|--guidance cfg --gamma 1 --steer smc --reward classifier --particles 4 --steer-lambda $LAMBDA --reward-classifier $CLF2
SMC K = 4, λ = $LAMBDA|evaluation classifier (optimistic)|32|128|smc-eval|--steer smc --reward classifier --particles 4 --steer-lambda $LAMBDA --reward-classifier $C/eval-classifier.ckpt
ROWS
  done
} > "$OUT/results.md"
jq -r '"classifier-2 held-out accuracy: \(.val_accuracy // .accuracy // "see its run folder")"' \
  "$OUT/classifier-2/summary.json" 2> /dev/null || true
cat "$OUT/results.md"
