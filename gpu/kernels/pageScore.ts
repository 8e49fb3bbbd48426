// pageScore op: Quest's criticality estimate of every scored page, per KV head (pageScore.wgsl).
import { checkShape } from '../errors';
import { type KvType, kvTypeBytes } from '../kv/layout';
import { kvKernel } from './kvKernel';
import source from './pageScore.wgsl';
import { type Dispatch, type KernelDef, Kernels } from './registry';

const kernel: KernelDef = { name: 'pageScore', source, bindings: ['read', 'read', 'read', 'readWrite', 'uniform'] };

/** How a KV head combines its query heads' page scores (Quest's kernels are MHA-only; models use GQA). */
export type Aggregation = 'max' | 'sum';

export interface PageScoreShape {
  readonly heads: number;
  readonly kvHeads: number;
  readonly headDim: number;
  readonly maxPages: number;
  readonly kvType: KvType;
  readonly aggregation: Aggregation;
}

export interface PageScoreBuffers {
  readonly q: GPUBuffer; //         (heads, headDim) f32, after RoPE
  readonly pageMeta: GPUBuffer; //  (maxPages, kvHeads, 2, headDim) kvType [0]=max [1]=min
  readonly pageTable: GPUBuffer; // (maxPages) u32
  readonly pageScore: GPUBuffer; // (kvHeads, maxPages) f32
  /** Params {heads, kvHeads, headDim, nScored, maxPages} u32: the host rewrites nScored every step. */
  readonly params: GPUBuffer;
}

/** The 5-word params block; `nScored` changes every decode step. */
export function pageScoreParams(s: PageScoreShape, nScored: number): Uint32Array {
  return new Uint32Array([s.heads, s.kvHeads, s.headDim, nScored, s.maxPages]);
}

export function checkPageScore(b: PageScoreBuffers, s: PageScoreShape): void {
  checkShape(s.heads % s.kvHeads === 0, `pageScore: heads (${s.heads}) must be a multiple of kvHeads (${s.kvHeads})`);
  checkShape(b.q.size >= s.heads * s.headDim * 4, `pageScore: q holds ${b.q.size} B, needs heads*headDim*4 = ${s.heads * s.headDim * 4}`);
  const metaBytes = s.maxPages * s.kvHeads * 2 * s.headDim * kvTypeBytes(s.kvType);
  checkShape(b.pageMeta.size >= metaBytes, `pageScore: pageMeta holds ${b.pageMeta.size} B, needs maxPages*kvHeads*2*headDim*${kvTypeBytes(s.kvType)} = ${metaBytes}`);
  checkShape(b.pageTable.size >= s.maxPages * 4, `pageScore: pageTable holds ${b.pageTable.size} B, needs maxPages*4 = ${s.maxPages * 4}`);
  checkShape(b.pageScore.size >= s.kvHeads * s.maxPages * 4, `pageScore: pageScore holds ${b.pageScore.size} B, needs kvHeads*maxPages*4 = ${s.kvHeads * s.maxPages * 4}`);
}

/** Grid (ceil(maxPages / WG), kvHeads): sized for the most pages; threads past nScored return at once. */
export async function pageScore(k: Kernels, b: PageScoreBuffers, s: PageScoreShape): Promise<Dispatch> {
  checkPageScore(b, s);
  const groupDims = (s.heads / s.kvHeads) * s.headDim;
  const limit = k.gpu.summary.limits.maxComputeWorkgroupStorageSize / 4;
  checkShape(groupDims <= limit, `pageScore: a KV head's query group needs ${groupDims} f32 of workgroup memory, the adapter allows ${limit}`);
  const wg = 64;
  const def = kvKernel(kernel, s.kvType);
  const pipeline = await k.pipeline(def, {
    WG: wg,
    AGGREGATE_SUM: s.aggregation === 'sum' ? 1 : 0,
    MAX_GROUP_DIMS: groupDims,
  });
  return k.dispatch(def, pipeline, [b.q, b.pageMeta, b.pageTable, b.pageScore, b.params], [
    Math.ceil(s.maxPages / wg),
    s.kvHeads,
    1,
  ]);
}
