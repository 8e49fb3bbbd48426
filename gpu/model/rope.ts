// RoPE frequencies, computed once at load in float64 and uploaded as a small table (gpu/kernels/rope.wgsl reads it).
//
// Pair i of the `dims` rotated dimensions turns by angle = position * invFreq[i], with
//   invFreq[i] = freqScale * theta^(-2i/dims) / freqFactor[i]
// as in ggml's rope (`theta/ff` then `freq_scale *`): freqScale = 1/factor for linear scaling, freqFactor[i] from
// Llama 3 scaling or from the GGUF tensor `rope_freqs.weight` (llama.cpp's converter stores Llama 3.x scaling that way).
//
// Precision: the angle itself is not computed in f32. At position 131071 an f32 angle fround(pos * fround(invFreq))
// is off by up to 2.3e-3 rad (qwen2.5, head 128) and 2.8e-3 rad (llama 3.2 with llama3 scaling) against float64:
// angles near 1e5 rad have an f32 ulp of 2^-7..2^-6 (test/unit/ropeFrequencies.test.ts measures it). The table
// therefore holds each frequency in *turns per position*, split so that the GPU forms the angle mod 2π from exact
// products, good to 1e-6 rad at any position below 2^24; see ropeAngleTable. (llama.cpp and Hugging Face compute the
// angle in f32, so at long context they differ from this engine and from float64 by those few mrad.)
import { EngineError, checkShape } from '../errors';

/** Which dimensions rotate together: llama in GGUF rotates adjacent pairs, qwen2/qwen3 rotate halves. */
export type RopeStyle = 'normal' | 'neox';

/** RoPE scaling as GGUF metadata (`rope.scaling.*`) or config.json (`rope_scaling`) describe it. */
export type RopeScaling =
  | { readonly type: 'none' }
  /** Position interpolation: every frequency divided by `factor`. */
  | { readonly type: 'linear'; readonly factor: number }
  /** Llama 3.1+ (`rope_type: llama3`): long wavelengths divided by `factor`, short kept, a smooth band between. */
  | {
      readonly type: 'llama3';
      readonly factor: number;
      readonly lowFreqFactor: number;
      readonly highFreqFactor: number;
      readonly originalContextLength: number;
    };

export interface RopeFrequencyConfig {
  /** Rotated dimensions per head (`rope.dimension_count`); even, at most headDim. */
  readonly dims: number;
  /** Base (`rope.freq_base`). */
  readonly theta: number;
  readonly scaling?: RopeScaling;
  /** Per-pair divisors (dims/2), e.g. the GGUF tensor `rope_freqs.weight`. Not together with llama3 scaling. */
  readonly freqFactors?: ArrayLike<number>;
}

/** Positions the angle table supports: position = hi * 4096 + lo with hi, lo < 4096 (see ropeAngleTable). */
export const ROPE_MAX_POSITIONS = 1 << 24;
const SPLIT = 4096;

/**
 * Llama 3 frequency divisors (dims/2): 1 where the wavelength is shorter than original/highFreqFactor, `factor` where
 * it is longer than original/lowFreqFactor, and 1/((1-s)/factor + s) with s = (original/wavelength - low)/(high - low)
 * between: the values llama.cpp's converter writes to `rope_freqs.weight`.
 */
