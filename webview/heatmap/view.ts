// The heatmap component: owns the model, the view transform and the paint schedule, and turns pointer and keyboard
// input into view changes. Cells go through RasterCanvas (ImageData); hover marks go on an overlay canvas so they
// never repaint the cells; bands, gutter and labels are axes.ts; words are describe.ts and legend.ts.
import type { FileSpan } from '../../extension/context/manifest';
import type { TraceStep } from '../../gpu/trace';
import type { HeatmapData, OpenTarget as OpenFileTarget } from '../protocol';
import { drawBands, drawGutter, drawLayerLabels, drawOverlay, type SizedCanvas } from './axes';
import { RasterCanvas } from './canvas';
import { heatLut, packPixel } from './colors';
import { describeAggregate, describeBand, describeCell, describeLayerCell, describeReceived, fileLines, tokenLabel } from './describe';
import { buildHeatmapDom, type HeatmapDom } from './dom';
import { keyAction, type Cell } from './keys';
import { ariaLabel, fileListTitle, renderFileList, renderLegend, summaryText } from './legend';
import { HeatmapModel, LAYER_DENSE, openTargetOf, type HeatmapMode } from './model';
import type { RasterColors } from './raster';
import { buildTables } from './table';
import { readTheme, watchTheme, type Theme } from './theme';
import { Tooltip } from './tooltip';
import {
  FIT_ROW_PX,
  clampViewport,
  fitViewport,
  hitTest,
  pageAtX,
  panViewport,
  revealCell,
  xOfPage,
  yOfStep,
  zoomViewport,
  type Extent,
  type Viewport,
} from './viewport';


export interface HeatmapViewOptions {
  /** False in a standalone file: clicks show information but cannot open files. */
  readonly interactive: boolean;
  /** The chat sidebar's smaller layout. */
  readonly compact: boolean;
  readonly onOpen: (target: OpenFileTarget) => void;
  /** A row (decode step) is hovered or focused; undefined when none is. */
  readonly onHoverStep: (step: number | undefined) => void;
  /** View state changed (zoom, mode, focus, table): persist it. */
  readonly onStateChange: () => void;
  readonly onError: (err: unknown) => void;
  /** Shows an "Open beside" button that calls this. */
  readonly onOpenBeside?: () => void;
}

/** What survives hiding, showing and reloading the view (page/step units, not pixels). */
export interface HeatmapViewState {
  readonly mode: HeatmapMode;
  /** Absent while the view is fitted to the data. */
  readonly view?: { readonly pageStart: number; readonly pageSpan: number; readonly stepStart: number; readonly stepSpan: number };
  readonly focus?: Cell;
  readonly table: boolean;
}

type Hover = Cell & { readonly token: number };

const PERF = 'questLens/heatmap/';
/** While streaming, the layers view, the ranking and the table refresh at most this often. */
const SLOW_REFRESH_MS = 200;

export class HeatmapView {
  readonly element: HTMLElement;
  private readonly dom: HeatmapDom;
  private readonly main: RasterCanvas;
  private readonly agg: RasterCanvas;
  private readonly received: RasterCanvas;
  private readonly layers: RasterCanvas;
  private readonly tooltip: Tooltip;
  private model: HeatmapModel | undefined;
  private expectedSteps = 0;
  private theme: Theme;
  /** The user's choice; what is drawn is `mode`, which falls back to the model's default when this has nothing. */
  private chosenMode: HeatmapMode = 'selected';
  private vp: Viewport | undefined;
  private fitted = true;
  /** Fitted views reserve room beyond the data so streaming rescales rarely; it grows geometrically. */
  private reserved: Extent = { pages: 1, steps: 1 };
  private hover: Hover | undefined;
  private externalStep: number | undefined;
  private focus: Cell | undefined;
  private showTable = false;
  private dpr = 1;
  private frame = 0;
  private dirty = { full: true, fromStep: Infinity, overlay: true, axes: true, layers: true, lists: true };
  private lastLayers = 0;
  private lastLists = 0;
  /** Set by hover and toggles: the next paint skips the streaming throttle once. */
  private forceLayers = false;
  private forceLists = false;
  private slowTimer: ReturnType<typeof setTimeout> | undefined;
  private bandsDrawnFor = '';
  private plotHeight = '';
  private drag: { x: number; y: number; moved: boolean; vp: Viewport } | undefined;
  /** CSS sizes of the canvases as the ResizeObserver last reported them: painting reads these, never the layout. */
  private readonly sizes = new WeakMap<Element, readonly [number, number]>();
  private readonly stopTheme: () => void;
  private readonly resizeObserver: ResizeObserver;

