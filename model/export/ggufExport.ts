// Checkpoint → GGUF: llama.cpp's `llama` architecture keys, the p50k_base vocabulary as a 'gpt2' tokenizer, no chat
// template (the engine then uses the raw `// Q:` / `// A:` layout, model/corpus/promptFormat.ts), the prompt format
// named in `questlens.*` keys, and the weights quantized by a plan. Norms stay F32 (as llama.cpp writes them).
//
// Plans (bytes for the default model: 8 layers, d 384, FFN 1024, vocab 50,281; p50k metadata ≈ 1.6 MB):
//   mixed (default)  token_embd, attention Q8_0; ffn_gate, ffn_up Q4_0; ffn_down Q6_K  ≈ 30.2 MiB (fits 32 MiB)
//   q8               every matrix Q8_0                                                ≈ 33.9 MiB (parity runs)
//   f32              every matrix F32                                                 (tests, parity)
// d 384 rules out K-quants for rows of 384 (they need multiples of 256), which is why the FFN input side is Q4_0.
import { type GgufEntry, type GgufTensorInput, kv, writeGguf } from '../../gpu/gguf/writer';
import { ATTENTION_LAYERS_KEY, DENSE_LAYERS_KEY, PAGE_SIZE_KEY } from '../../gpu/model/config';
import { GgmlType, ggmlTypeInfo } from '../../gpu/model/ggmlTypes';
import { dequantizeRows, quantizeRows } from '../../gpu/quant/codec';
import { p50kTokenizerMetadata } from '../../gpu/tokenizer/p50k';
import { tokenizerGgufEntries } from '../../gpu/tokenizer/ggufEntries';
import { promptFormatId } from '../corpus/promptFormat';
import { type Checkpoint, CheckpointError } from './checkpoint';

export type TensorClass = 'embedding' | 'attention' | 'ffnGateUp' | 'ffnDown';
export type QuantPlan = Readonly<Record<TensorClass, GgmlType>>;

export const quantPlans: Readonly<Record<string, QuantPlan>> = {
  mixed: { embedding: GgmlType.Q8_0, attention: GgmlType.Q8_0, ffnGateUp: GgmlType.Q4_0, ffnDown: GgmlType.Q6_K },
  q8: { embedding: GgmlType.Q8_0, attention: GgmlType.Q8_0, ffnGateUp: GgmlType.Q8_0, ffnDown: GgmlType.Q8_0 },
  f32: { embedding: GgmlType.F32, attention: GgmlType.F32, ffnGateUp: GgmlType.F32, ffnDown: GgmlType.F32 },
};

/** The largest committed model file (issue 10). */
export const MAX_MODEL_BYTES = 32 * 1024 * 1024;

/**
 * The Quest page size the default model recommends (`questlens.page_size`): its page bounds must be tight.
 * Definitions exact at 8K on the H100, dev set, Quest 512, one KV head per query head (--kv-heads 6), 4 dense layers:
 * 34.9% with pages of 16 (2 dense layers), 65.1% with pages of 8, 77.8% with pages of 4 (dense 82.5%):
 * model/README.md §7.
 */
export const RECOMMENDED_PAGE_SIZE = 4;

/** Quest's dense leading layers (`questlens.dense_layers`): measured on the H100, 8K, chosen on a dev set: see model/README.md §7. */
export const RECOMMENDED_DENSE_LAYERS = 4;

/** Layers whose attention the citations count (`questlens.attention_layers`): measured on the H100, 8K, chosen on a dev set: see model/README.md §7. */
export const RECOMMENDED_ATTENTION_LAYERS = 2;

export function tensorClass(name: string): TensorClass | 'norm' {
  if (name === 'token_embd.weight') return 'embedding';
  if (name.endsWith('_norm.weight')) return 'norm';
  if (/\.attn_(q|k|v|output)\.weight$/.test(name)) return 'attention';
  if (/\.ffn_(gate|up)\.weight$/.test(name)) return 'ffnGateUp';
  if (name.endsWith('.ffn_down.weight')) return 'ffnDown';
  throw new Error(`tensorClass: '${name}' is not a tensor of the default model`);
}

