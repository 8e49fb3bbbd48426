// The workspace session in-process on the real adapter with a real model (stories260K): how the workspace is
// tokenized, that the persisted KV cache restores exactly the pages it saved (and never a damaged or foreign file),
// that an edit costs only the tail, and that a cancelled prefill keeps what it did.
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { readBuffer } from '../../gpu/buffers';
import { type Gpu, openGpu } from '../../gpu/device';
import { readGguf } from '../../gpu/gguf/reader';
import { kvTypeBytes } from '../../gpu/kv/layout';
import { midTextTokenizer } from '../../gpu/session/contextTokenizer';
import { CancelledError } from '../../gpu/session/errors';
import { engineKvCache } from '../../gpu/session/kvStore';
import { type AnswerResult, type SessionOptions, WorkspaceSession } from '../../gpu/session/workspaceSession';
import { decodeSettings, fixedMtime, readerSettings, stories, workspaceCopy } from './askFixture';

let gpu: Gpu;
const cacheDir = mkdtempSync(join(tmpdir(), 'ql-kv-'));
const workspaces: string[] = [];
before(async () => {
  gpu = await openGpu();
});
after(() => {
  gpu?.dispose();
  rmSync(cacheDir, { recursive: true, force: true });
  for (const ws of workspaces) rmSync(dirname(ws), { recursive: true, force: true });
});

const question = 'Where is cartTotal defined?';

function workspace(): string {
  const ws = workspaceCopy();
  workspaces.push(ws);
  return ws;
}

async function session(ws: string, options: SessionOptions & { warnings?: string[] } = {}): Promise<WorkspaceSession> {
  const s = new WorkspaceSession(async () => gpu, {
    kvCacheDir: cacheDir,
    ...options,
    log: (level, m) => {
      if (level !== 'info') options.warnings?.push(m);
    },
  });
  await s.loadModel({ path: stories, maxContext: 2048, pageSize: 16 });
  await s.buildContext({ folders: [{ name: 'ask', path: ws }], reader: readerSettings, question: '' });
  return s;
}

/** The pages (logical order) of every layer's K, V and pageMeta holding the first `tokens` tokens. */
async function pageBytes(s: WorkspaceSession, tokens: number): Promise<Uint8Array[]> {
  const cache = engineKvCache(s.engine!);
  const l = cache.layout;
  const page = l.kvHeads * l.pageSize * l.headDim * kvTypeBytes(l.kvType);
  const meta = l.kvHeads * 2 * l.headDim * kvTypeBytes(l.kvType);
  const out: Uint8Array[] = [];
  const pages = Math.ceil(tokens / l.pageSize);
  for (let layer = 0; layer < l.layers; layer++) {
    for (let p = 0; p < pages; p++) {
      const phys = cache.pages.physical(p);
      out.push(new Uint8Array(await readBuffer(gpu, cache.k[layer], page, phys * page)));
      out.push(new Uint8Array(await readBuffer(gpu, cache.v[layer], page, phys * page)));
      out.push(new Uint8Array(await readBuffer(gpu, cache.pageMeta[layer], meta, phys * meta)));
    }
  }
  return out;
}

function sameAnswer(a: AnswerResult, b: AnswerResult, what: string): void {
  assert.deepEqual(b.trace.steps.map((s) => s.token), a.trace.steps.map((s) => s.token), `${what}: tokens`);
  assert.deepEqual(b.trace.steps.map((s) => s.pages), a.trace.steps.map((s) => s.pages), `${what}: selected pages`);
}

test('files are tokenized as whole-text tokenization would: one leading BOS, no dummy space before any file', async () => {
  const ws = workspace();
  const s = await session(ws, { kvCacheDir: null });
  const tokens = Array.from(s.contextTokens!);
  const manifest = s.manifest!;
  const midText = midTextTokenizer((await readGguf(stories)).metadata);
  assert.equal(tokens[0], s.engine!.tokenizer.bos);
  assert.equal(manifest.leadingTokens, 1);
  assert.deepEqual(manifest.files.map((f) => f.relPath), ['README.md', 'lib/story.py', 'src/cart.ts', 'src/format.ts']);
  const framed = manifest.files.map((f) => `// File: ${f.path}\n${readFileSync(join(ws, f.relPath), 'utf8')}`).join('');
  assert.equal(midText.decode(tokens.slice(1)), framed);
  // Per-file tokenization equals tokenizing the whole text at once (SentencePiece merges never cross the newline
  // between files in this vocabulary), and no file starts with the space a SentencePiece encoder prefixes by default.
  assert.deepEqual(tokens.slice(1), midText.encode(framed));
  for (const f of manifest.files) assert.notEqual(midText.tokenBytes(tokens[f.tokenStart])[0], 0x20, `${f.path} starts with a space`);
  s.dispose();
});

