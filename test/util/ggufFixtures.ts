// Model GGUFs made by the project's own writer, for tests: llama.cpp's metadata keys and tensor names for a
// llama / qwen2 / qwen3 spec, with seeded random weights encoded in any type the engine reads (or zero bytes of any
// type, for shape-only tests); the real shapes of the models users run (realShape); llama.cpp's Q4_K_M-like mix and
// fallback types (withWeightPlan); the F32 twin of a file (writeF32Twin); a tokenizer vocabulary padded to any rows.
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { after } from 'node:test';
import { type GgufFile, readGguf, readTensorData } from '../../gpu/gguf/reader';
import { type GgufEntry, type GgufTensorInput, entriesFromFile, kv, writeGguf } from '../../gpu/gguf/writer';
import { GgmlType, ggmlTensorBytes, ggmlTypeInfo } from '../../gpu/model/ggmlTypes';
import { llama3FreqFactors } from '../../gpu/model/rope';
import { dequantizeRows, quantizeRows } from '../../gpu/quant/codec';
import { rng } from './random';

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
  /** Type of the 2-D weights (default F32); 1-D tensors are always F32, as llama.cpp writes norms and biases. */
  readonly matrixType?: GgmlType;
  /** Per-tensor type of the 2-D weights, overriding matrixType (e.g. withWeightPlan's); `ne0` is the row length. */
  readonly matrixTypes?: (name: string, ne0: number) => GgmlType;
  /**
   * Half-width of the uniform token_embd values (default 1/sqrt(dim)). With tied embeddings it is also the LM head's:
   * the logits' spread grows with it (see peakedEmbeddingScale).
   */
  readonly embeddingScale?: number;
  /**
   * Multiplier of the attn_output and ffn_down half-widths (default 1): how much each layer adds to the residual
   * stream against the token embedding (see peakedEmbeddingScale).
   */
  readonly layerOutputScale?: number;
  /** Token ids whose token_embd (and output) rows are zero: e.g. end-of-generation ids, so that greedy runs go on. */
  readonly quietTokens?: readonly number[];
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
  const f = GgmlType.F32;
  const typeOf = spec.matrixTypes ?? (() => spec.matrixType ?? f);
  const out: { name: string; type: GgmlType; dims: number[] }[] = [];
  // A matrix entry: its type from matrixTypes/matrixType.
  const mat = (name: string, dims: number[]) => ({ name, type: typeOf(name, dims[0]), dims });
  const q = heads * headDim;
  const kvw = kvHeads * headDim;
  out.push(mat('token_embd.weight', [dim, vocab]));
  if (spec.ropeFreqs) out.push({ name: 'rope_freqs.weight', type: f, dims: [spec.ropeFreqs.length] });
  for (let i = 0; i < spec.layers; i++) {
    const b = `blk.${i}.`;
    out.push({ name: `${b}attn_norm.weight`, type: f, dims: [dim] }, mat(`${b}attn_q.weight`, [dim, q]));
    if (spec.qkvBias) out.push({ name: `${b}attn_q.bias`, type: f, dims: [q] });
    out.push(mat(`${b}attn_k.weight`, [dim, kvw]));
    if (spec.qkvBias) out.push({ name: `${b}attn_k.bias`, type: f, dims: [kvw] });
    out.push(mat(`${b}attn_v.weight`, [dim, kvw]));
    if (spec.qkvBias) out.push({ name: `${b}attn_v.bias`, type: f, dims: [kvw] });
    if (spec.qkNorm) out.push({ name: `${b}attn_q_norm.weight`, type: f, dims: [headDim] }, { name: `${b}attn_k_norm.weight`, type: f, dims: [headDim] });
    out.push(
      mat(`${b}attn_output.weight`, [q, dim]),
      { name: `${b}ffn_norm.weight`, type: f, dims: [dim] },
      mat(`${b}ffn_gate.weight`, [dim, ffn]),
      mat(`${b}ffn_up.weight`, [dim, ffn]),
      mat(`${b}ffn_down.weight`, [ffn, dim]),
    );
  }
  out.push({ name: 'output_norm.weight', type: f, dims: [dim] });
  if (spec.tiedEmbeddings === false) out.push(mat('output.weight', [dim, vocab]));
  return out;
}

