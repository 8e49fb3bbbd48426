// Residual add op: the only way to dispatch add.wgsl (x += y in place).
import { checkShape } from '../errors';
import { type Dispatch, type KernelDef, Kernels, grid2d } from './registry';
import source from './add.wgsl';

export const addKernel: KernelDef = { name: 'add', source, bindings: ['read', 'readWrite', 'uniform'] };

export interface AddShape {
  readonly tokens: number;
  readonly dim: number;
}

export interface AddBuffers {
  readonly y: GPUBuffer; // (tokens, dim) f32
  readonly x: GPUBuffer; // (tokens, dim) f32, x += y in place
}

export function checkAdd(b: AddBuffers, s: AddShape): void {
  checkShape(s.tokens >= 1 && s.dim >= 1, `add: tokens (${s.tokens}) and dim (${s.dim}) must be >= 1`);
  const bytes = s.tokens * s.dim * 4;
  checkShape(b.x.size >= bytes, `add: x holds ${b.x.size} B, needs tokens*dim*4 = ${bytes}`);
  checkShape(b.y.size >= bytes, `add: y holds ${b.y.size} B, needs tokens*dim*4 = ${bytes}`);
  checkShape(b.x !== b.y, 'add: x and y must be different buffers (x += x is a scale, not a residual)');
}

/** One thread per element. */
export async function add(k: Kernels, b: AddBuffers, s: AddShape): Promise<Dispatch> {
  checkAdd(b, s);
  const wg = 256;
  const pipeline = await k.pipeline(addKernel, { WG: wg });
  const count = s.tokens * s.dim;
  const uniform = k.uniform('add.params', new Uint32Array([count]).buffer);
  return k.dispatch(addKernel, pipeline, [b.y, b.x, uniform], grid2d(Math.ceil(count / wg)));
}
