#!/usr/bin/env bash
# Train the small checkpoints shipped in checkpoints/ (fixed seeds in the configs), so every
# `demo` can sample at once and users can fine-tune them (`train --init-from`).
#   scripts/train-release-checkpoints.sh                 # every domain
#   DOMAINS=genomics scripts/train-release-checkpoints.sh
#   ONLY="udlm udlm-classifier-qed" scripts/train-release-checkpoints.sh
# Runs go to runs/release/<domain>/<name>; the weights-only model.ckpt of each is written to
# checkpoints/<domain>/<name>.ckpt, for molecules and text with its weights in f16
# (`gdd-checkpoint to-f16`: half the size; loading widens them back to f32), for genomics in f32.
# About 30 min per domain on a 2-core CPU (text: 30–40 min on 2 cores shared with other jobs),
# except the molecules MDLM and UDLM: long runs (model-best.ckpt shipped), ≈ 1 h 50 each when two
# share 2 cores (ONLY=mdlm THREADS=1 … & ONLY=udlm THREADS=1 … &), longer one after the other.
set -euo pipefail
cd "$(dirname "$0")/.."
DOMAINS=${DOMAINS:-"molecules genomics text"}
mkdir -p runs/release

# The converter, built once (a private copy, like the domain binaries).
cargo build --release --workspace --bins >&2 # the whole workspace, as every script builds it (one package alone rebuilds the dependencies)
CKPT=$(mktemp -d)/gdd-checkpoint
cp "${CARGO_TARGET_DIR:-target}/release/gdd-checkpoint" "$CKPT"

binary() { # domain → path of a private copy of its release binary
  cargo build --release --workspace --bins >&2
  local bin
  bin=$(mktemp -d)/$1
  cp "${CARGO_TARGET_DIR:-target}/release/$1" "$bin"
  echo "$bin"
}

train() { # name subcommand config [overrides...]
  local name=$1 cmd=$2 config=$3; shift 3
  if [ -n "${ONLY:-}" ] && [[ " $ONLY " != *" $name "* ]]; then return; fi
  local run="runs/release/${OUT#checkpoints/}/$name"
  rm -rf "$run"
  "$BIN" "$cmd" --config "$config" --run-dir "$run" "$@"
  case $DTYPE in
    f16) "$CKPT" to-f16 "$run/model.ckpt" "$OUT/$name.ckpt" ;;
    f32) cp "$run/model.ckpt" "$OUT/$name.ckpt" ;;
  esac
}

long() { # name config: an hours-long run (scripts/train-long.sh; resumes if interrupted), whose
  # best-by-validation EMA weights are shipped
  local name=$1 config=$2
  if [ -n "${ONLY:-}" ] && [[ " $ONLY " != *" $name "* ]]; then return; fi
  local run="runs/release/${OUT#checkpoints/}/$name"
  scripts/train-long.sh "${BIN##*/}" "$config" "$run"
  "$CKPT" to-f16 "$run/model-best.ckpt" "$OUT/$name.ckpt"
}

if [[ " $DOMAINS " == *" molecules "* ]]; then
BIN=$(binary molecules)
OUT=checkpoints/molecules
DTYPE=f16
mkdir -p "$OUT"

for kind in mdlm udlm; do
  noise=$([ $kind = mdlm ] && echo absorbing || echo uniform)
  # The unconditional MDLM / UDLM: configs/qm9-release-*.toml, ≈ 1 h 50 each on one core
  # (THREADS=1 and two at once is how the shipped ones were made: see README "Results (QM9)").
  long "$kind" "configs/qm9-release-$kind.toml"
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
DTYPE=f16 # the results tables are made from the f16 files
mkdir -p "$OUT"
# The evaluation oracle: 12,000 steps, ≈ 2 h on 2 cores (configs/species-oracle.toml is the
# 1,500-step version, ≈ 10 min, held-out accuracy 0.33 against 0.58).
train species-oracle train-classifier configs/species-release-oracle.toml
for kind in udlm mdlm; do
  noise=$([ $kind = mdlm ] && echo absorbing || echo uniform)
  train "species-$kind" train "configs/species-$kind.toml"
  train "species-classifier-$noise" train-classifier "configs/species-classifier-$noise.toml"
done
train species-ar train configs/species-ar.toml
ls -la "$OUT"
fi

if [[ " $DOMAINS " == *" text "* ]]; then
BIN=$(binary text)
OUT=checkpoints/text
DTYPE=f16
mkdir -p "$OUT"
for kind in ar mdlm udlm; do
  train "$kind" train "configs/text8-release-$kind.toml"
done
ls -la "$OUT"
fi
