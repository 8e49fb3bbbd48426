// SwiGLU op: the only way to dispatch swiglu.wgsl.
import { checkShape } from '../errors';
import { type Dispatch, type KernelDef, Kernels, grid2d } from './registry';
import source from './swiglu.wgsl';

export const swigluKernel: KernelDef = { name: 'swiglu', source, bindings: ['read', 'read', 'readWrite', 'uniform'] };

export interface SwigluShape {
  readonly tokens: number;
  readonly ffn: number;
}

export interface SwigluBuffers {
  readonly gate: GPUBuffer; // (tokens, ffn) f32
  readonly up: GPUBuffer; //   (tokens, ffn) f32
  readonly out: GPUBuffer; //  (tokens, ffn) f32; may not be gate or up
}

export function checkSwiglu(b: SwigluBuffers, s: SwigluShape): void {
  checkShape(s.tokens >= 1 && s.ffn >= 1, `swiglu: tokens (${s.tokens}) and ffn (${s.ffn}) must be >= 1`);
  const bytes = s.tokens * s.ffn * 4;
  checkShape(b.gate.size >= bytes, `swiglu: gate holds ${b.gate.size} B, needs tokens*ffn*4 = ${bytes}`);
  checkShape(b.up.size >= bytes, `swiglu: up holds ${b.up.size} B, needs tokens*ffn*4 = ${bytes}`);
  checkShape(b.out.size >= bytes, `swiglu: out holds ${b.out.size} B, needs tokens*ffn*4 = ${bytes}`);
  // WebGPU forbids one buffer bound both read-only and writable in a dispatch.
  checkShape(b.out !== b.gate && b.out !== b.up, 'swiglu: out must be a different buffer from gate and up');
}

/** One thread per element. */
export async function swiglu(k: Kernels, b: SwigluBuffers, s: SwigluShape): Promise<Dispatch> {
  checkSwiglu(b, s);
  const wg = 256;
  const pipeline = await k.pipeline(swigluKernel, { WG: wg });
  const count = s.tokens * s.ffn;
  const uniform = k.uniform('swiglu.params', new Uint32Array([count]).buffer);
  return k.dispatch(swigluKernel, pipeline, [b.gate, b.up, b.out, uniform], grid2d(Math.ceil(count / wg)));
}
