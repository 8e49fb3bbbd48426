// float64 references of attention over the KV cache (tests only). GQA: query head h reads KV head
// floor(h / (heads / kvHeads)); scores are scaled by 1/sqrt(headDim).

export interface AttentionRefShape {
  readonly heads: number;
  readonly kvHeads: number;
  readonly headDim: number;
}

/** softmax(q · K[keys] / sqrt(headDim)) · V[keys] for one query row, written to out[outAt ..]. */
function attendRow(
  q: ArrayLike<number>,
  qAt: number,
  keys: ArrayLike<number>,
  values: ArrayLike<number>,
  kvHead: number,
  positions: readonly number[],
  s: AttentionRefShape,
  out: Float64Array,
  outAt: number,
): void {
  const { kvHeads, headDim } = s;
  const scale = 1 / Math.sqrt(headDim);
  const scores = positions.map((pos) => {
    let dot = 0;
    for (let d = 0; d < headDim; d++) dot += q[qAt + d] * keys[(pos * kvHeads + kvHead) * headDim + d];
    return dot * scale;
  });
  const max = Math.max(...scores);
  const weights = scores.map((x) => Math.exp(x - max));
  const sum = weights.reduce((a, b) => a + b, 0);
  for (let d = 0; d < headDim; d++) {
    let acc = 0;
    positions.forEach((pos, j) => (acc += weights[j] * values[(pos * kvHeads + kvHead) * headDim + d]));
    out[outAt + d] = acc / sum;
  }
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/**
 * Causal attention of a run: q (tokens, heads, headDim) at positions pos0 .. pos0+tokens-1 over keys and values
 * (>= pos0+tokens, kvHeads, headDim); token t attends to positions 0 .. pos0+t. Returns (tokens, heads, headDim).
 */
export function causalAttentionRef(
  q: ArrayLike<number>,
  keys: ArrayLike<number>,
  values: ArrayLike<number>,
  s: AttentionRefShape & { readonly tokens: number; readonly pos0: number },
): Float64Array {
  const group = s.heads / s.kvHeads;
  const out = new Float64Array(s.tokens * s.heads * s.headDim);
  for (let t = 0; t < s.tokens; t++) {
    const visible = range(s.pos0 + t + 1);
    for (let h = 0; h < s.heads; h++) {
      const at = (t * s.heads + h) * s.headDim;
      attendRow(q, at, keys, values, Math.floor(h / group), visible, s, out, at);
    }
  }
  return out;
}

/**
 * Decode attention: q (heads, headDim) of the token at position length-1 over keys 0 .. length-1, or, with `pages`
 * (per KV head, logical page ids), over the keys of those pages only (Quest). Returns (heads, headDim).
 */
export function decodeAttentionRef(
  q: ArrayLike<number>,
  keys: ArrayLike<number>,
  values: ArrayLike<number>,
  s: AttentionRefShape & { readonly length: number; readonly pageSize: number; readonly pages?: readonly (readonly number[])[] },
): Float64Array {
  const group = s.heads / s.kvHeads;
  const out = new Float64Array(s.heads * s.headDim);
  for (let h = 0; h < s.heads; h++) {
    const kvHead = Math.floor(h / group);
    const positions = s.pages
      ? s.pages[kvHead].flatMap((p) => range(s.pageSize).map((i) => p * s.pageSize + i)).filter((pos) => pos < s.length)
      : range(s.length);
    attendRow(q, h * s.headDim, keys, values, kvHead, positions, s, out, h * s.headDim);
  }
  return out;
}

/**
 * The attention mass a decode query puts on each page: for q (heads, headDim) at position length-1 over keys
 * 0 .. length-1 (or, with `pages`, the keys of each KV head's pages only), the softmax weights of each page's keys at
 * positions massFrom .. massTo-1 (massTo default: every position), summed over the query heads of each KV head. The
 * softmax runs over every attended key, those outside the range included. Returns (kvHeads, ceil(length / pageSize)).
 */
export function decodeAttentionMassRef(
  q: ArrayLike<number>,
  keys: ArrayLike<number>,
  s: AttentionRefShape & {
    readonly length: number;
    readonly pageSize: number;
    readonly pages?: readonly (readonly number[])[];
    readonly massFrom: number;
    readonly massTo?: number;
  },
): Float64Array {
  const { heads, kvHeads, headDim, length, pageSize } = s;
  const group = heads / kvHeads;
  const pageCount = Math.ceil(length / pageSize);
  const out = new Float64Array(kvHeads * pageCount);
  const scale = 1 / Math.sqrt(headDim);
  for (let h = 0; h < heads; h++) {
    const kvHead = Math.floor(h / group);
    const positions = s.pages
      ? s.pages[kvHead].flatMap((p) => range(pageSize).map((i) => p * pageSize + i)).filter((pos) => pos < length)
      : range(length);
    const scores = positions.map((pos) => {
      let dot = 0;
      for (let d = 0; d < headDim; d++) dot += q[h * headDim + d] * keys[(pos * kvHeads + kvHead) * headDim + d];
      return dot * scale;
    });
    const max = Math.max(...scores);
    const weights = scores.map((x) => Math.exp(x - max));
    const sum = weights.reduce((a, b) => a + b, 0);
    positions.forEach((pos, j) => {
      if (pos >= s.massFrom && pos < (s.massTo ?? Infinity)) out[kvHead * pageCount + Math.floor(pos / pageSize)] += weights[j] / sum;
    });
  }
  return out;
}
