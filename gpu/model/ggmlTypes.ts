// ggml tensor types as GGUF files number them, with their block layouts (elements per block, bytes per block).
// Layouts follow ggml's `block_*` structs; every multi-byte field is little-endian.

export const GgmlType = {
  F32: 0,
  F16: 1,
  Q4_0: 2, //  block of 32: d f16, qs[16] (two 4-bit values per byte: low nibbles = elements 0..15, high = 16..31)
  Q8_0: 8, //  block of 32: d f16, qs[32] int8
  Q4_K: 12, // super-block of 256: d f16, dmin f16, scales[12] (8 × 6-bit scale + 6-bit min), qs[128]
  Q6_K: 14, // super-block of 256: ql[128], qh[64], scales[16] int8, d f16
  BF16: 30,
} as const;
export type GgmlType = (typeof GgmlType)[keyof typeof GgmlType];

export interface GgmlTypeInfo {
  readonly name: string;
  /** Elements per block. */
  readonly blockSize: number;
  /** Bytes per block. */
  readonly typeSize: number;
}

/** The types the engine reads. Any other type id in a file is an UnsupportedTensorTypeError naming the tensor. */
export const ggmlTypeInfo: Readonly<Record<GgmlType, GgmlTypeInfo>> = {
  [GgmlType.F32]: { name: 'F32', blockSize: 1, typeSize: 4 },
  [GgmlType.F16]: { name: 'F16', blockSize: 1, typeSize: 2 },
  [GgmlType.Q4_0]: { name: 'Q4_0', blockSize: 32, typeSize: 18 },
  [GgmlType.Q8_0]: { name: 'Q8_0', blockSize: 32, typeSize: 34 },
  [GgmlType.Q4_K]: { name: 'Q4_K', blockSize: 256, typeSize: 144 },
  [GgmlType.Q6_K]: { name: 'Q6_K', blockSize: 256, typeSize: 210 },
  [GgmlType.BF16]: { name: 'BF16', blockSize: 1, typeSize: 2 },
};

/** Names of ggml types the engine does not read, for error messages (ids from ggml.h). */
export const unsupportedGgmlTypeNames: Readonly<Record<number, string>> = {
  3: 'Q4_1', 6: 'Q5_0', 7: 'Q5_1', 9: 'Q8_1', 10: 'Q2_K', 11: 'Q3_K', 13: 'Q5_K', 15: 'Q8_K', 16: 'IQ2_XXS',
  17: 'IQ2_XS', 18: 'IQ3_XXS', 19: 'IQ1_S', 20: 'IQ4_NL', 21: 'IQ3_S', 22: 'IQ2_S', 23: 'IQ4_XS', 24: 'I8',
  25: 'I16', 26: 'I32', 27: 'I64', 28: 'F64', 29: 'IQ1_M', 34: 'TQ1_0', 35: 'TQ2_0', 39: 'MXFP4',
};

export function isSupportedGgmlType(type: number): type is GgmlType {
  return Object.prototype.hasOwnProperty.call(ggmlTypeInfo, type);
}

/** Bytes of a tensor of `elements` elements of `type` (elements must be a multiple of the block size). */
export function ggmlTensorBytes(type: GgmlType, elements: number): number {
  const { blockSize, typeSize } = ggmlTypeInfo[type];
  return (elements / blockSize) * typeSize;
}
