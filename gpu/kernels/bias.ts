// Bias add op: the only way to dispatch bias.wgsl (x[t, :] += bias in place; qwen2's q/k/v projections).
import { checkShape } from '../errors';
import { type Dispatch, type KernelDef, Kernels, grid2d } from './registry';
import source from './bias.wgsl';

export const biasKernel: KernelDef = { name: 'bias', source, bindings: ['read', 'readWrite', 'uniform'] };

export interface BiasShape {
  readonly tokens: number;
  readonly n: number;
}

export interface BiasBuffers {
  readonly bias: GPUBuffer; // (n) f32
  readonly x: GPUBuffer; //    (tokens, n) f32, updated in place
}

export function checkBias(b: BiasBuffers, s: BiasShape): void {
  checkShape(s.tokens >= 1 && s.n >= 1, `bias: tokens (${s.tokens}) and n (${s.n}) must be >= 1`);
  checkShape(b.x.size >= s.tokens * s.n * 4, `bias: x holds ${b.x.size} B, needs tokens*n*4 = ${s.tokens * s.n * 4}`);
  checkShape(b.bias.size >= s.n * 4, `bias: bias holds ${b.bias.size} B, needs n*4 = ${s.n * 4}`);
  checkShape(b.x !== b.bias, 'bias: x and bias must be different buffers');
}

/** One thread per element. */
export async function biasAdd(k: Kernels, b: BiasBuffers, s: BiasShape): Promise<Dispatch> {
  checkBias(b, s);
  const wg = 256;
  const pipeline = await k.pipeline(biasKernel, { WG: wg });
  const count = s.tokens * s.n;
  const uniform = k.uniform('bias.params', new Uint32Array([count, s.n]).buffer);
  return k.dispatch(biasKernel, pipeline, [b.bias, b.x, uniform], grid2d(Math.ceil(count / wg)));
}
