// Model GGUFs made by the project's own writer, for tests: llama.cpp's metadata keys and tensor names for a
// llama / qwen2 / qwen3 spec, with seeded random F32 weights (or zero bytes of any type, for shape-only tests).
// Extend `tensorData` with quantized encoders and `extraMetadata` with tokenizer keys as those land.
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { after } from 'node:test';
import { type GgufFile } from '../../gpu/gguf/reader';
import { type GgufEntry, type GgufTensorInput, entriesFromFile, kv, writeGguf } from '../../gpu/gguf/writer';
import { GgmlType, ggmlTensorBytes } from '../../gpu/model/ggmlTypes';
import { randomF32 } from './random';

export interface ModelSpec {
  readonly architecture: 'llama' | 'qwen2' | 'qwen3';
  readonly name?: string;
  readonly layers: number;
  readonly dim: number;
  readonly ffn: number;
  readonly heads: number;
  readonly kvHeads: number;
  readonly headDim: number;
  readonly vocab: number;
  readonly contextLength: number;
  readonly normEps: number;
  readonly ropeTheta: number;
  /** Default headDim. */
  readonly ropeDims?: number;
  readonly qkvBias?: boolean;
  readonly qkNorm?: boolean;
  readonly tiedEmbeddings?: boolean;
  /** Written as the tensor rope_freqs.weight (ropeDims / 2 values), as llama.cpp's converter does for Llama 3.x. */
  readonly ropeFreqs?: Float32Array;
  /** Linear rope scaling, written as rope.scaling.type/factor. */
  readonly linearRopeFactor?: number;
  /** Write `attention.key_length`/`value_length` (llama.cpp writes them when headDim ≠ dim/heads, and for Llama 3). */
  readonly writeKeyLength?: boolean;
  /** Type of the 2-D weights (default F32); 1-D tensors are always F32. Non-F32 types need data: 'zeros'. */
  readonly matrixType?: GgmlType;
  /** Metadata appended after the model keys (e.g. tokenizer.* copied from another file). */
  readonly extraMetadata?: readonly (readonly [string, GgufEntry])[];
}

/** llama.cpp's metadata for `spec` (the keys llama.cpp's converter writes for these architectures). */
export function modelMetadata(spec: ModelSpec): (readonly [string, GgufEntry])[] {
  const a = spec.architecture;
  const out: [string, GgufEntry][] = [
    ['general.architecture', kv.string(a)],
    ['general.name', kv.string(spec.name ?? `test-${a}`)],
    [`${a}.context_length`, kv.u32(spec.contextLength)],
    [`${a}.embedding_length`, kv.u32(spec.dim)],
    [`${a}.feed_forward_length`, kv.u32(spec.ffn)],
    [`${a}.block_count`, kv.u32(spec.layers)],
    [`${a}.attention.head_count`, kv.u32(spec.heads)],
    [`${a}.attention.head_count_kv`, kv.u32(spec.kvHeads)],
    [`${a}.attention.layer_norm_rms_epsilon`, kv.f32(spec.normEps)],
    [`${a}.rope.freq_base`, kv.f32(spec.ropeTheta)],
    [`${a}.rope.dimension_count`, kv.u32(spec.ropeDims ?? spec.headDim)],
  ];
  if (spec.writeKeyLength || spec.headDim * spec.heads !== spec.dim) {
    out.push([`${a}.attention.key_length`, kv.u32(spec.headDim)], [`${a}.attention.value_length`, kv.u32(spec.headDim)]);
  }
  if (spec.linearRopeFactor !== undefined) {
    out.push([`${a}.rope.scaling.type`, kv.string('linear')], [`${a}.rope.scaling.factor`, kv.f32(spec.linearRopeFactor)]);
  }
  return [...out, ...(spec.extraMetadata ?? [])];
}

/** Every tensor of `spec` as [name, type, dims (ne0 first)], in llama.cpp's order. */
export function modelTensorShapes(spec: ModelSpec): { name: string; type: GgmlType; dims: number[] }[] {
  const { dim, ffn, heads, kvHeads, headDim, vocab } = spec;
  const m = spec.matrixType ?? GgmlType.F32;
  const f = GgmlType.F32;
  const q = heads * headDim;
  const kvw = kvHeads * headDim;
  const out = [{ name: 'token_embd.weight', type: m, dims: [dim, vocab] }];
  if (spec.ropeFreqs) out.push({ name: 'rope_freqs.weight', type: f, dims: [spec.ropeFreqs.length] });
  for (let i = 0; i < spec.layers; i++) {
    const b = `blk.${i}.`;
    out.push({ name: `${b}attn_norm.weight`, type: f, dims: [dim] }, { name: `${b}attn_q.weight`, type: m, dims: [dim, q] });
    if (spec.qkvBias) out.push({ name: `${b}attn_q.bias`, type: f, dims: [q] });
    out.push({ name: `${b}attn_k.weight`, type: m, dims: [dim, kvw] });
    if (spec.qkvBias) out.push({ name: `${b}attn_k.bias`, type: f, dims: [kvw] });
    out.push({ name: `${b}attn_v.weight`, type: m, dims: [dim, kvw] });
    if (spec.qkvBias) out.push({ name: `${b}attn_v.bias`, type: f, dims: [kvw] });
    if (spec.qkNorm) out.push({ name: `${b}attn_q_norm.weight`, type: f, dims: [headDim] }, { name: `${b}attn_k_norm.weight`, type: f, dims: [headDim] });
    out.push(
      { name: `${b}attn_output.weight`, type: m, dims: [q, dim] },
      { name: `${b}ffn_norm.weight`, type: f, dims: [dim] },
      { name: `${b}ffn_gate.weight`, type: m, dims: [dim, ffn] },
      { name: `${b}ffn_up.weight`, type: m, dims: [dim, ffn] },
      { name: `${b}ffn_down.weight`, type: m, dims: [ffn, dim] },
    );
  }
  out.push({ name: 'output_norm.weight', type: f, dims: [dim] });
  if (spec.tiedEmbeddings === false) out.push({ name: 'output.weight', type: m, dims: [dim, vocab] });
  return out;
}

