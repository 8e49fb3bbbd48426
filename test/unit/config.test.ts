// readModelConfig on writer-made GGUFs with the metadata and tensor names llama.cpp writes for Llama-3.2-1B,
// Qwen2.5-Coder-1.5B and Qwen3-0.6B (real dims; one layer and a 1000-row vocabulary to stay small; zero Q4_0 weights),
// and its errors: unknown architecture, missing key, missing tensor, wrong shape, unsupported hyperparameters.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { GgufError, ModelConfigError, ModelShapeError } from '../../gpu/errors';
import { readGguf, readTensorData } from '../../gpu/gguf/reader';
import { type GgufEntry, kv, writeGguf } from '../../gpu/gguf/writer';
import { type ModelConfig, readModelConfig } from '../../gpu/model/config';
import { GgmlType } from '../../gpu/model/ggmlTypes';
import { llama3FreqFactors } from '../../gpu/model/rope';
import { type ModelSpec, modelMetadata, modelTensors, testTempDir, writeModelGguf } from '../util/ggufFixtures';

const tmp = testTempDir();

// Llama 3.2's rope_scaling, which llama.cpp's converter turns into rope_freqs.weight.
const llama3Freqs = Float32Array.from(llama3FreqFactors(64, 500000, { type: 'llama3', factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalContextLength: 8192 }));

const real: { spec: ModelSpec; expected: ModelConfig }[] = [
  {
    spec: {
      architecture: 'llama', name: 'Llama-3.2-1B-Instruct', layers: 1, dim: 2048, ffn: 8192, heads: 32, kvHeads: 8, headDim: 64, vocab: 1000,
      contextLength: 131072, normEps: 1e-5, ropeTheta: 500000, writeKeyLength: true, ropeFreqs: llama3Freqs, tiedEmbeddings: true, matrixType: GgmlType.Q4_0,
    },
    expected: {
      architecture: 'llama', name: 'Llama-3.2-1B-Instruct', layers: 1, dim: 2048, ffn: 8192, heads: 32, kvHeads: 8, headDim: 64, vocab: 1000,
      contextLength: 131072, normEps: Math.fround(1e-5), rope: { theta: 500000, dims: 64, style: 'normal' },
      qkvBias: false, qkNorm: false, tiedEmbeddings: true, ropeFreqsTensor: 'rope_freqs.weight',
    },
  },
  {
    spec: {
      architecture: 'qwen2', name: 'Qwen2.5-Coder-1.5B-Instruct', layers: 1, dim: 1536, ffn: 8960, heads: 12, kvHeads: 2, headDim: 128, vocab: 1000,
      contextLength: 32768, normEps: 1e-6, ropeTheta: 1e6, qkvBias: true, tiedEmbeddings: true, matrixType: GgmlType.Q4_0,
    },
    expected: {
      architecture: 'qwen2', name: 'Qwen2.5-Coder-1.5B-Instruct', layers: 1, dim: 1536, ffn: 8960, heads: 12, kvHeads: 2, headDim: 128, vocab: 1000,
      contextLength: 32768, normEps: Math.fround(1e-6), rope: { theta: 1e6, dims: 128, style: 'neox' },
      qkvBias: true, qkNorm: false, tiedEmbeddings: true,
    },
  },
  {
    spec: {
      architecture: 'qwen3', name: 'Qwen3-0.6B', layers: 1, dim: 1024, ffn: 3072, heads: 16, kvHeads: 8, headDim: 128, vocab: 1000,
      contextLength: 40960, normEps: 1e-6, ropeTheta: 1e6, qkNorm: true, tiedEmbeddings: true, matrixType: GgmlType.Q4_0,
    },
    expected: {
      architecture: 'qwen3', name: 'Qwen3-0.6B', layers: 1, dim: 1024, ffn: 3072, heads: 16, kvHeads: 8, headDim: 128, vocab: 1000,
      contextLength: 40960, normEps: Math.fround(1e-6), rope: { theta: 1e6, dims: 128, style: 'neox' },
      qkvBias: false, qkNorm: true, tiedEmbeddings: true,
    },
  },
];