  constructor(
    private readonly doc: Document,
    private readonly options: HeatmapViewOptions,
  ) {
    this.dom = buildHeatmapDom(doc, options.compact, options.onOpenBeside !== undefined);
    this.element = this.dom.root;
    this.main = new RasterCanvas(this.dom.main);
    this.agg = new RasterCanvas(this.dom.aggregate);
    this.received = new RasterCanvas(this.dom.received);
    this.layers = new RasterCanvas(this.dom.layers);
    this.tooltip = new Tooltip(doc, this.element);
    const d = this.dom;
    d.modeSelect.addEventListener('change', () => this.setMode(d.modeSelect.value as HeatmapMode));
    d.zoomOut.addEventListener('click', () => this.zoomBy(0.5, 0.5));
    d.zoomIn.addEventListener('click', () => this.zoomBy(2, 2));
    d.fit.addEventListener('click', () => this.fit());
    d.tableButton.addEventListener('click', () => this.setTable(!this.showTable));
    if (options.onOpenBeside) d.openBeside?.addEventListener('click', options.onOpenBeside);

    this.theme = readTheme(doc);
    this.stopTheme = watchTheme(doc, () => {
      this.theme = readTheme(doc);
      this.bandsDrawnFor = '';
      this.invalidate('full');
    });
    this.resizeObserver = new ResizeObserver((entries) => {
      for (const e of entries) this.sizes.set(e.target, [e.contentRect.width, e.contentRect.height]);
      this.bandsDrawnFor = '';
      this.invalidate('full');
    });
    for (const c of [d.main, d.aggregate, d.received, d.bands, d.gutter, d.layers, d.layerLabels]) this.resizeObserver.observe(c);
    this.wireMain(d.main);
    this.wireStrip(d.bands, (fp) => {
      const m = this.model;
      return m && describeBand(m, fp);
    });
    this.wirePageRow(d.aggregate, describeAggregate);
    this.wirePageRow(d.received, describeReceived);
    this.wireLayers(d.layers);
    this.clear();
  }

  // ── Data ────────────────────────────────────────────────────────────────────────────────────────────────────────

  /** Back to the empty state: no data, only a message. */
  clear(message = 'No answer yet: ask a question to see which pages each answer token read.'): void {
    this.model = undefined;
    this.hover = undefined;
    this.externalStep = undefined;
    this.element.classList.add('empty');
    this.setMessage(message);
  }

  /** Replaces the data; throws TraceShapeError (after showing it) when the trace or manifest is malformed. */
  setData(data: HeatmapData): void {
    const t0 = performance.now();
    let model: HeatmapModel;
    try {
      model = new HeatmapModel(data.trace, data.manifest, data.pageTexts);
    } catch (err) {
      this.clear(`Cannot draw this heatmap: ${err instanceof Error ? err.message : String(err)}`);
      throw err;
    }
    measure('buildModel', t0, { steps: model.stepCount, pages: model.pageCount });
    this.model = model;
    this.dom.received.hidden = this.dom.receivedLabel.hidden = model.received === undefined;
    this.dom.aggregate.hidden = this.dom.aggregateLabel.hidden = model.everyPageRead;
    this.dom.filesTitle.textContent = fileListTitle(model);
    this.expectedSteps = data.expectedSteps ?? 0;
    this.reserved = this.dataExtent();
    this.hover = undefined;
    this.externalStep = undefined;
    if (this.focus && (this.focus.step >= model.stepCount || this.focus.page >= model.pageCount)) this.focus = undefined;
    this.setMessage(undefined);
    this.element.classList.remove('empty');
    this.bandsDrawnFor = '';
    this.invalidate('full');
  }

