// The initial data the host (or the CLI) embeds as JSON on <meta id="quest-lens-data" data-initial="…">.
import { MissingDataError } from './errors';
import type { InitialData } from './protocol';

export const DATA_ELEMENT_ID = 'quest-lens-data';

/** Reads and checks the initial data; throws MissingDataError naming what is missing. */
export function getData(doc: Document): InitialData {
  const meta = doc.getElementById(DATA_ELEMENT_ID);
  const raw = meta?.getAttribute('data-initial');
  if (raw === null || raw === undefined) {
    throw new MissingDataError(
      `the page has no <meta id="${DATA_ELEMENT_ID}" data-initial>: build its HTML with extension/chat/html.ts`,
    );
  }
  let data: unknown;
  try {
    data = JSON.parse(raw);
  } catch (err) {
    throw new MissingDataError(`data-initial on #${DATA_ELEMENT_ID} is not JSON: ${(err as Error).message}`);
  }
  const d = data as Partial<InitialData> | null;
  if (!d || (d.view !== 'chat' && d.view !== 'heatmap') || typeof d.standalone !== 'boolean') {
    throw new MissingDataError(
      `data-initial must hold {view: 'chat' | 'heatmap', standalone: boolean}, got ${raw.slice(0, 120)}`,
    );
  }
  return d as InitialData;
}
