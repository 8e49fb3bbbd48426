// The chat view in a real browser, loaded as VS Code loads a webview: script and stylesheet by URL from a local
// server (127.0.0.1), the theme set on <html>/<body> the way VS Code sets it, and a stand-in acquireVsCodeApi that
// records what the page posts. Streams an answer full of hostile model output and checks that none of it runs or
// becomes markup; checks the protocol both ways (ready, stop, editor/open, clipboard, ask), the streamed heatmap,
// and that view state survives a reload. Prints the incremental render time of one step of an 8,192-page trace.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { Citation } from '../../gpu/citation';
import type { FromWebview, ToWebview } from '../../webview/protocol';
import { fitViewport, xOfPage, yOfStep } from '../../webview/heatmap/viewport';
import { syntheticTrace } from '../fixtures/traces/generate';
import { tinyManifest, tinyPageTexts, tinySteps, tinyTrace } from '../fixtures/traces/tiny';
import {
  FAKE_VSCODE_API,
  applyVsCodeTheme,
  buildBundle,
  canvasPixel,
  ensureArtifacts,
  hexRgba,
  launchBrowser,
  mainCanvasBox,
  removeBundle,
  sendToWebview,
  serveHosted,
  waitForPaint,
  waitUntil,
  type Bundle,
  type Hosted,
} from './harness';

let browser: Browser;
let bundle: Bundle;
let chat: Hosted;
let panel: Hosted;

before(async () => {
  bundle = await buildBundle();
  browser = await launchBrowser();
  chat = await serveHosted(bundle, { view: 'chat', standalone: false });
  panel = await serveHosted(bundle, { view: 'heatmap', standalone: false, title: 'Page selection' });
});
after(async () => {
  await browser?.close();
  await chat?.close();
  await panel?.close();
  if (bundle) removeBundle(bundle);
});

/** Model output that would run code or load something if it ever became markup. */
const HOSTILE_TOKENS = [
  'See src/alpha.ts:3 <script>window.__pwned = 1</script> ',
  '<img src=x onerror="window.__pwned = 2"> [click](javascript:window.__pwned=3) ',
  '[site](http://example.com) [quit](command:workbench.action.quit) ![pic](http://example.com/a.png) ',
  '<a href="javascript:window.__pwned=4">a</a> <iframe src="javascript:window.__pwned=5"></iframe>\n```html\n<script>window.__pwned = 6</script>\n',
  '```\nand `lib/beta.py:4`.',
];

async function open(url: string, viewport = { width: 520, height: 1000 }): Promise<{ context: BrowserContext; page: Page; errors: string[] }> {
  const context = await browser.newContext({ viewport });
  await context.addInitScript(FAKE_VSCODE_API);
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(url);
  await waitForPosted(page, 'webview/ready');
  return { context, page, errors };
}

async function posted(page: Page): Promise<FromWebview[]> {
  return (await page.evaluate('window.__posted')) as FromWebview[];
}

async function waitForPosted(page: Page, type: FromWebview['type']): Promise<void> {
  await waitUntil(page, `window.__posted.some((m) => m.type === ${JSON.stringify(type)})`);
}

async function send(page: Page, message: ToWebview): Promise<void> {
  await sendToWebview(page, message);
}

async function streamHostileAnswer(page: Page): Promise<void> {
  await send(page, { type: 'chat/didRestore', turns: [] });
  await send(page, { type: 'chat/didStart', turnId: 't1', question: 'Where is <b>alpha</b>?' });
  await send(page, {
    type: 'heatmap/didUpdate',
    turnId: 't1',
    trace: { ...tinyTrace, steps: [] },
    manifest: tinyManifest,
    pageTexts: tinyPageTexts,
    expectedSteps: 8,
  });
  for (let i = 0; i < HOSTILE_TOKENS.length; i++) {
    await send(page, {
      type: 'answer/didAppendToken',
      done: false,
      turnId: 't1',
      index: i,
      text: HOSTILE_TOKENS[i],
      step: { ...tinySteps[i], text: HOSTILE_TOKENS[i] },
    });
  }
}

