// `quest-lens ask` as a user runs it: the built CLI (dist/cli.js) on a copy of the fixture workspace with bad input
// added (a binary file, a symlink loop, a dangling link, Latin-1 text), the real model stories260K. The model only
// tells stories, so the answer's text is never asserted; its structure is, and every citation must resolve to real
// lines of a real file. The heatmap file must carry the answer's trace and render in Chromium under its CSP.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import type { AskJson } from '../../gpu/ask';
import type { InitialData } from '../../webview/protocol';
import { launchBrowser, waitForPaint } from '../browser/harness';
import { builtCli, citedLines, stories, workspaceCopy } from './askFixture';

const cli = builtCli();
const tmp = mkdtempSync(join(tmpdir(), 'ql-ask-cli-'));
const cacheDir = join(tmp, 'kv');
const ws = workspaceCopy();
writeFileSync(join(ws, 'logo.bin'), Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0x0d, 0xff, 0));
writeFileSync(join(ws, 'latin1.txt'), Uint8Array.from([...Buffer.from('caf'), 0xe9, ...Buffer.from(' au lait\n')]));
symlinkSync('.', join(ws, 'loop'));
symlinkSync('nowhere.ts', join(ws, 'dangling.ts'));
after(() => {
  rmSync(tmp, { recursive: true, force: true });
  rmSync(dirname(ws), { recursive: true, force: true });
});

const question = 'Where is cartTotal defined?';
const common = ['ask', '--workspace', ws, '--model', stories, '--context', '2048', '--budget', '64', '--max-tokens', '20', '--cache-dir', cacheDir];

