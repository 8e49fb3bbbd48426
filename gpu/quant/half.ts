// IEEE binary16 (f16) and bfloat16 conversions, exact in the direction a decoder needs (16 → 64 bit) and
// round-to-nearest-even in the direction an encoder needs (32 → 16 bit), as ggml's converters are.

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The value of the f16 with bits `h` (exact; subnormals, ±Inf and NaN included). */
export function f16ToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1024 + frac) * 2 ** (exp - 25);
}

/** The f16 bits nearest to `x` (ties to even; overflow to ±Inf; NaN stays NaN). */
export function numberToF16(x: number): number {
  f32[0] = x; // through f32 first, as ggml converts f32 values
  const bits = u32[0];
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  let frac = bits & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (frac ? 0x200 : 0);
  const e = exp - 127 + 15; // re-biased exponent
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    // Subnormal f16 (or zero): shift the full significand into place, then round.
    if (e < -10) return sign;
    frac |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rest = frac & ((1 << shift) - 1);
    let h = frac >>> shift;
    if (rest > half || (rest === half && h & 1)) h++;
    return sign | h; // a carry into bit 10 correctly gives the smallest normal
  }
  const rest = frac & 0x1fff;
  let h = (e << 10) | (frac >>> 13);
  if (rest > 0x1000 || (rest === 0x1000 && h & 1)) h++; // a carry may overflow into Inf: correct
  return sign | h;
}

/** The value of the bfloat16 with bits `b`: the upper half of an f32 (exact). */
export function bf16ToNumber(b: number): number {
  u32[0] = (b & 0xffff) << 16;
  return f32[0];
}

/** The bfloat16 bits nearest to `x` (ties to even, as ggml's fp32→bf16; NaN kept quiet). */
export function numberToBf16(x: number): number {
  f32[0] = x;
  const bits = u32[0];
  if ((bits & 0x7fffffff) > 0x7f800000) return ((bits >>> 16) | 0x40) & 0xffff;
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}

/** `x` rounded to the nearest f16 value. */
export function roundToF16(x: number): number {
  return f16ToNumber(numberToF16(x));
}

/** The f16 bits of the smallest f16 value >= `x` (x >= 0, finite): a block scale that never clips. */
export function numberToF16Up(x: number): number {
  const h = numberToF16(x);
  return f16ToNumber(h) < x ? h + 1 : h;
}
