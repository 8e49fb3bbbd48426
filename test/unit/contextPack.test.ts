import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { appendFileSync, cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { collectFiles } from '../../extension/context/collectFiles';
import { ContextError } from '../../extension/context/errors';
import { countLines, frameFile, mapFramedLines, type ContextTokenizer } from '../../extension/context/framing';
import type { ContextManifest, FileSpan } from '../../extension/context/manifest';
import { packContext, type PackedContext } from '../../extension/context/packContext';
import { ManifestIndex } from '../../extension/context/pageMap';
import { failingFs, fixtureWorkspace, manyFiles, slowFs, withTree } from './contextFixtures';
import { p50kTokenizer } from './contextTokenizer';

const BOS = 50256; // p50k's <|endoftext|>, standing in for a model's BOS
const utf8 = new TextEncoder();

function concatBytes(tokenizer: ContextTokenizer, ids: ArrayLike<number>): Uint8Array {
  const parts = Array.from(ids, (id) => tokenizer.tokenBytes(id));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Byte offset where each token starts, within the bytes of `ids`. */
function tokenStartBytes(tokenizer: ContextTokenizer, ids: ArrayLike<number>): number[] {
  const starts: number[] = [];
  let at = 0;
  for (let i = 0; i < ids.length; i++) {
    starts.push(at);
    at += tokenizer.tokenBytes(ids[i]).length;
  }
  return starts;
}

/** Byte offset where each framed line (0 = header) starts. */
function lineStartBytes(framed: Uint8Array): number[] {
  const starts = [0];
  framed.forEach((b, i) => {
    if (b === 0x0a && i + 1 < framed.length) starts.push(i + 1);
  });
  return starts;
}

async function packMini(extra: { pageSize?: number } = {}): Promise<{ dir: string; packed: PackedContext }> {
  const dir = fixtureWorkspace('mini');
  const { files, skipped } = await collectFiles({ folders: [{ name: 'mini', path: dir }], order: 'path' });
  const packed = await packContext({ files, skipped, tokenizer: p50kTokenizer, pageSize: extra.pageSize ?? 16, leadingTokens: [BOS] });
  return { dir, packed };
}

test('manifest: spans tile the context, each decodes to its framed file, sha256 matches the bytes', async () => {
  const { dir, packed } = await packMini();
  const { tokens, manifest } = packed;
  assert.deepEqual(
    manifest.files.map((f) => f.path),
    ['mini/README.md', 'mini/config.json', 'mini/empty.txt', 'mini/notes.txt', 'mini/py/fibonacci.py', 'mini/src/main.ts', 'mini/src/util/strings.ts'],
  );
  assert.equal(manifest.totalTokens, tokens.length);
  assert.equal(manifest.leadingTokens, 1);
  assert.equal(tokens[0], BOS);
  let at = 1;
  for (const span of manifest.files) {
    assert.equal(span.tokenStart, at, `${span.path} starts where the previous file ended`);
    at = span.tokenEnd;
    const bytes = readFileSync(join(dir, span.relPath));
    const text = new TextDecoder().decode(bytes);
    const framed = utf8.encode(frameFile(span.path, text));
    const ids = tokens.subarray(span.tokenStart, span.tokenEnd);
    assert.deepEqual(concatBytes(p50kTokenizer, ids), framed, `${span.path}: tokens spell the framed file`);
    assert.equal(p50kTokenizer.decode(ids.subarray(0, span.headerTokens)), `// File: ${span.path}\n`);
    assert.equal(span.sha256, createHash('sha256').update(bytes).digest('hex'));
    assert.equal(span.lineTokenStarts.length, countLines(text) + 1);
    assert.equal(span.lineTokenStarts[0], span.headerTokens);
    assert.equal(span.lineTokenStarts.at(-1), span.tokenEnd - span.tokenStart);
    assert.equal(span.invalidUtf8, undefined);
  }
  assert.equal(at, manifest.totalTokens);
  const notes = manifest.files.find((f) => f.relPath === 'notes.txt')!;
  assert.equal(notes.lineTokenStarts.length, 4, 'three lines, the last without a newline in the file');
  const empty = manifest.files.find((f) => f.relPath === 'empty.txt')!;
  assert.deepEqual(empty.lineTokenStarts, [empty.headerTokens], 'an empty file is its header only');
});

test('manifest: every line begins at the first token that starts on it, and such tokens decode to the line', async () => {
  const { dir, packed } = await packMini();
  let clean = 0;
  let lines = 0;
  for (const span of packed.manifest.files) {
    const text = readFileSync(join(dir, span.relPath), 'utf8');
    const framed = utf8.encode(frameFile(span.path, text));
    const ids = packed.tokens.subarray(span.tokenStart, span.tokenEnd);
    const tokenAt = tokenStartBytes(p50kTokenizer, ids);
    const lineAt = lineStartBytes(framed);
    const fileLines = text === '' ? [] : text.replace(/\n$/, '').split('\n');
    for (let n = 1; n <= span.lineTokenStarts.length - 1; n++) {
      lines++;
      const first = span.lineTokenStarts[n - 1];
      const end = span.lineTokenStarts[n];
      const lineStart = lineAt[n];
      const nextLineStart = lineAt[n + 1] ?? framed.length;
      // The rule: line n begins at the first token whose first byte is at or after the line's first byte.
      if (first < ids.length) assert.ok(tokenAt[first] >= lineStart, `${span.path}:${n} first token starts inside an earlier line`);
      if (first > 0) assert.ok(tokenAt[first - 1] < lineStart, `${span.path}:${n} the token before it starts on line ${n} too`);
      if (end > first) assert.ok(tokenAt[first] < nextLineStart, `${span.path}:${n} its first token starts after the line`);
      if (end > first && tokenAt[first] === lineStart) {
        // Decoding from the line's first token starts with the line; it ends with the line's newline unless the
        // last token straddles into the next line ("\n\n" before an empty line).
        const decoded = new TextDecoder().decode(concatBytes(p50kTokenizer, ids.subarray(first, end)));
        assert.ok(decoded.startsWith(`${fileLines[n - 1]}`), `${span.path}:${n} decodes to ${JSON.stringify(decoded)}`);
        if (decoded === `${fileLines[n - 1]}\n`) clean++;
      }
    }
  }
  assert.equal(lines, 6 + 6 + 0 + 3 + 20 + 21 + 11, 'lines in the mini fixture');
  assert.ok(clean >= 0.8 * lines, `only ${clean} of ${lines} lines decode to exactly their text`);
});

test('a token that straddles a newline belongs to the line it starts on; a line inside one token is empty', () => {
  // Characters, except that "\n" merges with the character after it.
  const units = (text: string) => text.match(/\n[\s\S]|[\s\S]/g) ?? [];
  const vocab: string[] = [];
  const fake: ContextTokenizer = {
    encode: (text) =>
      units(text).map((u) => {
        const i = vocab.indexOf(u);
        return i >= 0 ? i : vocab.push(u) - 1;
      }),
    tokenBytes: (id) => utf8.encode(vocab[id]),
  };
  // Tokens: [H][\na][b][\nc][d][\n\n][e][f][\n]; framed lines: 0 "H", 1 "ab", 2 "cd", 3 "", 4 "ef".
  const r = mapFramedLines(fake, 'x', Uint32Array.from(fake.encode('H\nab\ncd\n\nef\n')), 4);
  assert.equal(r.ids.length, 9);
  assert.equal(r.headerTokens, 2);
  assert.deepEqual(r.lineTokenStarts, [2, 4, 6, 6, 9]);
  // A tokenizer whose bytes lose a newline is caught.
  const lossy: ContextTokenizer = { encode: fake.encode, tokenBytes: (id) => utf8.encode(vocab[id].replace('\n', '')) };
  assert.throws(() => mapFramedLines(lossy, 'ws/x.ts', Uint32Array.from(lossy.encode('H\nab\n')), 1), /ws\/x\.ts: the tokens hold 0 newlines but the framed text has 2/);
});

for (const pageSize of [16, 7]) {
  test(`page mapping round-trips token ↔ file:line ↔ page (pageSize ${pageSize})`, async () => {
    const { packed } = await packMini({ pageSize });
    const index = new ManifestIndex(packed.manifest);
    const { files, totalTokens } = packed.manifest;
    assert.equal(index.pageCount, Math.ceil(totalTokens / pageSize));
    assert.equal(index.locate(0), undefined, 'the leading BOS belongs to no file');
    const seen = new Uint8Array(totalTokens);
    for (let page = 0; page < index.pageCount; page++) {
      for (const range of index.pageContents(page)) {
        assert.ok(range.tokenStart >= page * pageSize && range.tokenEnd <= (page + 1) * pageSize);
        for (let t = range.tokenStart; t < range.tokenEnd; t++) {
          seen[t]++;
          const where = index.locate(t)!;
          assert.equal(where.file, range.file);
          assert.ok(where.line >= range.firstLine && where.line <= range.lastLine, `token ${t} line ${where.line} in page ${page}`);
        }
      }
    }
    assert.deepEqual([...seen.subarray(1)].filter((n) => n !== 1), [], 'pages cover every file token exactly once');
    for (let t = 1; t < totalTokens; t++) {
      const where = index.locate(t)!;
      const line = index.lineTokens(where.file, where.line);
      assert.ok(line.tokenStart <= t && t < line.tokenEnd, `token ${t} is inside its line's tokens`);
      const pages = index.linePages(files[where.file].path, where.line);
      assert.ok(pages.firstPage <= index.pageOf(t) && index.pageOf(t) <= pages.lastPage);
    }
    const main = index.fileIndex('mini/src/main.ts');
    const line2 = index.lineTokens(main, 2); // `import { capitalize, repeatWord } from './util/strings';`
    assert.equal(p50kTokenizer.decode(packed.tokens.subarray(line2.tokenStart, line2.tokenEnd)), "import { capitalize, repeatWord } from './util/strings';\n");
    assert.throws(() => index.lineTokens(main, 99), /mini\/src\/main\.ts has lines 1\.\.21 \(0 = header\), asked for line 99/);
  });
}

test('content checks while packing: binary, minified, non-UTF-8 noted, UTF-16 decoded, unreadable (EACCES)', () =>
  withTree(
    {
      'image.dat2': new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x00, 0x01]),
      'bundle.js': `!function(){${'var a=1;'.repeat(600)}}();`,
      'latin1.c': new Uint8Array([...utf8.encode('/* caf'), 0xe9, ...utf8.encode(' */\nint x;\n')]),
      'wide.txt': new Uint8Array([0xff, 0xfe, 0x68, 0x00, 0x69, 0x00, 0x0a, 0x00]),
      'secret.ts': 'export const s = 1;\n',
      'ok.ts': 'export const ok = true;\n',
    },
    async (dir) => {
      const { files, skipped } = await collectFiles({ folders: [{ name: 'ws', path: dir }], order: 'path' });
      const fs = failingFs({ readFile: (p) => (p.endsWith('secret.ts') ? 'EACCES' : undefined) });
      const { manifest } = await packContext({ files, skipped, tokenizer: p50kTokenizer, pageSize: 16, fs });
      assert.deepEqual(manifest.files.map((f) => f.relPath), ['latin1.c', 'ok.ts', 'wide.txt']);
      assert.equal(manifest.files[0].invalidUtf8, 1);
      assert.deepEqual(
        manifest.skipped.map((s) => [s.path, s.reason, s.detail]),
        [
          ['ws/bundle.js', 'minified', 'mean line length 4816 > 300 characters'],
          ['ws/image.dat2', 'binary', 'NUL byte at offset 4'],
          ['ws/secret.ts', 'unreadable', 'cannot be read: EACCES'],
        ],
      );
    },
  ));

