// Synthetic models: a GGUF of a real model's shape with seeded random weights, for benchmarks and `selftest`, written
// fast enough for billion-parameter shapes (Llama-3.2-1B Q8_0, 1.3 GB, in seconds). Quantized tensors are random
// bytes straight in ggml block layout with only the scale fields patched to sane values (weights of standard
// deviation ≈ 1/sqrt(cols), so activations neither vanish nor blow up through the layers); nothing is quantized from
// floats. Data is streamed to disk a piece at a time (gpu/gguf/writer.ts), never held whole.
//
// Scales are kept normal f16s (≥ 2^-14): GPUs may flush f16 subnormals to zero, which would zero a whole matrix.
import { kv, type GgufEntry, type GgufTensorInput, writeGguf } from '../gguf/writer';
import type { GgufValue } from '../gguf/reader';
import { EngineError } from '../errors';
import { GgmlType, ggmlTensorBytes, ggmlTypeInfo } from './ggmlTypes';
import { numberToBf16, numberToF16 } from '../quant/half';
import { packScaleMin } from '../quant/q4k';
import { llama3FreqFactors } from './rope';
import { tokenizerGgufEntries } from '../tokenizer/ggufEntries';
import { byteToChar } from '../tokenizer/byteLevel';
import { TokenType } from '../tokenizer/vocab';

/** A model's hyperparameters, as llama.cpp's converter writes them for these architectures. */
export interface SyntheticShape {
  readonly architecture: 'llama' | 'qwen2';
  readonly name: string;
  readonly layers: number;
  readonly dim: number;
  readonly ffn: number;
  readonly heads: number;
  readonly kvHeads: number;
  readonly headDim: number;
  /** Rows of token_embd (the real model's vocabulary, padding included). */
  readonly vocab: number;
  readonly contextLength: number;
  readonly normEps: number;
  readonly ropeTheta: number;
  /** Llama 3.x rope scaling, written as the tensor rope_freqs.weight like llama.cpp's converter does. */
  readonly llama3Rope?: { readonly factor: number; readonly lowFreqFactor: number; readonly highFreqFactor: number; readonly originalContextLength: number };
  /** blk.N.attn_{q,k,v}.bias (Qwen2). */
  readonly qkvBias?: boolean;
  /** No output.weight: the LM head is token_embd. */
  readonly tiedEmbeddings?: boolean;
}

/** meta-llama/Llama-3.2-1B (config.json): 16 layers, 2048 wide, 32/8 heads of 64, tied embeddings. */
export const llama32_1B: SyntheticShape = {
  architecture: 'llama',
  name: 'synthetic Llama-3.2-1B',
  layers: 16,
  dim: 2048,
  ffn: 8192,
  heads: 32,
  kvHeads: 8,
  headDim: 64,
  vocab: 128256,
  contextLength: 131072,
  normEps: 1e-5,
  ropeTheta: 500000,
  llama3Rope: { factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalContextLength: 8192 },
  tiedEmbeddings: true,
};

/** Qwen/Qwen2.5-Coder-1.5B (config.json): 28 layers, 1536 wide, 12/2 heads of 128, QKV bias, tied embeddings. */
export const qwen25Coder1_5B: SyntheticShape = {
  architecture: 'qwen2',
  name: 'synthetic Qwen2.5-Coder-1.5B',
  layers: 28,
  dim: 1536,
  ffn: 8960,
  heads: 12,
  kvHeads: 2,
  headDim: 128,
  vocab: 151936,
  contextLength: 32768,
  normEps: 1e-6,
  ropeTheta: 1000000,
  qkvBias: true,
  tiedEmbeddings: true,
};

/** The matrix types the generator writes. */
export type SyntheticWeightType = typeof GgmlType.F32 | typeof GgmlType.F16 | typeof GgmlType.BF16 | typeof GgmlType.Q8_0 | typeof GgmlType.Q4_0 | typeof GgmlType.Q4_K | typeof GgmlType.Q6_K;

/** One type for every matrix, or llama.cpp's Q4_K_M mix (q4KMType). */
export type SyntheticWeightPlan = SyntheticWeightType | 'Q4_K_M';

export function weightPlanName(plan: SyntheticWeightPlan): string {
  return plan === 'Q4_K_M' ? plan : ggmlTypeInfo[plan].name;
}

