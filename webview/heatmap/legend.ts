// The words around the heatmap: the legend (swatches use the same theme variables as the canvas), the one-line
// summary, the canvas' aria-label, and the ranked file list. DOM built with textContent only.
import { hottestPartOf, openTargetOf, type FileRank, type HeatmapMode, type HeatmapModel } from './model';
import type { OpenTarget } from '../protocol';

export function renderLegend(doc: Document, host: HTMLElement, model: HeatmapModel, mode: HeatmapMode): void {
  const item = (swatch: string, text: string): HTMLElement => {
    const span = doc.createElement('span');
    span.className = 'hm-legend-item';
    const sw = doc.createElement('span');
    sw.className = `swatch ${swatch}`;
    sw.setAttribute('aria-hidden', 'true');
    span.append(sw, doc.createTextNode(text));
    return span;
  };
  const { denseLayers, layers, kvHeads } = model.header;
  const items: HTMLElement[] = [];
  if (mode === 'selected') {
    items.push(item('none', 'not selected'));
    items.push(
      item(
        'ramp',
        `selected by 1 … ${model.sparsePairs} of the ${model.sparsePairs} sparse layer-heads ` +
          `(${layers - denseLayers} layers × ${kvHeads} KV heads)`,
      ),
    );
  } else if (mode === 'received' && !model.received) {
    // Every cell in context has the dense colour: the dense item below says what it means.
  } else if (mode === 'received') {
    items.push(item('none', 'no attention'));
    items.push(item('ramp', "most of the whole answer's attention to file text (the same on every row)"));
  } else {
    items.push(item('none', mode === 'score' ? 'lowest page score of the step' : 'no attention'));
    items.push(item('ramp', mode === 'score' ? 'highest page score' : 'most attention of the step'));
  }
  items.push(item('absent', 'page not in context yet'));
  if (model.everyPageRead) {
    items.push(item('dense', 'dense decoding: every layer and KV head reads every page at every step'));
    if (mode === 'received' && !model.received) {
      const note = doc.createElement('span');
      note.className = 'hm-legend-item';
      note.textContent = "(the answer's attention per page is not counted yet)";
      items.push(note);
    }
  } else if (denseLayers > 0) {
    const which = denseLayers === 1 ? 'layer 0' : `layers 0–${denseLayers - 1}`;
    items.push(item('dense', `${which} dense: read every page (not counted; shown in the layers view)`));
  }
  const help = doc.createElement('span');
  help.className = 'hm-help';
  help.textContent = 'Ctrl+wheel or +/− to zoom, drag to pan, arrows move, Enter opens.';
  host.replaceChildren(...items, help);
}

export function summaryText(model: HeatmapModel): string {
  const { layers, denseLayers, kvHeads, pageBudget, pageSize, mode } = model.header;
  const shape = `${model.stepCount} steps × ${model.pageCount} pages of ${pageSize} tokens · ${mode} mode · `;
  // No budget applies when every layer reads everything (the trace's pageBudget is then only a setting's leftover).
  if (model.everyPageRead) return `${shape}all ${model.pageCount} pages read by every layer (${layers} layers × ${kvHeads} KV heads)`;
  return `${shape}${layers - denseLayers} sparse of ${layers} layers × ${kvHeads} KV heads · budget ${pageBudget} pages`;
}

export function ariaLabel(model: HeatmapModel): string {
  const what = model.everyPageRead
    ? "Attention heatmap (dense decoding, every page read at every step): the answer's attention"
    : 'Page selection heatmap';
  const jump = model.everyPageRead ? '' : 'comma and period jump to the previous or next selected page, ';
  return (
    `${what}: ${model.stepCount} decode steps by ${model.pageCount} KV pages. ` +
    `Arrow keys move between cells, ${jump}Enter opens the file. ` +
    'The Table button shows the same information as tables.'
  );
}

export interface FileListOptions {
  readonly interactive: boolean;
  readonly limit: number;
  readonly onOpen: (target: OpenTarget) => void;
}

/** The file list's heading: what it ranks by. */
export function fileListTitle(model: HeatmapModel): string {
  return model.everyPageRead ? "Files by the answer's attention" : 'Files by pages chosen';
}

/**
 * Files ranked by page-steps chosen (in dense decoding by their share of the answer's attention), each with a bar;
 * a click opens the file where it was chosen (or attended to) most.
 */
export function renderFileList(doc: Document, list: HTMLElement, model: HeatmapModel, options: FileListOptions): void {
  const ranking = model.fileRanking(options.limit);
  const dense = model.everyPageRead;
  const value = (f: FileRank): number => (dense ? (f.attention ?? 0) : f.pageSteps);
  const top = ranking.length > 0 ? value(ranking[0]) : 0;
  const items = ranking
    .filter((f) => value(f) > 0)
    .map((f) => {
      const li = doc.createElement('li');
      const percent = `${((f.attention ?? 0) * 100).toFixed(1)}%`;
      const label = dense
        ? `${f.path}: ${percent} of the answer's attention to the files`
        : `${f.path}: ${f.pageSteps} page-steps, ${f.pagesChosen} of ${f.pages} pages chosen`;
      const name = doc.createElement(options.interactive ? 'button' : 'span');
      name.className = 'hm-file-name';
      name.textContent = f.path;
      name.title = label;
      if (name instanceof HTMLButtonElement) {
        name.type = 'button';
        name.setAttribute('aria-label', `Open ${label}`);
        name.addEventListener('click', () => {
          const part = hottestPartOf(model, f.fileIndex);
          if (part) options.onOpen(openTargetOf(part));
        });
      }
      const bar = doc.createElement('span');
      bar.className = 'hm-file-bar';
      bar.setAttribute('aria-hidden', 'true');
      bar.style.width = `${top > 0 ? Math.max(2, (100 * value(f)) / top) : 0}%`;
      const count = doc.createElement('span');
      count.className = 'hm-file-count';
      count.textContent = dense ? percent : String(f.pageSteps);
      li.append(name, count, bar);
      return li;
    });
  if (items.length === 0) {
    const li = doc.createElement('li');
    li.className = 'hm-empty';
    li.textContent =
      model.stepCount === 0
        ? 'No steps yet.'
        : !dense
          ? 'No file pages chosen yet.'
          : model.received
            ? 'The answer paid no attention to file text.'
            : "Every page is read at every step: the ranking by the answer's attention shows when the answer finishes.";
    items.push(li);
  }
  list.replaceChildren(...items);
}
