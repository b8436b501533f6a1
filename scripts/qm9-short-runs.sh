#!/usr/bin/env bash
# Equal-budget QM9 comparisons at the first release's budget (DiT 96 hidden / 3 blocks, 1,500 steps
# of batch 128, seed 1; 3–8 min per model on 2 cores): each named run is trained here from a config
# plus overrides, then gets its held-out perplexity and 1,024 unguided samples (seed 0) at T = 32
# and T = 128, in one table.
#   RUNS="name=config[+key=value…] …" OUT=runs/x scripts/qm9-short-runs.sh
#   scripts/qm9-gidd.sh and scripts/qm9-loss-weighting.sh call it with their runs.
# A run whose model.ckpt exists is kept (RETRAIN=1 trains again).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --workspace --bins # all binaries: one package alone would rebuild the dependencies
BIN=$(mktemp -d)/molecules # a private copy, so rebuilding meanwhile does not touch the runs
cp "${CARGO_TARGET_DIR:-target}/release/molecules" "$BIN"
: "${RUNS:?RUNS=\"name=config[+key=value…] …\"}"
: "${OUT:?OUT=runs/…}"
N=${N:-1024}
mkdir -p "$OUT"

for spec in $RUNS; do
  name=${spec%%=*}
  rest=${spec#*=}
  IFS='+' read -r -a parts <<< "$rest"
  config=${parts[0]}
  sets=()
  for o in "${parts[@]:1}"; do sets+=(--set "$o"); done
  if [ -n "${RETRAIN:-}" ] || [ ! -f "$OUT/$name/model.ckpt" ]; then
    rm -rf "${OUT:?}/$name"
    "$BIN" train --config "$config" "${sets[@]}" --run-dir "$OUT/$name" > "$OUT/$name.train.log" 2>&1
  fi
done

MD="$OUT/results.md"
{
  echo "| model | NELBO | PPL | T = 32: valid % | unique % | novel % | QED (novel) | T = 128: valid % | novel % |"
  echo "|---|---|---|---|---|---|---|---|---|"
  for spec in $RUNS; do
    k=${spec%%=*}
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
