#!/usr/bin/env python3
"""Trains the default model on the GPU machine, in chunks that each end on their own before a time limit.

One call of the device tool runs one chunk (model/README.md has the exact commands):
    python3 model/train/train.py --data PART... --heldout PART --out $OUT/ckpt --log $OUT/train.jsonl
        [--resume CKPT] [--state DIR] [--time-limit 540] [--total-steps N] [--schedule ...] ...
    python3 model/train/train.py --selfcheck [--bench]     architecture vs reference.py, transport formats, speed
    python3 model/train/train.py --transcode CKPT OUT --ckpt-dtype q8_0     re-encode a checkpoint (CPU)

A chunk trains until `--time-limit` seconds after it started (minus a reserve for the final evaluation and save),
then writes the transport checkpoint (ckpt.py: weights in --ckpt-dtype, at most 16 MiB per file) and, under
--state, the full state (float32 weights and AdamW moments) for an exact resume on the same machine.
Resuming: the next chunk gets the transport checkpoint (--resume). If --state still holds this run's full state at
the same step (the machine stayed warm), the resume is exact; otherwise the weights come from the transport
checkpoint, AdamW starts fresh and the learning rate warms up again over --rewarm steps (AdamW's moments forget in
about 1 / (1 - beta2) = 20 steps, so a fresh start costs little once the rate is back).

Determinism: example i of step s is a function of (seed, s, i) and the corpus parts (examples.py), so the data
cursor is the step; the run-defining options are stored in the checkpoint and reused on resume.
"""
import argparse
import contextlib
import json
import math
import multiprocessing as mp
import os
import platform
import shutil
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import ckpt as ckptio  # noqa: E402
from corpus import load_parts  # noqa: E402
from examples import ANSWER_WEIGHT, DEFAULT_TASK_WEIGHTS, Assembler, ExampleConfig  # noqa: E402
from model import ModelConfig, Transformer  # noqa: E402
from quest import QuestTrain, check as quest_check  # noqa: E402

# Options that define a run: taken from the checkpoint on resume, so that every chunk trains the same run.
RUN_OPTIONS = ('seed', 'schedule', 'total_steps', 'tokens_per_step', 'lr', 'min_lr_frac', 'warmup', 'decay_frac',
               'weight_decay', 'beta1', 'beta2', 'grad_clip', 'answer_style', 'task_weights', 'lm_fraction',
               'max_pairs', 'quest_fraction', 'quest_train', 'model')

# Options a resumed run may change (--retarget): how long it runs and at which lengths and rates, never what it is.
RETARGETABLE = ('total_steps', 'schedule', 'lr', 'min_lr_frac', 'decay_frac', 'warmup', 'quest_train')

DEFAULT_SCHEDULE = '0:windows:1024,0.2:files:4096,0.75:files:8192,0.92:files:16384'


# --- schedule and learning rate -----------------------------------------------------------------------------------

def parse_schedule(text):
    """'0:windows:1024,0.2:files:4096+8192' → [(0.0, 'windows', (1024,)), (0.2, 'files', (4096, 8192))]: from each
    fraction of total_steps on, one kind of example at the listed lengths. A phase of several lengths (joined by
    '+') mixes them step by step in list order (step s trains at lengths[s % n]), every step with the same tokens
    per step; list a length twice to give it twice the steps. Fractions start at 0 and increase."""
    phases = []
    for item in text.split(','):
        frac, kind, lengths = item.split(':')
        phases.append((float(frac), kind, tuple(int(L) for L in lengths.split('+'))))
    if not phases or phases[0][0] != 0 or any(b[0] <= a[0] for a, b in zip(phases, phases[1:])):
        raise ValueError(f'--schedule {text!r}: fractions must start at 0 and increase')
    for _, kind, lengths in phases:
        if kind not in ('windows', 'files') or min(lengths) < 256:
            raise ValueError(f'--schedule {text!r}: phase kind must be windows or files and every length >= 256')
    return phases


def phase_index_at(phases, step, total):
    frac = step / max(total, 1)
    return max(i for i, p in enumerate(phases) if frac >= p[0])


def phase_at(phases, step, total):
    """(kind, length) of the examples of this step."""
    _, kind, lengths = phases[phase_index_at(phases, step, total)]
    return kind, lengths[step % len(lengths)]


def phase_shapes(*phases):
    """The distinct (kind, length) pairs of these phases, in schedule order (what the evaluation and --bench cover)."""
    return list(dict.fromkeys((kind, L) for _, kind, lengths in phases for L in lengths))


