// The heatmap's data: per decode step, how many sparse (layer, KV head) pairs selected each page; optional per-page
// score and attention levels; the aggregate row, the answer's attention per page, and per-file counts. In dense
// decoding every layer reads every page, so there is no selection to count: the answer's attention per page is what
// tells pages apart. Pure (no DOM), so it runs under node tests.
// appendStep costs O(pages in context + pages selected), never O(steps × pages), so streaming stays cheap.
import type { ContextManifest } from '../../extension/context/manifest';
import type { SelectionTrace, TraceStep } from '../../gpu/trace';
import { checkTrace } from '../errors';
import { Bands, linesOfTokens, type LineRange } from './bands';

/** The trace without its steps: what a new turn's heatmap starts from. */
export type TraceHeader = Omit<SelectionTrace, 'steps'>;

/**
 * What a cell's colour shows: 'selected' the sparse layer-heads that read the page (Quest only); 'score' and
 * 'attention' the step's own page scores and attention, only when the trace recorded them; 'received' the whole
 * answer's attention per page (trace.attention) on every row, or, in dense decoding before it arrives, every page as
 * read.
 */
export type HeatmapMode = 'selected' | 'score' | 'attention' | 'received';

/** Cell level rows: counts (mode 'selected', 0..sparsePairs) or levels 0..255 (the others). */
export type LevelRow = Uint8Array | Uint16Array | Uint32Array;

export interface FileRank {
  readonly fileIndex: number;
  readonly path: string;
  /** Σ over steps of this file's pages selected at that step (by any sparse layer/head). */
  readonly pageSteps: number;
  /** Distinct pages of the file selected at least once. */
  readonly pagesChosen: number;
  /** Pages the file touches. */
  readonly pages: number;
  /** Σ of its pages' shares of the answer's attention to file text (0..1; a shared page counts for both files). */
  readonly attention: number | undefined;
}

/** One file's part of a page. */
export interface PageFile {
  readonly fileIndex: number;
  /** Header path (`<folder name>/<path>`), for display. */
  readonly path: string;
  /** With `folder`, what 'editor/open' carries. */
  readonly relPath: string;
  readonly folder: number;
  readonly lines: LineRange;
}

/** What 'editor/open' carries for a page's part of a file: its lines (line 1 when only the header is in the page). */
export function openTargetOf(f: PageFile): { path: string; folder: number; line: number; endLine?: number } {
  return f.lines.headerOnly
    ? { path: f.relPath, folder: f.folder, line: 1 }
    : { path: f.relPath, folder: f.folder, line: f.lines.start, endLine: f.lines.end };
}

/** The part of `fileIndex` in the page it was chosen most (its first page if never chosen). */
export function hottestPartOf(model: HeatmapModel, fileIndex: number): PageFile | undefined {
  return model.pageInfo(model.hottestPageOfFile(fileIndex)).files.find((x) => x.fileIndex === fileIndex);
}

export interface PageInfo {
  readonly page: number;
  readonly tokenStart: number;
  readonly tokenEnd: number;
  readonly files: readonly PageFile[];
  /** Labels of the bands the page touches ('(prompt)', '(answer)' or paths). */
  readonly bandLabels: readonly string[];
}

/** The layers × KV heads view of one step: one row per (layer, head), layer-major. */
export interface LayerView {
  /** (layers·kvHeads) rows of (pages at the step): 0 not read, 1 selected, 2 dense layer (reads every page). */
  readonly rows: readonly Uint8Array[];
  readonly layers: number;
  readonly kvHeads: number;
  readonly denseLayers: number;
}

/** Level value meaning "dense layer" in LayerView rows. */
export const LAYER_DENSE = 2;