for (const theme of ['light', 'dark'] as const) {
  test(`chat (${theme}): streamed hostile model output stays inert; stop, open, copy and ask post typed messages`, async () => {
    const { context, page, errors } = await open(chat.url);
    await applyVsCodeTheme(page, theme);
    assert.deepEqual(await posted(page), [{ type: 'webview/ready', view: 'chat' }]);
    await streamHostileAnswer(page);
    // While streaming: Stop is shown and posts chat/stop.
    const stop = page.getByRole('button', { name: 'Stop generating this answer' });
    await stop.click();
    await waitForPosted(page, 'chat/stop');
    assert.deepEqual((await posted(page)).find((m) => m.type === 'chat/stop'), { type: 'chat/stop', turnId: 't1' });
    await send(page, { type: 'answer/didFinish', done: true, turnId: 't1', reason: 'cancelled' });
    await waitUntil(page, `!document.querySelector('.turn.streaming')`);
    assert.equal(await stop.isVisible(), false);

    // Nothing ran, nothing became an element, nothing has a URL or a handler.
    const probe = (await page.evaluate(`(() => {
      const turns = document.querySelector('.turns');
      const all = Array.from(turns.querySelectorAll('*'));
      return {
        pwned: window.__pwned ?? null,
        scripts: document.querySelectorAll('script').length,
        embedded: turns.querySelectorAll('script, img, iframe, object, embed, link, style, form, input').length,
        handlers: all.filter((e) => Array.from(e.attributes).some((a) => a.name.startsWith('on'))).length,
        urls: all.filter((e) => e.hasAttribute('href') || e.hasAttribute('src') || e.hasAttribute('srcset')).length,
        text: turns.textContent,
        question: document.querySelector('.question').textContent,
        refs: Array.from(turns.querySelectorAll('a.file-ref')).map((a) => [a.textContent, a.dataset.path, a.dataset.folder, a.dataset.line]),
        inert: Array.from(turns.querySelectorAll('.inert-link')).map((e) => e.title),
      };
    })()`)) as Record<string, unknown>;
    assert.equal(probe.pwned, null, 'no injected script or handler ran');
    assert.equal(probe.scripts, 1, 'only the bundle script');
    assert.equal(probe.embedded, 0);
    assert.equal(probe.handlers, 0);
    assert.equal(probe.urls, 0);
    assert.equal(probe.question, 'Where is <b>alpha</b>?');
    for (const literal of ['<script>window.__pwned = 1</script>', '<img src=x onerror="window.__pwned = 2">', '<iframe src="javascript:window.__pwned=5"></iframe>', '<script>window.__pwned = 6</script>']) {
      assert.ok(String(probe.text).includes(literal), `shown as text: ${literal}`);
    }
    assert.deepEqual(probe.refs, [
      ['src/alpha.ts:3', 'src/alpha.ts', '0', '3'],
      ['lib/beta.py:4', 'lib/beta.py', '0', '4'],
    ]);
    assert.deepEqual(probe.inert, [
      'Link not opened: javascript:window.__pwned=3',
      'Link not opened: http://example.com',
      'Link not opened: command:workbench.action.quit',
      'Image not opened: http://example.com/a.png',
    ]);

    // A file:line reference posts editor/open with the manifest's folder and relPath.
    await page.locator('a.file-ref').first().click();
    await waitForPosted(page, 'editor/open');
    assert.deepEqual((await posted(page)).find((m) => m.type === 'editor/open'), {
      type: 'editor/open',
      path: 'src/alpha.ts',
      line: 3,
      folder: 0,
    });
    // Copy posts the answer's markdown.
    await page.getByRole('button', { name: 'Copy the answer as markdown' }).click();
    await waitForPosted(page, 'clipboard/write');
    assert.deepEqual((await posted(page)).find((m) => m.type === 'clipboard/write'), {
      type: 'clipboard/write',
      text: HOSTILE_TOKENS.join(''),
    });

    // The streamed heatmap: expectedSteps reserved 8 rows and pages up to position 37.
    await waitForPaint(page);
    await waitUntil(page, `document.querySelector('.hm-summary').textContent.startsWith('5 steps')`);
    const box = await mainCanvasBox(page);
    const vp = fitViewport(box.width, box.height, { pages: 10, steps: 8 });
    const colors = theme === 'dark' ? { heat: '#d18616', bg: '#1f1f1f' } : { heat: '#d18616', bg: '#ffffff' };
    await page.mouse.move(0, 0);
    assert.deepEqual(await canvasPixel(page, 'canvas.hm-main', xOfPage(vp, 3.5), yOfStep(vp, 0.5)), hexRgba(colors.heat));
    assert.deepEqual(await canvasPixel(page, 'canvas.hm-main', xOfPage(vp, 6.5), yOfStep(vp, 4.5)), hexRgba(colors.bg));
    await page.screenshot({ path: join(ensureArtifacts(), `webview-chat-${theme}.png`), fullPage: true });

    // Asking: Enter in the box posts chat/ask (the previous answer has finished).
    await page.locator('form.ask textarea').fill('  And beta?  ');
    await page.locator('form.ask textarea').press('Enter');
    await waitForPosted(page, 'chat/ask');
    assert.deepEqual((await posted(page)).find((m) => m.type === 'chat/ask'), { type: 'chat/ask', question: 'And beta?' });
    assert.deepEqual(errors, []);
    await context.close();
  });
}

