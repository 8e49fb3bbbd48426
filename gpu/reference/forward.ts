// float64 reference forward pass of the llama-family models the engine runs (llama, qwen2, qwen3). Tests only:
// plain loops, no GPU, so that every kernel and the whole engine can be checked against it.
import type { ModelConfig } from '../model/config';
import { ropeInvFreq } from '../model/rope';
import { ropeRef } from './rope';

/** A tensor dequantized to float64, row-major with ne0 (the contiguous GGUF dimension) innermost. */
export type ReferenceWeights = (name: string) => Float64Array;

function rmsNorm(x: Float64Array, w: Float64Array, eps: number, offset = 0, n = x.length): Float64Array {
  let ss = 0;
  for (let i = 0; i < n; i++) ss += x[offset + i] ** 2;
  const scale = 1 / Math.sqrt(ss / n + eps);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = x[offset + i] * scale * w[i];
  return out;
}

/** y = W·x for W (rows, cols) row-major. */
function matVec(w: Float64Array, x: Float64Array, rows: number): Float64Array {
  const cols = x.length;
  const y = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let acc = 0;
    const base = r * cols;
    for (let c = 0; c < cols; c++) acc += w[base + c] * x[c];
    y[r] = acc;
  }
  return y;
}

/** One sequence's state: the dense KV cache of every layer, grown one position at a time. */
export class ReferenceModel {
  /** (layers) → (positions, kvHeads * headDim) keys after RoPE / values. */
  readonly keys: number[][][] = [];
  readonly values: number[][][] = [];
  private readonly invFreq: Float64Array;
  private readonly cache = new Map<string, Float64Array>();

  constructor(
    readonly cfg: ModelConfig,
    private readonly weights: ReferenceWeights,
    /** Called at every layer with the query (heads, headDim) after RoPE and the layer's keys so far: for evaluations. */
    private readonly onAttention?: (layer: number, q: Float64Array, keys: readonly number[][]) => void,
  ) {
    const { theta, dims, scaling } = cfg.rope;
    // Llama 3.x GGUFs carry their scaling as per-pair frequency divisors (rope_freqs.weight).
    const freqFactors = cfg.ropeFreqsTensor ? weights(cfg.ropeFreqsTensor) : undefined;
    this.invFreq = ropeInvFreq({ theta, dims, scaling, freqFactors });
    for (let l = 0; l < cfg.layers; l++) {
      this.keys.push([]);
      this.values.push([]);
    }
  }

  get position(): number {
    return this.keys[0].length;
  }

  /** Runs one token at the next position; returns its logits (vocab). */
  forward(token: number): Float64Array {
    const c = this.cfg;
    const pos = this.position;
    const qDim = c.heads * c.headDim;
    const kvDim = c.kvHeads * c.headDim;
    const group = c.heads / c.kvHeads;
    const embd = this.w('token_embd.weight');
    let x: Float64Array = embd.slice(token * c.dim, (token + 1) * c.dim);

    for (let l = 0; l < c.layers; l++) {
      const p = `blk.${l}.`;
      const h = rmsNorm(x, this.w(`${p}attn_norm.weight`), c.normEps);
      const q = matVec(this.w(`${p}attn_q.weight`), h, qDim);
      const k = matVec(this.w(`${p}attn_k.weight`), h, kvDim);
      const v = matVec(this.w(`${p}attn_v.weight`), h, kvDim);
      if (c.qkvBias) {
        addInPlace(q, this.w(`${p}attn_q.bias`));
        addInPlace(k, this.w(`${p}attn_k.bias`));
        addInPlace(v, this.w(`${p}attn_v.bias`));
      }
      if (c.qkNorm) {
        headNorm(q, c.heads, c.headDim, this.w(`${p}attn_q_norm.weight`), c.normEps);
        headNorm(k, c.kvHeads, c.headDim, this.w(`${p}attn_k_norm.weight`), c.normEps);
      }
      const rope = { tokens: 1, headDim: c.headDim, dims: c.rope.dims, style: c.rope.style, pos0: pos };
      const qr = ropeRef(q, this.invFreq, { ...rope, heads: c.heads });
      const kr = ropeRef(k, this.invFreq, { ...rope, heads: c.kvHeads });
      this.keys[l].push(Array.from(kr));
      this.values[l].push(Array.from(v));

      this.onAttention?.(l, qr, this.keys[l]);
      const att = attend(qr, this.keys[l], this.values[l], c.heads, c.headDim, group);
      x = add(x, matVec(this.w(`${p}attn_output.weight`), att, c.dim));

      const h2 = rmsNorm(x, this.w(`${p}ffn_norm.weight`), c.normEps);
      const gate = matVec(this.w(`${p}ffn_gate.weight`), h2, c.ffn);
      const up = matVec(this.w(`${p}ffn_up.weight`), h2, c.ffn);
      for (let i = 0; i < c.ffn; i++) gate[i] = (gate[i] / (1 + Math.exp(-gate[i]))) * up[i];
      x = add(x, matVec(this.w(`${p}ffn_down.weight`), gate, c.dim));
    }
    const out = rmsNorm(x, this.w('output_norm.weight'), c.normEps);
    const head = c.tiedEmbeddings ? embd : this.w('output.weight');
    return matVec(head, out, c.vocab);
  }

  private w(name: string): Float64Array {
    let t = this.cache.get(name);
    if (!t) {
      t = this.weights(name);
      this.cache.set(name, t);
    }
    return t;
  }
}

/** Causal attention of one query over every cached position; GQA: query head h reads KV head floor(h / group). */
export function attend(q: Float64Array, keys: number[][], values: number[][], heads: number, headDim: number, group: number): Float64Array {
  const out = new Float64Array(heads * headDim);
  const scale = 1 / Math.sqrt(headDim);
  const scores = new Float64Array(keys.length);
  for (let h = 0; h < heads; h++) {
    const kvOff = Math.floor(h / group) * headDim;
    let max = -Infinity;
    for (let t = 0; t < keys.length; t++) {
      let s = 0;
      for (let i = 0; i < headDim; i++) s += q[h * headDim + i] * keys[t][kvOff + i];
      scores[t] = s * scale;
      max = Math.max(max, scores[t]);
    }
    let sum = 0;
    for (let t = 0; t < keys.length; t++) sum += scores[t] = Math.exp(scores[t] - max);
    for (let t = 0; t < keys.length; t++) {
      const p = scores[t] / sum;
      for (let i = 0; i < headDim; i++) out[h * headDim + i] += p * values[t][kvOff + i];
    }
  }
  return out;
}

function headNorm(x: Float64Array, heads: number, headDim: number, w: Float64Array, eps: number): void {
  for (let h = 0; h < heads; h++) x.set(rmsNorm(x, w, eps, h * headDim, headDim), h * headDim);
}

function addInPlace(a: Float64Array, b: Float64Array): void {
  for (let i = 0; i < a.length; i++) a[i] += b[i];
}

function add(a: Float64Array, b: Float64Array): Float64Array {
  const out = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i] + b[i];
  return out;
}

/** Softmax of logits in float64. */
export function softmaxRef(logits: Float64Array): Float64Array {
  let max = -Infinity;
  for (const v of logits) max = Math.max(max, v);
  const out = new Float64Array(logits.length);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += out[i] = Math.exp(logits[i] - max);
  for (let i = 0; i < out.length; i++) out[i] /= sum;
  return out;
}
