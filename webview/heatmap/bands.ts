// File bands of the heatmap's x axis: which token ranges, and so which pages, came from which file. Pure (no DOM).
//
// A page is pageSize consecutive tokens, and file spans are token ranges, so one page can hold the end of one file and
// the start of the next. Such a page belongs to both files: it is the last page of one band and the first of the
// next, it counts for both files in the ranking, and its hover lists both. Bands are drawn at token resolution
// (x = token / pageSize), so they never overlap on screen; a click opens the file under the pointer's token.
import type { ContextManifest, FileSpan } from '../../extension/context/manifest';
import { checkTrace } from '../errors';

/** One labelled stretch of the context: a file, prompt framing between/around files, or the generated answer. */
export interface Band {
  readonly kind: 'file' | 'prompt' | 'answer';
  /** The path for files, '(prompt)' or '(answer)' otherwise. */
  readonly label: string;
  /** Index into `ContextManifest.files` for kind 'file', else -1. */
  readonly fileIndex: number;
  readonly tokenStart: number;
  /** Exclusive; Infinity for the answer band (it grows while decoding). */
  readonly tokenEnd: number;
}

/** 1-based inclusive line range; `headerOnly` when the tokens cover only the file's header line. */
export interface LineRange {
  readonly start: number;
  readonly end: number;
  readonly headerOnly: boolean;
}

/** The bands of a context, in token order, covering [0, ∞) without gaps. */
export class Bands {
  readonly list: readonly Band[];
  readonly files: readonly FileSpan[];
  /** Band index of each file index. */
  private readonly bandOfFile: Int32Array;
  private readonly starts: Float64Array;

  constructor(
    manifest: ContextManifest | undefined,
    readonly contextTokens: number,
    readonly pageSize: number,
  ) {
    checkTrace(Number.isInteger(pageSize) && pageSize > 0, `pageSize must be a positive integer, got ${pageSize}`);
    checkTrace(
      Number.isInteger(contextTokens) && contextTokens >= 0,
      `contextTokens must be a non-negative integer, got ${contextTokens}`,
    );
    if (manifest) {
      checkTrace(
        manifest.pageSize === pageSize,
        `manifest.pageSize (${manifest.pageSize}) must equal the trace's pageSize (${pageSize})`,
      );
    }
    const files = manifest?.files ?? [];
    const order = files.map((_, i) => i).sort((a, b) => files[a].tokenStart - files[b].tokenStart);
    const list: Band[] = [];
    this.bandOfFile = new Int32Array(files.length).fill(-1);
    let at = 0;
    for (const i of order) {
      const f = files[i];
      checkTrace(
        f.tokenStart < f.tokenEnd,
        `manifest file ${f.path} must span tokenStart < tokenEnd, got [${f.tokenStart}, ${f.tokenEnd})`,
      );
      checkTrace(
        f.tokenStart >= at,
        `manifest file ${f.path} starts at token ${f.tokenStart}, inside the previous span (which ends at ${at})`,
      );
      checkTrace(
        f.tokenEnd <= contextTokens,
        `manifest file ${f.path} ends at token ${f.tokenEnd}, past the trace's contextTokens (${contextTokens})`,
      );
      if (f.tokenStart > at) list.push(promptBand(at, f.tokenStart));
      this.bandOfFile[i] = list.length;
      list.push({ kind: 'file', label: f.path, fileIndex: i, tokenStart: f.tokenStart, tokenEnd: f.tokenEnd });
      at = f.tokenEnd;
    }
    if (contextTokens > at) list.push(promptBand(at, contextTokens));
    list.push({ kind: 'answer', label: '(answer)', fileIndex: -1, tokenStart: contextTokens, tokenEnd: Infinity });
    this.list = list;
    this.files = files;
    this.starts = Float64Array.from(list, (b) => b.tokenStart);
  }

  /** Index of the band holding token `t` (t ≥ 0). */
  bandAtToken(t: number): number {
    // Last band whose start ≤ t; empty bands do not exist, so this is the one holding t.
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid] <= t) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** [first, last] band indices (inclusive) that page `page` touches. */
  bandsOfPage(page: number): [number, number] {
    const first = this.bandAtToken(page * this.pageSize);
    const last = this.bandAtToken((page + 1) * this.pageSize - 1);
    return [first, last];
  }

  /** Pages [start, end) that band `b` touches, clipped to `pages` for the open-ended answer band. */
  pageRange(b: number, pages: number): [number, number] {
    const band = this.list[b];
    const start = Math.floor(band.tokenStart / this.pageSize);
    const end = band.tokenEnd === Infinity ? Math.max(start, pages) : Math.ceil(band.tokenEnd / this.pageSize);
    return [start, end];
  }

  /** Band index of file `fileIndex` (an index into the manifest's files). */
  bandOfFileIndex(fileIndex: number): number {
    return this.bandOfFile[fileIndex];
  }
}

function promptBand(tokenStart: number, tokenEnd: number): Band {
  return { kind: 'prompt', label: '(prompt)', fileIndex: -1, tokenStart, tokenEnd };
}

/**
 * Lines of `span` that tokens [a, b) cover. `lineTokenStarts` are offsets from `tokenStart` (the first one equals
 * `headerTokens`: the header line comes first); line n covers [lineTokenStarts[n-1], lineTokenStarts[n]).
 * Undefined when [a, b) does not intersect the span.
 */
export function linesOfTokens(span: FileSpan, a: number, b: number): LineRange | undefined {
  const from = Math.max(a, span.tokenStart);
  const to = Math.min(b, span.tokenEnd);
  if (from >= to) return undefined;
  const starts = span.lineTokenStarts;
  const lines = starts.length - 1;
  const firstBody = span.tokenStart + (starts.length > 0 ? starts[0] : span.headerTokens);
  if (lines < 1 || to <= firstBody) return { start: 1, end: 1, headerOnly: true };
  const start = lineOfOffset(starts, Math.max(from, firstBody) - span.tokenStart);
  const end = lineOfOffset(starts, to - 1 - span.tokenStart);
  return { start, end, headerOnly: false };
}

/** The 1-based line holding token offset `rel` (≥ starts[0]): the last n with starts[n-1] ≤ rel, at most lines. */
function lineOfOffset(starts: readonly number[], rel: number): number {
  let lo = 1;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid - 1] <= rel) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}
