#!/usr/bin/env bash
# Reward steering against the paper's guidance on QM9 (README "Reward steering"): for MDLM and
# UDLM and for QED and ring-count maximisation, 1,024 molecules per run (T = 32, seed 0) from
# unguided sampling, D-CFG, first-order D-CBG, SMC / FK steering, SVDD and best-of-N, each with its
# wall-clock time, then a Pareto table and plot per model and property (property of novel
# molecules against the valid × novel fraction).
#   scripts/qm9-steering.sh                         # writes runs/qm9-steering/*.md and *.png
#   KINDS=mdlm PROPS=qed scripts/qm9-steering.sh    # a subset
# Runs that already have metrics.json are kept (delete the folder to redo one); time them on an
# otherwise idle machine.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --workspace --bins # all binaries: one package alone would rebuild the dependencies
B=${CARGO_TARGET_DIR:-target}/release/molecules
C=${CKPT:-checkpoints/molecules}
OUT=${OUT:-runs/qm9-steering}
N=${N:-1024}
KINDS=${KINDS:-mdlm udlm}
PROPS=${PROPS:-qed rings}
mkdir -p "$OUT"

run() { # DIR ARGS...: one `sample` run unless it is already there
  local dir=$1; shift
  [ -f "$dir/metrics.json" ] && return 0
  "$B" sample -n "$N" --steps 32 --seed 0 --quiet --force --out "$dir" "$@" > /dev/null
}

for kind in $KINDS; do
  for prop in $PROPS; do
    p=$([ "$prop" = rings ] && echo ring_count || echo qed)
    # λ on the reward's scale: QED lies in [0, 1], ring counts are small integers.
    lambdas=$([ "$prop" = rings ] && echo "1 3 10" || echo "10 30 100")
    d="$OUT/$kind-$prop"
    args=()
    run "$d/unguided" --checkpoint "$C/$kind.ckpt"
    args+=(--run "unguided,-,$d/unguided")
    for g in 1 2 3; do
      run "$d/cfg-$g" --checkpoint "$C/$kind-cfg-$p.ckpt" --guidance cfg --gamma "$g" --target 1
      args+=(--run "D-CFG,γ=$g,$d/cfg-$g")
    done
    for g in 1 3 5; do
      run "$d/cbg-$g" --checkpoint "$C/$kind.ckpt" --guidance cbg --gamma "$g" --target 1 \
        --classifier "$C/$kind-classifier-$p.ckpt"
      args+=(--run "D-CBG (1st order),γ=$g,$d/cbg-$g")
    done
    for l in $lambdas; do
      run "$d/smc-$l" --checkpoint "$C/$kind.ckpt" --steer smc --reward "$prop" --particles 4 --steer-lambda "$l"
      args+=(--run "SMC K=4,λ=$l,$d/smc-$l")
    done
    for m in 2 4; do
      run "$d/svdd-$m" --checkpoint "$C/$kind.ckpt" --steer svdd --reward "$prop" --candidates "$m"
      args+=(--run "SVDD,M=$m,$d/svdd-$m")
    done
    for k in 2 4; do
      run "$d/best-$k" --checkpoint "$C/$kind.ckpt" --steer best-of-n --reward "$prop" --particles "$k"
      args+=(--run "best-of-N,N=$k,$d/best-$k")
    done
    "$B" plot-pareto --property "$prop" --out "$OUT/pareto-$kind-$prop" "${args[@]}" > /dev/null
    echo "wrote $OUT/pareto-$kind-$prop.{md,png,svg}"
  done
done
