// The heatmap in a real browser (Debian's Chromium): the standalone HTML file html.ts makes for the CLI, with the
// tiny fixture trace in the light, dark and high-contrast themes. Screenshots go to out/artifacts/; pixels are
// asserted both in the canvas and on screen: a page known to be selected has the heat colour, one never selected
// the background. Also: hover tooltips (cells and the page rows), keyboard navigation, the table view, a theme switch
// at run time, and the render time of an 8,192-page × 512-step trace (printed, not asserted).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import type { InitialData } from '../../webview/protocol';
import { fitViewport, xOfPage, yOfStep } from '../../webview/heatmap/viewport';
import { syntheticTrace } from '../fixtures/traces/generate';
import { tinyDenseTrace, tinyManifest, tinyPageTexts, tinyTrace } from '../fixtures/traces/tiny';
import {
  buildBundle,
  canvasPixel,
  ensureArtifacts,
  hexRgba,
  launchBrowser,
  mainCanvasBox,
  removeBundle,
  screenPixel,
  waitForPaint,
  waitUntil,
  writeStandalone,
  type Bundle,
} from './harness';

let browser: Browser;
let bundle: Bundle;

before(async () => {
  bundle = await buildBundle();
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  if (bundle) removeBundle(bundle);
});

const tinyData: InitialData = {
  view: 'heatmap',
  standalone: true,
  title: 'Tiny trace',
  heatmap: { turnId: 't1', trace: tinyTrace, manifest: tinyManifest, pageTexts: tinyPageTexts },
};

// The standalone themes' values (extension/chat/html.ts).
const THEME_COLORS = {
  light: { background: '#ffffff', heat: '#d18616' },
  dark: { background: '#1f1f1f', heat: '#d18616' },
  'high-contrast': { background: '#000000', heat: '#ff9d00' },
} as const;

async function openTiny(theme: keyof typeof THEME_COLORS, deviceScaleFactor = 1, data = tinyData, name = `tiny-${theme}`): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 900, height: 800 }, deviceScaleFactor });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(writeStandalone(bundle, data, theme, name));
  await waitForPaint(page);
  await page.waitForTimeout(50);
  assert.deepEqual(errors, [], 'no page errors');
  return page;
}

/** Device pixel at the centre of cell (step, page), from the same fitted viewport the page uses. */
async function cellCenter(page: Page, step: number, cell: number): Promise<{ dx: number; dy: number; cssX: number; cssY: number }> {
  const box = await mainCanvasBox(page);
  const vp = fitViewport(box.width, box.height, { pages: 9, steps: 5 });
  const dx = xOfPage(vp, cell + 0.5);
  const dy = yOfStep(vp, step + 0.5);
  return { dx, dy, cssX: box.left + dx / box.dpr, cssY: box.top + dy / box.dpr };
}

for (const [theme, dpr] of [['light', 1], ['dark', 1], ['high-contrast', 1], ['light', 2]] as const) {
  test(`tiny trace, ${theme} theme at ${dpr}× pixels: selected page has the heat colour, never-selected page the background`, async () => {
    const page = await openTiny(theme, dpr);
    const colors = THEME_COLORS[theme];
    await page.mouse.move(0, 0);
    const box = await mainCanvasBox(page);
    assert.equal(box.dpr, dpr, 'the canvas backing store follows devicePixelRatio');
    const name = `webview-heatmap-${theme}${dpr === 1 ? '' : `-${dpr}x`}.png`;
    await page.screenshot({ path: join(ensureArtifacts(), name), fullPage: true });
    // Page 3 at step 0 is selected by all four sparse layer-heads; page 6 is never selected.
    const hot = await cellCenter(page, 0, 3);
    const cold = await cellCenter(page, 0, 6);
    assert.deepEqual(await canvasPixel(page, 'canvas.hm-main', hot.dx, hot.dy), hexRgba(colors.heat));
    assert.deepEqual(await canvasPixel(page, 'canvas.hm-main', cold.dx, cold.dy), hexRgba(colors.background));
    for (let s = 0; s < 5; s++) {
      const c = await cellCenter(page, s, 6);
      assert.deepEqual(await canvasPixel(page, 'canvas.hm-main', c.dx, c.dy), hexRgba(colors.background), `page 6, step ${s}`);
    }
    // And on screen, after compositing.
    assert.deepEqual(await screenPixel(page, hot.cssX, hot.cssY), hexRgba(colors.heat));
    assert.deepEqual(await screenPixel(page, cold.cssX, cold.cssY), hexRgba(colors.background));
    await page.close();
  });
}