export interface ExportOptions {
  readonly plan?: QuantPlan;
  /**
   * KV heads to write (default the checkpoint's): each of the checkpoint's KV heads repeated kvHeads / its count
   * times, so every query head keeps reading the same keys and values (the model computes exactly what it did) while
   * the engine's Quest, which selects pages per KV head, selects them for fewer query heads each. A multiple of the
   * checkpoint's KV heads that divides the query heads.
   */
  readonly kvHeads?: number;
  /**
   * NTK-aware RoPE scale s (default 1): the file's `rope.freq_base` is the checkpoint's θ · s^(headDim / (headDim − 2)),
   * which stretches the slowest rotations s times and leaves the fastest nearly as trained, so that positions past
   * the trained contexts look like ones the model saw (the weights are unchanged; llama.cpp reads the same key).
   */
  readonly ropeScale?: number;
  /** Refuse to write a file larger than this (default: no limit). */
  readonly maxBytes?: number;
  readonly name?: string;
}

export interface ExportedTensor {
  readonly name: string;
  readonly type: string;
  readonly bytes: number;
  /** sqrt(Σ(q - x)² / Σx²): the quantization's relative RMS error. */
  readonly relativeError: number;
}

export interface ExportReport {
  readonly path: string;
  readonly fileBytes: number;
  readonly tensors: ExportedTensor[];
}

const TENSOR_ORDER = (layers: number): string[] => {
  const out = ['token_embd.weight', 'output_norm.weight'];
  for (let i = 0; i < layers; i++) {
    for (const t of ['attn_norm', 'attn_q', 'attn_k', 'attn_v', 'attn_output', 'ffn_norm', 'ffn_gate', 'ffn_up', 'ffn_down']) out.push(`blk.${i}.${t}.weight`);
  }
  return out;
};

/** The GGUF type a tensor gets: its class's, or a 32-block type when the rows are not whole K-quant super-blocks. */
function typeFor(plan: QuantPlan, name: string, cols: number): GgmlType {
  const cls = tensorClass(name);
  if (cls === 'norm') return GgmlType.F32;
  const want = plan[cls];
  if (cols % ggmlTypeInfo[want].blockSize === 0) return want;
  return want === GgmlType.Q6_K ? GgmlType.Q8_0 : GgmlType.Q4_0;
}

/** θ for an NTK-aware RoPE scale `s` (ExportOptions.ropeScale). */
export function ntkRopeTheta(theta: number, headDim: number, s: number): number {
  return theta * s ** (headDim / (headDim - 2));
}

/**
 * The GGUF metadata of the default model for `ckpt`, written with `kvHeads` KV heads (default the checkpoint's) and
 * RoPE's θ for the NTK-aware scale `ropeScale` (default 1: the checkpoint's θ).
 */
export function modelMetadata(ckpt: Checkpoint, name: string, kvHeads = ckpt.header.config.kvHeads, ropeScale = 1): [string, GgufEntry][] {
  const c = ckpt.header.config;
  const t = ckpt.header.training;
  const answerStyle = typeof t.answerStyle === 'string' ? t.answerStyle : 'line';
  return [
    ['general.architecture', kv.string('llama')],
    ['general.name', kv.string(name)],
    ['general.license', kv.string('MIT')],
    ['general.description', kv.string('Quest Lens default model: answers questions about a packed workspace by quoting it (model/README.md).')],
    ['llama.context_length', kv.u32(c.contextLength)],
    ['llama.embedding_length', kv.u32(c.dim)],
    ['llama.block_count', kv.u32(c.layers)],
    ['llama.feed_forward_length', kv.u32(c.ffn)],
    ['llama.attention.head_count', kv.u32(c.heads)],
    ['llama.attention.head_count_kv', kv.u32(kvHeads)],
    ['llama.attention.layer_norm_rms_epsilon', kv.f32(c.normEps)],
    ['llama.rope.dimension_count', kv.u32(c.headDim)],
    ['llama.rope.freq_base', kv.f32(ntkRopeTheta(c.ropeTheta, c.headDim, ropeScale))],
    ['llama.vocab_size', kv.u32(c.vocab)],
    ['questlens.prompt_format', kv.string(promptFormatId)],
    ['questlens.answer_style', kv.string(answerStyle)],
    [PAGE_SIZE_KEY, kv.u32(RECOMMENDED_PAGE_SIZE)],
    // Measured on the 8-layer shape; a shallower (test) checkpoint gets its own layer count, which the engine accepts.
    [DENSE_LAYERS_KEY, kv.u32(Math.min(RECOMMENDED_DENSE_LAYERS, c.layers))],
    [ATTENTION_LAYERS_KEY, kv.u32(Math.min(RECOMMENDED_ATTENTION_LAYERS, c.layers))],
    ['questlens.training', kv.string(JSON.stringify(t))],
    ...tokenizerGgufEntries(p50kTokenizerMetadata()),
  ];
}

