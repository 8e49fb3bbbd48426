#!/bin/bash
# Room in the working tree for a device call that carries the model: the device tool carries the whole tree plus what
# `carry` names, at most 64 MiB, and the tree with the 31.9 MiB model, .device/eval (27.8 MiB) and a held-out archive
# come to about 65 MiB. `out` moves files no device command reads (results, logs, lock files, tables, tests) to a folder
# outside the tree; `back` returns them. Run `back` before committing.
#   scripts/device-room.sh out|back        (QL_ASIDE: the folder, default /tmp/quest-lens-aside)
set -euo pipefail
cd "$(dirname "$0")/.."
aside=${QL_ASIDE:-/tmp/quest-lens-aside}
paths=(eval/results bench/results model/runs model/PACKAGES.md model/corpus/packages.txt package-lock.json tools/vscode-host/package-lock.json BENCHMARKS.md test)
case "${1:-}" in
  out)
    if [ -e "$aside" ]; then echo "device-room: $aside exists (an earlier 'out'?): run 'back' first" >&2; exit 1; fi
    for p in "${paths[@]}"; do
      mkdir -p "$aside/$(dirname "$p")"
      mv "$p" "$aside/$p"
    done
    echo "device-room: moved ${#paths[@]} paths to $aside" ;;
  back)
    for p in "${paths[@]}"; do
      if [ -e "$aside/$p" ]; then
        rm -rf "$p"
        mv "$aside/$p" "$p"
      fi
    done
    rm -rf "$aside"
    echo "device-room: paths returned from $aside" ;;
  *) echo "usage: scripts/device-room.sh out|back" >&2; exit 2 ;;
esac
