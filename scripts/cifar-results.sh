#!/usr/bin/env bash
# CIFAR-10 rows of the README (Images): the class-conditional MDLM and UDLM UNets and the
# evaluation classifier of configs/cifar16-*.toml (16×16, 8 colour levels per channel), trained by
#   D=/path/to/cifar10   # the JPEG pack of datasets/images/PROVENANCE.md
#   THREADS=1 scripts/train-long.sh images configs/cifar16-udlm-unet.toml runs/long/cifar16-udlm --set data.path=$D
#   THREADS=1 scripts/train-long.sh images configs/cifar16-mdlm-unet.toml runs/long/cifar16-mdlm --set data.path=$D
#   COMMAND=train-classifier THREADS=1 scripts/train-long.sh images configs/cifar16-eval-classifier.toml runs/long/cifar16-eval --set data.path=$D
# and scored like the MNIST tables (scripts/mnist-results.sh): (a) unguided vs D-CFG γ = 4 at
# T = 128, (b) D-CFG γ = 1 at T ∈ {16, 32, 128}, 50 images per class per row.
#   scripts/cifar-results.sh        # writes runs/cifar16-results/results.md
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-runs/long}
OUT=${OUT:-runs/cifar16-results}
M="$OUT/models"
mkdir -p "$M"
for k in mdlm udlm; do
  cp "$RUNS/cifar16-$k/model-best.ckpt" "$M/$k.ckpt"
done
cp "$RUNS/cifar16-eval/model.ckpt" "$M/eval-classifier.ckpt"
CKPT="$M" OUT="$OUT" PER_CLASS=${PER_CLASS:-50} \
  SETTING="CIFAR-10 train split at 16×16 (2×2 average-pooled) with 8 levels per colour channel (L = 768; 49,000 train / 1,000 validation)" \
  scripts/mnist-results.sh
