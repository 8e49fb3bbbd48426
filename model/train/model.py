"""The default model in PyTorch: llama.cpp's `llama` architecture exactly as the engine runs it (reference.py says it
in plain Python; train.py --selfcheck compares the two on the GPU machine before any training).

    RMSNorm (eps normEps, computed in float32), RoPE on ADJACENT pairs (2i, 2i+1) of each head with angle
    pos * theta^(-2i / headDim) (the GGUF `llama` convention: no Q/K permutation at export), grouped-query attention
    (query head j reads KV head j // (heads / kvHeads)), SwiGLU feed-forward, no biases, tied embeddings.
"""
import json
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from quest import quest_attention


class ModelConfig:
    FIELDS = ('layers', 'dim', 'ffn', 'heads', 'kvHeads', 'headDim', 'vocab', 'normEps', 'ropeTheta', 'contextLength')

    def __init__(self, layers=8, dim=384, ffn=1024, heads=6, kvHeads=2, headDim=64, vocab=50281, normEps=1e-5,
                 ropeTheta=10000.0, contextLength=16384):
        self.layers, self.dim, self.ffn = layers, dim, ffn
        self.heads, self.kvHeads, self.headDim = heads, kvHeads, headDim
        self.vocab, self.normEps, self.ropeTheta, self.contextLength = vocab, normEps, ropeTheta, contextLength
        if heads * headDim != dim:
            raise ValueError(f'heads {heads} * headDim {headDim} must equal dim {dim} (the llama GGUF derives headDim from them)')
        if heads % kvHeads:
            raise ValueError(f'heads {heads} must be a multiple of kvHeads {kvHeads}')
        if headDim % 2:
            raise ValueError(f'headDim {headDim} must be even (RoPE rotates pairs)')

    def to_json(self):
        return {k: getattr(self, k) for k in self.FIELDS}

    @classmethod
    def from_json(cls, d):
        return cls(**{k: d[k] for k in cls.FIELDS if k in d})

    def __repr__(self):
        return json.dumps(self.to_json())


class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        xf = x.float()
        return xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight.float()


def rope_tables(cfg, length, device):
    """(length, headDim / 2) cos and sin, angles computed in float64 (the engine forms them exactly, too)."""
    half = cfg.headDim // 2
    inv = cfg.ropeTheta ** (-2.0 * torch.arange(half, dtype=torch.float64) / cfg.headDim)
    ang = torch.arange(length, dtype=torch.float64)[:, None] * inv[None, :]
    return torch.cos(ang).float().to(device), torch.sin(ang).float().to(device)


def apply_rope(x, cos, sin):
    """x: (B, T, heads, headDim) float32; rotates each adjacent pair (2i, 2i+1) by the position's angle i."""
    T = x.shape[1]
    xp = x.reshape(*x.shape[:-1], -1, 2)
    x0, x1 = xp[..., 0], xp[..., 1]
    c = cos[:T][None, :, None, :]
    s = sin[:T][None, :, None, :]
    return torch.stack((x0 * c - x1 * s, x0 * s + x1 * c), dim=-1).reshape(x.shape)


