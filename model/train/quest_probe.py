#!/usr/bin/env python3
"""Where Quest's accuracy goes on a trained model, teacher forced: the same held-out examples answered densely and
with every decode-step position under each page-selection rule of quest.py (SELECTIONS), at each budget and number
of dense layers. Per configuration: exact match of the answer per task and, per sparse layer, the share of the dense
attention mass on earlier pages that the selection kept (recall).

The rules separate two questions. `kv` (the engine's) against `oracle-kv` (the best pages a KV head's query heads
could share, chosen by their true attention): how much is lost to the page scores. `oracle-kv` against dense: how
much is lost to reading only the budget at all. `head` and `oracle-head` select per query head, as Quest does on a
model with one query head per KV head: how much is lost to the query heads of a group sharing their pages.

    python3 model/train/quest_probe.py --model model/default.gguf --heldout model/.data/carry/heldout-000.tar.xz
        [--length 8192] [--examples 64] [--budgets 512,1024] [--page-size 4] [--dense-layers 4]
        [--selections kv,head,oracle-kv,oracle-head] [--seed 1] [--device cuda|cpu] [--out REPORT.json]

Numbers from PyTorch are diagnostics; the model card's accuracy comes from the engine (`npm run eval`).
"""
import argparse
import json
import os
import sys
import tempfile
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import parity  # noqa: E402  (load_transformer; the causal attention for torch < 2)
import train  # noqa: E402  (evaluate)
from corpus import load_parts  # noqa: E402
from examples import Assembler, ExampleConfig  # noqa: E402
from quest import SELECTIONS  # noqa: E402


def ints(text):
    return [int(x) for x in text.split(',') if x.strip()]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--model', default='model/default.gguf')
    ap.add_argument('--heldout', nargs='+', required=True, help='held-out corpus parts (.tar.xz or folders)')
    ap.add_argument('--unpack', default=os.path.join(tempfile.gettempdir(), 'quest-lens-corpus'))
    ap.add_argument('--length', type=int, default=8192)
    ap.add_argument('--examples', type=int, default=64)
    ap.add_argument('--budgets', type=ints, default=[512, 1024])
    ap.add_argument('--page-size', type=int, default=4)
    ap.add_argument('--dense-layers', type=ints, default=[4])
    ap.add_argument('--selections', default=','.join(SELECTIONS))
    ap.add_argument('--answer-style', default='name-first', choices=('line', 'name-first'))
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    ap.add_argument('--out')
    args = ap.parse_args()
    selections = [s.strip() for s in args.selections.split(',') if s.strip()]
    for s in selections:
        if s not in SELECTIONS:
            raise SystemExit(f'--selections: {s!r} is not one of {SELECTIONS}')
    for b in args.budgets:
        if b % args.page_size or b < 2 * args.page_size:
            raise SystemExit(f'--budgets: {b} must be a multiple of --page-size {args.page_size} and at least two pages')
    if args.length % args.page_size:
        raise SystemExit(f'--length {args.length} must be a multiple of --page-size {args.page_size}')

    t0 = time.time()
    device = torch.device(args.device)
    if device.type == 'cuda':
        torch.backends.cuda.matmul.allow_tf32 = False
    model = parity.load_transformer(args.model, device)
    held = load_parts(args.heldout, args.unpack)
    asm = Assembler(held, ExampleConfig(args.length, kind='files', answer_style=args.answer_style, quest_fraction=0.05))
    examples = [asm.make(args.seed, 0, i) for i in range(args.examples)]
    batch = max(1, 32768 // args.length)

    rows = [{'config': 'dense', 'results': train.evaluate(model, examples, device, batch)}]
    for dense_layers in args.dense_layers:
        for budget in args.budgets:
            for selection in selections:
                qo = {'pageSize': args.page_size, 'denseLayers': dense_layers, 'evalBudget': budget, 'selection': selection}
                rows.append({'config': f'{selection} {budget} dense{dense_layers}', 'quest': qo,
                             'results': train.evaluate(model, examples, device, batch, qo)})
                print(f'[probe {time.time() - t0:6.1f} s] {rows[-1]["config"]}', file=sys.stderr)

    tasks = sorted({t for r in rows for t in r['results'] if t != 'recall'})
    print(f'{args.model}, {args.examples} examples at {args.length} tokens (seed {args.seed}), pages of {args.page_size}; '
          'teacher-forced exact match per task (questions), recall per sparse layer')
    print('| config | ' + ' | '.join(f'{t} ({rows[0]["results"][t]["n"]})' for t in tasks) + ' | recall by layer |')
    print('|---' * (len(tasks) + 2) + '|')
    for r in rows:
        cells = [f'{100 * r["results"][t]["exact"]:.1f}%' for t in tasks]
        recall = ' '.join(f'{x:.3f}' for x in r['results'].get('recall', []))
        print(f'| {r["config"]} | ' + ' | '.join(cells) + f' | {recall} |')
    if args.out:
        report = {'model': args.model, 'heldout': args.heldout, 'length': args.length, 'examples': args.examples,
                  'seed': args.seed, 'pageSize': args.page_size, 'device': str(device),
                  'gpu': torch.cuda.get_device_name(0) if device.type == 'cuda' else None, 'torch': torch.__version__,
                  'seconds': round(time.time() - t0, 1), 'rows': rows}
        with open(args.out, 'w') as f:
            json.dump(report, f, indent=1)


if __name__ == '__main__':
    main()