export class HeatmapModel {
  readonly header: TraceHeader;
  readonly bands: Bands;
  /** Sparse (layer, KV head) pairs: the denominator of a cell's selected fraction. */
  readonly sparsePairs: number;
  /** Whether any step carried scores / attention (a step without them, like the first one, has an empty row). */
  private scores = false;
  private attention = false;
  /**
   * (pageCount) the answer's attention per page (trace.attention) as 0..255, scaled by the most attended page that
   * holds file text (pages of the question and answer, which can get more, are capped at 255); absent without it.
   */
  readonly received: Uint8Array | undefined;
  /** (pageCount) each page's share of the answer's attention to pages holding file text (0 for the others). */
  private readonly receivedShare: Float64Array | undefined;
  private readonly steps: TraceStep[] = [];
  /** (steps) rows of (pages at that step): sparse pairs that selected the page. */
  private readonly counts: Uint16Array[] = [];
  /** (steps) rows of (pages at that step; none when the step has no scores) 0..255: mean score, min–max scaled. */
  private readonly scoreLevels: Uint8Array[] = [];
  /** (steps) rows of (pages at that step; none when the step has no attention) 0..255: by the step's largest. */
  private readonly attentionLevels: Uint8Array[] = [];
  /** (steps) views of `received` (or of `read`) over the pages at each step; filled up to date by rows('received'). */
  private readonly receivedRows: Uint8Array[] = [];
  /** (capacity ≥ pageCount) all 1: 'received' rows before the answer's attention exists (every page read). */
  private read = new Uint8Array(0);
  /** (capacity ≥ pageCount) steps at which each page was selected by any sparse pair. */
  private agg = new Uint32Array(64);
  /** (bands) Σ over steps of the band's pages selected at that step. */
  private readonly bandPageSteps: Float64Array;
  /** (bands) distinct pages of the band ever selected. */
  private readonly bandPagesChosen: Uint32Array;
  private pages = 0;

  /** A model of the header alone (no steps yet); `trace.steps`, if any, are appended. */
  constructor(
    trace: TraceHeader & { readonly steps?: readonly TraceStep[] },
    readonly manifest?: ContextManifest,
    readonly pageTexts?: readonly string[],
  ) {
    const { layers, kvHeads, denseLayers, pageSize, pageBudget } = trace;
    checkTrace(trace.version === 1, `trace.version must be 1, got ${String(trace.version)}`);
    checkTrace(Number.isInteger(layers) && layers > 0, `trace.layers must be a positive integer, got ${layers}`);
    checkTrace(Number.isInteger(kvHeads) && kvHeads > 0, `trace.kvHeads must be a positive integer, got ${kvHeads}`);
    checkTrace(
      Number.isInteger(denseLayers) && denseLayers >= 0 && denseLayers <= layers,
      `trace.denseLayers must be in [0, layers=${layers}], got ${denseLayers}`,
    );
    checkTrace(Number.isInteger(pageBudget) && pageBudget >= 0, `trace.pageBudget must be ≥ 0, got ${pageBudget}`);
    this.sparsePairs = trace.mode === 'dense' ? 0 : (layers - denseLayers) * kvHeads;
    checkTrace(this.sparsePairs <= 0xffff, `sparse layer-heads must be ≤ 65535, got ${this.sparsePairs}`);
    const { steps: _steps, ...header } = trace;
    this.header = header;
    this.bands = new Bands(manifest, trace.contextTokens, pageSize);
    this.bandPageSteps = new Float64Array(this.bands.list.length);
    this.bandPagesChosen = new Uint32Array(this.bands.list.length);
    this.pages = this.pagesAtPosition(trace.contextTokens);
    for (const step of trace.steps ?? []) this.appendStep(step);
    if (trace.attention !== undefined) {
      const received = trace.attention;
      checkTrace(
        Array.isArray(received) && received.length <= this.pages,
        `trace.attention must have one entry per page (at most ${this.pages}), got ${Array.isArray(received) ? received.length : typeof received}`,
      );
      const mass = Float64Array.from({ length: this.pages }, (_, p) => (Number.isFinite(received[p]) && received[p] > 0 ? received[p] : 0));
      const inFiles = Float64Array.from(mass, (m, p) => (this.pageInfo(p).files.length > 0 ? m : 0));
      const top = inFiles.reduce((a, b) => Math.max(a, b), 0);
      const total = inFiles.reduce((a, b) => a + b, 0);
      this.received = Uint8Array.from(mass, (m) => (top > 0 ? Math.min(255, Math.round((m * 255) / top)) : 0));
      this.receivedShare = Float64Array.from(inFiles, (m) => (total > 0 ? m / total : 0));
    }
  }

  get stepCount(): number {
    return this.steps.length;
  }
  /** Pages in context at the last step (or after the prompt when there are no steps). */
  get pageCount(): number {
    return this.pages;
  }
  get pageSize(): number {
    return this.header.pageSize;
  }
  get hasScores(): boolean {
    return this.scores === true;
  }
  get hasAttention(): boolean {
    return this.attention === true;
  }
  /** Every layer reads every page (dense decoding, or no sparse layers): there is no selection to show. */
  get everyPageRead(): boolean {
    return this.sparsePairs === 0;
  }

