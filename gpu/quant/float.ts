// F32, F16 and BF16 weights: ggml stores them plainly, row-major. The GPU layout is the same bytes with each row
// padded to a multiple of 16 bytes (zeros), so that kernels can read whole vec4<u32> words from any row's start.
import { GgmlType } from '../model/ggmlTypes';
import { type WeightFormat, roundUp } from './format';
import { bf16ToNumber, f16ToNumber, numberToBf16, numberToF16 } from './half';

function floatFormat(
  type: GgmlType,
  elementBytes: number,
  encodeOne: (x: number, dv: DataView, at: number) => void,
  decodeOne: (dv: DataView, at: number) => number,
): WeightFormat {
  return {
    type,
    // Each element is a block of its own; the row is padded to 16 bytes.
    regions: (cols) => [
      { blocksPerRow: cols, blockBytes: elementBytes, fieldOffset: 0, fieldBytes: elementBytes, rowBytes: roundUp(cols * elementBytes, 16) },
    ],
    encode(src, srcOff, n, dst, dstOff) {
      const dv = new DataView(dst.buffer, dst.byteOffset, dst.byteLength);
      for (let i = 0; i < n; i++) encodeOne(src[srcOff + i], dv, dstOff + i * elementBytes);
    },
    decode(src, srcOff, n, dst, dstOff) {
      const dv = new DataView(src.buffer, src.byteOffset, src.byteLength);
      for (let i = 0; i < n; i++) dst[dstOff + i] = decodeOne(dv, srcOff + i * elementBytes);
    },
  };
}

export const f32Format = floatFormat(
  GgmlType.F32,
  4,
  (x, dv, at) => dv.setFloat32(at, x, true),
  (dv, at) => dv.getFloat32(at, true),
);

export const f16Format = floatFormat(
  GgmlType.F16,
  2,
  (x, dv, at) => dv.setUint16(at, numberToF16(x), true),
  (dv, at) => f16ToNumber(dv.getUint16(at, true)),
);

export const bf16Format = floatFormat(
  GgmlType.BF16,
  2,
  (x, dv, at) => dv.setUint16(at, numberToBf16(x), true),
  (dv, at) => bf16ToNumber(dv.getUint16(at, true)),
);