/**
 * The type llama.cpp's quantizer gives a matrix of a Q4_K_M file (llama-quant.cpp, llama_tensor_get_type_impl, for
 * llama/qwen2): Q6_K for the LM head (token_embd when tied) and for attn_v and ffn_down in the layers use_more_bits
 * picks (the first and last eighth, and every third between), Q4_K for everything else.
 */
export function q4KMType(name: string, layers: number, tiedEmbeddings: boolean): SyntheticWeightType {
  if (name === 'output.weight' || (tiedEmbeddings && name === 'token_embd.weight')) return GgmlType.Q6_K;
  const layer = /^blk\.(\d+)\.(attn_v|ffn_down)\.weight$/.exec(name);
  if (!layer) return GgmlType.Q4_K;
  const i = Number(layer[1]);
  const moreBits = i < Math.floor(layers / 8) || i >= Math.floor((7 * layers) / 8) || (i - Math.floor(layers / 8)) % 3 === 2;
  return moreBits ? GgmlType.Q6_K : GgmlType.Q4_K;
}

export interface SyntheticModelOptions {
  readonly shape: SyntheticShape;
  /** Type of every 2-D weight (token_embd included unless embeddingType says otherwise), or the Q4_K_M mix. */
  readonly weightType: SyntheticWeightPlan;
  /** Type of token_embd (the LM head when tied); default weightType. */
  readonly embeddingType?: SyntheticWeightType;
  /** Same seed, same file. Default 1. */
  readonly seed?: number;
  /**
   * tokenizer.* metadata, padded to the shape's vocab rows (padTokenizerMetadata); default byteTokenizerMetadata()
   * (256 byte tokens + <|endoftext|>).
   */
  readonly tokenizer?: ReadonlyMap<string, GgufValue>;
}

export interface SyntheticModelInfo {
  readonly path: string;
  readonly fileSize: number;
  /** Elements of all tensors. */
  readonly parameters: number;
  /** Bytes of all tensor data. */
  readonly tensorBytes: number;
}

/**
 * The smallest vocabulary the engine loads: a byte-level 'gpt2' tokenizer of the 256 bytes plus <|endoftext|> (id 256,
 * BOS and EOS), no merges. Text encodes to one token per byte; writeSyntheticModel pads it to the embedding's rows
 * with unused tokens, which decode to nothing.
 */
export function byteTokenizerMetadata(): Map<string, GgufValue> {
  const tokens = [...Array.from({ length: 256 }, (_, b) => byteToChar[b]), '<|endoftext|>'];
  const types = new Int32Array(tokens.length).fill(TokenType.normal);
  types[256] = TokenType.control;
  return new Map<string, GgufValue>([
    ['tokenizer.ggml.model', 'gpt2'],
    ['tokenizer.ggml.pre', 'gpt-2'],
    ['tokenizer.ggml.tokens', tokens],
    ['tokenizer.ggml.token_type', types],
    ['tokenizer.ggml.merges', []],
    ['tokenizer.ggml.bos_token_id', 256],
    ['tokenizer.ggml.eos_token_id', 256],
    ['tokenizer.ggml.add_bos_token', false],
  ]);
}

/**
 * `tokenizer` with `[PAD<id>]` tokens of type unused appended up to `rows` tokens, as llama.cpp's converter fills a
 * vocabulary's holes: llama.cpp loads a model only when token_embd has one row per token, and unused tokens decode to
 * nothing in both engines. A vocabulary of exactly `rows` tokens is returned as it is; a larger one throws.
 */
export function padTokenizerMetadata(tokenizer: ReadonlyMap<string, GgufValue>, rows: number): ReadonlyMap<string, GgufValue> {
  const tokens = tokenizer.get('tokenizer.ggml.tokens') as readonly string[] | undefined;
  const types = tokenizer.get('tokenizer.ggml.token_type') as ArrayLike<number> | undefined;
  if (!tokens || !types) throw new EngineError('synthetic-model', 'padTokenizerMetadata: the tokenizer has no tokenizer.ggml.tokens or tokenizer.ggml.token_type');
  if (tokens.length > rows) {
    throw new EngineError('synthetic-model', `the tokenizer has ${tokens.length} tokens, more than the embedding's ${rows} rows: give the shape a vocab of at least ${tokens.length}`);
  }
  if (tokens.length === rows) return tokenizer;
  const paddedTypes = new Int32Array(rows).fill(TokenType.unused);
  paddedTypes.set(Array.from(types));
  const out = new Map(tokenizer);
  out.set('tokenizer.ggml.tokens', [...tokens, ...Array.from({ length: rows - tokens.length }, (_, i) => `[PAD${tokens.length + i}]`)]);
  out.set('tokenizer.ggml.token_type', paddedTypes);
  const scores = tokenizer.get('tokenizer.ggml.scores') as ArrayLike<number> | undefined;
  if (scores) {
    const s = new Float32Array(rows).fill(-1e9);
    s.set(Array.from(scores));
    out.set('tokenizer.ggml.scores', s);
  }
  return out;
}