class Block(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        d, hd = cfg.dim, cfg.headDim
        self.attn_norm = RMSNorm(d, cfg.normEps)
        self.attn_q = nn.Linear(d, cfg.heads * hd, bias=False)
        self.attn_k = nn.Linear(d, cfg.kvHeads * hd, bias=False)
        self.attn_v = nn.Linear(d, cfg.kvHeads * hd, bias=False)
        self.attn_output = nn.Linear(cfg.heads * hd, d, bias=False)
        self.ffn_norm = RMSNorm(d, cfg.normEps)
        self.ffn_gate = nn.Linear(d, cfg.ffn, bias=False)
        self.ffn_up = nn.Linear(d, cfg.ffn, bias=False)
        self.ffn_down = nn.Linear(cfg.ffn, d, bias=False)

    def forward(self, x, cos, sin, quest=None):
        """quest: a QuestTrain when this layer answers decode-step positions through Quest's selection."""
        cfg = self.cfg
        B, T, _ = x.shape
        h = self.attn_norm(x)
        q = self.attn_q(h).float().view(B, T, cfg.heads, cfg.headDim)
        k = self.attn_k(h).float().view(B, T, cfg.kvHeads, cfg.headDim)
        v = self.attn_v(h).view(B, T, cfg.kvHeads, cfg.headDim)
        q = apply_rope(q, cos, sin).to(v.dtype).transpose(1, 2)
        k = apply_rope(k, cos, sin).to(v.dtype).transpose(1, 2)
        v = v.transpose(1, 2)
        kv = (k, v)
        group = cfg.heads // cfg.kvHeads
        if group > 1:
            # Query head j reads KV head j // group, as the engine does.
            k = k.repeat_interleave(group, dim=1)
            v = v.repeat_interleave(group, dim=1)
        a = F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2)  # (B, T, heads, headDim)
        if quest is not None:
            # The decode-step positions' outputs replaced by Quest's (out of place: SDPA's backward needs its output).
            sparse = quest_attention(q, *kv, quest).transpose(1, 2)  # (B, A, heads, headDim)
            rows = torch.arange(B, device=x.device)[:, None].expand_as(quest.pos)
            a = a.index_put((rows[quest.valid], quest.pos[quest.valid]), sparse[quest.valid].to(a.dtype))
        x = x + self.attn_output(a.reshape(B, T, cfg.heads * cfg.headDim))
        h2 = self.ffn_norm(x)
        return x + self.ffn_down(F.silu(self.ffn_gate(h2)) * self.ffn_up(h2))


class Transformer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.token_embd = nn.Embedding(cfg.vocab, cfg.dim)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.layers))
        self.output_norm = RMSNorm(cfg.dim, cfg.normEps)
        # RoPE tables for every position the model is trained for (buffers: they move with .to(device)).
        cos, sin = rope_tables(cfg, cfg.contextLength, 'cpu')
        self.register_buffer('rope_cos', cos, persistent=False)
        self.register_buffer('rope_sin', sin, persistent=False)
        self.reset_parameters()

    def reset_parameters(self):
        std = 0.02
        nn.init.normal_(self.token_embd.weight, 0.0, std)
        for b in self.blocks:
            for lin in (b.attn_q, b.attn_k, b.attn_v, b.ffn_gate, b.ffn_up):
                nn.init.normal_(lin.weight, 0.0, std)
            # Residual branches scaled down with depth (GPT-2).
            for lin in (b.attn_output, b.ffn_down):
                nn.init.normal_(lin.weight, 0.0, std / math.sqrt(2 * self.cfg.layers))

    def hidden(self, tokens, quest=None):
        """tokens (B, T) → final-normed hidden states (B, T, dim), float32. T <= contextLength. quest: a QuestTrain
        (quest.py) to train Quest's selection at its positions, in the layers it applies to."""
        x = self.token_embd(tokens).float()
        for i, b in enumerate(self.blocks):
            x = b(x, self.rope_cos, self.rope_sin, quest if quest is not None and quest.applies(i) else None)
        return self.output_norm(x)

    def logits(self, hidden):
        """The tied LM head on any (…, dim) hidden states."""
        return F.linear(hidden, self.token_embd.weight)

    def forward(self, tokens):
        return self.logits(self.hidden(tokens))

    # --- GGUF names (ckpt.llama_tensor_shapes order) -------------------------------------------------------------
    def gguf_tensors(self):
        """[(GGUF name, parameter)] in checkpoint order."""
        out = [('token_embd.weight', self.token_embd.weight), ('output_norm.weight', self.output_norm.weight)]
        for i, b in enumerate(self.blocks):
            p = f'blk.{i}.'
            out += [(p + 'attn_norm.weight', b.attn_norm.weight), (p + 'attn_q.weight', b.attn_q.weight),
                    (p + 'attn_k.weight', b.attn_k.weight), (p + 'attn_v.weight', b.attn_v.weight),
                    (p + 'attn_output.weight', b.attn_output.weight), (p + 'ffn_norm.weight', b.ffn_norm.weight),
                    (p + 'ffn_gate.weight', b.ffn_gate.weight), (p + 'ffn_up.weight', b.ffn_up.weight),
                    (p + 'ffn_down.weight', b.ffn_down.weight)]
        return out