for (const { spec, expected } of real) {
  test(`config of a ${spec.name}-shaped GGUF`, async () => {
    const path = join(tmp, `${spec.name}.gguf`);
    await writeModelGguf(path, spec, 'zeros');
    const file = await readGguf(path);
    const config = readModelConfig(file);
    assert.deepEqual({ ...config, rope: { ...config.rope } }, expected);
    if (config.ropeFreqsTensor) {
      const t = file.tensor(config.ropeFreqsTensor)!;
      assert.deepEqual(t.dims, [config.rope.dims / 2]);
      assert.deepEqual(new Float32Array((await readTensorData(file, t)).buffer), llama3Freqs);
      // The llama3 divisors: 1 for the fastest pairs, the full factor 32 for the slowest.
      assert.equal(llama3Freqs[0], 1);
      assert.equal(llama3Freqs[31], 32);
    }
  });
}

// Small shapes for the error cases: 2 layers, dim 64, 4 heads / 2 KV heads of 16.
const small: ModelSpec = {
  architecture: 'qwen2', layers: 2, dim: 64, ffn: 96, heads: 4, kvHeads: 2, headDim: 16, vocab: 40, contextLength: 256, normEps: 1e-6, ropeTheta: 1e6, qkvBias: true,
};

/** Writes `spec` with metadata and tensors edited, and returns what readModelConfig makes of it. */
async function configOf(
  name: string,
  spec: ModelSpec,
  edit: { metadata?: (m: (readonly [string, GgufEntry])[]) => (readonly [string, GgufEntry])[]; tensors?: (t: ReturnType<typeof modelTensors>) => ReturnType<typeof modelTensors> } = {},
): Promise<{ path: string; config: () => ModelConfig }> {
  const path = join(tmp, `${name}.gguf`);
  const metadata = (edit.metadata ?? ((m) => m))(modelMetadata(spec));
  const tensors = (edit.tensors ?? ((t) => t))(modelTensors(spec, 'random'));
  await writeGguf(path, { metadata, tensors });
  const file = await readGguf(path);
  return { path, config: () => readModelConfig(file) };
}

const rejects = (cls: typeof GgufError | typeof ModelConfigError | typeof ModelShapeError, path: string, re: RegExp) => (e: unknown) =>
  e instanceof cls && e.message.startsWith(`${path}: `) && re.test(e.message);

test('small qwen2 config reads, and an untied output.weight is checked too', async () => {
  const { config } = await configOf('small', small);
  assert.equal(config().qkvBias, true);
  const untied = await configOf('untied', { ...small, tiedEmbeddings: false });
  assert.equal(untied.config().tiedEmbeddings, false);
  const badOutput = await configOf('bad-output', { ...small, tiedEmbeddings: false }, {
    tensors: (ts) => ts.map((t) => (t.name === 'output.weight' ? { ...t, dims: [64, 39], data: new Float32Array(64 * 39) } : t)),
  });
  assert.throws(badOutput.config, rejects(ModelShapeError, badOutput.path, /tensor 'output.weight' has dims \[64, 39\], expected \[64, 40\]/));
});

test('a missing tensor is named with the dims it should have', async () => {
  const { path, config } = await configOf('missing-tensor', { ...small, architecture: 'qwen3', qkvBias: false, qkNorm: true }, {
    tensors: (ts) => ts.filter((t) => t.name !== 'blk.1.attn_k_norm.weight'),
  });
  assert.throws(config, rejects(ModelShapeError, path, /missing tensor 'blk.1.attn_k_norm.weight' \(expected dims \[16\] for the qwen3 config with 2 layers, QK-norm\)/));
});