test('the persisted cache restores exactly the pages it saved, and the answer is the same token for token', async () => {
  const ws = workspace();
  const a = await session(ws);
  const pa = await a.prefill();
  assert.equal(pa.reused, 0);
  assert.equal(pa.source, 'none');
  const tokens = pa.tokens;
  assert.ok(tokens > 256 && tokens % 16 !== 0, `the fixture should span several prefill runs and end mid-page (${tokens} tokens)`);
  const saved = await pageBytes(a, tokens);
  const answerA = await a.answer({ question, decode: decodeSettings() });
  assert.equal(answerA.trace.steps.length, 24);
  // The answer left the context in the cache: a second question reuses all of it from memory.
  const again = await a.prefill();
  assert.deepEqual([again.reused, again.source], [tokens, 'memory']);
  a.dispose();

  const b = await session(ws);
  const pb = await b.prefill();
  assert.deepEqual([pb.tokens, pb.reused, pb.source], [tokens, tokens, 'disk']);
  const restored = await pageBytes(b, tokens);
  assert.equal(restored.length, saved.length);
  restored.forEach((bytes, i) => assert.ok(Buffer.from(bytes).equals(Buffer.from(saved[i])), `page block ${i} differs after restore`));
  sameAnswer(answerA, await b.answer({ question, decode: decodeSettings() }), 'restored');
  b.dispose();
});

test('a damaged, truncated or foreign cache file is never used: the session prefills instead', async () => {
  const ws = workspace();
  const ref = await session(ws);
  const p = await ref.prefill(); // writes the file
  const reference = await ref.answer({ question, decode: decodeSettings({ maxAnswerTokens: 8 }) });
  const file = ref.kvCacheFile!;
  const good = `${file}.good`;
  copyFileSync(file, good);
  const size = readFileSync(good).length;
  ref.dispose();

  const damage: [string, (b: Buffer) => Buffer][] = [
    ['a flipped header byte', (b) => flip(b, 20)],
    ['a flipped token byte', (b) => flip(b, 12 + b.readUInt32LE(8) + 32 + 8)],
    ['a flipped byte in an early layer', (b) => flip(b, Math.floor(size * 0.3))],
    ['a flipped byte in the last layer', (b) => flip(b, size - 40)],
    ['a truncated file', (b) => b.subarray(0, size - 1000)],
    ['bad magic', (b) => flip(b, 0)],
    ['garbage', () => Buffer.from('not a cache')],
  ];
  const warnings: string[] = [];
  const s = await session(ws, { warnings });
  for (const [what, corrupt] of damage) {
    writeFileSync(file, corrupt(readFileSync(good)));
    s.clear(); // so the prefill looks on disk
    await s.buildContext({ folders: [{ name: 'ask', path: ws }], reader: readerSettings, question: '' });
    warnings.length = 0;
    const r = await s.prefill();
    assert.deepEqual([r.reused, r.source], [0, 'none'], `${what}: nothing may be reused`);
    assert.ok(warnings.some((w) => w.includes(file)), `${what}: a warning names the file (${warnings.join(' | ')})`);
    sameAnswer(reference, await s.answer({ question, decode: decodeSettings({ maxAnswerTokens: 8 }) }), what);
    // The fallback prefill wrote a good file again.
    assert.equal(readFileSync(file).length, size, `${what}: the file was rewritten`);
  }
  s.dispose();

  // Another page size is another key: its own file, never this one.
  const other = new WorkspaceSession(async () => gpu, { kvCacheDir: cacheDir });
  await other.loadModel({ path: stories, maxContext: 2048, pageSize: 8 });
  await other.buildContext({ folders: [{ name: 'ask', path: ws }], reader: readerSettings, question: '' });
  const o = await other.prefill();
  assert.deepEqual([o.reused, o.source], [0, 'none']);
  other.dispose();
  assert.ok(p.tokens > 0);
  rmSync(good);
});

