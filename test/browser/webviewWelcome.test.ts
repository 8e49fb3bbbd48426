// The chat view's welcome in a real browser: while the conversation is empty it shows the model the host named
// (`chat/didUpdateWelcome`) and, for the built-in model, what it can and cannot answer, with a Select Model button
// that posts `model/select`; a turn hides it, clearing the conversation shows it again, and model text in it stays
// text.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { BUILTIN_MODEL_LABEL, builtinModelAbout } from '../../extension/models/builtinModel';
import type { FromWebview, ToWebview } from '../../webview/protocol';
import { FAKE_VSCODE_API, buildBundle, launchBrowser, removeBundle, sendToWebview, serveHosted, waitUntil, type Bundle, type Hosted } from './harness';

let browser: Browser;
let bundle: Bundle;
let chat: Hosted;

before(async () => {
  bundle = await buildBundle();
  browser = await launchBrowser();
  chat = await serveHosted(bundle, { view: 'chat', standalone: false });
});
after(async () => {
  await browser?.close();
  await chat?.close();
  if (bundle) removeBundle(bundle);
});

async function openChat(): Promise<{ page: Page; errors: string[] }> {
  const context = await browser.newContext({ viewport: { width: 420, height: 700 } });
  await context.addInitScript(FAKE_VSCODE_API);
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(chat.url);
  await waitUntil(page, `window.__posted.some((m) => m.type === 'webview/ready')`);
  return { page, errors };
}

const send = (page: Page, m: ToWebview) => sendToWebview(page, m);
const welcome = (page: Page) => page.locator('.welcome');

test('the welcome names the model, says what the built-in one answers, and Select Model posts model/select', { timeout: 60_000 }, async () => {
  const { page, errors } = await openChat();
  assert.equal(await welcome(page).isHidden(), true, 'nothing to show before the host says which model');

  await send(page, { type: 'chat/didRestore', turns: [] });
  await send(page, { type: 'chat/didUpdateWelcome', model: BUILTIN_MODEL_LABEL, about: builtinModelAbout });
  await welcome(page).waitFor({ state: 'visible' });
  assert.equal(await page.locator('.welcome-model').textContent(), `Model: ${BUILTIN_MODEL_LABEL}`);
  assert.ok((await welcome(page).textContent())?.includes('It does not explain code, answer open questions or write code'));

  await page.locator('.welcome button', { hasText: 'Select Model' }).click();
  await waitUntil(page, `window.__posted.some((m) => m.type === 'model/select')`);
  const sent = ((await page.evaluate('window.__posted')) as FromWebview[]).filter((m) => m.type === 'model/select');
  assert.deepEqual(sent, [{ type: 'model/select' }]);

  // A turn hides it; clearing the conversation brings it back.
  await send(page, { type: 'chat/didStart', turnId: 't1', question: 'Where is `cartTotal` defined?' });
  await welcome(page).waitFor({ state: 'hidden' });
  await send(page, { type: 'chat/didClear' });
  await welcome(page).waitFor({ state: 'visible' });
  assert.deepEqual(errors, []);
  await page.context().close();
});

test('a user\'s model gets its name only, and markup in names stays text', { timeout: 60_000 }, async () => {
  const { page, errors } = await openChat();
  await send(page, { type: 'chat/didUpdateWelcome', model: '<img src=x onerror="window.__pwned=1">qwen' });
  await welcome(page).waitFor({ state: 'visible' });
  assert.equal(await page.locator('.welcome-model').textContent(), 'Model: <img src=x onerror="window.__pwned=1">qwen');
  assert.equal(await page.locator('.welcome p').count(), 1, 'no about text for a user\'s model');
  assert.equal(await page.locator('.welcome img').count(), 0);
  assert.equal(await page.evaluate('window.__pwned'), undefined);
  // A restored conversation with turns keeps it hidden.
  await send(page, { type: 'chat/didRestore', turns: [{ turnId: 't1', question: 'q', tokens: [' a'], status: 'stop' }] });
  await welcome(page).waitFor({ state: 'hidden' });
  assert.deepEqual(errors, []);
  await page.context().close();
});
