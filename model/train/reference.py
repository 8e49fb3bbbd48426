"""The model's forward pass in plain Python (float64, standard library only): the architecture the trainer must
implement and the exporter must lay out, checked against the engine's float64 reference through an exported GGUF
(test/unit/modelExport.test.ts) and against the PyTorch model on the GPU machine (train.py --selfcheck).

Architecture (llama.cpp's `llama`, as the engine runs it):
    x = token_embd[token]
    per layer:  h = rmsnorm(x) * attn_norm
                q, k, v = attn_q h, attn_k h, attn_v h                  GQA: query head j reads KV head j // (heads / kvHeads)
                q, k rotated by RoPE on ADJACENT pairs (2i, 2i+1) of each head, angle = pos * theta^(-2i / headDim)
                x += attn_output softmax(q k^T / sqrt(headDim), causal) v
                x += ffn_down (silu(ffn_gate h2) * ffn_up h2),  h2 = rmsnorm(x) * ffn_norm
    logits = token_embd rmsnorm(x) * output_norm                        (tied embeddings)
    rmsnorm(x) = x / sqrt(mean(x^2) + normEps)

    python3 model/train/reference.py random DIR --config '{"layers":2,...}' --seed 1 [--dtypes attn_q.weight=q8_0,...]
    python3 model/train/reference.py forward DIR --tokens 1,2,3       prints JSON: last logits, argmax per position
"""
import json
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ckpt  # noqa: E402


class ReferenceModel:
    def __init__(self, config, weights):
        self.c = config
        self.w = weights
        self.keys = [[] for _ in range(config['layers'])]
        self.values = [[] for _ in range(config['layers'])]

    @classmethod
    def load(cls, folder):
        header, tensors = ckpt.read_checkpoint(folder)
        return cls(header['config'], {name: ckpt.decode(dt, data) for name, (dt, _shape, data) in tensors.items()})

    def rmsnorm(self, x, w):
        scale = 1 / math.sqrt(sum(v * v for v in x) / len(x) + self.c['normEps'])
        return [v * scale * g for v, g in zip(x, w)]

    @staticmethod
    def matvec(w, x, rows):
        cols = len(x)
        return [sum(w[r * cols + c] * x[c] for c in range(cols)) for r in range(rows)]

    def rope(self, x, heads, pos):
        hd = self.c['headDim']
        out = list(x)
        for h in range(heads):
            for i in range(hd // 2):
                theta = pos * self.c['ropeTheta'] ** (-2 * i / hd)
                a, b = h * hd + 2 * i, h * hd + 2 * i + 1
                out[a] = x[a] * math.cos(theta) - x[b] * math.sin(theta)
                out[b] = x[a] * math.sin(theta) + x[b] * math.cos(theta)
        return out

    def forward(self, token):
        c, w = self.c, self.w
        d, hd, H, KV = c['dim'], c['headDim'], c['heads'], c['kvHeads']
        pos = len(self.keys[0])
        x = w['token_embd.weight'][token * d:(token + 1) * d]
        for l in range(c['layers']):
            p = f'blk.{l}.'
            h = self.rmsnorm(x, w[p + 'attn_norm.weight'])
            q = self.rope(self.matvec(w[p + 'attn_q.weight'], h, H * hd), H, pos)
            k = self.rope(self.matvec(w[p + 'attn_k.weight'], h, KV * hd), KV, pos)
            v = self.matvec(w[p + 'attn_v.weight'], h, KV * hd)
            self.keys[l].append(k)
            self.values[l].append(v)
            att = [0.0] * (H * hd)
            group = H // KV
            for j in range(H):
                kv = (j // group) * hd
                scores = [sum(q[j * hd + i] * kk[kv + i] for i in range(hd)) / math.sqrt(hd) for kk in self.keys[l]]
                m = max(scores)
                e = [math.exp(s - m) for s in scores]
                total = sum(e)
                for t, vv in enumerate(self.values[l]):
                    pr = e[t] / total
                    for i in range(hd):
                        att[j * hd + i] += pr * vv[kv + i]
            o = self.matvec(w[p + 'attn_output.weight'], att, d)
            x = [a + b for a, b in zip(x, o)]
            h2 = self.rmsnorm(x, w[p + 'ffn_norm.weight'])
            g = self.matvec(w[p + 'ffn_gate.weight'], h2, c['ffn'])
            u = self.matvec(w[p + 'ffn_up.weight'], h2, c['ffn'])
            act = [gi / (1 + math.exp(-gi)) * ui for gi, ui in zip(g, u)]
            x = [a + b for a, b in zip(x, self.matvec(w[p + 'ffn_down.weight'], act, d))]
        out = self.rmsnorm(x, w['output_norm.weight'])
        return self.matvec(w['token_embd.weight'], out, c['vocab'])


def main(argv):
    import argparse
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest='cmd', required=True)
    r = sub.add_parser('random')
    r.add_argument('dir')
    r.add_argument('--config', required=True)
    r.add_argument('--seed', type=int, default=1)
    r.add_argument('--scale', type=float, default=1.0)
    r.add_argument('--dtypes', default='')
    f = sub.add_parser('forward')
    f.add_argument('dir')
    f.add_argument('--tokens', required=True)
    a = ap.parse_args(argv)
    if a.cmd == 'random':
        dtypes = dict(kv.split('=') for kv in a.dtypes.split(',') if kv)
        ckpt.random_checkpoint(a.dir, json.loads(a.config), a.seed, dtypes, a.scale)
        print(json.dumps({'written': a.dir}))
        return
    model = ReferenceModel.load(a.dir)
    argmax = []
    logits = []
    for t in [int(s) for s in a.tokens.split(',')]:
        logits = model.forward(t)
        argmax.append(max(range(len(logits)), key=logits.__getitem__))
    print(json.dumps({'lastLogits': logits, 'argmax': argmax}))


if __name__ == '__main__':
    main(sys.argv[1:])