test('editing one file leaves the tokens of every other file, and everything before it, unchanged', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ql-context-edit-'));
  try {
    cpSync(fixtureWorkspace('mini'), dir, { recursive: true });
    const pack = async () => {
      const { files } = await collectFiles({ folders: [{ name: 'mini', path: dir }], order: 'path' });
      return packContext({ files, tokenizer: p50kTokenizer, pageSize: 16 });
    };
    const before = await pack();
    appendFileSync(join(dir, 'py/fibonacci.py'), '\n# an edit\n');
    const after = await pack();
    const slice = (p: PackedContext, f: FileSpan) => Array.from(p.tokens.subarray(f.tokenStart, f.tokenEnd));
    const edited = before.manifest.files.findIndex((f) => f.relPath === 'py/fibonacci.py');
    for (let i = 0; i < before.manifest.files.length; i++) {
      const a = before.manifest.files[i];
      const b = after.manifest.files[i];
      assert.equal(a.path, b.path);
      if (i === edited) {
        assert.notEqual(a.sha256, b.sha256);
        assert.equal(b.lineTokenStarts.length, a.lineTokenStarts.length + 2);
      } else {
        assert.deepEqual(slice(after, b), slice(before, a), `${a.path} tokens changed`);
        assert.equal(a.sha256, b.sha256);
      }
    }
    const prefix = before.manifest.files[edited].tokenStart;
    assert.deepEqual(Array.from(after.tokens.subarray(0, prefix)), Array.from(before.tokens.subarray(0, prefix)), 'the prefix before the edit is reusable');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Tokens a file takes when packed alone (header included). */
function framedTokens(path: string, text: string): number {
  return p50kTokenizer.encode(frameFile(path, text)).length;
}

const filler = (i: number) =>
  Array.from({ length: 12 }, (_, k) => `export function filler${i}_${k}(value: number): number {\n  return value * ${k + 1} + ${i};\n}\n`).join('');

const windowTree = () => {
  const spec: Record<string, unknown> = {
    src: {
      app: {
        'main.ts': "import { helper } from './helpers';\n\nexport function main(): number {\n  return helper(41);\n}\n",
        'helpers.ts': 'export function helper(x: number): number {\n  return x + 1;\n}\n',
        'sibling.ts': `// Same folder as the open file, but unrelated to the question.\n${filler(900)}`,
      },
    },
    lib: {
      config: { 'parseConfig.ts': 'export function parseConfig(text: string): Record<string, string> {\n  return Object.fromEntries(text.split("\\n").map((l) => l.split("=")));\n}\n' },
      other: { 'uses.ts': "import { parseConfig } from '../config/parseConfig';\n\nexport const settings = parseConfig('a=b');\n" },
    },
    filler: Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`f${i}.ts`, filler(i)])),
  };
  return spec as Parameters<typeof withTree>[0];
};

