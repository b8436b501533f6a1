#!/usr/bin/env bash
# Hybrid noise (GIDD, spec §2.5) against MDLM and UDLM on QM9 at equal budget: the three models of
# configs/qm9-{mdlm,udlm,gidd}.toml (same DiT 96 hidden / 3 blocks, 1,500 steps of batch 128, seed 1;
# the first release's budget) are trained here, then each gets its held-out perplexity and 1,024
# unguided samples (seed 0) at T = 32 and T = 128.
#   scripts/qm9-gidd.sh                 # → runs/qm9-gidd/results.md (≈ 15–25 min on 2 cores)
#   RETRAIN=1 scripts/qm9-gidd.sh       # train again even where runs/qm9-gidd/<kind>/model.ckpt exists
set -euo pipefail
cd "$(dirname "$0")/.."
export OUT=${OUT:-runs/qm9-gidd}
export RUNS="mdlm=configs/qm9-mdlm.toml udlm=configs/qm9-udlm.toml gidd=configs/qm9-gidd.toml"
exec scripts/qm9-short-runs.sh
