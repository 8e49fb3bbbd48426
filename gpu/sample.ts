// The host part of sampling: turning the k best logits the GPU found into one token id.
//
// Why sampling is split between GPU and host: a decode step ends with logits for the whole vocabulary (151936 f32 =
// 594 KiB for Qwen). Reading them back is the slow part of a step's tail, and picking the best of 151936 floats in JS
// costs more again (a typed sort + scan took 30–40 ms on the 2-core dev machine). The GPU instead reduces them:
// gpu/kernels/topk.ts leaves k <= 256 [value, index] pairs, best first (2 KiB), and greedy decoding uses
// gpu/kernels/argmax.ts (a 4-byte token id, which can also feed the next step's embedding without a readback).
// Measured on the H100: top-k of 151936 with k = 256 takes 83 µs of GPU time (argmax 8.5 µs), and a step's
// submit → top-k → 2 KiB readback round trip 0.28 ms, against 0.47 ms to read the 594 KiB of logits alone.
// The host then does what is cheap on k items and awkward on a GPU: temperature, top-k, top-p and a seeded draw in
// float64, reproducible on every machine.
//
// Consequence: with topK = 0 ("no limit") the distribution is over the candidates the GPU returned (k of them), not
// the whole vocabulary: the mass beyond them is dropped and the rest renormalized. That mass is small for a peaked
// next-token distribution and grows with temperature; a vocabulary no larger than k is sampled exactly.
//
// Order of the filters (as Hugging Face's and Ollama's samplers): top-k, then temperature, then top-p on the tempered
// probabilities. llama.cpp's default chain applies top-p before temperature; the two differ only when both are set.
import type { Gpu } from './device';
import { EngineError, checkShape } from './errors';

/** What the user asked for. */
export interface SamplingParams {
  /** <= 0: greedy (the largest logit, lowest id on ties); otherwise logits are divided by it before softmax. */
  readonly temperature: number;
  /** Keep the topK best candidates; 0: keep all the GPU returned. */
  readonly topK: number;
  /** Keep the smallest best-first prefix whose probability reaches topP (0 < topP <= 1); 1: keep all. */
  readonly topP: number;
  /** Same seed, same logits: same tokens. An integer in [0, 2^53). */
  readonly seed: number;
}

/** The GPU's top-k result on the host: logits[i] belongs to token ids[i]. */
export interface Candidates {
  readonly logits: Float32Array;
  readonly ids: Uint32Array;
}

/** A distribution over candidate tokens after the filters: probs sum to 1, best first. */
export interface CandidateDistribution {
  readonly ids: Uint32Array;
  readonly probs: Float64Array;
}

export function checkSamplingParams(p: SamplingParams): void {
  const bad = (what: string) => new EngineError('sampling-params', `sampling: ${what}`);
  if (!(Number.isFinite(p.temperature) && p.temperature >= 0)) throw bad(`temperature (${p.temperature}) must be finite and >= 0`);
  if (!(Number.isInteger(p.topK) && p.topK >= 0)) throw bad(`topK (${p.topK}) must be an integer >= 0`);
  if (!(p.topP > 0 && p.topP <= 1)) throw bad(`topP (${p.topP}) must be in (0, 1]`);
  if (!(Number.isInteger(p.seed) && p.seed >= 0 && p.seed < 2 ** 53)) throw bad(`seed (${p.seed}) must be an integer in [0, 2^53)`);
}

/** The top-k kernel's output (k, 2) u32 [f32 value bits, index] as Candidates. */
export function decodeCandidates(words: ArrayBuffer, k: number): Candidates {
  const u32 = new Uint32Array(words, 0, 2 * k);
  const f32 = new Float32Array(words, 0, 2 * k);
  const logits = new Float32Array(k);
  const ids = new Uint32Array(k);
  for (let i = 0; i < k; i++) {
    logits[i] = f32[2 * i];
    ids[i] = u32[2 * i + 1];
  }
  return { logits, ids };
}

/** Candidate positions, best first: larger logit, then lower id; NaN logits dropped. */
function ranked(c: Candidates): number[] {
  const order: number[] = [];
  for (let i = 0; i < c.logits.length; i++) if (!Number.isNaN(c.logits[i])) order.push(i);
  order.sort((a, b) => c.logits[b] - c.logits[a] || c.ids[a] - c.ids[b]);
  if (order.length === 0) {
    throw new EngineError('sampling-nan', `sampling: all ${c.logits.length} candidate logits are NaN (the forward pass produced NaN)`);
  }
  return order;
}

/** The greedy token: the largest logit, lowest id among equals (llama.cpp's greedy sampler). */
export function greedyToken(c: Candidates): number {
  return c.ids[ranked(c)[0]];
}

