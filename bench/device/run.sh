#!/bin/bash
# On the GPU machine (no Node, no Vulkan loader): unpack what bench/device/pack.mjs put in .device/bench (carried by the
# device tool), then run the bench bundle from the repository root with the given arguments, e.g.
#   bash bench/device/run.sh --plans 0,1,2,4 --no-pipeline --out $OUT --tmp /tmp/models
# Progress goes to stdout; the results (gzip-compressed JSON, .json.gz) to --out.
# With the model in the call there is no room for the whole of .device/bench: BENCH_DEVICE_DIR=.device/eval takes the
# runtime-only carry (`node bench/device/pack.mjs --out .device/eval --runtime-only`: Node, the loader and Dawn, no
# llama.cpp, so --no-peer) and the bench bundle carried xz-compressed as .device/bench.js.xz
# (`node build.mjs && xz -9 -c dist/bench.js > .device/bench.js.xz`), e.g. for the built-in model's plan:
#   BENCH_DEVICE_DIR=.device/eval BENCH_COMMIT=<commit> bash bench/device/run.sh --plans 8 --no-peer --no-pipeline --out $OUT --tmp /tmp/models
set -euo pipefail
cd "$(dirname "$0")/../.."
D=${BENCH_DEVICE_DIR:-.device/bench}
for f in "$D"/gl/*.deb; do dpkg -x "$f" /; done
ldconfig
xz -dkf "$D/node.xz" "$D/node_modules/webgpu/dist/linux-x64/dawn.node.xz"
chmod +x "$D/node"
[ -f "$D/peer.tar.xz" ] && tar -xJf "$D/peer.tar.xz" -C "$D/node_modules"
(cd "$D" && sha256sum --quiet -c SHA256SUMS)
# Beside its node_modules, so that import('webgpu') finds the carried Dawn.
[ -f "$D/bench.js" ] || xz -dc .device/bench.js.xz > "$D/bench.js"
read -r commit dirty < "$D/commit"
export BENCH_COMMIT="${BENCH_COMMIT:-$commit}" BENCH_DIRTY="${BENCH_DIRTY:-$dirty}"
export VK_DRIVER_FILES="${VK_DRIVER_FILES:-/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json}" XDG_RUNTIME_DIR=/tmp/xdg
mkdir -p "$XDG_RUNTIME_DIR" /tmp/models
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem,memory.used --format=csv || true
exec "$D/node" "$D/bench.js" "$@"