def lr_at(step, o, rewarm_from, rewarm):
    """Warmup, constant, then a linear decay over the last decay_frac of the run (WSD); times a re-warmup after a
    cold resume."""
    lr = o['lr']
    if step < o['warmup']:
        lr *= (step + 1) / o['warmup']
    decay_start = int(o['total_steps'] * (1 - o['decay_frac']))
    if step >= decay_start:
        t = (step - decay_start) / max(1, o['total_steps'] - decay_start)
        lr *= 1 - (1 - o['min_lr_frac']) * min(1.0, t)
    if rewarm_from is not None:
        lr *= min(1.0, (step - rewarm_from + 1) / rewarm)
    return lr


# --- data: batches made by forked workers (forked before CUDA starts) ------------------------------------------------

_PARTS = None
_RUN = None
_ASSEMBLERS = {}


def _assembler(kind, length):
    key = (kind, length)
    if key not in _ASSEMBLERS:
        o = _RUN
        _ASSEMBLERS[key] = Assembler(_PARTS, ExampleConfig(length, kind=kind, answer_style=o['answer_style'],
                                                           task_weights=o['task_weights'], max_pairs=o['max_pairs'],
                                                           lm_fraction=o['lm_fraction'], quest_fraction=o['quest_fraction']))
    return _ASSEMBLERS[key]


def make_batch(job):
    step, kind, length, batch = job
    asm = _assembler(kind, length)
    toks = np.empty((batch, length + 1), dtype=np.int32)
    w = np.empty((batch, length), dtype=np.float32)
    for i in range(batch):
        ex = asm.make(_RUN['seed'], step, i)
        toks[i] = ex.tokens
        w[i] = ex.weights
    return step, toks.tobytes(), w.tobytes()


class Batches:
    """Batches for steps start, start + 1, … made `depth` steps ahead by a pool of worker processes."""

    def __init__(self, workers, phase_of, batch_of, depth=8):
        self.pool = mp.get_context('fork').Pool(workers)
        self.phase_of = phase_of
        self.batch_of = batch_of
        self.depth = depth
        self.pending = {}

    def _submit(self, step):
        kind, length = self.phase_of(step)
        self.pending[step] = (kind, length, self.batch_of(length), self.pool.apply_async(make_batch, ((step, kind, length, self.batch_of(length)),)))

    def get(self, step):
        for s in range(step, step + self.depth):
            if s not in self.pending:
                self._submit(s)
        kind, length, batch, res = self.pending.pop(step)
        _, tb, wb = res.get()
        toks = torch.from_numpy(np.frombuffer(tb, dtype=np.int32).reshape(batch, length + 1).astype(np.int64))
        w = torch.from_numpy(np.frombuffer(wb, dtype=np.float32).reshape(batch, length).copy())
        return kind, length, toks, w

    def close(self):
        self.pool.terminate()


# --- transport checkpoint --------------------------------------------------------------------------------------------

def encode_tensor(t, dtype):
    t = t.detach().float().contiguous()
    if dtype == 'f32':
        return t.cpu().numpy().astype('<f4').tobytes()
    if dtype == 'bf16':
        return t.to(torch.bfloat16).view(torch.int16).cpu().numpy().astype('<i2').tobytes()
    if dtype == 'q8_0':
        x = t.reshape(-1, 32)
        d = x.abs().amax(dim=1) / 127
        d16 = d.to(torch.float16)
        # The f16 scale at or above max|x| / 127, so that no value clips (as gpu/quant/q8_0.ts encodes).
        d16 = torch.where(d16.float() < d, (d16.view(torch.int16) + 1).view(torch.float16), d16)
        dd = d16.float()
        inv = torch.where(dd > 0, 1.0 / dd, torch.zeros_like(dd))
        q = torch.clamp(torch.round(x * inv[:, None]), -127, 127).to(torch.int8)
        blocks = torch.cat([d16.view(torch.uint8).reshape(-1, 2), q.view(torch.uint8)], dim=1)
        return blocks.cpu().numpy().tobytes()
    raise ValueError(f'unknown checkpoint dtype {dtype!r}')


def decode_tensor(dtype, shape, data):
    if dtype == 'f32':
        a = np.frombuffer(data, dtype='<f4').astype(np.float32)
    elif dtype == 'bf16':
        a = (np.frombuffer(data, dtype='<u2').astype(np.uint32) << 16).view(np.float32)
    elif dtype == 'q8_0':
        b = np.frombuffer(data, dtype=np.uint8).reshape(-1, 34)
        d = b[:, :2].copy().view('<f2').astype(np.float32)
        a = (d * b[:, 2:].copy().view(np.int8).astype(np.float32)).reshape(-1)
    else:
        raise ValueError(f'unknown checkpoint dtype {dtype!r}')
    return torch.from_numpy(a.reshape(shape).copy())


