// The persisted KV cache: the packed context's K, V and pageMeta pages on disk, so that reopening the window, a new
// engine process or the CLI does not prefill the workspace again, and after an edit only the tokens after the first
// changed one are prefilled.
//
// One file per (workspace, key); the key is everything the pages depend on besides the tokens: the engine build, the
// model file (path, size, mtime), the KV element type and page size, and the cache's shape. The file also holds the
// context's tokens: what a new context can reuse is the longest common token prefix (the packer tokenizes each file
// on its own and orders rarely edited files first, so that prefix ends at the first changed file or later).
//
// File layout (little-endian):
//   "QLKV" | u32 formatVersion | u32 headerBytes | header JSON | h0 = sha256(header JSON)
//   tokens (u32 × header.tokens) | h1 = sha256(h0 ‖ tokens)
//   per layer l: K pages | V pages | pageMeta pages (header.pages logical pages each, in logical order) |
//                h(l+2) = sha256(h(l+1) ‖ the three)
// Each checksum covers the one before it, so a block is valid only in its own place of its own file: a layer moved,
// or taken from another file of the same shape, fails like a flipped bit.
// Writes go to a temporary file in the same folder, are flushed, then renamed over the old file, and the folder is
// flushed: a crash leaves the old file or the new one, never a mix; the temporary file a killed save leaves is
// removed by the next save. Reads check the size, every checksum and the key before using anything; a layer's pages
// are uploaded only after its checksum passed, and the cache adopts them only when every layer passed, so a damaged
// file costs a prefill, never a wrong answer. Memory: one layer's K (or V, or pageMeta) pages at a time.
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, open, readdir, rename, rm, type FileHandle } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, join } from 'node:path';
import type { ContextManifest } from '../../extension/context/manifest';
import { writeBuffer } from '../buffers';
import type { Gpu } from '../device';
import type { Engine } from '../engine';
import type { KvCache } from '../kv/kvCache';
import { kvTypeBytes, type KvLayout } from '../kv/layout';

const MAGIC = 0x564b4c51; // "QLKV" read as a little-endian u32
/** 2: chained checksums (1 checked each block on its own). */
const FORMAT_VERSION = 2;
const HASH_BYTES = 32;
const MAX_HEADER_BYTES = 16 << 20;

/** What the pages depend on besides the tokens; a file whose key differs in anything is not used. */
export interface KvStoreKey {
  /** sha256 of the running engine bundle: kernels or numerics may change between builds. */
  readonly engineBuild: string;
  readonly model: { readonly path: string; readonly size: number; readonly mtimeMs: number };
  readonly kvType: KvLayout['kvType'];
  readonly pageSize: number;
  readonly layers: number;
  readonly kvHeads: number;
  readonly headDim: number;
  /** Workspace folder paths, in order. */
  readonly workspace: readonly string[];
}

interface Header {
  readonly key: KvStoreKey;
  readonly tokens: number;
  readonly pages: number;
  /** Bytes of one page of one layer's K (= V): kvHeads × pageSize × headDim × element size. */
  readonly pageBytes: number;
  /** Bytes of one page of one layer's pageMeta: kvHeads × 2 × headDim × element size. */
  readonly metaPageBytes: number;
  /** For diagnostics: the files the prefix holds, with their content hashes. */
  readonly files: readonly { readonly path: string; readonly sha256: string; readonly tokenEnd: number }[];
}

/** A persisted prefix whose header and tokens checked out; its layers are read by restore(). */
export interface PersistedPrefix {
  readonly tokens: Uint32Array;
  restore(cache: KvCache, tokens: number): Promise<void>;
  close(): Promise<void>;
}

/** The engine's KV cache, whose pages the store reads and writes. */
export function engineKvCache(engine: Engine): KvCache {
  return engine.internals().cache;
}

let buildId: string | undefined;
/** sha256 of the file this code runs from (dist/cli.js, or a test bundle), computed once. */
export function engineBuildId(): string {
  if (buildId === undefined) {
    try {
      buildId = createHash('sha256').update(readFileSync(__filename)).digest('hex');
    } catch {
      buildId = 'unknown';
    }
  }
  return buildId;
}

/** The default folder: $QUEST_LENS_KV_CACHE, else <$QUEST_LENS_CACHE or ~/.cache/quest-lens>/kv. */
export function defaultKvCacheDir(env: NodeJS.ProcessEnv = process.env, home = homedir()): string {
  if (env.QUEST_LENS_KV_CACHE) return env.QUEST_LENS_KV_CACHE;
  return join(env.QUEST_LENS_CACHE || join(home, '.cache', 'quest-lens'), 'kv');
}

