"""Training examples, assembled from corpus parts on the fly: a packed context, then question/answer pairs.

Standard library only; deterministic: example i of step s is a function of (seed, s, i) and the corpus alone, so a
resumed run sees exactly the examples it would have seen.

Layout of one example (length + 1 tokens; position t is trained to predict token t + 1):
    context     whole files of one package (more packages when it is small), each `// File: <package>/<path>` + text,
                exactly the extension's packing (the corpus holds each file's own tokens); or, for the short first
                stage of the curriculum, windows of whole lines around definitions, each under its file's header
    pairs       1..max_pairs times: question part (tokenized alone, as the engine does), answer tokens, <|endoftext|>
    padding     <|endoftext|> up to the length, never trained on
Loss weights: every answer token (and its closing <|endoftext|>) ANSWER_WEIGHT; each other position 1 with
probability lm_fraction, else 0 (the trainer runs the LM head only where the weight is not 0).

Answers quote the context: a definition or signature question is answered with the line's own tokens (whitespace
tokens at its ends dropped), a usage question with one line from each of up to three other files, a pass key with
its digits. Only questions with one right answer in the context are asked: a name defined twice in it is not.
"""
import bisect
import random

ANSWER_WEIGHT = 5.0
TASKS = ('definition', 'signature', 'usage', 'passkey', 'absent')
DEFAULT_TASK_WEIGHTS = {'definition': 0.40, 'signature': 0.22, 'usage': 0.22, 'passkey': 0.10, 'absent': 0.06}
PAIR_RESERVE = 56  # tokens kept free per question/answer pair when filling the context (pairs average ≈ 35)
MAX_ANSWER_TOKENS = 72


class ExampleConfig:
    def __init__(self, length, kind='files', answer_style='line', task_weights=None, max_pairs=5, lm_fraction=0.25,
                 quest_fraction=0.02, window_tokens=(150, 420)):
        if kind not in ('files', 'windows'):
            raise ValueError(f"kind must be 'files' or 'windows', got {kind!r}")
        if answer_style not in ('line', 'name-first'):
            raise ValueError(f"answer_style must be 'line' or 'name-first', got {answer_style!r}")
        if length < 256:
            raise ValueError(f'length must be >= 256, got {length}')
        self.length = length
        self.kind = kind
        self.answer_style = answer_style
        self.task_weights = dict(task_weights or DEFAULT_TASK_WEIGHTS)
        self.max_pairs = max_pairs
        self.lm_fraction = lm_fraction
        self.quest_fraction = quest_fraction
        self.window_tokens = window_tokens


class Example:
    """tokens: length + 1 ids; weights: length floats (weights[t] for predicting tokens[t + 1]); answers: spans."""

    def __init__(self, tokens, weights, answers, files, kind, context_end):
        self.tokens = tokens
        # tokens[:context_end] is the packed context; the question/answer pairs follow
        self.context_end = context_end
        self.weights = weights
        # (start, end, task): tokens[start:end] is an answer (its <|endoftext|> included)
        self.answers = answers
        # (part name, file index, first token of the file's span in the example, first line, end line) per span
        self.files = files
        self.kind = kind


def example_rng(seed, step, index):
    return random.Random(f'quest-lens:{seed}:{step}:{index}')


