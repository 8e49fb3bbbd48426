// The engine process (dist/cli.js serve) through the extension's EngineClient, as the chat view drives it: load a
// real model, build and prefill the fixture workspace, stream an answer, cancel one mid-answer, reuse the prefix for
// the next question, survive a kill (the persisted KV cache makes the restart skip the prefill) and a damaged cache
// file (a prefill instead, no crash).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { EngineClient, EngineExitedError, EngineRequestError } from '../../extension/engineClient';
import type { DecodeSettings, FromEngine } from '../../gpu/protocol';
import { builtCli, citedLines, decodeSettings, readerSettings, stories, workspaceCopy } from './askFixture';

const cli = builtCli();
const kvCacheDir = mkdtempSync(join(tmpdir(), 'ql-serve-kv-'));
const ws = workspaceCopy();
const logs: string[] = [];
const exits: EngineExitedError[] = [];
const engine = new EngineClient(
  cli,
  { info: (m) => logs.push(`info ${m}`), warn: (m) => logs.push(`warn ${m}`), error: (m) => logs.push(`error ${m}`) },
  (e) => exits.push(e),
);
after(() => {
  engine.dispose();
  rmSync(kvCacheDir, { recursive: true, force: true });
  rmSync(dirname(ws), { recursive: true, force: true });
});

const question = 'Where is cartTotal defined?';

async function prepare(): Promise<{ tokens: number; reused: number; source: string | undefined; progress: number[] }> {
  await engine.request({ type: 'model/load', path: stories, maxContext: 2048, pageSize: 16 });
  await engine.request({ type: 'context/build', folders: [{ name: 'ask', path: ws }], reader: readerSettings, question: '', kvCacheDir });
  const progress: number[] = [];
  const r = await engine.request({ type: 'context/prefill' }, { onChunk: (c) => progress.push(c.tokensDone) });
  return { tokens: r.tokens, reused: r.reused, source: r.source, progress };
}

async function answer(decode: DecodeSettings, signal?: AbortSignal, onText?: (text: string) => void) {
  const chunks: Extract<FromEngine, { type: 'answer/didAppendToken' }>[] = [];
  const reply = await engine.request(
    { type: 'answer/generate', question, decode },
    {
      onChunk: (c) => {
        chunks.push(c);
        onText?.(c.text);
      },
      ...(signal ? { signal } : {}),
    },
  );
  return { reply, chunks };
}

