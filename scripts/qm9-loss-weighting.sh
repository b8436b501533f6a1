#!/usr/bin/env bash
# Does the NELBO's gradient variance matter on QM9 (issue 20; the text models train only with plain
# cross-entropy at batch 16)? MDLM and UDLM at the first release's budget (batch 128, 1,500 steps),
# each trained three ways: the NELBO with antithetic times (the default), the NELBO with i.i.d.
# times, and plain cross-entropy −log x_θ[x] (diffusion.simple_ce, spec §4.5). Validation is the
# NELBO for all. The two NELBO variants are trained again with a second seed, to see how far one
# seed's numbers can be trusted.
#   scripts/qm9-loss-weighting.sh     # → runs/qm9-loss-weighting/results.md (≈ 45–70 min on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/.."
export OUT=${OUT:-runs/qm9-loss-weighting}
export RUNS="mdlm-nelbo=configs/qm9-mdlm.toml \
mdlm-nelbo-iid=configs/qm9-mdlm.toml+diffusion.antithetic=false \
mdlm-ce=configs/qm9-mdlm.toml+diffusion.simple_ce=true \
udlm-nelbo=configs/qm9-udlm.toml \
udlm-nelbo-iid=configs/qm9-udlm.toml+diffusion.antithetic=false \
udlm-ce=configs/qm9-udlm.toml+diffusion.simple_ce=true \
mdlm-nelbo-seed2=configs/qm9-mdlm.toml+train.seed=2 \
mdlm-nelbo-iid-seed2=configs/qm9-mdlm.toml+diffusion.antithetic=false+train.seed=2 \
udlm-nelbo-seed2=configs/qm9-udlm.toml+train.seed=2 \
udlm-nelbo-iid-seed2=configs/qm9-udlm.toml+diffusion.antithetic=false+train.seed=2"
exec scripts/qm9-short-runs.sh