/** Applies top-k, temperature (> 0) and top-p, in that order, in float64. */
export function candidateDistribution(c: Candidates, p: SamplingParams): CandidateDistribution {
  checkSamplingParams(p);
  if (p.temperature <= 0) throw new EngineError('sampling-params', 'sampling: temperature 0 is greedy: use greedyToken');
  let order = ranked(c);
  if (p.topK > 0) order = order.slice(0, p.topK);
  const max = c.logits[order[0]];
  // exp((l - max)/T): the best candidate weighs 1; +inf logits (if any) share all the mass.
  let weights = order.map((i) =>
    max === Infinity ? (c.logits[i] === Infinity ? 1 : 0) : Math.exp((c.logits[i] - max) / p.temperature),
  );
  let total = weights.reduce((a, b) => a + b, 0);
  if (p.topP < 1) {
    let cumulative = 0;
    let keep = weights.length;
    for (let j = 0; j < weights.length; j++) {
      cumulative += weights[j] / total;
      if (cumulative >= p.topP) {
        keep = j + 1;
        break;
      }
    }
    order = order.slice(0, keep);
    weights = weights.slice(0, keep);
    total = weights.reduce((a, b) => a + b, 0);
  }
  return { ids: Uint32Array.from(order, (i) => c.ids[i]), probs: Float64Array.from(weights, (w) => w / total) };
}

/** Draws from a distribution with one uniform number u in [0, 1). */
export function drawFrom(d: CandidateDistribution, u: number): number {
  let cumulative = 0;
  for (let j = 0; j < d.probs.length; j++) {
    cumulative += d.probs[j];
    if (u < cumulative) return d.ids[j];
  }
  return d.ids[d.ids.length - 1]; // u within rounding of 1
}

/**
 * A seeded generator of floats in [0, 1) with 53 random bits: xoshiro128** seeded through splitmix32 from the low
 * and high words of `seed`. Deterministic across machines and Node versions (integer arithmetic only).
 */
export function seededRandom(seed: number): () => number {
  let mix = (seed >>> 0) ^ 0x5bd1e995;
  const next32 = () => {
    mix = (mix + 0x9e3779b9) | 0;
    let z = mix;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
  const high = Math.floor(seed / 2 ** 32) >>> 0;
  const s = [next32(), next32(), next32() ^ high, next32() ^ Math.imul(high, 0x27d4eb2f)];
  const rotl = (x: number, r: number) => (x << r) | (x >>> (32 - r));
  const word = () => {
    const result = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  };
  return () => ((word() >>> 5) * 67108864 + (word() >>> 6)) / 9007199254740992;
}

/** One request's sampler: holds the seeded generator, so the same params and logits give the same tokens. */
export class Sampler {
  private readonly random: () => number;

  constructor(readonly params: SamplingParams) {
    checkSamplingParams(params);
    this.random = seededRandom(params.seed);
  }

  /** Greedy: the decode loop can use the argmax kernel (4 bytes back) instead of top-k. */
  get greedy(): boolean {
    return this.params.temperature <= 0;
  }

  /** The next token from the GPU's candidates. Greedy draws no random number. */
  pick(c: Candidates): number {
    if (this.greedy) return greedyToken(c);
    return drawFrom(candidateDistribution(c, this.params), this.random());
  }
}

/**
 * A small result read back every decode step (the top-k pairs or the argmax id) through a ring of MAP_READ buffers
 * made at load: encode() adds the copy into one slot to the step's encoder, read() of that slot maps, copies out and
 * unmaps. Two slots let a greedy generate() map one step's result while the next step, already submitted, copies
 * into the other; a slot is read (or dropped unread) before it is encoded again.
 */
export class ResultReadback {
  /** The ring: slot s uses staging[s % slots]. */
  private readonly staging: GPUBuffer[];

  constructor(
    private readonly gpu: Gpu,
    private readonly source: GPUBuffer,
    readonly bytes: number,
    label = 'readback.result',
    slots = 2,
  ) {
    checkShape(
      bytes > 0 && bytes % 4 === 0 && bytes <= source.size,
      `${label}: bytes (${bytes}) must be a positive multiple of 4 and <= the source's ${source.size} B`,
    );
    const { GPUBufferUsage } = gpu.constants;
    this.staging = Array.from({ length: slots }, (_, s) =>
      gpu.device.createBuffer({ label: `${label}[${s}]`, size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST }),
    );
  }

  /** Records the copy from the source into `slot`; encode after the dispatches that write it. */
  encode(encoder: GPUCommandEncoder, slot: number): void {
    encoder.copyBufferToBuffer(this.source, 0, this.at(slot), 0, this.bytes);
  }

  /** The bytes copied by the last submitted encode() into `slot`; waits for that submit (not for later ones). */
  async read(slot: number): Promise<ArrayBuffer> {
    const staging = this.at(slot);
    await staging.mapAsync(this.gpu.constants.GPUMapMode.READ);
    try {
      return staging.getMappedRange().slice(0);
    } finally {
      staging.unmap();
    }
  }

  destroy(): void {
    for (const b of this.staging) b.destroy();
  }

  private at(slot: number): GPUBuffer {
    return this.staging[slot % this.staging.length];
  }
}