test('chat: hovering an answer token highlights its heatmap row; view state survives a reload', async () => {
  const { context, page } = await open(chat.url);
  await applyVsCodeTheme(page, 'dark');
  await streamHostileAnswer(page);
  await send(page, { type: 'answer/didFinish', done: true, turnId: 't1', reason: 'stop' });
  await waitForPaint(page);
  // Token 2 → the layers view shows step 2.
  await page.locator('.turns [data-step="2"]').first().hover();
  await waitUntil(page, `document.querySelector('.hm-layers-title').textContent.includes('step 2')`);
  // Zoom the heatmap in and leave a draft: both are view state.
  await page.locator('canvas.hm-main').focus();
  await page.keyboard.press('Equal');
  await page.locator('form.ask textarea').fill('draft question');
  await page.waitForTimeout(400); // the state is saved 250 ms after the last change
  await page.reload();
  await waitForPosted(page, 'webview/ready');
  await applyVsCodeTheme(page, 'dark');
  assert.equal(await page.locator('form.ask textarea').inputValue(), 'draft question');
  // The host owns the conversation and resends it after webview/ready.
  const snapshot = { turnId: 't1', question: 'Where is <b>alpha</b>?', tokens: HOSTILE_TOKENS, status: 'stop' as const };
  await send(page, { type: 'chat/didRestore', turns: [snapshot] });
  await send(page, { type: 'heatmap/didUpdate', turnId: 't1', trace: { ...tinyTrace, steps: tinySteps }, manifest: tinyManifest });
  await waitForPaint(page);
  const detail = (await page.evaluate(`performance.getEntriesByName('questLens/heatmap/drawAll')[0].detail`)) as { pageSpan: number };
  assert.ok(detail.pageSpan < 9, `the zoom survived the reload (showing ${detail.pageSpan} of 9 pages)`);
  assert.equal(await page.locator('a.file-ref').count(), 2);
  await context.close();
});

test('chat: a finished answer lists its citations as text; a click opens the lines; a restore keeps them; the heatmap shows the answer\'s attention row', async () => {
  const { context, page, errors } = await open(chat.url);
  await applyVsCodeTheme(page, 'dark');
  await streamHostileAnswer(page);
  // A path is file-system text: it must stay text too.
  const hostilePath = 'lib/<img src=x onerror="window.__pwned=7">.py';
  const citations: Citation[] = [
    { source: 'answer', folder: 0, path: 'src/alpha.ts', line: 3, endLine: 3 },
    { source: 'attention', folder: 0, path: hostilePath, line: 3, endLine: 4, pages: [5, 4], mass: 0.261 },
  ];
  await send(page, { type: 'answer/didFinish', done: true, turnId: 't1', reason: 'stop', citations });
  const sources = `Array.from(document.querySelectorAll('.turn-sources .source')).map((li) => li.textContent)`;
  await waitUntil(page, `${sources}.length === 2`);
  assert.deepEqual(await page.evaluate(sources), ['src/alpha.ts:3cited', `${hostilePath}:3–426% attention`]);
  assert.equal(await page.evaluate(`document.querySelectorAll('.turns img').length`), 0);
  await page.getByRole('button', { name: `Open ${hostilePath}:3–4 (26% of the answer's attention to the files)` }).click();
  await waitForPosted(page, 'editor/open');
  assert.deepEqual((await posted(page)).find((m) => m.type === 'editor/open'), { type: 'editor/open', path: hostilePath, folder: 0, line: 3, endLine: 4 });
  assert.equal(await page.evaluate('window.__pwned ?? null'), null);

  // The host resends the conversation with the citations it kept.
  await send(page, { type: 'chat/didRestore', turns: [{ turnId: 't1', question: 'Where?', tokens: HOSTILE_TOKENS, status: 'stop', citations }] });
  await waitUntil(page, `${sources}.length === 2`);

  // The finished trace carries the answer's attention per page: its row appears under the aggregate row, page 0 (the
  // most attended page of file text) in full heat, page 1 (none) in the background colour.
  await send(page, { type: 'heatmap/didUpdate', turnId: 't1', trace: { ...tinyTrace, attention: [5, 0, 1, 2, 0.5, 3, 0, 9, 40] }, manifest: tinyManifest });
  await waitForPaint(page);
  assert.equal(await page.locator('canvas.hm-received').isVisible(), true);
  const box = await mainCanvasBox(page);
  const vp = fitViewport(box.width, box.height, { pages: 9, steps: 5 });
  // An earlier paint already satisfied waitForPaint: wait for this trace's row itself (a busy machine draws late).
  await waitUntil(page, `document.querySelector('canvas.hm-received').getContext('2d').getImageData(${Math.floor(xOfPage(vp, 0.5))}, 2, 1, 1).data[3] > 0`);
  assert.deepEqual(await canvasPixel(page, 'canvas.hm-received', xOfPage(vp, 0.5), 2), hexRgba('#d18616'));
  assert.deepEqual(await canvasPixel(page, 'canvas.hm-received', xOfPage(vp, 1.5), 2), hexRgba('#1f1f1f'));
  // The table view says the same in words: page 0 holds 5 of the 11.5 the pages of file text received.
  await page.getByRole('button', { name: 'Show the heatmap as tables' }).click();
  const attentionRows = await page.locator('.hm-tables table').nth(3).locator('tbody tr').allInnerTexts();
  assert.deepEqual(attentionRows.slice(0, 2).map((r) => r.split('\t')), [
    ['0', 'demo/src/alpha.ts (header)', '43.5%'],
    ['5', 'demo/lib/beta.py lines 3–4', '26.1%'],
  ]);
  // Without it (a streaming trace) the row is hidden.
  await send(page, { type: 'heatmap/didUpdate', turnId: 't1', trace: tinyTrace, manifest: tinyManifest });
  await waitForPaint(page);
  assert.equal(await page.locator('canvas.hm-received').isVisible(), false);
  assert.deepEqual(errors, []);
  await context.close();
});

