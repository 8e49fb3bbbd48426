// Workspace fuzzing: the reader (collectFiles) and the packer (packContext, whole and fitted to a window) over seeded
// random hostile trees (workspaceTrees.ts), half of them changing under the reader while it walks and reads. Neither
// may throw or hang; nothing may be lost: every entry that existed and was not changed is in the context or in the
// skipped list (itself or a folder above it), exactly once, and every skip says why; every file in the context that
// was not changed holds exactly its bytes (sha256) and decodes to its framed text. Also: a file that turns into a
// named pipe or grows past the cap after the walk is skipped without being waited on or read whole.
//   QUEST_LENS_FUZZ_TREES=200 node scripts/test.mjs test/reliability/workspaceFuzz.test.ts   more trees (default 24)
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { appendFileSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { collectFiles } from '../../extension/context/collectFiles';
import { frameFile } from '../../extension/context/framing';
import type { SkippedFile } from '../../extension/context/manifest';
import { packContext } from '../../extension/context/packContext';
import { nodeReaderFs, type ReaderFs } from '../../extension/context/readerFs';
import { classifySource } from '../../extension/context/readSource';
import { p50kTokenizer } from '../unit/contextTokenizer';
import { chaosFs, listLeaves, makeRandomTree } from './workspaceTrees';

const TREES = Number(process.env.QUEST_LENS_FUZZ_TREES ?? 24);
const CAP = 64 * 1024;
/** A load that takes longer is a hang (a tree here is a few hundred entries). */
const LOAD_MS = 30_000;
const REASONS: ReadonlySet<SkippedFile['reason']> = new Set(['binary', 'too-large', 'minified', 'lock-file', 'unreadable', 'excluded', 'over-budget', 'symlink-loop']);

const tmp = mkdtempSync(join(tmpdir(), 'ql-ws-fuzz-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const outside = join(tmp, 'outside.ts');
writeFileSync(outside, 'export const secret = "outside the workspace";\n');

function within<T>(ms: number, what: string, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms (hang)`)), ms)));
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

async function load(root: string, fs: ReaderFs, windowTokens: number | undefined) {
  const folders = [{ name: 'ws', path: root }];
  const collected = await collectFiles({ folders, fs, maxFileBytes: CAP });
  return packContext({
    files: collected.files,
    skipped: collected.skipped,
    tokenizer: p50kTokenizer,
    pageSize: 16,
    leadingTokens: [50256],
    maxFileBytes: CAP,
    fs,
    ...(windowTokens ? { window: { maxContextTokens: windowTokens, question: 'Where is total3 computed?' } } : {}),
  });
}

test(`${TREES} random hostile trees, half changing while read: no crash, no hang, nothing lost, kept files intact`, async () => {
  const stats = { entries: 0, kept: 0, skipped: new Map<string, number>(), mutations: 0 };
  const t0 = performance.now();
  for (let seed = 1; seed <= TREES; seed++) {
    const root = join(tmp, `tree${seed}`);
    makeRandomTree(root, seed, 120 + (seed % 5) * 40, CAP, outside);
    const leaves = listLeaves(root);
    // What each regular file held before the load.
    const original = new Map<string, Buffer>();
    for (const rel of leaves) if (lstatSync(join(root, rel)).isFile()) original.set(rel, readFileSync(join(root, rel)));
    const chaos = seed % 2 === 0 ? chaosFs(root, seed, 0.04, CAP) : undefined;
    const windowTokens = seed % 3 === 0 ? 6000 : undefined;
    const what = `tree ${seed} (${leaves.length} entries${chaos ? ', changing' : ''}${windowTokens ? `, window ${windowTokens}` : ''})`;
    const { tokens, manifest } = await within(LOAD_MS, what, load(root, chaos ?? nodeReaderFs, windowTokens));

    const touched = [...(chaos?.touched ?? [])];
    const unchanged = (rel: string) => !touched.some((t) => join(root, rel) === t || join(root, rel).startsWith(`${t}/`));
    const keptPaths = manifest.files.map((f) => f.path);
    assert.equal(new Set(keptPaths).size, keptPaths.length, `${what}: a file is in the context twice`);
    const skippedPaths = manifest.skipped.map((s) => s.path);
    assert.equal(new Set(skippedPaths).size, skippedPaths.length, `${what}: an entry is skipped twice: ${skippedPaths.filter((p, i) => skippedPaths.indexOf(p) !== i)}`);
    for (const s of manifest.skipped) {
      assert.ok(REASONS.has(s.reason) && typeof s.detail === 'string' && s.detail.length > 0, `${what}: skip without a reason: ${JSON.stringify(s)}`);
      assert.ok(!keptPaths.includes(s.path), `${what}: ${s.path} is both in the context and skipped (${s.reason}: ${s.detail})`);
    }
    const skippedFolders = skippedPaths.filter((p) => p.endsWith('/'));
    // Nothing lost: every entry nothing changed is kept or skipped, itself or under a skipped folder.
    for (const rel of leaves) {
      if (!unchanged(rel)) continue;
      const p = `ws/${rel}`;
      // (A link to a folder is reported as a folder: with a trailing slash.)
      const accounted = keptPaths.includes(p) || skippedPaths.includes(p) || skippedFolders.some((f) => p.startsWith(f) || `${p}/` === f);
      assert.ok(accounted, `${what}: ${p} is neither in the context nor reported as skipped${chaos ? `\nchanges:\n${chaos.log.join('\n')}` : ''}`);
    }
    // Kept files that nothing changed hold exactly their bytes and decode to their framed text.
    for (const f of manifest.files) {
      const bytes = original.get(f.relPath);
      if (!bytes || !unchanged(f.relPath) || lstatSync(join(root, f.relPath)).isSymbolicLink()) continue;
      assert.equal(f.sha256, createHash('sha256').update(bytes).digest('hex'), `${what}: ${f.path} sha256`);
      const source = classifySource(bytes, CAP);
      assert.equal(source.kind, 'text', `${what}: ${f.path} was kept but is ${source.kind === 'skipped' ? source.reason : ''}`);
      if (source.kind !== 'text') continue;
      // Compared as bytes: a token-by-token text decode would drop a U+FEFF that starts a decoded piece.
      const got = Buffer.concat(Array.from(tokens.subarray(f.tokenStart, f.tokenEnd), (id) => p50kTokenizer.tokenBytes(id)));
      assert.ok(got.equals(Buffer.from(frameFile(f.path, source.text), 'utf8')), `${what}: ${f.path}: its tokens are not its framed text`);
    }
    stats.entries += leaves.length;
    stats.kept += manifest.files.length;
    stats.mutations += chaos?.log.length ?? 0;
    for (const s of manifest.skipped) stats.skipped.set(s.reason, (stats.skipped.get(s.reason) ?? 0) + 1);
    rmSync(root, { recursive: true, force: true });
  }
  console.log(
    `# ${TREES} trees, ${stats.entries} entries, ${stats.mutations} changes during loads, in ${((performance.now() - t0) / 1000).toFixed(1)} s: ` +
      `${stats.kept} kept; skipped ${[...stats.skipped].map(([r, n]) => `${r} ${n}`).join(', ')}`,
  );
  // The trees reach every kind of skip.
  for (const reason of ['binary', 'too-large', 'minified', 'lock-file', 'unreadable', 'excluded', 'symlink-loop'] as const) {
    assert.ok((stats.skipped.get(reason) ?? 0) > 0, `no tree produced a '${reason}' skip`);
  }
});

test('a file that becomes a named pipe or grows past the cap after the walk is skipped, not waited on or read whole', async () => {
  const root = join(tmp, 'swap');
  mkdirSync(root);
  writeFileSync(join(root, 'a.ts'), 'export const a = 1;\n');
  writeFileSync(join(root, 'b.ts'), 'export const b = 2;\n');
  writeFileSync(join(root, 'c.ts'), 'export const c = 3;\n');
  const collected = await collectFiles({ folders: [{ name: 'ws', path: root }], maxFileBytes: CAP });
  // Between the walk and the read: a.ts becomes a pipe nobody writes to, b.ts grows to 64 MiB, c.ts vanishes.
  rmSync(join(root, 'a.ts'));
  execFileSync('mkfifo', [join(root, 'a.ts')]);
  appendFileSync(join(root, 'b.ts'), Buffer.alloc(64 << 20));
  rmSync(join(root, 'c.ts'));
  const reads: number[] = [];
  const measuring: ReaderFs = { ...nodeReaderFs, readFile: async (p, max) => { const b = await nodeReaderFs.readFile(p, max); reads.push(b.length); return b; } };
  const packed = await within(5000, 'the pack', packContext({ files: collected.files, skipped: collected.skipped, tokenizer: p50kTokenizer, pageSize: 16, maxFileBytes: CAP, fs: measuring }));
  const skip = (name: string) => packed.manifest.skipped.find((s) => s.path === `ws/${name}`);
  assert.deepEqual(skip('a.ts'), { path: 'ws/a.ts', reason: 'unreadable', detail: 'not a regular file when read (a named pipe)' });
  assert.deepEqual(skip('b.ts'), { path: 'ws/b.ts', reason: 'too-large', detail: `${20 + (64 << 20)} bytes > the ${CAP}-byte cap (grew after the walk)` });
  assert.deepEqual(skip('c.ts'), { path: 'ws/c.ts', reason: 'unreadable', detail: 'cannot be read: ENOENT' });
  assert.ok(reads.every((n) => n <= CAP), `no read returned more than the cap: ${reads}`);
});
