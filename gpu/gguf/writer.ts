// GGUF v3 writer, for tests and for the project's own model exporter. Metadata values carry the GGUF type the caller
// chose (numbers are ambiguous: {type: 'u32', value: 16}); tensors are already-encoded bytes in ggml block layout,
// placed at offsets aligned to general.alignment (default 32). The header is built in memory (it is metadata: a few
// MB with a 150K-token vocabulary); tensor data goes to disk piece by piece through one 1 MiB staging buffer, so a
// tensor given as an async iterable of pieces is never held whole. The file appears under its name only when
// complete (written to a temporary name, then renamed).
import { randomBytes } from 'node:crypto';
import { type FileHandle, open, rename, rm } from 'node:fs/promises';
import { GgufError } from '../errors';
import { type GgmlType, ggmlTensorBytes, ggmlTypeInfo, isSupportedGgmlType } from '../model/ggmlTypes';
import {
  DEFAULT_ALIGNMENT, GGUF_MAGIC, type GgufNumericType, type GgufScalarType, type GgufTypeName, MAX_DIMS,
  MAX_TENSOR_NAME_BYTES, alignUp, fixedBytes, intRange, isPowerOfTwo, typedArrayFor, valueTypeId,
} from './format';
import type { GgufFile, GgufValue } from './reader';

type TypedNumbers = Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array;

/** One metadata value with its GGUF type. */
export type GgufEntry =
  | { readonly type: 'u8' | 'i8' | 'u16' | 'i16' | 'u32' | 'i32' | 'f32' | 'f64'; readonly value: number }
  | { readonly type: 'u64' | 'i64'; readonly value: number | bigint }
  | { readonly type: 'bool'; readonly value: boolean }
  | { readonly type: 'string'; readonly value: string }
  | GgufArrayEntry;

export type GgufArrayEntry =
  | { readonly type: 'array'; readonly itemType: Exclude<GgufNumericType, 'u64' | 'i64'>; readonly value: ArrayLike<number> }
  | { readonly type: 'array'; readonly itemType: 'u64' | 'i64'; readonly value: ArrayLike<number | bigint> }
  | { readonly type: 'array'; readonly itemType: 'bool'; readonly value: readonly boolean[] }
  | { readonly type: 'array'; readonly itemType: 'string'; readonly value: readonly string[] }
  | { readonly type: 'array'; readonly itemType: 'array'; readonly value: readonly GgufArrayEntry[] };

/** Shorthands: kv.u32(16), kv.string('llama'), kv.array('f32', scores), kv.arrays([kv.array('u8', [1])]). */
export const kv = {
  u8: (value: number): GgufEntry => ({ type: 'u8', value }),
  i8: (value: number): GgufEntry => ({ type: 'i8', value }),
  u16: (value: number): GgufEntry => ({ type: 'u16', value }),
  i16: (value: number): GgufEntry => ({ type: 'i16', value }),
  u32: (value: number): GgufEntry => ({ type: 'u32', value }),
  i32: (value: number): GgufEntry => ({ type: 'i32', value }),
  u64: (value: number | bigint): GgufEntry => ({ type: 'u64', value }),
  i64: (value: number | bigint): GgufEntry => ({ type: 'i64', value }),
  f32: (value: number): GgufEntry => ({ type: 'f32', value }),
  f64: (value: number): GgufEntry => ({ type: 'f64', value }),
  bool: (value: boolean): GgufEntry => ({ type: 'bool', value }),
  string: (value: string): GgufEntry => ({ type: 'string', value }),
  array: <T extends GgufScalarType>(
    itemType: T,
    value: T extends 'string'
      ? readonly string[]
      : T extends 'bool'
        ? readonly boolean[]
        : T extends 'u64' | 'i64'
          ? ArrayLike<number | bigint>
          : ArrayLike<number>,
  ): GgufArrayEntry => ({ type: 'array', itemType, value }) as GgufArrayEntry,
  arrays: (value: readonly GgufArrayEntry[]): GgufArrayEntry => ({ type: 'array', itemType: 'array', value }),
};

export interface GgufTensorInput {
  readonly name: string;
  readonly type: GgmlType;
  /** ne0 first (the contiguous dimension): a (rows, cols) row-major matrix is [cols, rows]. */
  readonly dims: readonly number[];
  /** The encoded bytes (exactly ggmlTensorBytes(type, elements)), whole or as pieces in order. */
  readonly data: ArrayBufferView | Iterable<Uint8Array> | AsyncIterable<Uint8Array>;
}

export interface GgufWriteSpec {
  /** In file order. general.alignment, if given, must be a u32 equal to `alignment`. */
  readonly metadata: Iterable<readonly [string, GgufEntry]> | Readonly<Record<string, GgufEntry>>;
  readonly tensors: readonly GgufTensorInput[];
  /** Data alignment, a power of two; a value other than 32 is recorded as general.alignment. Default 32. */
  readonly alignment?: number;
}

