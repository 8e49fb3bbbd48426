// The heatmap as tables, for screen readers and keyboard users: the same information as the canvas, in text.
import type { OpenTarget } from '../protocol';
import { hottestPartOf, openTargetOf, type HeatmapModel } from './model';
import { fileLines, stepRuns, tokenLabel } from './describe';

export interface TableOptions {
  readonly interactive: boolean;
  readonly onOpen: (target: OpenTarget) => void;
  /** Rows of the per-step table rendered before a "Show all" button. */
  readonly stepRows?: number;
}

/**
 * Builds the tables: files by pages chosen, pages chosen at each step, pages chosen most often, and (when the trace
 * has it) the pages the answer paid the most attention to. In dense decoding, where every step reads every page,
 * only files by the answer's attention and the pages it paid the most attention to.
 */
export function buildTables(doc: Document, model: HeatmapModel, options: TableOptions): HTMLElement {
  const wrap = doc.createElement('div');
  wrap.className = 'hm-tables';
  if (model.everyPageRead) {
    const note = doc.createElement('p');
    note.textContent = `Dense decoding: every layer read all ${model.pageCount} pages at each of the ${model.stepCount} steps.`;
    wrap.append(note);
    if (model.received) wrap.append(filesByAttentionTable(doc, model, options), attentionTable(doc, model, options));
    return wrap;
  }
  wrap.append(filesTable(doc, model, options), stepsTable(doc, model, options), pagesTable(doc, model, options));
  if (model.received) wrap.append(attentionTable(doc, model, options));
  return wrap;
}

function table(doc: Document, caption: string, headers: readonly string[]): [HTMLTableElement, HTMLTableSectionElement] {
  const t = doc.createElement('table');
  const cap = doc.createElement('caption');
  cap.textContent = caption;
  const head = doc.createElement('thead');
  const tr = doc.createElement('tr');
  for (const h of headers) {
    const th = doc.createElement('th');
    th.scope = 'col';
    th.textContent = h;
    tr.append(th);
  }
  head.append(tr);
  const body = doc.createElement('tbody');
  t.append(cap, head, body);
  return [t, body];
}

function row(doc: Document, cells: readonly (string | Node)[], header = false): HTMLTableRowElement {
  const tr = doc.createElement('tr');
  cells.forEach((c, i) => {
    const td = doc.createElement(i === 0 && header ? 'th' : 'td');
    if (i === 0 && header) (td as HTMLTableCellElement).scope = 'row';
    if (typeof c === 'string') td.textContent = c;
    else td.append(c);
    tr.append(td);
  });
  return tr;
}

/** A button that opens a file (interactive) or the same words as text. */
function openButton(doc: Document, label: string, options: TableOptions, target: Parameters<TableOptions['onOpen']>[0]): Node {
  if (!options.interactive) return doc.createTextNode(label);
  const b = doc.createElement('button');
  b.type = 'button';
  b.className = 'link-button';
  b.textContent = label;
  b.addEventListener('click', () => options.onOpen(target));
  return b;
}

function filesTable(doc: Document, model: HeatmapModel, options: TableOptions): HTMLElement {
  const [t, body] = table(doc, 'Files by pages chosen over the whole answer', [
    'File',
    'Page-steps chosen',
    'Distinct pages chosen',
    'Pages in file',
  ]);
  for (const f of model.fileRanking()) {
    const hot = hottestPartOf(model, f.fileIndex);
    const name = hot ? openButton(doc, f.path, options, openTargetOf(hot)) : doc.createTextNode(f.path);
    body.append(row(doc, [name, String(f.pageSteps), String(f.pagesChosen), String(f.pages)], true));
  }
  return t;
}

function filesByAttentionTable(doc: Document, model: HeatmapModel, options: TableOptions): HTMLElement {
  const [t, body] = table(doc, "Files by the answer's attention", ['File', 'Share of the attention to files', 'Pages in file']);
  for (const f of model.fileRanking()) {
    const hot = hottestPartOf(model, f.fileIndex);
    const name = hot ? openButton(doc, f.path, options, openTargetOf(hot)) : doc.createTextNode(f.path);
    body.append(row(doc, [name, `${((f.attention ?? 0) * 100).toFixed(1)}%`, String(f.pages)], true));
  }
  return t;
}

function stepsTable(doc: Document, model: HeatmapModel, options: TableOptions): HTMLElement {
  const [t, body] = table(doc, 'Pages chosen at each decode step (by any sparse layer-head)', [
    'Step',
    'Token',
    'Pages chosen',
    'Where',
  ]);
  const limit = options.stepRows ?? 200;
  const addRows = (from: number, to: number): void => {
    for (let s = from; s < to; s++) {
      const step = model.step(s);
      if (!step) break;
      const runs = stepRuns(model, s);
      const where = runs
        .map((r) => {
          const pages = r.pageStart === r.pageEnd ? `page ${r.pageStart}` : `pages ${r.pageStart}–${r.pageEnd}`;
          return `${pages}: ${r.files.join(', ')}`;
        })
        .join('; ');
      const count = runs.reduce((n, r) => n + r.pageEnd - r.pageStart + 1, 0);
      body.append(row(doc, [String(s), tokenLabel(step.text), String(count), where], true));
    }
  };
  addRows(0, Math.min(limit, model.stepCount));
  if (model.stepCount > limit) {
    const more = doc.createElement('button');
    more.type = 'button';
    more.textContent = `Show all ${model.stepCount} steps`;
    more.addEventListener('click', () => {
      more.remove();
      addRows(limit, model.stepCount);
    });
    const wrap = doc.createElement('div');
    wrap.append(t, more);
    return wrap;
  }
  return t;
}

function pagesTable(doc: Document, model: HeatmapModel, options: TableOptions): HTMLElement {
  const [t, body] = table(doc, 'Pages chosen most often (top 50)', ['Page', 'Where', 'Steps chosen']);
  const agg = model.aggregate();
  const order = Array.from(agg.keys())
    .filter((p) => agg[p] > 0)
    .sort((a, b) => agg[b] - agg[a] || a - b)
    .slice(0, 50);
  for (const p of order) body.append(row(doc, [String(p), pageWhere(doc, model, p, options), `${agg[p]} of ${model.stepCount}`], true));
  return t;
}

function attentionTable(doc: Document, model: HeatmapModel, options: TableOptions): HTMLElement {
  const [t, body] = table(doc, 'Pages of file text the whole answer paid the most attention to (top 20)', ['Page', 'Where', 'Share of the attention to files']);
  const share = Array.from({ length: model.pageCount }, (_, p) => model.receivedAt(p) ?? 0);
  const order = Array.from(share.keys())
    .filter((p) => share[p] > 0)
    .sort((a, b) => share[b] - share[a] || a - b)
    .slice(0, 20);
  for (const p of order) body.append(row(doc, [String(p), pageWhere(doc, model, p, options), `${(share[p] * 100).toFixed(1)}%`], true));
  return t;
}

/** The files and lines of a page, each a button that opens them (or the page's band labels when it holds no file). */
function pageWhere(doc: Document, model: HeatmapModel, page: number, options: TableOptions): Node {
  const info = model.pageInfo(page);
  if (info.files.length === 0) return doc.createTextNode(info.bandLabels.join(', '));
  const span = doc.createElement('span');
  info.files.forEach((f, i) => {
    if (i > 0) span.append(doc.createTextNode('; '));
    span.append(openButton(doc, fileLines(f), options, openTargetOf(f)));
  });
  return span;
}
