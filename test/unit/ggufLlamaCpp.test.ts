// llama.cpp (node-llama-cpp 3.21.1, CPU) accepts the writer's files: stories260K re-assembled by the writer with the
// fixture's metadata (tied: no output.weight; other tensor order; alignment 64) reproduces the golden greedy ids, and
// random-weight llama / qwen2 / qwen3 fixtures load, tokenize and decode (test/util/llamaCpp.ts runs llama.cpp in a
// child process).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { readGguf, readTensorBytes } from '../../gpu/gguf/reader';
import { writeGguf } from '../../gpu/gguf/writer';
import { readModelConfig } from '../../gpu/model/config';
import { type ModelSpec, modelMetadata, testTempDir, tokenizerMetadata, writeModelGguf } from '../util/ggufFixtures';
import { llamaCppEval, llamaCppTokenize } from '../util/llamaCpp';
import { sharedModelPath } from '../util/paths';

const tmp = testTempDir();

const stories: ModelSpec = {
  architecture: 'llama', name: 'stories260K (re-assembled)', layers: 5, dim: 64, ffn: 172, heads: 8, kvHeads: 4, headDim: 8, vocab: 512,
  contextLength: 2048, normEps: 1e-5, ropeTheta: 10000, tiedEmbeddings: true,
};

test('llama.cpp runs writer-made GGUFs: stories260K re-assembled, and random llama / qwen2 / qwen3 fixtures', async () => {
  const original = await readGguf(sharedModelPath('stories260K.gguf'));
  const tokenizer = tokenizerMetadata(original);

  // stories260K's own weights under the fixture's metadata, without output.weight (tied), tensors in reverse order.
  const reassembled = join(tmp, 'stories-reassembled.gguf');
  await writeGguf(reassembled, {
    metadata: [...modelMetadata(stories), ...tokenizer],
    tensors: original.tensors
      .filter((t) => t.name !== 'output.weight')
      .reverse()
      .map((t) => ({ name: t.name, type: t.type, dims: t.dims, data: readTensorBytes(original, t) })),
    alignment: 64,
  });
  const config = readModelConfig(await readGguf(reassembled));
  assert.equal(config.tiedEmbeddings, true);
  assert.deepEqual([config.layers, config.dim, config.ffn, config.heads, config.kvHeads, config.headDim, config.vocab], [5, 64, 172, 8, 4, 8, 512]);

  const small = { layers: 2, dim: 64, ffn: 96, heads: 4, kvHeads: 2, headDim: 16, vocab: 512, contextLength: 512, normEps: 1e-6, ropeTheta: 1e6, extraMetadata: tokenizer };
  const fixtures: ModelSpec[] = [
    { ...small, architecture: 'llama', normEps: 1e-5, ropeTheta: 10000, tiedEmbeddings: false },
    { ...small, architecture: 'qwen2', qkvBias: true, tiedEmbeddings: true },
    // q width 4 × 32 = 128 ≠ dim 64, as Qwen3-0.6B's 2048 ≠ 1024.
    { ...small, architecture: 'qwen3', headDim: 32, qkNorm: true, tiedEmbeddings: true },
  ];
  const paths: string[] = [];
  for (const [i, spec] of fixtures.entries()) {
    const path = join(tmp, `random-${spec.architecture}.gguf`);
    await writeModelGguf(path, spec, 'random', i + 1);
    readModelConfig(await readGguf(path)); // our own checks agree the file is well-formed
    paths.push(path);
  }

  const text = [{ text: 'Once upon a time', special: false }];
  // The golden greedy continuation of BOS (shared/docs/models-and-tokenizers.md).
  const [golden] = llamaCppEval(reassembled, 64, [{ prompt: [1], steps: 12 }]);
  assert.deepEqual(golden.tokens, [403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421]);
  assert.deepEqual(llamaCppTokenize(reassembled, text), [[403, 407, 261, 378]]);
  for (const [i, model] of paths.entries()) {
    // One step: a random model's argmax can be EOS, after which llama.cpp ends the sequence.
    const [run] = llamaCppEval(model, 64, [{ prompt: [1], steps: 1 }]);
    assert.deepEqual(llamaCppTokenize(model, text), [[403, 407, 261, 378]], fixtures[i].architecture);
    assert.equal(run.tokens.length, 1);
    // llama.cpp's whole next-token distribution lies on the 512 ids of the file's vocabulary.
    assert.ok(run.probs[0].every(([id]) => Number.isInteger(id) && id >= 0 && id < 512), `${fixtures[i].architecture}: ids ${run.tokens}`);
    const mass = run.probs[0].reduce((sum, [, p]) => sum + p, 0);
    assert.ok(Math.abs(mass - 1) < 1e-3, `${fixtures[i].architecture}: probabilities sum to ${mass}`);
    assert.ok(run.tokens.every((id) => id >= 0 && id < 512), `${fixtures[i].architecture}: ids ${run.tokens}`);
  }
});