  get hasData(): boolean {
    return this.model !== undefined;
  }

  /** The manifest's files (to resolve file:line references in answers); undefined without one. */
  get knownFiles(): readonly FileSpan[] | undefined {
    return this.model?.manifest?.files;
  }

  /** One streamed decode step; draws only its rows unless the fitted view has to grow. */
  appendStep(step: TraceStep): void {
    const model = this.model;
    if (!model) return;
    const t0 = performance.now();
    const s = model.stepCount;
    model.appendStep(step);
    measure('appendStep', t0, { step: s, pages: model.pageCount });
    const ext = this.dataExtent();
    const r = this.reserved;
    if (this.fitted && (ext.steps > r.steps || ext.pages > r.pages)) {
      this.reserved = {
        steps: ext.steps > r.steps ? Math.max(ext.steps, Math.ceil(r.steps * 1.5)) : r.steps,
        pages: ext.pages > r.pages ? Math.max(ext.pages, r.pages + Math.max(4, Math.ceil(r.pages * 0.02))) : r.pages,
      };
      this.invalidate('full');
    } else {
      this.dirty.fromStep = Math.min(this.dirty.fromStep, s);
      this.dirty.layers = this.dirty.lists = true;
      this.invalidate('axes');
    }
  }

  /** Highlights a step's row (from hovering its token in the answer). */
  highlightStep(step: number | undefined): void {
    if (step === this.externalStep) return;
    this.externalStep = step;
    this.invalidate('overlay');
    this.invalidate('layers');
  }

  get state(): HeatmapViewState {
    const vp = this.vp;
    return {
      mode: this.chosenMode,
      table: this.showTable,
      ...(this.focus ? { focus: this.focus } : {}),
      ...(!this.fitted && vp
        ? { view: { pageStart: vp.pageStart, pageSpan: vp.pageSpan, stepStart: vp.stepStart, stepSpan: vp.stepSpan } }
        : {}),
    };
  }

  restoreState(state: HeatmapViewState): void {
    this.chosenMode = state.mode;
    this.focus = state.focus;
    this.setTable(state.table, false);
    if (state.view) {
      this.fitted = false;
      this.vp = { width: 1, height: 1, ...state.view };
    }
    this.invalidate('full');
  }

  dispose(): void {
    this.stopTheme();
    this.resizeObserver.disconnect();
    if (this.frame) cancelAnimationFrame(this.frame);
    if (this.slowTimer !== undefined) clearTimeout(this.slowTimer);
  }

  // ── View changes ────────────────────────────────────────────────────────────────────────────────────────────────

  private setMode(mode: HeatmapMode): void {
    this.chosenMode = mode;
    this.invalidate('full');
    this.options.onStateChange();
  }

  /** What the cells show: the chosen mode when this trace has it, else the model's default. */
  private get mode(): HeatmapMode {
    const m = this.model;
    return !m || m.hasMode(this.chosenMode) ? this.chosenMode : m.defaultMode;
  }

  private setTable(on: boolean, notify = true): void {
    this.showTable = on;
    this.dom.tableButton.setAttribute('aria-pressed', String(on));
    this.dom.tableButton.textContent = on ? 'Hide table' : 'Table';
    this.dom.tableHost.hidden = !on;
    this.invalidate('lists');
    if (notify) this.options.onStateChange();
  }

  private fit(): void {
    this.fitted = true;
    this.reserved = this.dataExtent();
    this.invalidate('full');
    this.options.onStateChange();
  }