/**
 * Tensor data: 'random' = seeded uniform F32 (matrices scaled by 1/sqrt(ne0), norms ≈ 1, biases small);
 * 'zeros' = zero bytes of any type, streamed in 1 MiB pieces (valid for every ggml type: all scales 0).
 * rope_freqs.weight always holds spec.ropeFreqs.
 */
export function modelTensors(spec: ModelSpec, data: 'random' | 'zeros', seed = 1): GgufTensorInput[] {
  return modelTensorShapes(spec).map(({ name, type, dims }, i) => {
    const elements = dims.reduce((a, b) => a * b, 1);
    if (name === 'rope_freqs.weight') return { name, type, dims, data: spec.ropeFreqs! };
    if (data === 'zeros') return { name, type, dims, data: zeroPieces(ggmlTensorBytes(type, elements)) };
    if (type !== GgmlType.F32) throw new Error(`modelTensors: random data is F32 only; ${name} is type ${type}`);
    let values: Float32Array;
    if (name.endsWith('norm.weight')) values = randomF32(elements, seed * 1000 + i, 0.1).map((x) => 1 + x);
    else if (name.endsWith('.bias')) values = randomF32(elements, seed * 1000 + i, 0.1);
    else values = randomF32(elements, seed * 1000 + i, 1 / Math.sqrt(dims[0]));
    return { name, type, dims, data: values };
  });
}

/** Writes the model GGUF of `spec` to `path`. */
export async function writeModelGguf(path: string, spec: ModelSpec, data: 'random' | 'zeros' = 'random', seed = 1): Promise<void> {
  await writeGguf(path, { metadata: modelMetadata(spec), tensors: modelTensors(spec, data, seed) });
}

/** The tokenizer.* metadata of `file`, to give a fixture a real vocabulary (e.g. stories260K's 512 tokens). */
export function tokenizerMetadata(file: GgufFile): [string, GgufEntry][] {
  return entriesFromFile(file, (k) => k.startsWith('tokenizer.'));
}

/** A temporary folder removed after the test file; call it at the top level of the file (a hook made inside a test runs after that test). */
export function testTempDir(prefix = 'quest-lens-gguf-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function* zeroPieces(bytes: number): Iterable<Uint8Array> {
  const zeros = new Uint8Array(Math.min(bytes, 1 << 20));
  for (let left = bytes; left > 0; left -= zeros.length) yield left >= zeros.length ? zeros : zeros.subarray(0, left);
}

/**
 * Byte-level GGUF building blocks that bypass the writer's checks, for files the writer refuses to make (corrupt
 * headers, absurd counts, bad offsets). All little-endian.
 */
export const raw = {
  u32: (v: number): Uint8Array => le((b) => b.writeUInt32LE(v), 4),
  u64: (v: number | bigint): Uint8Array => le((b) => b.writeBigUInt64LE(BigInt(v)), 8),
  f32: (v: number): Uint8Array => le((b) => b.writeFloatLE(v), 4),
  /** A GGUF string: u64 byte length (or `length` to lie about it), then the UTF-8 bytes. */
  string: (s: string, length?: number | bigint): Uint8Array => {
    const bytes = Buffer.from(s, 'utf8');
    return concat([raw.u64(length ?? bytes.length), bytes]);
  },
  /** One metadata entry: key, value type id, encoded value. */
  kv: (key: string, typeId: number, value: Uint8Array): Uint8Array => concat([raw.string(key), raw.u32(typeId), value]),
  /** One tensor info; nDims defaults to dims.length. */
  tensor: (name: string, dims: readonly (number | bigint)[], type: number, offset: number | bigint, nDims = dims.length): Uint8Array =>
    concat([raw.string(name), raw.u32(nDims), ...dims.map((d) => raw.u64(d)), raw.u32(type), raw.u64(offset)]),
};

/** A GGUF file from raw parts: header (with counts that may lie), padding to `alignment`, then `data`. */
export function rawGguf(p: {
  magic?: Uint8Array;
  version?: number;
  tensorCount?: number | bigint;
  kvCount?: number | bigint;
  kvs?: readonly Uint8Array[];
  tensors?: readonly Uint8Array[];
  alignment?: number;
  data?: Uint8Array;
}): Uint8Array {
  const kvs = p.kvs ?? [];
  const tensors = p.tensors ?? [];
  const header = concat([
    p.magic ?? Buffer.from('GGUF'),
    raw.u32(p.version ?? 3),
    raw.u64(p.tensorCount ?? tensors.length),
    raw.u64(p.kvCount ?? kvs.length),
    ...kvs,
    ...tensors,
  ]);
  const a = p.alignment ?? 32;
  const pad = new Uint8Array((a - (header.length % a)) % a);
  return concat([header, pad, p.data ?? new Uint8Array(0)]);
}

function le(write: (b: Buffer) => void, n: number): Uint8Array {
  const b = Buffer.alloc(n);
  write(b);
  return b;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  return Buffer.concat(parts);
}
