// selectPages op: Quest's top-k pages per KV head on the GPU, plus the always-read last page (selectPages.wgsl).
import type { Gpu } from '../device';
import { checkShape } from '../errors';
import { type Dispatch, type KernelDef, Kernels } from './registry';
import source from './selectPages.wgsl';

const kernel: KernelDef = { name: 'selectPages', source, bindings: ['read', 'readWrite', 'readWrite', 'uniform'] };

export interface SelectPagesShape {
  readonly kvHeads: number;
  readonly maxPages: number;
  /** Pages read per KV head, the last page included: tokenBudget / pageSize, at least 1. */
  readonly pageBudget: number;
  /** Scores held in workgroup memory (the rest are read again per pass); default: what the adapter fits. */
  readonly cachedKeys?: number;
  /** Threads per workgroup, a power of two from 32 (default 256 on GPUs, 64 on software adapters). */
  readonly workgroup?: number;
}

/** Output in attentionDecode's PageSelection layout: `selectPages` feeds the sparse attention directly. */
export interface SelectPagesBuffers {
  readonly pageScore: GPUBuffer; // (kvHeads, maxPages) f32
  readonly pageIds: GPUBuffer; //   (kvHeads, maxPages) u32 logical pages, ascending; the first pageCount are used
  readonly pageCount: GPUBuffer; // (kvHeads) u32
  /** Params {nScored, pageBudget, maxPages} u32: the host rewrites nScored every step. */
  readonly params: GPUBuffer;
}

export function selectPagesParams(s: SelectPagesShape, nScored: number): Uint32Array {
  return new Uint32Array([nScored, s.pageBudget, s.maxPages]);
}

export function checkSelectPages(b: SelectPagesBuffers, s: SelectPagesShape): void {
  checkShape(s.pageBudget >= 1, `selectPages: pageBudget (${s.pageBudget}) must be >= 1 (the last page is always read)`);
  checkShape(b.pageScore.size >= s.kvHeads * s.maxPages * 4, `selectPages: pageScore holds ${b.pageScore.size} B, needs kvHeads*maxPages*4 = ${s.kvHeads * s.maxPages * 4}`);
  checkShape(b.pageIds.size >= s.kvHeads * s.maxPages * 4, `selectPages: pageIds holds ${b.pageIds.size} B, needs kvHeads*maxPages*4 = ${s.kvHeads * s.maxPages * 4}`);
  checkShape(b.pageCount.size >= s.kvHeads * 4, `selectPages: pageCount holds ${b.pageCount.size} B, needs kvHeads*4 = ${s.kvHeads * 4}`);
  if (s.cachedKeys !== undefined) checkShape(Number.isInteger(s.cachedKeys) && s.cachedKeys >= 1, `selectPages: cachedKeys (${s.cachedKeys}) must be an integer >= 1`);
  const wg = s.workgroup;
  if (wg !== undefined) checkShape(Number.isInteger(wg) && wg >= 32 && (wg & (wg - 1)) === 0, `selectPages: workgroup (${wg}) must be a power of two >= 32`);
}

/**
 * Threads per workgroup for selecting among `pages` scored pages on a GPU; the breaks lie between measured sizes.
 * H100, Llama (8 KV heads, pageSize 16), µs per layer over budgets 512–4096 (bench questSweep, 18-24-57): 256 threads
 * are fastest at 512 pages (8.0–9.6; 1024 threads 11.4–13.8), 512 at 2048 (10.9–13.0; 256: 12.0–14.3) and 4096
 * (13.7–16.4; 1024: 14.5–17.5), 1024 at 8192 (18.3–22.1; 512: 20.3–24.0; 256: 30.0–35.2).
 */
export function selectPagesThreads(pages: number): number {
  return pages < 1024 ? 256 : pages < 6144 ? 512 : 1024;
}

/**
 * The workgroup sizes a decodeStep may need for up to maxPages scored pages, ascending: those selectPagesThreads
 * picks (within the adapter's limit) on a GPU; the software default alone on lavapipe.
 */
export function selectPagesWorkgroups(gpu: Gpu, maxPages: number): number[] {
  if (gpu.summary.isSoftware) return [64];
  const maxThreads = gpu.summary.limits.maxComputeInvocationsPerWorkgroup;
  const out = new Set<number>();
  for (let pages = 1; ; pages *= 2) {
    out.add(Math.min(selectPagesThreads(Math.min(pages, maxPages)), maxThreads));
    if (pages >= maxPages) break;
  }
  return [...out].sort((a, b) => a - b);
}

/** Bytes of workgroup memory besides the key cache: histogram, scan scratch, one vec4. */
const fixedBytes = (wg: number) => 256 * 4 + wg * 8 + 16;

/** One workgroup per KV head. */
export async function selectPages(k: Kernels, b: SelectPagesBuffers, s: SelectPagesShape): Promise<Dispatch> {
  checkSelectPages(b, s);
  const wg = s.workgroup ?? (k.gpu.summary.isSoftware ? 64 : 256);
  const maxThreads = k.gpu.summary.limits.maxComputeInvocationsPerWorkgroup;
  checkShape(wg <= maxThreads, `selectPages: workgroup (${wg}) is over the adapter's ${maxThreads} threads per workgroup`);
  const fits = Math.floor((k.gpu.summary.limits.maxComputeWorkgroupStorageSize - fixedBytes(wg)) / 4);
  const cache = Math.max(1, Math.min(s.cachedKeys ?? fits, fits, s.maxPages));
  const pipeline = await k.pipeline(kernel, { WG: wg, CACHE: cache });
  return k.dispatch(kernel, pipeline, [b.pageScore, b.pageIds, b.pageCount, b.params], [s.kvHeads, 1, 1]);
}
