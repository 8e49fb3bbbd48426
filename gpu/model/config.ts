// The model's hyperparameters, read from GGUF metadata (llama.cpp's key names) and checked against the tensors the
// engine will load: every layer's attention and FFN weights must exist with the dims the config implies, so a bad
// file fails here, naming the tensor, instead of as a wrong answer later.
//
// RoPE scaling in GGUF: llama.cpp writes `<arch>.rope.scaling.type` = "linear" (+ `.factor`) for linear scaling; it
// has no keys for Llama 3's `llama3` scaling: its converter precomputes the per-pair divisors and stores them as the
// F32 tensor `rope_freqs.weight` (dims/2 values; pair i's frequency is divided by value i, as ggml_rope_ext's
// freq_factors). readModelConfig reports that tensor as `ropeFreqsTensor` and never invents `scaling.type = 'llama3'`
// from a GGUF (gpu/model/rope.ts can compute the same divisors from `llama3` parameters: llama3FreqFactors).
// yarn and longrope are rejected.
import { ModelConfigError, ModelShapeError } from '../errors';
import type { RopeScaling } from './rope';
import { isPageSize, maxPageSize } from '../kv/layout';
import { type GgufFile, metaNumber, metaNumberOr, metaString, metaStringOr, describeMeta } from '../gguf/reader';

export const supportedArchitectures = ['llama', 'qwen2', 'qwen3'] as const;
export type Architecture = (typeof supportedArchitectures)[number];

export interface RopeConfig {
  /** `rope.freq_base` (llama.cpp's default 10000 when absent). */
  readonly theta: number;
  /** `rope.dimension_count`, ≤ headDim (default headDim): the leading dims of each head that rotate. */
  readonly dims: number;
  /** llama: adjacent pairs (normal); qwen2/qwen3: halves (neox). */
  readonly style: 'normal' | 'neox';
  /** From GGUF only linear scaling arrives here; Llama 3.x's comes as `ModelConfig.ropeFreqsTensor`. */
  readonly scaling?: RopeScaling;
}

export interface ModelConfig {
  readonly architecture: Architecture;
  /** `general.name`, else the file name. */
  readonly name: string;
  readonly layers: number;
  /** Hidden size (`embedding_length`). */
  readonly dim: number;
  /** FFN hidden size (`feed_forward_length`). */
  readonly ffn: number;
  readonly heads: number;
  readonly kvHeads: number;
  /** `attention.key_length` if present, else dim/heads (Qwen3-0.6B: 128 with dim 1024 and 16 heads). */
  readonly headDim: number;
  /** Rows of token_embd.weight (may exceed the tokenizer's token count: Qwen pads to 151936). */
  readonly vocab: number;
  /** `context_length`: positions the model was trained for. */
  readonly contextLength: number;
  /** `attention.layer_norm_rms_epsilon` (as stored: an f32 1e-5 reads 9.99999974e-6). */
  readonly normEps: number;
  readonly rope: RopeConfig;
  /** blk.N.attn_{q,k,v}.bias exist (Qwen2). */
  readonly qkvBias: boolean;
  /** blk.N.attn_{q,k}_norm.weight exist: per-head RMSNorm of q and k before RoPE (Qwen3). */
  readonly qkNorm: boolean;
  /** No output.weight: the classifier is token_embd.weight. */
  readonly tiedEmbeddings: boolean;
  /** `rope_freqs.weight` when the file has it: F32 (rope.dims / 2) per-pair frequency divisors (Llama 3.x). */
  readonly ropeFreqsTensor?: string;
  /**
   * `questlens.page_size`: the Quest page size the model recommends (the built-in model: 4; it needs tight page
   * bounds). Used when the caller picks none; absent in most files.
   */
  readonly recommendedPageSize?: number;
  /**
   * `questlens.dense_layers`: the leading layers Quest should keep dense for this model (0..layers; the built-in
   * model: 4). Used when the request names none; absent in most files.
   */
  readonly recommendedDenseLayers?: number;
  /**
   * `questlens.attention_layers`: the last layers whose attention the citations should count (1..layers; the
   * built-in model: 2). Used when the load names none; absent in most files.
   */
  readonly recommendedAttentionLayers?: number;
}

/** The GGUF key of a model's recommended Quest page size (written by model/export/ggufExport.ts). */
export const PAGE_SIZE_KEY = 'questlens.page_size';
/** The GGUF key of a model's recommended count of dense leading layers in Quest mode. */
export const DENSE_LAYERS_KEY = 'questlens.dense_layers';
/** The GGUF key of a model's recommended count of last layers whose attention citations count. */
export const ATTENTION_LAYERS_KEY = 'questlens.attention_layers';

