// The Content-Security-Policy html.ts writes, enforced by a real browser: markup injected into the document (as if
// something had slipped past the data attribute) cannot run: no inline script, no inline event handler, no script
// from a data: URL; and Trusted Types make HTML sinks throw. The page itself still works. Hosted as VS Code hosts it
// (script by URL), hostile model output loads nothing, and code running in the page could reach no other origin.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import type { FromWebview, InitialData, ToWebview } from '../../webview/protocol';
import { tinyManifest, tinyTrace } from '../fixtures/traces/tiny';
import {
  FAKE_VSCODE_API, buildBundle, launchBrowser, removeBundle, sendToWebview, serveHosted, waitForPaint, waitUntil, writeStandalone, type Bundle,
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

const data: InitialData = {
  view: 'heatmap',
  standalone: true,
  heatmap: { turnId: 't', trace: tinyTrace, manifest: tinyManifest },
};

test('injected inline script, inline handler and data: script are blocked; the nonce\'d bundle runs', async () => {
  const inject = [
    '<script>window.__inlineRan = 1</script>',
    '<img src="data:," onerror="window.__handlerRan = 1">',
    '<script src="data:text/javascript,window.__dataRan = 1"></script>',
    '<button id="injected" onclick="window.__clickRan = 1">x</button>',
  ].join('');
  const page = await browser.newPage();
  const violations: string[] = [];
  page.on('console', (m) => {
    if (m.text().includes('Content Security Policy')) violations.push(m.text());
  });
  await page.goto(writeStandalone(bundle, data, 'dark', 'csp-injected', inject));
  await waitForPaint(page);
  await page.locator('#injected').click();
  const ran = await page.evaluate(`[window.__inlineRan, window.__handlerRan, window.__dataRan, window.__clickRan].map((v) => v ?? null)`);
  assert.deepEqual(ran, [null, null, null, null]);
  assert.ok(violations.length >= 3, `the browser reported the blocked injections:\n${violations.join('\n')}`);
  assert.ok(violations.some((v) => v.includes('inline')));
  // The bundle (the one nonce'd script) ran and drew.
  assert.match((await page.locator('.hm-summary').textContent()) ?? '', /^5 steps × 9 pages/);
  await page.close();
});

test('Trusted Types: an HTML sink throws in the page', async () => {
  const page = await browser.newPage();
  await page.goto(writeStandalone(bundle, data, 'light', 'csp-tt'));
  await waitForPaint(page);
  const result = await page.evaluate(`(() => {
    try { document.body.insertAdjacentHTML('beforeend', '<img src=x onerror="window.__tt = 1">'); return 'allowed'; }
    catch (e) { return e.name; }
  })()`);
  assert.equal(result, 'TypeError');
  assert.equal(await page.evaluate('document.querySelectorAll("img").length'), 0);
  await page.close();
});

test('hosted as VS Code hosts it: injected script is blocked, hostile output loads nothing, no other origin is reachable', async () => {
  // Another origin standing for anywhere data could be sent.
  const elsewhereHits: string[] = [];
  const elsewhere = createServer((req, res) => {
    elsewhereHits.push(req.url ?? '/');
    res.end('x');
  });
  await new Promise<void>((ok) => elsewhere.listen(0, '127.0.0.1', ok));
  const away = `http://127.0.0.1:${(elsewhere.address() as { port: number }).port}`;
  const requests: string[] = [];
  const hosted = await serveHosted(bundle, { view: 'chat', standalone: false }, {
    inject: `<script>window.__inlineRan = 1</script><img src="${away}/injected.png" onerror="window.__handlerRan = 1"><link rel="stylesheet" href="${away}/injected.css">`,
    onRequest: (p) => requests.push(p),
  });
  const own = new URL(hosted.url).origin;
  const context = await browser.newContext();
  try {
    await context.addInitScript(FAKE_VSCODE_API);
    const page = await context.newPage();
    const violations: string[] = [];
    page.on('console', (m) => {
      if (m.text().includes('Content Security Policy')) violations.push(m.text());
    });
    await page.goto(hosted.url);
    await waitUntil(page, `window.__posted.some((m) => m.type === 'webview/ready')`);
    // Model output naming both the page's own origin (which the CSP lets images come from) and another one.
    const hostile = [
      `<script>window.__pwned = 1</script> ![a](${own}/leak-md.png) ![b](${away}/leak-md.png) `,
      `<img src="${own}/leak-img.png"> <img src="${away}/leak-img.png" onerror="window.__pwned = 2"> `,
      `[x](javascript:window.__pwned=3) [y](command:workbench.action.terminal.new) [z](${away}/leak-link) `,
      `<iframe src="${away}/leak-frame"></iframe> <link rel="prefetch" href="${away}/leak-prefetch"> <video src="${own}/leak.mp4">`,
    ];
    const send = (m: ToWebview) => sendToWebview(page, m);
    await send({ type: 'chat/didRestore', turns: [] });
    await send({ type: 'chat/didStart', turnId: 't1', question: `<img src="${away}/leak-question.png">` });
    for (let i = 0; i < hostile.length; i++) await send({ type: 'answer/didAppendToken', done: false, turnId: 't1', index: i, text: hostile[i] });
    await send({ type: 'answer/didFinish', done: true, turnId: 't1', reason: 'stop' });
    await waitUntil(page, `document.body.textContent.includes('leak-frame')`);
    // Code that did run in the page (as if something got past everything above) cannot send anything elsewhere.
    const attempts = await page.evaluate(`(async () => {
      const out = [];
      try { await fetch('${away}/fetch'); out.push('fetch sent'); } catch (e) { out.push('fetch ' + e.name); }
      try { out.push('beacon ' + navigator.sendBeacon('${away}/beacon', 'x')); } catch (e) { out.push('beacon ' + e.name); }
      try { new WebSocket('${away.replace('http', 'ws')}/ws'); out.push('websocket made'); } catch (e) { out.push('websocket ' + e.name); }
      const img = new Image(); img.src = '${away}/image'; document.body.append(img);
      await new Promise((r) => setTimeout(r, 500));
      return out;
    })()`);
    assert.deepEqual(await page.evaluate('[window.__inlineRan, window.__handlerRan, window.__pwned].map((v) => v ?? null)'), [null, null, null]);
    assert.equal(await page.evaluate(`document.querySelectorAll('#root :is(img, iframe, video, script, link, a[href^="javascript"], a[href^="command"])').length`), 0, 'the output made no markup');
    assert.deepEqual(elsewhereHits, [], `the other origin was reached (${JSON.stringify(attempts)})`);
    // Chromium asks for a favicon by itself; the page asked for its document, script and stylesheet only.
    assert.deepEqual([...new Set(requests.filter((p) => p !== '/favicon.ico'))].sort(), ['/index.html', '/main.css', '/main.js']);
    assert.ok(violations.length >= 3, `the browser reported what it blocked:\n${violations.join('\n')}`);
    // The page works: the answer is there as text, and links that are not file references post nothing.
    assert.match((await page.locator('body').textContent()) ?? '', /window\.__pwned = 1/);
    const posted = (await page.evaluate('window.__posted')) as FromWebview[];
    assert.deepEqual(posted.map((m) => m.type), ['webview/ready']);
  } finally {
    await context.close();
    await hosted.close();
    await new Promise<void>((ok) => elsewhere.close(() => ok()));
  }
});
