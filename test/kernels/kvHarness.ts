// Helpers the KV-cache kernel tests share: a cache over a scattered page pool, runs of random K/V/Q, and reading a
// layer back in logical order.
import assert from 'node:assert/strict';
import { createStorage, readBuffer, writeBuffer } from '../../gpu/buffers';
import type { Gpu } from '../../gpu/device';
import { decodeKv } from '../../gpu/kv/f16';
import { KvCache } from '../../gpu/kv/kvCache';
import { type KvLayout, type KvType, kvLayout } from '../../gpu/kv/layout';
import { PagePool } from '../../gpu/kv/pagePool';
import { type Dispatch, encodeDispatches } from '../../gpu/kernels/registry';
import { gatherPages, pagesToRows } from '../../gpu/reference/kv';
import { rng } from '../util/random';

export interface CacheCase {
  readonly kvHeads: number;
  readonly headDim: number;
  readonly pageSize: number;
  readonly kvType: KvType;
  readonly maxTokens: number;
  readonly layers?: number;
  /** Hand out physical pages in a seeded random order instead of 0, 1, 2, ... */
  readonly scatter?: boolean;
}

/** A pool whose free list pops pages in a seeded random order (every page allocated, then released shuffled). */
export function scatteredPool(capacity: number, seed: number): PagePool {
  const pool = new PagePool(capacity);
  const pages = Array.from({ length: capacity }, () => pool.alloc());
  const next = rng(seed);
  for (let i = pages.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [pages[i], pages[j]] = [pages[j], pages[i]];
  }
  for (const p of pages) pool.release(p);
  return pool;
}

export function makeCache(gpu: Gpu, c: CacheCase): KvCache {
  if (c.kvType === 'f16') assert.ok(gpu.hasF16, 'f16 KV tests need shader-f16 (Mesa 25 lavapipe has it)');
  const layout: KvLayout = kvLayout({ layers: c.layers ?? 1, kvHeads: c.kvHeads, headDim: c.headDim, maxTokens: c.maxTokens, pageSize: c.pageSize, kvType: c.kvType });
  return KvCache.create(gpu, layout, c.scatter ? scatteredPool(layout.maxPages, layout.maxPages * 31 + c.headDim) : undefined);
}

/** Uniform in [-scale, scale) with a few larger outliers, as post-RoPE keys have. */
export function activations(n: number, seed: number, scale = 1): Float32Array {
  const next = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (next() * 2 - 1) * scale * (next() < 0.02 ? 6 : 1);
  return out;
}

/** Records `dispatches` into one pass and submits them. */
export function submit(gpu: Gpu, dispatches: readonly Dispatch[]): void {
  const enc = gpu.device.createCommandEncoder();
  encodeDispatches(enc, dispatches);
  gpu.device.queue.submit([enc.finish()]);
}

export function storageFor(gpu: Gpu, label: string, floats: number): GPUBuffer {
  return createStorage(gpu, label, floats * 4);
}

export function upload(gpu: Gpu, buffer: GPUBuffer, data: Float32Array | Uint32Array): void {
  writeBuffer(gpu, buffer, 0, data);
}

/** Layer `layer` in logical order: keys and values (length, kvHeads, headDim), pageMeta (pages, kvHeads, 2, headDim). */
export async function readLayer(gpu: Gpu, cache: KvCache, layer = 0): Promise<{ keys: Float64Array; values: Float64Array; meta: Float64Array }> {
  const l = cache.layout;
  const table = cache.pages.entries;
  const pages = cache.pages.pages;
  const read = async (b: GPUBuffer) => decodeKv(await readBuffer(gpu, b), l.kvType);
  const rows = (b: Float32Array) => pagesToRows(gatherPages(b, table, pages, l.kvHeads, l.pageSize, l.headDim), cache.length, l.kvHeads, l.pageSize, l.headDim);
  return {
    keys: rows(await read(cache.k[layer])),
    values: rows(await read(cache.v[layer])),
    meta: gatherPages(await read(cache.pageMeta[layer]), table, Math.ceil(cache.length / l.pageSize), l.kvHeads, 2, l.headDim),
  };
}

/** Appends `b` to `a` (Float32Array concat). */
export function concat(a: Float32Array, b: Float32Array): Float32Array<ArrayBuffer> {
  const out = new Float32Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
