#!/usr/bin/env bash
# Scaling probe for the long QM9 runs (issue 20): the long-run MDLM config (configs/qm9-release-mdlm.toml)
# at 2–3 model sizes, each trained for about the same wall-clock time (steps set from each size's
# throughput; the cosine schedule completes in every run), then validation NELBO against hours of
# training for all of them in one table (scripts/training-curve.sh: hours summed from each step's
# tokens and measured tokens/s). Run it alone on the machine: the hours are measured.
#   OUT=runs/scaling scripts/qm9-scaling-probe.sh                      # 96x3, 128x4, 192x4, ≈ 10 min each on 2 cores
#   SIZES="96x3:3000 128x4:1750" THREADS=2 OUT=runs/scaling scripts/qm9-scaling-probe.sh
# SIZES lists hidden x blocks : steps. A size whose model.ckpt exists is kept (RETRAIN=1 trains again).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p molecules
BIN=$(mktemp -d)/molecules # a private copy, so rebuilding meanwhile does not touch the runs
cp "${CARGO_TARGET_DIR:-target}/release/molecules" "$BIN"
: "${OUT:?OUT=runs/…}"
SIZES=${SIZES:-"96x3:3000 128x4:1750 192x4:900"}
export RAYON_NUM_THREADS=${THREADS:-2}
mkdir -p "$OUT"
runs=()
for spec in $SIZES; do
  size=${spec%%:*} steps=${spec#*:}
  hidden=${size%%x*} blocks=${size#*x}
  dir="$OUT/h${hidden}-b${blocks}"
  runs+=("$dir")
  if [ -n "${RETRAIN:-}" ] || [ ! -f "$dir/model.ckpt" ]; then
    rm -rf "${dir:?}"
    "$BIN" train --config configs/qm9-release-mdlm.toml --run-dir "$dir" \
      --set model.hidden_size="$hidden" --set model.n_blocks="$blocks" \
      --set train.steps="$steps" --set train.val_every=250 --set train.checkpoint_every=250 \
      > "$dir.train.log" 2>&1
  fi
done
{
  echo "QM9 MDLM scaling probe: $SIZES, RAYON_NUM_THREADS=$RAYON_NUM_THREADS, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
  echo
  scripts/training-curve.sh "${runs[@]}"
} | tee "$OUT/results.md"
