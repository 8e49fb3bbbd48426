#!/bin/bash
# GPU machine (no Node, no Vulkan loader): `npm run eval` from carried files. Run from the repository root with
#   carry: .device/bench (Node, dawn.node, the Vulkan loader debs: webgpu-node.md §3), dist/eval.mjs,
#          model/.data/carry/eval-heldout.tar.xz (node dist/eval.mjs pack-heldout), and the model if not in the tree
#   EVAL_COMMIT=<commit> bash eval/device.sh [eval options]       results go to $OUT
set -e
D=${QL_DEVICE_DIR:-.device/bench}  # the carried Node + Dawn folder
for f in $D/gl/*.deb; do dpkg -x "$f" /; done; ldconfig
xz -dkf $D/node.xz $D/node_modules/webgpu/dist/linux-x64/dawn.node.xz; chmod +x $D/node
export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json XDG_RUNTIME_DIR=/tmp/xdg
mkdir -p $XDG_RUNTIME_DIR /tmp/heldout
tar -xJf model/.data/carry/eval-heldout.tar.xz -C /tmp/heldout
# Beside its node_modules, so that import('webgpu') finds the carried Dawn.
cp dist/eval.mjs $D/eval.mjs
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem,memory.used --format=csv || true
exec $D/node $D/eval.mjs --corpus /tmp/heldout --out "${OUT:?set OUT to the output folder}" "$@"
