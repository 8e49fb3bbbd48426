// kvAppend op: the only way to dispatch kvAppend.wgsl. Built once per layer at load; each run re-sizes the grid.
import { checkShape } from '../errors';
import type { KvCache } from '../kv/kvCache';
import { kvCapacity } from '../kv/layout';
import { type KvRunOp, kvKernel, resized } from './kvKernel';
import { type KernelDef, Kernels, grid2d } from './registry';
import source from './kvAppend.wgsl';

export const kvAppendKernel: KernelDef = {
  name: 'kvAppend',
  source,
  bindings: ['read', 'read', 'read', 'readWrite', 'readWrite', 'readWrite', 'uniform'],
};

export interface KvAppendBuffers {
  readonly k: GPUBuffer; // (maxTokens, kvHeads, headDim) f32, after RoPE
  readonly v: GPUBuffer; // (maxTokens, kvHeads, headDim) f32
}

/** The most pages a run of `tokens` tokens can touch (when it starts on a page's last slot). */
export function pagesTouched(tokens: number, pageSize: number): number {
  return tokens < 1 ? 0 : 1 + Math.ceil((tokens - 1) / pageSize);
}

export function checkKvAppend(cache: KvCache, layer: number, b: KvAppendBuffers, maxTokens: number): void {
  const l = cache.layout;
  checkShape(Number.isInteger(layer) && layer >= 0 && layer < l.layers, `kvAppend: layer ${layer} is not in 0..${l.layers - 1}`);
  checkShape(
    Number.isInteger(maxTokens) && maxTokens >= 1 && maxTokens <= kvCapacity(l),
    `kvAppend: maxTokens (${maxTokens}) must be an integer in 1..cache capacity (${kvCapacity(l)})`,
  );
  const bytes = maxTokens * l.kvHeads * l.headDim * 4;
  checkShape(b.k.size >= bytes, `kvAppend: k holds ${b.k.size} B, needs maxTokens*kvHeads*headDim*4 = ${bytes}`);
  checkShape(b.v.size >= bytes, `kvAppend: v holds ${b.v.size} B, needs maxTokens*kvHeads*headDim*4 = ${bytes}`);
}

/** Appends runs of up to `maxTokens` tokens of `b.k`, `b.v` to layer `layer` of `cache`, with pageMeta. */
export async function kvAppend(k: Kernels, cache: KvCache, layer: number, b: KvAppendBuffers, maxTokens: number): Promise<KvRunOp> {
  checkKvAppend(cache, layer, b, maxTokens);
  const l = cache.layout;
  const wg = 64;
  const def = kvKernel(kvAppendKernel, l.kvType);
  const pipeline = await k.pipeline(def, { HEAD_DIM: l.headDim, PAGE_SIZE: l.pageSize, KV_HEADS: l.kvHeads, WG: wg });
  const maxPerDim = k.gpu.summary.limits.maxComputeWorkgroupsPerDimension;
  const grid = (tokens: number) => grid2d(Math.ceil((pagesTouched(tokens, l.pageSize) * l.kvHeads * (l.headDim / 4)) / wg), maxPerDim);
  const d = k.dispatch(def, pipeline, [b.k, b.v, cache.pageTable, cache.k[layer], cache.v[layer], cache.pageMeta[layer], cache.step], grid(maxTokens));
  return {
    label: d.label,
    maxTokens,
    dispatches(tokens: number) {
      checkShape(
        Number.isInteger(tokens) && tokens >= 1 && tokens <= maxTokens,
        `kvAppend: a run of ${tokens} tokens, the op was built for 1..${maxTokens}`,
      );
      return [resized(d, grid(tokens))];
    },
  };
}