  /** Zooms around device point (ax, ay), else the focused cell, else the centre. */
  private zoomBy(fx: number, fy: number, ax?: number, ay?: number): void {
    const vp = this.vp;
    if (!vp || !this.model) return;
    const cx = ax ?? (this.focus ? xOfPage(vp, this.focus.page + 0.5) : vp.width / 2);
    const cy = ay ?? (this.focus ? yOfStep(vp, this.focus.step + 0.5) : vp.height / 2);
    const clampTo = (v: number, max: number): number => Math.max(0, Math.min(max - 1, v));
    this.setViewport(zoomViewport(vp, fx, fy, clampTo(cx, vp.width), clampTo(cy, vp.height), this.dataExtent()));
  }

  private setViewport(vp: Viewport): void {
    this.vp = vp;
    this.fitted = false;
    this.bandsDrawnFor = '';
    this.invalidate('full');
    this.options.onStateChange();
  }

  private setMessage(text: string | undefined): void {
    this.dom.message.hidden = text === undefined;
    this.dom.message.textContent = text ?? '';
  }

  /** The data, plus the room `expectedSteps` promises (the pages those tokens will fill). */
  private dataExtent(): Extent {
    const m = this.model;
    if (!m) return { pages: 1, steps: 1 };
    const expected = this.expectedSteps;
    const pages = Math.max(m.pageCount, expected > 0 ? m.pagesAtPosition(m.header.contextTokens + expected - 1) : 0);
    return { pages, steps: Math.max(m.stepCount, expected) };
  }

  /** Marks parts dirty and schedules a paint. 'layers' and 'lists' asked for here skip the streaming throttle. */
  private invalidate(what: 'full' | 'overlay' | 'axes' | 'layers' | 'lists' | 'none'): void {
    if (what === 'full') {
      this.dirty.full = this.dirty.axes = this.dirty.overlay = this.dirty.layers = this.dirty.lists = true;
    } else if (what === 'layers') {
      this.dirty.layers = this.forceLayers = true;
    } else if (what === 'lists') {
      this.dirty.lists = this.forceLists = true;
    } else if (what !== 'none') {
      this.dirty[what] = true;
    }
    if (this.frame === 0) this.frame = requestAnimationFrame(() => this.paint());
  }

  // ── Painting ────────────────────────────────────────────────────────────────────────────────────────────────────

  private paint(): void {
    this.frame = 0;
    try {
      this.paintNow();
    } catch (err) {
      this.options.onError(err);
    }
  }

  /** Paints whatever is dirty, now. */
  private paintNow(): void {
    const t0 = performance.now();
    const model = this.model;
    this.dpr = Math.max(1, globalThis.devicePixelRatio || 1);
    if (model && this.fitted) this.sizePlot(model);
    if (this.main.resize(...this.cssSize(this.dom.main), this.dpr)) this.dirty.full = this.dirty.axes = this.dirty.overlay = true;
    this.agg.resize(...this.cssSize(this.dom.aggregate), this.dpr);
    this.received.resize(...this.cssSize(this.dom.received), this.dpr);
    if (!model) {
      this.dirty = { full: false, fromStep: Infinity, overlay: false, axes: false, layers: false, lists: false };
      return;
    }
    const ext = this.dataExtent();
    const vp = this.currentViewport(ext);
    const colors = this.cellColors(model);
    const rows = model.rows(this.mode);
    if (this.dirty.full) {
      const t = performance.now();
      this.main.drawAll(vp, rows, colors);
      const { width, height, pageStart, pageSpan } = vp;
      measure('drawAll', t, { width, height, steps: model.stepCount, pages: model.pageCount, pageStart, pageSpan });
      this.drawAggregate(model, vp);
      for (const o of this.dom.modeSelect.options) o.disabled = !model.hasMode(o.value as HeatmapMode);
      this.dom.modeSelect.value = this.mode;
      renderLegend(this.doc, this.dom.legend, model, this.mode);
    } else if (this.dirty.fromStep < model.stepCount) {
      const t = performance.now();
      this.main.drawSteps(vp, rows, colors, this.dirty.fromStep, model.stepCount);
      measure('drawSteps', t, { from: this.dirty.fromStep, to: model.stepCount, pages: model.pageCount });
      this.drawAggregate(model, vp);
    }
    if (this.dirty.axes) {
      // The bands change only with the view and the extent; streamed steps change only the gutter and the summary.
      const key = `${vp.width}|${vp.pageStart}|${vp.pageSpan}|${ext.pages}`;
      if (key !== this.bandsDrawnFor) {
        this.bandsDrawnFor = key;
        drawBands(this.sized(this.dom.bands), this.dpr, model, vp, ext.pages, this.theme);
      }
      drawGutter(this.sized(this.dom.gutter), this.dpr, model.stepCount, vp, this.theme);
      this.dom.summary.textContent = summaryText(model);
      this.dom.main.setAttribute('aria-label', ariaLabel(model));
    }
    if (this.dirty.overlay) {
      const focused = this.doc.activeElement === this.dom.main;
      const row = this.hover?.step ?? this.externalStep ?? (focused ? this.focus?.step : undefined);
      drawOverlay(this.dom.overlay, this.dpr, vp, row, focused ? this.focus : this.hover, this.theme);
    }
    this.paintThrottled(model, vp);
    this.dirty.full = this.dirty.overlay = this.dirty.axes = false;
    this.dirty.fromStep = Infinity;
    measure('paint', t0);
  }

