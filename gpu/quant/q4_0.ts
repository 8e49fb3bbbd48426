// Q4_0 (ggml block_q4_0): blocks of 32 elements, 18 bytes: d (f16) then qs[16]; byte j holds element j in its low
// nibble and element j + 16 in its high nibble; x = d * (nibble - 8).
// GPU layout, two regions: qs (rows, cols/2) bytes, one vec4<u32> per block; d (rows, cols/32) f16, two per u32,
// each row padded to 4 bytes.
import { GgmlType } from '../model/ggmlTypes';
import { type RegionSpec, type WeightFormat, roundUp } from './format';
import { f16ToNumber, numberToF16Up } from './half';

const QK = 32;
const BLOCK_BYTES = 18;

/** qs: the 16 nibble bytes of each block; d: its f16 scale. */
const regions = (cols: number): RegionSpec[] => [
  { blocksPerRow: cols / QK, blockBytes: BLOCK_BYTES, fieldOffset: 2, fieldBytes: QK / 2, rowBytes: cols / 2 },
  { blocksPerRow: cols / QK, blockBytes: BLOCK_BYTES, fieldOffset: 0, fieldBytes: 2, rowBytes: roundUp((cols / QK) * 2, 4) },
];

export const q4_0Format: WeightFormat = {
  type: GgmlType.Q4_0,
  regions,
  // As ggml: the value of largest magnitude maps to -8 (d = it / -8, its magnitude rounded up to an f16),
  // the rest round to the nearest level.
  encode(src, srcOff, n, dst, dstOff) {
    for (let b = 0; b < n / QK; b++) {
      const x0 = srcOff + b * QK;
      const at = dstOff + b * BLOCK_BYTES;
      let max = 0;
      for (let i = 0; i < QK; i++) if (Math.abs(src[x0 + i]) > Math.abs(max)) max = src[x0 + i];
      const dBits = numberToF16Up(Math.abs(max) / 8) | (max > 0 ? 0x8000 : 0);
      const d = f16ToNumber(dBits);
      const id = d !== 0 ? 1 / d : 0;
      dst[at] = dBits & 0xff;
      dst[at + 1] = dBits >> 8;
      const q = (v: number) => Math.max(0, Math.min(15, Math.round(v * id) + 8));
      for (let j = 0; j < QK / 2; j++) dst[at + 2 + j] = q(src[x0 + j]) | (q(src[x0 + j + QK / 2]) << 4);
    }
  },
  decode(src, srcOff, n, dst, dstOff) {
    for (let b = 0; b < n / QK; b++) {
      const at = srcOff + b * BLOCK_BYTES;
      const d = f16ToNumber(src[at] | (src[at + 1] << 8));
      const y = dstOff + b * QK;
      for (let j = 0; j < QK / 2; j++) {
        const byte = src[at + 2 + j];
        dst[y + j] = d * ((byte & 0xf) - 8);
        dst[y + j + QK / 2] = d * ((byte >> 4) - 8);
      }
    }
  },
};
