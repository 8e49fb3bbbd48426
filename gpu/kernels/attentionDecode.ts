// attentionDecode op: the only way to dispatch attentionDecode.wgsl (split phase) and, after it,
// attentionDecodeReduce.wgsl. Built once per layer at load; a decodeStep only rewrites the cache's step uniform.
//
// Dense and Quest attention are one kernel: without `selection` the page list is the identity 0 .. n-1 (override
// SPARSE = false, nothing is read); with it, the kernel reads per KV head pageCount[kvHead] logical page ids from
// pageIds (selectPages' output: the top pages plus the always-kept last page) and splits that list instead.
// With `mass`, the op also offers the same step with the attention each page received added to a running total
// (split with MASS, reduce, attentionMass.wgsl): what citations are made of.
import { createStorage } from '../buffers';
import type { Gpu } from '../device';
import { checkShape } from '../errors';
import type { KvCache } from '../kv/kvCache';
import type { KvLayout } from '../kv/layout';
import { attentionDecodeReduce, decodePartialBytes } from './attentionDecodeReduce';
import { type AttentionMassBuffers, attentionMass, attentionMassRangeBytes } from './attentionMass';
import { type KvRunOp, kvKernel } from './kvKernel';
import { type Dispatch, type KernelDef, Kernels, grid2d } from './registry';
import source from './attentionDecode.wgsl';

export const attentionDecodeKernel: KernelDef = {
  name: 'attentionDecode',
  source,
  bindings: ['read', 'read', 'read', 'read', 'read', 'read', 'readWrite', 'readWrite', 'uniform', 'uniform'],
};

/** Quest's page selection, written on the GPU by selectPages each decodeStep. */
export interface PageSelection {
  readonly pageIds: GPUBuffer; //   (kvHeads, maxPages) u32 logical page ids; the first pageCount[kvHead] are read
  readonly pageCount: GPUBuffer; // (kvHeads) u32, >= 1 (the last page is always selected)
}

export interface AttentionDecodeShape {
  /** Query heads; a multiple of the cache's kvHeads. */
  readonly heads: number;
  /** Page ranges per KV head (workgroups = splits × kvHeads × ceil(group / 8)); default decodeSplits(). */
  readonly splits?: number;
  /** Threads per workgroup and keys per tile: default 128 on GPUs, 64 on lavapipe; tests cover both on lavapipe. */
  readonly wg?: number;
}

export interface AttentionDecodeBuffers {
  readonly q: GPUBuffer; //         (heads, headDim) f32, after RoPE
  readonly out: GPUBuffer; //       (heads, headDim) f32
  /** (heads, splits, headDim + 4) f32 scratch, shareable by all layers; made by the op when absent. */
  readonly partial?: GPUBuffer;
  /** Absent: dense over every page. */
  readonly selection?: PageSelection;
  /** Present: the op also offers `massDispatches`, which add the step's attention per page to `mass.received`. */
  readonly mass?: AttentionMassBuffers;
}

export interface AttentionDecodeOp extends KvRunOp {
  /** Built with `mass`: [split with MASS, reduce, attentionMass], the step that also counts attention per page. */
  readonly massDispatches?: readonly Dispatch[];
}

/**
 * Default page ranges per KV head: about 512 workgroups in all on a GPU, so a 128K context keeps every SM busy
 * (a range re-splits each step: ceil(pages / splits) pages each); 4 on lavapipe, so tests cross range boundaries.
 * H100, f16, 128K tokens, one layer: 233 µs for Llama-3.2-1B's 32/8 heads × 64 (1.15 TB/s of K+V), 221 µs for
 * Qwen2.5-0.5B's 14/2 (7 query heads per KV head: compute-bound); 32 or 256 splits were no faster.
 */
export function decodeSplits(gpu: Gpu, layout: KvLayout): number {
  const want = gpu.summary.isSoftware ? 4 : Math.ceil(512 / layout.kvHeads);
  return Math.max(1, Math.min(layout.maxPages, want));
}