def save_transport(model, folder, dtype, training):
    tensors = []
    for name, p in model.gguf_tensors():
        dt = 'f32' if p.dim() == 1 else dtype
        tensors.append((name, dt, list(p.shape), encode_tensor(p, dt)))
    return ckptio.write_checkpoint(folder, model.cfg.to_json(), tensors, training)


def load_transport(model, folder):
    header, tensors = ckptio.read_checkpoint(folder)
    with torch.no_grad():
        for name, p in model.gguf_tensors():
            if name not in tensors:
                raise ckptio.CheckpointError(f'{folder}: no tensor {name}')
            dt, shape, data = tensors[name]
            if list(shape) != list(p.shape):
                raise ckptio.CheckpointError(f'{folder}: {name} has shape {shape}, the model needs {list(p.shape)}')
            p.copy_(decode_tensor(dt, shape, data).to(p.device))
    return header


# --- evaluation on held-out examples (teacher forced: greedy exact match = every answer token is the argmax) ----------

def quest_options(text):
    """--quest-train JSON → the options with defaults filled in (model/README.md §4 says what each does), or None."""
    if not text:
        return None
    o = {'fraction': 0.5, 'budgets': [256, 512], 'pageSize': 8, 'denseLayers': 2, 'scoreWeight': 0.1, 'evalBudget': 512}
    given = json.loads(text) if isinstance(text, str) else dict(text)
    unknown = [k for k in given if k not in o]
    if unknown:
        raise SystemExit(f'--quest-train: unknown keys {unknown} (known: {list(o)})')
    o.update(given)
    if any(b % o['pageSize'] or b < 2 * o['pageSize'] for b in o['budgets'] + [o['evalBudget']]):
        raise SystemExit(f'--quest-train: every budget must be a multiple of pageSize {o["pageSize"]} and at least two pages')
    return o


def quest_step(w, qo, budget, sparse_fraction):
    """The QuestTrain of a batch with loss weights w (B, T): the first round(fraction * B) examples read sparse."""
    B = w.shape[0]
    sparse = torch.arange(B, device=w.device) < round(sparse_fraction * B)
    return QuestTrain.from_weights(w, ANSWER_WEIGHT, sparse, qo['pageSize'], budget // qo['pageSize'], qo['denseLayers'],
                                   qo.get('selection', 'kv'))


def bf16(device):
    """bf16 autocast on the GPU; nothing on the CPU (torch 1.13's autocast asks CUDA even when disabled)."""
    return torch.autocast('cuda', dtype=torch.bfloat16) if device.type == 'cuda' else contextlib.nullcontext()


@torch.no_grad()
def evaluate(model, examples, device, batch, qo=None):
    """Per task: exact match, first-token accuracy, answer loss; with qo, decode-step positions read only Quest's
    selection at qo['evalBudget'] (the first answer token is predicted densely, as the engine's prefill does), and
    'recall' lists, per sparse layer, the dense attention mass on earlier pages that the selection kept (mean over
    batches). qo['selection'] (quest.SELECTIONS, default the engine's 'kv') picks the rule."""
    model.eval()
    stats = {}
    recalls = []
    for at in range(0, len(examples), batch):
        group = examples[at:at + batch]
        toks = torch.tensor([ex.tokens for ex in group], dtype=torch.long, device=device)
        qt = None
        if qo is not None:
            w = torch.tensor([ex.weights for ex in group], dtype=torch.float32, device=device)
            qt = quest_step(w, qo, qo['evalBudget'], 1.0)
        with bf16(device):
            h = model.hidden(toks[:, :-1], qt)
        if qt is not None and qt.recalls:
            recalls.append([float(r) for r in qt.recalls])
        for i, ex in enumerate(group):
            for start, end, task in ex.answers:
                pos = torch.arange(start - 1, end - 1, device=device)
                with bf16(device):
                    logits = model.logits(h[i, pos]).float()
                target = toks[i, start:end]
                ce = F.cross_entropy(logits, target, reduction='sum').item()
                right = (logits.argmax(-1) == target)
                s = stats.setdefault(task, {'n': 0, 'exact': 0, 'first': 0, 'ce': 0.0, 'tokens': 0})
                s['n'] += 1
                s['exact'] += int(right.all().item())
                s['first'] += int(right[0].item())
                s['ce'] += ce
                s['tokens'] += end - start
    model.train()
    out = {}
    for task, s in sorted(stats.items()):
        out[task] = {'n': s['n'], 'exact': round(s['exact'] / s['n'], 4), 'first': round(s['first'] / s['n'], 4),
                     'answerLoss': round(s['ce'] / max(1, s['tokens']), 4)}
    if recalls:
        out['recall'] = [round(sum(r[i] for r in recalls) / len(recalls), 4) for i in range(len(recalls[0]))]
    return out