  /** An element's CSS size as last observed (before the first observation, as laid out now). */
  private cssSize(el: HTMLElement): [number, number] {
    const s = this.sizes.get(el);
    return s ? [s[0], s[1]] : [el.clientWidth, el.clientHeight];
  }

  private sized(canvas: HTMLCanvasElement, height?: number): SizedCanvas {
    const [cssWidth, cssHeight] = this.cssSize(canvas);
    return { canvas, cssWidth, cssHeight: height ?? cssHeight };
  }

  /** A short answer gets a short plot: rows of FIT_ROW_PX up to the layout's maximum (--ql-plot-max). */
  private sizePlot(model: HeatmapModel): void {
    const rows = Math.max(model.stepCount, this.expectedSteps, this.reserved.steps, 1);
    const height = `max(48px, min(${rows * FIT_ROW_PX}px, var(--ql-plot-max)))`;
    if (height === this.plotHeight) return;
    this.plotHeight = height;
    this.dom.grid.style.setProperty('--ql-plot-height', height);
  }

  /** The fitted view of the reserved extent, or the user's view at the canvas' current size. */
  private currentViewport(ext: Extent): Viewport {
    if (this.fitted || !this.vp) {
      this.vp = fitViewport(this.main.width, this.main.height, {
        pages: Math.max(ext.pages, this.reserved.pages),
        steps: Math.max(ext.steps, this.reserved.steps),
      });
    } else if (this.vp.width !== this.main.width || this.vp.height !== this.main.height) {
      this.vp = clampViewport({ ...this.vp, width: this.main.width, height: this.main.height }, ext);
    }
    return this.vp;
  }

  /** The layers view, the ranking and the table: at most every SLOW_REFRESH_MS while streaming. */
  private paintThrottled(model: HeatmapModel, vp: Viewport): void {
    const now = performance.now();
    if (this.dirty.layers && (this.dirty.full || this.forceLayers || now - this.lastLayers > SLOW_REFRESH_MS)) {
      this.lastLayers = now;
      this.drawLayers(model, vp);
      this.dirty.layers = this.forceLayers = false;
    }
    if (this.dirty.lists && (this.dirty.full || this.forceLists || now - this.lastLists > SLOW_REFRESH_MS)) {
      this.lastLists = now;
      const { interactive, onOpen, compact } = this.options;
      renderFileList(this.doc, this.dom.files, model, { interactive, onOpen, limit: compact ? 8 : 20 });
      if (this.showTable) this.dom.tableHost.replaceChildren(buildTables(this.doc, model, { interactive, onOpen }));
      this.dirty.lists = this.forceLists = false;
    }
    if ((this.dirty.layers || this.dirty.lists) && this.slowTimer === undefined) {
      this.slowTimer = setTimeout(() => {
        this.slowTimer = undefined;
        this.invalidate('none');
      }, SLOW_REFRESH_MS);
    }
  }

