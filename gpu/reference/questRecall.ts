// How much of the true attention mass Quest's page selection keeps (float64, evaluations and tests only): for one
// query over a layer's keys, the fraction of each query head's softmax mass that falls on the pages its KV head
// selected. 1 means the selection read every key that mattered.
import { pageMetaRef } from './kv';
import { pageScoreRef, selectPagesRef } from './quest';

export interface RecallCase {
  /** (heads, headDim) after RoPE. */
  readonly q: ArrayLike<number>;
  /** (positions) rows of (kvHeads * headDim) keys after RoPE; the query attends to all of them. */
  readonly keys: readonly ArrayLike<number>[];
  readonly heads: number;
  readonly kvHeads: number;
  readonly headDim: number;
}

/** Mean over query heads of the attention mass on the selected pages (pageBudget pages, the last included). */
export function selectedMass(c: RecallCase, pageSize: number, pageBudget: number, aggregation: 'max' | 'sum'): number {
  const { heads, kvHeads, headDim, keys } = c;
  const nScored = Math.floor((keys.length - 1) / pageSize);
  const flat = new Float64Array(keys.length * kvHeads * headDim);
  keys.forEach((k, t) => flat.set(Array.from(k), t * kvHeads * headDim));
  const meta = pageMetaRef(flat, keys.length, kvHeads, headDim, pageSize, 'f32');
  const scores = pageScoreRef(c.q, meta, heads, kvHeads, headDim, nScored, aggregation);
  const group = heads / kvHeads;
  let total = 0;
  for (let h = 0; h < heads; h++) {
    const kv = Math.floor(h / group);
    const selected = new Set(selectPagesRef(scores[kv], nScored, pageBudget));
    const logits = keys.map((k) => {
      let s = 0;
      for (let i = 0; i < headDim; i++) s += c.q[h * headDim + i] * k[kv * headDim + i];
      return s / Math.sqrt(headDim);
    });
    const max = Math.max(...logits);
    let sum = 0;
    let kept = 0;
    logits.forEach((l, t) => {
      const e = Math.exp(l - max);
      sum += e;
      if (selected.has(Math.floor(t / pageSize))) kept += e;
    });
    total += kept / sum;
  }
  return total / heads;
}
