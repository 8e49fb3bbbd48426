// The Content-Security-Policy html.ts writes, enforced by a real browser: markup injected into the document (as if
// something had slipped past the data attribute) cannot run: no inline script, no inline event handler, no script
// from a data: URL; and Trusted Types make HTML sinks throw. The page itself still works.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import type { InitialData } from '../../webview/protocol';
import { tinyManifest, tinyTrace } from '../fixtures/traces/tiny';
import { buildBundle, launchBrowser, removeBundle, waitForPaint, writeStandalone, type Bundle } from './harness';

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