  private cellColors(model: HeatmapModel): RasterColors {
    const t = this.theme;
    const mode = this.mode;
    const absent = packPixel(t.absent);
    // Dense decoding before the answer's attention arrives: every page in context is read, in the dense colour.
    if (mode === 'received' && !model.received) return { lut: Uint32Array.of(packPixel(t.background), packPixel(t.dense)), absent };
    const lut = mode === 'selected' ? heatLut(model.levelMax('selected'), t.background, t.heat) : heatLut(255, t.background, t.heat, 0);
    return { lut, absent };
  }

  private drawAggregate(model: HeatmapModel, vp: Viewport): void {
    const t = this.theme;
    // Same pages across, at this canvas' own size (the x transform scales with width).
    const aggVp: Viewport = { ...vp, width: this.agg.width, height: this.agg.height, stepStart: 0, stepSpan: 1 };
    const lut = heatLut(Math.max(1, model.stepCount), t.background, t.heat);
    this.agg.drawAll(aggVp, [model.aggregate()], { lut, absent: packPixel(t.absent) });
    if (model.received) {
      const receivedVp: Viewport = { ...aggVp, width: this.received.width, height: this.received.height };
      this.received.drawAll(receivedVp, [model.received], { lut: heatLut(255, t.background, t.heat, 0), absent: packPixel(t.absent) });
    }
  }

  /** The layers × KV heads view of the hovered, highlighted, focused or last step; dense layers in their colour. */
  private drawLayers(model: HeatmapModel, vp: Viewport): void {
    const step = this.layerStep(model);
    if (step === undefined) {
      this.dom.layerTitle.textContent = 'Layers × KV heads: no steps yet';
      return;
    }
    const view = model.layerView(step);
    const s = model.step(step);
    this.dom.layerTitle.textContent = `Layers × KV heads at step ${step}${s ? ` ${tokenLabel(s.text)}` : ''}`;
    const rowPx = Math.max(3, Math.min(10, Math.floor(160 / view.rows.length)));
    const height = view.rows.length * rowPx;
    if (this.dom.layers.style.height !== `${height}px`) {
      this.dom.layers.style.height = `${height}px`;
      this.dom.layerLabels.style.height = `${height}px`;
    }
    // The height is ours (just set); the width is the grid's, as observed.
    this.layers.resize(this.cssSize(this.dom.layers)[0], height, this.dpr);
    const t = this.theme;
    const lut = new Uint32Array(LAYER_DENSE + 1);
    lut[0] = packPixel(t.background);
    lut[1] = packPixel(t.heat);
    lut[LAYER_DENSE] = packPixel(t.dense);
    const lvp: Viewport = { ...vp, width: this.layers.width, height: this.layers.height, stepStart: 0, stepSpan: view.rows.length };
    this.layers.drawAll(lvp, view.rows, { lut, absent: packPixel(t.absent) });
    drawLayerLabels(this.sized(this.dom.layerLabels, height), this.dpr, view.layers, view.kvHeads, t);
  }

  private layerStep(model: HeatmapModel): number | undefined {
    const s = this.hover?.step ?? this.externalStep ?? this.focus?.step ?? model.stepCount - 1;
    return s >= 0 && s < model.stepCount ? s : undefined;
  }

  // ── Input ───────────────────────────────────────────────────────────────────────────────────────────────────────

  private devicePoint(canvas: HTMLCanvasElement, e: MouseEvent): [number, number] {
    const r = canvas.getBoundingClientRect();
    return [((e.clientX - r.left) * canvas.width) / r.width, ((e.clientY - r.top) * canvas.height) / r.height];
  }

  private hitAt(canvas: HTMLCanvasElement, e: MouseEvent): Hover | undefined {
    const vp = this.vp;
    const model = this.model;
    if (!vp || !model) return undefined;
    const [x, y] = this.devicePoint(canvas, e);
    const hit = hitTest(vp, x, y, this.dataExtent(), model.pageSize);
    return hit && hit.step < model.stepCount ? hit : undefined;
  }

