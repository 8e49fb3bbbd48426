#!/bin/bash
# GPU machine (no Node, no Vulkan loader): `npm run eval` from carried files. Run from the repository root with
#   carry: .device/eval (Node, dawn.node, the Vulkan loader debs: webgpu-node.md §3; made by
#          `node bench/device/pack.mjs --out .device/eval --runtime-only`), dist/eval.mjs,
#          model/.data/carry/eval-heldout.tar.xz (node dist/eval.mjs pack-heldout), and the model if not in the tree
#   EVAL_COMMIT=<commit> bash eval/device.sh [eval options]       results go to $OUT/<date>-<device>.json.gz
# or, for several runs in one call (the device tool returns at most 8 files: the results come back as one archive):
#   EVAL_COMMIT=<commit> bash eval/device.sh sweep HELDOUT.tar.xz 'NAME: eval options' …   $OUT/sweep.tar.xz (NAME/*.json.gz)
# or, for the PyTorch parity check (no held-out archive needed; the GPU machine's python3 has torch and numpy):
#   bash eval/device.sh parity [--model FILE] [parity options]    $OUT/parity-engine.json (the engine's logits),
#                                                                 $OUT/parity.json (PyTorch's comparison); exit 1 over tolerance
set -e
D=${QL_DEVICE_DIR:-.device/eval}  # the carried Node + Dawn folder
for f in $D/gl/*.deb; do dpkg -x "$f" /; done; ldconfig
xz -dkf $D/node.xz $D/node_modules/webgpu/dist/linux-x64/dawn.node.xz; chmod +x $D/node
export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json XDG_RUNTIME_DIR=/tmp/xdg
mkdir -p $XDG_RUNTIME_DIR /tmp/heldout
# Beside its node_modules, so that import('webgpu') finds the carried Dawn.
cp dist/eval.mjs $D/eval.mjs
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem,memory.used --format=csv || true
if [ "$1" = parity ]; then
  shift
  model=model/default.gguf
  for ((i = 1; i <= $#; i++)); do [ "${!i}" = --model ] && { j=$((i + 1)); model=${!j}; }; done
  $D/node $D/eval.mjs parity --model "$model" --out "${OUT:?set OUT to the output folder}/parity-engine.json" "$@"
  exec python3 model/train/parity.py "$OUT/parity-engine.json" --model "$model" --out "$OUT/parity.json"
fi
if [ "$1" = sweep ]; then
  heldout=/tmp/heldout-$(basename "$2" .tar.xz)
  mkdir -p "$heldout" /tmp/sweep && tar -xJf "$2" -C "$heldout"
  shift 2
  for run in "$@"; do
    name=${run%%:*}
    # Word splitting of the options is intended (no option value here has spaces).
    $D/node $D/eval.mjs --corpus "$heldout" --out "/tmp/sweep/$name" ${run#*:} || echo "eval/device.sh sweep: run '$name' failed"
  done
  exec tar -cJf "${OUT:?set OUT to the output folder}/sweep.tar.xz" -C /tmp/sweep .
fi
tar -xJf model/.data/carry/eval-heldout.tar.xz -C /tmp/heldout
exec $D/node $D/eval.mjs --corpus /tmp/heldout --out "${OUT:?set OUT to the output folder}" "$@"