/** Writes `ckpt` as a GGUF at `path`. */
export async function exportGguf(ckpt: Checkpoint, path: string, options: ExportOptions = {}): Promise<ExportReport> {
  const plan = options.plan ?? quantPlans.mixed;
  const c = ckpt.header.config;
  const fail = (problem: string): never => {
    throw new CheckpointError(ckpt.folder, problem);
  };
  if (c.heads * c.headDim !== c.dim) fail(`heads ${c.heads} * headDim ${c.headDim} must equal dim ${c.dim} (the llama GGUF derives headDim from them)`);
  if (c.heads % c.kvHeads !== 0) fail(`heads ${c.heads} must be a multiple of kvHeads ${c.kvHeads}`);
  const kvHeads = options.kvHeads ?? c.kvHeads;
  if (!(Number.isInteger(kvHeads) && kvHeads % c.kvHeads === 0 && c.heads % kvHeads === 0)) {
    fail(`kvHeads ${kvHeads} must be a multiple of the checkpoint's ${c.kvHeads} KV heads that divides its ${c.heads} query heads`);
  }
  const ropeScale = options.ropeScale ?? 1;
  if (!(Number.isFinite(ropeScale) && ropeScale >= 1)) fail(`ropeScale ${ropeScale} must be a number >= 1`);
  const vocabTokens = (p50kTokenizerMetadata().get('tokenizer.ggml.tokens') as readonly string[]).length;
  if (c.vocab !== vocabTokens) fail(`config.vocab ${c.vocab} must equal the p50k_base vocabulary's ${vocabTokens} tokens`);
  const shapes = new Map(ckpt.header.tensors.map((t) => [t.name, t.shape]));
  const names = TENSOR_ORDER(c.layers);
  const extra = ckpt.header.tensors.filter((t) => !names.includes(t.name)).map((t) => t.name);
  if (extra.length > 0) fail(`tensors the model does not have: ${extra.join(', ')}`);

  const tensors: GgufTensorInput[] = [];
  const report: ExportedTensor[] = [];
  for (const name of names) {
    const stored = shapes.get(name) ?? fail(`missing tensor '${name}'`);
    const kv = /\.attn_[kv]\.weight$/.test(name) && kvHeads !== c.kvHeads;
    const shape = kv ? [kvHeads * c.headDim, stored[1]] : stored;
    const [rows, cols] = shape.length === 1 ? [1, shape[0]] : [shape[0], shape[1]];
    const values = kv ? repeatHeads(ckpt.values(name), c.kvHeads, kvHeads / c.kvHeads, c.headDim * cols) : ckpt.values(name);
    const type = typeFor(plan, name, cols);
    const bytes = quantizeRows(type, values, rows, cols);
    const back = dequantizeRows(type, bytes, rows, cols);
    let err = 0;
    let ref = 0;
    for (let i = 0; i < values.length; i++) {
      err += (back[i] - values[i]) ** 2;
      ref += values[i] ** 2;
    }
    report.push({ name, type: ggmlTypeInfo[type].name, bytes: bytes.length, relativeError: ref > 0 ? Math.sqrt(err / ref) : 0 });
    tensors.push({ name, type, dims: shape.length === 1 ? [cols] : [cols, rows], data: bytes });
  }
  const { fileSize } = await writeGguf(path, { metadata: modelMetadata(ckpt, options.name ?? 'Quest Lens default', kvHeads, ropeScale), tensors });
  if (options.maxBytes !== undefined && fileSize > options.maxBytes) {
    const { rmSync } = await import('node:fs');
    rmSync(path, { force: true });
    fail(`the GGUF would be ${fileSize} bytes, over the ${options.maxBytes}-byte limit: use a smaller plan`);
  }
  return { path, fileBytes: fileSize, tensors: report };
}

/** (heads, block) values → (heads * times, block): head i of the result is head floor(i / times) of `values`. */
function repeatHeads(values: Float64Array, heads: number, times: number, block: number): Float64Array {
  const out = new Float64Array(heads * times * block);
  for (let i = 0; i < heads * times; i++) out.set(values.subarray(Math.floor(i / times) * block, (Math.floor(i / times) + 1) * block), i * block);
  return out;
}