  private wireMain(canvas: HTMLCanvasElement): void {
    canvas.addEventListener('pointermove', (e) => {
      const drag = this.drag;
      if (drag) {
        const [x, y] = this.devicePoint(canvas, e);
        const dx = x - drag.x;
        const dy = y - drag.y;
        if (drag.moved || Math.hypot(dx, dy) > 4 * this.dpr) {
          drag.moved = true;
          this.tooltip.hide();
          this.setViewport(panViewport(drag.vp, dx, dy, this.dataExtent()));
          return;
        }
      }
      this.setHover(this.hitAt(canvas, e), e);
    });
    canvas.addEventListener('pointerleave', () => {
      if (!this.drag) this.setHover(undefined);
    });
    canvas.addEventListener('pointerdown', (e) => {
      if (e.button !== 0 || !this.vp) return;
      const [x, y] = this.devicePoint(canvas, e);
      this.drag = { x, y, moved: false, vp: this.vp };
      canvas.setPointerCapture(e.pointerId);
    });
    canvas.addEventListener('pointerup', (e) => {
      const drag = this.drag;
      this.drag = undefined;
      if (canvas.hasPointerCapture(e.pointerId)) canvas.releasePointerCapture(e.pointerId);
      if (!drag || drag.moved) return;
      const hit = this.hitAt(canvas, e);
      if (!hit) return;
      this.focus = { step: hit.step, page: hit.page };
      this.openToken(hit.token, hit.page);
      this.options.onStateChange();
    });
    canvas.addEventListener('dblclick', () => this.fit());
    canvas.addEventListener(
      'wheel',
      (e) => {
        const vp = this.vp;
        if (!vp) return;
        // Plain vertical wheel scrolls the page as usual; Ctrl (or a pinch) zooms, Shift+Ctrl zooms the steps.
        if (e.ctrlKey || e.metaKey) {
          e.preventDefault();
          const [x, y] = this.devicePoint(canvas, e);
          const f = Math.exp(-e.deltaY * 0.002);
          this.zoomBy(e.shiftKey ? 1 : f, e.shiftKey ? f : 1, x, y);
        } else if (Math.abs(e.deltaX) > Math.abs(e.deltaY)) {
          e.preventDefault();
          this.setViewport(panViewport(vp, -e.deltaX * this.dpr, 0, this.dataExtent()));
        }
      },
      { passive: false },
    );
    canvas.addEventListener('keydown', (e) => this.onKey(e));
    canvas.addEventListener('focus', () => {
      const model = this.model;
      if (!model || model.stepCount === 0) return;
      const last = model.stepCount - 1;
      this.moveFocus(this.focus ?? { step: last, page: model.selectedPages(last)[0] ?? 0 });
    });
    canvas.addEventListener('blur', () => {
      this.options.onHoverStep(undefined);
      this.invalidate('overlay');
    });
  }

  private setHover(hit: Hover | undefined, e?: MouseEvent): void {
    const model = this.model;
    const changed = hit?.step !== this.hover?.step || hit?.page !== this.hover?.page;
    this.hover = hit;
    if (!changed) {
      if (hit && e) this.tooltip.place(e);
      return;
    }
    this.invalidate('overlay');
    this.invalidate('layers');
    this.options.onHoverStep(hit?.step);
    if (!hit || !model) {
      this.tooltip.hide();
      return;
    }
    const d = describeCell(model, hit.step, hit.page);
    this.tooltip.show(d.lines, d.snippet, e);
  }

  private onKey(e: KeyboardEvent): void {
    const model = this.model;
    const vp = this.vp;
    if (!model || !vp || model.stepCount === 0) return;
    const from = this.focus ?? { step: model.stepCount - 1, page: 0 };
    const action = keyAction({ key: e.key, shift: e.shiftKey, ctrl: e.ctrlKey || e.metaKey }, from, {
      steps: model.stepCount,
      pages: model.pageCount,
      visibleSteps: vp.stepSpan,
      selected: (s) => model.selectedPages(s),
    });
    if (!action) return;
    e.preventDefault();
    if (action.kind === 'move') this.moveFocus(action.to);
    else if (action.kind === 'open') this.openToken(from.page * model.pageSize, from.page);
    else if (action.kind === 'zoom') this.zoomBy(action.factor, action.factor);
    else this.fit();
  }

