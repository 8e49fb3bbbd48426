// Words for what the heatmap draws: a cell's tooltip and screen-reader text, and each step's row of the table view.
// Pure (no DOM); the same sentences serve the tooltip, the aria-live announcement and the table.
import type { HeatmapModel, PageFile } from './model';

/** "src/a.ts lines 10–18", "src/a.ts line 4", "src/a.ts (header)". */
export function fileLines(f: Pick<PageFile, 'path' | 'lines'>): string {
  if (f.lines.headerOnly) return `${f.path} (header)`;
  const { start, end } = f.lines;
  return start === end ? `${f.path} line ${start}` : `${f.path} lines ${start}–${end}`;
}

/** A token's text for display: whitespace made visible, quoted, at most 24 characters. */
export function tokenLabel(text: string): string {
  const shown = text.replace(/\n/g, '⏎').replace(/\t/g, '⇥').replace(/ /g, '·');
  return `“${shown.length > 24 ? `${shown.slice(0, 23)}…` : shown}”`;
}

export interface CellDescription {
  /** Short lines, most important first. */
  readonly lines: readonly string[];
  /** The page's text, when the host sent page texts. */
  readonly snippet?: string;
}

/** Everything known about cell (step, page). */
export function describeCell(model: HeatmapModel, step: number, page: number): CellDescription {
  const lines: string[] = [];
  const s = model.step(step);
  if (s) lines.push(`Step ${step} ${tokenLabel(s.text)} at position ${s.position}`);
  const info = model.pageInfo(page);
  lines.push(`Page ${page}: tokens ${info.tokenStart}–${info.tokenEnd - 1}`);
  if (info.files.length > 0) for (const f of info.files) lines.push(fileLines(f));
  else lines.push(info.bandLabels.join(', '));
  if (s && !model.inContext(step, page)) {
    lines.push('Not in context yet at this step');
  } else if (s) {
    lines.push(selectionSentence(model, step, page));
    const score = model.levelAt('score', step, page);
    if (score !== undefined) lines.push(`Score ${(score * 100).toFixed(0)}% of this step's range`);
    const attention = model.levelAt('attention', step, page);
    if (attention !== undefined) lines.push(`Attention ${(attention * 100).toFixed(0)}% of this step's largest`);
  }
  const agg = model.aggregate()[page];
  if (agg !== undefined && !model.everyPageRead) lines.push(`Chosen at ${agg} of ${model.stepCount} steps`);
  const share = model.receivedAt(page);
  if (share !== undefined && info.files.length > 0) lines.push(`${(share * 100).toFixed(1)}% of the answer's attention to the files`);
  const snippet = model.pageTexts?.[page];
  return snippet !== undefined ? { lines, snippet } : { lines };
}

/** "Selected by 6 of 8 sparse layer-heads (75%)" and the dense-layers caveat. */
export function selectionSentence(model: HeatmapModel, step: number, page: number): string {
  const { denseLayers } = model.header;
  const dense = denseLayers > 0 ? `; ${denseLayers === 1 ? 'layer 0 is' : `layers 0–${denseLayers - 1} are`} dense` : '';
  if (model.sparsePairs === 0) return `Dense decoding: every layer reads every page`;
  const n = model.countAt(step, page);
  const pct = Math.round((100 * n) / model.sparsePairs);
  return n === 0
    ? `Not selected by any sparse layer-head${dense}`
    : `Selected by ${n} of ${model.sparsePairs} sparse layer-heads (${pct}%)${dense}`;
}

/** Consecutive selected pages of one step, with the files and lines they cover. */
export interface PageRun {
  readonly pageStart: number;
  /** Inclusive. */
  readonly pageEnd: number;
  readonly files: readonly string[];
}

/** The pages step `step` selected (by any sparse layer-head), as runs of consecutive pages. */
export function stepRuns(model: HeatmapModel, step: number): PageRun[] {
  const runs: PageRun[] = [];
  const pages = model.selectedPages(step);
  let i = 0;
  while (i < pages.length) {
    let j = i;
    while (j + 1 < pages.length && pages[j + 1] === pages[j] + 1) j++;
    runs.push({ pageStart: pages[i], pageEnd: pages[j], files: runFiles(model, pages[i], pages[j]) });
    i = j + 1;
  }
  return runs;
}