/** Writes a GGUF v3 file; returns its size and data offset. Throws GgufError naming the bad key or tensor. */
export async function writeGguf(path: string, spec: GgufWriteSpec): Promise<{ fileSize: number; dataOffset: number }> {
  const fail = (problem: string): never => {
    throw new GgufError(path, problem);
  };
  const entries =
    Symbol.iterator in spec.metadata
      ? [...(spec.metadata as Iterable<readonly [string, GgufEntry]>)]
      : Object.entries(spec.metadata);
  const alignment = resolveAlignment(entries, spec.alignment, fail);
  if (alignment !== DEFAULT_ALIGNMENT && !entries.some(([k]) => k === 'general.alignment')) {
    entries.push(['general.alignment', kv.u32(alignment)]);
  }

  const header = new ByteSink();
  header.bytes(GGUF_MAGIC);
  header.u32(3);
  header.u64(BigInt(spec.tensors.length));
  header.u64(BigInt(entries.length));
  const keys = new Set<string>();
  for (const [key, entry] of entries) {
    if (keys.has(key)) fail(`duplicate metadata key '${key}'`);
    keys.add(key);
    header.string(key);
    header.u32(valueTypeId(entry.type));
    writeValue(header, entry, key, fail);
  }
  const rel: number[] = [];
  const sizes: number[] = [];
  let dataBytes = 0;
  const names = new Set<string>();
  for (const t of spec.tensors) {
    const bytes = checkTensor(t, names, fail);
    names.add(t.name);
    rel.push(dataBytes);
    sizes.push(bytes);
    dataBytes = alignUp(dataBytes + bytes, alignment);
    header.string(t.name);
    header.u32(t.dims.length);
    for (const d of t.dims) header.u64(BigInt(d));
    header.u32(t.type);
    header.u64(BigInt(rel[rel.length - 1]));
  }
  const dataOffset = alignUp(header.length, alignment);

  const tmp = `${path}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  const out = new StagedFile(await open(tmp, 'w'));
  try {
    await out.write(header.finish());
    await out.zeros(dataOffset - header.length);
    for (let i = 0; i < spec.tensors.length; i++) {
      const t = spec.tensors[i];
      let written = 0;
      for await (const piece of pieces(t.data)) {
        if (written + piece.byteLength > sizes[i]) {
          fail(`tensor '${t.name}' data is longer than the ${sizes[i]} B its type and dims need`);
        }
        await out.write(piece);
        written += piece.byteLength;
      }
      if (written !== sizes[i]) {
        fail(`tensor '${t.name}' data has ${written} B, its type ${ggmlTypeInfo[t.type].name} and dims [${t.dims.join(', ')}] need ${sizes[i]} B`);
      }
      await out.zeros(alignUp(sizes[i], alignment) - sizes[i]);
    }
    await out.close();
    await rename(tmp, path);
  } catch (e) {
    await out.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw e;
  }
  return { fileSize: dataOffset + dataBytes, dataOffset };
}

/** The metadata entry of `key` as `file` stores it, ready to write into another file (same GGUF type). */
export function entryFromFile(file: GgufFile, key: string): GgufEntry {
  const value = file.metadata.get(key);
  const type = file.metadataTypes.get(key);
  if (value === undefined || type === undefined) throw new GgufError(file.path, `missing metadata key '${key}'`);
  return toEntry(value, type);
}

/** Every metadata entry of `file` whose key passes `keep`, in file order (e.g. the tokenizer.* keys). */
export function entriesFromFile(file: GgufFile, keep: (key: string) => boolean = () => true): [string, GgufEntry][] {
  return [...file.metadata.keys()].filter(keep).map((k) => [k, entryFromFile(file, k)]);
}

function toEntry(value: GgufValue, type: GgufTypeName): GgufEntry {
  if (!type.startsWith('array<')) return { type, value } as GgufEntry;
  const itemType = type.slice(6, -1) as GgufScalarType | 'array';
  if (itemType !== 'array') return { type: 'array', itemType, value } as GgufArrayEntry;
  // Nested arrays keep no per-item type in the reader's map: each inner array's own value says it.
  const inners = (value as readonly GgufValue[]).map((inner) => toEntry(inner, `array<${innerItemType(inner)}>`));
  return kv.arrays(inners as GgufArrayEntry[]);
}

function innerItemType(v: GgufValue): GgufScalarType | 'array' {
  for (const [t, ctor] of Object.entries(typedArrayFor)) if (v instanceof ctor) return t as GgufScalarType;
  const items = v as readonly GgufValue[];
  if (items.length === 0 || typeof items[0] === 'string') return 'string'; // an empty inner array re-writes as string[]
  return typeof items[0] === 'boolean' ? 'bool' : 'array';
}

function resolveAlignment(
  entries: readonly (readonly [string, GgufEntry])[],
  option: number | undefined,
  fail: (p: string) => never,
): number {
  const entry = entries.find(([k]) => k === 'general.alignment')?.[1];
  if (entry && (entry.type !== 'u32' || !isPowerOfTwo(entry.value))) {
    fail(`general.alignment must be a u32 power of two, got ${entry.type} ${String(entry.value)}`);
  }
  const fromKey = entry?.value as number | undefined;
  if (option !== undefined && !isPowerOfTwo(option)) fail(`alignment must be a power of two, got ${option}`);
  if (option !== undefined && fromKey !== undefined && option !== fromKey) {
    fail(`alignment ${option} disagrees with general.alignment ${fromKey}`);
  }
  return option ?? fromKey ?? DEFAULT_ALIGNMENT;
}

function checkTensor(t: GgufTensorInput, names: ReadonlySet<string>, fail: (p: string) => never): number {
  const what = `tensor '${t.name}'`;
  const nameBytes = Buffer.byteLength(t.name);
  if (nameBytes === 0 || nameBytes > MAX_TENSOR_NAME_BYTES) {
    fail(`${what}: names must have 1..${MAX_TENSOR_NAME_BYTES} bytes, this has ${nameBytes}`);
  }
  if (names.has(t.name)) fail(`duplicate tensor name '${t.name}'`);
  if (!isSupportedGgmlType(t.type)) fail(`${what}: type id ${String(t.type)} is not a type the engine reads`);
  if (t.dims.length < 1 || t.dims.length > MAX_DIMS || !t.dims.every((d) => Number.isSafeInteger(d) && d >= 1)) {
    fail(`${what}: dims [${t.dims.join(', ')}] must be 1..${MAX_DIMS} positive integers`);
  }
  const { blockSize, name } = ggmlTypeInfo[t.type];
  if (t.dims[0] % blockSize !== 0) {
    fail(`${what}: ne0 = ${t.dims[0]} is not a multiple of ${name}'s block size ${blockSize}`);
  }
  const elements = t.dims.reduce((a, b) => a * b, 1);
  if (!Number.isSafeInteger(elements)) fail(`${what}: dims [${t.dims.join(', ')}] overflow`);
  return ggmlTensorBytes(t.type, elements);
}

