// Reference of the selection trace's packing (tests only): what traceSelection.wgsl writes for one layer.

/**
 * Rows (kvHeads) of 1 + pageBudget words for a layer's selection: the count (at most pageBudget), then that many
 * page ids; the rest of a row is left as `fill` had it.
 */
export function traceSelectionRef(
  pageIds: ArrayLike<number>,
  pageCount: ArrayLike<number>,
  s: { readonly kvHeads: number; readonly maxPages: number; readonly pageBudget: number },
  fill: Uint32Array,
): Uint32Array {
  const out = Uint32Array.from(fill);
  for (let h = 0; h < s.kvHeads; h++) {
    const row = h * (1 + s.pageBudget);
    const count = Math.min(pageCount[h], s.pageBudget, s.maxPages);
    out[row] = count;
    for (let i = 0; i < count; i++) out[row + 1 + i] = pageIds[h * s.maxPages + i];
  }
  return out;
}
