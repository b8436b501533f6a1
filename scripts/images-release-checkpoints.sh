#!/usr/bin/env bash
# Train, with the fixed seeds of the configs, the models that `images demo` and
# scripts/mnist-results.sh use, and copy their weights-only `model.ckpt` (EMA) into
# checkpoints/images/<name>.ckpt with the run's summary as <name>.summary.json:
#   eval-classifier  clean DiT classifier (configs/mnist-eval-classifier.toml): FID / IS features, accuracy
#   mdlm, udlm       class-conditional UNet generators (configs/mnist-{mdlm,udlm}-unet.toml)
# The demo samples with D-CFG only, so no noisy (D-CBG) classifier is shipped.
# Runs the three trainings in parallel (≈ 20 min on 2 cores at the default 2,500 generator steps).
#   scripts/images-release-checkpoints.sh                 # STEPS=2500 OUT=runs/images-release
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --workspace --bins # all binaries: one package alone would rebuild the dependencies
B=${CARGO_TARGET_DIR:-target}/release/images
OUT=${OUT:-runs/images-release}
STEPS=${STEPS:-2500}
DEST=checkpoints/images
BUDGET_BYTES=$((4 * 1024 * 1024))
rm -rf "$OUT"
mkdir -p "$OUT" "$DEST"

"$B" train-classifier --config configs/mnist-eval-classifier.toml --run-dir "$OUT/eval-classifier" \
  > "$OUT/eval-classifier.log" 2>&1 &
p0=$!
"$B" train --config configs/mnist-mdlm-unet.toml --steps "$STEPS" --run-dir "$OUT/mdlm" > "$OUT/mdlm.log" 2>&1 &
p1=$!
"$B" train --config configs/mnist-udlm-unet.toml --steps "$STEPS" --run-dir "$OUT/udlm" > "$OUT/udlm.log" 2>&1 &
p2=$!
status=0
for p in $p0 $p1 $p2; do wait "$p" || status=1; done
for name in eval-classifier mdlm udlm; do tail -n 1 "$OUT/$name.log"; done
if [ "$status" -ne 0 ]; then
  echo "a training run failed; logs in $OUT/*.log" >&2
  exit 1
fi

for name in eval-classifier mdlm udlm; do
  cp "$OUT/$name/model.ckpt" "$DEST/$name.ckpt"
  cp "$OUT/$name/summary.json" "$DEST/$name.summary.json"
done
total=$(cat "$DEST"/*.ckpt | wc -c)
ls -l "$DEST"
echo "checkpoints/images: $total bytes"
if [ "$total" -gt "$BUDGET_BYTES" ]; then
  echo "over the 4 MB budget for images checkpoints" >&2
  exit 1
fi
