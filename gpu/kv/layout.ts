// The paged KV cache's shape: pages of `pageSize` token rows, one set of buffers per layer, and per-page key
// min/max (pageMeta) that Quest scores pages with. Pure: no GPU objects here.
import { checkShape } from '../errors';

/** Element type of K, V and pageMeta: f16 when the device has shader-f16, f32 for tests and as the fallback. */
export type KvType = 'f16' | 'f32';

/**
 * Per layer: kCache, vCache (maxPages, kvHeads, pageSize, headDim) and pageMeta (maxPages, kvHeads, 2, headDim)
 * [0]=max [1]=min of the page's keys after RoPE. One KV head's page is contiguous. Physical page ids index every
 * layer's buffers alike: the page table (maxPages) u32 maps a logical page to one physical page for all layers.
 */
export interface KvLayout {
  readonly layers: number;
  readonly kvHeads: number;
  readonly headDim: number;
  /** Tokens per page: a power of two. */
  readonly pageSize: number;
  /** Pages in the pool, which is also the most logical pages one sequence can map. */
  readonly maxPages: number;
  readonly kvType: KvType;
}

export interface KvLayoutOptions {
  readonly layers: number;
  readonly kvHeads: number;
  readonly headDim: number;
  /** Context capacity in tokens; rounded up to whole pages. */
  readonly maxTokens: number;
  /** Default 16 (Quest's page size). */
  readonly pageSize?: number;
  readonly kvType: KvType;
}

/** Tokens per page when neither the caller nor the model (`questlens.page_size`) picks one. */
export const defaultPageSize = 16;

/** Validates the options and derives maxPages; every failure is a ShapeError naming the value. */
export function kvLayout(o: KvLayoutOptions): KvLayout {
  const pageSize = o.pageSize ?? defaultPageSize;
  checkPageSize(pageSize);
  for (const [name, value] of [['layers', o.layers], ['kvHeads', o.kvHeads], ['headDim', o.headDim], ['maxTokens', o.maxTokens]] as const) {
    checkShape(Number.isInteger(value) && value >= 1, `kv cache: ${name} (${value}) must be an integer >= 1`);
  }
  // Kernels read and write K, V and pageMeta as vec4: every real model's head size is a multiple of 8.
  checkShape(o.headDim % 4 === 0, `kv cache: headDim (${o.headDim}) must be a multiple of 4 (the cache is read as vec4)`);
  checkShape(o.kvType === 'f16' || o.kvType === 'f32', `kv cache: kvType (${String(o.kvType)}) must be 'f16' or 'f32'`);
  return {
    layers: o.layers,
    kvHeads: o.kvHeads,
    headDim: o.headDim,
    pageSize,
    maxPages: Math.ceil(o.maxTokens / pageSize),
    kvType: o.kvType,
  };
}

/** Largest page the engine takes: past it a page's key bound is too loose for Quest to rank pages usefully. */
export const maxPageSize = 256;

/** The page size a load uses: the caller's explicit one wins, then the model's recommendation, then defaultPageSize. */
export function resolvePageSize(explicit: number | undefined, recommended: number | undefined): number {
  return explicit ?? recommended ?? defaultPageSize;
}

/** Whether `pageSize` is a power of two from 1 to maxPageSize (pages are addressed with shifts and masks). */
export function isPageSize(pageSize: number): boolean {
  return Number.isInteger(pageSize) && pageSize >= 1 && pageSize <= maxPageSize && (pageSize & (pageSize - 1)) === 0;
}

/** Throws unless isPageSize(pageSize). */
export function checkPageSize(pageSize: number): void {
  checkShape(isPageSize(pageSize), `kv cache: pageSize (${pageSize}) must be a power of two >= 1 (e.g. 16), at most ${maxPageSize}`);
}

export function kvTypeBytes(kvType: KvType): number {
  return kvType === 'f16' ? 2 : 4;
}

/** Tokens the cache can hold. */
export function kvCapacity(l: KvLayout): number {
  return l.maxPages * l.pageSize;
}

/** Pages that `tokens` tokens occupy (the last one possibly partial). */
export function pagesFor(tokens: number, pageSize: number): number {
  return Math.ceil(tokens / pageSize);
}

/** Bytes of one layer's kCache (vCache is the same size). */
export function kvLayerBytes(l: KvLayout): number {
  return l.maxPages * l.kvHeads * l.pageSize * l.headDim * kvTypeBytes(l.kvType);
}

/** Bytes of one layer's pageMeta. */
export function pageMetaLayerBytes(l: KvLayout): number {
  return l.maxPages * l.kvHeads * 2 * l.headDim * kvTypeBytes(l.kvType);
}

/** GPU memory the cache holds, all layers together. */
export interface KvMemory {
  readonly k: number;
  readonly v: number;
  readonly pageMeta: number;
  readonly pageTable: number;
  readonly total: number;
}

export function kvMemory(l: KvLayout): KvMemory {
  const k = kvLayerBytes(l) * l.layers;
  const pageMeta = pageMetaLayerBytes(l) * l.layers;
  const pageTable = l.maxPages * 4;
  return { k, v: k, pageMeta, pageTable, total: 2 * k + pageMeta + pageTable };
}

/** Element index of (physical page, kvHead, slot in page, dim) in a layer's kCache or vCache. */
export function kvIndex(l: KvLayout, page: number, head: number, slot: number, dim: number): number {
  return ((page * l.kvHeads + head) * l.pageSize + slot) * l.headDim + dim;
}

/** Element index of (physical page, kvHead, 0 = max | 1 = min, dim) in a layer's pageMeta. */
export function pageMetaIndex(l: KvLayout, page: number, head: number, which: 0 | 1, dim: number): number {
  return ((page * l.kvHeads + head) * 2 + which) * l.headDim + dim;
}
