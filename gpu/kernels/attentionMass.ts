// attentionMass op: the only way to dispatch attentionMass.wgsl (used by attentionDecode.ts after its reduce, when the
// decode attention is built with mass buffers).
import { checkShape } from '../errors';
import type { KvCache } from '../kv/kvCache';
import { decodePartialBytes } from './attentionDecodeReduce';
import { type Dispatch, type KernelDef, Kernels } from './registry';
import source from './attentionMass.wgsl';

export const attentionMassKernel: KernelDef = { name: 'attentionMass', source, bindings: ['read', 'read', 'read', 'read', 'readWrite', 'uniform'] };

/** Where the attention mass of a decodeStep goes: a per-entry scratch and the running total per page. */
export interface AttentionMassBuffers {
  /** (heads, maxPages) f32 scratch: log of each list entry's unnormalized mass, written by the split phase. */
  readonly pageLse: GPUBuffer;
  /** (kvHeads, maxPages) f32 running total per logical page; cleared by the caller when a count starts. */
  readonly received: GPUBuffer;
  /**
   * uniform MassRange {first, end, 0, 0} u32 (attentionMassRange): only keys at positions first .. end-1 add mass;
   * written by the caller when a count starts.
   */
  readonly range: GPUBuffer;
}

/** Bytes of the mass range uniform. */
export const attentionMassRangeBytes = 16;

/**
 * The mass range uniform's words: keys at positions `first` .. `end`-1 add mass (none when end <= first), the others
 * still count in the softmax. Leaving out position 0 (the attention sink) and everything after the context (the
 * question and the answer, which share a page with the context's last tokens) keeps the count to the attention paid
 * to the files.
 */
export function attentionMassRange(first: number, end: number): Uint32Array {
  const word = (x: number) => Number.isInteger(x) && x >= 0 && x <= 0xffffffff;
  checkShape(word(first) && word(end), `attentionMass: range ${first}..${end} must be u32 positions`);
  return new Uint32Array([first, end, 0, 0]);
}

export interface AttentionMassShape {
  readonly heads: number;
  readonly splits: number;
}

export function attentionMassBytes(cache: KvCache, heads: number): { pageLse: number; received: number } {
  const l = cache.layout;
  return { pageLse: heads * l.maxPages * 4, received: l.kvHeads * l.maxPages * 4 };
}

export async function attentionMass(
  k: Kernels,
  cache: KvCache,
  b: AttentionMassBuffers & { readonly partial: GPUBuffer; readonly pageIds: GPUBuffer; readonly pageCount: GPUBuffer; readonly sparse: boolean },
  s: AttentionMassShape,
): Promise<Dispatch> {
  const l = cache.layout;
  const bytes = attentionMassBytes(cache, s.heads);
  checkShape(b.pageLse.size >= bytes.pageLse, `attentionMass: pageLse holds ${b.pageLse.size} B, needs heads*maxPages*4 = ${bytes.pageLse}`);
  checkShape(b.received.size >= bytes.received, `attentionMass: received holds ${b.received.size} B, needs kvHeads*maxPages*4 = ${bytes.received}`);
  const partialBytes = decodePartialBytes(s.heads, s.splits, l.headDim);
  checkShape(b.partial.size >= partialBytes, `attentionMass: partial holds ${b.partial.size} B, needs heads*splits*(headDim+4)*4 = ${partialBytes}`);
  const wg = k.gpu.summary.isSoftware ? 64 : 128;
  const pipeline = await k.pipeline(attentionMassKernel, {
    HEAD_DIM: l.headDim,
    PAGE_SIZE: l.pageSize,
    GROUP: s.heads / l.kvHeads,
    SPLITS: s.splits,
    MAX_PAGES: l.maxPages,
    WG: wg,
    SPARSE: b.sparse ? 1 : 0,
  });
  return k.dispatch(attentionMassKernel, pipeline, [b.partial, b.pageLse, b.pageIds, b.pageCount, b.received, cache.step], [Math.ceil(l.maxPages / wg), l.kvHeads, 1]);
}
