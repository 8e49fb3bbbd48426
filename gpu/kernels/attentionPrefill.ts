// attentionPrefill op: the only way to dispatch attentionPrefill.wgsl. Built once per layer at load.
// H100, f16 cache, Llama-3.2-1B heads (32/8 × 64), runs of 4096: 10.3 ms at pos0 0 (≈ 6.7 TFLOP/s f32), 0.67 s for the
// run ending at 128K, 10.9 s for one layer's whole 128K prefill: prefill attention, not decode, is the long pole.
import { ShapeError, checkShape } from '../errors';
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
  /** Default prefillTiling() for the device; tests pass another to cover a GPU's tiling on lavapipe. */
  readonly tiling?: PrefillTiling;
}

export interface AttentionPrefillBuffers {
  readonly q: GPUBuffer; //   (maxTokens, heads, headDim) f32, after RoPE
  readonly out: GPUBuffer; // (maxTokens, heads, headDim) f32
}

/** Query rows per workgroup, keys per tile, and threads per workgroup. */
export interface PrefillTiling {
  readonly rows: number;
  readonly tile: number;
  readonly wg: number;
}

/** Output units (4 rows × 4 dims, in registers) one thread may own: MAX_UNITS in the .wgsl. */
const maxUnits = 4;

/** Bytes of workgroup memory the kernel declares for a tiling (see the var<workgroup> list in the .wgsl). */
export function prefillWorkgroupBytes(headDim: number, rows: number, tile: number): number {
  const d4 = headDim / 4;
  return 16 * (rows * d4 + 2 * tile * d4) + 4 * (rows * tile + rows * (tile / 4) + 3 * rows);
}

/**
 * The largest tiles that fit the device's workgroup memory and the registers of 4 output units per thread: 64 rows
 * × 32 keys for headDim 64 and 32 × 16 for 128 on an H100 (48 KiB), 16 × 16 on lavapipe.
 */
export function prefillTiling(headDim: number, workgroupBytes: number, software: boolean): PrefillTiling {
  const wg = software ? 64 : 128;
  const candidates: [number, number][] = [[64, 32], [64, 16], [32, 32], [32, 16], [16, 16], [16, 8], [8, 8], [4, 4]];
  for (const [rows, tile] of candidates) {
    if (software && rows > 16) continue;
    if (rows > wg || (rows / 4) * (headDim / 4) > maxUnits * wg) continue;
    if (prefillWorkgroupBytes(headDim, rows, tile) <= workgroupBytes) return { rows, tile, wg };
  }
  throw new ShapeError(`attentionPrefill: headDim ${headDim} does not fit ${workgroupBytes} B of workgroup memory and ${maxUnits * wg} output units`);
}

function checkTiling(t: PrefillTiling, headDim: number, workgroupBytes: number): void {
  const bytes = prefillWorkgroupBytes(headDim, t.rows, t.tile);
  checkShape(
    t.rows % 4 === 0 && t.tile % 4 === 0 && t.rows >= 4 && t.tile >= 4 && t.rows <= t.wg && t.wg % 32 === 0,
    `attentionPrefill: tiling rows ${t.rows} and tile ${t.tile} must be multiples of 4, rows <= wg (${t.wg}), wg a multiple of 32`,
  );
  checkShape((t.rows / 4) * (headDim / 4) <= maxUnits * t.wg, `attentionPrefill: ${t.rows} rows × headDim ${headDim} exceed ${maxUnits} output units per thread`);
  checkShape(bytes <= workgroupBytes, `attentionPrefill: tiling ${t.rows}×${t.tile} needs ${bytes} B of workgroup memory, the device has ${workgroupBytes}`);
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
  const tiling = s.tiling ?? prefillTiling(l.headDim, lim.maxComputeWorkgroupStorageSize, k.gpu.summary.isSoftware);
  checkTiling(tiling, l.headDim, lim.maxComputeWorkgroupStorageSize);
  const group = s.heads / l.kvHeads;
  const def = kvKernel(attentionPrefillKernel, l.kvType);
  const pipeline = await k.pipeline(def, {
    HEAD_DIM: l.headDim,
    PAGE_SIZE: l.pageSize,
    KV_HEADS: l.kvHeads,
    GROUP: group,
    BR: tiling.rows,
    BC: tiling.tile,
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