class Assembler:
    """Makes examples from a list of corpus parts (train parts for training, the held-out part for evaluation)."""

    def __init__(self, parts, config):
        if not parts:
            raise ValueError('no corpus parts')
        self.parts = parts
        self.cfg = config
        self.eot = parts[0].eot
        self.newline = parts[0].newline
        L = config.length
        # Packages weighted by their tokens up to twice the context: big packages are not seen only in slivers,
        # and do not crowd out small ones either.
        self.choices = []  # (cumulative weight, part index, package index)
        total = 0
        for pi, part in enumerate(parts):
            candidates = part.packages_with_defs if config.kind == 'windows' else range(part.packages.rows)
            for p in candidates:
                w = min(part.packages.get(p, 'tokens'), 2 * L)
                if w <= 0:
                    continue
                total += w
                self.choices.append((total, pi, p))
        if not self.choices:
            raise ValueError('the corpus parts hold no usable package')
        self.total = total
        self.cum = [c[0] for c in self.choices]
        # Per part, its range of self.choices: a context's later packages come from the first one's part, so that
        # names (numbered per part) are compared within one numbering.
        self.part_range = {}
        for k, (_, pi, _) in enumerate(self.choices):
            lo, hi = self.part_range.get(pi, (k, k))
            self.part_range[pi] = (lo, k + 1)
        tw = config.task_weights
        self.tasks = [t for t in TASKS if tw.get(t, 0) > 0]
        self.task_cum = []
        acc = 0.0
        for t in self.tasks:
            acc += tw[t]
            self.task_cum.append(acc)

    # --- sampling helpers --------------------------------------------------------------------------------------
    def pick_package(self, rng, in_part=None):
        if in_part is None:
            lo, hi = 0, len(self.choices)
        else:
            lo, hi = self.part_range[in_part]
        base = self.cum[lo - 1] if lo > 0 else 0
        x = base + rng.random() * (self.cum[hi - 1] - base)
        k = bisect.bisect_right(self.cum, x, lo, hi)
        _, pi, p = self.choices[min(k, hi - 1)]
        return pi, p

    def pick_task(self, rng):
        x = rng.random() * self.task_cum[-1]
        return self.tasks[min(bisect.bisect_right(self.task_cum, x), len(self.tasks) - 1)]

    # --- contexts ----------------------------------------------------------------------------------------------
    def files_context(self, rng, budget):
        """Whole files: from a random file of a package on, in context order, skipping files that do not fit."""
        spans = []  # (part index, file, first line, end line)
        used = 0
        for _attempt in range(4):
            if budget - used < 64:
                break
            pi, p = self.pick_package(rng, spans[0][0] if spans else None)
            if any(s[0] == pi and self.parts[pi].files.get(s[1], 'package') == p for s in spans):
                continue
            part = self.parts[pi]
            first = part.packages.get(p, 'fileStart')
            count = part.packages.get(p, 'fileCount')
            start = rng.randrange(count)
            for k in range(count):
                f = first + (start + k) % count
                n = part.files.get(f, 'tokenCount')
                if used + n <= budget:
                    spans.append((pi, f, 1, part.file_line_count(f) + 1))
                    used += n
            if used > budget * 0.75:
                break
        # Context order: each package's files in path order (multi-root workspaces order folder by folder).
        order = {}
        for pi, f, _, _ in spans:
            order.setdefault((pi, self.parts[pi].files.get(f, 'package')), len(order))
        spans.sort(key=lambda s: (order[(s[0], self.parts[s[0]].files.get(s[1], 'package'))], s[1]))
        return spans

    def window(self, rng, part, f, line, target):
        """Lines [a, b) around `line`, both safe split points, about `target` tokens; None if none fits."""
        if not part.line_safe(f, 1):
            return None  # the header's tokens would not stand alone
        end = part.file_line_count(f) + 1
        safe_before = [n for n in range(1, line + 1) if part.line_safe(f, n)]
        if not safe_before:
            return None
        at = part.line_start(f, line)
        # Start: a safe line at most 70% of the target before the definition (the nearest one if none is that close).
        near = [n for n in safe_before if at - part.line_start(f, n) <= target * 0.7] or safe_before[-1:]
        a = rng.choice(near)
        b = None
        for n in range(line + 1, end + 1):
            if part.line_safe(f, n):
                b = n
                if part.line_start(f, n) - part.line_start(f, a) >= target:
                    break
        if b is None:
            return None
        size = part.line_start(f, b) - part.line_start(f, a)
        if size > 2 * target:
            return None
        return a, b

    def windows_context(self, rng, budget):
        """Windows of whole lines around definitions, one per file, from up to three packages."""
        spans = []
        used = 0
        seen_files = set()
        lo, hi = self.cfg.window_tokens
        for _package in range(3):
            pi, p = self.pick_package(rng, spans[0][0] if spans else None)
            part = self.parts[pi]
            d0 = part.packages.get(p, 'defStart')
            dn = part.packages.get(p, 'defCount')
            for _attempt in range(16):
                if budget - used < lo:
                    break
                d = d0 + rng.randrange(dn)
                f = part.defs.get(d, 'file')
                if (pi, f) in seen_files:
                    continue
                w = self.window(rng, part, f, part.defs.get(d, 'line'), rng.randint(lo, hi))
                if w is None:
                    continue
                a, b = w
                n = part.line_start(f, 1) + part.line_start(f, b) - part.line_start(f, a)
                if used + n > budget:
                    continue
                seen_files.add((pi, f))
                spans.append((pi, f, a, b))
                used += n
            if budget - used < lo:
                break
        rng.shuffle(spans)
        return spans

    # --- questions ---------------------------------------------------------------------------------------------
    def candidates(self, spans):
        """Per (part, name), its definitions and usages visible in the context spans."""
        defs = {}  # (part, name) -> [(file, line, kind)]
        uses = {}  # (part, name) -> {file: line}
        for pi, f, a, b in spans:
            part = self.parts[pi]
            dd, w = part.defs.data, part.defs.width
            for d in range(part.file_defs[f], part.file_defs[f + 1]):
                line = dd[d * w + 1]
                if a <= line < b:
                    defs.setdefault((pi, dd[d * w + 2]), []).append((f, line, dd[d * w + 3]))
            ud, w = part.uses.data, part.uses.width
            for u in range(part.file_uses[f], part.file_uses[f + 1]):
                line = ud[u * w + 1]
                if a <= line < b:
                    uses.setdefault((pi, ud[u * w + 2]), {}).setdefault(f, line)
        return defs, uses

    def answer_line(self, part, f, line):
        toks = part.line_tokens(f, line)
        if not toks or len(toks) > MAX_ANSWER_TOKENS:
            return None
        return list(toks)

    def make_pair(self, rng, task, spans, defs, uses, asked, key_used):
        """(question tokens, answer tokens without <|endoftext|>, needle) for one task, or None when none is possible."""
        from_corpus = self.parts
        if task in ('definition', 'signature', 'usage'):
            order = {(s[0], s[1]): i for i, s in enumerate(spans)}
            names = [k for k in defs if k not in asked]
            rng.shuffle(names)
            for key in names[:40]:
                pi, name = key
                part = from_corpus[pi]
                entries = defs[key]
                impl = [e for e in entries if not (e[2] & (1 << 8))]
                decl = [e for e in entries if e[2] & (1 << 8)]
                if task == 'definition':
                    pick = impl if impl else decl
                    if len(pick) != 1:
                        continue
                    ans = self.answer_line(part, pick[0][0], pick[0][1])
                elif task == 'signature':
                    sig_decl = [e for e in decl if e[2] & (1 << 9)]
                    sig_impl = [e for e in impl if e[2] & (1 << 9)]
                    pick = sig_decl if sig_decl else sig_impl
                    # The answer must be the only candidate of its kind, and the name defined once as an implementation.
                    if len(pick) != 1 or len(impl) > 1:
                        continue
                    ans = self.answer_line(part, pick[0][0], pick[0][1])
                else:
                    if len(impl) + len(decl) == 0 or len(impl) > 1:
                        continue
                    def_files = {e[0] for e in entries}
                    users = [(f, line) for f, line in uses.get(key, {}).items() if f not in def_files]
                    if not users:
                        continue
                    users.sort(key=lambda x: order[(pi, x[0])])
                    ans = []
                    for f, line in users[:3]:
                        lt = self.answer_line(part, f, line)
                        if lt is None:
                            ans = None
                            break
                        if ans:
                            ans.append(self.newline)
                        ans.extend(lt)
                    if ans is not None and len(ans) > MAX_ANSWER_TOKENS * 2:
                        ans = None
                if not ans:
                    continue
                prefix = list(part.name_prefix(name)) if self.cfg.answer_style == 'name-first' else []
                asked.add(key)
                return list(part.question(name, task)), prefix + ans, None
            return None
        if task == 'passkey':
            if key_used[0]:
                return None
            pi, f, a, b = rng.choice(spans)
            part = from_corpus[pi]
            # A safe line inside the span; line 1 (just after the header) only when the header splits exactly there.
            lines = [n for n in range(max(a, 2), b) if part.line_safe(f, n)]
            if a == 1 and part.line_safe(f, 1):
                lines.append(1)
            if not lines:
                return None
            k = rng.randrange(part.passkeys.rows)
            needle = list(part.seq(part.passkeys.get(k, 'needleOff'), part.passkeys.get(k, 'needleLen')))
            answer = list(part.seq(part.passkeys.get(k, 'answerOff'), part.passkeys.get(k, 'answerLen')))
            key_used[0] = True
            return list(part.constants['passkeyQuestion']), answer, (pi, f, rng.choice(lines), needle)
        if task == 'absent':
            # A name defined in the part but nowhere in the context, and not used in it either.
            pi = rng.choice(sorted({s[0] for s in spans}))
            part = from_corpus[pi]
            for _ in range(20 if part.defs.rows else 0):
                d = rng.randrange(part.defs.rows)
                name = part.defs.get(d, 'name')
                if (pi, name) in defs or (pi, name) in uses or (pi, name) in asked:
                    continue
                asked.add((pi, name))
                prefix = list(part.name_prefix(name)) if self.cfg.answer_style == 'name-first' else []
                return list(part.question(name, 'definition')), prefix + list(part.constants['notInContext']), None
            return None
        raise ValueError(f'unknown task {task!r}')

    # --- whole examples ----------------------------------------------------------------------------------------
    def quest_example(self, rng):
        """A Quest-style passkey prompt of this length, if the corpus has one."""
        part = rng.choice(self.parts)
        rows = [r for r in range(part.quest.rows) if part.quest.get(r, 'length') == self.cfg.length]
        if not rows:
            return None
        r = rng.choice(rows)
        prompt = part.quest_tokens[part.quest.get(r, 'promptOff'):part.quest.get(r, 'promptOff') + part.quest.get(r, 'promptLen')]
        answer = part.quest_tokens[part.quest.get(r, 'answerOff'):part.quest.get(r, 'answerOff') + part.quest.get(r, 'answerLen')]
        if len(prompt) + len(answer) + 1 > self.cfg.length + 1:
            return None
        seq = list(prompt)
        start = len(seq)
        seq.extend(answer)
        seq.append(self.eot)
        return self.finish(rng, seq, [(start, len(seq), 'quest')], [], 'quest', start)

    def make(self, seed, step, index):
        rng = example_rng(seed, step, index)
        cfg = self.cfg
        if cfg.quest_fraction > 0 and rng.random() < cfg.quest_fraction:
            ex = self.quest_example(rng)
            if ex is not None:
                return ex
        pairs_wanted = rng.randint(1, cfg.max_pairs if cfg.kind == 'files' else min(cfg.max_pairs, 3))
        budget = cfg.length + 1 - PAIR_RESERVE * pairs_wanted
        spans = self.windows_context(rng, budget) if cfg.kind == 'windows' else self.files_context(rng, budget)
        defs, uses = self.candidates(spans)
        asked = set()
        key_used = [False]
        pairs = []
        for _ in range(pairs_wanted * 3):
            if len(pairs) == pairs_wanted or not spans:
                break
            task = self.pick_task(rng)
            if cfg.kind == 'windows' and task in ('usage', 'absent'):
                task = 'definition'
            pair = self.make_pair(rng, task, spans, defs, uses, asked, key_used)
            if pair is not None:
                pairs.append((task,) + pair)
        # Context tokens, with the pass key's needle where it was placed.
        needle = next((p[3] for p in pairs if p[3] is not None), None)
        seq = []
        files = []
        for pi, f, a, b in spans:
            part = self.parts[pi]
            files.append((part.name, f, len(seq), a, b))
            base = part.files.get(f, 'tokenStart')
            # The header (a window starting later uses it alone: windows() checked that it splits exactly).
            seq.extend(part.tokens[base:base + part.line_start(f, 1)])
            if needle is not None and needle[0] == pi and needle[1] == f and a <= needle[2] < b:
                cut = part.line_start(f, needle[2])
                seq.extend(part.tokens[base + part.line_start(f, a):base + cut])
                seq.extend(needle[3])
                seq.extend(part.tokens[base + cut:base + part.line_start(f, b)])
            else:
                seq.extend(part.tokens[base + part.line_start(f, a):base + part.line_start(f, b)])
        answers = []
        context_end = len(seq)
        for task, q, ans, _needle in pairs:
            if len(seq) + len(q) + len(ans) + 1 > cfg.length + 1:
                break
            seq.extend(q)
            start = len(seq)
            seq.extend(ans)
            seq.append(self.eot)
            answers.append((start, len(seq), task))
        return self.finish(rng, seq, answers, files, cfg.kind, context_end)

    def finish(self, rng, seq, answers, files, kind, context_end):
        L = self.cfg.length
        if len(seq) > L + 1:
            raise AssertionError(f'example of {len(seq)} tokens > length + 1 = {L + 1}')
        content = len(seq)
        seq.extend([self.eot] * (L + 1 - len(seq)))
        weights = [0.0] * L
        frac = self.cfg.lm_fraction
        for t in range(content - 1):
            if rng.random() < frac:
                weights[t] = 1.0
        for start, end, _task in answers:
            for t in range(start - 1, end - 1):
                weights[t] = ANSWER_WEIGHT
        return Example(seq, weights, answers, files, kind, context_end)


