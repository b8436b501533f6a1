#!/usr/bin/env bash
# Train one model for hours, in the background, surviving interruptions.
#
#   scripts/train-long.sh DOMAIN CONFIG RUN_DIR [extra train arguments…]
#   nohup scripts/train-long.sh molecules configs/qm9-release-mdlm.toml runs/long/qm9-mdlm &
#
# Starts the run, or resumes it from RUN_DIR/checkpoints/last.ckpt when that exists, so the same
# command continues after a reboot, a `kill`, or the end of a session (rerun it with `runs/`
# kept). Every random draw of step k is derived from (seed, k), so a run stopped and resumed any
# number of times gives the losses and weights of the uninterrupted run; metrics rows written
# after the last checkpoint are dropped on resume. A crash (non-zero exit other than a stop
# signal) is retried from the last checkpoint up to RETRIES times (default 3).
#
# The run folder holds the usual files (config.toml, metrics.csv/jsonl, checkpoints/last.ckpt,
# model.ckpt at the end) plus model-best.ckpt, the EMA weights with the best validation NELBO so
# far, and train.log, the log of every attempt. Set THREADS (default: all cores) to share the
# machine, e.g. THREADS=1 for two runs side by side on 2 cores. COMMAND=train-classifier trains a
# classifier (e.g. the species oracle) the same way.
# `--set`, `--steps` etc. may follow RUN_DIR; they must be the same on every call (the resumed
# run takes its optimiser settings from the checkpoint and its step count from the config).
set -uo pipefail
cd "$(dirname "$0")/.."
if [ $# -lt 3 ]; then
  sed -n '2,4p' "$0" >&2
  exit 2
fi
DOMAIN=$1 CONFIG=$2 RUN=$3
shift 3
[ -f "$CONFIG" ] || { echo "train-long: no config file $CONFIG" >&2; exit 2; }
RETRIES=${RETRIES:-3}
mkdir -p "$RUN"
LOG="$RUN/train.log"

# A private copy of the release binary, so rebuilding meanwhile does not touch the running
# program. The whole workspace is built: one package alone unifies features differently and
# would rebuild the dependencies.
# With BIN_FROM=path, that binary is copied instead (no build), e.g. to keep training with the
# binary of a clean tree while the sources are being edited.
TARGET=${CARGO_TARGET_DIR:-target}
if [ -n "${BIN_FROM:-}" ]; then
  SRC=$BIN_FROM
else
  cargo build --release --workspace --bins >>"$LOG" 2>&1 || { echo "train-long: build failed, see $LOG" >&2; exit 1; }
  SRC="$TARGET/release/$DOMAIN"
fi
BIN="$RUN/.bin-$DOMAIN"
[ -x "$BIN" ] && cmp -s "$SRC" "$BIN" || { cp "$SRC" "$BIN.new" && mv "$BIN.new" "$BIN"; }

child=
trap 'echo "$(date -Is) stopped by signal; resume with the same command" >>"$LOG"; [ -n "$child" ] && kill -TERM "$child" 2>/dev/null; wait; exit 143' INT TERM

attempt=0
while :; do
  if [ -f "$RUN/checkpoints/last.ckpt" ]; then
    mode=(--resume)
    what="resume"
  else
    mode=()
    what="start"
  fi
  echo "$(date -Is) $what: $BIN ${COMMAND:-train} --config $CONFIG --run-dir $RUN ${mode[*]} $*" >>"$LOG"
  NO_COLOR=1 RAYON_NUM_THREADS=${THREADS:-$(nproc)} "$BIN" "${COMMAND:-train}" --config "$CONFIG" --run-dir "$RUN" "${mode[@]}" "$@" >>"$LOG" 2>&1 &
  child=$!
  wait "$child"
  rc=$?
  child=
  if [ $rc -eq 0 ]; then
    echo "$(date -Is) finished" >>"$LOG"
    exit 0
  fi
  attempt=$((attempt + 1))
  echo "$(date -Is) exited with $rc (attempt $attempt of $RETRIES)" >>"$LOG"
  if [ $attempt -ge "$RETRIES" ] || [ ! -f "$RUN/checkpoints/last.ckpt" ]; then
    echo "train-long: gave up after $attempt attempts, see $LOG" >&2
    exit $rc
  fi
  sleep 5
done
