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


class QuestTrain:
    """What one training step asks of the sparse layers, and what they report back.

    pos    (B, A) long  positions (input index t, predicting token t + 1) of decode-step answer positions, padded
    valid  (B, A) bool  which entries of pos are real
    sparse (B,) bool    examples whose answer positions read only the selected pages (the others read every page)
    """

    def __init__(self, pos, valid, sparse, page_size, page_budget, dense_layers):
        self.pos, self.valid, self.sparse = pos, valid, sparse
        self.page_size, self.page_budget, self.dense_layers = page_size, page_budget, dense_layers
        self.score_losses = []  # per sparse layer: weighted page-score cross-entropy (a scalar tensor)
        self.recalls = []       # per sparse layer: dense attention mass on earlier pages that the selection keeps

    @classmethod
    def from_weights(cls, w, answer_weight, sparse, page_size, page_budget, dense_layers):
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
        return cls(pos, valid, sparse, page_size, page_budget, dense_layers)

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
    with torch.no_grad():
        k_top = min(qt.page_budget - 1, N)
        chosen = torch.zeros_like(page_logits, dtype=torch.bool)
        if k_top > 0:
            chosen.scatter_(-1, page_logits.topk(k_top, dim=-1).indices, True)
        chosen &= earlier[:, None]  # fewer earlier pages than k_top: the fill's picks are not pages to read
        selected = chosen | current[:, None]                                                        # (B, Hkv, A, N)
        causal = torch.arange(T, device=dev)[None, None, :] <= qt.pos[:, :, None]                   # (B, A, T)
        reads = selected.repeat_interleave(P, dim=-1) | ~qt.sparse[:, None, None, None]             # (B, Hkv, A, T)
        reads &= causal[:, None]
    logits = (qa @ kf[:, :, None].transpose(-1, -2)) / math.sqrt(d)                                 # (B, Hkv, G, A, T)
    probs = torch.softmax(logits.masked_fill(~reads[:, :, None], float('-inf')), dim=-1)
    out = (probs.to(v.dtype) @ v[:, :, None]).reshape(B, H, A, d)

    # Page-score loss against the dense attention (a target: no gradient through it).
    with torch.no_grad():
        dense = torch.softmax(logits.detach().masked_fill(~causal[:, None, None], float('-inf')), dim=-1)
        mass = dense.view(B, Hkv, G, A, N, P).sum(-1).mean(2)                                       # (B, Hkv, A, N)
        mass = mass * earlier[:, None]
        on_earlier = mass.sum(-1)                                                                   # (B, Hkv, A)
        target = mass / on_earlier.clamp(min=1e-9)[..., None]
        weight = on_earlier * qt.valid[:, None]  # 0 for a query with no earlier page: no mass on one
        kept = (mass * chosen).sum(-1) * (weight > 0)
    logp = torch.log_softmax(page_logits, dim=-1)
    ce = -(target * logp.masked_fill(~earlier[:, None], 0.0)).sum(-1)                               # (B, Hkv, A)
    qt.score_losses.append((ce * weight).sum() / weight.sum().clamp(min=1e-9))
    qt.recalls.append(kept.sum() / on_earlier.mul(weight > 0).sum().clamp(min=1e-9))
    return out


def check(device, seed=0):
    """quest_attention against a per-query float64 loop written from gpu/reference/quest.ts (pageScoreRef with `sum`,
    selectPagesRef, attention over the selected keys), on awkward shapes; plus: every page in the budget reads like
    dense attention, and the page-score loss has finite gradients. Returns a report with 'ok'."""
    g = torch.Generator().manual_seed(seed)
    report = {}
    ok = True
    for (B, H, Hkv, T, d, P, budget) in ((2, 6, 2, 48, 8, 8, 24), (1, 4, 4, 36, 6, 4, 8), (3, 2, 1, 40, 4, 5, 15)):
        q = torch.randn(B, H, T, d, generator=g, dtype=torch.float64)
        k = torch.randn(B, Hkv, T, d, generator=g, dtype=torch.float64)
        v = torch.randn(B, Hkv, T, d, generator=g, dtype=torch.float64)
        w = torch.zeros(B, T)
        for b in range(B):  # two answers per row at varying places, one starting on a page boundary
            w[b, P - 1:P + 3 + b] = 5.0
            w[b, T - 9 - b:T - 2] = 5.0
        sparse = torch.tensor([b % 2 == 0 for b in range(B)])
        qt = QuestTrain.from_weights(w, 5.0, sparse, P, budget // P, 0)
        got = quest_attention(q, k, v, qt)
        want = torch.zeros_like(got)
        G = H // Hkv
        for b in range(B):
            for a in range(qt.pos.shape[1]):
                t = int(qt.pos[b, a])
                n_scored = t // P
                for kv in range(Hkv):
                    if sparse[b]:
                        scores = []
                        for page in range(n_scored):
                            keys = k[b, kv, page * P:(page + 1) * P]
                            hi, lo = keys.max(0).values, keys.min(0).values
                            scores.append(sum(float(torch.maximum(q[b, kv * G + j, t] * hi, q[b, kv * G + j, t] * lo).sum())
                                              for j in range(G)))
                        order = sorted(range(n_scored), key=lambda p: (-scores[p], p))[:min(budget // P - 1, n_scored)]
                        keys_read = [i for p in order + [n_scored] for i in range(p * P, min((p + 1) * P, t + 1))]
                    else:
                        keys_read = list(range(t + 1))
                    for j in range(G):
                        h = kv * G + j
                        idx = torch.tensor(keys_read)
                        att = torch.softmax(k[b, kv, idx] @ q[b, h, t] / math.sqrt(d), 0)
                        want[b, h, a] = att @ v[b, kv, idx]
        err = (got - want)[qt.valid[:, None, :, None].expand_as(got)].abs().max().item()
        key = f'B{B}H{H}kv{Hkv}T{T}d{d}P{P}budget{budget}'
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