  /** Whether `mode` has anything to draw for this trace. */
  hasMode(mode: HeatmapMode): boolean {
    if (mode === 'selected') return !this.everyPageRead;
    if (mode === 'score') return this.hasScores;
    if (mode === 'attention') return this.hasAttention;
    return this.received !== undefined || this.everyPageRead;
  }

  /** What the view shows when the chosen mode has nothing to draw: the selection, or in dense decoding the attention. */
  get defaultMode(): HeatmapMode {
    return this.everyPageRead ? 'received' : 'selected';
  }

  /** `page`'s share of the answer's attention to file pages (0..1), or undefined without the answer's attention. */
  receivedAt(page: number): number | undefined {
    return this.receivedShare?.[page];
  }

  /** Pages holding tokens [0, position]: the query at `position` sees its own key too. */
  pagesAtPosition(position: number): number {
    return Math.floor(position / this.header.pageSize) + 1;
  }

  /** Adds one decode step; O(pages in context + pages selected). Throws TraceShapeError on a malformed step. */
  appendStep(step: TraceStep): void {
    const { layers, kvHeads, denseLayers } = this.header;
    const s = this.steps.length;
    checkTrace(
      Array.isArray(step.pages) && step.pages.length === layers,
      `step ${s}: pages must have one entry per layer (${layers}), got ${Array.isArray(step.pages) ? step.pages.length : typeof step.pages}`,
    );
    const prev = s > 0 ? this.steps[s - 1].position : -1;
    checkTrace(
      Number.isInteger(step.position) && step.position > prev && step.position >= this.header.contextTokens,
      `step ${s}: position must be an integer > the previous step's (${prev}) and ≥ contextTokens (${this.header.contextTokens}), got ${step.position}`,
    );
    const pages = this.pagesAtPosition(step.position);
    const row = new Uint16Array(pages);
    const newly: number[] = [];
    for (let l = 0; l < layers; l++) {
      const perHead = step.pages[l];
      checkTrace(
        perHead.length === kvHeads,
        `step ${s} layer ${l}: pages must have one list per KV head (${kvHeads}), got ${perHead.length}`,
      );
      for (let h = 0; h < kvHeads; h++) {
        const list = perHead[h];
        if (l < denseLayers || this.sparsePairs === 0) {
          checkTrace(list.length === 0, `step ${s} layer ${l} is dense and must list no pages, got ${list.length}`);
          continue;
        }
        for (const p of list) {
          checkTrace(
            Number.isInteger(p) && p >= 0 && p < pages,
            `step ${s} layer ${l} head ${h}: page ${p} must be in [0, ${pages}) (position ${step.position}, pageSize ${this.header.pageSize})`,
          );
          if (row[p]++ === 0) newly.push(p);
        }
      }
    }
    // Everything that can throw runs before the first change to the model's state.
    const scoreRow = step.scores !== undefined ? scoreLevels(step.scores, s, pages, layers, denseLayers, kvHeads) : new Uint8Array(0);
    const attentionRow = step.attention !== undefined ? attentionLevels(step.attention, s, pages) : new Uint8Array(0);
    this.scores ||= step.scores !== undefined;
    this.attention ||= step.attention !== undefined;
    this.ensureCapacity(pages);
    for (const p of newly) {
      if (this.agg[p]++ === 0) this.forBandsOfPage(p, (b) => this.bandPagesChosen[b]++);
      this.forBandsOfPage(p, (b) => this.bandPageSteps[b]++);
    }
    this.counts.push(row);
    this.scoreLevels.push(scoreRow);
    this.attentionLevels.push(attentionRow);
    this.steps.push(step);
    this.pages = Math.max(this.pages, pages);
  }

  /** The step as recorded; undefined outside [0, stepCount). */
  step(s: number): TraceStep | undefined {
    return this.steps[s];
  }

  /** Sparse pairs that selected `page` at step `s` (0 when the page was not in context yet). */
  countAt(s: number, page: number): number {
    const row = this.counts[s];
    return row !== undefined && page < row.length ? row[page] : 0;
  }

  /** Whether `page` existed at step `s`. */
  inContext(s: number, page: number): boolean {
    const row = this.counts[s];
    return row !== undefined && page >= 0 && page < row.length;
  }

