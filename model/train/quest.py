"""Quest's selection in the training loop: the positions the engine answers from in decode steps read only the pages
Quest selects, and the page scores learn to rank pages as the model's own dense attention does.

The engine (gpu/reference/quest.ts says it exactly) keeps per page of `pageSize` keys the element-wise max and min
of the post-RoPE keys (pageMeta); at a decode step each query head scores every earlier page by
sum_i max(q_i * max_i, q_i * min_i), a KV head sums its query heads' scores (aggregation `sum`), keeps the top
pageBudget - 1 earlier pages and always the current page, and attends over those keys only. Layers below
`denseLayers` read every key.

Two things are trained here, at the answer positions of decode steps (an answer token in, the next one out; the
first answer token is predicted from the prompt's last position, which the engine prefills densely):
- the sparse forward: for examples marked sparse, those positions attend over Quest's selection only, so the answer
  loss teaches the model to answer from what Quest keeps;
- the page-score loss: the selection itself gets no gradient, so the page scores are fitted to the dense attention:
  cross-entropy between the dense attention mass on each earlier page (summed over the KV head's query heads) and a
  softmax of the page scores, weighted by the mass on earlier pages (a query that reads only its own page says
  nothing about ranking). Its gradient reaches the queries and, through max/min, the keys that set each bound.
"""
import math

import torch


# Which pages a sparse position reads (the budget is the same for all):
#   kv           the engine's: per KV head, the top pages by the group's summed page scores;
#   kv-max       per KV head, by the group's largest page score;
#   kv-mass      per KV head, by the sum over the group of softmax(page score / sqrt d) over the pages;
#   kv-z         per KV head, by the group's largest page score standardized per query head over the pages;
#   kv-rank      per KV head, by the best rank any query head of the group gives the page (ties: lower page);
#   head         per query head, the top pages by its own page score (what an MHA model's Quest reads);
#   oracle-kv    per KV head, the top pages by the dense attention mass the group gives them (the best any
#                page-score can do when a KV head's query heads share their pages);
#   oracle-head  per query head, the top pages by its own dense attention mass.
# Only `kv` is what the engine runs; the others measure how far a selection rule or a model shape could go
# (quest_probe.py).
SELECTIONS = ('kv', 'kv-max', 'kv-mass', 'kv-z', 'kv-rank', 'head', 'oracle-kv', 'oracle-head')


def group_rank(bound, earlier, selection):
    """The kv-max/kv-mass/kv-z/kv-rank ranking (higher first) of earlier pages from the query heads' bounds
    (..., G, A, N) (kv-mass: already divided by sqrt d); earlier (..., 1, A, N) bool. Returns (..., 1, A, N); later
    pages rank lowest."""
    N = bound.shape[-1]
    b = bound.masked_fill(~earlier, float('-inf'))
    if selection == 'kv-max':
        r = b.amax(-3, keepdim=True)
    elif selection == 'kv-mass':
        r = torch.softmax(b, -1).nan_to_num(0.0).sum(-3, keepdim=True)
    elif selection == 'kv-z':
        n = earlier.sum(-1, keepdim=True).clamp(min=1)
        x = bound.masked_fill(~earlier, 0.0)
        mean = x.sum(-1, keepdim=True) / n
        var = ((x - mean) ** 2).masked_fill(~earlier, 0.0).sum(-1, keepdim=True) / n
        r = ((bound - mean) / var.sqrt().clamp(min=1e-9)).masked_fill(~earlier, float('-inf')).amax(-3, keepdim=True)
    elif selection == 'kv-rank':
        # Rank 0 = the head's highest bound; ties by lower page (a stable descending sort).
        order = torch.sort(b, dim=-1, descending=True, stable=True).indices
        ranks = torch.empty_like(order).scatter_(-1, order, torch.arange(N, device=b.device).expand_as(order))
        best = ranks.amin(-3, keepdim=True)
        r = -(best * N + torch.arange(N, device=b.device)).to(torch.float64)
    else:
        raise ValueError(selection)
    return r.masked_fill(~earlier, float('-inf'))