/**
 * Tensor data: 'random' = seeded uniform values (matrices scaled by 1/sqrt(ne0), token_embd by spec.embeddingScale,
 * norms ≈ 1, biases small) encoded in the tensor's type, generated and encoded piece by piece as the writer asks
 * for it (a Llama-3.2-1B layer is 61M weights: never held whole); 'zeros' = zero bytes of any type, streamed in
 * 1 MiB pieces (valid for every ggml type: all scales 0). rope_freqs.weight always holds spec.ropeFreqs.
 * Random values depend only on (seed, tensor index, element index), not on the type they are encoded in.
 */
export function modelTensors(spec: ModelSpec, data: 'random' | 'zeros', seed = 1): GgufTensorInput[] {
  return modelTensorShapes(spec).map(({ name, type, dims }, i) => {
    const elements = dims.reduce((a, b) => a * b, 1);
    if (name === 'rope_freqs.weight') return { name, type, dims, data: spec.ropeFreqs! };
    if (data === 'zeros') return { name, type, dims, data: zeroPieces(ggmlTensorBytes(type, elements)) };
    let scale: number;
    let offset = 0;
    if (name.endsWith('norm.weight')) [scale, offset] = [0.1, 1];
    else if (name.endsWith('.bias')) scale = 0.1;
    else if (name === 'token_embd.weight') scale = spec.embeddingScale ?? 1 / Math.sqrt(dims[0]);
    else if (/attn_output|ffn_down/.test(name)) scale = (spec.layerOutputScale ?? 1) / Math.sqrt(dims[0]);
    else scale = 1 / Math.sqrt(dims[0]);
    const quiet = name === 'token_embd.weight' || name === 'output.weight' ? new Set(spec.quietTokens ?? []) : new Set<number>();
    return { name, type, dims, data: randomPieces(type, dims, seed * 1000 + i, scale, offset, quiet) };
  });
}

/**
 * The values of randomF32(elements, seed, scale) + offset (rows with an id in `quietRows` zero), encoded as `type`
 * in pieces of whole rows. Re-iterable: each iteration starts the generator again.
 */
function randomPieces(type: GgmlType, dims: readonly number[], seed: number, scale: number, offset: number, quietRows: ReadonlySet<number>): Iterable<Uint8Array> {
  const cols = dims[0];
  const rows = dims.reduce((a, b) => a * b, 1) / cols;
  const rowsPerPiece = Math.max(1, Math.floor((1 << 18) / cols));
  return {
    *[Symbol.iterator]() {
      const next = rng(seed);
      for (let r0 = 0; r0 < rows; r0 += rowsPerPiece) {
        const n = Math.min(rowsPerPiece, rows - r0);
        const values = new Float32Array(n * cols);
        for (let i = 0; i < values.length; i++) values[i] = (next() * 2 - 1) * scale + offset;
        for (let r = 0; r < n; r++) if (quietRows.has(r0 + r)) values.fill(0, r * cols, (r + 1) * cols);
        yield type === GgmlType.F32 ? new Uint8Array(values.buffer) : quantizeRows(type, values, n, cols);
      }
    },
  };
}

/** Writes the model GGUF of `spec` to `path`. */
export async function writeModelGguf(path: string, spec: ModelSpec, data: 'random' | 'zeros' = 'random', seed = 1): Promise<void> {
  await writeGguf(path, { metadata: modelMetadata(spec), tensors: modelTensors(spec, data, seed) });
}

/**
 * Writes the F32 twin of the GGUF at `src` to `dst`: the same metadata and tensors, every tensor as F32 holding
 * exactly the values its type stores (float64 decode, rounded to f32). The same model without the storage format:
 * llama.cpp's CPU code rounds activations to the weight's dot-product type (8-bit Q8_0/Q8_K for quantized weights,
 * F16, BF16), and on the twin it computes in f32 throughout.
 */