/** Writes the synthetic model to `path` (atomically: complete or absent). */
export async function writeSyntheticModel(path: string, o: SyntheticModelOptions): Promise<SyntheticModelInfo> {
  const tensors = syntheticTensors(o);
  const metadata = [...syntheticMetadata(o.shape), ...tokenizerGgufEntries(padTokenizerMetadata(o.tokenizer ?? byteTokenizerMetadata(), o.shape.vocab))];
  const { fileSize } = await writeGguf(path, { metadata, tensors });
  let parameters = 0;
  let tensorBytes = 0;
  for (const t of tensors) {
    const n = t.dims.reduce((a, b) => a * b, 1);
    parameters += n;
    tensorBytes += ggmlTensorBytes(t.type, n);
  }
  return { path, fileSize, parameters, tensorBytes };
}

/**
 * Every tensor of the model in llama.cpp's order and naming, with its data as a lazy stream of pieces (nothing is
 * generated until writeGguf reads it). Throws EngineError for an unsupported type or a shape that cannot be written.
 */
export function syntheticTensors(o: SyntheticModelOptions): GgufTensorInput[] {
  const s = o.shape;
  checkSyntheticShape(s);
  const plan = o.weightType;
  const typeOf = (name: string): SyntheticWeightType =>
    (name === 'token_embd.weight' || name === 'output.weight') && o.embeddingType !== undefined
      ? o.embeddingType
      : plan === 'Q4_K_M' ? q4KMType(name, s.layers, s.tiedEmbeddings === true) : plan;
  for (const t of [plan === 'Q4_K_M' ? GgmlType.Q4_K : plan, typeOf('token_embd.weight')]) {
    if (!Object.prototype.hasOwnProperty.call(blockWriters, t)) {
      const name = ggmlTypeInfo[t as GgmlType]?.name ?? `type id ${t}`;
      throw new EngineError('synthetic-model', `synthetic model ${s.name}: weight type ${name} is not one the generator writes (F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q6_K)`);
    }
  }
  const seed = o.seed ?? 1;
  const tensors: GgufTensorInput[] = [];
  let stream = 0; // each tensor gets its own seeded stream: the file does not depend on how pieces are cut
  const matrix = (name: string, cols: number, rows: number) => {
    const type = typeOf(name);
    const block = ggmlTypeInfo[type].blockSize;
    if (cols % block !== 0) {
      throw new EngineError('synthetic-model', `synthetic model ${s.name}: ${name} has ${cols} columns, not a multiple of ${ggmlTypeInfo[type].name}'s block of ${block}`);
    }
    tensors.push({ name, type, dims: [cols, rows], data: randomMatrix(type, rows, cols, mix(seed, ++stream)) });
  };
  const vector = (name: string, values: Float32Array) => tensors.push({ name, type: GgmlType.F32, dims: [values.length], data: values });
  const ones = (n: number) => new Float32Array(n).fill(1);
  const { dim, ffn, heads, kvHeads, headDim, vocab } = s;
  const q = heads * headDim;
  const kvDim = kvHeads * headDim;

  matrix('token_embd.weight', dim, vocab);
  vector('output_norm.weight', ones(dim));
  if (!s.tiedEmbeddings) matrix('output.weight', dim, vocab);
  if (s.llama3Rope) vector('rope_freqs.weight', Float32Array.from(llama3FreqFactors(headDim, s.ropeTheta, { type: 'llama3', ...s.llama3Rope })));
  for (let l = 0; l < s.layers; l++) {
    const b = `blk.${l}.`;
    vector(`${b}attn_norm.weight`, ones(dim));
    matrix(`${b}attn_q.weight`, dim, q);
    matrix(`${b}attn_k.weight`, dim, kvDim);
    matrix(`${b}attn_v.weight`, dim, kvDim);
    if (s.qkvBias) {
      vector(`${b}attn_q.bias`, randomVector(q, mix(seed, ++stream), 0.02));
      vector(`${b}attn_k.bias`, randomVector(kvDim, mix(seed, ++stream), 0.02));
      vector(`${b}attn_v.bias`, randomVector(kvDim, mix(seed, ++stream), 0.02));
    }
    matrix(`${b}attn_output.weight`, q, dim);
    vector(`${b}ffn_norm.weight`, ones(dim));
    matrix(`${b}ffn_gate.weight`, dim, ffn);
    matrix(`${b}ffn_up.weight`, dim, ffn);
    matrix(`${b}ffn_down.weight`, ffn, dim);
  }
  return tensors;
}

