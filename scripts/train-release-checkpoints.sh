#!/usr/bin/env bash
# Train the small checkpoints shipped in checkpoints/ (fixed seeds in the configs), so every
# `demo` can sample at once and users can fine-tune them (`train --init-from`).
#   scripts/train-release-checkpoints.sh            # all molecules models
#   ONLY="udlm udlm-classifier-qed" scripts/train-release-checkpoints.sh
# Runs go to runs/release/<name>; the weights-only model.ckpt of each is copied to
# checkpoints/molecules/<name>.ckpt. About 30 min on a 2-core CPU.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p molecules
BIN=$(mktemp -d)/molecules
cp "${CARGO_TARGET_DIR:-target}/release/molecules" "$BIN"
OUT=checkpoints/molecules
mkdir -p "$OUT" runs/release

train() { # name subcommand config [overrides...]
  local name=$1 cmd=$2 config=$3; shift 3
  if [ -n "${ONLY:-}" ] && [[ " $ONLY " != *" $name "* ]]; then return; fi
  rm -rf "runs/release/$name"
  "$BIN" "$cmd" --config "$config" --run-dir "runs/release/$name" "$@"
  cp "runs/release/$name/model.ckpt" "$OUT/$name.ckpt"
}

for kind in mdlm udlm; do
  noise=$([ $kind = mdlm ] && echo absorbing || echo uniform)
  train "$kind" train "configs/qm9-$kind.toml"
  for p in qed ring_count; do
    train "$kind-cfg-$p" train "configs/qm9-$kind.toml" --label "$p"
    train "$kind-classifier-$p" train-classifier configs/qm9-classifier.toml --label "$p" \
      --set "classifier.noise=\"$noise\""
  done
done
train ar train configs/qm9-ar.toml
train udlm-selfies train configs/qm9-udlm-selfies.toml
ls -la "$OUT"