class QuestTrain:
    """What one training step asks of the sparse layers, and what they report back.

    pos    (B, A) long  positions (input index t, predicting token t + 1) of decode-step answer positions, padded
    valid  (B, A) bool  which entries of pos are real
    sparse (B,) bool    examples whose answer positions read only the selected pages (the others read every page)
    """

    def __init__(self, pos, valid, sparse, page_size, page_budget, dense_layers, selection='kv'):
        if selection not in SELECTIONS:
            raise ValueError(f'selection {selection!r}: one of {SELECTIONS}')
        self.pos, self.valid, self.sparse = pos, valid, sparse
        self.page_size, self.page_budget, self.dense_layers = page_size, page_budget, dense_layers
        self.selection = selection
        self.score_losses = []  # per sparse layer: weighted page-score cross-entropy (a scalar tensor)
        self.recalls = []       # per sparse layer: dense attention mass on earlier pages that the selection keeps

    @classmethod
    def from_weights(cls, w, answer_weight, sparse, page_size, page_budget, dense_layers, selection='kv'):
        """Decode-step answer positions from a batch's loss weights w (B, T): t is one when tokens t and t - 1 are
        both predicted with answer_weight (an answer token in, the next answer token or <|endoftext|> out)."""
        ans = w == answer_weight
        step = torch.zeros_like(ans)
        step[:, 1:] = ans[:, 1:] & ans[:, :-1]
        counts = step.sum(1)
        A = max(1, int(counts.max()))
        B, T = w.shape
        # Stable sort puts each row's positions first, in order; the rest is padding (masked by valid).
        order = torch.sort((~step).to(torch.int8), dim=1, stable=True).indices[:, :A]
        valid = torch.arange(A, device=w.device)[None, :] < counts[:, None]
        pos = torch.where(valid, order, torch.full_like(order, T - 1))
        return cls(pos, valid, sparse, page_size, page_budget, dense_layers, selection)

    def applies(self, layer):
        return layer >= self.dense_layers and bool(self.valid.any())

    def score_loss(self):
        return torch.stack(self.score_losses).mean() if self.score_losses else None

    def recall(self):
        return torch.stack(self.recalls).mean() if self.recalls else None


def quest_attention(q, k, v, qt):
    """Attention at qt.pos with Quest's selection; records the page-score loss and recall on qt.

    q (B, H, T, d), k and v (B, Hkv, T, d), post-RoPE, any float dtype; returns (B, H, A, d) in v's dtype.
    """
    B, H, T, d = q.shape
    Hkv = k.shape[1]
    G = H // Hkv
    P = qt.page_size
    if T % P:
        raise ValueError(f'sequence length {T} is not a multiple of the page size {P}')
    N = T // P
    A = qt.pos.shape[1]
    dev = q.device
    qa = q.gather(2, qt.pos[:, None, :, None].expand(B, H, A, d)).float().view(B, Hkv, G, A, d)  # (B, Hkv, G, A, d)
    kf = k.float()                                                                                  # (B, Hkv, T, d)
    pages = kf.view(B, Hkv, N, P, d)
    kmax, kmin = pages.amax(3), pages.amin(3)                                                       # (B, Hkv, N, d)
    # pageScore: sum_i max(q_i max_i, q_i min_i), summed over the KV head's query heads.
    bound = qa.clamp(min=0) @ kmax[:, :, None].transpose(-1, -2) + qa.clamp(max=0) @ kmin[:, :, None].transpose(-1, -2)
    score = bound.sum(2)                                                                            # (B, Hkv, A, N)
    qpage = qt.pos // P                                                                             # (B, A)
    page_ids = torch.arange(N, device=dev)
    earlier = page_ids[None, None, :] < qpage[:, :, None]                                           # (B, A, N)
    current = page_ids[None, None, :] == qpage[:, :, None]                                          # (B, A, N)
    # Page scores as logits over the earlier pages, on an attention logit's scale (the mean query head's bound over
    # sqrt d): what the selection ranks and the page-score loss fits. A finite fill: a query with no earlier page
    # gets a uniform row and a zero target instead of NaN gradients.
    page_logits = (score / (G * math.sqrt(d))).masked_fill(~earlier[:, None], -1e9)               # (B, Hkv, A, N)
    causal = torch.arange(T, device=dev)[None, None, :] <= qt.pos[:, :, None]                       # (B, A, T)
    logits = (qa @ kf[:, :, None].transpose(-1, -2)) / math.sqrt(d)                                 # (B, Hkv, G, A, T)
    with torch.no_grad():
        # The dense attention mass each query head gives each earlier page: the oracles' ranking, the loss's target.
        dense = torch.softmax(logits.detach().masked_fill(~causal[:, None, None], float('-inf')), dim=-1)
        head_mass = dense.view(B, Hkv, G, A, N, P).sum(-1) * earlier[:, None, None]                 # (B, Hkv, G, A, N)
        before = earlier[:, None, None]                                                             # (B, 1, 1, A, N)
        if qt.selection == 'kv':                                                                    # rank: (B, Hkv, G|1, A, N)
            rank = page_logits[:, :, None]
        elif qt.selection == 'head':
            rank = bound.masked_fill(~before, -1e9)
        elif qt.selection == 'oracle-kv':
            rank = head_mass.sum(2, keepdim=True).masked_fill(~before, -1.0)
        elif qt.selection == 'oracle-head':
            rank = head_mass.masked_fill(~before, -1.0)
        else:
            rank = group_rank(bound / math.sqrt(d) if qt.selection == 'kv-mass' else bound, before, qt.selection)
        k_top = min(qt.page_budget - 1, N)
        chosen = torch.zeros_like(rank, dtype=torch.bool)
        if k_top > 0:
            chosen.scatter_(-1, rank.topk(k_top, dim=-1).indices, True)
        chosen = chosen & earlier[:, None, None]  # fewer earlier pages than k_top: the fill's picks are not pages to read
        selected = chosen | current[:, None, None]                                                  # (B, Hkv, G|1, A, N)
        reads = selected.repeat_interleave(P, dim=-1) | ~qt.sparse[:, None, None, None, None]       # (B, Hkv, G|1, A, T)
        reads &= causal[:, None, None]
    probs = torch.softmax(logits.masked_fill(~reads, float('-inf')), dim=-1)
    out = (probs.to(v.dtype) @ v[:, :, None]).reshape(B, H, A, d)

    # Page-score loss against the dense attention (a target: no gradient through it).
    with torch.no_grad():
        mass = head_mass.mean(2)                                                                    # (B, Hkv, A, N)
        on_earlier = mass.sum(-1)                                                                   # (B, Hkv, A)
        target = mass / on_earlier.clamp(min=1e-9)[..., None]
        weight = on_earlier * qt.valid[:, None]  # 0 for a query with no earlier page: no mass on one
        kept = (head_mass * chosen).sum(-1).mean(2) * (weight > 0)
    logp = torch.log_softmax(page_logits, dim=-1)
    ce = -(target * logp.masked_fill(~earlier[:, None], 0.0)).sum(-1)                               # (B, Hkv, A)
    qt.score_losses.append((ce * weight).sum() / weight.sum().clamp(min=1e-9))
    qt.recalls.append(kept.sum() / on_earlier.mul(weight > 0).sum().clamp(min=1e-9))
    return out


