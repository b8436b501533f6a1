#!/usr/bin/env bash
# Samplers against the plain ancestral sampler on MNIST as T grows (README "Guidance schedules and
# correctors on QM9", MNIST table): the shipped UNet UDLM with one forward–backward corrector step per
# step and with two Ψ-samplers (spec §5.4: Duo's image recipe κ = 0.95 on the steps t ∈ (0.1, 0.5], and
# max-capped η = 0.02 everywhere), the shipped UNet MDLM with ReMDM-cap remasking (η_cap = 0.02, which
# is Ψ max-capped-0.02) and with Duo's MDLM recipe (κ = 0.99 on t ∈ (0.1, 1]); T = 16 … 256, unguided,
# 50 images per class, seed 0, scored with the project's evaluation classifier (FID / IS on its
# features).
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
    --eval-classifier "$C/eval-classifier.ckpt" --out "$d" "$@" > /dev/null < /dev/null
}
{
  echo "| sampler | T | network passes (at most) | FID (project features) ↓ | IS (project classifier) ↑ |"
  echo "|---|---|---|---|---|"
  # name | model | run-folder tag | extra flags
  while IFS='|' read -r name kind tag extra; do
    for T in 16 32 64 128 256; do
      d="$OUT/$tag-$T"
      # shellcheck disable=SC2086
      run "$d" --checkpoint "$C/$kind.ckpt" --steps "$T" $extra
      factor=1
      [ "$kind" = udlm ] && [ "$tag" = UDLM---corrector ] && factor=2
      passes=$((T * factor))
      tail -n 1 "$d/metrics.csv" | awk -F, -v n="$name" -v t="$T" -v p="$passes" \
        '{ printf "| %s | %s | %s | %.2f | %.2f |\n", n, t, p, $2, $3 }'
    done
  done <<'ROWS'
UDLM ancestral|udlm|UDLM-ancestral|
UDLM + corrector|udlm|UDLM---corrector|--corrector-steps 1
UDLM Ψ κ=0.95 window 0.5–0.9|udlm|UDLM-psi-0.95|--psi constant-0.95 --psi-window 0.5,0.9
UDLM Ψ max-capped 0.02|udlm|UDLM-psi-capped-0.02|--psi max-capped-0.02
MDLM ancestral|mdlm|MDLM-ancestral|
MDLM ReMDM-cap 0.02|mdlm|MDLM-ReMDM-cap-0-02|--remask-cap 0.02
MDLM Ψ κ=0.99 window 0–0.9|mdlm|MDLM-psi-0.99|--psi constant-0.99 --psi-window 0,0.9
ROWS
} > "$OUT/results.md"
cat "$OUT/results.md"
