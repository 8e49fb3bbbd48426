// Structure-aware mutations of a valid GGUF file, for the fuzz test. headerFields() walks the header on its own (not
// through gpu/gguf/reader.ts, which is what is under test) and lists every field with its offset, width and role;
// mutate() applies 1-3 seeded operators to a copy: a field set to a boundary value of its width, a type id swapped,
// bits flipped, bytes spliced in or out, a string's length or text changed, a metadata entry duplicated or dropped,
// a float made NaN or infinite, the file truncated, extended or grown to gigabytes. The same (file, seed) always gives the same bytes.
// Only the header is held and mutated: a mutant is its header bytes plus a length, the rest of the file being zeros
// (the host side of a load never reads tensor data), so thousands of cases cost a few KB of writes each.
import { rng } from '../util/random';

export type FieldRole =
  | 'magic' | 'version' | 'tensorCount' | 'kvCount'
  | 'stringLength' | 'text'
  | 'valueType' | 'itemType' | 'arrayCount' | 'scalar'
  | 'nDims' | 'dim' | 'ggmlType' | 'tensorOffset';

export interface Field {
  readonly role: FieldRole;
  /** Byte offset in the file. */
  readonly at: number;
  /** Bytes: 1, 2, 4 or 8 for integers and floats; the string's length for 'text'. */
  readonly size: number;
  /** Scalars only: the GGUF value type. */
  readonly scalarType?: ScalarType;
}

type ScalarType = 'u8' | 'i8' | 'u16' | 'i16' | 'u32' | 'i32' | 'f32' | 'bool' | 'u64' | 'i64' | 'f64';
const VALUE_TYPES = ['u8', 'i8', 'u16', 'i16', 'u32', 'i32', 'f32', 'bool', 'string', 'array', 'u64', 'i64', 'f64'] as const;
const SCALAR_BYTES: Record<ScalarType, number> = { u8: 1, i8: 1, u16: 2, i16: 2, u32: 4, i32: 4, f32: 4, bool: 1, u64: 8, i64: 8, f64: 8 };

export interface HeaderLayout {
  readonly fields: readonly Field[];
  /** [start, end) of each metadata entry, for duplicating or dropping one. */
  readonly kvRanges: readonly (readonly [number, number])[];
  /** Offset of the kv count field. */
  readonly kvCountAt: number;
  /** End of the tensor infos (before the alignment padding). */
  readonly headerEnd: number;
}

/** Every field of a valid GGUF header. Throws on anything it does not expect (it only reads the fixtures). */
export function headerFields(bytes: Uint8Array): HeaderLayout {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fields: Field[] = [];
  let at = 0;
  const field = (role: FieldRole, size: number, scalarType?: ScalarType): number => {
    fields.push({ role, at, size, ...(scalarType ? { scalarType } : {}) });
    at += size;
    return at - size;
  };
  const u32 = (role: FieldRole) => dv.getUint32(field(role, 4), true);
  const u64 = (role: FieldRole) => Number(dv.getBigUint64(field(role, 8), true));
  const string = () => {
    const n = u64('stringLength');
    if (n > 0) field('text', n);
  };
  const value = (type: number): void => {
    const name = VALUE_TYPES[type];
    if (name === undefined) throw new Error(`headerFields: unknown value type ${type} at ${at - 4}`);
    if (name === 'string') return string();
    if (name === 'array') {
      const item = u32('itemType');
      const count = u64('arrayCount');
      for (let i = 0; i < count; i++) value(item);
      return;
    }
    field('scalar', SCALAR_BYTES[name], name);
  };
  field('magic', 4);
  u32('version');
  const tensors = u64('tensorCount');
  const kvCountAt = at;
  const kvs = u64('kvCount');
  const kvRanges: [number, number][] = [];
  for (let i = 0; i < kvs; i++) {
    const start = at;
    string();
    value(u32('valueType'));
    kvRanges.push([start, at]);
  }
  for (let i = 0; i < tensors; i++) {
    string();
    const nDims = u32('nDims');
    for (let d = 0; d < nDims; d++) u64('dim');
    u32('ggmlType');
    u64('tensorOffset');
  }
  return { fields, kvRanges, kvCountAt, headerEnd: at };
}

export interface Mutant {
  /** The file's first bytes; the file is `length` bytes long, zeros after these. */
  readonly head: Uint8Array;
  readonly length: number;
  /** The operators applied, e.g. ['int:arrayCount@24=4294967295', 'truncate@9000']: printed for a failing case. */
  readonly ops: readonly string[];
}