/** Keys a sparse split range should hold: one tile of the GPU's 128 threads (8 pages of 16). */
export const sparseKeysPerSplit = 128;

/**
 * Split counts recorded for sparse attention: powers of 4 below the dense count, then the dense count. A small
 * pageBudget then runs a few full ranges and a short reduce, not 64–256 nearly empty ones (H100, Llama, budget 512
 * tokens: 13.6 µs per layer at every context, 5.9 µs of it the reduce over 64 splits).
 */
export function sparseSplitChoices(dense: number): number[] {
  const out: number[] = [];
  for (let s = 1; s < dense; s *= 4) out.push(s);
  out.push(dense);
  return out;
}

/** The fewest of `choices` (ascending) that leave each range at most sparseKeysPerSplit keys of the pageBudget. */
export function sparseSplits(choices: readonly number[], pageBudget: number, pageSize: number): number {
  const want = Math.ceil((pageBudget * pageSize) / sparseKeysPerSplit);
  return choices.find((s) => s >= want) ?? choices[choices.length - 1];
}

/** Query heads one split workgroup handles; a larger GQA group takes several workgroups. */
export const maxHeadsPerWorkgroup = 8;

/** Bytes of workgroup memory the split kernel declares (see the var<workgroup> list in the .wgsl). */
export function decodeWorkgroupBytes(headDim: number, headsPerWorkgroup: number, wg: number): number {
  const d4 = headDim / 4;
  const hg = headsPerWorkgroup;
  return 16 * (hg * d4 + hg * wg) + 4 * (hg * wg + hg * (wg / 8) + hg + wg + hg * Math.floor(wg / d4));
}

export function checkAttentionDecode(cache: KvCache, layer: number, b: AttentionDecodeBuffers, heads: number, splits: number): void {
  const l = cache.layout;
  checkShape(Number.isInteger(layer) && layer >= 0 && layer < l.layers, `attentionDecode: layer ${layer} is not in 0..${l.layers - 1}`);
  checkShape(
    Number.isInteger(heads) && heads >= l.kvHeads && heads % l.kvHeads === 0,
    `attentionDecode: heads (${heads}) must be a positive multiple of kvHeads (${l.kvHeads})`,
  );
  checkShape(Number.isInteger(splits) && splits >= 1, `attentionDecode: splits (${splits}) must be an integer >= 1`);
  const bytes = heads * l.headDim * 4;
  checkShape(b.q.size >= bytes, `attentionDecode: q holds ${b.q.size} B, needs heads*headDim*4 = ${bytes}`);
  checkShape(b.out.size >= bytes, `attentionDecode: out holds ${b.out.size} B, needs heads*headDim*4 = ${bytes}`);
  checkShape(b.q !== b.out, 'attentionDecode: q and out must be different buffers');
  if (b.selection) {
    const ids = l.kvHeads * l.maxPages * 4;
    checkShape(b.selection.pageIds.size >= ids, `attentionDecode: pageIds holds ${b.selection.pageIds.size} B, needs kvHeads*maxPages*4 = ${ids}`);
    checkShape(b.selection.pageCount.size >= l.kvHeads * 4, `attentionDecode: pageCount holds ${b.selection.pageCount.size} B, needs kvHeads*4 = ${l.kvHeads * 4}`);
  }
}