  private moveFocus(cell: Cell): void {
    const model = this.model;
    const vp = this.vp;
    if (!model || !vp) return;
    this.focus = cell;
    const revealed = revealCell(vp, cell.step, cell.page, this.dataExtent());
    if (revealed.pageStart !== vp.pageStart || revealed.stepStart !== vp.stepStart) this.setViewport(revealed);
    this.invalidate('overlay');
    this.invalidate('layers');
    this.options.onHoverStep(cell.step);
    this.dom.live.textContent = describeCell(model, cell.step, cell.page).lines.join('. ');
    this.options.onStateChange();
  }

  /** Opens the file under `token` (a page holding two files opens the one under the pointer). */
  private openToken(token: number, page: number): void {
    const model = this.model;
    if (!model) return;
    const file = model.fileAtToken(token) ?? model.pageInfo(page).files[0];
    if (!file) {
      this.dom.live.textContent = `Page ${page} holds no file text (${model.pageInfo(page).bandLabels.join(', ')}).`;
      return;
    }
    if (!this.options.interactive) {
      this.dom.live.textContent = `${fileLines(file)} (read-only page: open the file in VS Code).`;
      return;
    }
    this.options.onOpen(openTargetOf(file));
  }

  /** The band strip and the page rows: hover describes the page under x, a click opens its file. */
  private wireStrip(
    canvas: HTMLCanvasElement,
    describe: (fractionalPage: number) => { lines: string[]; open?: OpenFileTarget } | undefined,
  ): void {
    const at = (e: MouseEvent) => {
      const vp = this.vp;
      if (!vp) return undefined;
      const [x] = this.devicePoint(canvas, e);
      return describe(pageAtX(vp, (x * vp.width) / canvas.width));
    };
    canvas.addEventListener('pointermove', (e) => {
      const d = at(e);
      if (d) this.tooltip.show(d.lines, undefined, e);
      else this.tooltip.hide();
    });
    canvas.addEventListener('pointerleave', () => this.tooltip.hide());
    canvas.addEventListener('click', (e) => {
      const d = at(e);
      if (d?.open && this.options.interactive) this.options.onOpen(d.open);
    });
  }

  /** A one-cell-per-page row (aggregate, received): `describe` words the page under x; a click opens its first file. */
  private wirePageRow(canvas: HTMLCanvasElement, describe: (model: HeatmapModel, page: number) => string[] | undefined): void {
    this.wireStrip(canvas, (fp) => {
      const m = this.model;
      const page = Math.floor(fp);
      const lines = m && describe(m, page);
      const f = m?.pageInfo(page).files[0];
      return lines && { lines, ...(f ? { open: openTargetOf(f) } : {}) };
    });
  }

  private wireLayers(canvas: HTMLCanvasElement): void {
    canvas.addEventListener('pointermove', (e) => {
      const model = this.model;
      const vp = this.vp;
      const step = model && this.layerStep(model);
      if (!model || !vp || step === undefined) return;
      const [x, y] = this.devicePoint(canvas, e);
      const page = Math.floor(pageAtX(vp, (x * vp.width) / canvas.width));
      const { layers, kvHeads } = model.header;
      const r = Math.floor((y / canvas.height) * layers * kvHeads);
      const lines = describeLayerCell(model, step, Math.floor(r / kvHeads), r % kvHeads, page);
      if (lines) this.tooltip.show(lines, undefined, e);
      else this.tooltip.hide();
    });
    canvas.addEventListener('pointerleave', () => this.tooltip.hide());
  }
}

function measure(name: string, start: number, detail?: Record<string, number>): void {
  const full = PERF + name;
  // Keep only the latest of each: a long session must not grow the performance timeline.
  performance.clearMeasures(full);
  performance.measure(full, { start, end: performance.now(), ...(detail ? { detail } : {}) });
}