def main(argv=None):
    """Dumps or times examples: python3 model/train/examples.py PART... [--length L] [--kind files|windows] [--count N]
    [--seed S] [--answer-style line|name-first] [--dump FILE.jsonl] (one JSON object per example) [--stats]."""
    import argparse
    import json
    import os
    import sys
    import time
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from corpus import load_parts
    ap = argparse.ArgumentParser(description=main.__doc__)
    ap.add_argument('parts', nargs='+')
    ap.add_argument('--length', type=int, default=4096)
    ap.add_argument('--kind', default='files')
    ap.add_argument('--count', type=int, default=64)
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--step', type=int, default=0)
    ap.add_argument('--answer-style', default='line')
    ap.add_argument('--quest-fraction', type=float, default=0.02)
    ap.add_argument('--unpack', default=None)
    ap.add_argument('--dump', default=None)
    a = ap.parse_args(argv)
    parts = load_parts(a.parts, a.unpack)
    asm = Assembler(parts, ExampleConfig(a.length, kind=a.kind, answer_style=a.answer_style, quest_fraction=a.quest_fraction))
    t0 = time.perf_counter()
    out = open(a.dump, 'w', encoding='utf-8') if a.dump else None
    tasks = {}
    pad = 0
    pairs = 0
    for i in range(a.count):
        ex = asm.make(a.seed, a.step, i)
        content = len(ex.tokens)
        while content > 0 and ex.tokens[content - 1] == asm.eot and not any(e == content for _, e, _ in ex.answers):
            content -= 1
        pad += len(ex.tokens) - content
        for _, _, t in ex.answers:
            tasks[t] = tasks.get(t, 0) + 1
        pairs += len(ex.answers)
        if out:
            out.write(json.dumps({'tokens': list(ex.tokens), 'weights': ex.weights, 'answers': ex.answers, 'files': ex.files, 'kind': ex.kind, 'contextEnd': ex.context_end}) + '\n')
    dt = time.perf_counter() - t0
    if out:
        out.close()
    print(json.dumps({'examples': a.count, 'seconds': round(dt, 3), 'msPerExample': round(1000 * dt / a.count, 2),
                      'paddingFraction': round(pad / (a.count * (a.length + 1)), 4), 'pairsPerExample': round(pairs / a.count, 2), 'tasks': tasks}))


if __name__ == '__main__':
    main()
