// attentionDecodeReduce op: the only way to dispatch attentionDecodeReduce.wgsl (used by attentionDecode.ts).
import { checkShape } from '../errors';
import { type Dispatch, type KernelDef, Kernels } from './registry';
import source from './attentionDecodeReduce.wgsl';

export const attentionDecodeReduceKernel: KernelDef = { name: 'attentionDecodeReduce', source, bindings: ['read', 'readWrite'] };

export interface DecodeReduceShape {
  readonly heads: number;
  readonly headDim: number;
  readonly splits: number;
}

export interface DecodeReduceBuffers {
  readonly partial: GPUBuffer; // (heads, splits, headDim + 4) f32: acc, then (max, sum, 0, 0)
  readonly out: GPUBuffer; //     (heads, headDim) f32
}

/** Bytes of the partial results attentionDecode's split phase writes. */
export function decodePartialBytes(heads: number, splits: number, headDim: number): number {
  return heads * splits * (headDim + 4) * 4;
}

/** One workgroup per query head. */
export async function attentionDecodeReduce(k: Kernels, b: DecodeReduceBuffers, s: DecodeReduceShape): Promise<Dispatch> {
  const partialBytes = decodePartialBytes(s.heads, s.splits, s.headDim);
  checkShape(b.partial.size >= partialBytes, `attentionDecodeReduce: partial holds ${b.partial.size} B, needs heads*splits*(headDim+4)*4 = ${partialBytes}`);
  checkShape(b.out.size >= s.heads * s.headDim * 4, `attentionDecodeReduce: out holds ${b.out.size} B, needs heads*headDim*4 = ${s.heads * s.headDim * 4}`);
  checkShape(s.heads <= k.gpu.summary.limits.maxComputeWorkgroupsPerDimension, `attentionDecodeReduce: ${s.heads} heads exceed one grid dimension`);
  const pipeline = await k.pipeline(attentionDecodeReduceKernel, { HEAD_DIM: s.headDim, SPLITS: s.splits, WG: 32 });
  return k.dispatch(attentionDecodeReduceKernel, pipeline, [b.partial, b.out], [s.heads, 1, 1]);
}
