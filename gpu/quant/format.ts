// The contract every weight type's module fulfils: ggml block encoding and decoding (the float64 reference), and
// the regions of the GPU layout that the WGSL kernels read, each described as a gather of one field of every
// ggml block of a row, so that the CPU (packRows) and the GPU (repack.wgsl) build the same bytes.
import type { GgmlType } from '../model/ggmlTypes';
import { f16ToNumber } from './half';

/** One region of the GPU layout, as a gather from the ggml blocks of each row. */
export interface RegionSpec {
  /** ggml blocks per row and bytes per block. */
  readonly blocksPerRow: number;
  readonly blockBytes: number;
  /** The bytes of every block that go to this region, concatenated per row. */
  readonly fieldOffset: number;
  readonly fieldBytes: number;
  /** 'f16-f32': the field is one f16, stored as the f32 of the same value (4 bytes). */
  readonly convert?: 'f16-f32';
  /** Bytes per row of the region (zero padded): a multiple of 4, of 16 where kernels read it as vec4<u32>. */
  readonly rowBytes: number;
}

/**
 * One weight type. `n` counts elements and must be a multiple of the type's block size; offsets are in elements
 * for float arrays and in bytes for byte arrays.
 */
export interface WeightFormat {
  readonly type: GgmlType;
  /** The regions of the GPU layout for rows of `cols` elements, in binding order. */
  regions(cols: number): readonly RegionSpec[];
  /** Encodes `n` values of `src` (from `srcOff`) as ggml blocks into `dst` at byte `dstOff`. */
  encode(src: ArrayLike<number>, srcOff: number, n: number, dst: Uint8Array, dstOff: number): void;
  /** Decodes `n` elements of ggml blocks at byte `srcOff` into `dst` (from `dstOff`) exactly, in float64. */
  decode(src: Uint8Array, srcOff: number, n: number, dst: Float64Array, dstOff: number): void;
}

/** `n` rounded up to a multiple of `m`. */
export function roundUp(n: number, m: number): number {
  return Math.ceil(n / m) * m;
}

/**
 * The region's bytes for `rows` whole ggml rows, on the CPU: the reference for repack.wgsl and the fallback path.
 * Rows that need neither gathering nor padding come back as a view of `ggml` itself.
 */
export function packRegion(spec: RegionSpec, ggml: Uint8Array, rows: number): Uint8Array {
  const { blocksPerRow, blockBytes, fieldOffset, fieldBytes, rowBytes } = spec;
  const srcRow = blocksPerRow * blockBytes;
  if (spec.convert === 'f16-f32') {
    const out = new Float32Array((rows * rowBytes) / 4);
    for (let r = 0; r < rows; r++) {
      for (let b = 0; b < blocksPerRow; b++) {
        const at = r * srcRow + b * blockBytes + fieldOffset;
        out[(r * rowBytes) / 4 + b] = f16ToNumber(ggml[at] | (ggml[at + 1] << 8));
      }
    }
    return new Uint8Array(out.buffer);
  }
  if (fieldBytes === blockBytes && srcRow === rowBytes) return ggml.subarray(0, rows * srcRow);
  const out = new Uint8Array(rows * rowBytes);
  for (let r = 0; r < rows; r++) {
    let i = r * srcRow + fieldOffset;
    let o = r * rowBytes;
    for (let b = 0; b < blocksPerRow; b++, i += blockBytes - fieldBytes) for (let k = 0; k < fieldBytes; k++) out[o++] = ggml[i++];
  }
  return out;
}