  /** Row levels for drawing; see `levelMax` for the range. */
  rows(mode: HeatmapMode): readonly LevelRow[] {
    if (mode === 'score') return this.scoreLevels;
    if (mode === 'attention') return this.attentionLevels;
    if (mode === 'received') return this.receivedLevels();
    return this.counts;
  }

  /** The largest level `rows(mode)` can hold ('received' before the answer's attention exists: 1, read). */
  levelMax(mode: HeatmapMode): number {
    if (mode === 'selected') return this.sparsePairs;
    return mode === 'received' && !this.received ? 1 : 255;
  }

  /** The score or attention level of a cell as 0..1, undefined when the trace has none. */
  levelAt(mode: 'score' | 'attention', s: number, page: number): number | undefined {
    const row = (mode === 'score' ? this.scoreLevels : this.attentionLevels)[s];
    return row !== undefined && page < row.length ? row[page] / 255 : undefined;
  }

  /** Per step, the answer's attention over the pages in context then (views, no copies). */
  private receivedLevels(): readonly Uint8Array[] {
    const source = this.received ?? this.readRow();
    for (let s = this.receivedRows.length; s < this.steps.length; s++) {
      this.receivedRows.push(source.subarray(0, this.counts[s].length));
    }
    return this.receivedRows;
  }

  /** All 1 over every page in context; grown geometrically (views of an outgrown buffer stay valid: still all 1). */
  private readRow(): Uint8Array {
    if (this.read.length < this.pages) this.read = new Uint8Array(Math.max(this.pages, this.read.length * 2)).fill(1);
    return this.read;
  }

  /** (pageCount) steps at which each page was selected by any sparse layer/head. A view: do not keep it. */
  aggregate(): Uint32Array {
    return this.agg.subarray(0, this.pages);
  }

  /**
   * Files by page-steps chosen, most first; in dense decoding (nothing chosen) by the answer's attention. Ties by
   * path.
   */
  fileRanking(limit = Infinity): FileRank[] {
    const out: FileRank[] = [];
    const share = this.receivedShare;
    this.bands.list.forEach((band, b) => {
      if (band.kind !== 'file') return;
      const [p0, p1] = this.bands.pageRange(b, this.pages);
      let attention = 0;
      if (share) for (let p = p0; p < p1; p++) attention += share[p];
      out.push({
        fileIndex: band.fileIndex,
        path: band.label,
        pageSteps: this.bandPageSteps[b],
        pagesChosen: this.bandPagesChosen[b],
        pages: p1 - p0,
        attention: share ? attention : undefined,
      });
    });
    const byPath = (x: FileRank, y: FileRank): number => (x.path < y.path ? -1 : 1);
    if (this.everyPageRead) out.sort((x, y) => (y.attention ?? 0) - (x.attention ?? 0) || byPath(x, y));
    else out.sort((x, y) => y.pageSteps - x.pageSteps || y.pagesChosen - x.pagesChosen || byPath(x, y));
    return out.slice(0, limit);
  }

  /**
   * The page of `fileIndex` chosen most often, in dense decoding the one the answer paid the most attention (ties:
   * the first); its first page when none stands out.
   */
  hottestPageOfFile(fileIndex: number): number {
    const [p0, p1] = this.bands.pageRange(this.bands.bandOfFileIndex(fileIndex), this.pages);
    const heat = this.everyPageRead ? this.receivedShare : this.agg;
    let best = p0;
    if (heat) for (let p = p0; p < p1 && p < this.pages; p++) if (heat[p] > heat[best]) best = p;
    return best;
  }

  /** The files (and their lines) and band labels of a page. */
  pageInfo(page: number): PageInfo {
    const tokenStart = page * this.pageSize;
    const tokenEnd = tokenStart + this.pageSize;
    const [b0, b1] = this.bands.bandsOfPage(page);
    const files: PageFile[] = [];
    const bandLabels: string[] = [];
    for (let b = b0; b <= b1; b++) {
      const band = this.bands.list[b];
      bandLabels.push(band.label);
      if (band.kind !== 'file') continue;
      const span = this.bands.files[band.fileIndex];
      const lines = linesOfTokens(span, tokenStart, tokenEnd);
      if (lines) files.push({ fileIndex: band.fileIndex, path: span.path, relPath: span.relPath, folder: span.folder, lines });
    }
    return { page, tokenStart, tokenEnd, files, bandLabels };
  }