test('after an edit only the tokens after the first changed one are prefilled, from disk or from memory', async () => {
  const ws = workspace();
  const s = await session(ws, { kvCacheDir: null });
  await s.prefill(); // the original context in s's cache (s persists nothing)
  const w = await session(ws);
  await w.prefill(); // and on disk
  w.dispose();
  // Edit lib/story.py (second in path order): it gets the newest mtime and moves to the end of the context.
  const edited = join(ws, 'lib', 'story.py');
  writeFileSync(edited, readFileSync(edited, 'utf8').replace('the shop', 'the big shop'));
  utimesSync(edited, fixedMtime + 100, fixedMtime + 100);

  // A new session restores the unchanged prefix from disk (cut in the middle of a page) and prefills the rest.
  const d = await session(ws);
  const files = d.manifest!.files;
  assert.equal(files[files.length - 1].relPath, 'lib/story.py');
  const unchanged = files[1].tokenStart; // BOS + README.md: everything before story.py's old place
  const rd = await d.prefill();
  assert.equal(rd.source, 'disk');
  assert.ok(rd.reused >= unchanged && rd.reused < rd.tokens, `reused ${rd.reused} of ${rd.tokens}, at least ${unchanged}`);
  const diskPages = await pageBytes(d, rd.tokens);
  const fromDisk = await d.answer({ question, decode: decodeSettings() });
  d.dispose();

  // The session that still holds the original context reuses the same prefix from memory.
  await s.buildContext({ folders: [{ name: 'ask', path: ws }], reader: readerSettings, question: '' });
  const rs = await s.prefill();
  assert.deepEqual([rs.reused, rs.source], [rd.reused, 'memory']);
  const fromMemory = await s.answer({ question, decode: decodeSettings() });
  s.dispose();

  // Both give the answer of a prefill from scratch, token for token and page for page.
  const fresh = await session(ws, { kvCacheDir: null });
  assert.equal((await fresh.prefill()).reused, 0);
  // K, V and pageMeta as a prefill from scratch makes them: the page cut at the end of the restored prefix had its
  // pageMeta rebuilt from the keys it kept.
  const freshPages = await pageBytes(fresh, rd.tokens);
  freshPages.forEach((bytes, i) => assert.ok(Buffer.from(bytes).equals(Buffer.from(diskPages[i])), `page block ${i} (layer ${Math.floor(i / 3 / Math.ceil(rd.tokens / 16))}, ${['K', 'V', 'pageMeta'][i % 3]}) differs from a prefill from scratch`));
  const scratch = await fresh.answer({ question, decode: decodeSettings() });
  sameAnswer(scratch, fromDisk, 'after the edit, prefix from disk');
  sameAnswer(scratch, fromMemory, 'after the edit, prefix from memory');
  fresh.dispose();
});

test('a cancelled prefill keeps the runs it finished; the next prefill goes on from there', async () => {
  const ws = workspace();
  const s = await session(ws, { kvCacheDir: null });
  const controller = new AbortController();
  let first = 0;
  await assert.rejects(
    s.prefill({
      signal: controller.signal,
      onProgress: (p) => {
        first ||= p.tokensDone;
        controller.abort();
      },
    }),
    (e: Error) => e instanceof CancelledError && e.code === 'cancelled',
  );
  assert.ok(first > 0 && first < s.contextTokens!.length, `cancelled after ${first} tokens`);
  await assert.rejects(s.answer({ question, decode: decodeSettings() }), /needs the built context in the KV cache/);
  const r = await s.prefill();
  assert.deepEqual([r.reused, r.source], [first, 'memory']);
  const answer = await s.answer({ question, decode: decodeSettings({ mode: 'dense' }) });
  assert.equal(answer.trace.steps.length, 24);
  assert.ok(
    answer.trace.steps.every((st) => st.pages.length === 5 && st.pages.every((heads) => heads.length === 4 && heads.every((p) => p.length === 0))),
    'dense steps list no pages for each of the 5 layers × 4 KV heads',
  );
  // Dense decoding cites where its attention went, like Quest; the trace carries the attention per page.
  const attention = answer.citations.filter((c) => c.source === 'attention');
  assert.ok(attention.length > 0, 'dense decoding cites from attention');
  assert.equal(answer.trace.attention?.length, Math.floor(answer.trace.steps.at(-1)!.position / 16) + 1);
  // Only the context's keys count: the question and the answer, which draw much of the attention, add nothing to the
  // page the context shares with the question nor to the pages after it (they used to take the top citation).
  const contextPages = Math.ceil(s.contextTokens!.length / 16);
  assert.ok(s.contextTokens!.length % 16 !== 0, 'the fixture context ends inside a page');
  assert.deepEqual(answer.trace.attention!.slice(contextPages).filter((m) => m !== 0), [], 'pages after the context received nothing');
  s.dispose();
});

test('decode settings: a budget below one page, and a question that leaves no room, are clear errors', async () => {
  const ws = workspace();
  const s = await session(ws, { kvCacheDir: null });
  await s.prefill();
  await assert.rejects(s.answer({ question, decode: decodeSettings({ tokenBudget: 8 }) }), /tokenBudget \(8\) must be an integer of at least one page \(pageSize 16/);
  await assert.rejects(s.answer({ question, decode: decodeSettings({ maxAnswerTokens: 0 }) }), /maxAnswerTokens \(0\)/);
  await assert.rejects(s.answer({ question: 'why '.repeat(2000), decode: decodeSettings() }), (e: Error & { code?: string }) => e.code === 'kv-capacity');
  // The failed requests left the context as it was.
  const r = await s.prefill();
  assert.equal(r.reused, r.tokens);
  s.dispose();
});

function flip(b: Buffer, at: number): Buffer {
  const c = Buffer.from(b);
  c[at] ^= 0x5a;
  return c;
}