function run(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function askJson(args: string[]): AskJson {
  const r = run([...common, '--json', ...args, question]);
  assert.equal(r.code, 0, `exit code ${r.code}; stderr:\n${r.stderr}`);
  assert.equal(r.stdout.trim().split('\n').length, 1, 'stdout is one line of JSON');
  return JSON.parse(r.stdout) as AskJson;
}

test('--json: one object with the answer, citations that resolve to real lines, pages per file, what was skipped', () => {
  const first = askJson([]);
  assert.equal(typeof first.answer, 'string');
  assert.ok(['stop', 'length'].includes(first.reason));
  assert.ok(first.contextTokens > 500 && first.contextTokens < 2048, `contextTokens ${first.contextTokens}`);
  assert.equal(first.files, 5, 'README.md, latin1.txt, lib/story.py, src/cart.ts, src/format.ts');

  // Where the answer's attention went, mapped to lines that exist; most attended first, with their share.
  const attention = first.citations.filter((c) => c.source === 'attention');
  assert.ok(attention.length > 0 && attention.length <= 3, `${attention.length} attention citations`);
  for (const c of first.citations) {
    assert.equal(c.folder, 0);
    assert.ok(['answer', 'attention'].includes(c.source));
    const lines = citedLines(ws, c.file, c.line, c.endLine);
    assert.ok(lines.length >= 1);
  }
  const shares = attention.map((c) => c.mass);
  assert.deepEqual(shares, [...shares].sort((a, b) => b - a));
  assert.ok(shares.every((m) => m > 0) && shares.reduce((a, b) => a + b, 0) <= 1 + 1e-9, `shares ${shares}`);
  assert.ok(attention.every((c) => c.pages.length >= 1 && c.pages.every((p) => p < Math.ceil(first.contextTokens / 16))), 'context pages only');
  assert.equal(first.note, undefined);
  assert.ok(first.pagesSelectedPerFile.length > 0);
  const known = new Set(['ask/README.md', 'ask/latin1.txt', 'ask/lib/story.py', 'ask/src/cart.ts', 'ask/src/format.ts']);
  for (const f of first.pagesSelectedPerFile) {
    assert.ok(known.has(f.path), `${f.path} is a context file`);
    assert.ok(f.pages >= 1 && f.selections >= f.pages);
  }
  // Sorted, most selected first.
  const sel = first.pagesSelectedPerFile.map((f) => f.selections);
  assert.deepEqual(sel, [...sel].sort((a, b) => b - a));

  // Bad input is reported, and the run went on.
  const skipped = new Map(first.skipped.map((s) => [s.path, s.reason]));
  assert.equal(skipped.get('ask/logo.bin'), 'binary');
  assert.equal(skipped.get('ask/loop/'), 'symlink-loop');
  assert.equal(skipped.get('ask/dangling.ts'), 'unreadable');
  assert.deepEqual(first.invalidUtf8, [{ path: 'ask/latin1.txt', sequences: 1 }]);

  assert.equal(first.timings.reusedFrom, 'none');
  assert.equal(first.timings.prefilledTokens, first.contextTokens);
  assert.equal(first.timings.decodeTokens, 20);

  // A second run (a new process) reuses the persisted KV cache and answers the same.
  const second = askJson([]);
  assert.deepEqual([second.timings.reusedFrom, second.timings.reusedTokens, second.timings.prefilledTokens], ['disk', second.contextTokens, 0]);
  assert.equal(second.answer, first.answer);
  assert.deepEqual(second.citations, first.citations);
});

test('text output: the answer, then citations and the top files by pages selected; dense mode cites its attention too', () => {
  const r = run([...common, '--mode', 'dense', question]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /\ncitations:\n {2}ask\/\S+:\d+(-\d+)? {2}\(\d+\.\d% of the answer's attention to the files\)\n/);
  assert.match(r.stdout, /\npages selected per file:\n {2}none\n/);
  assert.match(r.stdout, /ask\/logo\.bin: binary/);
  assert.match(r.stderr, /prefill: 0 tokens .*reused from disk/);
  assert.match(r.stdout, /\nheatmap: add --heatmap FILE\.html/);
});

test('--heatmap --trace-scores: a self-contained HTML file that carries the trace and renders under its CSP', async () => {
  const file = join(tmp, 'heatmap.html');
  const result = askJson(['--heatmap', file, '--trace-scores']);
  assert.equal(result.heatmap, file);
  const html = readFileSync(file, 'utf8');

  // The policy: nothing by default, one script, allowed by its nonce; nothing loaded from anywhere.
  const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html)?.[1].replace(/&#39;/g, "'");
  assert.ok(csp, 'a CSP meta element');
  assert.match(csp, /^default-src 'none'; script-src 'nonce-([A-Za-z0-9+/=]+)'; style-src 'nonce-\1'/);
  const nonce = /script-src 'nonce-([^']+)'/.exec(csp)![1];
  assert.equal(html.match(/<script/g)?.length, 1);
  assert.ok(html.includes(`<script type="module" nonce="${nonce}">`));
  assert.doesNotMatch(csp, /unsafe|https?:/);
  assert.doesNotMatch(html, /<(link|img|iframe)\b|src="/);

  // The data: this answer's trace and the context manifest.
  const attr = /<meta id="quest-lens-data" data-initial="([^"]*)">/.exec(html)![1];
  const data = JSON.parse(attr.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&')) as InitialData;
  assert.equal(data.view, 'heatmap');
  assert.equal(data.standalone, true);
  const trace = data.heatmap!.trace;
  assert.equal(trace.mode, 'quest');
  assert.equal(trace.pageBudget, 4);
  assert.equal(trace.steps.length, result.timings.decodeTokens);
  assert.equal(trace.steps.map((s) => s.text).join(''), result.answer.replace(/\uFFFD$/, ''));
  assert.equal(data.heatmap!.manifest!.totalTokens, result.contextTokens);
  assert.equal(trace.promptTokens.length, result.contextTokens + result.questionTokens);
  assert.equal(data.heatmap!.pageTexts!.length, Math.ceil(trace.promptTokens.length / trace.pageSize));
  // Step 0 came from the prompt's dense prefill: its sparse layers read every page; every later step reads at most
  // pageBudget pages per KV head, its own last page among them; dense layers list none.
  trace.steps.forEach((s, i) => {
    const pagesNow = Math.floor(s.position / trace.pageSize) + 1;
    s.pages.forEach((heads, l) =>
      heads.forEach((pages) => {
        if (l < trace.denseLayers) assert.deepEqual(pages, []);
        else if (i === 0) assert.equal(pages.length, pagesNow);
        else assert.ok(pages.length <= trace.pageBudget && pages.includes(pagesNow - 1), `step ${i}: ${pages}`);
      }),
    );
  });
  assert.equal(trace.steps[0].position, result.contextTokens + result.questionTokens - 1);
  // --trace-scores: every step after the first carries its scores and its attention, which add up to the answer's.
  const pagesAtEnd = Math.floor(trace.steps.at(-1)!.position / trace.pageSize) + 1;
  assert.equal(trace.attention?.length, pagesAtEnd);
  const summed = new Array(pagesAtEnd).fill(0);
  trace.steps.slice(1).forEach((s) => s.attention!.forEach((m, p) => (summed[p] += m)));
  summed.forEach((m, p) => assert.ok(Math.abs(m - trace.attention![p]) <= 1e-4 + 1e-3 * trace.attention![p], `page ${p}: steps sum to ${m}, the answer's ${trace.attention![p]}`));
  assert.equal(trace.steps[0].scores, undefined);
  assert.ok(trace.steps.slice(1).every((s) => s.scores!.length === trace.layers));

  // Chromium: the page draws, and the browser reports no CSP violation.
  const browser = await launchBrowser();
  try {
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.text().includes('Content Security Policy')) problems.push(m.text());
    });
    page.on('pageerror', (e) => problems.push(e.message));
    await page.goto(`file://${file}`);
    await waitForPaint(page);
    assert.match((await page.locator('.hm-summary').textContent()) ?? '', new RegExp(`^${trace.steps.length} steps × \\d+ pages`));
    assert.equal(await page.locator('canvas.hm-received').isVisible(), true, "the answer's attention row is drawn");
    assert.equal(await page.locator('.hm-mode select option[value="attention"]').isDisabled(), false);
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
  }
});