test('window fitting keeps the open file, its imports and the files the question names; reports the rest exactly', () =>
  withTree(windowTree(), async (dir) => {
    const { files } = await collectFiles({ folders: [{ name: 'ws', path: dir }], order: 'path' });
    const text = (rel: string) => readFileSync(join(dir, rel), 'utf8');
    const cost = (rel: string) => framedTokens(`ws/${rel}`, text(rel));
    const must = ['src/app/main.ts', 'src/app/helpers.ts', 'lib/config/parseConfig.ts', 'lib/other/uses.ts'];
    const question = 'Where is parseConfig defined?';
    const reserve = 100;
    const questionTokens = p50kTokenizer.encode(question).length;
    const room = must.reduce((n, rel) => n + cost(rel), 0) + 40; // no filler file (≈ 400 tokens) fits in the slack
    const maxContextTokens = 1 + reserve + questionTokens + room;
    const { manifest } = await packContext({
      files,
      tokenizer: p50kTokenizer,
      pageSize: 16,
      leadingTokens: [BOS],
      window: { maxContextTokens, reserveTokens: reserve, question, openFile: { folder: 0, relPath: 'src/app/main.ts' } },
    });
    const kept = manifest.files.map((f) => f.relPath);
    assert.deepEqual([...kept].sort(), [...must].sort());
    const contextOrder = files.map((f) => f.relPath).filter((p) => kept.includes(p));
    assert.deepEqual(kept, contextOrder, 'kept files stay in context order');
    assert.ok(manifest.totalTokens + reserve + questionTokens <= maxContextTokens);
    assert.equal(manifest.totalTokens, 1 + must.reduce((n, rel) => n + cost(rel), 0));
    // Every other file is reported once, as over-budget, with its token count (exact when counted).
    const over = manifest.skipped.filter((s) => s.reason === 'over-budget');
    assert.equal(manifest.skipped.length, over.length);
    assert.deepEqual(
      over.map((s) => s.path.slice(3)).sort(),
      files.map((f) => f.relPath).filter((p) => !kept.includes(p)).sort(),
    );
    for (const s of over) {
      const exact = cost(s.path.slice(3));
      if (s.tokensEstimated) assert.ok(s.tokens! > 0.5 * exact && s.tokens! < 2 * exact, `${s.path}: estimate ${s.tokens} vs ${exact}`);
      else assert.equal(s.tokens, exact, s.path);
      assert.match(s.detail!, /^needs ≈?\d+ tokens; \d+ of the \d+-token budget were left$/);
    }
  }));