# --- the self-check: PyTorch model == reference.py (and so == the engine) -----------------------------------------------

def selfcheck(args):
    import subprocess
    device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
    torch.manual_seed(0)
    # A small vocabulary keeps the plain-Python forward quick; everything else is the architecture as trained.
    cfg = ModelConfig(layers=2, dim=64, ffn=128, heads=4, kvHeads=2, headDim=16, vocab=1024, contextLength=64)
    model = Transformer(cfg).to(device)
    with torch.no_grad():
        for name, p in model.gguf_tensors():
            if p.dim() == 2:
                p.normal_(0, 1 / math.sqrt(p.shape[1]))
            else:
                p.uniform_(0.9, 1.1)
    tokens = [5, 1000, 200, 1023, 13, 7, 29, 400]
    report = {'device': str(device), 'torch': torch.__version__}
    ok = True
    tmp = tempfile.mkdtemp(prefix='ql-selfcheck-')
    for dtype in ('f32', 'bf16', 'q8_0'):
        folder = os.path.join(tmp, dtype)
        save_transport(model, folder, dtype, {'selfcheck': True})
        m2 = Transformer(cfg).to(device)
        load_transport(m2, folder)
        # The stored weights are the model's, to the precision of the type (an encoder bug would make both sides of
        # the logit comparison below decode the same wrong values).
        bound = {'f32': 0.0, 'bf16': 2 ** -8, 'q8_0': 0.5 / 127 * 1.01}[dtype]
        worst = 0.0
        for (_, a), (_, b) in zip(model.gguf_tensors(), m2.gguf_tensors()):
            worst = max(worst, ((a - b).abs().max() / a.abs().max()).item())
        report[f'{dtype}WeightsMaxRelError'] = worst
        ok &= worst <= bound
        with torch.no_grad():
            got = m2(torch.tensor([tokens], device=device))[0].double().cpu()
        r = subprocess.run([sys.executable, os.path.join(HERE, 'reference.py'), 'forward', folder, '--tokens', ','.join(map(str, tokens))],
                           capture_output=True, text=True, check=True)
        ref = json.loads(r.stdout)
        last = torch.tensor(ref['lastLogits'], dtype=torch.float64)
        diff = (got[-1] - last).abs().max().item()
        argmax_same = got.argmax(-1).tolist() == ref['argmax']
        report[dtype] = {'maxAbsLogitDiff': diff, 'logitScale': last.abs().max().item(), 'argmaxSame': argmax_same}
        ok &= diff <= 1e-3 * (1 + last.abs().max().item()) and argmax_same
    if device.type == 'cuda':
        with torch.no_grad(), torch.autocast('cuda', dtype=torch.bfloat16):
            mixed = model(torch.tensor([tokens], device=device))[0].float().cpu()
        with torch.no_grad():
            full = model(torch.tensor([tokens], device=device))[0].float().cpu()
        report['bf16AutocastMaxAbsLogitDiff'] = (mixed - full).abs().max().item()
    shutil.rmtree(tmp, ignore_errors=True)
    report['quest'] = quest_check(device)
    ok &= report['quest']['ok']
    report['ok'] = bool(ok)
    print(json.dumps({'event': 'selfcheck', **report}), flush=True)
    return ok