test('a missing, unreadable or corrupt model is a clear error', () => {
  // No --model: the built-in model beside dist/ (askBuiltin.test.ts); a CLI with none beside it says so.
  const lone = join(tmp, 'lone', 'dist');
  mkdirSync(lone, { recursive: true });
  copyFileSync(cli, join(lone, 'cli.js'));
  const noModel = spawnSync(process.execPath, [join(lone, 'cli.js'), 'ask', '--workspace', ws, question], { encoding: 'utf8' });
  assert.equal(noModel.status, 2);
  assert.match(noModel.stderr, /no --model given, and the built-in model \S+\/lone\/model\/default\.gguf is missing .*: give --model FILE\.gguf/);

  const missing = join(tmp, 'missing.gguf');
  const r1 = run(['ask', '--workspace', ws, '--model', missing, question]);
  assert.equal(r1.code, 1);
  assert.match(r1.stderr, new RegExp(`model file ${missing.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} does not exist`));

  const corrupt = join(tmp, 'corrupt.gguf');
  writeFileSync(corrupt, Buffer.concat([Buffer.from('GGUF'), Buffer.alloc(60, 0xff)]));
  const r2 = run(['ask', '--workspace', ws, '--model', corrupt, question]);
  assert.equal(r2.code, 1);
  assert.match(r2.stderr, new RegExp(`quest-lens: ${corrupt.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: `));
  assert.doesNotMatch(r2.stderr, /TypeError|RangeError|at .*\.js:\d+/, 'a clear message, not a stack trace');

  const r3 = run(['ask', '--workspace', join(tmp, 'nowhere'), '--model', stories, question]);
  assert.equal(r3.code, 1);
  assert.match(r3.stderr, /--workspace .*nowhere does not exist/);

  // A CLI without the webview bundle beside it says so before doing any work.
  const bare = join(tmp, 'bare');
  mkdirSync(bare);
  copyFileSync(cli, join(bare, 'cli.js'));
  const r4 = spawnSync(process.execPath, [join(bare, 'cli.js'), 'ask', '--workspace', ws, '--model', stories, '--heatmap', join(tmp, 'h.html'), question], { encoding: 'utf8' });
  assert.equal(r4.status, 1);
  assert.match(r4.stderr, /the heatmap needs the webview bundle at .*bare\/webview\/main\.js .* which are missing: build them with `node build\.mjs`/);
  assert.ok(!existsSync(join(tmp, 'h.html')));
});