/** The model keys llama.cpp reads for `s` (tokenizer keys not included). */
export function syntheticMetadata(s: SyntheticShape): [string, GgufEntry][] {
  const a = s.architecture;
  return [
    ['general.architecture', kv.string(a)],
    ['general.name', kv.string(s.name)],
    [`${a}.context_length`, kv.u32(s.contextLength)],
    [`${a}.embedding_length`, kv.u32(s.dim)],
    [`${a}.feed_forward_length`, kv.u32(s.ffn)],
    [`${a}.block_count`, kv.u32(s.layers)],
    [`${a}.attention.head_count`, kv.u32(s.heads)],
    [`${a}.attention.head_count_kv`, kv.u32(s.kvHeads)],
    [`${a}.attention.key_length`, kv.u32(s.headDim)],
    [`${a}.attention.value_length`, kv.u32(s.headDim)],
    [`${a}.attention.layer_norm_rms_epsilon`, kv.f32(s.normEps)],
    [`${a}.rope.freq_base`, kv.f32(s.ropeTheta)],
    [`${a}.rope.dimension_count`, kv.u32(s.headDim)],
  ];
}

function checkSyntheticShape(s: SyntheticShape): void {
  const bad = (what: string) => new EngineError('synthetic-model', `synthetic model ${s.name}: ${what}`);
  for (const [k, v] of [['layers', s.layers], ['dim', s.dim], ['ffn', s.ffn], ['heads', s.heads], ['kvHeads', s.kvHeads], ['headDim', s.headDim], ['vocab', s.vocab], ['contextLength', s.contextLength]] as const) {
    if (!(Number.isSafeInteger(v) && v >= 1)) throw bad(`${k} (${v}) must be an integer >= 1`);
  }
  if (s.heads % s.kvHeads !== 0) throw bad(`heads (${s.heads}) must be a multiple of kvHeads (${s.kvHeads})`);
  if (s.headDim % 2 !== 0) throw bad(`headDim (${s.headDim}) must be even (RoPE rotates pairs)`);
}

/** A 32-bit seed for stream `n` of `seed` (splitmix32's finalizer). */
function mix(seed: number, n: number): number {
  let z = (seed * 0x9e3779b9 + n * 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
  z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
  return (z ^ (z >>> 15)) >>> 0 || 1;
}

/** xorshift32 over a Uint32Array: ~1 ns a word, seeded. Returns the state to continue from. */
function fillRandom(words: Uint32Array, state: number): number {
  let x = state;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x;
  }
  return x >>> 0;
}

function randomVector(n: number, seed: number, scale: number): Float32Array {
  const w = new Uint32Array(n);
  fillRandom(w, seed);
  return Float32Array.from(w, (u) => (u / 2 ** 32 * 2 - 1) * scale * Math.sqrt(3));
}

/** Smallest normal f16: scales stay at or above it. */
const F16_MIN_NORMAL = 2 ** -14;
/** Standard deviation of a uniform integer on [lo, hi]. */
const uniformStd = (lo: number, hi: number) => Math.sqrt(((hi - lo + 1) ** 2 - 1) / 12);

/** Rewrites the scale fields of `blocks` blocks at the start of `bytes` (the rest stays random). */
type BlockWriter = (std: number) => { readonly blockBytes: number; patch(bytes: Uint8Array, blocks: number): void };

const f16Bytes = (x: number): [number, number] => {
  const h = numberToF16(x);
  return [h & 0xff, h >> 8];
};

/**
 * Writes `header` at `offset` of every block, negated (`negative`) in odd blocks: signed quantized values are
 * uniform on [-2^(b-1), 2^(b-1) - 1], mean -1/2 step, and alternating the scale's sign cancels that bias.
 */
function alternating(blockBytes: number, offset: number, header: Uint8Array, negative: Uint8Array): ReturnType<BlockWriter> {
  return {
    blockBytes,
    patch: (b, n) => {
      for (let i = 0; i < n; i++) b.set(i & 1 ? negative : header, blockBytes * i + offset);
    },
  };
}

