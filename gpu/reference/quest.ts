// float64 reference of Quest's decode-time selection (tests only): page scores from pageMeta, top-k per KV head
// with the last page always read, and attention over the selected pages only.

/**
 * pageScore (kvHeads, nScored) for q (heads, headDim) and pageMeta (pages, kvHeads, 2, headDim) [0]=max [1]=min,
 * aggregated over each KV head's query group by max or sum.
 */
export function pageScoreRef(
  q: ArrayLike<number>,
  pageMeta: ArrayLike<number>,
  heads: number,
  kvHeads: number,
  headDim: number,
  nScored: number,
  aggregation: 'max' | 'sum',
): Float64Array[] {
  const group = heads / kvHeads;
  const out: Float64Array[] = [];
  for (let kv = 0; kv < kvHeads; kv++) {
    const row = new Float64Array(nScored);
    for (let page = 0; page < nScored; page++) {
      const meta = (page * kvHeads + kv) * 2 * headDim;
      let agg = aggregation === 'sum' ? 0 : -Infinity;
      for (let g = 0; g < group; g++) {
        const h = kv * group + g;
        let s = 0;
        for (let i = 0; i < headDim; i++) {
          const qi = q[h * headDim + i];
          s += Math.max(qi * pageMeta[meta + i], qi * pageMeta[meta + headDim + i]);
        }
        agg = aggregation === 'sum' ? agg + s : Math.max(agg, s);
      }
      row[page] = agg;
    }
    out.push(row);
  }
  return out;
}

/**
 * Page indices read by one KV head: the top min(pageBudget - 1, nScored) pages by score (ties: lowest index
 * first), then the last page (index nScored); ascending.
 */
export function selectPagesRef(scores: ArrayLike<number>, nScored: number, pageBudget: number): number[] {
  const k = Math.min(pageBudget - 1, nScored);
  const order = Array.from({ length: nScored }, (_, i) => i).sort((a, b) => scores[b] - scores[a] || a - b);
  return [...order.slice(0, k).sort((a, b) => a - b), nScored];
}
