#!/usr/bin/env bash
# Correctors against the plain ancestral sampler on MNIST as T grows (README "Guidance schedules and
# correctors on QM9", MNIST table): the shipped UNet UDLM with one forward–backward corrector step per
# step, the shipped UNet MDLM with ReMDM-cap remasking (η_cap = 0.02); unguided, 50 images per class,
# seed 0, scored with the project's evaluation classifier (FID / IS on its features).
#   scripts/mnist-samplers.sh        # writes runs/mnist-samplers/results.md
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --workspace --bins # all binaries: one package alone would rebuild the dependencies
B=${CARGO_TARGET_DIR:-target}/release/images
C=${CKPT:-checkpoints/images}
OUT=${OUT:-runs/mnist-samplers}
PER=${PER_CLASS:-50}
mkdir -p "$OUT"
run() { # DIR ARGS...
  local d=$1; shift
  [ -f "$d/metrics.csv" ] && return 0
  "$B" sample -n "$PER" --batch-size 100 --seed 0 --quiet --force --guidance none \
    --eval-classifier "$C/eval-classifier.ckpt" --out "$d" "$@" > /dev/null
}
{
  echo "| sampler | T | network passes (at most) | FID (project features) ↓ | IS (project classifier) ↑ |"
  echo "|---|---|---|---|---|"
  for s in "UDLM ancestral:udlm:" "UDLM + corrector:udlm:--corrector-steps 1" \
           "MDLM ancestral:mdlm:" "MDLM ReMDM-cap 0.02:mdlm:--remask-cap 0.02"; do
    name=${s%%:*}; rest=${s#*:}; kind=${rest%%:*}; extra=${rest#*:}
    for T in 16 32 64 128; do
      d="$OUT/$(echo "$name" | tr ' +.' '---')-$T"
      # shellcheck disable=SC2086
      run "$d" --checkpoint "$C/$kind.ckpt" --steps "$T" $extra
      factor=1
      [ "$kind" = udlm ] && [ -n "$extra" ] && factor=2
      passes=$((T * factor))
      tail -n 1 "$d/metrics.csv" | awk -F, -v n="$name" -v t="$T" -v p="$passes" \
        '{ printf "| %s | %s | %s | %.2f | %.2f |\n", n, t, p, $2, $3 }'
    done
  done
} > "$OUT/results.md"
cat "$OUT/results.md"
