// The persisted KV cache under damage and crashes, on the real adapter: a saved file restores exactly the pages it
// saved; every single-byte flip in its header, checksums and a sample of its tokens and pages, every truncation and
// extension, a layer moved, a block from another file of the same shape, or zeros of the right size, is refused (by
// open, or by restore, which then adopts nothing); a save killed at random moments leaves the previous file or the
// new one, whole, never a mix, and the next save removes the temporary file the killed one left.
import assert from 'node:assert/strict';
import { fork, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { readBuffer, writeBuffer } from '../../gpu/buffers';
import { type Gpu, openGpu } from '../../gpu/device';
import { KvCache } from '../../gpu/kv/kvCache';
import { type KvLayout, kvLayout, kvTypeBytes } from '../../gpu/kv/layout';
import { KvStore, type KvStoreKey } from '../../gpu/session/kvStore';
import { rng } from '../util/random';

const WORKER_ENV = 'QUEST_LENS_KV_SAVE_WORKER';

const key = (layout: KvLayout): KvStoreKey => ({
  engineBuild: 'test-build',
  model: { path: '/models/test.gguf', size: 1234, mtimeMs: 5678 },
  kvType: layout.kvType,
  pageSize: layout.pageSize,
  layers: layout.layers,
  kvHeads: layout.kvHeads,
  headDim: layout.headDim,
  workspace: ['/ws'],
});

/** A cache holding `tokens` tokens whose K, V and pageMeta buffers are filled with seeded bytes. */
function filledCache(gpu: Gpu, layout: KvLayout, tokens: number, seed: number): KvCache {
  const cache = KvCache.create(gpu, layout);
  cache.beginRun(tokens);
  const next = rng(seed);
  for (const b of [...cache.k, ...cache.v, ...cache.pageMeta]) {
    const words = new Uint32Array(b.size / 4); // (buffer bytes / 4) seeded words
    const s = Math.floor(next() * 2 ** 32);
    for (let i = 0; i < words.length; i++) words[i] = Math.imul(s ^ i, 2654435761) >>> 0;
    writeBuffer(gpu, b, 0, words);
  }
  return cache;
}

/** Every layer's K, V and pageMeta pages holding the first `tokens` tokens, in logical page order. */
async function logicalPages(gpu: Gpu, cache: KvCache, tokens: number): Promise<Buffer> {
  const l = cache.layout;
  const page = l.kvHeads * l.pageSize * l.headDim * kvTypeBytes(l.kvType);
  const meta = l.kvHeads * 2 * l.headDim * kvTypeBytes(l.kvType);
  const parts: Buffer[] = [];
  for (let layer = 0; layer < l.layers; layer++) {
    const [k, v, m] = await Promise.all([readBuffer(gpu, cache.k[layer]), readBuffer(gpu, cache.v[layer]), readBuffer(gpu, cache.pageMeta[layer])]);
    for (let p = 0; p < Math.ceil(tokens / l.pageSize); p++) {
      const phys = cache.pages.physical(p);
      parts.push(Buffer.from(k, phys * page, page), Buffer.from(v, phys * page, page), Buffer.from(m, phys * meta, meta));
    }
  }
  return Buffer.concat(parts);
}

/** Opens and restores `store`'s file into a fresh cache: the tokens and pages, or why it was refused. */
async function tryRestore(gpu: Gpu, store: KvStore, layout: KvLayout): Promise<{ tokens: Uint32Array; pages: Buffer } | { refused: string }> {
  const warnings: string[] = [];
  const s = new KvStore(store.dir, store.key, (m) => warnings.push(m));
  const prefix = await s.open(layout);
  if (!prefix) return { refused: `open: ${warnings.join(' | ')}` };
  const cache = KvCache.create(gpu, layout);
  try {
    try {
      await prefix.restore(cache, prefix.tokens.length);
    } catch (e) {
      assert.equal(cache.length, 0, 'a refused restore adopts nothing');
      return { refused: `restore: ${(e as Error).message}` };
    }
    return { tokens: prefix.tokens, pages: await logicalPages(gpu, cache, prefix.tokens.length) };
  } finally {
    await prefix.close();
    cache.dispose();
  }
}

/** The kill test's worker: saves ever newer contents (tokens all equal to the version) until it is killed. */
async function saveWorker(dir: string, first: number): Promise<void> {
  const gpu = await openGpu();
  const layout = bigLayout();
  const tokens = 2000;
  const cache = filledCache(gpu, layout, tokens, 1);
  const store = new KvStore(dir, key(layout));
  for (let version = first; ; version++) {
    // New contents for this version: the first word of every page buffer and the tokens carry it.
    for (const b of [...cache.k, ...cache.v, ...cache.pageMeta]) writeBuffer(gpu, b, 0, Uint32Array.of(version));
    process.send!({ saving: version });
    await store.save(cache, new Uint32Array(tokens).fill(version), undefined);
    process.send!({ saved: version });
  }
}

/** About 66 MB per save: long enough on this disk to be killed in the middle of. */
function bigLayout(): KvLayout {
  return kvLayout({ layers: 8, kvHeads: 8, headDim: 64, maxTokens: 2048, pageSize: 16, kvType: 'f32' });
}

if (process.env[WORKER_ENV]) {
  const [dir, first] = process.env[WORKER_ENV].split('\n');
  saveWorker(dir, Number(first)).catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
} else {
  let gpu: Gpu;
  const tmp = mkdtempSync(join(tmpdir(), 'ql-kv-faults-'));
  before(async () => {
    gpu = await openGpu({
      onUncapturedError: (m) => {
        throw new Error(`uncaptured GPU error: ${m}`);
      },
    });
  });
  after(() => {
    gpu?.dispose();
    rmSync(tmp, { recursive: true, force: true });
  });

  test('a saved cache restores exactly; every flip, cut, extension, moved or foreign block is refused', async () => {
    // Awkward shape: 3 layers, 2 KV heads of 8, pages of 4, 37 tokens (a partial last page).
    const layout = kvLayout({ layers: 3, kvHeads: 2, headDim: 8, maxTokens: 64, pageSize: 4, kvType: 'f32' });
    const tokens = 37;
    const dir = join(tmp, 'damage');
    const store = new KvStore(dir, key(layout));
    const cache = filledCache(gpu, layout, tokens, 7);
    const ids = Uint32Array.from({ length: tokens }, (_, i) => 1000 + i);
    await store.save(cache, ids, undefined);
    const expected = await logicalPages(gpu, cache, tokens);
    const good = readFileSync(store.file);
    const intact = await tryRestore(gpu, store, layout);
    assert.ok('pages' in intact, `the saved file restores: ${'refused' in intact ? intact.refused : ''}`);
    assert.deepEqual(Array.from(intact.tokens), Array.from(ids));
    assert.ok(intact.pages.equals(expected), 'restored pages equal the saved ones');

    // Where the blocks are (see kvStore.ts): fixed 12 B, header JSON, hash, tokens, hash, then per layer data + hash.
    const headerBytes = good.readUInt32LE(8);
    const tokensAt = 12 + headerBytes + 32;
    const layersAt = tokensAt + tokens * 4 + 32;
    const layerBytes = (good.length - layersAt) / layout.layers - 32;
    const damaged: [string, Buffer][] = [];
    const flip = (at: number) => {
      const b = Buffer.from(good);
      b[at] ^= 0x01 << (at % 8);
      return b;
    };
    // Every byte before the tokens (magic, version, header, its hash), every checksum byte, a sample of the rest.
    const next = rng(3);
    const positions = new Set<number>();
    for (let i = 0; i < tokensAt; i++) positions.add(i);
    for (let l = 0; l <= layout.layers; l++) for (let i = 0; i < 32; i++) positions.add(layersAt + l * (layerBytes + 32) - 32 + i);
    for (let i = 0; i < 400; i++) positions.add(tokensAt + Math.floor(next() * (good.length - tokensAt)));
    for (const at of positions) damaged.push([`flip @${at}`, flip(at)]);
    const cuts = new Set([0, 1, 11, 12, 13, tokensAt, layersAt, layersAt + 1, good.length - 33, good.length - 32, good.length - 1]);
    for (let i = 0; i < 40; i++) cuts.add(Math.floor(next() * good.length));
    for (const n of cuts) damaged.push([`cut to ${n}`, good.subarray(0, n)]);
    damaged.push(['one byte more', Buffer.concat([good, Buffer.from([0])])], ['a block more', Buffer.concat([good, good.subarray(layersAt)])]);
    damaged.push(['zeros', Buffer.alloc(good.length)]);
    // Layers 0 and 1 swapped, each with its own (once valid) checksum.
    const block = (l: number) => good.subarray(layersAt + l * (layerBytes + 32), layersAt + (l + 1) * (layerBytes + 32));
    damaged.push(['layers 0 and 1 swapped', Buffer.concat([good.subarray(0, layersAt), block(1), block(0), block(2)])]);
    // Layer 2 from another save of the same shape and tokens (other contents).
    const otherDir = join(tmp, 'other');
    const other = new KvStore(otherDir, key(layout));
    const otherCache = filledCache(gpu, layout, tokens, 8);
    await other.save(otherCache, ids.map((t) => t + 1000), undefined);
    otherCache.dispose();
    const foreign = readFileSync(other.file);
    damaged.push(['layer 2 from another file', Buffer.concat([good.subarray(0, good.length - layerBytes - 32), foreign.subarray(foreign.length - layerBytes - 32)])]);
    damaged.push(['the tokens from another file', Buffer.concat([good.subarray(0, tokensAt), foreign.subarray(tokensAt, layersAt), good.subarray(layersAt)])]);
    assert.ok(!foreign.equals(good));

    const by = { open: 0, restore: 0 };
    for (const [what, bytes] of damaged) {
      writeFileSync(store.file, bytes);
      const r = await tryRestore(gpu, store, layout);
      assert.ok('refused' in r, `${what}: the damaged file was used`);
      by[r.refused.startsWith('open') ? 'open' : 'restore']++;
    }
    console.log(`# ${damaged.length} damaged files refused (${by.open} by open, ${by.restore} by restore, nothing adopted)`);
    cache.dispose();
    // The good file still restores (the loop rewrote it each time).
    writeFileSync(store.file, good);
    assert.ok('pages' in (await tryRestore(gpu, store, layout)));
  });

  test('a save killed at random moments leaves the old file or the new one, whole; the next save removes its leftovers', async () => {
    const dir = join(tmp, 'kill');
    const layout = bigLayout();
    const store = new KvStore(dir, key(layout));
    const next = rng(11);
    const seen = new Map<string, number>();
    let onDisk = 0; // the version the file held after the last round (0: no file)
    const ROUNDS = 5;
    for (let round = 0; round < ROUNDS; round++) {
      // Each round's worker saves versions 100·(round + 1), 100·(round + 1) + 1, …
      const first = 100 * (round + 1);
      const child = fork(__filename, [], { env: { ...process.env, [WORKER_ENV]: `${dir}\n${first}` }, execArgv: [], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
      let saved = 0;
      let saving = 0;
      let saveMs = 300;
      let t0 = 0;
      const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
      // Kill after a random part of the first or second save (measured saves set the range).
      const killAfter = first + Math.floor(next() * 2);
      await new Promise<void>((resolve, reject) => {
        const watchdog = setTimeout(() => reject(new Error('the save worker made no progress in 60 s')), 60_000);
        child.on('message', (m: { saving?: number; saved?: number }) => {
          if (m.saving !== undefined) {
            saving = m.saving;
            t0 = performance.now();
            if (saving === killAfter) {
              setTimeout(() => {
                child.kill('SIGKILL');
                clearTimeout(watchdog);
                resolve();
              }, next() * saveMs * 1.2);
            }
          }
          if (m.saved !== undefined) {
            saved = m.saved;
            saveMs = performance.now() - t0;
          }
        });
        child.on('exit', (code, signal) => {
          if (signal !== 'SIGKILL') reject(new Error(`the save worker exited (${code}) before it was killed`));
        });
      });
      await exited;
      // Whatever the kill interrupted, the file is a whole save: the last one finished (this round's, or the previous
      // round's), or the one that was running if the kill came after its rename.
      const r = await tryRestore(gpu, store, layout);
      const leftovers = readdirSync(dir).filter((f) => f.endsWith('.tmp'));
      const before = saved || onDisk;
      if ('refused' in r) {
        assert.ok(before === 0 && !existsSync(store.file), `round ${round}: the file is damaged: ${r.refused}`);
        seen.set('no file yet', (seen.get('no file yet') ?? 0) + 1);
      } else {
        const version = r.tokens[0];
        assert.ok(r.tokens.every((t) => t === version), `round ${round}: tokens of several saves`);
        assert.ok(version === before || version === saving, `round ${round}: version ${version}; before the kill ${before}, saving ${saving}`);
        assert.equal(r.pages.readUInt32LE(0), version, `round ${round}: pages of another save than the tokens`);
        const outcome = version === before ? 'the previous save' : 'the interrupted save, renamed';
        seen.set(outcome, (seen.get(outcome) ?? 0) + 1);
        onDisk = version;
      }
      seen.set('temporary files left', (seen.get('temporary files left') ?? 0) + leftovers.length);
    }
    console.log(`# ${ROUNDS} killed saves: ${[...seen].map(([k, n]) => `${k} ${n}`).join(', ')}`);
    // A save removes what killed saves left, and keeps a live process's temporary file.
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
    const orphan = `${store.file}.${dead}.0badc0de.tmp`;
    const live = `${store.file}.${process.pid}.0c0ffee0.tmp`;
    writeFileSync(orphan, 'left by a killed save');
    writeFileSync(live, 'a save in progress');
    const logs: string[] = [];
    const cache = filledCache(gpu, layout, 5, 1);
    await new KvStore(dir, key(layout), (m) => logs.push(m)).save(cache, Uint32Array.of(1, 2, 3, 4, 5), undefined);
    cache.dispose();
    const left = readdirSync(dir).filter((f) => f.endsWith('.tmp'));
    assert.deepEqual(left, [live.slice(dir.length + 1)], `temporary files after a save: ${left}`);
    assert.ok(logs.some((m) => m.includes('did not finish')), logs.join('\n'));
  });
}