def page_ranks(q, k, t, n_scored, P, first, G, j, selection):
    """check()'s ranking (higher first) of the earlier pages 0 .. n_scored-1 for query head first + j at position t
    (q (H, T, d), k (T, d) of its KV head), by the rule written out per page in float64."""
    d = q.shape[-1]

    def bound(i, page):
        keys = k[page * P:(page + 1) * P]
        hi, lo = keys.max(0).values, keys.min(0).values
        return float(torch.maximum(q[first + i, t] * hi, q[first + i, t] * lo).sum())

    def mass(i, page):
        return float(torch.softmax(k[:t + 1] @ q[first + i, t] / math.sqrt(d), 0)[page * P:(page + 1) * P].sum())

    pages = range(n_scored)
    if selection in ('head', 'oracle-head'):
        f = bound if selection == 'head' else mass
        return [f(j, p) for p in pages]
    if selection == 'oracle-kv':
        return [sum(mass(i, p) for i in range(G)) for p in pages]
    rows = [[bound(i, p) for p in pages] for i in range(G)]
    if selection == 'kv':
        return [sum(r[p] for r in rows) for p in pages]
    if selection == 'kv-max':
        return [max(r[p] for r in rows) for p in pages]
    if selection == 'kv-mass':
        return [sum(math.exp(r[p] / math.sqrt(d) - max(r) / math.sqrt(d)) / sum(math.exp(x / math.sqrt(d) - max(r) / math.sqrt(d)) for x in r)
                    for r in rows) for p in pages]
    if selection == 'kv-z':
        z = []
        for r in rows:
            mean = sum(r) / len(r)
            sd = max(math.sqrt(sum((x - mean) ** 2 for x in r) / len(r)), 1e-9)
            z.append([(x - mean) / sd for x in r])
        return [max(zr[p] for zr in z) for p in pages]
    # kv-rank: each head's ranks by bound (ties: lower page first), the best over the group, then the lower page.
    best = [n_scored] * n_scored
    for r in rows:
        for at, p in enumerate(sorted(pages, key=lambda p: (-r[p], p))):
            best[p] = min(best[p], at)
    return [-(best[p] * n_scored + p) for p in pages]


