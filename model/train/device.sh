#!/usr/bin/env bash
# One training chunk on the GPU machine (the device tool runs this in the repository root; $OUT comes back).
#   bash model/train/device.sh [train.py options…]
# What travels (carry): model/.data/carry/ holds this call's corpus parts (*.tar.xz, from model/corpus/carry.sh)
# and, when resuming on a fresh machine, model/.data/resume/ the checkpoint the previous call returned.
# What stays on the machine while it is warm (30 s between calls): $STAGE, with every part carried so far (so a
# run can grow its data call by call) and the full training state (exact resume).
# Resume order: --resume DIR (a carried checkpoint anywhere), else model/.data/resume/, else the one staged on this
# machine, else a fresh run (only with --fresh).
set -euo pipefail
export PYTHONUNBUFFERED=1
STAGE=${QL_STAGE:-/root/quest-lens-train}
mkdir -p "$STAGE/parts" "$STAGE/state" "$OUT/ckpt"
t0=$(date +%s)

fresh=0
given=0
args=()
for a in "$@"; do
  if [ "$a" = "--fresh" ]; then fresh=1; else args+=("$a"); fi
  if [ "$a" = "--resume" ]; then given=1; fi
done

# Stage the carried parts (a part of the same name replaces the staged one).
shopt -s nullglob
for f in model/.data/carry/*.tar.xz; do
  name=$(basename "$f" .tar.xz)
  rm -rf "$STAGE/parts/$name"
  mkdir -p "$STAGE/parts/$name"
  tar -xJf "$f" -C "$STAGE/parts/$name"
done
train=("$STAGE"/parts/train-*)
heldout=("$STAGE"/parts/heldout-00[0])  # a glob, so that it drops out when not carried
if [ ${#train[@]} -eq 0 ]; then echo "device.sh: no training parts carried or staged (model/.data/carry/*.tar.xz)" >&2; exit 2; fi
echo "device.sh: staged parts: $(cd "$STAGE/parts" && echo *) ($(du -sh "$STAGE/parts" | cut -f1)); $(( $(date +%s) - t0 )) s"

resume=()
if [ $given -eq 1 ]; then
  :  # train.py gets the --resume of the command line
elif [ -f model/.data/resume/model.json ]; then
  resume=(--resume model/.data/resume)
elif [ -f "$STAGE/state/transport/model.json" ]; then
  resume=(--resume "$STAGE/state/transport")
elif [ $fresh -eq 0 ]; then
  echo "device.sh: nothing to resume (no model/.data/resume, nothing staged on this machine): pass --fresh to start a new run" >&2
  exit 3
fi

nvidia-smi --query-gpu=name,memory.used,memory.total --format=csv,noheader || true
# The chunk's own limit leaves room under the device tool's 600 s for staging and the transfers back.
limit=$(( 560 - ($(date +%s) - t0) ))
python3 model/train/train.py --data "${train[@]}" --heldout "${heldout[@]}" --unpack "$STAGE/unpacked" \
  --state "$STAGE/state" --out "$OUT/ckpt" --log "$OUT/train.jsonl" --time-limit "$limit" "${resume[@]}" "${args[@]}"
ls -la "$OUT" "$OUT/ckpt"
