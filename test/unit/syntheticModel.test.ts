// Synthetic models (gpu/model/syntheticModel.ts): files the engine's own reader, config check and tokenizer accept,
// weights of the intended spread in every type, reproducible from the seed, and the real models' parameter counts.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { EngineError } from '../../gpu/errors';
import { readGguf, readTensorData } from '../../gpu/gguf/reader';
import { readModelConfig } from '../../gpu/model/config';
import { GgmlType, ggmlTypeInfo } from '../../gpu/model/ggmlTypes';
import {
  type SyntheticShape, type SyntheticWeightType, byteTokenizerMetadata, llama32_1B, padTokenizerMetadata, q4KMType, qwen25Coder1_5B,
  syntheticTensors, writeSyntheticModel,
} from '../../gpu/model/syntheticModel';
import { TokenType } from '../../gpu/tokenizer/vocab';
import { dequantizeRows } from '../../gpu/quant/codec';
import { createTokenizer } from '../../gpu/tokenizer/tokenizer';

const dir = mkdtempSync(join(tmpdir(), 'quest-lens-synthetic-'));
after(() => rmSync(dir, { recursive: true, force: true }));

// Odd sizes where the blocks allow (K-quants need rows of 256): 3 layers, vocab 301 (> the 257-token tokenizer), GQA 8/2.
const small: SyntheticShape = {
  architecture: 'llama',
  name: 'test small',
  layers: 3,
  dim: 256,
  ffn: 768,
  heads: 8,
  kvHeads: 2,
  headDim: 32,
  vocab: 301,
  contextLength: 1024,
  normEps: 1e-5,
  ropeTheta: 10000,
  llama3Rope: { factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalContextLength: 256 },
};

const types: SyntheticWeightType[] = [GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_K, GgmlType.Q6_K];

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