test('window fitting: an open file larger than the whole budget is reported, not cut; a window with no room fails', () =>
  withTree({ 'big.ts': filler(1), 'small.ts': 'export const a = 1;\n' }, async (dir) => {
    const { files } = await collectFiles({ folders: [{ name: 'ws', path: dir }], order: 'path' });
    const bigTokens = framedTokens('ws/big.ts', readFileSync(join(dir, 'big.ts'), 'utf8'));
    const { manifest } = await packContext({
      files,
      tokenizer: p50kTokenizer,
      pageSize: 16,
      window: { maxContextTokens: 200, reserveTokens: 0, openFile: { folder: 0, relPath: 'big.ts' } },
    });
    assert.deepEqual(manifest.files.map((f) => f.relPath), ['small.ts']);
    assert.deepEqual(manifest.skipped, [
      { path: 'ws/big.ts', reason: 'over-budget', detail: `the open file alone needs ${bigTokens} tokens; 200 of the 200-token budget were left`, tokens: bigTokens, tokensEstimated: false },
    ]);
    await assert.rejects(
      packContext({ files, tokenizer: p50kTokenizer, pageSize: 16, leadingTokens: [BOS], window: { maxContextTokens: 100, reserveTokens: 99 } }),
      (e: unknown) => e instanceof ContextError && /maxContextTokens 100 - leading 1 - reserve 99 - question 0 = 0 tokens/.test(e.message),
    );
  }));