test('dense decoding: the summary and legend say every page is read, the cells show the answer\'s attention, files ranked by it', async () => {
  const data: InitialData = { ...tinyData, heatmap: { ...tinyData.heatmap!, trace: tinyDenseTrace } };
  const page = await openTiny('light', 1, data, 'tiny-dense');
  await page.mouse.move(0, 0);
  await page.screenshot({ path: join(ensureArtifacts(), 'webview-heatmap-dense.png'), fullPage: true });
  assert.equal(
    await page.locator('.hm-summary').textContent(),
    '5 steps × 9 pages of 4 tokens · dense mode · all 9 pages read by every layer (3 layers × 2 KV heads)',
  );
  const legend = (await page.locator('.hm-legend').textContent()) ?? '';
  assert.doesNotMatch(legend, /sparse|selected by|budget/i, legend);
  assert.match(legend, /dense decoding: every layer and KV head reads every page at every step/);
  assert.match(legend, /most of the whole answer's attention to file text/);
  assert.equal(await page.locator('.hm-mode select').inputValue(), 'received');
  assert.equal(await page.locator('canvas.hm-agg:not(.hm-received)').isVisible(), false, 'no "chosen at N steps" row');
  // Page 0 got the most attention of the file pages (heat), page 1 none (background), page 5 some (in between).
  const { light } = THEME_COLORS;
  for (let s = 0; s < 5; s++) {
    const hot = await cellCenter(page, s, 0);
    const none = await cellCenter(page, s, 1);
    assert.deepEqual(await canvasPixel(page, 'canvas.hm-main', hot.dx, hot.dy), hexRgba(light.heat), `page 0, step ${s}`);
    assert.deepEqual(await canvasPixel(page, 'canvas.hm-main', none.dx, none.dy), hexRgba(light.background), `page 1, step ${s}`);
  }
  const some = await cellCenter(page, 2, 5);
  const mid = await canvasPixel(page, 'canvas.hm-main', some.dx, some.dy);
  assert.notDeepEqual(mid, hexRgba(light.heat));
  assert.notDeepEqual(mid, hexRgba(light.background));
  assert.equal(await page.locator('.hm-files h4').textContent(), "Files by the answer's attention");
  const files = await page.locator('.hm-file-list li').allInnerTexts();
  assert.deepEqual(
    files.map((f) => f.replace(/\s+/g, ' ').trim()),
    ['demo/src/alpha.ts 69.6%', 'demo/lib/beta.py 47.8%'],
  );
  await page.close();
});

test('dense decoding before the answer\'s attention arrives: every page in context in the dense colour', async () => {
  const trace = { ...tinyDenseTrace, attention: undefined };
  const data: InitialData = { ...tinyData, heatmap: { ...tinyData.heatmap!, trace } };
  const page = await openTiny('light', 1, data, 'tiny-dense-streaming');
  const legend = (await page.locator('.hm-legend').textContent()) ?? '';
  assert.doesNotMatch(legend, /sparse|selected by|budget/i, legend);
  assert.match(legend, /dense decoding: every layer and KV head reads every page at every step/);
  assert.match(legend, /not counted yet/);
  for (const [s, p] of [[0, 0], [0, 7], [4, 8]] as const) {
    const c = await cellCenter(page, s, p);
    assert.deepEqual(await canvasPixel(page, 'canvas.hm-main', c.dx, c.dy), hexRgba('#1a85ff'), `step ${s}, page ${p}`);
  }
  const absent = await cellCenter(page, 0, 8);
  assert.notDeepEqual(await canvasPixel(page, 'canvas.hm-main', absent.dx, absent.dy), hexRgba('#1a85ff'), 'page 8 is not in context at step 0');
  await page.close();
});

test('a standalone chat view shows the turns read-only: no question box, no stop, references not clickable', async () => {
  const page = await browser.newPage();
  const tokens = tinyTrace.steps.map((s) => s.text);
  const data: InitialData = {
    view: 'chat',
    standalone: true,
    turns: [{ turnId: 't1', question: 'Where is alpha?', tokens, status: 'stop' }],
    heatmap: tinyData.heatmap,
  };
  await page.goto(writeStandalone(bundle, data, 'dark', 'chat-standalone'));
  await waitForPaint(page);
  assert.equal(await page.locator('.question').textContent(), 'Where is alpha?');
  assert.equal(await page.locator('form.ask').isVisible(), false);
  assert.equal(await page.getByRole('button', { name: 'Stop generating this answer' }).isVisible(), false);
  assert.equal(await page.locator('a.file-ref').count(), 0);
  assert.equal(await page.locator('.file-ref.inert').textContent(), 'src/alpha.ts:3');
  assert.match((await page.locator('.turns').textContent()) ?? '', /See src\/alpha\.ts:3 and beta\./);
  await page.close();
});

test('hover shows page, files, lines and snippet; hovering a row marks its answer token', async () => {
  const page = await openTiny('dark');
  const hot = await cellCenter(page, 1, 3);
  await page.mouse.move(hot.cssX, hot.cssY);
  const tip = page.locator('.hm-tooltip');
  await tip.waitFor({ state: 'visible' });
  const text = await tip.innerText();
  assert.match(text, /Step 1 “·src\/alpha\.ts:3” at position 31/);
  assert.match(text, /Page 3: tokens 12–15/);
  assert.match(text, /demo\/src\/alpha\.ts line 3/);
  assert.match(text, /demo\/lib\/beta\.py line 1/);
  assert.match(text, /Selected by 2 of 4 sparse layer-heads \(50%\)/);
  assert.ok(text.includes('import os'), 'the page snippet');
  const marked = await page.locator('.panel-answer .tok-hl').allInnerTexts();
  assert.deepEqual(marked.join(''), ' src/alpha.ts:3');
  // Hovering an answer token highlights its row: the layer view follows the step.
  await page.mouse.move(0, 0);
  await page.locator('.panel-answer [data-step="3"]').first().hover();
  await waitUntil(page, `document.querySelector('.hm-layers-title').textContent.includes('step 3')`);
  await page.close();
});

/** Hovers page `cell` of a one-cell-per-page row (`selector`: the aggregate or the attention row); the tooltip's text. */
async function hoverRow(page: Page, selector: string, cell: number): Promise<string> {
  const main = await mainCanvasBox(page);
  const vp = fitViewport(main.width, main.height, { pages: 9, steps: 5 });
  const r = await page.locator(selector).boundingBox();
  assert.ok(r, `${selector} is laid out`);
  const tip = page.locator('.hm-tooltip');
  await page.mouse.move(0, 0);
  await tip.waitFor({ state: 'hidden' });
  // The row spans the plot's width: device x of the page in the plot, scaled to the row's CSS box.
  await page.mouse.move(r.x + (xOfPage(vp, cell + 0.5) * r.width) / vp.width, r.y + r.height / 2);
  await tip.waitFor({ state: 'visible' });
  return tip.innerText();
}

test('the page rows: hover says how often a page was chosen (aggregate) or its share of the answer\'s attention', async () => {
  // Page 5 is chosen at steps 0, 1 and 2; page 6 never (tiny.ts).
  const sparse = await openTiny('light');
  assert.match(await hoverRow(sparse, 'canvas.hm-agg:not(.hm-received)', 5), /^Page 5: chosen at 3 of 5 steps\ndemo\/lib\/beta\.py lines 3–4$/);
  assert.match(await hoverRow(sparse, 'canvas.hm-agg:not(.hm-received)', 6), /^Page 6: chosen at 0 of 5 steps\n/);
  await sparse.close();
  // Dense: page 5 holds 3 of the 11.5 the file pages received; page 7 is prompt and answer, never cited.
  const dense = await openTiny('light', 1, { ...tinyData, heatmap: { ...tinyData.heatmap!, trace: tinyDenseTrace } }, 'tiny-dense-rows');
  assert.equal(await hoverRow(dense, 'canvas.hm-received', 5), "Page 5: 26.1% of the answer's attention to the files\ndemo/lib/beta.py lines 3–4");
  assert.match(await hoverRow(dense, 'canvas.hm-received', 7), /^Page 7: .*\(not file text: never cited\)$/);
  await dense.close();
});

test('keyboard: arrows move a focused cell and announce it; the table view holds the same information', async () => {
  const page = await openTiny('light');
  await page.locator('canvas.hm-main').focus();
  // Focus starts on the last step's first selected page (step 4, page 3).
  await waitUntil(page, `document.querySelector('.heatmap [aria-live]').textContent.includes('Step 4')`);
  await page.keyboard.press('ArrowUp');
  await page.keyboard.press('ArrowUp');
  await page.keyboard.press('ArrowUp');
  await page.keyboard.press('ArrowUp');
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('ArrowRight');
  const live = await page.locator('.heatmap [aria-live]').textContent();
  assert.match(live ?? '', /Step 0 .*Page 6: tokens 24–27\. demo\/lib\/beta\.py line 4\. Not selected/);
  await page.keyboard.press('Period'); // next selected page in the row
  assert.match((await page.locator('.heatmap [aria-live]').textContent()) ?? '', /Page 7:/);
  const aria = await page.locator('canvas.hm-main').getAttribute('aria-label');
  assert.match(aria ?? '', /5 decode steps by 9 KV pages/);
  await page.getByRole('button', { name: 'Show the heatmap as tables' }).click();
  const files = await page.locator('.hm-tables table').first().locator('tbody tr').allInnerTexts();
  assert.deepEqual(
    files.map((r) => r.split('\t').map((c) => c.trim())),
    [
      ['demo/src/alpha.ts', '13', '4', '4'],
      ['demo/lib/beta.py', '12', '3', '4'],
    ],
  );
  const steps = await page.locator('.hm-tables table').nth(1).locator('tbody tr').first().innerText();
  assert.match(steps, /^0\t“See”\t6\tpages 0–1: demo\/src\/alpha\.ts lines 1–2; pages 3–5: demo\/src\/alpha\.ts line 3, demo\/lib\/beta\.py lines 1–4; page 7: \(prompt\), \(answer\)$/);
  await page.close();
});

test('a theme change (body class) re-reads the colours and repaints', async () => {
  const page = await openTiny('light');
  const cold = await cellCenter(page, 2, 6);
  assert.deepEqual(await canvasPixel(page, 'canvas.hm-main', cold.dx, cold.dy), hexRgba('#ffffff'));
  await page.evaluate(`document.body.classList.replace('vscode-light', 'vscode-dark')`);
  await waitUntil(
    page,
    `Array.from(document.querySelector('canvas.hm-main').getContext('2d').getImageData(${Math.floor(cold.dx)}, ${Math.floor(cold.dy)}, 1, 1).data).join() === '31,31,31,255'`,
  );
  await page.close();
});

test('8,192 pages × 512 steps: full render time (printed, not asserted) and the planted pages', async () => {
  const { trace, manifest, hotPage, coldPage } = syntheticTrace({ pages: 8192, steps: 512, seed: 7 });
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const data: InitialData = { view: 'heatmap', standalone: true, title: '128K tokens', heatmap: { turnId: 'big', trace, manifest } };
  await page.goto(writeStandalone(bundle, data, 'dark', 'big'));
  await waitForPaint(page);
  const m = (await page.evaluate(
    `Object.fromEntries(['buildModel', 'drawAll', 'paint'].map((n) => [n, performance.getEntriesByName('questLens/heatmap/' + n)[0]?.duration]))`,
  )) as Record<string, number>;
  const box = await mainCanvasBox(page);
  // Full redraws again: '0' (fit) repaints everything; the machine is shared, so report the median of several.
  await page.locator('canvas.hm-main').focus();
  const redraws: number[] = [];
  for (let i = 0; i < 7; i++) {
    await page.evaluate(`performance.clearMeasures('questLens/heatmap/drawAll')`);
    await page.keyboard.press('0');
    await waitForPaint(page);
    redraws.push((await page.evaluate(`performance.getEntriesByName('questLens/heatmap/drawAll')[0].duration`)) as number);
  }
  redraws.sort((a, b) => a - b);
  console.log(
    `[bench] 8192×512 in Chromium (${box.width}×${box.height} device px): model from the trace ${m.buildModel.toFixed(1)} ms, ` +
      `first drawAll ${m.drawAll.toFixed(1)} ms, first paint ${m.paint.toFixed(1)} ms; ` +
      `drawAll over 7 redraws: median ${redraws[3].toFixed(1)} ms, min ${redraws[0].toFixed(1)} ms`,
  );
  await page.keyboard.press('Tab');
  const vp = fitViewport(box.width, box.height, { pages: 8192, steps: 512 });
  for (const step of [0, 255, 511]) {
    const y = yOfStep(vp, step + 0.5);
    assert.deepEqual(await canvasPixel(page, 'canvas.hm-main', xOfPage(vp, hotPage + 0.5), y), hexRgba('#d18616'));
  }
  await page.mouse.move(0, 0);
  await page.screenshot({ path: join(ensureArtifacts(), 'webview-heatmap-8192x512.png') });
  // Zoomed out, the cold page shares its pixel column with selected neighbours. Ctrl+wheel zooms around the pointer
  // (the page under it stays under it) until a page is several pixels wide: then its cells show the background.
  const x = xOfPage(vp, coldPage + 0.5);
  const y = yOfStep(vp, 100.5);
  await page.mouse.move(box.left + x / box.dpr, box.top + y / box.dpr);
  await page.keyboard.down('Control');
  await page.mouse.wheel(0, -1500);
  await page.keyboard.up('Control');
  await waitUntil(page, `performance.getEntriesByName('questLens/heatmap/drawAll')[0].detail.pageSpan < 1000`);
  const zoomed = (await page.evaluate(`performance.getEntriesByName('questLens/heatmap/drawAll')[0].detail`)) as { pageSpan: number };
  assert.ok(zoomed.pageSpan < 8192 / 10, `zoomed in to ${zoomed.pageSpan} pages`);
  assert.deepEqual(await canvasPixel(page, 'canvas.hm-main', x, y), hexRgba('#1f1f1f'));
  await page.close();
});
