#!/usr/bin/env bash
# Train the small checkpoints shipped in checkpoints/ (fixed seeds in the configs), so every
# `demo` can sample at once and users can fine-tune them (`train --init-from`).
#   scripts/train-release-checkpoints.sh                 # every domain
#   DOMAINS=genomics scripts/train-release-checkpoints.sh
#   ONLY="udlm udlm-classifier-qed" scripts/train-release-checkpoints.sh
# Runs go to runs/release/<name>; the weights-only model.ckpt of each is copied to
# checkpoints/<domain>/<name>.ckpt. About 30 min per domain on a 2-core CPU.
set -euo pipefail
cd "$(dirname "$0")/.."
DOMAINS=${DOMAINS:-"molecules genomics"}
mkdir -p runs/release

binary() { # domain → path of a private copy of its release binary
  cargo build --release -p "$1" >&2
  local bin
  bin=$(mktemp -d)/$1
  cp "${CARGO_TARGET_DIR:-target}/release/$1" "$bin"
  echo "$bin"
}

train() { # name subcommand config [overrides...]
  local name=$1 cmd=$2 config=$3; shift 3
  if [ -n "${ONLY:-}" ] && [[ " $ONLY " != *" $name "* ]]; then return; fi
  rm -rf "runs/release/$name"
  "$BIN" "$cmd" --config "$config" --run-dir "runs/release/$name" "$@"
  cp "runs/release/$name/model.ckpt" "$OUT/$name.ckpt"
}

if [[ " $DOMAINS " == *" molecules "* ]]; then
BIN=$(binary molecules)
OUT=checkpoints/molecules
mkdir -p "$OUT"

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
fi

if [[ " $DOMAINS " == *" genomics "* ]]; then
BIN=$(binary genomics)
OUT=checkpoints/genomics
mkdir -p "$OUT"
train species-oracle train-classifier configs/species-oracle.toml
for kind in udlm mdlm; do
  noise=$([ $kind = mdlm ] && echo absorbing || echo uniform)
  train "species-$kind" train "configs/species-$kind.toml"
  train "species-classifier-$noise" train-classifier "configs/species-classifier-$noise.toml"
done
train species-ar train configs/species-ar.toml
ls -la "$OUT"
fi