/** Files and merged line ranges of pages [p0, p1]. */
function runFiles(model: HeatmapModel, p0: number, p1: number): string[] {
  const byPath = new Map<string, { start: number; end: number; header: boolean }>();
  const order: string[] = [];
  const others = new Set<string>();
  for (let p = p0; p <= p1; p++) {
    const info = model.pageInfo(p);
    if (info.files.length === 0) info.bandLabels.forEach((l) => others.add(l));
    for (const f of info.files) {
      const prev = byPath.get(f.path);
      if (!prev) {
        order.push(f.path);
        byPath.set(f.path, { start: f.lines.start, end: f.lines.end, header: f.lines.headerOnly });
      } else if (!f.lines.headerOnly) {
        prev.start = prev.header ? f.lines.start : Math.min(prev.start, f.lines.start);
        prev.end = Math.max(prev.end, f.lines.end);
        prev.header = false;
      }
    }
  }
  const files = order.map((path) => {
    const r = byPath.get(path) as { start: number; end: number; header: boolean };
    return fileLines({ path, lines: { start: r.start, end: r.end, headerOnly: r.header } });
  });
  return [...files, ...others];
}

/** What hovering the band strip at fractional page `fp` says, and the file a click there opens. */
export function describeBand(
  model: HeatmapModel,
  fp: number,
): { lines: string[]; open?: { path: string; line: number; folder: number } } | undefined {
  if (fp < 0) return undefined;
  const b = model.bands.bandAtToken(Math.floor(fp * model.pageSize));
  const band = model.bands.list[b];
  const [p0, p1] = model.bands.pageRange(b, model.pageCount);
  const lines = [band.label, `Pages ${p0}–${Math.max(p0, p1 - 1)}`];
  if (band.kind !== 'file') return { lines };
  const rank = model.fileRanking().find((f) => f.fileIndex === band.fileIndex);
  if (rank && !model.everyPageRead) lines.push(`${rank.pageSteps} page-steps chosen, ${rank.pagesChosen} of ${rank.pages} pages`);
  if (rank?.attention !== undefined) lines.push(`${(rank.attention * 100).toFixed(1)}% of the answer's attention to the files`);
  const span = model.bands.files[band.fileIndex];
  return { lines, open: { path: span.relPath, line: 1, folder: span.folder } };
}

/** What hovering the aggregate row at page `page` says. */
export function describeAggregate(model: HeatmapModel, page: number): string[] | undefined {
  if (page < 0 || page >= model.pageCount) return undefined;
  const info = model.pageInfo(page);
  return [
    `Page ${page}: chosen at ${model.aggregate()[page]} of ${model.stepCount} steps`,
    ...(info.files.length > 0 ? info.files.map(fileLines) : [info.bandLabels.join(', ')]),
  ];
}

/** What hovering the answer's attention row at page `page` says. */
export function describeReceived(model: HeatmapModel, page: number): string[] | undefined {
  const share = model.receivedAt(page);
  if (share === undefined || page < 0 || page >= model.pageCount) return undefined;
  const info = model.pageInfo(page);
  if (info.files.length === 0) return [`Page ${page}: ${info.bandLabels.join(', ')} (not file text: never cited)`];
  return [`Page ${page}: ${(share * 100).toFixed(1)}% of the answer's attention to the files`, ...info.files.map(fileLines)];
}

/** What hovering the layers × KV heads view says about (layer, head, page) at step `step`. */
export function describeLayerCell(model: HeatmapModel, step: number, layer: number, head: number, page: number): string[] | undefined {
  const s = model.step(step);
  const { layers, kvHeads, denseLayers } = model.header;
  if (!s || page < 0 || page >= model.pagesAtPosition(s.position) || layer < 0 || layer >= layers || head < 0 || head >= kvHeads) {
    return undefined;
  }
  const state =
    layer < denseLayers || model.sparsePairs === 0
      ? 'dense layer: reads every page'
      : s.pages[layer][head].includes(page)
        ? 'selected'
        : 'not selected';
  const info = model.pageInfo(page);
  return [
    `Step ${step}, layer ${layer}, KV head ${head}`,
    `Page ${page}: ${state}`,
    ...(info.files.length > 0 ? info.files.map(fileLines) : [info.bandLabels.join(', ')]),
  ];
}