/** Per type: how random bytes become blocks of weights with standard deviation `std`. */
const blockWriters: Readonly<Record<SyntheticWeightType, BlockWriter>> = {
  [GgmlType.Q8_0]: (std) => {
    const d = Math.max(F16_MIN_NORMAL, std / uniformStd(-128, 127));
    return alternating(34, 0, Uint8Array.from(f16Bytes(d)), Uint8Array.from(f16Bytes(-d)));
  },
  [GgmlType.Q4_0]: (std) => {
    const d = Math.max(F16_MIN_NORMAL, std / uniformStd(-8, 7));
    return alternating(18, 0, Uint8Array.from(f16Bytes(d)), Uint8Array.from(f16Bytes(-d)));
  },
  [GgmlType.Q4_K]: (std) => {
    // x = d·sc·q − dmin·m with q uniform on 0..15; m = sc and dmin = 7.5·d centre it on zero.
    const qStd = uniformStd(0, 15);
    const d = Math.max(F16_MIN_NORMAL, std / (63 * qStd));
    const sc = Math.max(1, Math.min(63, Math.round(std / (d * qStd))));
    const header = new Uint8Array(16);
    header.set(f16Bytes(d), 0);
    header.set(f16Bytes(7.5 * d), 2);
    packScaleMin(new Uint8Array(8).fill(sc), new Uint8Array(8).fill(sc), header, 4);
    return alternating(144, 0, header, header);
  },
  [GgmlType.Q6_K]: (std) => {
    // x = d·scale·(q − 32) with q uniform on 0..63; scales[16] int8 at 192, d f16 at 208.
    const qStd = uniformStd(0, 63);
    const d = Math.max(F16_MIN_NORMAL, std / (127 * qStd));
    const scale = Math.max(1, Math.min(127, Math.round(std / (d * qStd))));
    const tail = (sign: number) => {
      const t = new Uint8Array(18).fill((sign * scale) & 0xff);
      t.set(f16Bytes(d), 16);
      return t;
    };
    return alternating(210, 192, tail(1), tail(-1));
  },
  // Float types: every 16-bit (or 32-bit) element is rewritten through a table of uniform values.
  [GgmlType.F16]: (std) => halfWriter(std, numberToF16),
  [GgmlType.BF16]: (std) => halfWriter(std, numberToBf16),
  [GgmlType.F32]: (std) => ({
    blockBytes: 4,
    patch: (b, n) => {
      const u = new Uint32Array(b.buffer, b.byteOffset, n);
      const f = new Float32Array(b.buffer, b.byteOffset, n);
      const k = (std * Math.sqrt(3) * 2) / 2 ** 32;
      for (let i = 0; i < n; i++) f[i] = u[i] * k - std * Math.sqrt(3);
    },
  }),
};

function halfWriter(std: number, encode: (x: number) => number): ReturnType<BlockWriter> {
  const table = new Uint16Array(65536);
  for (let i = 0; i < 65536; i++) table[i] = encode(((i + 0.5) / 65536 * 2 - 1) * std * Math.sqrt(3));
  return {
    blockBytes: 2,
    patch: (b, n) => {
      const h = new Uint16Array(b.buffer, b.byteOffset, n);
      for (let i = 0; i < n; i++) h[i] = table[h[i]];
    },
  };
}

/** Pieces of about 4 MiB, whole blocks each. */
const PIECE_BYTES = 4 << 20;

/** A (rows, cols) matrix of `type` in ggml block layout, as pieces; weights of std 1/sqrt(cols). */
async function* randomMatrix(type: SyntheticWeightType, rows: number, cols: number, seed: number): AsyncGenerator<Uint8Array> {
  const writer = blockWriters[type](1 / Math.sqrt(cols));
  const info = ggmlTypeInfo[type];
  const totalBlocks = (rows * cols) / info.blockSize;
  const blocksPerPiece = Math.max(1, Math.floor(PIECE_BYTES / writer.blockBytes));
  // Words cover the piece rounded up to 4 bytes; one buffer reused (writeGguf copies or writes before the next).
  const words = new Uint32Array(Math.ceil((blocksPerPiece * writer.blockBytes) / 4));
  const bytes = new Uint8Array(words.buffer);
  let state = seed;
  for (let done = 0; done < totalBlocks; done += blocksPerPiece) {
    const n = Math.min(blocksPerPiece, totalBlocks - done);
    state = fillRandom(words, state);
    writer.patch(bytes, n);
    yield bytes.subarray(0, n * writer.blockBytes);
  }
}
