#!/usr/bin/env bash
# Sampler choices on QM9 (README "Guidance schedules and correctors, measured"), 1,024 molecules per
# run, seed 0, from the shipped checkpoints:
#   1. γ schedules for UDLM (uniform noise, the setting of Rojas et al.'s "late guidance"): D-CFG γ = 3
#      and first-order D-CBG γ = 5 towards high QED under constant, ramp, late:0.5 and late:0.25;
#   2. correctors against the plain ancestral sampler as T grows, T = 16 … 256: UDLM with one
#      forward–backward corrector step per step and with two Ψ-samplers (spec §5.4: Duo's recipe κ = 0.95
#      on t ∈ (0.1, 0.5], and max-capped η = 0.02 everywhere); MDLM with ReMDM-cap remasking
#      (η_cap = 0.02, the same step as Ψ max-capped-0.02) and Duo's MDLM recipe (κ = 0.99 on t ∈ (0.1, 1]).
#      The Ψ settings were chosen on seed 1 (512 molecules, T = 64) among nine; the table uses seed 0.
#   scripts/qm9-samplers.sh          # writes runs/qm9-samplers/{schedules,correctors}.md
# Runs that already have metrics.json are kept (delete the folder to redo one); time them on an
# otherwise idle machine.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --workspace --bins # all binaries: one package alone would rebuild the dependencies
B=${CARGO_TARGET_DIR:-target}/release/molecules
C=${CKPT:-checkpoints/molecules}
OUT=${OUT:-runs/qm9-samplers}
N=${N:-1024}
mkdir -p "$OUT"

run() { # DIR ARGS...: one `sample` run unless it is already there
  local dir=$1; shift
  [ -f "$dir/metrics.json" ] && return 0
  "$B" sample -n "$N" --seed 0 --quiet --force --out "$dir" "$@" > /dev/null
}

args=()
for sched in constant ramp late:0.5 late:0.25; do
  tag=${sched/:/-}
  run "$OUT/udlm-cfg3-$tag" --steps 32 --checkpoint "$C/udlm-cfg-qed.ckpt" --guidance cfg --gamma 3 \
    --gamma-schedule "$sched" --target 1
  args+=(--run "UDLM D-CFG γ=3,$sched,$OUT/udlm-cfg3-$tag")
done
for sched in constant ramp late:0.5 late:0.25; do
  tag=${sched/:/-}
  run "$OUT/udlm-cbg5-$tag" --steps 32 --checkpoint "$C/udlm.ckpt" --guidance cbg --gamma 5 \
    --classifier "$C/udlm-classifier-qed.ckpt" --gamma-schedule "$sched" --target 1
  args+=(--run "UDLM D-CBG γ=5,$sched,$OUT/udlm-cbg5-$tag")
done
"$B" plot-pareto --property qed --out "$OUT/schedules" "${args[@]}" > /dev/null

args=()
TS=(16 32 64 128 256)
for T in "${TS[@]}"; do
  run "$OUT/udlm-anc-$T" --steps "$T" --checkpoint "$C/udlm.ckpt"
  run "$OUT/udlm-pc-$T" --steps "$T" --checkpoint "$C/udlm.ckpt" --corrector-steps 1
  run "$OUT/udlm-psi95-$T" --steps "$T" --checkpoint "$C/udlm.ckpt" --psi constant-0.95 --psi-window 0.5,0.9
  run "$OUT/udlm-psicap-$T" --steps "$T" --checkpoint "$C/udlm.ckpt" --psi max-capped-0.02
  run "$OUT/mdlm-anc-$T" --steps "$T" --checkpoint "$C/mdlm.ckpt"
  run "$OUT/mdlm-remdm-$T" --steps "$T" --checkpoint "$C/mdlm.ckpt" --remask-cap 0.02
  run "$OUT/mdlm-psi99-$T" --steps "$T" --checkpoint "$C/mdlm.ckpt" --psi constant-0.99 --psi-window 0,0.9
done
for s in "UDLM ancestral:udlm-anc" "UDLM + corrector:udlm-pc" "UDLM Ψ κ=0.95 window 0.5–0.9:udlm-psi95" \
         "UDLM Ψ max-capped 0.02:udlm-psicap" "MDLM ancestral:mdlm-anc" "MDLM ReMDM-cap 0.02:mdlm-remdm" \
         "MDLM Ψ κ=0.99 window 0–0.9:mdlm-psi99"; do
  for T in "${TS[@]}"; do
    args+=(--run "${s%%:*},T=$T,$OUT/${s##*:}-$T")
  done
done
"$B" plot-pareto --property qed --out "$OUT/correctors" "${args[@]}" > /dev/null
echo "wrote $OUT/schedules.md and $OUT/correctors.md (with .png/.svg)"
