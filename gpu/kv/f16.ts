// IEEE half precision on the host: reading back (and later persisting) f16 KV pages, and the f16 rounding the
// float64 references model. Node 20 has no Float16Array.
import type { KvType } from './layout';

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The f16 bit pattern nearest to `x` (round to nearest, ties to even; overflow to ±inf), via f32 as the GPU sees it. */
export function f16Bits(x: number): number {
  f32[0] = x;
  const b = u32[0];
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  const mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // Subnormal half (or zero): the value is (1.mant) · 2^(exp-127) = m · 2^-24 with m = (mant | 2^23) >> (14 - e).
    if (e < -10) return sign;
    const full = mant | 0x800000;
    const shift = 14 - e;
    let half = full >>> shift;
    const rem = full & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rem > halfway || (rem === halfway && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++; // a carry into the exponent is still the right value
  return sign | half;
}

/** The number an f16 bit pattern holds. */
export function f16Value(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >>> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 31) return m ? NaN : sign * Infinity;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}

/** Largest finite value of each KV element type. */
export const kvTypeMax: Readonly<Record<KvType, number>> = { f16: 65504, f32: 3.4028234663852886e38 };

/** `x` as the cache stores it: clamped to the type's finite range, then rounded to f16 or f32. */
export function roundToKvType(x: number, kvType: KvType): number {
  const c = Math.min(kvTypeMax[kvType], Math.max(-kvTypeMax[kvType], x));
  return kvType === 'f16' ? f16Value(f16Bits(c)) : Math.fround(c);
}

/** Decodes raw K, V or pageMeta bytes of `kvType` elements. */
export function decodeKv(bytes: ArrayBuffer, kvType: KvType): Float32Array {
  if (kvType === 'f32') return new Float32Array(bytes.slice(0, bytes.byteLength - (bytes.byteLength % 4)));
  const halves = new Uint16Array(bytes, 0, bytes.byteLength >>> 1);
  const out = new Float32Array(halves.length);
  for (let i = 0; i < halves.length; i++) out[i] = f16Value(halves[i]);
  return out;
}
