// Top-k op: the only way to dispatch topk.wgsl. Sampling reads back only these k pairs (gpu/sample.ts says why).
// Rounds: round 0 sorts slices of S logits and keeps k of each; each next round does the same to the survivors,
// ping-ponging between two scratch buffers, until one slice is left, which writes `out`. Vocabulary 151936 with
// k = 256 and S = 1024: 149 -> 38 -> 10 -> 3 -> 1 workgroups.
import { checkShape } from '../errors';
import { type Dispatch, type KernelDef, Kernels } from './registry';
import source from './topk.wgsl';

export const topKKernel: KernelDef = { name: 'topk', source, bindings: ['read', 'readWrite', 'uniform'] };

/** Largest k the op takes (the sampler's candidate list). */
export const TOPK_MAX = 256;

export interface TopKShape {
  readonly vocab: number;
  /** Candidates kept: 1 <= k <= min(TOPK_MAX, vocab). */
  readonly k: number;
  /** Items sorted per workgroup: a power of two >= 2k; default defaultTopKSortSize. */
  readonly sortSize?: number;
}

export interface TopKBuffers {
  readonly logits: GPUBuffer; //                  (vocab) f32
  readonly scratch: readonly [GPUBuffer, GPUBuffer]; // each topKScratchBytes(shape): (groups, k, 2) u32 [key, index]
  readonly out: GPUBuffer; //                     (k, 2) u32 [f32 value bits, index], best first
}

/** One round: `n` input items sorted in `groups` slices of sortSize. */
export interface TopKRound {
  readonly n: number;
  readonly groups: number;
}

/** The rounds the op dispatches, in order; the last has one group. */
export function topKRounds(vocab: number, k: number, sortSize: number): TopKRound[] {
  const rounds: TopKRound[] = [];
  let n = vocab;
  for (;;) {
    const groups = Math.ceil(n / sortSize);
    rounds.push({ n, groups });
    if (groups === 1) return rounds;
    n = groups * k;
  }
}

/** Bytes of each of the two scratch buffers: the widest intermediate round (at least 16). */
export function topKScratchBytes(vocab: number, k: number, sortSize: number): number {
  const rounds = topKRounds(vocab, k, sortSize);
  return Math.max(16, ...rounds.slice(0, -1).map((r) => r.groups * k * 8));
}

/**
 * The default sortSize: the power of two nearest above 4k, at least 256, at most 2048 and 2 × the largest workgroup.
 * Measured on the H100 over 151936 logits: k 256 takes 63 µs with 1024 (83 µs with 2048, 86 µs with 512); k 40 takes
 * 34 µs with 256 (45 µs with 128, 63 µs with 2048). Smaller sorts mean more, cheaper rounds.
 */
export function defaultTopKSortSize(kernels: Kernels, k: number): number {
  let size = 256;
  while (size < 4 * k) size *= 2;
  return Math.min(size, 2048, 2 * kernels.gpu.summary.limits.maxComputeInvocationsPerWorkgroup);
}

export function checkTopK(b: TopKBuffers, s: TopKShape, sortSize: number, maxInvocations: number): void {
  checkShape(Number.isInteger(s.vocab) && s.vocab >= 1, `topk: vocab (${s.vocab}) must be an integer >= 1`);
  checkShape(
    Number.isInteger(s.k) && s.k >= 1 && s.k <= Math.min(TOPK_MAX, s.vocab),
    `topk: k (${s.k}) must be an integer in [1, min(${TOPK_MAX}, vocab ${s.vocab})]`,
  );
  checkShape(
    sortSize >= 2 * s.k && (sortSize & (sortSize - 1)) === 0 && sortSize / 2 <= maxInvocations,
    `topk: sortSize (${sortSize}) must be a power of two >= 2k = ${2 * s.k} with sortSize/2 <= ${maxInvocations} threads`,
  );
  checkShape(b.logits.size >= s.vocab * 4, `topk: logits holds ${b.logits.size} B, needs vocab*4 = ${s.vocab * 4}`);
  checkShape(b.out.size >= s.k * 8, `topk: out holds ${b.out.size} B, needs k*8 = ${s.k * 8}`);
  const scratch = topKScratchBytes(s.vocab, s.k, sortSize);
  for (const [i, buf] of b.scratch.entries()) {
    checkShape(buf.size >= scratch, `topk: scratch[${i}] holds ${buf.size} B, needs topKScratchBytes = ${scratch}`);
  }
  const all = [b.logits, b.scratch[0], b.scratch[1], b.out];
  checkShape(new Set(all).size === all.length, 'topk: logits, scratch[0], scratch[1] and out must be four different buffers');
}

/** Returns the rounds' dispatches, to encode in order. */
export async function topK(k: Kernels, b: TopKBuffers, s: TopKShape): Promise<Dispatch[]> {
  const sortSize = s.sortSize ?? defaultTopKSortSize(k, s.k);
  checkTopK(b, s, sortSize, k.gpu.summary.limits.maxComputeInvocationsPerWorkgroup);
  const rounds = topKRounds(s.vocab, s.k, sortSize);
  checkShape(rounds[0].groups <= 65535, `topk: vocab ${s.vocab} needs ${rounds[0].groups} workgroups, more than 65535`);
  const dispatches: Dispatch[] = [];
  for (const [r, round] of rounds.entries()) {
    const first = r === 0;
    const last = r === rounds.length - 1;
    const pipeline = await k.pipeline(topKKernel, { S: sortSize, FIRST: first ? 1 : 0, LAST: last ? 1 : 0 });
    const input = first ? b.logits : b.scratch[(r - 1) % 2];
    const output = last ? b.out : b.scratch[r % 2];
    const params = k.uniform(`topk.params.round${r}`, new Uint32Array([round.n, s.k]).buffer);
    dispatches.push(k.dispatch(topKKernel, pipeline, [input, output, params], [round.groups, 1, 1]));
  }
  return dispatches;
}