export function llama3FreqFactors(dims: number, theta: number, s: Extract<RopeScaling, { type: 'llama3' }>): Float64Array {
  checkDims(dims);
  if (!(s.factor > 0 && s.highFreqFactor > s.lowFreqFactor && s.lowFreqFactor > 0 && s.originalContextLength > 0)) {
    throw new EngineError(
      'rope-config',
      `llama3 rope scaling needs factor > 0 and highFreqFactor > lowFreqFactor > 0 and originalContextLength > 0; got ` +
        `factor ${s.factor}, lowFreqFactor ${s.lowFreqFactor}, highFreqFactor ${s.highFreqFactor}, ` +
        `originalContextLength ${s.originalContextLength}`,
    );
  }
  const lowFreqWavelength = s.originalContextLength / s.lowFreqFactor;
  const highFreqWavelength = s.originalContextLength / s.highFreqFactor;
  const out = new Float64Array(dims / 2);
  for (let i = 0; i < dims / 2; i++) {
    const wavelength = (2 * Math.PI) / theta ** (-(2 * i) / dims);
    if (wavelength < highFreqWavelength) out[i] = 1;
    else if (wavelength > lowFreqWavelength) out[i] = s.factor;
    else {
      const smooth = (s.originalContextLength / wavelength - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
      out[i] = 1 / ((1 - smooth) / s.factor + smooth);
    }
  }
  return out;
}

/** Inverse frequencies in radians per position (dims/2), float64. */
export function ropeInvFreq(c: RopeFrequencyConfig): Float64Array {
  checkDims(c.dims);
  if (!(c.theta > 0)) throw new EngineError('rope-config', `rope theta must be > 0, got ${c.theta}`);
  const scaling = c.scaling ?? { type: 'none' };
  let factors: ArrayLike<number> | undefined = c.freqFactors;
  if (scaling.type === 'llama3') {
    if (factors) {
      // llama.cpp's converter writes llama3 scaling as rope_freqs.weight: applying both would scale twice.
      throw new EngineError('rope-config', 'rope: both llama3 scaling and freqFactors (rope_freqs.weight) given; pass one');
    }
    factors = llama3FreqFactors(c.dims, c.theta, scaling);
  }
  if (factors) {
    checkShape(factors.length === c.dims / 2, `rope: freqFactors has ${factors.length} values, needs dims/2 = ${c.dims / 2}`);
  }
  let freqScale = 1;
  if (scaling.type === 'linear') {
    if (!(scaling.factor > 0)) throw new EngineError('rope-config', `linear rope scaling factor must be > 0, got ${scaling.factor}`);
    freqScale = 1 / scaling.factor;
  }
  const out = new Float64Array(c.dims / 2);
  for (let i = 0; i < out.length; i++) {
    const ff = factors ? factors[i] : 1;
    if (!(ff > 0)) throw new EngineError('rope-config', `rope freq factor [${i}] must be > 0, got ${ff}`);
    out[i] = (freqScale * c.theta ** (-(2 * i) / c.dims)) / ff;
  }
  return out;
}

/**
 * The GPU table (dims/2, 4) f32: per pair [fHi, fLo, gHi, gLo] where f = invFreq/2π (turns per position),
 * g = frac(4096 f), and each *Hi keeps 12 significant bits. With position = hi*4096 + lo (hi, lo < 4096),
 *   turns ≡ frac(lo*fHi) + frac(hi*gHi) + lo*fLo + hi*gLo   (mod 1)
 * where both products with *Hi are exact in f32 (12 × 12 bits) and so are their fractional parts, so the angle reduced
 * to [-π, π] is good to ~1e-6 rad (a few f32 roundings of numbers below 1) at every position below 2^24, where an f32
 * pos*invFreq is off by up to ~3e-3 rad at 128K.
 */
export function ropeAngleTable(invFreq: ArrayLike<number>): Float32Array {
  const out = new Float32Array(invFreq.length * 4);
  for (let i = 0; i < invFreq.length; i++) {
    const f = invFreq[i] / (2 * Math.PI);
    const g = frac(SPLIT * f);
    const fHi = top12Bits(f);
    const gHi = top12Bits(g);
    out.set([fHi, f - fHi, gHi, g - gHi], i * 4);
  }
  return out;
}

/**
 * What rope.wgsl computes from one table row, emulated in f32 on the host (Math.fround after every operation):
 * the angle in radians in [-π, π]. For tests and for measuring the table's precision.
 */
export function ropeAngleF32(row: ArrayLike<number>, position: number): number {
  const r = Math.fround;
  const hi = Math.floor(position / SPLIT);
  const lo = position % SPLIT;
  const a = r(lo * row[0]); // exact
  const b = r(hi * row[2]); // exact
  let turns = r(r(r(a - Math.round(a)) + r(b - Math.round(b))) + r(r(lo * row[1]) + r(hi * row[3])));
  turns = r(turns - Math.round(turns));
  return r(turns * r(2 * Math.PI));
}

function frac(x: number): number {
  return x - Math.floor(x);
}

/** `x` (>= 0) as f32 with only its 12 leading significant bits kept (sign, exponent, the implicit bit and 11 stored mantissa bits). */
function top12Bits(x: number): number {
  bits[0] = x;
  words[0] &= 0xfffff000;
  return bits[0];
}
const bits = new Float32Array(1);
const words = new Uint32Array(bits.buffer);

function checkDims(dims: number): void {
  checkShape(Number.isInteger(dims) && dims >= 2 && dims % 2 === 0, `rope: dims (${dims}) must be an even integer >= 2`);
}