test('a tensor of the wrong shape is named with its dims and the expected dims', async () => {
  // attn_k written as wide as attn_q: the file claims 2 KV heads but stores 4.
  const { path, config } = await configOf('wrong-shape', small, {
    tensors: (ts) => ts.map((t) => (t.name === 'blk.1.attn_k.weight' ? { ...t, dims: [64, 64], data: new Float32Array(64 * 64) } : t)),
  });
  assert.throws(config, rejects(ModelShapeError, path, /tensor 'blk.1.attn_k.weight' has dims \[64, 64\], expected \[64, 32\] \(dim 64, ffn 96, heads 4, kvHeads 2, headDim 16, vocab 40\)/));
  const bias = await configOf('wrong-bias', small, {
    tensors: (ts) => ts.map((t) => (t.name === 'blk.0.attn_v.bias' ? { ...t, dims: [16], data: new Float32Array(16) } : t)),
  });
  assert.throws(bias.config, rejects(ModelShapeError, bias.path, /tensor 'blk.0.attn_v.bias' has dims \[16\], expected \[32\]/));
});

test('metadata errors: unknown architecture, missing key, inconsistent or unsupported hyperparameters', async () => {
  const set = (key: string, entry: GgufEntry) => (m: (readonly [string, GgufEntry])[]) => m.map(([k, e]) => [k, k === key ? entry : e] as const);
  const drop = (key: string) => (m: (readonly [string, GgufEntry])[]) => m.filter(([k]) => k !== key);
  const add = (...more: (readonly [string, GgufEntry])[]) => (m: (readonly [string, GgufEntry])[]) => [...m, ...more];
  const cases: [string, Parameters<typeof configOf>[2], typeof GgufError | typeof ModelConfigError, RegExp][] = [
    ['gemma3', { metadata: set('general.architecture', kv.string('gemma3')) }, ModelConfigError, /architecture 'gemma3' is not supported; the engine runs llama, qwen2, qwen3/],
    ['no-block-count', { metadata: drop('qwen2.block_count') }, GgufError, /missing metadata key 'qwen2.block_count'/],
    ['no-arch', { metadata: drop('general.architecture') }, GgufError, /missing metadata key 'general.architecture'/],
    ['string-heads', { metadata: set('qwen2.attention.head_count', kv.string('4')) }, GgufError, /metadata key 'qwen2.attention.head_count' is string "4", expected a number/],
    ['zero-ffn', { metadata: set('qwen2.feed_forward_length', kv.u32(0)) }, ModelConfigError, /qwen2.feed_forward_length must be a positive integer, got u32 0/],
    ['gqa', { metadata: set('qwen2.attention.head_count_kv', kv.u32(3)) }, ModelConfigError, /attention.head_count 4 is not a multiple of attention.head_count_kv 3/],
    ['value-length', { metadata: add(['qwen2.attention.value_length', kv.u32(8)]) }, ModelConfigError, /attention.value_length 8 differs from key_length 16/],
    ['rope-dims', { metadata: set('qwen2.rope.dimension_count', kv.u32(20)) }, ModelConfigError, /qwen2.rope.dimension_count 20 must be an even integer in \[2, headDim 16\]/],
    ['yarn', { metadata: add(['qwen2.rope.scaling.type', kv.string('yarn')], ['qwen2.rope.scaling.factor', kv.f32(4)]) }, ModelConfigError, /qwen2.rope.scaling.type 'yarn' is not supported/],
    ['linear-no-factor', { metadata: add(['qwen2.rope.scaling.type', kv.string('linear')]) }, ModelConfigError, /scaling.type is linear but qwen2.rope.scaling.factor is missing/],
  ];
  for (const [name, edit, cls, re] of cases) {
    const { path, config } = await configOf(name, small, edit);
    assert.throws(config, rejects(cls, path, re), name);
  }
});

