// RMSNorm op: the only way to dispatch rmsnorm.wgsl.
import { checkShape } from '../errors';
import { type Dispatch, type KernelDef, Kernels } from './registry';
import source from './rmsnorm.wgsl';

export const rmsNormKernel: KernelDef = { name: 'rmsnorm', source, bindings: ['read', 'read', 'readWrite', 'uniform'] };

export interface RmsNormShape {
  readonly rows: number;
  readonly dim: number;
  readonly eps: number;
}

export interface RmsNormBuffers {
  readonly x: GPUBuffer; //      (rows, dim) f32
  readonly weight: GPUBuffer; // (dim) f32
  readonly out: GPUBuffer; //    (rows, dim) f32
}

export function checkRmsNorm(b: RmsNormBuffers, s: RmsNormShape): void {
  checkShape(s.rows >= 1 && s.dim >= 1, `rmsnorm: rows (${s.rows}) and dim (${s.dim}) must be >= 1`);
  checkShape(b.x.size >= s.rows * s.dim * 4, `rmsnorm: x holds ${b.x.size} B, needs rows*dim*4 = ${s.rows * s.dim * 4}`);
  checkShape(b.weight.size >= s.dim * 4, `rmsnorm: weight holds ${b.weight.size} B, needs dim*4 = ${s.dim * 4}`);
  checkShape(b.out.size >= s.rows * s.dim * 4, `rmsnorm: out holds ${b.out.size} B, needs rows*dim*4 = ${s.rows * s.dim * 4}`);
  checkShape(b.x !== b.out, 'rmsnorm: x and out must be different buffers');
}

/** One workgroup per row. */
export async function rmsNorm(k: Kernels, b: RmsNormBuffers, s: RmsNormShape): Promise<Dispatch> {
  checkRmsNorm(b, s);
  const wg = k.gpu.summary.isSoftware ? 64 : 256;
  const pipeline = await k.pipeline(rmsNormKernel, { WG: wg });
  const params = new ArrayBuffer(16);
  new Uint32Array(params, 0, 2).set([s.rows, s.dim]);
  new Float32Array(params, 8, 1)[0] = s.eps;
  const uniform = k.uniform('rmsnorm.params', params);
  return k.dispatch(rmsNormKernel, pipeline, [b.x, b.weight, b.out, uniform], [s.rows, 1, 1]);
}
