// float64 references of the paged KV cache (tests only): what kvAppend stores and the pageMeta Quest scores with.
import { roundToKvType } from '../kv/f16';
import type { KvType } from '../kv/layout';

/** `x` as the cache stores it (clamped and rounded to `kvType`), element-wise. */
export function storedRef(x: ArrayLike<number>, kvType: KvType): Float64Array {
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = roundToKvType(x[i], kvType);
  return out;
}

/**
 * pageMeta of a sequence: keys (length, kvHeads, headDim) -> (pages, kvHeads, 2, headDim), [0]=max [1]=min of the
 * stored keys of each page (the last page over its filled rows only). Also Quest's invariant when `keys` are the
 * rows read back from the cache: rounding is then the identity.
 */
export function pageMetaRef(
  keys: ArrayLike<number>,
  length: number,
  kvHeads: number,
  headDim: number,
  pageSize: number,
  kvType: KvType,
): Float64Array {
  const pages = Math.ceil(length / pageSize);
  const out = new Float64Array(pages * kvHeads * 2 * headDim);
  for (let p = 0; p < pages; p++) {
    for (let h = 0; h < kvHeads; h++) {
      const meta = (p * kvHeads + h) * 2 * headDim;
      for (let d = 0; d < headDim; d++) {
        let mx = -Infinity;
        let mn = Infinity;
        for (let pos = p * pageSize; pos < Math.min(length, (p + 1) * pageSize); pos++) {
          const key = roundToKvType(keys[(pos * kvHeads + h) * headDim + d], kvType);
          mx = Math.max(mx, key);
          mn = Math.min(mn, key);
        }
        out[meta + d] = mx;
        out[meta + headDim + d] = mn;
      }
    }
  }
  return out;
}

/**
 * A layer's physical buffer (maxPages, kvHeads, rowsPerPage, headDim) in logical page order through `table`
 * (logical -> physical): (pages, kvHeads, rowsPerPage, headDim). rowsPerPage is pageSize for K/V, 2 for pageMeta.
 */
export function gatherPages(
  physical: ArrayLike<number>,
  table: ArrayLike<number>,
  pages: number,
  kvHeads: number,
  rowsPerPage: number,
  headDim: number,
): Float64Array {
  const pageElems = kvHeads * rowsPerPage * headDim;
  const out = new Float64Array(pages * pageElems);
  for (let p = 0; p < pages; p++) {
    for (let i = 0; i < pageElems; i++) out[p * pageElems + i] = physical[table[p] * pageElems + i];
  }
  return out;
}

/** Logical pages (pages, kvHeads, pageSize, headDim) -> token rows (length, kvHeads, headDim). */
export function pagesToRows(paged: ArrayLike<number>, length: number, kvHeads: number, pageSize: number, headDim: number): Float64Array {
  const out = new Float64Array(length * kvHeads * headDim);
  for (let pos = 0; pos < length; pos++) {
    const page = Math.floor(pos / pageSize);
    const slot = pos % pageSize;
    for (let h = 0; h < kvHeads; h++) {
      for (let d = 0; d < headDim; d++) {
        out[(pos * kvHeads + h) * headDim + d] = paged[((page * kvHeads + h) * pageSize + slot) * headDim + d];
      }
    }
  }
  return out;
}
