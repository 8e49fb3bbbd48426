#!/usr/bin/env bash
# Two training chunks side by side on a 2-GPU machine (`nvidia-h200-x2`), one per GPU, each with its own stage and
# output; both logs come back, and one checkpoint (two would not fit the device tool's 8 returned files).
#   bash model/train/pair.sh --a 'RETARGET_JSON' --b 'RETARGET_JSON' [--keep a|b|best] [device.sh options…]
# Each run is `model/train/device.sh [options…] --retarget JSON` (so both resume the same carried checkpoint: pass
# --resume DIR). --keep best (default) keeps the run whose last evaluation at 8K has the higher sum of teacher-forced
# definition exact match, dense plus Quest (the trainer's Quest evaluation, logged when the run trains Quest).
# $OUT: a.jsonl, b.jsonl (the trainers' logs), ckpt/ (the kept run's checkpoint), kept (a or b).
set -uo pipefail
export PYTHONUNBUFFERED=1
ra= rb= keep=best args=()
while [ $# -gt 0 ]; do
  case $1 in
    --a) ra=$2; shift 2 ;;
    --b) rb=$2; shift 2 ;;
    --keep) keep=$2; shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done
if [ -z "$ra" ] || [ -z "$rb" ]; then echo "pair.sh: --a JSON and --b JSON are required" >&2; exit 2; fi
out=${OUT:?set OUT to the output folder}
for run in a b; do
  r=ra; [ $run = b ] && r=rb
  gpu=0; [ $run = b ] && gpu=1
  mkdir -p "/tmp/pair-$run"
  (OUT=/tmp/pair-$run CUDA_VISIBLE_DEVICES=$gpu QL_STAGE=/root/quest-lens-train-$run \
    bash model/train/device.sh "${args[@]}" --retarget "${!r}" > "/tmp/pair-$run.log" 2>&1) &
done
wait
for run in a b; do
  cp "/tmp/pair-$run/train.jsonl" "$out/$run.jsonl" || { echo "pair.sh: run $run wrote no log:"; tail -20 "/tmp/pair-$run.log"; }
  tail -2 "/tmp/pair-$run.log"
done
if [ "$keep" = best ]; then
  keep=$(python3 - "$out/a.jsonl" "$out/b.jsonl" <<'PY'
import json, sys
def score(path):
    evals = [e for e in map(json.loads, open(path)) if e['event'] == 'eval' and e['length'] == 8192]
    last = max(e['step'] for e in evals)
    return sum(e['results']['definition']['exact'] for e in evals if e['step'] == last)
print('a' if score(sys.argv[1]) >= score(sys.argv[2]) else 'b')
PY
)
fi
cp -r "/tmp/pair-$keep/ckpt" "$out/ckpt" && echo "$keep" > "$out/kept"
echo "pair.sh: kept run $keep"
ls -la "$out" "$out/ckpt"