async function* pieces(data: GgufTensorInput['data']): AsyncIterable<Uint8Array> {
  if (ArrayBuffer.isView(data)) yield new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  else yield* data;
}

function writeValue(sink: ByteSink, e: GgufEntry, key: string, fail: (p: string) => never): void {
  switch (e.type) {
    case 'string':
      if (typeof e.value !== 'string') {
        fail(`metadata '${key}': string value expected, got ${typeof (e as { value: unknown }).value}`);
      }
      return sink.string(e.value);
    case 'bool':
      if (typeof e.value !== 'boolean') {
        fail(`metadata '${key}': bool value expected, got ${typeof (e as { value: unknown }).value}`);
      }
      return sink.u8(e.value ? 1 : 0);
    case 'array':
      return writeArray(sink, e, key, fail);
    default:
      return sink.number(e.type, checkNumber(e.type, e.value, key, fail));
  }
}

function writeArray(sink: ByteSink, e: GgufArrayEntry, key: string, fail: (p: string) => never): void {
  sink.u32(valueTypeId(e.itemType));
  sink.u64(BigInt(e.value.length));
  if (e.itemType === 'array') {
    e.value.forEach((inner, i) => {
      if (inner?.type !== 'array') {
        fail(`metadata '${key}'[${i}]: an array of arrays needs array entries, got ${String(inner?.type)}`);
      }
      writeArray(sink, inner, `${key}[${i}]`, fail);
    });
  } else if (e.itemType === 'string') {
    for (const s of e.value) {
      if (typeof s !== 'string') fail(`metadata '${key}': string items expected, got ${typeof s}`);
      sink.string(s);
    }
  } else if (e.itemType === 'bool') {
    for (const b of e.value) {
      if (typeof b !== 'boolean') fail(`metadata '${key}': bool items expected, got ${typeof b}`);
      sink.u8(b ? 1 : 0);
    }
  } else if (e.value instanceof typedArrayFor[e.itemType]) {
    // Already the file's type and byte order: copy the bytes.
    const v = e.value as TypedNumbers | BigInt64Array | BigUint64Array;
    sink.bytes(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
  } else {
    for (let i = 0; i < e.value.length; i++) sink.number(e.itemType, checkNumber(e.itemType, e.value[i], `${key}[${i}]`, fail));
  }
}

function checkNumber(type: GgufNumericType, v: unknown, key: string, fail: (p: string) => never): number | bigint {
  const bad = (why: string): never => fail(`metadata '${key}': ${type} value ${String(v)} ${why}`);
  if (type === 'f32' || type === 'f64') {
    if (typeof v !== 'number') bad('is not a number');
    return v as number;
  }
  if (type === 'u64' || type === 'i64') {
    if (typeof v === 'number' && !Number.isSafeInteger(v)) bad('is not a safe integer (pass a bigint)');
    if (typeof v !== 'number' && typeof v !== 'bigint') bad('is not a number or bigint');
    const b = BigInt(v as number | bigint);
    const [lo, hi] = type === 'u64' ? [0n, (1n << 64n) - 1n] : [-(1n << 63n), (1n << 63n) - 1n];
    if (b < lo || b > hi) bad(`is outside [${lo}, ${hi}]`);
    return b;
  }
  const [lo, hi] = intRange[type];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) bad(`is not an integer in [${lo}, ${hi}]`);
  return v as number;
}