const U32_EDGES = [0, 1, 2, 3, 4, 7, 8, 13, 16, 31, 32, 63, 64, 255, 256, 0x7fff, 0x8000, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];
const U64_EDGES = [0n, 1n, 2n, 0xffffffffn, 1n << 32n, (1n << 32n) + 1n, 1n << 53n, (1n << 53n) + 1n, 1n << 62n, 1n << 63n, (1n << 64n) - 1n];
const F32_EDGES = [NaN, Infinity, -Infinity, 0, -0, 1e-45, 3.4e38, -1, 1e30];

/** A valid file (its first `head.length` bytes hold the whole header, `length` its size) with 1-3 seeded mutations. */
export function mutate(valid: { readonly head: Uint8Array; readonly length: number }, layout: HeaderLayout, seed: number): Mutant {
  const next = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)];
  const int = (n: number) => Math.floor(next() * n);
  let bytes: Uint8Array = Uint8Array.from(valid.head);
  let length = valid.length;
  const ops: string[] = [];
  // Fields by role: the structural ones are picked more often than a token's score.
  const byRole = new Map<FieldRole, Field[]>();
  for (const f of layout.fields) byRole.set(f.role, [...(byRole.get(f.role) ?? []), f]);
  const roles = [...byRole.keys()];
  const structural: FieldRole[] = ['version', 'tensorCount', 'kvCount', 'stringLength', 'valueType', 'itemType', 'arrayCount', 'nDims', 'dim', 'ggmlType', 'tensorOffset'];
  const pickField = (only?: (f: Field) => boolean): Field | undefined => {
    const role = next() < 0.75 ? pick(structural.filter((r) => byRole.has(r))) : pick(roles);
    const candidates = (byRole.get(role) ?? []).filter((f) => !only || only(f));
    return candidates.length ? pick(candidates) : undefined;
  };
  const view = () => new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);

  const operators: (() => void)[] = [
    // An integer field (counts, lengths, type ids, dims, offsets, integer metadata) set to a boundary of its width,
    // or nudged from its value.
    () => {
      const f = pickField((x) => x.role !== 'text' && x.role !== 'magic' && !(x.scalarType && /f|bool/.test(x.scalarType)));
      if (!f || f.at + f.size > bytes.length) return;
      const dv = view();
      if (f.size === 8) {
        const old = dv.getBigUint64(f.at, true);
        const fileSize = BigInt(length);
        const v = pick([...U64_EDGES, old + 1n, old - 1n, old * 2n, old << 32n, fileSize, fileSize + 1n, fileSize - 32n, BigInt(int(2 ** 31))]) & ((1n << 64n) - 1n);
        dv.setBigUint64(f.at, v < 0n ? 0n : v, true);
        ops.push(`int:${f.role}@${f.at}=${v}`);
      } else if (f.size === 4) {
        const old = dv.getUint32(f.at, true);
        const v = pick([...U32_EDGES, old + 1, old - 1, old * 2, old >>> 1, int(2 ** 32)]) >>> 0;
        dv.setUint32(f.at, v, true);
        ops.push(`int:${f.role}@${f.at}=${v}`);
      } else if (f.size === 2) {
        const v = pick([0, 1, 0x7fff, 0x8000, 0xffff, int(65536)]);
        dv.setUint16(f.at, v, true);
        ops.push(`int:${f.role}@${f.at}=${v}`);
      } else {
        const v = pick([0, 1, 0x7f, 0x80, 0xff, int(256)]);
        bytes[f.at] = v;
        ops.push(`int:${f.role}@${f.at}=${v}`);
      }
    },
    // A value type, array item type or ggml type id replaced: type confusion, unknown ids, unsupported ggml types.
    () => {
      const f = pick([...(byRole.get('valueType') ?? []), ...(byRole.get('itemType') ?? []), ...(byRole.get('ggmlType') ?? [])]);
      if (!f || f.at + 4 > bytes.length) return;
      const v = f.role === 'ggmlType' ? pick([0, 1, 2, 3, 6, 8, 12, 13, 14, 15, 16, 30, 39, 40, 99, int(64)]) : int(15);
      view().setUint32(f.at, v, true);
      ops.push(`type:${f.role}@${f.at}=${v}`);
    },
    // Bits flipped anywhere in the header.
    () => {
      for (let k = 1 + int(4); k > 0; k--) {
        const at = int(layout.headerEnd);
        const bit = int(8);
        bytes[at] ^= 1 << bit;
        ops.push(`flip@${at}.${bit}`);
      }
    },
    // A float metadata value (norm epsilon, rope base, a token score) made NaN, infinite, zero, tiny or huge.
    () => {
      const f = pick((byRole.get('scalar') ?? []).filter((x) => x.scalarType === 'f32'));
      if (!f || f.at + 4 > bytes.length) return;
      const v = pick(F32_EDGES);
      view().setFloat32(f.at, v, true);
      ops.push(`f32@${f.at}=${v}`);
    },
    // A string's bytes changed: invalid UTF-8, NUL, another key's text (duplicate keys, unknown keys).
    () => {
      const f = pick(byRole.get('text') ?? []);
      if (!f || f.at + f.size > bytes.length) return;
      const what = pick(['invalid-utf8', 'nul', 'random', 'upper']);
      for (let k = 0; k < Math.max(1, Math.min(f.size, 1 + int(4))); k++) {
        const at = f.at + int(f.size);
        bytes[at] = what === 'invalid-utf8' ? pick([0x80, 0xbf, 0xc0, 0xf5, 0xff, 0xed]) : what === 'nul' ? 0 : what === 'upper' ? bytes[at] & 0xdf : int(256);
      }
      ops.push(`text:${what}@${f.at}+${f.size}`);
    },
    // Bytes deleted from or inserted into the header: everything after shifts.
    () => {
      const at = int(layout.headerEnd);
      const n = 1 + int(16);
      if (next() < 0.5) {
        bytes = concat(bytes.subarray(0, at), bytes.subarray(Math.min(bytes.length, at + n)));
        length -= n;
        ops.push(`delete@${at}+${n}`);
      } else {
        const insert = Uint8Array.from({ length: n }, () => (next() < 0.5 ? 0 : int(256)));
        bytes = concat(bytes.subarray(0, at), insert, bytes.subarray(at));
        length += n;
        ops.push(`insert@${at}+${n}`);
      }
    },
    // A metadata entry duplicated or dropped, with or without fixing the count.
    () => {
      if (layout.kvRanges.length === 0) return;
      const [start, end] = pick(layout.kvRanges);
      const fixCount = next() < 0.7;
      if (end > bytes.length) return;
      const count = view().getBigUint64(layout.kvCountAt, true);
      if (next() < 0.5) {
        bytes = concat(bytes.subarray(0, end), bytes.subarray(start, end), bytes.subarray(end));
        length += end - start;
        if (fixCount) new DataView(bytes.buffer).setBigUint64(layout.kvCountAt, count + 1n, true);
        ops.push(`dup-kv@${start}-${end}${fixCount ? '' : ' (count kept)'}`);
      } else {
        bytes = concat(bytes.subarray(0, start), bytes.subarray(end));
        length -= end - start;
        if (fixCount) new DataView(bytes.buffer).setBigUint64(layout.kvCountAt, count - 1n, true);
        ops.push(`drop-kv@${start}-${end}${fixCount ? '' : ' (count kept)'}`);
      }
    },
    // The file cut short: mostly inside the header, sometimes inside the tensor data.
    () => {
      const at = Math.min(length, next() < 0.7 ? int(layout.headerEnd + 64) : layout.headerEnd + int(Math.max(1, length - layout.headerEnd)));
      length = at;
      bytes = bytes.subarray(0, Math.min(at, bytes.length));
      ops.push(`truncate@${at}`);
    },
    // Bytes appended (benign unless another mutation moved the data).
    () => {
      const n = 1 + int(4096);
      length += n;
      ops.push(`extend+${n}`);
    },
    // The file grown to 1-4 GiB (sparse zeros): a huge count or length is now one the file's size can back, and only
    // the reader's memory cap stands between it and the allocation.
    () => {
      length = 2 ** 30 * (1 + int(4)) + int(4096);
      ops.push(`grow=${length}`);
    },
    // The same, aimed: a count or length set to the most the grown file's size lets through (items of 1-12 bytes).
    () => {
      const f = pick([...(byRole.get('arrayCount') ?? []), ...(byRole.get('stringLength') ?? [])]);
      if (!f || f.at + 8 > bytes.length) return;
      length = 2 ** 31 + int(2 ** 31);
      const v = BigInt(Math.floor((length - f.at - 8) / pick([1, 2, 4, 8, 12])));
      view().setBigUint64(f.at, v, true);
      ops.push(`grow=${length}, ${f.role}@${f.at}=${v}`);
    },
  ];
  const count = 1 + int(3);
  for (let k = 0; k < count; k++) pick(operators)();
  return { head: bytes.subarray(0, Math.min(bytes.length, length)), length, ops };
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