/** Reads and checks the config. Throws ModelConfigError, ModelShapeError, or GgufError for a missing/mistyped key. */
export function readModelConfig(file: GgufFile): ModelConfig {
  const configError = (problem: string): never => {
    throw new ModelConfigError(file.path, problem);
  };
  const arch = metaString(file, 'general.architecture');
  if (!(supportedArchitectures as readonly string[]).includes(arch)) {
    configError(`architecture '${arch}' is not supported; the engine runs ${supportedArchitectures.join(', ')}`);
  }
  const architecture = arch as Architecture;
  const key = (k: string) => `${arch}.${k}`;
  const count = (k: string, fallback?: number): number => {
    const v = fallback === undefined ? metaNumber(file, key(k)) : metaNumberOr(file, key(k), fallback);
    if (!(Number.isSafeInteger(v) && v > 0)) {
      configError(`${key(k)} must be a positive integer, got ${describeMeta(file, key(k))}`);
    }
    return v;
  };

  const layers = count('block_count');
  const dim = count('embedding_length');
  const ffn = count('feed_forward_length');
  const heads = count('attention.head_count');
  const kvHeads = count('attention.head_count_kv', heads);
  if (heads % kvHeads !== 0) {
    configError(`attention.head_count ${heads} is not a multiple of attention.head_count_kv ${kvHeads}`);
  }
  if (!file.metadata.has(key('attention.key_length')) && dim % heads !== 0) {
    configError(`embedding_length ${dim} is not a multiple of attention.head_count ${heads} and ${key('attention.key_length')} is absent`);
  }
  const headDim = count('attention.key_length', dim / heads);
  const valueLength = count('attention.value_length', headDim);
  if (valueLength !== headDim) {
    configError(`attention.value_length ${valueLength} differs from key_length ${headDim}; the engine needs them equal`);
  }
  const contextLength = count('context_length');
  const normEps = metaNumber(file, key('attention.layer_norm_rms_epsilon'));
  if (!(normEps > 0 && normEps < 1)) {
    configError(`${key('attention.layer_norm_rms_epsilon')} must be in (0, 1), got ${normEps}`);
  }

  const rope = readRope(file, architecture, headDim, configError);
  const recommended = file.metadata.get(PAGE_SIZE_KEY);
  if (recommended !== undefined && !(typeof recommended === 'number' && isPageSize(recommended))) {
    configError(`${PAGE_SIZE_KEY} (the model's recommended Quest page size) must be a power of two from 1 to ${maxPageSize}, got ${describeMeta(file, PAGE_SIZE_KEY)}`);
  }
  // A layer count outside the model's own layers is a mistake in the file, not a setting to clamp.
  const layerCount = (k: string, what: string, min: number): number | undefined => {
    const v = file.metadata.get(k);
    if (v !== undefined && !(typeof v === 'number' && Number.isInteger(v) && v >= min && v <= layers)) {
      configError(`${k} (${what}) must be an integer from ${min} to ${layers} (the model's layers), got ${describeMeta(file, k)}`);
    }
    return v as number | undefined;
  };
  const denseLayers = layerCount(DENSE_LAYERS_KEY, "the model's recommended dense layers in Quest mode", 0);
  const attentionLayers = layerCount(ATTENTION_LAYERS_KEY, "the model's recommended layers for attention citations", 1);
  const fileName = (file.path.split(/[\\/]/).pop() ?? file.path).replace(/\.gguf$/i, '');
  const name = metaStringOr(file, 'general.name', fileName);

  const embd = file.tensor('token_embd.weight');
  if (!embd) throw new ModelShapeError(file.path, `missing tensor 'token_embd.weight' (expected dims [${dim}, vocab])`);
  const vocab = embd.dims[1] ?? 1;
  const config: ModelConfig = {
    architecture,
    name,
    layers,
    dim,
    ffn,
    heads,
    kvHeads,
    headDim,
    vocab,
    contextLength,
    normEps,
    rope,
    qkvBias: file.tensor('blk.0.attn_q.bias') !== undefined,
    qkNorm: file.tensor('blk.0.attn_q_norm.weight') !== undefined,
    tiedEmbeddings: file.tensor('output.weight') === undefined,
    ...(file.tensor('rope_freqs.weight') ? { ropeFreqsTensor: 'rope_freqs.weight' } : {}),
    ...(recommended !== undefined ? { recommendedPageSize: recommended as number } : {}),
    ...(denseLayers !== undefined ? { recommendedDenseLayers: denseLayers } : {}),
    ...(attentionLayers !== undefined ? { recommendedAttentionLayers: attentionLayers } : {}),
  };
  checkTensorShapes(file, config);
  return config;
}