def check(device, seed=0):
    """quest_attention against a per-query float64 loop written from gpu/reference/quest.ts (pageScoreRef with `sum`,
    selectPagesRef, attention over the selected keys), on awkward shapes, for every selection rule; plus: every page
    in the budget reads like dense attention, and the page-score loss has finite gradients. Returns a report with 'ok'."""
    g = torch.Generator().manual_seed(seed)
    report = {}
    ok = True
    shapes = ((2, 6, 2, 48, 8, 8, 24), (1, 4, 4, 36, 6, 4, 8), (3, 2, 1, 40, 4, 5, 15))
    for (B, H, Hkv, T, d, P, budget), selection in [(s, 'kv') for s in shapes] + [(shapes[0], r) for r in SELECTIONS[1:]]:
        q = torch.randn(B, H, T, d, generator=g, dtype=torch.float64)
        k = torch.randn(B, Hkv, T, d, generator=g, dtype=torch.float64)
        v = torch.randn(B, Hkv, T, d, generator=g, dtype=torch.float64)
        w = torch.zeros(B, T)
        for b in range(B):  # two answers per row at varying places, one starting on a page boundary
            w[b, P - 1:P + 3 + b] = 5.0
            w[b, T - 9 - b:T - 2] = 5.0
        sparse = torch.tensor([b % 2 == 0 for b in range(B)])
        qt = QuestTrain.from_weights(w, 5.0, sparse, P, budget // P, 0, selection)
        got = quest_attention(q, k, v, qt)
        want = torch.zeros_like(got)
        G = H // Hkv
        for b in range(B):
            for a in range(qt.pos.shape[1]):
                t = int(qt.pos[b, a])
                n_scored = t // P
                for kv in range(Hkv):
                    for j in range(G):
                        h = kv * G + j
                        keys_read = list(range(t + 1))
                        if sparse[b]:
                            scores = page_ranks(q[b], k[b, kv], t, n_scored, P, kv * G, G, j, selection) if n_scored else []
                            order = sorted(range(n_scored), key=lambda p: (-scores[p], p))[:min(budget // P - 1, n_scored)]
                            keys_read = [i for p in order + [n_scored] for i in range(p * P, min((p + 1) * P, t + 1))]
                        idx = torch.tensor(keys_read)
                        att = torch.softmax(k[b, kv, idx] @ q[b, h, t] / math.sqrt(d), 0)
                        want[b, h, a] = att @ v[b, kv, idx]
        err = (got - want)[qt.valid[:, None, :, None].expand_as(got)].abs().max().item()
        key = f'B{B}H{H}kv{Hkv}T{T}d{d}P{P}budget{budget}' + ('' if selection == 'kv' else f' {selection}')
        report[key] = err
        ok &= err < 1e-5  # quest_attention computes in float32
    # A budget that covers every page reads like dense attention; the loss's gradients are finite.
    B, H, Hkv, T, d, P = 2, 4, 2, 64, 16, 8
    q = torch.randn(B, H, T, d, generator=g, requires_grad=True)
    k = torch.randn(B, Hkv, T, d, generator=g, requires_grad=True)
    v = torch.randn(B, Hkv, T, d, generator=g)
    w = torch.zeros(B, T)
    w[:, 20:30] = 5.0
    w[:, 50:60] = 5.0
    qt = QuestTrain.from_weights(w, 5.0, torch.tensor([True, True]), P, T // P, 0)
    out = quest_attention(q, k, v, qt)
    dense = torch.softmax((q @ k.repeat_interleave(H // Hkv, 1).transpose(-1, -2)) / math.sqrt(d)
                          + torch.triu(torch.full((T, T), float('-inf')), 1), -1) @ v.repeat_interleave(H // Hkv, 1)
    want = dense.gather(2, qt.pos[:, None, :, None].expand(B, H, qt.pos.shape[1], d))
    report['fullBudgetVsDense'] = (out - want).abs().max().item()
    ok &= report['fullBudgetVsDense'] < 1e-5
    report['fullBudgetRecall'] = qt.recall().item()
    ok &= abs(report['fullBudgetRecall'] - 1) < 1e-5
    (out.sum() + qt.score_loss()).backward()
    report['gradsFinite'] = bool(torch.isfinite(q.grad).all() and torch.isfinite(k.grad).all())
    ok &= report['gradsFinite']
    report['ok'] = bool(ok)
    return report