test('heatmap panel: one streamed step of an 8,192-page × 512-step trace redraws only its rows (times printed)', async () => {
  const { trace, manifest } = syntheticTrace({ pages: 8192, steps: 512, seed: 11 });
  const { context, page, errors } = await open(panel.url, { width: 1280, height: 900 });
  await applyVsCodeTheme(page, 'dark');
  const first = 500;
  await send(page, { type: 'heatmap/didUpdate', turnId: 'big', trace: { ...trace, steps: trace.steps.slice(0, first) }, manifest, expectedSteps: 512 });
  await waitForPaint(page);
  const [full, fullAt] = (await page.evaluate(
    `(() => { const m = performance.getEntriesByName('questLens/heatmap/drawAll')[0]; return [m.duration, m.startTime]; })()`,
  )) as number[];
  const draws: number[] = [];
  const appends: number[] = [];
  const paints: number[] = [];
  for (let i = first; i < trace.steps.length; i++) {
    await page.evaluate(`performance.clearMeasures('questLens/heatmap/drawSteps')`);
    await send(page, { type: 'answer/didAppendToken', done: false, turnId: 'big', index: i, text: trace.steps[i].text, step: trace.steps[i] });
    await waitUntil(page, `performance.getEntriesByName('questLens/heatmap/drawSteps').length > 0`);
    const [draw, append, paint] = (await page.evaluate(
      `['drawSteps', 'appendStep', 'paint'].map((n) => performance.getEntriesByName('questLens/heatmap/' + n)[0].duration)`,
    )) as number[];
    draws.push(draw);
    appends.push(append);
    paints.push(paint);
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const box = await mainCanvasBox(page);
  console.log(
    `[bench] 8192×512 streaming in Chromium (${box.width}×${box.height} device px): full draw ${full.toFixed(1)} ms; ` +
      `one step: draw median ${median(draws).toFixed(2)} ms (max ${Math.max(...draws).toFixed(2)}), ` +
      `model append median ${median(appends).toFixed(2)} ms, whole frame median ${median(paints).toFixed(2)} ms ` +
      `over ${draws.length} steps`,
  );
  const lastFullAt = (await page.evaluate(`performance.getEntriesByName('questLens/heatmap/drawAll')[0].startTime`)) as number;
  assert.equal(lastFullAt, fullAt, 'expectedSteps reserved the rows: no full redraw while streaming');
  assert.equal(await page.locator('.hm-summary').textContent().then((t) => t?.startsWith('512 steps')), true);
  assert.deepEqual(errors, []);
  await context.close();
});