/** A growable little-endian byte buffer for the header. */
class ByteSink {
  private buf = Buffer.allocUnsafe(1 << 16);
  length = 0;

  private room(n: number): number {
    if (this.length + n > this.buf.length) {
      const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.length + n));
      this.buf.copy(next, 0, 0, this.length);
      this.buf = next;
    }
    const at = this.length;
    this.length += n;
    return at;
  }
  // Each writer reserves room first: `this.buf.write…(v, this.room(n))` would write into the buffer that room()
  // just replaced (the member expression is evaluated before the argument).
  bytes(b: Uint8Array): void {
    const at = this.room(b.byteLength);
    this.buf.set(b, at);
  }
  u8(v: number): void {
    const at = this.room(1);
    this.buf[at] = v;
  }
  u32(v: number): void {
    const at = this.room(4);
    this.buf.writeUInt32LE(v, at);
  }
  u64(v: bigint): void {
    const at = this.room(8);
    this.buf.writeBigUInt64LE(v, at);
  }
  string(s: string): void {
    const n = Buffer.byteLength(s);
    this.u64(BigInt(n));
    const at = this.room(n);
    this.buf.write(s, at, 'utf8');
  }
  number(type: GgufNumericType, v: number | bigint): void {
    const at = this.room(fixedBytes[type]);
    switch (type) {
      case 'u8': this.buf.writeUInt8(v as number, at); break;
      case 'i8': this.buf.writeInt8(v as number, at); break;
      case 'u16': this.buf.writeUInt16LE(v as number, at); break;
      case 'i16': this.buf.writeInt16LE(v as number, at); break;
      case 'u32': this.buf.writeUInt32LE(v as number, at); break;
      case 'i32': this.buf.writeInt32LE(v as number, at); break;
      case 'f32': this.buf.writeFloatLE(v as number, at); break;
      case 'f64': this.buf.writeDoubleLE(v as number, at); break;
      case 'u64': this.buf.writeBigUInt64LE(BigInt(v), at); break;
      case 'i64': this.buf.writeBigInt64LE(BigInt(v), at); break;
    }
  }
  finish(): Buffer {
    return this.buf.subarray(0, this.length);
  }
}

/** Sequential writes through one 1 MiB staging buffer; pieces at least that large go straight to the file. */
class StagedFile {
  private readonly stage = Buffer.allocUnsafe(1 << 20);
  private staged = 0;
  private pos = 0;
  private closed = false;

  constructor(private readonly handle: FileHandle) {}

  async write(piece: Uint8Array): Promise<void> {
    if (this.staged + piece.byteLength <= this.stage.length) {
      this.stage.set(piece, this.staged);
      this.staged += piece.byteLength;
      return;
    }
    await this.flush();
    if (piece.byteLength < this.stage.length) return this.write(piece);
    await this.writeAll(piece);
  }

  async zeros(n: number): Promise<void> {
    for (let left = n; left > 0; ) {
      const k = Math.min(left, 4096);
      await this.write(ZEROS.subarray(0, k));
      left -= k;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.flush();
    } finally {
      await this.handle.close();
    }
  }

  private async flush(): Promise<void> {
    if (this.staged === 0) return;
    await this.writeAll(this.stage.subarray(0, this.staged));
    this.staged = 0;
  }

  private async writeAll(bytes: Uint8Array): Promise<void> {
    for (let done = 0; done < bytes.byteLength; ) {
      const { bytesWritten } = await this.handle.write(bytes, done, bytes.byteLength - done, this.pos);
      done += bytesWritten;
      this.pos += bytesWritten;
    }
  }
}

const ZEROS = new Uint8Array(4096);