async function killEngine(): Promise<void> {
  const pid = engine.pid;
  assert.ok(pid, 'an engine process is running');
  const before = exits.length;
  process.kill(pid, 'SIGKILL');
  const t0 = Date.now();
  while (exits.length === before) {
    if (Date.now() - t0 > 10_000) throw new Error('the engine process did not exit within 10 s of SIGKILL');
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('load, build, prefill, stream, cancel, reuse, restart from the persisted cache, survive a damaged cache', async () => {
  // Requests out of order are errors with codes, not crashes.
  await assert.rejects(engine.request({ type: 'context/prefill' }), (e: Error) => e instanceof EngineRequestError && e.code === 'no-model');
  await assert.rejects(
    engine.request({ type: 'model/load', path: join(kvCacheDir, 'nope.gguf'), maxContext: 2048, pageSize: 16 }),
    (e: Error) => e instanceof EngineRequestError && e.code === 'model-file' && /does not exist/.test(e.message),
  );

  // Load (with progress), and again: the same file and options keep the loaded model.
  const loadChunks: number[] = [];
  const loaded = await engine.request({ type: 'model/load', path: stories, maxContext: 2048, pageSize: 16 }, { onChunk: (c) => loadChunks.push(c.bytesDone) });
  assert.deepEqual([loaded.model.layers, loaded.model.kvHeads, loaded.model.maxContext, loaded.model.pageSize], [5, 4, 2048, 16]);
  assert.ok(loadChunks.length >= 1);
  const kept = await engine.request({ type: 'model/load', path: stories, maxContext: 2048, pageSize: 16 });
  assert.equal(kept.model.loadMs, loaded.model.loadMs, 'the loaded model was kept');

  const buildChunks: Extract<FromEngine, { type: 'context/didProgress' }>[] = [];
  const built = await engine.request(
    { type: 'context/build', folders: [{ name: 'ask', path: ws }], reader: readerSettings, question: '', kvCacheDir },
    { onChunk: (c) => buildChunks.push(c) },
  );
  assert.deepEqual(built.manifest.files.map((f) => f.relPath), ['README.md', 'lib/story.py', 'src/cart.ts', 'src/format.ts']);
  assert.deepEqual(built.skipped, []);
  // Throttled to about ten a second: the first chunk (the walk's first file) always goes; the steps come in order.
  assert.deepEqual(buildChunks[0], { type: 'context/didProgress', id: buildChunks[0]?.id, done: false, phase: 'walk', files: 1, total: 0, tokens: 0 });
  const order = buildChunks.map((c) => ['walk', 'read', 'tokenize'].indexOf(c.phase));
  assert.ok(order.every((o, i) => o >= (order[i - 1] ?? 0)), `reader steps out of order: ${buildChunks.map((c) => c.phase)}`);

  const progress: number[] = [];
  const prefill = await engine.request({ type: 'context/prefill' }, { onChunk: (c) => progress.push(c.tokensDone) });
  assert.deepEqual([prefill.tokens, prefill.reused, prefill.source], [built.manifest.totalTokens, 0, 'none']);
  assert.ok(progress.length >= 1 && progress.every((d, i) => d > (progress[i - 1] ?? 0) && d <= prefill.tokens), `progress ${progress}`);

  // An answer streams token by token; the final reply carries the same text, the trace and citations.
  const first = await answer(decodeSettings());
  assert.equal(first.chunks.length, 24);
  assert.equal(first.reply.reason, 'length');
  assert.equal(first.reply.answer, first.chunks.map((c) => c.text).join(''));
  assert.deepEqual(first.reply.trace.steps, first.chunks.map((c) => c.step));
  // The first token's query is the question's last token, after the context.
  assert.equal(first.chunks[0].step.position, first.reply.trace.contextTokens - 1);
  assert.ok(first.reply.trace.contextTokens > prefill.tokens);
  assert.ok(first.reply.citations.length > 0);
  for (const c of first.reply.citations) citedLines(ws, c.path, c.line, c.endLine);

  // Cancel mid-answer: the answer ends early with reason 'cancelled' and what streamed so far.
  const controller = new AbortController();
  const cancelled = await answer(decodeSettings({ maxAnswerTokens: 400 }), controller.signal, () => controller.abort());
  assert.equal(cancelled.reply.reason, 'cancelled');
  assert.ok(cancelled.chunks.length >= 1 && cancelled.chunks.length < 400, `${cancelled.chunks.length} tokens before the cancel took`);

  // The next question reuses the whole prefix and answers as the first time (the cancel left the cache intact).
  const again = await prepare();
  assert.deepEqual([again.reused, again.source, again.progress.length], [again.tokens, 'memory', 0]);
  const second = await answer(decodeSettings());
  assert.deepEqual(second.reply.trace.steps, first.reply.trace.steps);

  // Settings errors are request errors; the process goes on.
  await assert.rejects(answer(decodeSettings({ tokenBudget: 8 })), (e: Error) => e instanceof EngineRequestError && e.code === 'settings');

  // Killed: the next requests start a fresh process, which restores the context from disk instead of prefilling.
  const pid = engine.pid;
  await killEngine();
  const restored = await prepare();
  assert.notEqual(engine.pid, pid);
  assert.deepEqual([restored.reused, restored.source, restored.progress.length], [restored.tokens, 'disk', 0]);
  assert.deepEqual((await answer(decodeSettings())).reply.trace.steps, first.reply.trace.steps);

  // A damaged cache file: the fresh process logs why, prefills, answers the same, and writes a good file again.
  const files = readdirSync(kvCacheDir).filter((f) => f.endsWith('.qlkv'));
  assert.equal(files.length, 1, `one cache file: ${files}`);
  const file = join(kvCacheDir, files[0]);
  const bytes = readFileSync(file);
  bytes[Math.floor(bytes.length / 2)] ^= 0xff;
  writeFileSync(file, bytes);
  await killEngine();
  logs.length = 0;
  const damaged = await prepare();
  assert.deepEqual([damaged.reused, damaged.source], [0, 'none']);
  assert.ok(logs.some((l) => l.startsWith('warn') && l.includes(file) && /checksum/.test(l)), logs.join('\n'));
  assert.deepEqual((await answer(decodeSettings())).reply.trace.steps, first.reply.trace.steps);
  await killEngine();
  assert.equal((await prepare()).source, 'disk');

  // A prefill cancelled after its first run keeps that run; the next prefill goes on from there.
  await engine.request({ type: 'context/clear' });
  await engine.request({ type: 'context/build', folders: [{ name: 'ask', path: ws }], reader: readerSettings, question: '', kvCacheDir: null });
  const stop = new AbortController();
  let done = 0;
  await assert.rejects(
    engine.request({ type: 'context/prefill' }, { signal: stop.signal, onChunk: (c) => ((done ||= c.tokensDone), stop.abort()) }),
    (e: Error) => e instanceof EngineRequestError && e.code === 'cancelled',
  );
  const resumed = await engine.request({ type: 'context/prefill' });
  assert.ok(done > 0 && resumed.reused >= done && resumed.reused < resumed.tokens, `resumed with ${resumed.reused} of ${resumed.tokens} after ${done}`);
  assert.equal(exits.length, 3, 'only the three deliberate kills stopped the engine');
});