/** Attention of the cache's newest token over layer `layer` (dense, or over `b.selection`): split, then reduce. */
export async function attentionDecode(
  k: Kernels,
  cache: KvCache,
  layer: number,
  b: AttentionDecodeBuffers,
  s: AttentionDecodeShape,
): Promise<AttentionDecodeOp> {
  const l = cache.layout;
  const splits = s.splits ?? decodeSplits(k.gpu, l);
  checkAttentionDecode(cache, layer, b, s.heads, splits);
  const group = s.heads / l.kvHeads;
  const hg = Math.min(group, maxHeadsPerWorkgroup);
  const lim = k.gpu.summary.limits;
  const wg = s.wg ?? (k.gpu.summary.isSoftware ? 64 : 128);
  checkShape(wg % 32 === 0 && wg <= lim.maxComputeInvocationsPerWorkgroup, `attentionDecode: wg (${wg}) must be a multiple of 32 <= ${lim.maxComputeInvocationsPerWorkgroup}`);
  checkShape(l.headDim / 4 <= wg, `attentionDecode: headDim (${l.headDim}) must be <= ${4 * wg}: one thread per 4 dims of a V row`);
  checkShape(
    decodeWorkgroupBytes(l.headDim, hg, wg) <= lim.maxComputeWorkgroupStorageSize,
    `attentionDecode: headDim ${l.headDim} × ${hg} query heads per workgroup need ${decodeWorkgroupBytes(l.headDim, hg, wg)} B ` +
      `of workgroup memory, the device has ${lim.maxComputeWorkgroupStorageSize}`,
  );
  if (b.mass) {
    checkShape(wg % l.pageSize === 0 || l.pageSize % wg === 0, `attentionDecode: attention mass needs wg (${wg}) and pageSize (${l.pageSize}) to divide one another`);
  }
  const partialBytes = decodePartialBytes(s.heads, splits, l.headDim);
  const partial = b.partial ?? createStorage(k.gpu, `attentionDecode.partial[${layer}]`, partialBytes);
  checkShape(partial.size >= partialBytes, `attentionDecode: partial holds ${partial.size} B, needs heads*splits*(headDim+4)*4 = ${partialBytes}`);
  // Dense: the page-list bindings are never read (SPARSE = false); a 16-byte buffer satisfies the layout.
  const none = k.standIn('attentionDecode.noSelection');
  const selection = b.selection ?? { pageIds: none, pageCount: none };

  const def = kvKernel(attentionDecodeKernel, l.kvType);
  const constants = {
    HEAD_DIM: l.headDim,
    PAGE_SIZE: l.pageSize,
    KV_HEADS: l.kvHeads,
    GROUP: group,
    HG: hg,
    SPLITS: splits,
    MAX_PAGES: l.maxPages,
    WG: wg,
    SPARSE: b.selection ? 1 : 0,
  };
  const grid = grid2d(splits * l.kvHeads * Math.ceil(group / hg), lim.maxComputeWorkgroupsPerDimension);
  const splitOf = async (pageLse: GPUBuffer, range: GPUBuffer, mass: boolean) =>
    k.dispatch(
      def,
      await k.pipeline(def, mass ? { ...constants, MASS: 1 } : constants),
      [b.q, cache.k[layer], cache.v[layer], cache.pageTable, selection.pageIds, selection.pageCount, partial, pageLse, cache.step, range],
      grid,
    );
  // Without MASS pageLse and the mass range are never read: 16-byte stand-ins (not the page list's: one buffer cannot
  // be bound both read-only and writable) satisfy the layout.
  const split = await splitOf(
    k.standIn('attentionDecode.noMass'),
    k.uniform(`attentionDecode.noMassRange[${layer}]`, new ArrayBuffer(attentionMassRangeBytes)),
    false,
  );
  const reduce = await attentionDecodeReduce(k, { partial, out: b.out }, { heads: s.heads, headDim: l.headDim, splits });
  const massDispatches = b.mass
    ? [
        await splitOf(b.mass.pageLse, b.mass.range, true),
        reduce,
        await attentionMass(k, cache, { ...b.mass, partial, pageIds: selection.pageIds, pageCount: selection.pageCount, sparse: !!b.selection }, { heads: s.heads, splits }),
      ]
    : undefined;
  return {
    label: split.label,
    maxTokens: 1,
    dispatches(tokens: number) {
      checkShape(tokens === 1, `attentionDecode: a decodeStep attends from 1 token, got a run of ${tokens}`);
      return [split, reduce];
    },
    ...(massDispatches ? { massDispatches } : {}),
  };
}
