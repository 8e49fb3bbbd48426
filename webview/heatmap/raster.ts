// Rasterizes level rows into a pixel buffer at the plot's device resolution: one Uint32 write per pixel, colours by
// lookup table. Pure (no DOM) so node tests can assert pixels; canvas.ts puts the buffer on a canvas.
//
// Zoomed out, a pixel covers several pages (and maybe steps) and shows their max, so a selected page stays visible at
// any zoom; zoomed in, a cell covers several pixels and each pixel looks up one cell. Either way the work is
// O(pixels + visible cells).
import type { LevelRow } from './model';
import { columnRanges, rowRanges, type Viewport } from './viewport';

/** The per-viewport column/row ranges, computed once per viewport and reused for every incremental draw. */
export interface RasterPlan {
  readonly vp: Viewport;
  readonly colStart: Int32Array;
  readonly colEnd: Int32Array;
  readonly rowStart: Int32Array;
  readonly rowEnd: Int32Array;
}

export function planRaster(vp: Viewport): RasterPlan {
  const cols = columnRanges(vp);
  const rows = rowRanges(vp);
  return { vp, colStart: cols.start, colEnd: cols.end, rowStart: rows.start, rowEnd: rows.end };
}

/** Colours: `lut[level]` for a cell; `absent` where no cell exists (page not in context yet, step not decoded). */
export interface RasterColors {
  readonly lut: Uint32Array;
  readonly absent: number;
}

/**
 * Writes device rows [y0, y1) of `out` ((height, width) pixels, row-major). Row r of `rows` holds the levels of
 * step r for pages [0, rows[r].length); every level must be < lut.length.
 */
export function rasterize(
  out: Uint32Array,
  plan: RasterPlan,
  rows: readonly LevelRow[],
  colors: RasterColors,
  y0 = 0,
  y1 = plan.vp.height,
): void {
  const { width } = plan.vp;
  const { colStart, colEnd, rowStart, rowEnd } = plan;
  const { lut, absent } = colors;
  const acc = new Int32Array(width);
  let prevS0 = -1;
  let prevS1 = -1;
  let prevY = -1;
  for (let y = y0; y < y1; y++) {
    const base = y * width;
    const s0 = Math.max(0, rowStart[y]);
    const s1 = Math.min(rows.length, rowEnd[y]);
    if (s0 === prevS0 && s1 === prevS1 && prevY >= 0) {
      // Zoomed in: consecutive device rows show the same steps.
      out.copyWithin(base, prevY * width, prevY * width + width);
      continue;
    }
    acc.fill(-1);
    for (let s = s0; s < s1; s++) maxInto(acc, rows[s], colStart, colEnd);
    for (let x = 0; x < width; x++) {
      const v = acc[x];
      out[base + x] = v < 0 ? absent : lut[v];
    }
    prevS0 = s0;
    prevS1 = s1;
    prevY = y;
  }
}

/** acc[x] = max(acc[x], max of row over column x's pages); columns past the row's end are left alone. */
function maxInto(acc: Int32Array, row: LevelRow, colStart: Int32Array, colEnd: Int32Array): void {
  const len = row.length;
  const width = acc.length;
  for (let x = 0; x < width; x++) {
    const p0 = colStart[x];
    if (p0 >= len || p0 < 0) continue;
    const p1 = colEnd[x] < len ? colEnd[x] : len;
    let m = row[p0];
    for (let p = p0 + 1; p < p1; p++) if (row[p] > m) m = row[p];
    if (m > acc[x]) acc[x] = m;
  }
}
