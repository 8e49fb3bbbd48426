// GGUF v2/v3 reader: parses the header (metadata + tensor infos) with bounded memory and validates every count,
// length and offset against the file's size before allocating anything, so a corrupt or hostile file fails fast
// with a GgufError that names the file and the field. Tensor bytes are streamed on demand by readTensorBytes.
import { closeSync, constants, fstatSync, openSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { GgufError, UnsupportedTensorTypeError } from '../errors';
import { type GgmlType, ggmlTypeInfo, isSupportedGgmlType, unsupportedGgmlTypeNames } from '../model/ggmlTypes';
import { type Fail, HeaderCursor, type What, describe } from './cursor';
import {
  DEFAULT_ALIGNMENT, GGUF_MAGIC, type GgufScalarType, type GgufTypeName, MAX_DIMS, alignUp, fixedBytes, isPowerOfTwo,
  typedArrayFor, valueTypeById,
} from './format';

export type { GgufScalarType, GgufTypeName } from './format';
export * from './metadata';

export type GgufScalar = number | bigint | boolean | string;
export type GgufValue =
  | GgufScalar
  | readonly string[]
  | readonly boolean[]
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array
  | readonly GgufValue[];

export interface GgufTensorInfo {
  readonly name: string;
  /** ne0 first: the innermost (contiguous) dimension. A (rows, cols) row-major matrix has dims [cols, rows]. */
  readonly dims: readonly number[];
  readonly type: GgmlType;
  readonly elements: number;
  /** Absolute file offset of the first byte. */
  readonly offset: number;
  readonly bytes: number;
}

export interface GgufFile {
  readonly path: string;
  readonly version: number;
  readonly fileSize: number;
  readonly alignment: number;
  /** Absolute file offset of the data section (tensor offsets in the file are relative to it). */
  readonly dataOffset: number;
  /** In file order. u64/i64 scalars are numbers when safe integers, else bigints; numeric arrays are typed arrays. */
  readonly metadata: ReadonlyMap<string, GgufValue>;
  /** The GGUF type each metadata value had in the file (to copy metadata into another file exactly). */
  readonly metadataTypes: ReadonlyMap<string, GgufTypeName>;
  /** In file order. */
  readonly tensors: readonly GgufTensorInfo[];
  tensor(name: string): GgufTensorInfo | undefined;
}

/** The longest single string the reader accepts (chat templates are ~10 KB; a tokenizer.json blob a few MB). */
const MAX_STRING_BYTES = 64 << 20;
/** Deepest nesting of arrays in arrays (nothing real nests at all; the bound keeps recursion finite). */
const MAX_ARRAY_DEPTH = 8;
/** Smallest encodings, for checking counts against the bytes left: an empty key + type + 1-byte value; an empty
 * name + nDims + one dim + type + offset; an empty string; an empty array. */
const MIN_KV_BYTES = 8 + 4 + 1;
const MIN_TENSOR_INFO_BYTES = 8 + 4 + 8 + 4 + 8;
const MIN_STRING_BYTES = 8;
const MIN_ARRAY_BYTES = 4 + 8;
/**
 * Costs charged against the cursor's memory budget (V8 on 64 bits: object headers, one pointer per slot). Strings and
 * array values are charged more than they take, for the work of reading and collecting each: a hostile file of
 * millions of empty strings or tiny nested arrays meets the cap after about a million strings or 130K arrays, well
 * within a second, while the largest real vocabularies (~650K strings) stay far below it.
 */
const JS_OBJECT_BYTES = 64;
const JS_SLOT_BYTES = 8;
const STRING_BYTES = 128;
const ARRAY_VALUE_BYTES = 1024;
/** A tensor info: the frozen object, its dims array and the index entries. */
const TENSOR_INFO_BYTES = 512;

/** Parses the header of the GGUF file at `path`. Throws GgufError or UnsupportedTensorTypeError. */
export async function readGguf(path: string): Promise<GgufFile> {
  const fail: Fail = (problem) => {
    throw new GgufError(path, problem);
  };
  let fd: number;
  try {
    // Non-blocking: opening a named pipe nobody writes to would otherwise wait forever (fstat then refuses it).
    fd = openSync(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (e) {
    return fail(`cannot open the file: ${(e as Error).message}`);
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) fail('not a regular file');
    return parse(new HeaderCursor(fd, stat.size, fail), path, fail);
  } finally {
    closeSync(fd);
  }
}

function parse(c: HeaderCursor, path: string, fail: Fail): GgufFile {
  c.need(4, 'magic');
  const magic = [c.u8('magic'), c.u8('magic'), c.u8('magic'), c.u8('magic')];
  if (magic.some((b, i) => b !== GGUF_MAGIC[i])) {
    fail(`not a GGUF file: magic is ${hex(magic)} ("${printable(magic)}"), expected 47 47 55 46 ("GGUF")`);
  }
  const version = c.u32('version');
  if (version === 1) {
    fail('GGUF version 1 is not supported (it has 32-bit counts); convert the model again with a current llama.cpp');
  }
  if (version !== 2 && version !== 3) {
    const swapped = Buffer.alloc(4);
    swapped.writeUInt32BE(version);
    if ([1, 2, 3].includes(swapped.readUInt32LE())) {
      fail(`big-endian GGUF (version field 0x${version.toString(16)}) is not supported; use a little-endian file`);
    }
    fail(`unsupported GGUF version ${version} (supported: 2, 3)`);
  }
  const tensorCount = c.u64('tensor count');
  const kvCount = c.u64('metadata count');
  // Both counts must fit in what is left: checked before a single entry is read or allocated.
  if (tensorCount > BigInt(Math.floor(c.remaining / MIN_TENSOR_INFO_BYTES))) {
    fail(`absurd tensor count ${tensorCount}: ${tensorCount} tensor infos need at least ${MIN_TENSOR_INFO_BYTES} B each, only ${c.remaining} B remain: the file is truncated or the count is corrupt`);
  }
  if (kvCount > BigInt(Math.floor((c.remaining - Number(tensorCount) * MIN_TENSOR_INFO_BYTES) / MIN_KV_BYTES))) {
    fail(`absurd metadata count ${kvCount}: ${kvCount} entries need at least ${MIN_KV_BYTES} B each, only ${c.remaining} B remain: the file is truncated or the count is corrupt`);
  }

  const metadata = new Map<string, GgufValue>();
  const metadataTypes = new Map<string, GgufTypeName>();
  for (let i = 0; i < Number(kvCount); i++) {
    const key = readString(c, fail, `key of metadata entry ${i}`);
    if (key === '') fail(`metadata entry ${i} at offset ${c.pos - 8} has an empty key`);
    if (metadata.has(key)) fail(`duplicate metadata key '${key}' (entry ${i})`);
    const typeId = c.u32(`value type of '${key}'`);
    const type = valueTypeById[typeId];
    if (type === undefined) {
      fail(`metadata key '${key}' has unknown value type id ${typeId} (known: 0..${valueTypeById.length - 1})`);
    }
    c.charge(2 * JS_OBJECT_BYTES, `metadata entry ${i} ('${key}')`);
    const { value, typeName } = readValue(c, fail, type, key, 0);
    metadata.set(key, value);
    metadataTypes.set(key, typeName);
  }

  const alignment = readAlignment(metadata, metadataTypes, fail);
  const infos: { name: string; dims: number[]; type: GgmlType; elements: number; rel: number; bytes: number }[] = [];
  const byName = new Map<string, number>();
  for (let i = 0; i < Number(tensorCount); i++) {
    const name = readString(c, fail, `name of tensor ${i}`);
    c.charge(TENSOR_INFO_BYTES, `tensor info ${i} ('${name}')`);
    if (name === '') fail(`tensor ${i} at offset ${c.pos - 8} has an empty name`);
    if (byName.has(name)) fail(`duplicate tensor name '${name}' (tensors ${byName.get(name)} and ${i})`);
    byName.set(name, i);
    const what = `tensor '${name}'`;
    const nDims = c.u32(`dims count of ${what}`);
    if (nDims < 1 || nDims > MAX_DIMS) fail(`${what} has ${nDims} dims; GGUF allows 1..${MAX_DIMS}`);
    const rawDims: bigint[] = [];
    for (let d = 0; d < nDims; d++) rawDims.push(c.u64(`dim ${d} of ${what}`));
    const typeId = c.u32(`type of ${what}`);
    const rel = c.u64(`offset of ${what}`);
    let elements = 1n;
    for (const d of rawDims) elements *= d;
    if (elements > BigInt(Number.MAX_SAFE_INTEGER)) {
      fail(`${what} dims [${rawDims.join(', ')}] overflow: ${elements} elements`);
    }
    const dims = rawDims.map(Number);
    if (!isSupportedGgmlType(typeId)) {
      const known = unsupportedGgmlTypeNames[typeId];
      if (known === undefined) fail(`${what} has unknown ggml type id ${typeId}`);
      throw new UnsupportedTensorTypeError(path, name, `${known} (${typeId})`, Object.values(ggmlTypeInfo).map((t) => t.name));
    }
    const info = ggmlTypeInfo[typeId];
    if (dims[0] % info.blockSize !== 0) {
      fail(`${what} of type ${info.name} has ne0 = ${dims[0]}, not a multiple of the type's block size ${info.blockSize}`);
    }
    const bytes = (Number(elements) / info.blockSize) * info.typeSize;
    if (!Number.isSafeInteger(bytes)) fail(`${what} dims [${dims.join(', ')}] overflow: ${bytes} B`);
    if (rel % BigInt(alignment) !== 0n) fail(`${what} has offset ${rel}, not a multiple of the alignment ${alignment}`);
    if (rel > BigInt(c.fileSize)) fail(`${what} has offset ${rel}, past the end of the file (${c.fileSize} B)`);
    infos.push({ name, dims, type: typeId, elements: Number(elements), rel: Number(rel), bytes });
  }

  const dataOffset = alignUp(c.pos, alignment);
  const tensors: GgufTensorInfo[] = infos.map(({ rel, ...t }) => {
    const offset = dataOffset + rel;
    if (offset + t.bytes > c.fileSize) {
      fail(`tensor '${t.name}' data [${offset}, ${offset + t.bytes}) runs past the end of the file (${c.fileSize} B); the file is truncated or the offset is wrong`);
    }
    return Object.freeze({ ...t, dims: Object.freeze(t.dims), offset });
  });
  const sorted = [...tensors].sort((a, b) => a.offset - b.offset);
  for (let i = 1; i < sorted.length; i++) {
    const [a, b] = [sorted[i - 1], sorted[i]];
    if (b.offset < a.offset + a.bytes && b.bytes > 0) {
      fail(`tensors '${a.name}' [${a.offset}, ${a.offset + a.bytes}) and '${b.name}' [${b.offset}, ${b.offset + b.bytes}) overlap`);
    }
  }

  const index = new Map(tensors.map((t) => [t.name, t]));
  return Object.freeze({
    path,
    version,
    fileSize: c.fileSize,
    alignment,
    dataOffset,
    metadata,
    metadataTypes,
    tensors: Object.freeze(tensors),
    tensor: (name: string) => index.get(name),
  });
}

/**
 * Streams a tensor's bytes (or the byte range [start, end) of it) in pieces of at most chunkBytes (default 1 MiB);
 * bounded memory. Each piece is a fresh array the caller may keep.
 */
export async function* readTensorBytes(
  file: GgufFile,
  tensor: GgufTensorInfo,
  options: { chunkBytes?: number; start?: number; end?: number } = {},
): AsyncIterable<Uint8Array> {
  const { chunkBytes = 1 << 20, start = 0, end = tensor.bytes } = options;
  const fail = (problem: string): never => {
    throw new GgufError(file.path, problem);
  };
  const own = file.tensor(tensor.name);
  if (!own || own.offset !== tensor.offset || own.bytes !== tensor.bytes) {
    fail(`tensor '${tensor.name}' is not a tensor of this file`);
  }
  if (!(Number.isSafeInteger(chunkBytes) && chunkBytes > 0)) {
    fail(`readTensorBytes: chunkBytes must be a positive integer, got ${chunkBytes}`);
  }
  if (!(Number.isSafeInteger(start) && Number.isSafeInteger(end) && 0 <= start && start <= end && end <= tensor.bytes)) {
    fail(`readTensorBytes: range [${start}, ${end}) of tensor '${tensor.name}' must satisfy 0 <= start <= end <= ${tensor.bytes}`);
  }
  const handle = await open(file.path, 'r');
  try {
    for (let pos = tensor.offset + start; pos < tensor.offset + end; ) {
      const piece = new Uint8Array(Math.min(chunkBytes, tensor.offset + end - pos));
      for (let got = 0; got < piece.length; ) {
        const { bytesRead } = await handle.read(piece, got, piece.length - got, pos + got);
        if (bytesRead === 0) {
          fail(`file ended at ${pos + got} while reading tensor '${tensor.name}' (it changed since it was opened)`);
        }
        got += bytesRead;
      }
      yield piece;
      pos += piece.length;
    }
  } finally {
    await handle.close();
  }
}

/** All bytes of one tensor in one array: for small tensors (norms, rope factors) and tests. */
export async function readTensorData(file: GgufFile, tensor: GgufTensorInfo): Promise<Uint8Array> {
  const out = new Uint8Array(tensor.bytes);
  let at = 0;
  for await (const piece of readTensorBytes(file, tensor)) {
    out.set(piece, at);
    at += piece.length;
  }
  return out;
}

// Invalid UTF-8 decodes to U+FFFD (llama.cpp keeps the raw bytes); the supported models' vocabularies are valid UTF-8.
function readString(c: HeaderCursor, fail: Fail, what: What): string {
  const length = c.u64(() => `length of ${describe(what)}`);
  // Number() of a u64 past 2^53 rounds, but stays above any byte count a file can have.
  const n = Number(length);
  if (n > c.remaining) {
    fail(`absurd string length ${length} for ${describe(what)} at offset ${c.pos - 8}: only ${c.remaining} B remain`);
  }
  if (n > MAX_STRING_BYTES) {
    fail(`string of ${length} B for ${describe(what)} is longer than the ${MAX_STRING_BYTES} B this reader accepts`);
  }
  // A JS string holds at most one byte per UTF-8 byte (Latin-1) or two per 2+ byte sequence.
  c.charge(STRING_BYTES + n, what);
  return c.text(n, what);
}

/** `key` names the value for messages: a function for the items of nested arrays (see What). */
function readValue(
  c: HeaderCursor,
  fail: Fail,
  type: GgufScalarType | 'array',
  key: What,
  depth: number,
): { value: GgufValue; typeName: GgufTypeName } {
  const what: What = () => `value of '${describe(key)}'`;
  if (type === 'string') return { value: readString(c, fail, what), typeName: type };
  if (type !== 'array') {
    const v = c.scalar(type, what);
    // 64-bit integers: a number when it is exact, else the bigint.
    const value = typeof v === 'bigint' && v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
    return { value, typeName: type };
  }
  if (depth >= MAX_ARRAY_DEPTH) fail(`metadata key '${describe(key)}' nests arrays deeper than ${MAX_ARRAY_DEPTH}`);
  const itemTypeId = c.u32(() => `array item type of '${describe(key)}'`);
  const itemType = valueTypeById[itemTypeId];
  if (itemType === undefined) {
    fail(`metadata key '${describe(key)}' is an array of unknown value type id ${itemTypeId} (known: 0..${valueTypeById.length - 1})`);
  }
  const count = c.u64(() => `array length of '${describe(key)}'`);
  const minItem = itemType === 'string' ? MIN_STRING_BYTES : itemType === 'array' ? MIN_ARRAY_BYTES : fixedBytes[itemType];
  if (Number(count) > Math.floor(c.remaining / minItem)) {
    fail(`absurd array length ${count} for '${describe(key)}' at offset ${c.pos - 8}: ${count} ${itemType} items need at least ${minItem} B each, only ${c.remaining} B remain`);
  }
  const n = Number(count);
  const typeName = arrayTypeNames[itemType];
  // Items of a JS array are one pointer each (their strings and arrays are charged as they are read); a bool array
  // is also read into bytes first; a numeric array is its typed array.
  const itemBytes = itemType === 'string' || itemType === 'array' ? JS_SLOT_BYTES : itemType === 'bool' ? JS_SLOT_BYTES + 1 : fixedBytes[itemType];
  c.charge(ARRAY_VALUE_BYTES + n * itemBytes, () => `array of ${n} ${itemType} items for '${describe(key)}'`);
  if (itemType === 'string') {
    const out = new Array<string>(n);
    for (let i = 0; i < n; i++) out[i] = readString(c, fail, () => `item ${i} of '${describe(key)}'`);
    return { value: out, typeName };
  }
  if (itemType === 'bool') {
    const bytes = new Uint8Array(n);
    c.copyInto(bytes, what);
    return { value: Array.from(bytes, (b) => b !== 0), typeName };
  }
  if (itemType === 'array') {
    const out = new Array<GgufValue>(n);
    for (let i = 0; i < n; i++) out[i] = readValue(c, fail, 'array', () => `${describe(key)}[${i}]`, depth + 1).value;
    return { value: out, typeName };
  }
  const array = new typedArrayFor[itemType](n);
  if (n > 0) c.copyInto(new Uint8Array(array.buffer), what);
  return { value: array, typeName };
}

const arrayTypeNames = Object.fromEntries(valueTypeById.map((t) => [t, `array<${t}>`])) as Record<GgufScalarType | 'array', GgufTypeName>;

function readAlignment(metadata: ReadonlyMap<string, GgufValue>, types: ReadonlyMap<string, GgufTypeName>, fail: Fail): number {
  const value = metadata.get('general.alignment');
  if (value === undefined) return DEFAULT_ALIGNMENT;
  if (types.get('general.alignment') !== 'u32' || !isPowerOfTwo(value as number)) {
    fail(`general.alignment must be a u32 power of two, got ${types.get('general.alignment')} ${String(value)}`);
  }
  return value as number;
}

function hex(bytes: readonly number[]): string {
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(' ');
}

function printable(bytes: readonly number[]): string {
  return bytes.map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`)).join('');
}
