// The context across a window reload, and the two decoding modes, as a person uses them (stories260K as in
// chat.test.ts: only structure is asserted, never the answer's words). Load the workspace, reload the window, ask:
// the new engine process restores the persisted KV cache instead of prefilling. Then switch between dense and
// Quest from the chat view's menu and ask in each: the answer streams, and the heatmap's layers view shows what each
// layer read at the last step (dense: every page in every layer; Quest: every page in the dense layers, at most
// the budget's pages in the others). Screenshots: out/artifacts/e2e/context-*.png.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Frame } from 'playwright-core';
import { questLensLogs, startVscode, type VscodeSession } from './harness';
import { sharedModel } from './host/models';

let vscode: VscodeSession | undefined;
/** 4 pages of 16 tokens per sparse layer and KV head at each step. */
const pageBudget = 4;

before(async () => {
  vscode = await startVscode({
    name: 'context',
    settings: { 'questLens.maxAnswerTokens': 12, 'questLens.tokenBudget': pageBudget * 16 },
    machineSettings: { 'questLens.modelPath': sharedModel('stories260K.gguf') },
  });
}, { timeout: 180_000 });

after(async () => {
  await vscode?.dispose();
});

/** The Quest Lens status bar item (its telescope icon; a spinner while the engine works). */
const statusItem = () => vscode!.workbench.page.locator('.part.statusbar .statusbar-item', { hasText: 'stories260K' }).first();

/** The chat view's document (opened through the status bar item when it is not showing). */
async function chatFrame(): Promise<Frame> {
  const page = vscode!.workbench.page;
  const find = async () => {
    for (const f of page.frames()) if (await f.locator('.app.chat').count().catch(() => 0)) return f;
    return undefined;
  };
  if (!(await find())) await statusItem().click();
  for (let i = 0; i < 120; i++) {
    const f = await find();
    if (f) return f;
    await page.waitForTimeout(250);
  }
  throw new Error('the chat view did not open');
}

/**
 * Asks in the chat view; resolves with the number of answer tokens once the answer has streamed to its end. An
 * observer in the page notes answer text shown while the turn is still streaming: a fast answer (12 tokens can take
 * well under a second) is over before a polling wait would see it.
 */
async function ask(chat: Frame, question: string, shot: string): Promise<number> {
  await chat.evaluate(`(() => {
    window.__questLensObserver?.disconnect();
    window.__questLensStreamed = 0;
    window.__questLensObserver = new MutationObserver(() => {
      if (document.querySelector('.turn.streaming .answer')?.textContent.trim()) window.__questLensStreamed++;
    });
    window.__questLensObserver.observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
  })()`);
  const turns = await chat.locator('.turn').count();
  const input = chat.locator('form.ask textarea');
  await input.fill(question);
  await input.press('Enter');
  const turn = chat.locator('.turn').nth(turns);
  await turn.locator('.question', { hasText: question }).waitFor({ timeout: 10_000 });
  await turn.locator('.turn-status', { hasText: /^(\d+ tokens|Failed: )/ }).waitFor({ timeout: 240_000 });
  await vscode!.workbench.screenshot(`${shot}-answered`);
  const status = (await turn.locator('.turn-status').textContent()) ?? '';
  const tokens = Number(/^(\d+) tokens/.exec(status)?.[1]);
  assert.ok(tokens >= 1 && tokens <= 12, `the answer: "${status}"`);
  const streamed = (await chat.evaluate('window.__questLensStreamed')) as number;
  assert.ok(streamed >= 1, 'no answer text was shown while the answer streamed');
  return tokens;
}

interface LayersView {
  readonly summary: string;
  readonly legend: string;
  readonly layers: number;
  readonly kvHeads: number;
  readonly pages: number;
  /** One pixel row through the middle of each (layer, KV head) row, layer-major: 0xRRGGBB per device pixel. */
  readonly rows: number[][];
}

