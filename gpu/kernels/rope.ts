// RoPE op: the only way to dispatch rope.wgsl. Positions come from a small step uniform that the host rewrites each
// step (writeRopeStep); the dispatch, its bind group and its params are made once at load. One dispatch can rotate
// two tensors (q and k of a layer: `second`, `x2`).
import type { Gpu } from '../device';
import { checkShape } from '../errors';
import { ROPE_MAX_POSITIONS, type RopeStyle } from '../model/rope';
import { type Dispatch, type KernelDef, Kernels, grid2d } from './registry';
import source from './rope.wgsl';

export const ropeKernel: KernelDef = { name: 'rope', source, bindings: ['read', 'readWrite', 'readWrite', 'uniform', 'uniform'] };

/** Where the heads of one rotated tensor lie in its buffer. */
export interface RopeTensor {
  readonly heads: number;
  /** f32 elements from one token's row to the next; default heads * headDim. */
  readonly tokenStride?: number;
  /** f32 elements before token 0, head 0; default 0. */
  readonly offset?: number;
}

/** Shape of x (heads, tokenStride, offset), and of x2 in `second`. */
export interface RopeShape extends RopeTensor {
  /** Tokens the dispatch covers: 1 for decodeStep, the largest run for prefill (a step may use fewer). */
  readonly tokens: number;
  readonly headDim: number;
  /** Rotated dimensions per head (`rope.dimension_count`): even, <= headDim. */
  readonly dims: number;
  readonly style: RopeStyle;
  /** x2's heads (with buffers' x2): rotated by the same dispatch, at the same positions. */
  readonly second?: RopeTensor;
}

export interface RopeBuffers {
  readonly angles: GPUBuffer; // (dims/2, 4) f32 from ropeAngleTable, uploaded once
  readonly x: GPUBuffer; //      (tokens, tokenStride) f32, rotated in place
  readonly x2?: GPUBuffer; //    (tokens, second.tokenStride) f32, rotated in place (k beside q)
  readonly step: GPUBuffer; //   RopeStep uniform from createRopeStep: u32 pos0, u32 tokens
}

/** Bytes of the step uniform: u32 pos0, u32 tokens, padding. */
export const ROPE_STEP_BYTES = 16;

/**
 * The per-step uniform every RoPE dispatch of a forward pass can share (q and k of all layers): made once at load,
 * rewritten with writeRopeStep before each submit. Starts at pos0 0, tokens 0 (rotates nothing until written).
 */
export function createRopeStep(k: Kernels, label = 'rope.step'): GPUBuffer {
  return k.uniform(label, new ArrayBuffer(ROPE_STEP_BYTES));
}

/** Sets the step's positions to pos0 .. pos0 + tokens - 1 (queue.writeBuffer: no GPU object is created). */
export function writeRopeStep(gpu: Gpu, step: GPUBuffer, pos0: number, tokens: number): void {
  checkShape(
    Number.isInteger(pos0) && Number.isInteger(tokens) && pos0 >= 0 && tokens >= 0 && pos0 + tokens <= ROPE_MAX_POSITIONS,
    `rope step: positions pos0 (${pos0}) .. pos0 + tokens (${tokens}) must be integers in [0, ${ROPE_MAX_POSITIONS}]`,
  );
  gpu.device.queue.writeBuffer(step, 0, new Uint32Array([pos0, tokens, 0, 0]));
}

/** One rotated tensor's layout checks; `name` is x or x2. */
function checkTensor(name: string, x: GPUBuffer, t: RopeTensor, s: RopeShape): void {
  const stride = t.tokenStride ?? t.heads * s.headDim;
  const offset = t.offset ?? 0;
  checkShape(
    offset >= 0 && stride >= t.heads * s.headDim,
    `rope: ${name}'s tokenStride (${stride}) must be >= heads*headDim = ${t.heads * s.headDim} and offset (${offset}) >= 0`,
  );
  const needed = (offset + (s.tokens - 1) * stride + t.heads * s.headDim) * 4;
  checkShape(
    x.size >= needed,
    `rope: ${name} holds ${x.size} B, needs (offset + (tokens-1)*tokenStride + heads*headDim)*4 = ${needed}`,
  );
}

export function checkRope(b: RopeBuffers, s: RopeShape): void {
  checkShape(
    s.tokens >= 1 && s.heads >= 1 && s.headDim >= 1,
    `rope: tokens (${s.tokens}), heads (${s.heads}) and headDim (${s.headDim}) must be >= 1`,
  );
  checkShape(
    s.dims >= 2 && s.dims % 2 === 0 && s.dims <= s.headDim,
    `rope: dims (${s.dims}) must be even, >= 2 and <= headDim (${s.headDim})`,
  );
  checkTensor('x', b.x, s, s);
  checkShape(!s.second === !b.x2, `rope: x2 and second come together (x2 ${b.x2 ? 'given' : 'missing'}, second ${s.second ? 'given' : 'missing'})`);
  if (s.second && b.x2) {
    checkShape(s.second.heads >= 1, `rope: second's heads (${s.second.heads}) must be >= 1`);
    checkShape(b.x2 !== b.x, 'rope: x and x2 must be different buffers');
    checkTensor('x2', b.x2, s.second, s);
  }
  checkShape(b.angles.size >= s.dims * 8, `rope: angles holds ${b.angles.size} B, needs (dims/2)*16 = ${s.dims * 8}`);
  checkShape(b.step.size >= ROPE_STEP_BYTES, `rope: step holds ${b.step.size} B, needs ${ROPE_STEP_BYTES}`);
}

/** One thread per rotated pair; the step uniform says which positions and how many tokens. */
export async function rope(k: Kernels, b: RopeBuffers, s: RopeShape): Promise<Dispatch> {
  checkRope(b, s);
  const wg = 64;
  const pipeline = await k.pipeline(ropeKernel, { WG: wg, NEOX: s.style === 'neox' ? 1 : 0 });
  const second = s.second ?? { heads: 0 };
  const params = new Uint32Array([
    s.tokens,
    s.heads,
    s.headDim,
    s.dims / 2,
    s.tokenStride ?? s.heads * s.headDim,
    s.offset ?? 0,
    second.heads,
    second.tokenStride ?? second.heads * s.headDim,
    second.offset ?? 0,
  ]);
  const uniform = k.uniform(`rope.params`, params.buffer);
  const threads = s.tokens * (s.heads + second.heads) * (s.dims / 2);
  return k.dispatch(ropeKernel, pipeline, [b.angles, b.x, b.x2 ?? k.standIn('rope.unusedX2'), uniform, b.step], grid2d(Math.ceil(threads / wg)));
}