export class KvStore {
  /** The cache file of this workspace and key. */
  readonly file: string;

  constructor(
    readonly dir: string,
    readonly key: KvStoreKey,
    private readonly log: (message: string) => void = () => {},
  ) {
    const name = createHash('sha256').update(canonical(key)).digest('hex').slice(0, 32);
    this.file = join(dir, `${name}.qlkv`);
  }

  /**
   * Opens the file and checks its header, key and tokens. Undefined when there is no file or it does not check out
   * (the reason is logged). The caller must close() what it gets.
   */
  async open(layout: KvLayout): Promise<PersistedPrefix | undefined> {
    let fh: FileHandle;
    try {
      fh = await open(this.file, 'r');
    } catch (e) {
      if ((e as { code?: string }).code !== 'ENOENT') this.log(`persisted KV cache ${this.file}: cannot open (${(e as Error).message})`);
      return undefined;
    }
    try {
      const prefix = await this.check(fh, layout);
      if (!prefix) await fh.close();
      return prefix;
    } catch (e) {
      await fh.close();
      this.log(`persisted KV cache ${this.file}: unreadable (${(e as Error).message}); prefilling instead`);
      return undefined;
    }
  }

  private async check(fh: FileHandle, layout: KvLayout): Promise<PersistedPrefix | undefined> {
    const bad = (why: string) => {
      this.log(`persisted KV cache ${this.file}: ${why}; prefilling instead`);
      return undefined;
    };
    const size = (await fh.stat()).size;
    const fixed = await readExactly(fh, 0, 12);
    if (!fixed) return bad(`${size} bytes is too short for a header`);
    const dv = new DataView(fixed.buffer, fixed.byteOffset, 12);
    if (dv.getUint32(0, true) !== MAGIC) return bad('not a Quest Lens KV cache file (bad magic)');
    if (dv.getUint32(4, true) !== FORMAT_VERSION) return bad(`format version ${dv.getUint32(4, true)}, this engine reads ${FORMAT_VERSION}`);
    const headerBytes = dv.getUint32(8, true);
    if (headerBytes > MAX_HEADER_BYTES || 12 + headerBytes + HASH_BYTES > size) return bad(`header length ${headerBytes} does not fit the ${size}-byte file`);
    const headerAndHash = await readExactly(fh, 12, headerBytes + HASH_BYTES);
    if (!headerAndHash || !chainMatches(undefined, headerAndHash, headerBytes)) return bad('header checksum mismatch');
    const headerHash = headerAndHash.subarray(headerBytes);
    let header: Header;
    try {
      header = JSON.parse(Buffer.from(headerAndHash.subarray(0, headerBytes)).toString('utf8')) as Header;
    } catch {
      return bad('header is not JSON');
    }
    if (canonical(header.key) !== canonical(this.key)) return bad('made for another model, engine build or settings');
    const pageBytes = layout.kvHeads * layout.pageSize * layout.headDim * kvTypeBytes(layout.kvType);
    const metaPageBytes = layout.kvHeads * 2 * layout.headDim * kvTypeBytes(layout.kvType);
    const { tokens, pages } = header;
    if (!(Number.isInteger(tokens) && tokens >= 0 && pages === Math.ceil(tokens / layout.pageSize))) return bad(`${tokens} tokens in ${pages} pages`);
    if (header.pageBytes !== pageBytes || header.metaPageBytes !== metaPageBytes) return bad('page sizes differ from the cache layout');
    const tokensAt = 12 + headerBytes + HASH_BYTES;
    const layerBytes = pages * (2 * pageBytes + metaPageBytes);
    const expected = tokensAt + tokens * 4 + HASH_BYTES + layout.layers * (layerBytes + HASH_BYTES);
    if (size !== expected) return bad(`${size} bytes, the header implies ${expected}`);
    const tokenBlock = await readExactly(fh, tokensAt, tokens * 4 + HASH_BYTES);
    if (!tokenBlock || !chainMatches(headerHash, tokenBlock, tokens * 4)) return bad('token checksum mismatch');
    const tokenHash = tokenBlock.subarray(tokens * 4);
    const ids = new Uint32Array(tokens); // (tokens)
    new Uint8Array(ids.buffer).set(tokenBlock.subarray(0, tokens * 4));
    const layersAt = tokensAt + tokens * 4 + HASH_BYTES;
    const file = this.file;
    return {
      tokens: ids,
      close: () => fh.close(),
      // Uploads the pages that hold the first `keep` tokens into physical pages 0.. of an empty cache, layer by layer,
      // each only after its checksum passed; then the cache adopts them. Throws (adopting nothing) on a bad layer.
      restore: async (cache: KvCache, keep: number) => {
        const keepPages = Math.ceil(keep / layout.pageSize);
        if (!(keep >= 0 && keep <= tokens)) throw new Error(`restore of ${keep} tokens from a file of ${tokens}`);
        if (cache.length !== 0) throw new Error(`restore needs an empty cache, it holds ${cache.length} tokens`);
        let previous = tokenHash;
        for (let l = 0; l < layout.layers; l++) {
          const at = layersAt + l * (layerBytes + HASH_BYTES);
          const block = await readExactly(fh, at, layerBytes + HASH_BYTES);
          if (!block || !chainMatches(previous, block, layerBytes)) throw new Error(`${file}: layer ${l} checksum mismatch`);
          previous = block.subarray(layerBytes);
          // (pages, kvHeads, pageSize, headDim) K, then V; (pages, kvHeads, 2, headDim) pageMeta; logical page i →
          // physical page i.
          writeBuffer(cache.gpu, cache.k[l], 0, block.subarray(0, keepPages * pageBytes));
          writeBuffer(cache.gpu, cache.v[l], 0, block.subarray(pages * pageBytes, (pages + keepPages) * pageBytes));
          writeBuffer(cache.gpu, cache.pageMeta[l], 0, block.subarray(2 * pages * pageBytes, 2 * pages * pageBytes + keepPages * metaPageBytes));
        }
        // Adopt whole pages, then cut: a page cut in the middle gets its pageMeta rebuilt by the next run.
        const whole = Math.min(tokens, keepPages * layout.pageSize);
        cache.restore(Uint32Array.from({ length: keepPages }, (_, i) => i), whole);
        cache.truncate(keep);
      },
    };
  }