test('window fitting with room for everything packs exactly what packing without a window does', () =>
  withTree(windowTree(), async (dir) => {
    const { files } = await collectFiles({ folders: [{ name: 'ws', path: dir }], order: 'path' });
    const all = await packContext({ files, tokenizer: p50kTokenizer, pageSize: 16 });
    const fitted = await packContext({ files, tokenizer: p50kTokenizer, pageSize: 16, window: { maxContextTokens: 1_000_000, question: 'parseConfig' } });
    assert.deepEqual(Array.from(fitted.tokens), Array.from(all.tokens));
    assert.deepEqual(fitted.manifest, all.manifest satisfies ContextManifest);
  }));

for (const mode of ['all', 'window'] as const) {
  test(`aborting a pack (${mode}) rejects within 100 ms`, () =>
    withTree(manyFiles(400, 40), async (dir) => {
      const { files } = await collectFiles({ folders: [{ name: 'ws', path: dir }] });
      const controller = new AbortController();
      const fs = slowFs(3);
      const packing = packContext({
        files,
        tokenizer: p50kTokenizer,
        pageSize: 16,
        fs,
        signal: controller.signal,
        ...(mode === 'window' ? { window: { maxContextTokens: 4096 } } : {}),
      });
      await new Promise((r) => setTimeout(r, 60));
      const abortedAt = performance.now();
      controller.abort(new Error('user cancelled'));
      await assert.rejects(packing, /user cancelled/);
      const latency = performance.now() - abortedAt;
      assert.ok(latency < 100, `stopped ${latency.toFixed(1)} ms after the abort`);
      assert.ok(fs.calls < files.length, `the pack had not finished (${fs.calls} reads of ${files.length})`);
    }));
}

test('progress reports count every file of each phase', () =>
  withTree(manyFiles(30, 10), async (dir) => {
    const { files } = await collectFiles({ folders: [{ name: 'ws', path: dir }] });
    const seen: string[] = [];
    const onProgress = (p: { phase: string; done: number; total: number }) => seen.push(`${p.phase} ${p.done}/${p.total}`);
    await packContext({ files, tokenizer: p50kTokenizer, pageSize: 16, onProgress });
    assert.deepEqual(seen, Array.from({ length: 30 }, (_, i) => `tokenize ${i + 1}/30`));
    seen.length = 0;
    await packContext({ files, tokenizer: p50kTokenizer, pageSize: 16, onProgress, window: { maxContextTokens: 600, reserveTokens: 0 } });
    assert.deepEqual(seen, [...Array.from({ length: 30 }, (_, i) => `read ${i + 1}/30`), ...Array.from({ length: 30 }, (_, i) => `tokenize ${i + 1}/30`)]);
  }));

test('a bad page size is an options error', async () => {
  await assert.rejects(packContext({ files: [], tokenizer: p50kTokenizer, pageSize: 0 }), /pageSize must be a positive integer, got 0/);
});