test('rope details: defaults, linear scaling, partial rotation, key_length, rope_freqs length', async () => {
  const defaults = await configOf('rope-defaults', { ...small, architecture: 'llama', qkvBias: false, kvHeads: 4 }, {
    metadata: (m) => m.filter(([k]) => !['llama.rope.freq_base', 'llama.rope.dimension_count', 'llama.attention.head_count_kv', 'general.name'].includes(k)),
  });
  const d = defaults.config();
  // llama.cpp's defaults: theta 10000, all of headDim rotates, kvHeads = heads; the name falls back to the file name.
  assert.deepEqual([d.rope.theta, d.rope.dims, d.kvHeads, d.name], [10000, 16, 4, 'rope-defaults']);
  assert.equal(d.rope.style, 'normal');
  const linear = await configOf('rope-linear', { ...small, linearRopeFactor: 4, ropeDims: 8 });
  assert.deepEqual(linear.config().rope, { theta: 1e6, dims: 8, style: 'neox', scaling: { type: 'linear', factor: 4 } });
  const legacy = await configOf('rope-legacy', small, { metadata: (m) => [...m, ['qwen2.rope.scale_linear', kv.f32(2)]] });
  assert.deepEqual(legacy.config().rope.scaling, { type: 'linear', factor: 2 });
  const keyLength = await configOf('key-length', { ...small, headDim: 32, writeKeyLength: true });
  assert.equal(keyLength.config().headDim, 32);
  const freqs = await configOf('rope-freqs-length', { ...small, architecture: 'llama', qkvBias: false, ropeFreqs: new Float32Array(5).fill(1) });
  assert.throws(freqs.config, rejects(ModelShapeError, freqs.path, /tensor 'rope_freqs.weight' has dims \[5\], expected \[8\]/));
});

test('recommendations: questlens.page_size, dense_layers and attention_layers are read; a bad value names the key and the file', async () => {
  const add = (...more: (readonly [string, GgufEntry])[]) => (m: (readonly [string, GgufEntry])[]) => [...m, ...more];
  const plain = (await configOf('no-recommendations', small)).config();
  assert.deepEqual([plain.recommendedPageSize, plain.recommendedDenseLayers, plain.recommendedAttentionLayers], [undefined, undefined, undefined]);
  // small has 2 layers: 0..2 dense layers and 1..2 attention layers are the model's own.
  const all = await configOf('recommendations', small, {
    metadata: add(['questlens.page_size', kv.u32(8)], ['questlens.dense_layers', kv.u32(2)], ['questlens.attention_layers', kv.u32(1)]),
  });
  const c = all.config();
  assert.deepEqual([c.recommendedPageSize, c.recommendedDenseLayers, c.recommendedAttentionLayers], [8, 2, 1]);
  const none = (await configOf('no-dense', small, { metadata: add(['questlens.dense_layers', kv.u32(0)]) })).config();
  assert.equal(none.recommendedDenseLayers, 0, '0 dense layers is a valid recommendation');

  const dense = "questlens.dense_layers \\(the model's recommended dense layers in Quest mode\\) must be an integer from 0 to 2 \\(the model's layers\\), got";
  const attention = "questlens.attention_layers \\(the model's recommended layers for attention citations\\) must be an integer from 1 to 2 \\(the model's layers\\), got";
  const cases: [string, readonly [string, GgufEntry], RegExp][] = [
    ['page-size-12', ['questlens.page_size', kv.u32(12)], /questlens.page_size \(the model's recommended Quest page size\) must be a power of two from 1 to 256, got u32 12$/],
    ['dense-3', ['questlens.dense_layers', kv.u32(3)], new RegExp(`${dense} u32 3$`)],
    ['dense-text', ['questlens.dense_layers', kv.string('4')], new RegExp(`${dense} string "4"$`)],
    ['dense-fraction', ['questlens.dense_layers', kv.f32(1.5)], new RegExp(`${dense} f32 1.5$`)],
    ['attention-0', ['questlens.attention_layers', kv.u32(0)], new RegExp(`${attention} u32 0$`)],
    ['attention-9', ['questlens.attention_layers', kv.u32(9)], new RegExp(`${attention} u32 9$`)],
  ];
  for (const [name, entry, re] of cases) {
    const { path, config } = await configOf(name, small, { metadata: add(entry) });
    assert.throws(config, rejects(ModelConfigError, path, re), name);
  }
});
