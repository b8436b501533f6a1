#!/usr/bin/env bash
# Hybrid noise (GIDD, spec §2.5) against MDLM and UDLM on QM9 at equal budget: the three models of
# configs/qm9-{mdlm,udlm,gidd}.toml (same DiT 96 hidden / 3 blocks, 1,500 steps of batch 128, seed 1;
# the first release's budget) are trained here, then each gets its held-out perplexity and 1,024
# unguided samples (seed 0) at T = 32 and T = 128.
#   scripts/qm9-gidd.sh                 # → runs/qm9-gidd/results.md (≈ 20–30 min on 2 cores)
#   RETRAIN=1 scripts/qm9-gidd.sh       # train again even where runs/qm9-gidd/<kind>/model.ckpt exists
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --workspace --bins # all binaries: one package alone would rebuild the dependencies
BIN=$(mktemp -d)/molecules # a private copy, so rebuilding meanwhile does not touch the runs
cp "${CARGO_TARGET_DIR:-target}/release/molecules" "$BIN"
OUT=${OUT:-runs/qm9-gidd}
N=${N:-1024}
KINDS=${KINDS:-mdlm udlm gidd}
mkdir -p "$OUT"

for k in $KINDS; do
  if [ -n "${RETRAIN:-}" ] || [ ! -f "$OUT/$k/model.ckpt" ]; then
    rm -rf "${OUT:?}/$k"
    mkdir -p "$OUT"; "$BIN" train --config "configs/qm9-$k.toml" --run-dir "$OUT/$k" > "$OUT/$k.train.log" 2>&1
  fi
done

MD="$OUT/results.md"
{
  echo "| model | NELBO | PPL | T = 32: valid % | unique % | novel % | QED (novel) | T = 128: valid % | novel % |"
  echo "|---|---|---|---|---|---|---|---|---|"
  for k in $KINDS; do
    ck="$OUT/$k/model.ckpt"
    ppl=$("$BIN" validate --checkpoint "$ck" --markdown-row x | awk -F'|' '{print $3 "|" $4}')
    for t in 32 128; do
      "$BIN" sample --checkpoint "$ck" -n "$N" --steps "$t" --quiet --force --out "$OUT/$k-T$t" > /dev/null
    done
    paste -d, <(tail -n 1 "$OUT/$k-T32/metrics.csv") <(tail -n 1 "$OUT/$k-T128/metrics.csv") |
      awk -F, -v k="$k" -v p="$ppl" -v n="$(head -1 "$OUT/$k-T32/metrics.csv" | tr ',' '\n' | wc -l)" \
        '{ printf "| %s |%s| %.1f | %.1f | %.1f | %.3f | %.1f | %.1f |\n", k, p, 100*$2, 100*$3, 100*$4, $7, 100*$(n+2), 100*$(n+4) }'
  done
} > "$MD"
cat "$MD"