  /**
   * Writes the first `tokens.length` tokens' pages of `cache` (which must hold exactly those tokens first) to the
   * file, atomically. `manifest` only annotates the header.
   */
  async save(cache: KvCache, tokens: Uint32Array, manifest: ContextManifest | undefined): Promise<void> {
    const layout = cache.layout;
    if (cache.length < tokens.length) throw new Error(`save of ${tokens.length} tokens from a cache of ${cache.length}`);
    const pages = Math.ceil(tokens.length / layout.pageSize);
    const entries = cache.pages.snapshot().subarray(0, pages); // (pages) logical → physical
    const pageBytes = layout.kvHeads * layout.pageSize * layout.headDim * kvTypeBytes(layout.kvType);
    const metaPageBytes = layout.kvHeads * 2 * layout.headDim * kvTypeBytes(layout.kvType);
    const header: Header = {
      key: this.key,
      tokens: tokens.length,
      pages,
      pageBytes,
      metaPageBytes,
      files: (manifest?.files ?? []).filter((f) => f.tokenEnd <= tokens.length).map((f) => ({ path: f.path, sha256: f.sha256, tokenEnd: f.tokenEnd })),
    };
    const headerJson = Buffer.from(JSON.stringify(header), 'utf8');
    const fixed = Buffer.alloc(12);
    fixed.writeUInt32LE(MAGIC, 0);
    fixed.writeUInt32LE(FORMAT_VERSION, 4);
    fixed.writeUInt32LE(headerJson.length, 8);
    const tokenBytes = new Uint8Array(tokens.buffer, tokens.byteOffset, tokens.byteLength);

    await mkdir(this.dir, { recursive: true });
    await this.removeOrphans();
    const tmp = `${this.file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    const fh = await open(tmp, 'w');
    let done = false;
    try {
      let at = 0;
      const put = async (bytes: Uint8Array) => {
        await fh.write(bytes, 0, bytes.length, at);
        at += bytes.length;
      };
      let previous = sha256(headerJson);
      await put(fixed);
      await put(headerJson);
      await put(previous);
      previous = createHash('sha256').update(previous).update(tokenBytes).digest();
      await put(tokenBytes);
      await put(previous);
      for (let l = 0; l < layout.layers; l++) {
        const hash = createHash('sha256').update(previous);
        for (const [buffer, bytes] of [[cache.k[l], pageBytes], [cache.v[l], pageBytes], [cache.pageMeta[l], metaPageBytes]] as const) {
          const data = await gatherPages(cache.gpu, buffer, entries, bytes);
          hash.update(data);
          await put(data);
        }
        previous = hash.digest();
        await put(previous);
      }
      await fh.sync();
      await fh.close();
      await rename(tmp, this.file);
      done = true;
      await syncFolder(this.dir);
    } finally {
      if (!done) {
        await fh.close().catch(() => {});
        await rm(tmp, { force: true });
      }
    }
  }

  /** Deletes the file (context/clear). */
  async remove(): Promise<void> {
    await rm(this.file, { force: true });
  }

  /**
   * Removes the temporary files of saves of this file whose process is gone (killed mid-save: each can be as large
   * as the cache). A live process's temporary file is its save in progress and stays.
   */
  private async removeOrphans(): Promise<void> {
    const prefix = `${basename(this.file)}.`;
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return;
    }
    for (const name of names) {
      const m = name.startsWith(prefix) ? /^(\d+)\.[0-9a-f]+\.tmp$/.exec(name.slice(prefix.length)) : null;
      if (!m || processAlive(Number(m[1]))) continue;
      await rm(join(this.dir, name), { force: true });
      this.log(`persisted KV cache ${this.file}: removed ${name}, left by a save that did not finish`);
    }
  }
}

/** Whether a process with this id exists (signal 0 checks without signalling). */
function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as { code?: string }).code === 'EPERM'; // exists, owned by someone else
  }
}

/** Flushes a folder's entries (the rename) to disk; folders cannot be opened for this on Windows, where it is skipped. */
async function syncFolder(dir: string): Promise<void> {
  let fh: FileHandle | undefined;
  try {
    fh = await open(dir, 'r');
    await fh.sync();
  } catch {
    // Windows: EISDIR/EPERM; the rename itself is still atomic.
  } finally {
    await fh?.close();
  }
}

/**
 * Copies the pages `entries` (physical ids, in logical order) of a per-layer buffer whose page p is bytes
 * [p × pageBytes, (p + 1) × pageBytes) to the host, in logical order: one copy per run of consecutive pages.
 */
async function gatherPages(gpu: Gpu, buffer: GPUBuffer, entries: Uint32Array, pageBytes: number): Promise<Uint8Array> {
  const size = entries.length * pageBytes;
  if (size === 0) return new Uint8Array(0);
  const { GPUBufferUsage, GPUMapMode } = gpu.constants;
  // (entries.length, pageBytes) bytes: the pages in logical order. Made per call: saving is not on the decode path.
  const staging = gpu.device.createBuffer({ label: 'kvStore.staging', size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  try {
    const encoder = gpu.device.createCommandEncoder();
    for (let i = 0; i < entries.length; ) {
      let j = i + 1;
      while (j < entries.length && entries[j] === entries[j - 1] + 1) j++;
      encoder.copyBufferToBuffer(buffer, entries[i] * pageBytes, staging, i * pageBytes, (j - i) * pageBytes);
      i = j;
    }
    gpu.device.queue.submit([encoder.finish()]);
    await staging.mapAsync(GPUMapMode.READ);
    return new Uint8Array(staging.getMappedRange().slice(0));
  } finally {
    staging.destroy();
  }
}

async function readExactly(fh: FileHandle, position: number, length: number): Promise<Uint8Array | undefined> {
  const out = new Uint8Array(length);
  let got = 0;
  while (got < length) {
    const { bytesRead } = await fh.read(out, got, length - got, position + got);
    if (bytesRead === 0) return undefined;
    got += bytesRead;
  }
  return out;
}

function sha256(bytes: Uint8Array): Uint8Array {
  return createHash('sha256').update(bytes).digest();
}

/** True when the `dataBytes` bytes of `block` are followed by sha256(previous ‖ those bytes). */
function chainMatches(previous: Uint8Array | undefined, block: Uint8Array, dataBytes: number): boolean {
  const want = block.subarray(dataBytes, dataBytes + HASH_BYTES);
  const hash = createHash('sha256');
  if (previous) hash.update(previous);
  const got = hash.update(block.subarray(0, dataBytes)).digest();
  return got.equals(want);
}

/** JSON with object keys sorted: the same key always gives the same string. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1))) : v,
  );
}
