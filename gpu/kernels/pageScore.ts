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
  /** A multiple of 4: a lane reads four dims of a page's max and min rows at once. */
  readonly headDim: number;
  readonly maxPages: number;
  readonly kvType: KvType;
  readonly aggregation: Aggregation;
  /** Workgroups per KV head; default pageScoreWorkgroups() (tests pass a few, to cross passes). */
  readonly workgroups?: number;
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
  checkShape(s.headDim >= 4 && s.headDim % 4 === 0, `pageScore: headDim (${s.headDim}) must be a positive multiple of 4`);
  checkShape(b.q.size >= s.heads * s.headDim * 4, `pageScore: q holds ${b.q.size} B, needs heads*headDim*4 = ${s.heads * s.headDim * 4}`);
  const metaBytes = s.maxPages * s.kvHeads * 2 * s.headDim * kvTypeBytes(s.kvType);
  checkShape(b.pageMeta.size >= metaBytes, `pageScore: pageMeta holds ${b.pageMeta.size} B, needs maxPages*kvHeads*2*headDim*${kvTypeBytes(s.kvType)} = ${metaBytes}`);
  checkShape(b.pageTable.size >= s.maxPages * 4, `pageScore: pageTable holds ${b.pageTable.size} B, needs maxPages*4 = ${s.maxPages * 4}`);
  checkShape(b.pageScore.size >= s.kvHeads * s.maxPages * 4, `pageScore: pageScore holds ${b.pageScore.size} B, needs kvHeads*maxPages*4 = ${s.kvHeads * s.maxPages * 4}`);
  if (s.workgroups !== undefined) checkShape(Number.isInteger(s.workgroups) && s.workgroups >= 1, `pageScore: workgroups (${s.workgroups}) must be an integer >= 1`);
}

/**
 * Workgroups per KV head: about 1024 in all on a GPU (a full wave of 256 threads on an H100's 132 SMs; a 128K
 * context then takes 4 passes each), never more than the pages need; 2 on software adapters.
 */
function pageScoreWorkgroups(k: Kernels, s: PageScoreShape, pagesPerPass: number): number {
  const want = s.workgroups ?? (k.gpu.summary.isSoftware ? 2 : Math.ceil(1024 / s.kvHeads));
  return Math.max(1, Math.min(want, Math.ceil(s.maxPages / pagesPerPass)));
}

/** Grid (workgroups per KV head, kvHeads); each workgroup scores headDim/4-lane pages, WG/(headDim/4) a pass. */
export async function pageScore(k: Kernels, b: PageScoreBuffers, s: PageScoreShape): Promise<Dispatch> {
  checkPageScore(b, s);
  const lanes = s.headDim / 4;
  const wg = Math.max(k.gpu.summary.isSoftware ? 64 : 256, lanes);
  const groupVec4 = (s.heads / s.kvHeads) * lanes;
  const bytes = groupVec4 * 16 + wg * 4;
  const limit = k.gpu.summary.limits.maxComputeWorkgroupStorageSize;
  checkShape(bytes <= limit, `pageScore: a KV head's query group and partial sums need ${bytes} B of workgroup memory, the adapter allows ${limit}`);
  checkShape(wg <= k.gpu.summary.limits.maxComputeInvocationsPerWorkgroup, `pageScore: headDim/4 (${lanes}) lanes per page exceed the adapter's ${k.gpu.summary.limits.maxComputeInvocationsPerWorkgroup} threads per workgroup`);
  const def = kvKernel(kernel, s.kvType);
  const pipeline = await k.pipeline(def, {
    WG: wg,
    LANES: lanes,
    AGGREGATE_SUM: s.aggregation === 'sum' ? 1 : 0,
    GROUP_VEC4: groupVec4,
  });
  const grid = pageScoreWorkgroups(k, s, Math.floor(wg / lanes));
  return k.dispatch(def, pipeline, [b.q, b.pageMeta, b.pageTable, b.pageScore, b.params], [grid, s.kvHeads, 1]);
}
