#!/usr/bin/env bash
# Packs corpus parts for one device call: model/.data/carry/<part>.tar.xz (names.json left out: the trainer does not
# read it). The folder is emptied first, so it holds exactly this call's parts; carry it as `model/.data/carry`.
#   bash model/corpus/carry.sh [--corpus DIR] PART...      e.g. heldout-000 train-000 train-001
set -euo pipefail
corpus=model/.data/corpus
if [ "${1:-}" = "--corpus" ]; then corpus=$2; shift 2; fi
[ $# -gt 0 ] || { echo "usage: bash model/corpus/carry.sh [--corpus DIR] PART..." >&2; exit 2; }
rm -rf model/.data/carry
mkdir -p model/.data/carry
for part in "$@"; do
  [ -f "$corpus/$part/index.json" ] || { echo "carry.sh: $corpus/$part is not a corpus part" >&2; exit 2; }
  tar -C "$corpus/$part" --exclude=names.json -cf - . | xz -9 -T2 > "model/.data/carry/$part.tar.xz"
done
du -b model/.data/carry/* | awk '{ printf "%-40s %6.2f MiB\n", $2, $1 / 1048576; total += $1 } END { printf "%-40s %6.2f MiB (a call carries at most 64 MiB with the working tree)\n", "total", total / 1048576 }'
