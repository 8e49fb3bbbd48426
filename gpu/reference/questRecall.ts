// How much of the true attention mass Quest's page selection keeps (float64, evaluations and tests only): for one
// query over a layer's keys, the fraction of each query head's softmax mass that falls on the pages its KV head
// selected. 1 means the selection read every key that mattered.
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

/** pageMeta (pages, kvHeads, 2, headDim) [0]=max [1]=min of the keys, pages of pageSize positions. */
export function pageMetaOf(keys: readonly ArrayLike<number>[], kvHeads: number, headDim: number, pageSize: number): Float64Array {
  const pages = Math.ceil(keys.length / pageSize);
  const meta = new Float64Array(pages * kvHeads * 2 * headDim);
  for (let p = 0; p < pages; p++)
    for (let h = 0; h < kvHeads; h++)
      for (let i = 0; i < headDim; i++) {
        let max = -Infinity;
        let min = Infinity;
        for (let t = p * pageSize; t < Math.min(keys.length, (p + 1) * pageSize); t++) {
          const v = keys[t][h * headDim + i];
          max = Math.max(max, v);
          min = Math.min(min, v);
        }
        meta[((p * kvHeads + h) * 2 + 0) * headDim + i] = max;
        meta[((p * kvHeads + h) * 2 + 1) * headDim + i] = min;
      }
  return meta;
}

/** Mean over query heads of the attention mass on the selected pages (pageBudget pages, the last included). */
export function selectedMass(c: RecallCase, pageSize: number, pageBudget: number, aggregation: 'max' | 'sum'): number {
  const { heads, kvHeads, headDim, keys } = c;
  const nScored = Math.floor((keys.length - 1) / pageSize);
  const meta = pageMetaOf(keys, kvHeads, headDim, pageSize);
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
