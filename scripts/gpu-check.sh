#!/usr/bin/env bash
# The GPU code path checked on any Vulkan device (README "Running on a GPU"): builds diffusion-core
# with the `wgpu` feature and runs tests/gpu_check.rs, which compares the wgpu backend against the
# CPU backend — DiT logits, MDLM / UDLM / AR losses and gradient steps, validation NELBO,
# checkpoints saved on one device and loaded on the other, D-CFG and first-order D-CBG sampling.
# Without a GPU it runs on Mesa's software Vulkan device (lavapipe), installed from Debian's
# packages when missing. Correctness only: a software device says nothing about GPU speed.
#   scripts/gpu-check.sh            # ≈ 20 min the first time (the wgpu build), then minutes
#   scripts/gpu-check.sh --cuda     # also `cargo check --features cuda` (needs network, see README)
set -euo pipefail
cd "$(dirname "$0")/.."
if ! vulkaninfo --summary > /dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get > /dev/null; then
    apt-get install -y --no-install-recommends mesa-vulkan-drivers libvulkan1 vulkan-tools
  else
    echo "no Vulkan device: install mesa-vulkan-drivers, libvulkan1 and vulkan-tools (Debian/Ubuntu) or a GPU driver" >&2
    exit 1
  fi
fi
vulkaninfo --summary 2> /dev/null | grep -E "deviceName|driverName" | sed 's/^[[:space:]]*/vulkan: /'
# A target folder of its own: the wgpu feature changes burn's build, so sharing the CPU build's
# folder would rebuild both back and forth.
# The Vulkan loader wants a runtime folder; a private one silences its complaint.
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-$(mktemp -d)}
export CARGO_TARGET_DIR=${GDD_WGPU_TARGET_DIR:-${CARGO_TARGET_DIR:-target}-wgpu}
cargo test --release -p diffusion-core --features wgpu --test gpu_check -- --test-threads 1 --nocapture 2>&1 | grep -E '^gpu-check|^test |test result'
if [ "${1:-}" = "--cuda" ]; then
  CARGO_TARGET_DIR=${CARGO_TARGET_DIR%-wgpu}-cuda cargo check -p diffusion-core --features cuda
fi