/** The heatmap of the newest answer, once its layers view shows the answer's last step (the mouse away from it). */
async function layersView(chat: Frame, tokens: number): Promise<LayersView> {
  await vscode!.workbench.page.mouse.move(700, 5);
  await chat.locator('.hm-layers-title', { hasText: `at step ${tokens - 1}` }).waitFor({ timeout: 30_000 });
  await chat.locator('.hm-layers').scrollIntoViewIfNeeded(); // for the screenshot
  await chat.waitForTimeout(500); // the layers view repaints at most every 200 ms while an answer streams
  const summary = (await chat.locator('.hm-summary').textContent()) ?? '';
  // Quest: "… · 14 sparse of 16 layers × 8 KV heads · budget …"; dense: "… · all 90 pages read by every layer (16 layers × 8 KV heads)".
  const m = /^(\d+) steps × (\d+) pages of 16 tokens · \w+ mode · (?:\d+ sparse of |all \d+ pages read by every layer \()(\d+) layers × (\d+) KV heads/.exec(summary);
  assert.ok(m, `heatmap summary: "${summary}"`);
  assert.equal(Number(m[1]), tokens, 'one heatmap row per answer token');
  const [pages, layers, kvHeads] = [Number(m[2]), Number(m[3]), Number(m[4])];
  const rows = (await chat.evaluate(
    `(() => { const c = document.querySelector('canvas.hm-layer'); const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
       const n = ${layers * kvHeads}; const rows = [];
       for (let r = 0; r < n; r++) {
         const y = Math.floor((r + 0.5) * c.height / n); const row = [];
         for (let x = 0; x < c.width; x++) { const i = (y * c.width + x) * 4; row.push((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]); }
         rows.push(row);
       }
       return rows; })()`,
  )) as number[][];
  return { summary, legend: (await chat.locator('.hm-legend').textContent()) ?? '', layers, kvHeads, pages, rows };
}

/**
 * Layer 0 is dense in both modes: its row starts with the dense colour across every page in context (then the
 * colour of pages not in context yet, where the view leaves room). Returns that colour and the pixels it spans.
 */
function denseSpan(v: LayersView): { dense: number; span: number } {
  const row = v.rows[0];
  const dense = row[0];
  let span = 0;
  while (span < row.length && row[span] === dense) span++;
  assert.ok(span >= 8, `layer 0 reads ${span} pixels of pages`);
  return { dense, span };
}

async function switchModeFromChatView(expect: RegExp): Promise<void> {
  const { workbench } = vscode!;
  const page = workbench.page;
  await chatFrame();
  await page.locator('.part.sidebar .title-actions .action-label[aria-label*="More Actions"]').first().click();
  await page.locator('.monaco-menu .action-item', { hasText: 'Switch Dense/Quest' }).first().click();
  await page.locator('.part.statusbar .statusbar-item', { hasText: expect }).waitFor({ timeout: 10_000 });
}

test('after Developer: Reload Window an answer reuses the persisted context: no prefill, nothing persisted again', { timeout: 300_000 }, async () => {
  const { workbench, server } = vscode!;
  await workbench.runCommand('Quest Lens: Load Workspace into Context');
  const loaded = await workbench.waitForNotification(/tokens from \d+ files are in context/, 150_000, { failOnError: true });
  await workbench.screenshot('loaded');
  const first = questLensLogs(server);
  assert.equal(first.length, 1, 'extension host logs before the reload');
  const prefill = /prefill: (\d+) tokens \(0 reused\)/.exec(first[0]);
  assert.ok(prefill, `the load did not prefill from scratch; log:\n${first[0]}`);
  const tokens = Number(prefill[1]);
  assert.ok(loaded.includes('(0 reused from the cache;'), loaded);
  assert.match(first[0], new RegExp(`persisted ${tokens} context tokens to \\S+\\.qlkv`));
  await workbench.clearNotifications();

  // Developer: Reload Window: a new extension host, and with it a new engine process whose memory holds nothing.
  const navigated = workbench.page.waitForEvent('framenavigated', { predicate: (f) => f === workbench.page.mainFrame(), timeout: 60_000 });
  await workbench.runCommand('Developer: Reload Window');
  await navigated;
  await workbench.page.locator('.monaco-workbench').waitFor({ timeout: 120_000 });
  await workbench.waitForExtensions();
  await workbench.screenshot('reloaded');

  const chat = await chatFrame();
  await ask(chat, 'What does slugify do?', 'after-reload');
  const logs = questLensLogs(server);
  assert.equal(logs.length, 2, 'extension host logs after the reload');
  const now = logs[1];
  assert.match(now, /starting engine/, 'the reloaded window did not start its own engine process');
  assert.match(now, new RegExp(`prefill: ${tokens} tokens \\(${tokens} reused from the disk cache\\)`), `log after the reload:\n${now}`);
  assert.doesNotMatch(now, /persisted \d+ context tokens/, 'the restored context was written again');
  await workbench.runCommand('Quest Lens: Show Log');
  await workbench.panel().locator('.monaco-editor .view-lines', { hasText: /\[info\]\s/ }).first().waitFor({ timeout: 10_000 });
  await workbench.screenshot('reused-log');
});

test('switched from the chat view, dense and Quest each answer; the layers view shows every page, or the budget\'s pages', { timeout: 300_000 }, async () => {
  const { workbench } = vscode!;
  await switchModeFromChatView(/Quest Lens: dense decoding/);
  let chat = await chatFrame();
  const denseTokens = await ask(chat, 'Where is the retry delay computed?', 'dense');
  const dense = await layersView(chat, denseTokens);
  await workbench.screenshot('dense-layers');
  assert.match(dense.summary, new RegExp(`· dense mode · all ${dense.pages} pages read by every layer \\(${dense.layers} layers`));
  assert.doesNotMatch(dense.summary, /budget/);
  assert.match(dense.legend, /dense decoding: every layer and KV head reads every page at every step/);
  assert.doesNotMatch(dense.legend, /sparse|selected by/);
  // The cells show the answer's attention per page: more than one colour (heat over the background).
  const colors = (await chat.evaluate(
    `(() => { const c = document.querySelector('canvas.hm-main'); const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
       const colors = new Set(); for (let i = 0; i < d.length; i += 4) colors.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
       return colors.size; })()`,
  )) as number;
  assert.ok(colors >= 2, `dense mode: the heatmap cells hold ${colors} colour(s)`);
  const d = denseSpan(dense);
  dense.rows.forEach((row, r) => {
    const read = row.slice(0, d.span).filter((c) => c === d.dense).length;
    assert.equal(read, d.span, `dense mode, layer ${Math.floor(r / dense.kvHeads)} head ${r % dense.kvHeads}: ${read} of ${d.span} pixels of pages read`);
  });

  await switchModeFromChatView(/Quest Lens: Quest decoding, 64 tokens per step/);
  chat = await chatFrame();
  const questTokens = await ask(chat, 'Where is the retry delay computed?', 'quest');
  const quest = await layersView(chat, questTokens);
  await workbench.screenshot('quest-layers');
  const denseLayers = 2; // questLens.denseLayers' default
  const sparse = `${quest.layers - denseLayers} sparse of ${quest.layers} layers × ${quest.kvHeads} KV heads`;
  assert.match(quest.summary, new RegExp(`· quest mode · ${sparse} · budget ${pageBudget} pages`));
  const q = denseSpan(quest);
  // A page is span/pages pixels wide (the raster shows the max where a pixel covers several pages).
  const perPage = Math.ceil(q.span / quest.pages) + 1;
  quest.rows.forEach((row, r) => {
    const layer = Math.floor(r / quest.kvHeads);
    const where = `Quest mode, layer ${layer} head ${r % quest.kvHeads}`;
    const inContext = row.slice(0, q.span);
    if (layer < denseLayers) {
      assert.equal(inContext.filter((c) => c === q.dense).length, q.span, `${where}: a dense layer reads every page`);
      return;
    }
    assert.equal(inContext.filter((c) => c === q.dense).length, 0, `${where}: a sparse layer drawn as dense`);
    // The background is the most frequent colour; every other pixel is a page the layer read.
    const counts = new Map<number, number>();
    for (const c of inContext) counts.set(c, (counts.get(c) ?? 0) + 1);
    const background = [...counts].sort((a, b) => b[1] - a[1])[0][0];
    const read = inContext.filter((c) => c !== background).length;
    const most = pageBudget * perPage;
    assert.ok(read >= 1 && read <= most, `${where}: ${read} pixels read, expected 1..${most} (${pageBudget} of ${quest.pages} pages)`);
  });
});
