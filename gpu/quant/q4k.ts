// Q4_K (ggml block_q4_K): super-blocks of 256 elements, 144 bytes: d (f16), dmin (f16), scales[12], qs[128].
// The super-block is 8 sub-blocks of 32; sub-block j has a 6-bit scale sc[j] and a 6-bit min m[j] packed into
// scales[12] (see scaleMin); x = d * sc[j] * q - dmin * m[j]. qs byte 32p + l holds element 64p + l in its low
// nibble (sub-block 2p) and element 64p + 32 + l in its high nibble (sub-block 2p + 1).
// GPU layout, two regions: qs (rows, cols/2) bytes read as vec4<u32>; hdr (rows, cols/256) of 16 bytes = one
// vec4<u32> per super-block holding ggml's first 16 bytes as they are (d|dmin, scales[12]).
import { GgmlType } from '../model/ggmlTypes';
import type { RegionSpec, WeightFormat } from './format';
import { f16ToNumber, numberToF16Up } from './half';

const QK = 256;
const BLOCK_BYTES = 144;

/** ggml's get_scale_min_k4: the 6-bit scale and min of sub-block `j` (0..7) from the 12 bytes at `at`. */
export function scaleMin(bytes: Uint8Array, at: number, j: number): [sc: number, m: number] {
  const q = (i: number) => bytes[at + i];
  if (j < 4) return [q(j) & 63, q(j + 4) & 63];
  return [(q(j + 4) & 0xf) | ((q(j - 4) >> 6) << 4), (q(j + 4) >> 4) | ((q(j) >> 6) << 4)];
}

/** The inverse of scaleMin: packs eight 6-bit scales and mins into 12 bytes at `at`. */
export function packScaleMin(sc: ArrayLike<number>, m: ArrayLike<number>, bytes: Uint8Array, at: number): void {
  for (let j = 0; j < 4; j++) {
    bytes[at + j] = (sc[j] & 63) | ((sc[j + 4] >> 4) << 6);
    bytes[at + j + 4] = (m[j] & 63) | ((m[j + 4] >> 4) << 6);
    bytes[at + j + 8] = (sc[j + 4] & 0xf) | ((m[j + 4] & 0xf) << 4);
  }
}

/** qs: the 128 nibble bytes of each super-block; hdr: its first 16 bytes (d, dmin, scales[12]). */
const regions = (cols: number): RegionSpec[] => [
  { blocksPerRow: cols / QK, blockBytes: BLOCK_BYTES, fieldOffset: 16, fieldBytes: 128, rowBytes: cols / 2 },
  { blocksPerRow: cols / QK, blockBytes: BLOCK_BYTES, fieldOffset: 0, fieldBytes: 16, rowBytes: (cols / QK) * 16 },
];

export const q4kFormat: WeightFormat = {
  type: GgmlType.Q4_K,
  regions,
  // Per sub-block: min = min(0, min x), scale = (max x - min) / 15; the 8 scales and 8 mins are quantized to 6 bits
  // against d = max scale / 63 and dmin = max min / 63 (both rounded up to f16s; scales rounded up so that the range
  // still fits in 15 steps), then each element to the nearest of the 16 levels.
  encode(src, srcOff, n, dst, dstOff) {
    const scale = new Float64Array(8);
    const minv = new Float64Array(8);
    const sc = new Uint8Array(8);
    const m = new Uint8Array(8);
    for (let b = 0; b < n / QK; b++) {
      const x0 = srcOff + b * QK;
      const at = dstOff + b * BLOCK_BYTES;
      for (let j = 0; j < 8; j++) {
        let lo = 0;
        let hi = -Infinity;
        for (let i = 0; i < 32; i++) {
          const v = src[x0 + 32 * j + i];
          lo = Math.min(lo, v);
          hi = Math.max(hi, v);
        }
        scale[j] = (hi - lo) / 15;
        minv[j] = -lo;
      }
      const dBits = numberToF16Up(Math.max(...scale) / 63);
      const dminBits = numberToF16Up(Math.max(...minv) / 63);
      const d = f16ToNumber(dBits);
      const dmin = f16ToNumber(dminBits);
      for (let j = 0; j < 8; j++) {
        sc[j] = d > 0 ? Math.min(63, Math.ceil(scale[j] / d)) : 0;
        m[j] = dmin > 0 ? Math.min(63, Math.round(minv[j] / dmin)) : 0;
      }
      dst[at] = dBits & 0xff;
      dst[at + 1] = dBits >> 8;
      dst[at + 2] = dminBits & 0xff;
      dst[at + 3] = dminBits >> 8;
      packScaleMin(sc, m, dst, at + 4);
      for (let j = 0; j < 8; j++) {
        const step = d * sc[j];
        const offset = dmin * m[j];
        const q0 = at + 16 + 32 * (j >> 1);
        for (let l = 0; l < 32; l++) {
          const q = step > 0 ? Math.max(0, Math.min(15, Math.round((src[x0 + 32 * j + l] + offset) / step))) : 0;
          dst[q0 + l] = j & 1 ? (dst[q0 + l] & 0x0f) | (q << 4) : q; // even sub-block first: it sets the byte
        }
      }
    }
  },
  decode(src, srcOff, n, dst, dstOff) {
    for (let b = 0; b < n / QK; b++) {
      const at = srcOff + b * BLOCK_BYTES;
      const d = f16ToNumber(src[at] | (src[at + 1] << 8));
      const dmin = f16ToNumber(src[at + 2] | (src[at + 3] << 8));
      const y = dstOff + b * QK;
      for (let p = 0; p < 4; p++) {
        const [sc0, m0] = scaleMin(src, at + 4, 2 * p);
        const [sc1, m1] = scaleMin(src, at + 4, 2 * p + 1);
        for (let l = 0; l < 32; l++) {
          const byte = src[at + 16 + 32 * p + l];
          dst[y + 64 * p + l] = d * sc0 * (byte & 0xf) - dmin * m0;
          dst[y + 64 * p + 32 + l] = d * sc1 * (byte >> 4) - dmin * m1;
        }
      }
    }
  },
};
