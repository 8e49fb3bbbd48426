// Greedy argmax op: the only way to dispatch argmax.wgsl. Two dispatches: slices of the vocabulary to [key, index]
// pairs in `scratch`, then one workgroup to the token id in `out` (4 bytes to read back, or to feed the next embed).
import { checkShape } from '../errors';
import { type Dispatch, type KernelDef, Kernels } from './registry';
import source from './argmax.wgsl';

export const argmaxKernel: KernelDef = { name: 'argmax', source, bindings: ['read', 'readWrite', 'uniform'] };

export interface ArgmaxShape {
  readonly vocab: number;
}

export interface ArgmaxBuffers {
  readonly logits: GPUBuffer; //  (vocab) f32
  readonly scratch: GPUBuffer; // (groups, 2) u32 [key, index]: argmaxScratchBytes(vocab)
  readonly out: GPUBuffer; //     (1) u32 token id
}

/** Logits each workgroup of the first pass reduces (151936 -> 75 pairs for the final pass). */
const PER_GROUP = 2048;

/** Bytes the first pass writes: one [key, index] pair per slice of PER_GROUP logits. */
export function argmaxScratchBytes(vocab: number): number {
  return Math.ceil(vocab / PER_GROUP) * 8;
}

export function checkArgmax(b: ArgmaxBuffers, s: ArgmaxShape): void {
  checkShape(Number.isInteger(s.vocab) && s.vocab >= 1, `argmax: vocab (${s.vocab}) must be an integer >= 1`);
  checkShape(b.logits.size >= s.vocab * 4, `argmax: logits holds ${b.logits.size} B, needs vocab*4 = ${s.vocab * 4}`);
  const scratch = argmaxScratchBytes(s.vocab);
  checkShape(b.scratch.size >= scratch, `argmax: scratch holds ${b.scratch.size} B, needs argmaxScratchBytes = ${scratch}`);
  checkShape(b.out.size >= 4, `argmax: out holds ${b.out.size} B, needs 4`);
  checkShape(b.logits !== b.scratch && b.scratch !== b.out, 'argmax: logits, scratch and out must be different buffers');
}

/** Returns the two dispatches, to encode in order. */
export async function argmax(k: Kernels, b: ArgmaxBuffers, s: ArgmaxShape): Promise<Dispatch[]> {
  checkArgmax(b, s);
  const wg = k.gpu.summary.isSoftware ? 64 : 256;
  const perGroup = PER_GROUP;
  const groups = Math.ceil(s.vocab / perGroup);
  checkShape(groups <= 65535, `argmax: vocab ${s.vocab} needs ${groups} workgroups, more than 65535`);
  const slices = await k.pipeline(argmaxKernel, { WG: wg, FINAL: 0 });
  const final = await k.pipeline(argmaxKernel, { WG: wg, FINAL: 1 });
  const p1 = k.uniform('argmax.params.slices', new Uint32Array([s.vocab, perGroup]).buffer);
  const p2 = k.uniform('argmax.params.final', new Uint32Array([groups, groups]).buffer);
  return [
    k.dispatch(argmaxKernel, slices, [b.logits, b.scratch, p1], [groups, 1, 1]),
    k.dispatch(argmaxKernel, final, [b.scratch, b.out, p2], [1, 1, 1]),
  ];
}
