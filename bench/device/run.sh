#!/bin/bash
# On the GPU machine (no Node, no Vulkan loader): unpack what bench/device/pack.mjs put in .device/bench (carried by the
# device tool), then run the bench bundle there with the given arguments, e.g.
#   bash bench/device/run.sh --plans 0,1,2,4 --no-pipeline --out $OUT --tmp /tmp/models
# Progress goes to stdout; the results (gzip-compressed JSON, .json.gz) to --out.
set -euo pipefail
cd "$(dirname "$0")/../../.device/bench"
for f in gl/*.deb; do dpkg -x "$f" /; done
ldconfig
xz -dkf node.xz node_modules/webgpu/dist/linux-x64/dawn.node.xz
chmod +x node
tar -xJf peer.tar.xz -C node_modules
sha256sum --quiet -c SHA256SUMS
read -r commit dirty < commit
export BENCH_COMMIT="${BENCH_COMMIT:-$commit}" BENCH_DIRTY="${BENCH_DIRTY:-$dirty}"
export VK_DRIVER_FILES="${VK_DRIVER_FILES:-/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json}" XDG_RUNTIME_DIR=/tmp/xdg
mkdir -p "$XDG_RUNTIME_DIR" /tmp/models
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem,memory.used --format=csv || true
exec ./node bench.js "$@"
