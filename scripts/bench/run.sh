#!/usr/bin/env bash
# Benchmark suite: gdd-bench (Rust) and the PyTorch twin, same machine, same thread count.
# Usage: scripts/bench/run.sh [--threads 2] [--quick] [--only train,sample,guidance] [--no-torch]
# PyTorch interpreter: $PYTHON (default python3). Writes scripts/bench/results.md. See run.py.
set -euo pipefail
cd "$(dirname "$0")/../.."
# The runner needs only the standard library; use $PYTHON if there is no python3.
runner=python3
command -v python3 >/dev/null 2>&1 || runner="${PYTHON:-python3}"
exec "$runner" scripts/bench/run.py "$@"
