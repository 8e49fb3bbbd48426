// The heatmap's 2D-canvas parts that are not cells: file bands along x, step numbers along y, layer labels, and the
// overlay (hovered row, focused cell). Few shapes each, so plain fillRect/fillText/strokeRect.
import type { Rgba } from './colors';
import type { HeatmapModel } from './model';
import type { Theme } from './theme';
import { xOfPage, yOfStep, type Viewport } from './viewport';

/** A canvas and its CSS size (from a ResizeObserver, so painting never forces a layout). */
export interface SizedCanvas {
  readonly canvas: HTMLCanvasElement;
  readonly cssWidth: number;
  readonly cssHeight: number;
}

/** Sets a canvas' backing size from its CSS size; returns its 2D context. */
export function sizeCanvas({ canvas: c, cssWidth, cssHeight }: SizedCanvas, dpr: number): CanvasRenderingContext2D | null {
  const w = Math.max(1, Math.round(cssWidth * dpr));
  const h = Math.max(1, Math.round(cssHeight * dpr));
  if (c.width !== w) c.width = w;
  if (c.height !== h) c.height = h;
  return c.getContext('2d');
}

export function css(c: Rgba): string {
  return `rgb(${c.r}, ${c.g}, ${c.b})`;
}

function scaledFont(font: string, dpr: number): string {
  return font.replace(/^(\d+(?:\.\d+)?)px/, (_, px: string) => `${Math.round(Number(px) * dpr)}px`);
}

/** The path if it fits `room` pixels, else its basename, else nothing. */
function fitLabel(ctx: CanvasRenderingContext2D, label: string, room: number): string | undefined {
  if (ctx.measureText(label).width <= room) return label;
  const base = label.slice(label.lastIndexOf('/') + 1);
  if (base !== label && ctx.measureText(base).width <= room) return base;
  return undefined;
}

/** The smallest of 1, 2, 5, 10, 20, 50, … that is ≥ n. */
export function niceStep(n: number): number {
  let base = 1;
  for (;;) {
    for (const m of [1, 2, 5]) if (base * m >= n) return base * m;
    base *= 10;
  }
}

/**
 * File bands at token resolution (so a page shared by two files splits between their bands), alternating shades,
 * labelled with the path, or its basename, where it fits. `extentPages` clips the open-ended answer band.
 */
export function drawBands(sized: SizedCanvas, dpr: number, model: HeatmapModel, vp: Viewport, extentPages: number, t: Theme): void {
  const c = sized.canvas;
  const ctx = sizeCanvas(sized, dpr);
  if (!ctx) return;
  const sx = c.width / vp.width;
  const ps = model.pageSize;
  const maxToken = extentPages * ps;
  ctx.fillStyle = css(t.background);
  ctx.fillRect(0, 0, c.width, c.height);
  ctx.font = scaledFont(t.font, dpr);
  ctx.textBaseline = 'middle';
  let fileOrdinal = 0;
  for (const band of model.bands.list) {
    if (band.kind === 'file') fileOrdinal++;
    const end = Math.min(band.tokenEnd, maxToken);
    if (end <= band.tokenStart) continue;
    const x0 = xOfPage(vp, band.tokenStart / ps) * sx;
    const x1 = xOfPage(vp, end / ps) * sx;
    if (x1 < 0 || x0 > c.width) continue;
    const fill = band.kind === 'prompt' ? t.promptBand : band.kind === 'answer' ? t.answerBand : fileOrdinal % 2 ? t.bandA : t.bandB;
    ctx.fillStyle = css(fill);
    ctx.fillRect(x0, 0, Math.max(1, x1 - x0), c.height);
    const left = Math.max(0, x0) + 3 * dpr;
    const room = Math.min(c.width, x1) - left - 2 * dpr;
    if (room < 12 * dpr) continue;
    const label = fitLabel(ctx, band.label, room);
    if (!label) continue;
    ctx.fillStyle = t.text;
    ctx.fillText(label, left, c.height / 2);
  }
}

/** Step numbers down the left edge, at 1/2/5·10ⁿ intervals so labels never overlap. */
export function drawGutter(sized: SizedCanvas, dpr: number, steps: number, vp: Viewport, t: Theme): void {
  const c = sized.canvas;
  const ctx = sizeCanvas(sized, dpr);
  if (!ctx) return;
  ctx.clearRect(0, 0, c.width, c.height);
  ctx.font = scaledFont(t.font, dpr);
  ctx.fillStyle = t.text;
  ctx.textAlign = 'right';
  ctx.textBaseline = 'top';
  const sy = c.height / vp.height;
  const rowPx = (vp.height / vp.stepSpan) * sy;
  const every = niceStep(Math.ceil((16 * dpr) / Math.max(rowPx, 1e-6)));
  const first = Math.ceil(vp.stepStart / every) * every;
  for (let s = first; s < Math.min(steps, vp.stepStart + vp.stepSpan); s += every) {
    ctx.fillText(String(s), c.width - 4 * dpr, yOfStep(vp, s) * sy);
  }
}

/** "L0", "L1", … at the first KV head row of each layer, as often as the row height allows. */
export function drawLayerLabels(sized: SizedCanvas, dpr: number, layers: number, kvHeads: number, t: Theme): void {
  const c = sized.canvas;
  const ctx = sizeCanvas(sized, dpr);
  if (!ctx) return;
  ctx.clearRect(0, 0, c.width, c.height);
  ctx.font = scaledFont(t.font, dpr);
  ctx.fillStyle = t.text;
  ctx.textAlign = 'right';
  ctx.textBaseline = 'top';
  const rowDev = c.height / (layers * kvHeads);
  const every = Math.max(1, Math.ceil((12 * dpr) / (rowDev * kvHeads)));
  // Dense layers are told apart by colour (the legend says which).
  for (let l = 0; l < layers; l += every) ctx.fillText(`L${l}`, c.width - 4 * dpr, l * kvHeads * rowDev);
}

/** The overlay: an outline around row `row` and a thicker one around `cell`; cleared first. */
export function drawOverlay(
  c: HTMLCanvasElement,
  dpr: number,
  vp: Viewport,
  row: number | undefined,
  cell: { readonly step: number; readonly page: number } | undefined,
  t: Theme,
): void {
  if (c.width !== vp.width || c.height !== vp.height) {
    c.width = vp.width;
    c.height = vp.height;
  }
  const ctx = c.getContext('2d');
  if (!ctx) return;
  ctx.clearRect(0, 0, c.width, c.height);
  const lw = Math.max(1, Math.round(dpr));
  if (row !== undefined) {
    const y0 = yOfStep(vp, row);
    const h = Math.max(lw, yOfStep(vp, row + 1) - y0);
    ctx.strokeStyle = t.rowHighlight;
    ctx.lineWidth = lw;
    ctx.strokeRect(-lw, y0 - lw / 2, c.width + 2 * lw, h + lw);
  }
  if (cell) {
    const x0 = xOfPage(vp, cell.page);
    const y0 = yOfStep(vp, cell.step);
    const w = Math.max(3 * lw, xOfPage(vp, cell.page + 1) - x0);
    const h = Math.max(3 * lw, yOfStep(vp, cell.step + 1) - y0);
    ctx.strokeStyle = t.focus;
    ctx.lineWidth = 2 * lw;
    ctx.strokeRect(x0 - lw, y0 - lw, w + 2 * lw, h + 2 * lw);
  }
}