/** Every tensor the engine loads, with the dims (ne0 first) that `config` implies. */
export function expectedTensors(config: ModelConfig): { name: string; dims: number[] }[] {
  const { dim, ffn, heads, kvHeads, headDim, vocab } = config;
  const q = heads * headDim;
  const kv = kvHeads * headDim;
  const out = [
    { name: 'token_embd.weight', dims: [dim, vocab] },
    { name: 'output_norm.weight', dims: [dim] },
  ];
  if (!config.tiedEmbeddings) out.push({ name: 'output.weight', dims: [dim, vocab] });
  if (config.ropeFreqsTensor) out.push({ name: config.ropeFreqsTensor, dims: [config.rope.dims / 2] });
  for (let i = 0; i < config.layers; i++) {
    const b = `blk.${i}.`;
    out.push(
      { name: `${b}attn_norm.weight`, dims: [dim] },
      { name: `${b}attn_q.weight`, dims: [dim, q] },
      { name: `${b}attn_k.weight`, dims: [dim, kv] },
      { name: `${b}attn_v.weight`, dims: [dim, kv] },
      { name: `${b}attn_output.weight`, dims: [q, dim] },
      { name: `${b}ffn_norm.weight`, dims: [dim] },
      { name: `${b}ffn_gate.weight`, dims: [dim, ffn] },
      { name: `${b}ffn_up.weight`, dims: [dim, ffn] },
      { name: `${b}ffn_down.weight`, dims: [ffn, dim] },
    );
    if (config.qkvBias) {
      out.push({ name: `${b}attn_q.bias`, dims: [q] }, { name: `${b}attn_k.bias`, dims: [kv] }, { name: `${b}attn_v.bias`, dims: [kv] });
    }
    if (config.qkNorm) out.push({ name: `${b}attn_q_norm.weight`, dims: [headDim] }, { name: `${b}attn_k_norm.weight`, dims: [headDim] });
  }
  return out;
}

function checkTensorShapes(file: GgufFile, config: ModelConfig): void {
  // block_count bounds the list expectedTensors builds: a corrupt count (4e9) must fail here, not build 4e10 entries.
  const perLayer = 9 + (config.qkvBias ? 3 : 0) + (config.qkNorm ? 2 : 0);
  if (config.layers * perLayer > file.tensors.length) {
    let found = 0;
    while (file.tensor(`blk.${found}.attn_norm.weight`)) found++;
    throw new ModelShapeError(
      file.path,
      `${config.architecture}.block_count is ${config.layers}, but the file has ${file.tensors.length} tensors, fewer than the ` +
        `${perLayer} per layer that ${config.layers} layers need (missing tensor 'blk.${found}.attn_norm.weight')`,
    );
  }
  for (const { name, dims } of expectedTensors(config)) {
    const t = file.tensor(name);
    if (!t) {
      const features = `${config.qkvBias ? ', QKV bias' : ''}${config.qkNorm ? ', QK-norm' : ''}`;
      throw new ModelShapeError(
        file.path,
        `missing tensor '${name}' (expected dims [${dims.join(', ')}] for the ${config.architecture} config with ` +
          `${config.layers} layers${features})`,
      );
    }
    if (!sameDims(t.dims, dims)) {
      const { dim, ffn, heads, kvHeads, headDim, vocab } = config;
      throw new ModelShapeError(
        file.path,
        `tensor '${name}' has dims [${t.dims.join(', ')}], expected [${dims.join(', ')}] ` +
          `(dim ${dim}, ffn ${ffn}, heads ${heads}, kvHeads ${kvHeads}, headDim ${headDim}, vocab ${vocab})`,
      );
    }
  }
}

/** Equal up to trailing 1s (ggml pads every tensor to 4 dims with 1s: [n] and [n, 1] are the same tensor). */
function sameDims(a: readonly number[], b: readonly number[]): boolean {
  for (let i = 0; i < Math.max(a.length, b.length); i++) if ((a[i] ?? 1) !== (b[i] ?? 1)) return false;
  return true;
}

function readRope(file: GgufFile, arch: Architecture, headDim: number, configError: (p: string) => never): RopeConfig {
  const key = (k: string) => `${arch}.rope.${k}`;
  const theta = metaNumberOr(file, key('freq_base'), 10000);
  if (!(theta > 1)) configError(`${key('freq_base')} must be > 1, got ${theta}`);
  const dims = metaNumberOr(file, key('dimension_count'), headDim);
  if (!(Number.isInteger(dims) && dims >= 2 && dims % 2 === 0 && dims <= headDim)) {
    configError(`${key('dimension_count')} ${dims} must be an even integer in [2, headDim ${headDim}]`);
  }
  const style = arch === 'llama' ? 'normal' : 'neox';
  const type = metaStringOr(file, key('scaling.type'), undefined);
  // Older files carry linear scaling as rope.scale_linear only.
  const legacyLinear = metaNumberOr(file, key('scale_linear'), undefined);
  if (type === undefined || type === 'none') {
    if (legacyLinear === undefined || legacyLinear === 0 || legacyLinear === 1) return { theta, dims, style };
    return { theta, dims, style, scaling: { type: 'linear', factor: legacyLinear } };
  }
  if (type !== 'linear') {
    configError(`${key('scaling.type')} '${type}' is not supported (the engine supports none, linear, and Llama 3 rope_freqs.weight)`);
  }
  const factor = metaNumberOr(file, key('scaling.factor'), legacyLinear);
  if (factor === undefined) return configError(`${key('scaling.type')} is linear but ${key('scaling.factor')} is missing`);
  if (!(factor >= 0)) configError(`${key('scaling.factor')} must be >= 0, got ${factor}`);
  // llama.cpp reads a factor of 0 as "no scaling".
  return factor === 0 || factor === 1 ? { theta, dims, style } : { theta, dims, style, scaling: { type: 'linear', factor } };
}
