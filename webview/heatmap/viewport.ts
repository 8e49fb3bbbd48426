// The heatmap's view transform: which pages (x) and decode steps (y) the plot shows, in device pixels. Pure (no DOM):
// zoom, pan, fit, hit testing and the pixel → cell ranges the rasterizer reads.

/** A plot of `width` × `height` device pixels showing pages [pageStart, pageStart+pageSpan) × steps likewise. */
export interface Viewport {
  readonly width: number;
  readonly height: number;
  /** First page at the left edge; fractional while zoomed. */
  readonly pageStart: number;
  readonly pageSpan: number;
  readonly stepStart: number;
  readonly stepSpan: number;
}

/** How far the data reaches; pans and zooms stay inside it. */
export interface Extent {
  readonly pages: number;
  readonly steps: number;
}

/** Zoom limits: a cell is at most this many device pixels wide/tall. */
export interface ZoomLimits {
  readonly maxColPx: number;
  readonly maxRowPx: number;
}

export const DEFAULT_LIMITS: ZoomLimits = { maxColPx: 128, maxRowPx: 24 };
/** The fitted view never makes rows taller than this, so a short answer does not fill the plot with a few bars. */
export const FIT_ROW_PX = 12;
export const FIT_COL_PX = 128;

export function pageAtX(vp: Viewport, x: number): number {
  return vp.pageStart + (x * vp.pageSpan) / vp.width;
}
export function stepAtY(vp: Viewport, y: number): number {
  return vp.stepStart + (y * vp.stepSpan) / vp.height;
}
export function xOfPage(vp: Viewport, page: number): number {
  return ((page - vp.pageStart) * vp.width) / vp.pageSpan;
}
export function yOfStep(vp: Viewport, step: number): number {
  return ((step - vp.stepStart) * vp.height) / vp.stepSpan;
}

/** The whole extent, with cells no larger than FIT_COL_PX × FIT_ROW_PX (extra room is left empty, right/below). */
export function fitViewport(width: number, height: number, extent: Extent): Viewport {
  const w = Math.max(1, width);
  const h = Math.max(1, height);
  return {
    width: w,
    height: h,
    pageStart: 0,
    pageSpan: Math.max(extent.pages, w / FIT_COL_PX, 1),
    stepStart: 0,
    stepSpan: Math.max(extent.steps, h / FIT_ROW_PX, 1),
  };
}

/** The same view on a plot of a new size (a resize keeps the visible pages and steps). */
export function resizeViewport(vp: Viewport, width: number, height: number): Viewport {
  return { ...vp, width: Math.max(1, width), height: Math.max(1, height) };
}

/** Keeps the spans within the zoom limits and the extent, and the start inside the data. */
export function clampViewport(vp: Viewport, extent: Extent, limits: ZoomLimits = DEFAULT_LIMITS): Viewport {
  const maxPages = Math.max(extent.pages, vp.width / FIT_COL_PX, 1);
  const maxSteps = Math.max(extent.steps, vp.height / FIT_ROW_PX, 1);
  const pageSpan = clamp(vp.pageSpan, Math.min(maxPages, vp.width / limits.maxColPx), maxPages);
  const stepSpan = clamp(vp.stepSpan, Math.min(maxSteps, vp.height / limits.maxRowPx), maxSteps);
  return {
    width: vp.width,
    height: vp.height,
    pageSpan,
    stepSpan,
    pageStart: clamp(vp.pageStart, 0, Math.max(0, maxPages - pageSpan)),
    stepStart: clamp(vp.stepStart, 0, Math.max(0, maxSteps - stepSpan)),
  };
}

/** Zooms by `fx`, `fy` (> 1 zooms in) keeping the cell under device pixel (ax, ay) in place. */
export function zoomViewport(
  vp: Viewport,
  fx: number,
  fy: number,
  ax: number,
  ay: number,
  extent: Extent,
  limits: ZoomLimits = DEFAULT_LIMITS,
): Viewport {
  const page = pageAtX(vp, ax);
  const step = stepAtY(vp, ay);
  const sized = clampViewport({ ...vp, pageSpan: vp.pageSpan / fx, stepSpan: vp.stepSpan / fy }, extent, limits);
  const moved = {
    ...sized,
    pageStart: page - (ax * sized.pageSpan) / vp.width,
    stepStart: step - (ay * sized.stepSpan) / vp.height,
  };
  return clampViewport(moved, extent, limits);
}

