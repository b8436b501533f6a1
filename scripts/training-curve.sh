#!/usr/bin/env bash
# Validation curve of one or more run folders against training time, as a Markdown table:
# step, hours of training (summed from each step's tokens and measured tokens/s, so pauses and
# resumes do not count), validation NELBO and perplexity, for every validation row of metrics.csv.
#   scripts/training-curve.sh runs/long/qm9-mdlm runs/long/qm9-udlm
# The tokens per step are read from the run's config.toml (train.batch_size × data.seq_len, or
# × (data.windows.length + 1) for genomics).
# CONTINUE=1: each run continues the one before it (`--init-from` its weights), so its steps and hours
# are counted on from where that run ended and the rows read as one curve:
#   CONTINUE=1 scripts/training-curve.sh runs/long/qm9-udlm runs/long/qm9-udlm-2
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 RUN_DIR [RUN_DIR…]" >&2; exit 2; }
echo "| run | step | hours | val NELBO (nats/token) | val PPL |"
echo "|---|---|---|---|---|"
step0=0 hours0=0
for run in "$@"; do
  [ -f "$run/metrics.csv" ] || { echo "$run: no metrics.csv" >&2; exit 1; }
  bsz=$(awk -F' *= *' '/^\[train\]/{s=1; next} /^\[/{s=0} s && $1=="batch_size"{print $2}' "$run/config.toml")
  len=$(awk -F' *= *' '/^\[data\]/{s=1; next} /^\[/{s=0} s && $1=="seq_len"{print $2}' "$run/config.toml")
  # Genomics: [BOS] + a window of data.windows.length bases.
  [ -n "$len" ] || len=$(awk -F' *= *' '/^\[data.windows\]/{s=1; next} /^\[/{s=0} s && $1=="length"{print $2 + 1}' "$run/config.toml")
  [ -n "$bsz" ] && [ -n "$len" ] || { echo "$run/config.toml: no train.batch_size or data.seq_len" >&2; exit 1; }
  out=$(awk -F, -v name="$(basename "$run")" -v tok=$((bsz * len)) -v step0="$step0" -v hours0="$hours0" '
    $1 == "train" && $6 > 0 { secs += tok / $6; last = $2 }
    $1 == "val" { printf "| %s | %d | %.2f | %.4f | %.3f |\n", name, step0 + $2, hours0 + secs / 3600, $7, $8 }
    END { printf "#END %d %.6f\n", step0 + last, hours0 + secs / 3600 }
  ' "$run/metrics.csv")
  grep -v '^#END' <<< "$out"
  if [ "${CONTINUE:-0}" = 1 ]; then
    read -r _ step0 hours0 < <(grep '^#END' <<< "$out")
  fi
done
