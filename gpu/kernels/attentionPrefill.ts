// attentionPrefill op: the only way to dispatch attentionPrefill.wgsl. Built once per layer at load.
import { checkShape } from '../errors';
import type { KvCache } from '../kv/kvCache';
import { kvCapacity } from '../kv/layout';
import { type KvRunOp, kvKernel, resized } from './kvKernel';
import { type KernelDef, Kernels, grid2d } from './registry';
import source from './attentionPrefill.wgsl';

export const attentionPrefillKernel: KernelDef = {
  name: 'attentionPrefill',
  source,
  bindings: ['read', 'read', 'read', 'read', 'readWrite', 'uniform'],
};

export interface AttentionPrefillShape {
  /** Query heads; a multiple of the cache's kvHeads (GQA: heads / kvHeads query heads share a KV head). */
  readonly heads: number;
  /** The largest run the op is built for. */
  readonly maxTokens: number;
}

export interface AttentionPrefillBuffers {
  readonly q: GPUBuffer; //   (maxTokens, heads, headDim) f32, after RoPE
  readonly out: GPUBuffer; // (maxTokens, heads, headDim) f32
}

/** Query rows and keys per workgroup tile, and threads per workgroup. */
export interface PrefillTiling {
  readonly rows: number;
  readonly tile: number;
  readonly wg: number;
}

/** Bytes of workgroup memory the kernel declares for a tiling (see the var<workgroup> list in the .wgsl). */
export function prefillWorkgroupBytes(headDim: number, rows: number, tile: number): number {
  const d4 = headDim / 4;
  return 16 * (2 * rows * d4 + 2 * tile * d4) + 4 * (rows * tile + 3 * rows);
}

/** The largest tiles that fit the device's workgroup memory: 32x32 on GPUs, 16x16 on lavapipe, halved until they fit. */
export function prefillTiling(headDim: number, workgroupBytes: number, software: boolean): PrefillTiling {
  let rows = software ? 16 : 32;
  let tile = software ? 16 : 32;
  while (prefillWorkgroupBytes(headDim, rows, tile) > workgroupBytes) {
    if (rows >= tile && rows > 4) rows /= 2;
    else if (tile > 4) tile /= 2;
    else {
      throw new Error(`attentionPrefill: headDim ${headDim} does not fit ${workgroupBytes} B of workgroup memory`);
    }
  }
  return { rows, tile, wg: software ? 64 : 128 };
}

export function checkAttentionPrefill(cache: KvCache, layer: number, b: AttentionPrefillBuffers, s: AttentionPrefillShape): void {
  const l = cache.layout;
  checkShape(Number.isInteger(layer) && layer >= 0 && layer < l.layers, `attentionPrefill: layer ${layer} is not in 0..${l.layers - 1}`);
  checkShape(
    Number.isInteger(s.heads) && s.heads >= l.kvHeads && s.heads % l.kvHeads === 0,
    `attentionPrefill: heads (${s.heads}) must be a positive multiple of kvHeads (${l.kvHeads})`,
  );
  checkShape(
    Number.isInteger(s.maxTokens) && s.maxTokens >= 1 && s.maxTokens <= kvCapacity(l),
    `attentionPrefill: maxTokens (${s.maxTokens}) must be an integer in 1..cache capacity (${kvCapacity(l)})`,
  );
  const bytes = s.maxTokens * s.heads * l.headDim * 4;
  checkShape(b.q.size >= bytes, `attentionPrefill: q holds ${b.q.size} B, needs maxTokens*heads*headDim*4 = ${bytes}`);
  checkShape(b.out.size >= bytes, `attentionPrefill: out holds ${b.out.size} B, needs maxTokens*heads*headDim*4 = ${bytes}`);
  checkShape(b.q !== b.out, 'attentionPrefill: q and out must be different buffers');
}

/** Causal attention of runs of up to `s.maxTokens` queries over layer `layer` of `cache`. */
export async function attentionPrefill(
  k: Kernels,
  cache: KvCache,
  layer: number,
  b: AttentionPrefillBuffers,
  s: AttentionPrefillShape,
): Promise<KvRunOp> {
  checkAttentionPrefill(cache, layer, b, s);
  const l = cache.layout;
  const lim = k.gpu.summary.limits;
  const tiling = prefillTiling(l.headDim, lim.maxComputeWorkgroupStorageSize, k.gpu.summary.isSoftware);
  const group = s.heads / l.kvHeads;
  const def = kvKernel(attentionPrefillKernel, l.kvType);
  const pipeline = await k.pipeline(def, {
    HEAD_DIM: l.headDim,
    PAGE_SIZE: l.pageSize,
    KV_HEADS: l.kvHeads,
    GROUP: group,
    ROWS: tiling.rows,
    TILE: tiling.tile,
    WG: tiling.wg,
  });
  const grid = (tokens: number) => grid2d(Math.ceil((tokens * group) / tiling.rows) * l.kvHeads, lim.maxComputeWorkgroupsPerDimension);
  const d = k.dispatch(def, pipeline, [b.q, cache.k[layer], cache.v[layer], cache.pageTable, b.out, cache.step], grid(s.maxTokens));
  return {
    label: d.label,
    maxTokens: s.maxTokens,
    dispatches(tokens: number) {
      checkShape(
        Number.isInteger(tokens) && tokens >= 1 && tokens <= s.maxTokens,
        `attentionPrefill: a run of ${tokens} tokens, the op was built for 1..${s.maxTokens}`,
      );
      return [resized(d, grid(tokens))];
    },
  };
}
