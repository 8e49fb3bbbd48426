// Q6_K (ggml block_q6_K): super-blocks of 256 elements, 210 bytes: ql[128] (low 4 bits), qh[64] (high 2 bits),
// scales[16] (int8, one per 16 elements), d (f16); x = d * scales[e / 16] * (q - 32) with q the 6-bit value.
// Within each half h of 128 elements (e = 128h + i): ql[64h + (i % 64)] holds i < 64 in its low nibble and
// i >= 64 in its high nibble; qh[32h + (i % 32)] holds bits 4-5 of q at bit 2 * floor(i / 32).
// GPU layout, four regions: ql (rows, cols/2) and qh (rows, cols/4) as vec4<u32>; scales (rows, cols/16) int8 as
// vec4<u32> (16 per super-block); d (rows, cols/256) as f32 (exact) so that every region stays 4-byte aligned.
import { GgmlType } from '../model/ggmlTypes';
import type { RegionSpec, WeightFormat } from './format';
import { f16ToNumber, numberToF16Up } from './half';

const QK = 256;
const BLOCK_BYTES = 210;

/** ql, qh and scales as ggml orders them in each super-block; d converted to f32. */
const regions = (cols: number): RegionSpec[] => [
  { blocksPerRow: cols / QK, blockBytes: BLOCK_BYTES, fieldOffset: 0, fieldBytes: 128, rowBytes: cols / 2 },
  { blocksPerRow: cols / QK, blockBytes: BLOCK_BYTES, fieldOffset: 128, fieldBytes: 64, rowBytes: cols / 4 },
  { blocksPerRow: cols / QK, blockBytes: BLOCK_BYTES, fieldOffset: 192, fieldBytes: 16, rowBytes: cols / 16 },
  { blocksPerRow: cols / QK, blockBytes: BLOCK_BYTES, fieldOffset: 208, fieldBytes: 2, convert: 'f16-f32', rowBytes: (cols / QK) * 4 },
];

export const q6kFormat: WeightFormat = {
  type: GgmlType.Q6_K,
  regions,
  // Per 16 elements: the value of largest magnitude maps to -32 (scale = it / -32); the 16 scales are quantized to
  // int8 against d = max |scale| / 127 (rounded up to an f16), then each element to the nearest of the 64 levels.
  encode(src, srcOff, n, dst, dstOff) {
    const scale = new Float64Array(16);
    const L = new Uint8Array(QK);
    for (let b = 0; b < n / QK; b++) {
      const x0 = srcOff + b * QK;
      const at = dstOff + b * BLOCK_BYTES;
      let amax = 0;
      for (let j = 0; j < 16; j++) {
        let max = 0;
        for (let i = 0; i < 16; i++) if (Math.abs(src[x0 + 16 * j + i]) > Math.abs(max)) max = src[x0 + 16 * j + i];
        scale[j] = max / -32;
        amax = Math.max(amax, Math.abs(scale[j]));
      }
      const dBits = numberToF16Up(amax / 127);
      const d = f16ToNumber(dBits);
      for (let j = 0; j < 16; j++) {
        const sc = d > 0 ? Math.max(-128, Math.min(127, Math.round(scale[j] / d))) : 0;
        dst[at + 192 + j] = sc & 0xff;
        const step = d * sc;
        for (let i = 0; i < 16; i++) {
          const q = step !== 0 ? Math.max(-32, Math.min(31, Math.round(src[x0 + 16 * j + i] / step))) : 0;
          L[16 * j + i] = q + 32;
        }
      }
      for (let h = 0; h < 2; h++) {
        for (let l = 0; l < 32; l++) {
          const e = 128 * h + l;
          dst[at + 64 * h + l] = (L[e] & 0xf) | ((L[e + 64] & 0xf) << 4);
          dst[at + 64 * h + l + 32] = (L[e + 32] & 0xf) | ((L[e + 96] & 0xf) << 4);
          dst[at + 128 + 32 * h + l] = (L[e] >> 4) | ((L[e + 32] >> 4) << 2) | ((L[e + 64] >> 4) << 4) | ((L[e + 96] >> 4) << 6);
        }
      }
      dst[at + 208] = dBits & 0xff;
      dst[at + 209] = dBits >> 8;
    }
  },
  decode(src, srcOff, n, dst, dstOff) {
    for (let b = 0; b < n / QK; b++) {
      const at = srcOff + b * BLOCK_BYTES;
      const d = f16ToNumber(src[at + 208] | (src[at + 209] << 8));
      const sc = (j: number) => (src[at + 192 + j] << 24) >> 24;
      for (let h = 0; h < 2; h++) {
        const y = dstOff + b * QK + 128 * h;
        for (let l = 0; l < 32; l++) {
          const is = l >> 4;
          const lo = src[at + 64 * h + l];
          const hi = src[at + 64 * h + l + 32];
          const qh = src[at + 128 + 32 * h + l];
          dst[y + l] = d * sc(8 * h + is) * (((lo & 0xf) | ((qh & 3) << 4)) - 32);
          dst[y + l + 32] = d * sc(8 * h + is + 2) * (((hi & 0xf) | (((qh >> 2) & 3) << 4)) - 32);
          dst[y + l + 64] = d * sc(8 * h + is + 4) * (((lo >> 4) | (((qh >> 4) & 3) << 4)) - 32);
          dst[y + l + 96] = d * sc(8 * h + is + 6) * (((hi >> 4) | (((qh >> 6) & 3) << 4)) - 32);
        }
      }
    }
  },
};
