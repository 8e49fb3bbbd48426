// The heatmap's element tree: toolbar, summary, legend, the grid of canvases (bands over the plot, step gutter at
// its left, the aggregate row and the answer's attention row below), the layers × KV heads view, the file ranking, the
// table host and a live region.

export interface HeatmapDom {
  readonly root: HTMLElement;
  readonly modeSelect: HTMLSelectElement;
  readonly zoomOut: HTMLButtonElement;
  readonly zoomIn: HTMLButtonElement;
  readonly fit: HTMLButtonElement;
  readonly tableButton: HTMLButtonElement;
  readonly openBeside: HTMLButtonElement | undefined;
  readonly summary: HTMLElement;
  readonly legend: HTMLElement;
  readonly message: HTMLElement;
  readonly grid: HTMLElement;
  readonly bands: HTMLCanvasElement;
  readonly gutter: HTMLCanvasElement;
  readonly plot: HTMLElement;
  readonly main: HTMLCanvasElement;
  readonly overlay: HTMLCanvasElement;
  /** Pages chosen at how many steps; hidden (with its label) in dense decoding, where every page is read at every step. */
  readonly aggregate: HTMLCanvasElement;
  readonly aggregateLabel: HTMLElement;
  /** The answer's attention per page; hidden (with its label) when the trace has none. */
  readonly received: HTMLCanvasElement;
  readonly receivedLabel: HTMLElement;
  readonly layerTitle: HTMLElement;
  readonly layerLabels: HTMLCanvasElement;
  readonly layers: HTMLCanvasElement;
  readonly filesTitle: HTMLElement;
  readonly files: HTMLOListElement;
  readonly tableHost: HTMLElement;
  /** Screen-reader announcements of the focused cell. */
  readonly live: HTMLElement;
}

export function buildHeatmapDom(doc: Document, compact: boolean, withOpenBeside: boolean): HeatmapDom {
  const el = <K extends keyof HTMLElementTagNameMap>(tag: K, className: string, parent?: HTMLElement): HTMLElementTagNameMap[K] => {
    const e = doc.createElement(tag);
    e.className = className;
    parent?.append(e);
    return e;
  };
  const hidden = <E extends HTMLElement>(e: E): E => {
    e.setAttribute('aria-hidden', 'true');
    return e;
  };
  const root = el('section', `heatmap${compact ? ' compact' : ''}`);
  root.setAttribute('aria-label', 'Page selection heatmap');

  const toolbar = el('div', 'hm-toolbar', root);
  toolbar.setAttribute('role', 'toolbar');
  toolbar.setAttribute('aria-label', 'Heatmap controls');
  const modeLabel = el('label', 'hm-mode', toolbar);
  modeLabel.append(doc.createTextNode('Colour '));
  const modeSelect = el('select', '', modeLabel);
  for (const [value, text] of [
    ['selected', 'Selected'],
    ['score', 'Page score'],
    ['attention', 'Attention'],
    ['received', "Answer's attention"],
  ] as const) {
    const o = doc.createElement('option');
    o.value = value;
    o.textContent = text;
    modeSelect.append(o);
  }
  const button = (text: string, label: string): HTMLButtonElement => {
    const b = el('button', 'icon-button', toolbar);
    b.type = 'button';
    b.textContent = text;
    b.title = label;
    b.setAttribute('aria-label', label);
    return b;
  };
  const zoomOut = button('−', 'Zoom out (-)');
  const zoomIn = button('+', 'Zoom in (+)');
  const fit = button('Fit', 'Fit all pages and steps (0)');
  const tableButton = button('Table', 'Show the heatmap as tables');
  tableButton.setAttribute('aria-pressed', 'false');
  const openBeside = withOpenBeside ? button('Open beside', 'Open the heatmap beside the editor') : undefined;

  const summary = el('p', 'hm-summary', root);
  const legend = el('div', 'hm-legend', root);
  const message = el('p', 'hm-message', root);
  message.hidden = true;

  const grid = el('div', 'hm-grid', root);
  el('div', 'hm-corner', grid).textContent = 'Step';
  const bands = hidden(el('canvas', 'hm-bands', grid));
  const gutter = hidden(el('canvas', 'hm-gutter', grid));
  const plot = el('div', 'hm-plot', grid);
  const main = el('canvas', 'hm-main', plot);
  main.tabIndex = 0;
  main.setAttribute('role', 'application');
  main.setAttribute('aria-roledescription', 'heatmap');
  const overlay = hidden(el('canvas', 'hm-overlay', plot));
  const aggregateLabel = el('div', 'hm-agg-label', grid);
  aggregateLabel.textContent = 'All';
  const aggregate = hidden(el('canvas', 'hm-agg', grid));
  const receivedLabel = el('div', 'hm-agg-label', grid);
  receivedLabel.textContent = 'Attn';
  receivedLabel.title = 'Attention the whole answer paid to each page (last layers, all query heads)';
  const received = hidden(el('canvas', 'hm-agg hm-received', grid));

  const layerBox = el('div', 'hm-layers', root);
  const layerTitle = el('h4', 'hm-layers-title', layerBox);
  const layerGrid = el('div', 'hm-layers-grid', layerBox);
  const layerLabels = hidden(el('canvas', 'hm-layer-labels', layerGrid));
  const layers = hidden(el('canvas', 'hm-layer', layerGrid));

  const filesBox = el('div', 'hm-files', root);
  const filesTitle = el('h4', '', filesBox);
  filesTitle.textContent = 'Files by pages chosen';
  const files = el('ol', 'hm-file-list', filesBox);

  const tableHost = el('div', 'hm-table', root);
  tableHost.hidden = true;
  const live = el('div', 'sr-only', root);
  live.setAttribute('aria-live', 'polite');

  return {
    root,
    modeSelect,
    zoomOut,
    zoomIn,
    fit,
    tableButton,
    openBeside,
    summary,
    legend,
    message,
    grid,
    bands,
    gutter,
    plot,
    main,
    overlay,
    aggregate,
    aggregateLabel,
    received,
    receivedLabel,
    layerTitle,
    layerLabels,
    layers,
    filesTitle,
    files,
    tableHost,
    live,
  };
}
