// A canvas that shows level rows through raster.ts: it owns one ImageData at the canvas' device size, rasterizes into
// it (all rows, or only the rows of newly decoded steps) and puts just the changed rows back.
import type { LevelRow } from './model';
import { planRaster, rasterize, type RasterColors, type RasterPlan } from './raster';
import { rowsOfSteps, type Viewport } from './viewport';

export class RasterCanvas {
  private readonly ctx: CanvasRenderingContext2D;
  private image: ImageData | undefined;
  private pixels: Uint32Array | undefined;
  private plan: RasterPlan | undefined;

  constructor(readonly canvas: HTMLCanvasElement) {
    const ctx = canvas.getContext('2d', { alpha: false });
    if (!ctx) throw new Error('heatmap canvas: getContext("2d") returned null (canvas unsupported in this page)');
    this.ctx = ctx;
  }

  /** Sets the backing size in device pixels from the element's CSS size (from a ResizeObserver); true when it changed. */
  resize(cssWidth: number, cssHeight: number, dpr: number): boolean {
    const w = Math.max(1, Math.round(cssWidth * dpr));
    const h = Math.max(1, Math.round(cssHeight * dpr));
    if (w === this.canvas.width && h === this.canvas.height && this.image) return false;
    this.canvas.width = w;
    this.canvas.height = h;
    this.image = this.ctx.createImageData(w, h);
    this.pixels = new Uint32Array(this.image.data.buffer);
    this.plan = undefined;
    return true;
  }

  get width(): number {
    return this.canvas.width;
  }
  get height(): number {
    return this.canvas.height;
  }

  /** Redraws everything for viewport `vp` (whose size must be the canvas size). */
  drawAll(vp: Viewport, rows: readonly LevelRow[], colors: RasterColors): void {
    const { image, pixels } = this.ensure(vp);
    rasterize(pixels, this.planFor(vp), rows, colors);
    this.ctx.putImageData(image, 0, 0);
  }

  /** Redraws only the device rows that show steps [s0, s1): the cost of one streamed step is O(pages). */
  drawSteps(vp: Viewport, rows: readonly LevelRow[], colors: RasterColors, s0: number, s1: number): void {
    const { image, pixels } = this.ensure(vp);
    const [y0, y1] = rowsOfSteps(vp, s0, s1);
    if (y1 <= y0) return;
    rasterize(pixels, this.planFor(vp), rows, colors, y0, y1);
    this.ctx.putImageData(image, 0, 0, 0, y0, vp.width, y1 - y0);
  }

  private ensure(vp: Viewport): { image: ImageData; pixels: Uint32Array } {
    if (!this.image || !this.pixels || vp.width !== this.canvas.width || vp.height !== this.canvas.height) {
      throw new Error(
        `heatmap canvas: viewport ${vp.width}×${vp.height} must match the canvas ${this.canvas.width}×${this.canvas.height}; call resize() first`,
      );
    }
    return { image: this.image, pixels: this.pixels };
  }

  private planFor(vp: Viewport): RasterPlan {
    if (this.plan?.vp !== vp) this.plan = planRaster(vp);
    return this.plan;
  }
}
