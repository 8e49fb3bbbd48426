// Q8_0 (ggml block_q8_0): blocks of 32 elements, 34 bytes: d (f16) then qs[32] (int8); x[i] = d * qs[i].
// GPU layout, two regions: qs (rows, cols) int8, read as vec4<u32> (16 int8 a word); d (rows, cols/32) f16,
// two per u32, each row padded to 4 bytes so that every row range starts 4-byte aligned.
import { GgmlType } from '../model/ggmlTypes';
import { type RegionSpec, type WeightFormat, roundUp } from './format';
import { f16ToNumber, numberToF16Up } from './half';

const QK = 32;
const BLOCK_BYTES = 34;

/** qs: the 32 int8 of each block; d: its f16 scale. */
const regions = (cols: number): RegionSpec[] => [
  { blocksPerRow: cols / QK, blockBytes: BLOCK_BYTES, fieldOffset: 2, fieldBytes: QK, rowBytes: cols },
  { blocksPerRow: cols / QK, blockBytes: BLOCK_BYTES, fieldOffset: 0, fieldBytes: 2, rowBytes: roundUp((cols / QK) * 2, 4) },
];

export const q8_0Format: WeightFormat = {
  type: GgmlType.Q8_0,
  regions,
  // Absmax: d = max|x| / 127 rounded up to an f16 (no q clips), then q = round(x / d) against the stored d.
  encode(src, srcOff, n, dst, dstOff) {
    for (let b = 0; b < n / QK; b++) {
      const x0 = srcOff + b * QK;
      const at = dstOff + b * BLOCK_BYTES;
      let amax = 0;
      for (let i = 0; i < QK; i++) amax = Math.max(amax, Math.abs(src[x0 + i]));
      const dBits = numberToF16Up(amax / 127);
      const d = f16ToNumber(dBits);
      const id = d > 0 ? 1 / d : 0;
      dst[at] = dBits & 0xff;
      dst[at + 1] = dBits >> 8;
      for (let i = 0; i < QK; i++) {
        const q = Math.max(-127, Math.min(127, Math.round(src[x0 + i] * id)));
        dst[at + 2 + i] = q & 0xff;
      }
    }
  },
  decode(src, srcOff, n, dst, dstOff) {
    for (let b = 0; b < n / QK; b++) {
      const at = srcOff + b * BLOCK_BYTES;
      const d = f16ToNumber(src[at] | (src[at + 1] << 8));
      for (let i = 0; i < QK; i++) dst[dstOff + b * QK + i] = d * ((src[at + 2 + i] << 24) >> 24);
    }
  },
};