describe('synthetic model', () => {
  for (const type of types) {
    test(`${ggmlTypeInfo[type].name}: loads with the engine's reader, config and tokenizer; weights have std ≈ 1/sqrt(cols)`, async () => {
      const path = join(dir, `small-${ggmlTypeInfo[type].name}.gguf`);
      const info = await writeSyntheticModel(path, { shape: small, weightType: type, seed: 3 });
      const file = await readGguf(path);
      assert.equal(info.fileSize, file.fileSize);
      const cfg = readModelConfig(file); // checks every tensor's presence and dims
      assert.deepEqual(
        [cfg.layers, cfg.dim, cfg.ffn, cfg.heads, cfg.kvHeads, cfg.headDim, cfg.vocab, cfg.tiedEmbeddings, cfg.ropeFreqsTensor],
        [3, 256, 768, 8, 2, 32, 301, false, 'rope_freqs.weight'],
      );
      const tok = createTokenizer(file.metadata);
      assert.deepEqual(tok.encode('hi'), [104, 105]);
      assert.ok(tok.isEog(256));

      for (const [name, cols] of [['blk.2.ffn_down.weight', 768], ['blk.0.attn_k.weight', 256], ['output.weight', 256]] as const) {
        const t = file.tensor(name)!;
        assert.equal(t.type, type, `${name} type`);
        const x = dequantizeRows(t.type, await readTensorData(file, t), t.dims[1], t.dims[0]);
        let sum = 0;
        let sq = 0;
        for (const v of x) {
          assert.ok(Number.isFinite(v), `${name}: a non-finite weight`);
          sum += v;
          sq += v * v;
        }
        const mean = sum / x.length;
        const std = Math.sqrt(sq / x.length - mean * mean);
        const want = 1 / Math.sqrt(cols);
        assert.ok(Math.abs(std / want - 1) < 0.2, `${name}: std ${std} should be within 20 % of ${want}`);
        assert.ok(Math.abs(mean) < 0.1 * want, `${name}: mean ${mean} should be near 0 (std ${want})`);
      }
      const norm = file.tensor('blk.1.attn_norm.weight')!;
      assert.deepEqual([...new Float32Array((await readTensorData(file, norm)).buffer)].slice(0, 4), [1, 1, 1, 1]);
    });
  }

  test('the same seed writes the same bytes; another seed other weights', async () => {
    const opts = { shape: small, weightType: GgmlType.Q4_K, seed: 11 } as const;
    const a = join(dir, 'a.gguf');
    const b = join(dir, 'b.gguf');
    const c = join(dir, 'c.gguf');
    await writeSyntheticModel(a, opts);
    await writeSyntheticModel(b, opts);
    await writeSyntheticModel(c, { ...opts, seed: 12 });
    assert.equal(sha256(a), sha256(b));
    assert.notEqual(sha256(a), sha256(c));
    const fa = await readGguf(a);
    const fc = await readGguf(c);
    assert.equal(fa.fileSize, fc.fileSize);
    // Different layers get different streams too.
    const t0 = await readTensorData(fa, fa.tensor('blk.0.attn_q.weight')!);
    const t1 = await readTensorData(fa, fa.tensor('blk.1.attn_q.weight')!);
    assert.notDeepEqual(t0.subarray(0, 64), t1.subarray(0, 64));
  });

  test('qwen2 shape: QKV biases, tied embeddings, an embedding type of its own, a given tokenizer', async () => {
    const shape: SyntheticShape = { ...small, architecture: 'qwen2', name: 'test qwen2', llama3Rope: undefined, qkvBias: true, tiedEmbeddings: true, layers: 1 };
    const path = join(dir, 'qwen.gguf');
    const vocab = byteTokenizerMetadata();
    await writeSyntheticModel(path, { shape, weightType: GgmlType.Q8_0, embeddingType: GgmlType.Q6_K, tokenizer: vocab });
    const file = await readGguf(path);
    const cfg = readModelConfig(file);
    assert.equal(cfg.architecture, 'qwen2');
    assert.ok(cfg.qkvBias && cfg.tiedEmbeddings && cfg.ropeFreqsTensor === undefined);
    assert.equal(file.tensor('token_embd.weight')!.type, GgmlType.Q6_K);
    assert.equal(file.tensor('blk.0.attn_v.weight')!.type, GgmlType.Q8_0);
    const bias = new Float32Array((await readTensorData(file, file.tensor('blk.0.attn_q.bias')!)).buffer);
    assert.equal(bias.length, 8 * 32);
    assert.ok(bias.some((v) => v !== 0) && bias.every((v) => Math.abs(v) <= 0.02 * Math.sqrt(3)));
  });

  test('the byte tokenizer is padded to the embedding rows with unused [PAD<id>] tokens that decode to nothing', async () => {
    const path = join(dir, 'padded.gguf');
    await writeSyntheticModel(path, { shape: small, weightType: GgmlType.Q8_0 });
    const file = await readGguf(path);
    const tokens = file.metadata.get('tokenizer.ggml.tokens') as readonly string[];
    const types = file.metadata.get('tokenizer.ggml.token_type') as Int32Array;
    assert.equal(tokens.length, small.vocab);
    assert.deepEqual([tokens[256], tokens[257], tokens[300]], ['<|endoftext|>', '[PAD257]', '[PAD300]']);
    assert.deepEqual([types[97], types[256], types[257], types[300]], [TokenType.normal, TokenType.control, TokenType.unused, TokenType.unused]);
    const tok = createTokenizer(file.metadata);
    assert.equal(tok.decode([104, 300, 105]), 'hi');
    assert.deepEqual(tok.encode('[PAD300]'), [...Buffer.from('[PAD300]')]);
    assert.throws(() => padTokenizerMetadata(byteTokenizerMetadata(), 200), /the tokenizer has 257 tokens, more than the embedding's 200 rows/);
  });

  test("Q4_K_M: llama.cpp's mix, Q6_K for the tied LM head and for attn_v / ffn_down of the layers use_more_bits picks", async () => {
    // 16 layers (Llama-3.2-1B): the first and last eighth (0, 1, 14, 15) and every third from 2 on (4, 7, 10, 13).
    const more16 = [0, 1, 4, 7, 10, 13, 14, 15];
    for (let l = 0; l < 16; l++) {
      for (const m of ['attn_v', 'ffn_down']) assert.equal(q4KMType(`blk.${l}.${m}.weight`, 16, true), more16.includes(l) ? GgmlType.Q6_K : GgmlType.Q4_K, `16 layers: blk.${l}.${m}`);
      for (const m of ['attn_q', 'attn_k', 'attn_output', 'ffn_gate', 'ffn_up']) assert.equal(q4KMType(`blk.${l}.${m}.weight`, 16, true), GgmlType.Q4_K);
    }
    // 28 layers (Qwen2.5-Coder-1.5B): 0-2, 24-27 and 5, 8, ..., 23.
    const more28 = [0, 1, 2, 5, 8, 11, 14, 17, 20, 23, 24, 25, 26, 27];
    for (let l = 0; l < 28; l++) assert.equal(q4KMType(`blk.${l}.ffn_down.weight`, 28, true), more28.includes(l) ? GgmlType.Q6_K : GgmlType.Q4_K, `28 layers: blk.${l}`);
    assert.equal(q4KMType('token_embd.weight', 16, true), GgmlType.Q6_K);
    assert.equal(q4KMType('token_embd.weight', 16, false), GgmlType.Q4_K);
    assert.equal(q4KMType('output.weight', 16, false), GgmlType.Q6_K);

    const path = join(dir, 'q4km.gguf');
    await writeSyntheticModel(path, { shape: { ...small, tiedEmbeddings: true }, weightType: 'Q4_K_M', seed: 5 });
    const file = await readGguf(path);
    readModelConfig(file);
    for (const t of file.tensors.filter((x) => x.dims.length === 2)) assert.equal(t.type, q4KMType(t.name, small.layers, true), t.name);
    assert.ok(file.tensors.some((t) => t.type === GgmlType.Q4_K) && file.tensors.some((t) => t.type === GgmlType.Q6_K));
  });

  test('the presets have the real models\' parameter counts (Hugging Face counts; GGUF adds rope_freqs)', () => {
    const count = (shape: SyntheticShape) =>
      syntheticTensors({ shape, weightType: GgmlType.Q8_0 }).reduce((s, t) => s + t.dims.reduce((a, b) => a * b, 1), 0);
    assert.equal(count(llama32_1B), 1_235_814_400 + 32);
    assert.equal(count(qwen25Coder1_5B), 1_543_714_304);
  });

  test('refuses what it cannot write, naming the problem', () => {
    assert.throws(
      () => syntheticTensors({ shape: small, weightType: 3 as SyntheticWeightType }),
      (e: Error) => e instanceof EngineError && /type id 3 is not one the generator writes/.test(e.message),
    );
    assert.throws(
      () => syntheticTensors({ shape: { ...small, dim: 96 }, weightType: GgmlType.Q4_K }),
      /token_embd\.weight has 96 columns, not a multiple of Q4_K's block of 256/,
    );
    assert.throws(() => syntheticTensors({ shape: { ...small, kvHeads: 3 }, weightType: GgmlType.F32 }), /heads \(8\) must be a multiple of kvHeads \(3\)/);
    assert.throws(() => syntheticTensors({ shape: { ...small, layers: 0 }, weightType: GgmlType.F32 }), /layers \(0\) must be an integer >= 1/);
  });
});