  /** The file and lines under token `token` (what a click opens), or undefined outside files. */
  fileAtToken(token: number): PageFile | undefined {
    const band = this.bands.list[this.bands.bandAtToken(token)];
    if (band.kind !== 'file') return undefined;
    const span = this.bands.files[band.fileIndex];
    const page = Math.floor(token / this.pageSize);
    const lines = linesOfTokens(span, page * this.pageSize, (page + 1) * this.pageSize);
    return lines && { fileIndex: band.fileIndex, path: span.path, relPath: span.relPath, folder: span.folder, lines };
  }

  /** The layers × KV heads view of step `s`. */
  layerView(s: number): LayerView {
    const { layers, kvHeads, denseLayers } = this.header;
    const step = this.steps[s];
    checkTrace(step !== undefined, `layerView: step ${s} must be in [0, ${this.steps.length})`);
    const pages = this.pagesAtPosition(step.position);
    const rows: Uint8Array[] = [];
    for (let l = 0; l < layers; l++) {
      for (let h = 0; h < kvHeads; h++) {
        const row = new Uint8Array(pages);
        if (l < denseLayers || this.sparsePairs === 0) row.fill(LAYER_DENSE);
        else for (const p of step.pages[l][h]) row[p] = 1;
        rows.push(row);
      }
    }
    return { rows, layers, kvHeads, denseLayers };
  }

  /** Pages selected at step `s` by any sparse pair, ascending. */
  selectedPages(s: number): number[] {
    const row = this.counts[s];
    const out: number[] = [];
    for (let p = 0; p < row.length; p++) if (row[p] > 0) out.push(p);
    return out;
  }

  private forBandsOfPage(page: number, fn: (band: number) => void): void {
    const [b0, b1] = this.bands.bandsOfPage(page);
    for (let b = b0; b <= b1; b++) fn(b);
  }

  private ensureCapacity(pages: number): void {
    if (pages <= this.agg.length) return;
    const grown = new Uint32Array(Math.max(pages, this.agg.length * 2));
    grown.set(this.agg);
    this.agg = grown;
  }
}

/** Mean score over sparse layer-heads per page, min–max scaled to 0..255 within the step (scores are unitless). */
function scoreLevels(
  scores: NonNullable<TraceStep['scores']>,
  s: number,
  pages: number,
  layers: number,
  denseLayers: number,
  kvHeads: number,
): Uint8Array {
  checkTrace(Array.isArray(scores) && scores.length === layers, `step ${s}: scores must have one entry per layer (${layers}), got ${scores.length}`);
  const sum = new Float64Array(pages);
  for (let l = denseLayers; l < scores.length; l++) {
    for (let h = 0; h < kvHeads; h++) {
      const row = scores[l][h];
      checkTrace(row !== undefined, `step ${s} layer ${l}: scores must have one list per KV head (${kvHeads})`);
      checkTrace(
        row.length >= pages - 1 && row.length <= pages,
        `step ${s} layer ${l} head ${h}: scores must have one entry per page in context (${pages}), got ${row.length}`,
      );
      for (let p = 0; p < row.length; p++) sum[p] += Number.isFinite(row[p]) ? row[p] : 0;
    }
  }
  // The mean is the sum over a fixed pair count; min–max scaling makes the count cancel out.
  return scaleToLevels(sum, true);
}

function attentionLevels(attention: NonNullable<TraceStep['attention']>, s: number, pages: number): Uint8Array {
  checkTrace(
    Array.isArray(attention) && attention.length >= pages - 1 && attention.length <= pages,
    `step ${s}: attention must have one entry per page in context (${pages}), got ${attention.length}`,
  );
  const mass = new Float64Array(pages);
  for (let p = 0; p < attention.length; p++) mass[p] = Number.isFinite(attention[p]) ? attention[p] : 0;
  return scaleToLevels(mass, false);
}

/** values scaled to 0..255: min–max when `shift`, else by the max (0 stays 0). */
function scaleToLevels(values: Float64Array, shift: boolean): Uint8Array {
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const lo = shift ? min : 0;
  const range = max - lo;
  const out = new Uint8Array(values.length);
  if (!(range > 0)) return out;
  for (let p = 0; p < values.length; p++) out[p] = Math.round(((values[p] - lo) * 255) / range);
  return out;
}
