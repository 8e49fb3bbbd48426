// KV elements on the host: reading back (and persisting) f16 KV pages, and the rounding the float64 references
// model. Node 20 has no Float16Array; the conversions are the weight formats' (gpu/quant/half.ts).
import { f16ToNumber, roundToF16 } from '../quant/half';
import type { KvType } from './layout';

/** Largest finite value of each KV element type. */
export const kvTypeMax: Readonly<Record<KvType, number>> = { f16: 65504, f32: 3.4028234663852886e38 };

/** `x` as the cache stores it: clamped to the type's finite range, then rounded to f16 or f32. */
export function roundToKvType(x: number, kvType: KvType): number {
  const c = Math.min(kvTypeMax[kvType], Math.max(-kvTypeMax[kvType], x));
  return kvType === 'f16' ? roundToF16(c) : Math.fround(c);
}

/** Decodes raw K, V or pageMeta bytes of `kvType` elements. */
export function decodeKv(bytes: ArrayBuffer, kvType: KvType): Float32Array {
  if (kvType === 'f32') return new Float32Array(bytes.slice(0, bytes.byteLength - (bytes.byteLength % 4)));
  const halves = new Uint16Array(bytes, 0, bytes.byteLength >>> 1);
  const out = new Float32Array(halves.length);
  for (let i = 0; i < halves.length; i++) out[i] = f16ToNumber(halves[i]);
  return out;
}
