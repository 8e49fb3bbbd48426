// The GGUF container as the reader and the writer share it. Everything is little-endian:
//   "GGUF" | u32 version | u64 tensorCount | u64 kvCount | kv × kvCount | tensorInfo × tensorCount | pad | tensor data
//   kv          = string key, u32 valueType, value
//   string      = u64 byteLength, UTF-8 bytes (no terminator)
//   array value = u32 itemType, u64 count, count items (items may be arrays themselves)
//   tensorInfo  = string name, u32 nDims, u64 dims[nDims] (ne0 first: the contiguous dimension), u32 ggmlType,
//                 u64 offset (from the start of the data section; a multiple of the alignment)
// The data section starts at the end of the tensor infos rounded up to `general.alignment` (u32, default 32).

export const GGUF_MAGIC = Uint8Array.of(0x47, 0x47, 0x55, 0x46); // "GGUF"
export const DEFAULT_ALIGNMENT = 32;
/** ggml's GGML_MAX_DIMS. */
export const MAX_DIMS = 4;
/** ggml's GGML_MAX_NAME includes the NUL: tensor names longer than this are rejected by llama.cpp. */
export const MAX_TENSOR_NAME_BYTES = 63;

/** GGUF scalar value types by the short names this code uses everywhere (`u32` is GGUF_TYPE_UINT32). */
export type GgufScalarType = 'u8' | 'i8' | 'u16' | 'i16' | 'u32' | 'i32' | 'f32' | 'bool' | 'string' | 'u64' | 'i64' | 'f64';
/** The GGUF type of a metadata value: a scalar type, or an array of one (`array<array>` for nested arrays). */
export type GgufTypeName = GgufScalarType | `array<${GgufScalarType | 'array'}>`;
export type GgufNumericType = Exclude<GgufScalarType, 'bool' | 'string'>;

/** Value type ids in file order (gguf.h `enum gguf_type`): the index is the id. */
export const valueTypeById: readonly (GgufScalarType | 'array')[] = [
  'u8', 'i8', 'u16', 'i16', 'u32', 'i32', 'f32', 'bool', 'string', 'array', 'u64', 'i64', 'f64',
];

export function valueTypeId(type: GgufScalarType | 'array'): number {
  return valueTypeById.indexOf(type);
}

/** Bytes of one value of a fixed-size type. */
export const fixedBytes: Readonly<Record<Exclude<GgufScalarType, 'string'>, number>> = {
  u8: 1, i8: 1, u16: 2, i16: 2, u32: 4, i32: 4, f32: 4, bool: 1, u64: 8, i64: 8, f64: 8,
};

/** The typed array each numeric type's arrays come back as (the host is little-endian, as the file is). */
export const typedArrayFor = {
  u8: Uint8Array, i8: Int8Array, u16: Uint16Array, i16: Int16Array, u32: Uint32Array, i32: Int32Array,
  f32: Float32Array, f64: Float64Array, u64: BigUint64Array, i64: BigInt64Array,
} as const;

/** Inclusive integer ranges of the integer types up to 32 bits. */
export const intRange: Readonly<Record<'u8' | 'i8' | 'u16' | 'i16' | 'u32' | 'i32', readonly [number, number]>> = {
  u8: [0, 0xff], i8: [-0x80, 0x7f], u16: [0, 0xffff], i16: [-0x8000, 0x7fff], u32: [0, 0xffffffff], i32: [-0x80000000, 0x7fffffff],
};

export function alignUp(n: number, alignment: number): number {
  return Math.ceil(n / alignment) * alignment;
}

export function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
}

if (new Uint8Array(Uint16Array.of(1).buffer)[0] !== 1) {
  // Typed arrays are filled straight from file bytes; a big-endian host would need byte swapping everywhere.
  throw new Error('gguf: this code assumes a little-endian host');
}