def bench(args, device):
    """Tokens per second of the real model for each phase of the schedule (random tokens, real batch shapes)."""
    cfg = ModelConfig.from_json(json.loads(args.model)) if args.model else ModelConfig()
    model = Transformer(cfg).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=True)
    hidden = torch.compile(model.hidden) if args.compile else model.hidden
    for kind, L in phase_shapes(*parse_schedule(args.schedule)):
        B = max(1, args.tokens_per_step // L)
        toks = torch.randint(0, cfg.vocab, (B, L + 1), device=device)
        w = (torch.rand(B, L, device=device) < 0.27).float()
        torch.cuda.reset_peak_memory_stats()
        times = []
        for i in range(args.bench_steps):
            torch.cuda.synchronize()
            t = time.perf_counter()
            with torch.autocast('cuda', dtype=torch.bfloat16):
                h = hidden(toks[:, :-1])
                mask = w > 0
                logits = model.logits(h[mask])
            loss = F.cross_entropy(logits.float(), toks[:, 1:][mask])
            loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)
            torch.cuda.synchronize()
            times.append(time.perf_counter() - t)
        dt = sorted(times[2:])[len(times[2:]) // 2] if len(times) > 3 else times[-1]
        print(json.dumps({'event': 'bench', 'kind': kind, 'length': L, 'batch': B, 'stepSeconds': round(dt, 4),
                          'tokensPerSecond': round(B * L / dt), 'peakGiB': round(torch.cuda.max_memory_allocated() / 2**30, 2),
                          'compile': bool(args.compile)}), flush=True)


# --- main ----------------------------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--data', nargs='*', default=[], help='training corpus parts (folders or .tar.xz)')
    ap.add_argument('--heldout', nargs='*', default=[], help='held-out corpus parts, for the evaluation during training')
    ap.add_argument('--unpack', default=os.path.join(tempfile.gettempdir(), 'quest-lens-corpus'), help='where .tar.xz parts are unpacked')
    ap.add_argument('--out', default=None, help='transport checkpoint folder written at the end (and every --save-every s)')
    ap.add_argument('--resume', default=None, help='transport checkpoint folder to continue from')
    ap.add_argument('--state', default=None, help='folder for the full state (exact resume while the machine stays warm)')
    ap.add_argument('--log', default=None, help='JSON-lines log file')
    ap.add_argument('--time-limit', type=float, default=540, help='seconds after start by which the chunk has saved and ended')
    ap.add_argument('--reserve', type=float, default=45, help='seconds kept for the final evaluation and save')
    ap.add_argument('--save-every', type=float, default=240, help='seconds between intermediate saves')
    ap.add_argument('--max-steps', type=int, default=None, help='stop this chunk after this many steps')
    ap.add_argument('--ckpt-dtype', default='q8_0', choices=('q8_0', 'bf16', 'f32'))
    ap.add_argument('--workers', type=int, default=max(1, min(8, (os.cpu_count() or 4) - 4)))
    ap.add_argument('--compile', action='store_true')
    ap.add_argument('--eval-every', type=int, default=500)
    ap.add_argument('--eval-examples', type=int, default=96)
    ap.add_argument('--eval-lengths', default='1024',
                    help='comma-separated `files` lengths evaluated at every evaluation besides the phase\'s own (a run '
                         'trained at 4K/8K can lose short contexts unseen: the Quest candidate of model/README.md §5 did)')
    ap.add_argument('--log-every', type=int, default=25)
    ap.add_argument('--rewarm', type=int, default=100)
    ap.add_argument('--selfcheck', action='store_true')
    ap.add_argument('--bench', action='store_true')
    ap.add_argument('--bench-steps', type=int, default=12)
    ap.add_argument('--transcode', nargs=2, metavar=('CKPT', 'OUT'),
                    help='re-encode a transport checkpoint in --ckpt-dtype (training record kept), e.g. a bf16 one as q8_0 '
                         'so that it travels with corpus parts; runs on the CPU')
    # Run-defining options (RUN_OPTIONS): stored in the checkpoint, reused on resume.
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--schedule', default=DEFAULT_SCHEDULE)
    ap.add_argument('--total-steps', type=int, default=4000)
    ap.add_argument('--retarget', default=None,
                    help='on resume, a JSON object of run options to change from here on (recorded in the checkpoint), e.g. '
                         '\'{"total_steps": 3900}\' so that the last chunk that fits ends the run, or a final phase: '
                         '\'{"total_steps": 5200, "schedule": "0:files:4096,0.875:files:8192", "lr": 0.001, "decay_frac": 0.25}\'')
    ap.add_argument('--tokens-per-step', type=int, default=131072)
    ap.add_argument('--lr', type=float, default=3e-3)
    ap.add_argument('--min-lr-frac', type=float, default=0.1)
    ap.add_argument('--warmup', type=int, default=200)
    ap.add_argument('--decay-frac', type=float, default=0.2)
    ap.add_argument('--weight-decay', type=float, default=0.1)
    ap.add_argument('--beta1', type=float, default=0.9)
    ap.add_argument('--beta2', type=float, default=0.95)
    ap.add_argument('--grad-clip', type=float, default=1.0)
    ap.add_argument('--answer-style', default='line', choices=('line', 'name-first'))
    ap.add_argument('--task-weights', default=json.dumps(DEFAULT_TASK_WEIGHTS))
    ap.add_argument('--lm-fraction', type=float, default=0.25)
    ap.add_argument('--max-pairs', type=int, default=5)
    ap.add_argument('--quest-fraction', type=float, default=0.02)
    ap.add_argument('--quest-train', default=None,
                    help='JSON: train Quest\'s selection (quest.py): {"fraction": share of examples answering from the selection, '
                         '"budgets": token budgets taken in turn by step, "pageSize", "denseLayers", "scoreWeight": the page-score '
                         'loss\'s weight, "evalBudget": the budget of the Quest evaluation}; retargetable')
    ap.add_argument('--model', default=None, help='model config JSON (default: 8 layers, d 384, 6/2 heads, FFN 1024)')
    args = ap.parse_args()
    t0 = time.time()

    if args.transcode:
        src, dst = args.transcode
        header, _ = ckptio.read_checkpoint(src)
        model = Transformer(ModelConfig.from_json(header['config']))
        load_transport(model, src)
        save_transport(model, dst, args.ckpt_dtype, header['training'])
        print(json.dumps({'event': 'transcode', 'from': src, 'to': dst, 'dtype': args.ckpt_dtype, 'step': header['training'].get('step'),
                          'bytes': sum(os.path.getsize(os.path.join(dst, f)) for f in os.listdir(dst))}), flush=True)
        return

    if args.selfcheck:
        ok = selfcheck(args)
        if args.bench and torch.cuda.is_available():
            bench(args, torch.device('cuda'))
        sys.exit(0 if ok else 1)

    logf = open(args.log, 'a', encoding='utf-8') if args.log else None

    def log(event, **kv):
        line = json.dumps({'event': event, 't': round(time.time() - t0, 2), **kv})
        print(line, flush=True)
        if logf:
            logf.write(line + '\n')
            logf.flush()

    # The run's options: from the checkpoint when resuming.
    run = {k: getattr(args, k) for k in RUN_OPTIONS}
    run['task_weights'] = json.loads(run['task_weights']) if isinstance(run['task_weights'], str) else run['task_weights']
    header = None
    if args.resume:
        header, _ = ckptio.read_checkpoint(args.resume)
        saved = header['training'].get('run')
        if not saved:
            raise SystemExit(f'--resume {args.resume}: the checkpoint has no run options (not written by train.py?)')
        changed = {k: (run[k], saved[k]) for k in RUN_OPTIONS if k in saved and run[k] != saved[k] and k != 'model'}
        if changed:
            log('note', message='run options come from the checkpoint; the command line differs', differs=changed)
        run.update(saved)
        # A checkpoint from before an option existed trains without it unless retargeted.
        run['quest_train'] = saved.get('quest_train')
        if args.retarget:
            change = json.loads(args.retarget)
            unknown = [k for k in change if k not in RETARGETABLE]
            if unknown:
                raise SystemExit(f'--retarget: {unknown} cannot change mid-run (only {list(RETARGETABLE)})')
            if change.get('total_steps', run['total_steps']) <= header['training']['step']:
                raise SystemExit(f'--retarget: total_steps {change["total_steps"]} is not past the checkpoint\'s step {header["training"]["step"]}')
            log('note', message='run options retargeted', changed={k: [run[k], v] for k, v in change.items()})
            run.update(change)
            run.setdefault('retargets', []).append({'step': header['training']['step'], **change})
    qo = run['quest_train'] = quest_options(run['quest_train'])
    phases = parse_schedule(run['schedule'])
    cfg = ModelConfig.from_json(header['config']) if header else (ModelConfig.from_json(json.loads(run['model'])) if run['model'] else ModelConfig())
    run['model'] = json.dumps(cfg.to_json())
    longest = max(L for _, L in phase_shapes(*phases))
    if longest > cfg.contextLength:
        raise SystemExit(f'--schedule trains {longest}-token examples, the model config has contextLength {cfg.contextLength}')

    # Corpus, then the worker pool (forked before CUDA starts).
    global _PARTS, _RUN
    parts = load_parts(args.data, args.unpack)
    if not parts:
        raise SystemExit('no --data parts')
    held = load_parts(args.heldout, args.unpack)
    _PARTS, _RUN = parts, run
    train_tokens = sum(len(p.tokens) for p in parts)
    log('data', parts=[p.name for p in parts], tokens=train_tokens, packages=sum(p.packages.rows for p in parts),
        heldout=[p.name for p in held], seconds=round(time.time() - t0, 1))
    batch_of = lambda L: max(1, run['tokens_per_step'] // L)  # noqa: E731
    batches = Batches(args.workers, lambda s: phase_at(phases, s, run['total_steps']), batch_of)

    device = torch.device('cuda')
    torch.manual_seed(run['seed'])
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    model = Transformer(cfg).to(device)
    decay = [p for n, p in model.named_parameters() if p.dim() == 2 and not n.startswith('token_embd')]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2 or n.startswith('token_embd')]
    opt = torch.optim.AdamW([{'params': decay, 'weight_decay': run['weight_decay']}, {'params': no_decay, 'weight_decay': 0.0}],
                            lr=run['lr'], betas=(run['beta1'], run['beta2']), fused=True)
    step = 0
    rewarm_from = None
    run_id = header['training'].get('runId') if header else f'{int(t0)}-{os.getpid()}'
    if header:
        step = header['training']['step']
        full = os.path.join(args.state, 'full.pt') if args.state else None
        state = torch.load(full, map_location=device) if full and os.path.exists(full) else None
        if state and state.get('runId') == run_id and state.get('step') == step:
            model.load_state_dict(state['model'])
            opt.load_state_dict(state['opt'])
            log('resume', step=step, exact=True)
        else:
            load_transport(model, args.resume)
            rewarm_from = step
            log('resume', step=step, exact=False, reason='no full state for this run and step on this machine: weights from the transport checkpoint, fresh AdamW')
        del state
    hidden = torch.compile(model.hidden) if args.compile else model.hidden
    log('start', run=run, runId=run_id, step=step, config=cfg.to_json(), params=sum(p.numel() for p in model.parameters()),
        gpu=torch.cuda.get_device_name(0), torch=torch.__version__, python=platform.python_version())

    eval_sets = {}

    def eval_examples(kind, L):
        if not held:
            return []
        if (kind, L) not in eval_sets:
            asm = Assembler(held, ExampleConfig(L, kind=kind, answer_style=run['answer_style'], task_weights=run['task_weights'],
                                                max_pairs=run['max_pairs'], quest_fraction=0.05))
            eval_sets[(kind, L)] = [asm.make(run['seed'] + 1000, 0, i) for i in range(args.eval_examples)]
        return eval_sets[(kind, L)]

    extra_eval = [('files', int(L)) for L in args.eval_lengths.split(',') if L.strip()]

    def run_eval(*eval_phases):
        """Evaluates at every (kind, length) of these phases, and at --eval-lengths."""
        for kind, L in dict.fromkeys(phase_shapes(*eval_phases) + extra_eval):
            ex = eval_examples(kind, L)
            if ex:
                log('eval', step=step, kind=kind, length=L, results=evaluate(model, ex, device, max(1, 32768 // L)))
                if qo is not None and kind == 'files':
                    log('eval', step=step, kind=kind, length=L, quest={'budget': qo['evalBudget'], 'pageSize': qo['pageSize'],
                        'denseLayers': qo['denseLayers']}, results=evaluate(model, ex, device, max(1, 32768 // L), qo))

    def save(final):
        training = {'step': step, 'runId': run_id, 'run': run, 'tokensSeen': tokens_seen, 'parts': [p.name for p in parts],
                    'answerStyle': run['answer_style'], 'promptFormat': 'quest-lens-qa-1', 'final': final}
        ts = time.time()
        if args.out:
            save_transport(model, args.out, args.ckpt_dtype, training)
        if args.state:
            os.makedirs(args.state, exist_ok=True)
            # A copy of the transport checkpoint beside the full state: a warm machine resumes without carrying one.
            if args.out:
                shutil.rmtree(os.path.join(args.state, 'transport'), ignore_errors=True)
                shutil.copytree(args.out, os.path.join(args.state, 'transport'))
            tmp = os.path.join(args.state, 'full.pt.tmp')
            torch.save({'model': model.state_dict(), 'opt': opt.state_dict(), 'step': step, 'runId': run_id}, tmp)
            os.replace(tmp, os.path.join(args.state, 'full.pt'))
        log('save', step=step, final=final, seconds=round(time.time() - ts, 1), out=args.out)

    tokens_seen = header['training'].get('tokensSeen', 0) if header else 0
    last_save = time.time()
    step_time = 1.0
    acc = {'loss': 0.0, 'ans': 0.0, 'lm': 0.0, 'n': 0, 'ansTok': 0, 'lmTok': 0, 'tokens': 0, 't': time.time(), 'score': 0.0, 'recall': 0.0}
    chunk_start_step = step
    phase = None
    while step < run['total_steps']:
        if args.max_steps is not None and step - chunk_start_step >= args.max_steps:
            break
        if time.time() - t0 + 2 * step_time > args.time_limit - args.reserve:
            break
        ts = time.time()
        kind, L, toks, w = batches.get(step)
        current = phases[phase_index_at(phases, step, run['total_steps'])]
        if current != phase:
            if phase is not None:
                run_eval(phase)
            phase = current
            log('phase', step=step, kind=kind, lengths=list(phase[2]), batches=[batch_of(n) for n in phase[2]])
        toks = toks.to(device, non_blocking=True)
        w = w.to(device, non_blocking=True)
        lr = lr_at(step, run, rewarm_from, args.rewarm)
        for g in opt.param_groups:
            g['lr'] = lr
        qt = quest_step(w, qo, qo['budgets'][step % len(qo['budgets'])], qo['fraction']) if qo is not None and kind == 'files' else None
        with torch.autocast('cuda', dtype=torch.bfloat16):
            h = hidden(toks[:, :-1], qt)
            mask = w > 0
            logits = model.logits(h[mask])  # the LM head only where the loss is taken
        target = toks[:, 1:][mask]
        weights = w[mask]
        ce = F.cross_entropy(logits.float(), target, reduction='none')
        loss = (ce * weights).sum() / weights.sum()
        score_loss = qt.score_loss() if qt is not None else None
        if score_loss is not None:
            loss = loss + qo['scoreWeight'] * score_loss
            acc['score'] += score_loss.detach()
            acc['recall'] += qt.recall().detach()
        loss.backward()
        gnorm = torch.nn.utils.clip_grad_norm_(model.parameters(), run['grad_clip'])
        opt.step()
        opt.zero_grad(set_to_none=True)
        step += 1
        tokens_seen += toks.shape[0] * L
        with torch.no_grad():
            is_ans = weights == ANSWER_WEIGHT
            acc['loss'] += loss.detach()
            acc['ans'] += (ce * is_ans).sum().detach()
            acc['lm'] += (ce * ~is_ans).sum().detach()
            acc['ansTok'] += is_ans.sum().detach()
            acc['lmTok'] += (~is_ans).sum().detach()
        acc['n'] += 1
        acc['tokens'] += toks.shape[0] * L
        if step % args.log_every == 0:
            torch.cuda.synchronize()
            dt = time.time() - acc['t']
            log('step', step=step, kind=kind, length=L, lengths=list(phase[2]), lr=round(lr, 6), loss=round(float(acc['loss']) / acc['n'], 4),
                answerLoss=round(float(acc['ans']) / max(1, int(acc['ansTok'])), 4), lmLoss=round(float(acc['lm']) / max(1, int(acc['lmTok'])), 4),
                gradNorm=round(float(gnorm), 3), tokensPerSecond=round(acc['tokens'] / dt), tokensSeen=tokens_seen,
                peakGiB=round(torch.cuda.max_memory_allocated() / 2**30, 2),
                **({'questScoreLoss': round(float(acc['score']) / acc['n'], 4), 'questRecall': round(float(acc['recall']) / acc['n'], 4)}
                   if qo is not None else {}))
            acc = {'loss': 0.0, 'ans': 0.0, 'lm': 0.0, 'n': 0, 'ansTok': 0, 'lmTok': 0, 'tokens': 0, 't': time.time(), 'score': 0.0, 'recall': 0.0}
        if args.eval_every and step % args.eval_every == 0:
            run_eval(phase)
        if time.time() - last_save > args.save_every and time.time() - t0 < args.time_limit - args.reserve - 30:
            save(False)
            last_save = time.time()
        step_time = 0.9 * step_time + 0.1 * (time.time() - ts) if step > chunk_start_step + 1 else time.time() - ts
    batches.close()
    if step >= run['total_steps']:
        # The run is done: evaluate at every context length of the schedule.
        run_eval(*phases)
    elif phase is not None:
        run_eval(phase)
    save(step >= run['total_steps'])
    log('end', step=step, totalSteps=run['total_steps'], tokensSeen=tokens_seen, seconds=round(time.time() - t0, 1))
    if logf:
        logf.close()


if __name__ == '__main__':
    main()
