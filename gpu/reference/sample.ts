// References for argmax, top-k and the sampling distribution (tests only), written independently of the kernels
// and of gpu/sample.ts: a plain scan, a full sort, and Hugging Face's formulation of top-p.

/** Index of the largest value, lowest index among equals; NaN never wins unless all are NaN (then 0). */
export function argmaxRef(logits: ArrayLike<number>): number {
  let best = -1;
  for (let i = 0; i < logits.length; i++) {
    if (Number.isNaN(logits[i])) continue;
    if (best < 0 || logits[i] > logits[best]) best = i;
  }
  return best < 0 ? 0 : best;
}

/** The k best [value, index] by a full sort: larger value first, then lower index; NaN after -Infinity. */
export function topKRef(logits: ArrayLike<number>, k: number): { values: Float64Array; indices: Uint32Array } {
  const rank = (v: number) => (Number.isNaN(v) ? -Infinity : v);
  const order = Array.from({ length: logits.length }, (_, i) => i).sort((a, b) => {
    const va = rank(logits[a]);
    const vb = rank(logits[b]);
    if (va !== vb) return vb - va;
    const nanA = Number.isNaN(logits[a]) ? 1 : 0;
    const nanB = Number.isNaN(logits[b]) ? 1 : 0;
    return nanA - nanB || a - b;
  });
  const top = order.slice(0, k);
  return { values: Float64Array.from(top, (i) => logits[i]), indices: Uint32Array.from(top) };
}

/**
 * Probability of every token (length = logits.length) under top-k, then temperature, then top-p, computed over the
 * whole vocabulary: top-p keeps a token iff the tempered mass of the tokens ranked before it is < topP (Hugging
 * Face's "remove while cumulative ascending mass <= 1 - topP", from the other end).
 */
export function samplingDistributionRef(
  logits: ArrayLike<number>,
  p: { readonly temperature: number; readonly topK: number; readonly topP: number },
): Float64Array {
  const n = logits.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => logits[b] - logits[a] || a - b);
  const kept = p.topK > 0 ? order.slice(0, p.topK) : order;
  const max = logits[kept[0]];
  const w = kept.map((i) => Math.exp((logits[i] - max) / p.temperature));
  const total = w.reduce((a, b) => a + b, 0);
  const out = new Float64Array(n);
  let before = 0;
  let keptMass = 0;
  const keep: boolean[] = [];
  for (let j = 0; j < kept.length; j++) {
    keep.push(j === 0 || before < p.topP);
    if (keep[j]) keptMass += w[j];
    before += w[j] / total;
  }
  for (let j = 0; j < kept.length; j++) if (keep[j]) out[kept[j]] = w[j] / keptMass;
  return out;
}