export async function writeF32Twin(src: string, dst: string): Promise<void> {
  const file = await readGguf(src);
  const tensors: GgufTensorInput[] = file.tensors.map((t) => ({
    name: t.name,
    type: GgmlType.F32,
    dims: t.dims,
    data: {
      async *[Symbol.asyncIterator]() {
        const bytes = await readTensorData(file, t);
        const cols = t.dims[0];
        const rows = t.elements / cols;
        const rowBytes = ggmlTensorBytes(t.type, cols);
        const step = Math.max(1, Math.floor((1 << 18) / cols));
        for (let r = 0; r < rows; r += step) {
          const n = Math.min(step, rows - r);
          yield new Uint8Array(Float32Array.from(dequantizeRows(t.type, bytes.subarray(r * rowBytes, (r + n) * rowBytes), n, cols)).buffer);
        }
      },
    },
  }));
  const metadata = entriesFromFile(file, (k) => k !== 'general.alignment');
  await writeGguf(dst, { metadata, tensors, alignment: file.alignment });
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

/** llama.cpp's Q4_K_M mix, simplified: Q6_K for attn_v, ffn_down and the LM head (token_embd when tied), Q4_K for the rest. */
export function q4KMTypes(tiedEmbeddings: boolean): (name: string) => GgmlType {
  return (name) =>
    name.endsWith('attn_v.weight') || name.endsWith('ffn_down.weight') || name === 'output.weight' || (tiedEmbeddings && name === 'token_embd.weight')
      ? GgmlType.Q6_K
      : GgmlType.Q4_K;
}

/**
 * The type llama.cpp's quantizer writes when a tensor's rows (`ne0`) are not whole blocks of `type`
 * (llama-quant.cpp, "using fallback quantization"): Q4_K → Q5_0, Q6_K → Q8_0, then F16 if still not whole blocks.
 * Qwen2.5-Coder-0.5B's hidden size 896 is not a multiple of 256, so its Q4_K_M files hold Q5_0 and Q8_0 tensors.
 */
export function llamaCppFallback(type: GgmlType, ne0: number): GgmlType | 'Q5_0' {
  if (ne0 % ggmlTypeInfo[type].blockSize === 0) return type;
  const fallback = type === GgmlType.Q4_K ? 'Q5_0' : type === GgmlType.Q6_K ? GgmlType.Q8_0 : GgmlType.F16;
  return fallback !== 'Q5_0' && ne0 % ggmlTypeInfo[fallback].blockSize !== 0 ? GgmlType.F16 : fallback;
}

/** A weight type of the parity matrix: one ggml type for every matrix, or the Q4_K_M mix. */
export type WeightPlan = GgmlType | 'Q4_K_M';

export function weightPlanName(plan: WeightPlan): string {
  return plan === 'Q4_K_M' ? plan : ggmlTypeInfo[plan].name;
}

/**
 * Why llama.cpp's file of `spec` under `plan` cannot be written here (a tensor whose fallback type is Q5_0, which
 * neither this writer nor the engine has), or undefined when it can.
 */
export function weightPlanProblem(spec: ModelSpec, plan: WeightPlan): string | undefined {
  const typeOf = planTypes(spec, plan);
  for (const { name, dims } of modelTensorShapes({ ...spec, matrixType: GgmlType.F32, matrixTypes: undefined })) {
    if (dims.length < 2) continue;
    if (typeOf(name, dims[0]) === 'Q5_0') {
      return `${name} has rows of ${dims[0]}, not whole Q4_K super-blocks of 256: llama.cpp writes it as Q5_0, which the engine does not read`;
    }
  }
  return undefined;
}

/** `spec` with its matrices typed by `plan` as llama.cpp's quantizer would, fallbacks included. Throws on Q5_0. */
export function withWeightPlan(spec: ModelSpec, plan: WeightPlan): ModelSpec {
  const typeOf = planTypes(spec, plan);
  return {
    ...spec,
    matrixTypes: (name, ne0) => {
      const t = typeOf(name, ne0);
      if (t === 'Q5_0') throw new Error(`withWeightPlan: ${weightPlanProblem(spec, plan)}`);
      return t;
    },
  };
}

function planTypes(spec: ModelSpec, plan: WeightPlan): (name: string, ne0: number) => GgmlType | 'Q5_0' {
  const mix = plan === 'Q4_K_M' ? q4KMTypes(spec.tiedEmbeddings !== false) : () => plan;
  return (name, ne0) => llamaCppFallback(mix(name), ne0);
}

/** The shape keys of the models users run (shared/docs/models-and-tokenizers.md §2). */
export type RealShape = 'llama3.2-1b' | 'qwen2.5-coder-0.5b' | 'qwen2.5-coder-1.5b' | 'qwen3-0.6b';

/**
 * The real per-layer shapes, RoPE and extras (Llama 3 rope_freqs.weight, Qwen2 QKV bias, Qwen3 QK-norm) of the
 * models users run, with `layers` layers and a `vocab`-row (cut) vocabulary: tied embeddings like the originals.
 */
export function realShape(shape: RealShape, layers: number, vocab: number): ModelSpec {
  switch (shape) {
    case 'llama3.2-1b':
      return {
        architecture: 'llama', name: 'Llama-3.2-1B-shaped', layers, dim: 2048, ffn: 8192, heads: 32, kvHeads: 8, headDim: 64, vocab,
        contextLength: 131072, normEps: 1e-5, ropeTheta: 500000, writeKeyLength: true, tiedEmbeddings: true,
        ropeFreqs: Float32Array.from(llama3FreqFactors(64, 500000, { type: 'llama3', factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalContextLength: 8192 })),
      };
    case 'qwen2.5-coder-0.5b':
      return {
        architecture: 'qwen2', name: 'Qwen2.5-Coder-0.5B-shaped', layers, dim: 896, ffn: 4864, heads: 14, kvHeads: 2, headDim: 64, vocab,
        contextLength: 32768, normEps: 1e-6, ropeTheta: 1e6, qkvBias: true, tiedEmbeddings: true,
      };
    case 'qwen2.5-coder-1.5b':
      return {
        architecture: 'qwen2', name: 'Qwen2.5-Coder-1.5B-shaped', layers, dim: 1536, ffn: 8960, heads: 12, kvHeads: 2, headDim: 128, vocab,
        contextLength: 32768, normEps: 1e-6, ropeTheta: 1e6, qkvBias: true, tiedEmbeddings: true,
      };
    case 'qwen3-0.6b':
      return {
        architecture: 'qwen3', name: 'Qwen3-0.6B-shaped', layers, dim: 1024, ffn: 3072, heads: 16, kvHeads: 8, headDim: 128, vocab,
        contextLength: 40960, normEps: 1e-6, ropeTheta: 1e6, qkNorm: true, tiedEmbeddings: true,
      };
  }
}

/**
 * A token_embd half-width that makes the tied LM head's logits spread with a standard deviation of about `logitStd`:
 * the head multiplies the normed hidden state (rms ≈ 1, norm weights ≈ 1) by rows of `dim` uniform values of
 * half-width s, so the logits' std is ≈ s·sqrt(dim/3). The hidden state also holds the input token's own embedding,
 * whose logit is ≈ sqrt(dim)·(embedding rms / residual rms) stds above the rest: give the layers a layerOutputScale
 * large enough (≈ 80 at these shapes) that the residual is mostly theirs, or greedy decoding repeats the input token.
 */
export function peakedEmbeddingScale(dim: number, logitStd: number): number {
  return logitStd / Math.sqrt(dim / 3);
}

/**
 * `file`'s tokenizer.* metadata (an SPM 'llama' vocabulary such as stories260K's 512 tokens) padded with normal
 * tokens `<pad_N>` (score -1e9, never merged into) to `rows` tokens, so that a fixture's token_embd can have `rows`
 * rows: llama.cpp requires as many embedding rows as vocabulary tokens.
 */
export function paddedTokenizerMetadata(file: GgufFile, rows: number): [string, GgufEntry][] {
  const entries = tokenizerMetadata(file);
  const tokens = file.metadata.get('tokenizer.ggml.tokens') as readonly string[];
  if (rows < tokens.length) throw new Error(`paddedTokenizerMetadata: ${rows} rows < the vocabulary's ${tokens.length} tokens`);
  const extra = rows - tokens.length;
  const pad = (k: string, e: GgufEntry): GgufEntry => {
    if (e.type !== 'array') return e;
    const ids = Array.from({ length: extra }, (_, i) => tokens.length + i);
    if (k === 'tokenizer.ggml.tokens') return kv.array('string', [...tokens, ...ids.map((id) => `<pad_${id}>`)]);
    if (k === 'tokenizer.ggml.scores') return kv.array('f32', padded(e.value as ArrayLike<number>, extra, -1e9));
    if (k === 'tokenizer.ggml.token_type') return kv.array('i32', Int32Array.from(padded(e.value as ArrayLike<number>, extra, 1)));
    return e;
  };
  return entries.map(([k, e]) => [k, pad(k, e)]);
}

/** `a` followed by `extra` copies of `fill`. */
function padded(a: ArrayLike<number>, extra: number, fill: number): Float32Array {
  const out = new Float32Array(a.length + extra).fill(fill);
  out.set(Array.from(a));
  return out;
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
