#!/usr/bin/env bash
# Guidance and reward steering on QM9 at equal wall-clock (README "Reward steering", equal-budget
# table): every method gets the same time per 1,024 molecules, BUDGET_X (default 4) times that of
# the plain sampler at T = 32 for the same model, and spends it on as many reverse steps T as fit.
# Methods, one setting each (the middle of the ranges in scripts/qm9-steering.sh, fixed before
# this run): unguided, D-CFG γ = 2, first-order D-CBG γ = 5, SMC / FK (K = 4, λ = 30 for QED and 3 for
# ring count), SVDD (M = 4) and best-of-4; MDLM and UDLM; QED and ring count; seed 0.
#
# T per method: timed on CAL_N (default 128) molecules at T = 32, T scaled to the budget, timed
# again at that T and rescaled once more when it is off by more than 15 % (the MDLM cache makes
# time grow slower than T). The table's s / 1,024 column is the time of the final 1,024-molecule
# run, measured, not the budget.
#   scripts/qm9-budget.sh                # writes runs/qm9-budget/budget-{mdlm,udlm}-{qed,rings}.md/.png
#   BUDGET_X=8 KINDS=udlm PROPS=qed scripts/qm9-budget.sh
# Runs that already have metrics.json are kept (delete the folder to redo one); run it on an
# otherwise idle machine, since the budget is wall-clock.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --workspace --bins # all binaries: one package alone would rebuild the dependencies
B=${CARGO_TARGET_DIR:-target}/release/molecules
C=${CKPT:-checkpoints/molecules}
OUT=${OUT:-runs/qm9-budget}
N=${N:-1024}
CAL_N=${CAL_N:-128}
X=${BUDGET_X:-4}
KINDS=${KINDS:-mdlm udlm}
PROPS=${PROPS:-qed rings}
mkdir -p "$OUT"

run() { # DIR N ARGS...: one `sample` run unless it is already there
  local dir=$1 n=$2; shift 2
  [ -f "$dir/metrics.json" ] && return 0
  "$B" sample -n "$n" --seed 0 --quiet --force --out "$dir" "$@" > /dev/null < /dev/null
}
secs() { jq -r .run.seconds "$1/metrics.json"; }
# The T whose time per N molecules, measured at T0 on CAL_N molecules, scales to BUDGET seconds.
scale() { # T0 SECONDS_AT_T0_ON_CAL_N BUDGET
  awk -v t="$1" -v s="$2" -v b="$3" -v n="$N" -v c="$CAL_N" \
    'BEGIN { x = int(t * b / (s * n / c)); if (x < 4) x = 4; if (x > 1024) x = 1024; print x }'
}
off() { # SECONDS_ON_CAL_N BUDGET: 1 when more than 15 % away from the budget
  awk -v s="$1" -v b="$2" -v n="$N" -v c="$CAL_N" \
    'BEGIN { r = s * n / c / b; print (r < 0.85 || r > 1.15) ? 1 : 0 }'
}

for kind in $KINDS; do
  run "$OUT/$kind-base-32" "$N" --steps 32 --checkpoint "$C/$kind.ckpt"
  budget=$(awk -v s="$(secs "$OUT/$kind-base-32")" -v x="$X" 'BEGIN { printf "%.1f", s * x }')
  echo "$kind: budget $budget s per $N molecules ($X × the plain sampler at T = 32)"
  for prop in $PROPS; do
    p=$([ "$prop" = rings ] && echo ring_count || echo qed)
    lambda=$([ "$prop" = rings ] && echo 3 || echo 30)
    d="$OUT/$kind-$prop"
    args=()
    while IFS='|' read -r name tag flags; do
      # shellcheck disable=SC2086
      set -- $flags
      dd=$d
      [ "$tag" = unguided ] && dd="$OUT/$kind-shared" # the same runs for either property
      run "$dd/$tag-cal-32" "$CAL_N" --steps 32 "$@"
      T=$(scale 32 "$(secs "$dd/$tag-cal-32")" "$budget")
      run "$dd/$tag-cal-$T" "$CAL_N" --steps "$T" "$@"
      if [ "$(off "$(secs "$dd/$tag-cal-$T")" "$budget")" = 1 ]; then
        T=$(scale "$T" "$(secs "$dd/$tag-cal-$T")" "$budget")
      fi
      run "$dd/$tag" "$N" --steps "$T" "$@"
      args+=(--run "$name,T=$T,$dd/$tag")
      echo "  $kind $prop $name: T = $T, $(secs "$dd/$tag") s"
    done <<ROWS
unguided|unguided|--checkpoint $C/$kind.ckpt
D-CFG γ=2|cfg|--checkpoint $C/$kind-cfg-$p.ckpt --guidance cfg --gamma 2 --target 1
D-CBG (1st order) γ=5|cbg|--checkpoint $C/$kind.ckpt --guidance cbg --gamma 5 --target 1 --classifier $C/$kind-classifier-$p.ckpt
SMC K=4 λ=$lambda|smc|--checkpoint $C/$kind.ckpt --steer smc --reward $prop --particles 4 --steer-lambda $lambda
SVDD M=4|svdd|--checkpoint $C/$kind.ckpt --steer svdd --reward $prop --candidates 4
best-of-4|best|--checkpoint $C/$kind.ckpt --steer best-of-n --reward $prop --particles 4
ROWS
    "$B" plot-pareto --property "$prop" --out "$OUT/budget-$kind-$prop" "${args[@]}" > /dev/null
    echo "wrote $OUT/budget-$kind-$prop.{md,png,svg}"
  done
done