/** Moves the view by (dx, dy) device pixels (drag right → earlier pages come into view). */
export function panViewport(vp: Viewport, dx: number, dy: number, extent: Extent, limits = DEFAULT_LIMITS): Viewport {
  const moved = {
    ...vp,
    pageStart: vp.pageStart - (dx * vp.pageSpan) / vp.width,
    stepStart: vp.stepStart - (dy * vp.stepSpan) / vp.height,
  };
  return clampViewport(moved, extent, limits);
}

/** Pans the least so that cell (step, page) is fully visible. */
export function revealCell(vp: Viewport, step: number, page: number, extent: Extent, limits = DEFAULT_LIMITS): Viewport {
  let { pageStart, stepStart } = vp;
  if (page < pageStart) pageStart = page;
  else if (page + 1 > pageStart + vp.pageSpan) pageStart = page + 1 - vp.pageSpan;
  if (step < stepStart) stepStart = step;
  else if (step + 1 > stepStart + vp.stepSpan) stepStart = step + 1 - vp.stepSpan;
  return clampViewport({ ...vp, pageStart, stepStart }, extent, limits);
}

/** The cell under device pixel (x, y): integer step and page (possibly outside the data), and the exact token. */
export interface Hit {
  readonly step: number;
  readonly page: number;
  /** The token under x (page · pageSize + fraction): picks the file when a page holds two. */
  readonly token: number;
}

/** Hit test; undefined outside the plot or outside [0, extent). */
export function hitTest(vp: Viewport, x: number, y: number, extent: Extent, pageSize: number): Hit | undefined {
  if (x < 0 || y < 0 || x >= vp.width || y >= vp.height) return undefined;
  const fp = pageAtX(vp, x);
  const fs = stepAtY(vp, y);
  const page = Math.floor(fp);
  const step = Math.floor(fs);
  if (page < 0 || page >= extent.pages || step < 0 || step >= extent.steps) return undefined;
  return { step, page, token: Math.min((page + 1) * pageSize - 1, Math.floor(fp * pageSize)) };
}

/**
 * Per device column x: the pages [start[x], end[x]) whose cells intersect [x, x+1), so that a zoomed-out column
 * shows the max over its pages (a selected page never disappears between pixels). end > start always.
 */
export function columnRanges(vp: Viewport): { start: Int32Array; end: Int32Array } {
  return spanRanges(vp.width, vp.pageStart, vp.pageSpan);
}

/** Per device row y: the steps [start[y], end[y]) whose cells intersect [y, y+1). */
export function rowRanges(vp: Viewport): { start: Int32Array; end: Int32Array } {
  return spanRanges(vp.height, vp.stepStart, vp.stepSpan);
}

function spanRanges(pixels: number, first: number, span: number): { start: Int32Array; end: Int32Array } {
  const start = new Int32Array(pixels);
  const end = new Int32Array(pixels);
  const per = span / pixels;
  for (let i = 0; i < pixels; i++) {
    const a = first + i * per;
    const b = first + (i + 1) * per;
    const s = Math.floor(a);
    // A boundary within rounding of an integer ends there, rather than reaching one cell further.
    const e = Math.ceil(b - 1e-9);
    start[i] = s;
    end[i] = Math.max(s + 1, e);
  }
  return { start, end };
}

/** Device rows [y0, y1) that show steps [s0, s1): what an incremental draw repaints. */
export function rowsOfSteps(vp: Viewport, s0: number, s1: number): [number, number] {
  // Generous at both ends: repainting one row too many is harmless, one too few leaves a stale row.
  const y0 = Math.min(vp.height, Math.max(0, Math.floor(yOfStep(vp, s0))));
  const y1 = Math.min(vp.height, Math.ceil(yOfStep(vp, s1)));
  return [y0, Math.max(y0, y1)];
}

function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}
