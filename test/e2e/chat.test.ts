// UI tests of the chat (issue 5/6), as a person uses it: with questLens.modelPath set to stories260K (a real Llama
// model that tells children's stories: it exercises the whole pipeline; only structure is asserted, never the
// answer's words), load the workspace (cancel once, then to the end), ask in the chat view, watch the answer stream
// and the heatmap draw its pages, click a cell to open that file at that line, open the heatmap beside the editor,
// and reload the window. Screenshots: out/artifacts/e2e/chat-*.png.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, test } from 'node:test';
import type { Frame } from 'playwright-core';
import { startVscode, type VscodeSession } from './harness';
import { sharedModel } from './host/models';

let vscode: VscodeSession | undefined;
/** A Hugging Face hub cache holding stories260K, for Select Model to find. */
const hub = mkdtempSync(join(tmpdir(), 'quest-lens-hub-'));

before(async () => {
  const snapshot = join(hub, 'models--tiny--stories-GGUF', 'snapshots', 'rev1');
  mkdirSync(snapshot, { recursive: true });
  symlinkSync(sharedModel('stories260K.gguf'), join(snapshot, 'stories260K-Q8.gguf'));
  vscode = await startVscode({
    name: 'chat',
    env: { HF_HUB_CACHE: hub },
    settings: { 'questLens.maxAnswerTokens': 24, 'questLens.tokenBudget': 64 },
    // A machine-overridable setting: in code-server's remote window only the machine settings can set it.
    machineSettings: { 'questLens.modelPath': sharedModel('stories260K.gguf') },
  });
}, { timeout: 180_000 });

after(async () => {
  await vscode?.dispose();
  rmSync(hub, { recursive: true, force: true });
});

/** The Quest Lens status bar item. */
const statusItem = () => vscode!.workbench.page.locator('.part.statusbar .statusbar-item', { hasText: 'stories260K' }).first();

/** The document of the visible webview whose app root matches (`.app.chat` or `.app.panel`). */
async function webviewFrame(app: '.app.chat' | '.app.panel', timeoutMs = 30_000): Promise<Frame> {
  const page = vscode!.workbench.page;
  const until = Date.now() + timeoutMs;
  for (;;) {
    for (const f of page.frames()) {
      if (await f.locator(app).count().catch(() => 0)) return f;
    }
    if (Date.now() > until) throw new Error(`no webview shows ${app} within ${timeoutMs} ms (frames: ${page.frames().length})`);
    await page.waitForTimeout(250);
  }
}

test('Cancel in the loading notification stops the prefill', { timeout: 180_000 }, async () => {
  const { workbench } = vscode!;
  await workbench.runCommand('Quest Lens: Load Workspace into Context');
  // The first load also loads the model and compiles its kernels: the prefill runs for seconds on lavapipe.
  const toast = workbench.page.locator('.notifications-toasts .notification-list-item', { hasText: 'Loading the workspace into context' }).first();
  await toast.locator('.notification-list-item-message', { hasText: 'Prefill:' }).waitFor({ timeout: 120_000 });
  await workbench.screenshot('loading');
  assert.match(await workbench.waitForNotification(/Prefill: \d+% of [\d.]+K? tokens/), /Prefill: \d+% of [\d.]+K? tokens/);
  await toast.locator('.monaco-button', { hasText: 'Cancel' }).first().click();
  await workbench.page.locator('.part.statusbar', { hasText: 'loading the workspace was cancelled' }).waitFor({ timeout: 30_000 });
  await workbench.screenshot('loading-cancelled');
  await toast.waitFor({ state: 'hidden', timeout: 10_000 });
  // The model stays loaded (KV memory is shown), but no tokens are in context: only the workspace estimate (≈).
  const status = (await statusItem().textContent()) ?? '';
  assert.match(status, /stories260K · ≈[\d.]+K? tokens · KV/, status);
});

test('Load Workspace into Context ends with the tokens in context in a notification and the status bar', { timeout: 180_000 }, async () => {
  const { workbench } = vscode!;
  await workbench.runCommand('Quest Lens: Load Workspace into Context');
  const message = await workbench.waitForNotification(/tokens from \d+ files are in context/, 150_000, { failOnError: true });
  await workbench.screenshot('loaded');
  assert.match(message, /Quest Lens: [\d.]+K? tokens from 4 files are in context/);
  const status = (await statusItem().textContent()) ?? '';
  assert.match(status, /stories260K · [\d.]+K? tokens · KV [\d.]+ (KiB|MiB)/);
  await workbench.clearNotifications();
});

test('asked in the chat view, the answer streams in and the heatmap draws its pages', { timeout: 180_000 }, async () => {
  const { workbench } = vscode!;
  await statusItem().click(); // the status bar item opens the chat view
  const chat = await webviewFrame('.app.chat');
  const input = chat.locator('form.ask textarea');
  await input.fill('What does slugify do?');
  await input.press('Enter');
  const turn = chat.locator('.turn').last();
  await turn.locator('.question', { hasText: 'What does slugify do?' }).waitFor({ timeout: 10_000 });
  // Streaming: some answer text arrives while the turn is still marked as streaming, then the turn finishes.
  await turn.locator('.answer').filter({ hasText: /\S/ }).waitFor({ timeout: 120_000 });
  await workbench.screenshot('streaming');
  await turn.locator('.turn-status', { hasText: /^\d+ tokens/ }).waitFor({ timeout: 60_000 });
  const tokens = Number(/^(\d+) tokens/.exec((await turn.locator('.turn-status').textContent()) ?? '')?.[1]);
  assert.ok(tokens >= 1 && tokens <= 24, `answer tokens: ${tokens}`);

  const summary = (await chat.locator('.hm-summary').textContent()) ?? '';
  const m = /^(\d+) steps × (\d+) pages of 16 tokens · quest mode/.exec(summary);
  assert.ok(m, `heatmap summary: "${summary}"`);
  assert.equal(Number(m[1]), tokens, 'one heatmap row per answer token');
  assert.ok(Number(m[2]) > 50, `pages: ${m[2]}`);
  // The drawn cells: the canvas holds more than one colour (heat over the background).
  const painted = (await chat.evaluate(
    `(() => { const c = document.querySelector('canvas.hm-main'); const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
       const colors = new Set(); for (let i = 0; i < d.length; i += 4) colors.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
       return { width: c.width, height: c.height, colors: colors.size }; })()`,
  )) as { width: number; height: number; colors: number };
  assert.ok(painted.width > 0 && painted.height > 0 && painted.colors >= 2, `canvas: ${JSON.stringify(painted)}`);
  assert.ok((await chat.locator('.hm-file-list li').count()) >= 1, 'the file ranking lists no file');
  await workbench.screenshot('answered');
});

