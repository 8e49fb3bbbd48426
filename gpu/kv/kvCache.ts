// The paged KV cache on the GPU: per-layer K, V and pageMeta buffers, the page table, and the `step` uniform every
// KV kernel reads. All GPU objects are made in create(); a run (prefill) or decodeStep only rewrites the step uniform
// and the page-table entries it newly maps.
import { createStorage, writeBuffer } from '../buffers';
import type { Gpu } from '../device';
import { checkShape } from '../errors';
import { type KvLayout, type KvMemory, kvLayerBytes, kvMemory, pageMetaLayerBytes } from './layout';
import { PagePool } from './pagePool';
import { PageTable } from './pageTable';

/** The run the step uniform describes: tokens pos0 .. pos0+tokens-1 are appended (and, in decode, attended from). */
export interface KvRun {
  readonly pos0: number;
  readonly tokens: number;
}

/** Bytes of the step uniform: struct KvStep { pos0, tokens, rebuildMeta, pad } (all u32). */
export const kvStepBytes = 16;

export class KvCache {
  private tokens = 0;
  private current: KvRun = { pos0: 0, tokens: 0 };
  // Set by a truncate() that cut a page: its pageMeta still covers the dropped keys, so the next run rebuilds that
  // page's min/max from the keys it keeps instead of folding into the stored values.
  private metaStale = false;
  private disposed = false;

  private constructor(
    readonly gpu: Gpu,
    readonly layout: KvLayout,
    private table: PageTable,
    /** [layer] (maxPages, kvHeads, pageSize, headDim) kvType */
    readonly k: readonly GPUBuffer[],
    /** [layer] (maxPages, kvHeads, pageSize, headDim) kvType */
    readonly v: readonly GPUBuffer[],
    /** [layer] (maxPages, kvHeads, 2, headDim) kvType: [0]=max [1]=min of the page's keys after RoPE */
    readonly pageMeta: readonly GPUBuffer[],
    /** (maxPages) u32: logical page -> physical page */
    readonly pageTable: GPUBuffer,
    /** uniform KvStep { pos0, tokens, rebuildMeta, pad }: rewritten by beginRun() */
    readonly step: GPUBuffer,
  ) {}

  /**
   * Allocates every layer's buffers. `pool` defaults to a fresh pool of layout.maxPages pages; pass one to control
   * which physical pages the sequence gets. Throws a ShapeError when a layer's buffer exceeds the device's binding
   * limit (128 MiB on lavapipe, 2 GiB on an H100).
   */
  static create(gpu: Gpu, layout: KvLayout, pool: PagePool = new PagePool(layout.maxPages)): KvCache {
    checkShape(
      pool.capacity === layout.maxPages,
      `kv cache: the page pool holds ${pool.capacity} pages, the layout ${layout.maxPages}`,
    );
    const limit = gpu.summary.limits.maxStorageBufferBindingSize;
    const layerBytes = kvLayerBytes(layout);
    checkShape(
      layerBytes <= limit,
      `kv cache: one layer's K holds ${layerBytes} B (${layout.maxPages} pages × ${layout.kvHeads} kvHeads × ` +
        `${layout.pageSize} × ${layout.headDim} ${layout.kvType}), over the device's ${limit} B binding limit; ` +
        'use a shorter context or f16',
    );
    const { GPUBufferUsage } = gpu.constants;
    const perLayer = (name: string, bytes: number) =>
      Array.from({ length: layout.layers }, (_, l) => createStorage(gpu, `kv.${name}[${l}]`, bytes));
    const step = gpu.device.createBuffer({ label: 'kv.step', size: kvStepBytes, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
    const cache = new KvCache(
      gpu,
      layout,
      new PageTable(pool, layout.pageSize, layout.maxPages),
      perLayer('k', layerBytes),
      perLayer('v', layerBytes),
      perLayer('pageMeta', pageMetaLayerBytes(layout)),
      createStorage(gpu, 'kv.pageTable', layout.maxPages * 4),
      step,
    );
    cache.writeStep(0, 0, false);
    return cache;
  }

  /** Tokens in the cache. */
  get length(): number {
    return this.tokens;
  }

  /** The run the step uniform holds now. */
  get run(): KvRun {
    return this.current;
  }

  /** The host page table (physical pages of this sequence). */
  get pages(): PageTable {
    return this.table;
  }

  /**
   * Starts a run of `tokens` new tokens at the end of the cache: maps their pages, uploads the new page-table
   * entries and writes the step uniform. Record the run's kvAppend and attention dispatches after this call and
   * submit them before the next beginRun (queue writes land before the next submit, so two runs must not share
   * one submit). Throws a 'kv-capacity' error when the cache would overflow.
   */
  beginRun(tokens: number): KvRun {
    checkShape(Number.isInteger(tokens) && tokens >= 1, `kv cache: a run appends an integer >= 1 tokens, got ${tokens}`);
    const pos0 = this.tokens;
    const { first, end } = this.table.reserve(pos0 + tokens);
    if (end > first) writeBuffer(this.gpu, this.pageTable, first * 4, this.table.entries.subarray(first, end));
    this.writeStep(pos0, tokens, this.metaStale);
    this.metaStale = false;
    this.tokens = pos0 + tokens;
    this.current = { pos0, tokens };
    return this.current;
  }

  /** Keeps tokens 0 .. tokens-1 (e.g. the workspace prefix of a persisted cache) and frees the pages after them. */
  truncate(tokens: number): void {
    checkShape(
      Number.isInteger(tokens) && tokens >= 0 && tokens <= this.tokens,
      `kv cache: truncate(${tokens}) must keep an integer 0..${this.tokens} tokens`,
    );
    this.table.truncate(tokens);
    if (tokens % this.layout.pageSize !== 0) this.metaStale = true;
    this.tokens = tokens;
  }

  /**
   * Adopts a persisted page table (logical -> physical entries for `tokens` tokens) whose pages' K, V and pageMeta
   * were restored into the buffers. The cache must be empty.
   */
  restore(entries: ArrayLike<number>, tokens: number): void {
    checkShape(this.tokens === 0 && this.table.pages === 0, `kv cache: restore() needs an empty cache, it holds ${this.tokens} tokens`);
    checkShape(
      Math.ceil(tokens / this.layout.pageSize) === entries.length,
      `kv cache: restore of ${tokens} tokens needs ${Math.ceil(tokens / this.layout.pageSize)} page entries, got ${entries.length}`,
    );
    this.table = PageTable.restore(this.table.pool, this.layout.pageSize, entries, this.layout.maxPages);
    writeBuffer(this.gpu, this.pageTable, 0, this.table.entries.subarray(0, entries.length));
    this.tokens = tokens;
  }

  /** Bytes of K, V, pageMeta and the page table, all layers together. */
  memory(): KvMemory {
    return kvMemory(this.layout);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const b of [...this.k, ...this.v, ...this.pageMeta, this.pageTable, this.step]) b.destroy();
  }

  private writeStep(pos0: number, tokens: number, rebuildMeta: boolean): void {
    this.gpu.device.queue.writeBuffer(this.step, 0, new Uint32Array([pos0, tokens, rebuildMeta ? 1 : 0, 0]));
  }
}