test('clicking a heatmap cell opens that file at that line', { timeout: 90_000 }, async () => {
  const { workbench, server } = vscode!;
  const chat = await webviewFrame('.app.chat');
  const canvas = chat.locator('canvas.hm-main');
  const pages = Number(/× (\d+) pages/.exec((await chat.locator('.hm-summary').textContent()) ?? '')?.[1]);
  const box = (await canvas.boundingBox()) ?? assert.fail('the heatmap canvas has no box');
  // Page 25 holds tokens 400-415: inside the second file of the context, whichever it is.
  const at = { x: box.width * (25.5 / pages), y: box.height * 0.5 };
  await canvas.hover({ position: at });
  const tip = chat.locator('.hm-tooltip');
  await tip.waitFor({ timeout: 10_000 });
  const lines = await tip.locator('.hm-tip-line').allTextContents();
  // "<folder name>/<path> lines 12–14": the file's header path starts with the workspace folder's name.
  const where = lines.map((l) => /^[^/\s]+\/(\S+) lines? (\d+)/.exec(l)).find((x) => x);
  assert.ok(where, `the tooltip names no file and line: ${JSON.stringify(lines)}`);
  await workbench.screenshot('cell-hover');
  await canvas.click({ position: at });
  await workbench.page.waitForFunction(`document.title.endsWith(${JSON.stringify(where[1].split('/').pop())})`, undefined, { timeout: 10_000 });
  // The title changes when the editor opens; the selection (and so the status bar's line) follows a moment later.
  let editor = await workbench.activeEditor();
  for (let i = 0; i < 20 && editor.line !== Number(where[2]); i++) {
    await workbench.page.waitForTimeout(250);
    editor = await workbench.activeEditor();
  }
  await workbench.screenshot('cell-opened');
  assert.equal(relative(server.workspace, editor.path), join(...where[1].split('/')));
  assert.equal(editor.line, Number(where[2]));
});

test('Open beside shows the heatmap panel; after a window reload the conversation and the panel come back', { timeout: 240_000 }, async () => {
  const { workbench } = vscode!;
  const chat = await webviewFrame('.app.chat');
  const question = (await chat.locator('.turn .question').last().textContent()) ?? '';
  await chat.locator('button', { hasText: 'Open beside' }).click();
  const panel = await webviewFrame('.app.panel');
  await panel.locator('.hm-summary', { hasText: /steps × \d+ pages/ }).waitFor({ timeout: 30_000 });
  const before = await panel.locator('.hm-summary').textContent();
  await workbench.screenshot('panel');
  // Developer: Reload Window, as a person reloads: unlike a browser reload it waits until VS Code has saved the
  // editor layout (and with it the panel and its state), so the panel's return does not depend on a timer.
  const navigated = workbench.page.waitForEvent('framenavigated', { predicate: (f) => f === workbench.page.mainFrame(), timeout: 60_000 });
  await workbench.runCommand('Developer: Reload Window');
  await navigated;
  await workbench.page.locator('.monaco-workbench').waitFor({ timeout: 120_000 });
  await workbench.waitForExtensions();
  const panelAgain = await webviewFrame('.app.panel', 90_000).catch(async (err: Error) => {
    await workbench.screenshot('reload-failed');
    throw err;
  });
  await panelAgain.locator('.hm-summary', { hasText: /steps × \d+ pages/ }).waitFor({ timeout: 60_000 });
  assert.equal(await panelAgain.locator('.hm-summary').textContent(), before, 'the restored panel shows the same heatmap');
  await statusItem().click();
  const chatAgain = await webviewFrame('.app.chat', 60_000);
  await chatAgain.locator('.turn .question', { hasText: question }).waitFor({ timeout: 30_000 });
  assert.match((await chatAgain.locator('.turn .turn-status').last().textContent()) ?? '', /^\d+ tokens/);
  await workbench.screenshot('reloaded');
});

test('Select Model lists the models found on the machine and sets the chosen one', { timeout: 90_000 }, async () => {
  const { workbench } = vscode!;
  const page = workbench.page;
  await workbench.runCommand('Quest Lens: Select Model');
  const row = page.locator('.quick-input-list .monaco-list-row', { hasText: 'tiny/stories-GGUF/stories260K-Q8.gguf' }).first();
  await row.waitFor({ timeout: 20_000 });
  assert.ok(await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Browse for a GGUF file' }).count(), 'no Browse entry');
  await workbench.screenshot('select-model');
  await row.click();
  await page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: 5_000 });
  // Not loaded yet: the status bar names the configured model by the store's label.
  await page.locator('.part.statusbar .statusbar-item', { hasText: 'tiny/stories-GGUF/stories260K-Q8.gguf' }).waitFor({ timeout: 10_000 });
  await workbench.screenshot('model-selected');
});
