// llama.cpp (node-llama-cpp 3.21.1, CPU) accepts the writer's files: stories260K re-assembled by the writer with the
// fixture's metadata (tied: no output.weight; other tensor order; alignment 64) reproduces the golden greedy ids, and
// random-weight llama / qwen2 / qwen3 fixtures load and decode. node-llama-cpp is ESM with a native addon and needs
// process.exit, so it runs in a child process.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import { readGguf, readTensorBytes } from '../../gpu/gguf/reader';
import { writeGguf } from '../../gpu/gguf/writer';
import { readModelConfig } from '../../gpu/model/config';
import { type ModelSpec, modelMetadata, testTempDir, tokenizerMetadata, writeModelGguf } from '../util/ggufFixtures';
import { repoRoot, sharedModelPath } from '../util/paths';

const tmp = testTempDir();

interface Run {
  readonly model: string;
  readonly steps: number;
  readonly text: string;
}
interface Result {
  readonly ids: number[];
  readonly tokens: number[];
  readonly vocab: number;
}

/** Greedy-decodes `steps` tokens after BOS and tokenizes `text` with llama.cpp, for each run. */
function llamaCpp(runs: readonly Run[]): Result[] {
  const entry = pathToFileURL(createRequire(join(repoRoot, 'package.json')).resolve('node-llama-cpp')).href;
  const script = join(tmp, 'llamaCppRun.mjs');
  writeFileSync(
    script,
    `import { getLlama } from ${JSON.stringify(entry)};
const runs = JSON.parse(process.argv[2]);
try {
  const llama = await getLlama({ gpu: false, build: 'never', logLevel: 'error' });
  const out = [];
  for (const r of runs) {
    const model = await llama.loadModel({ modelPath: r.model });
    // threads: 1: on a busy machine llama.cpp's spinning worker threads make a tiny model take tens of seconds.
    const context = await model.createContext({ contextSize: 64, threads: 1 });
    const it = context.getSequence().evaluate([model.tokens.bos], { temperature: 0 });
    const ids = [];
    for (let i = 0; i < r.steps; i++) ids.push((await it.next()).value);
    out.push({ ids, tokens: Array.from(model.tokenize(r.text)), vocab: model.fileInfo.metadata.tokenizer.ggml.tokens.length });
    await context.dispose();
    await model.dispose();
  }
  process.stdout.write('RESULT ' + JSON.stringify(out) + '\\n');
  process.exit(0);
} catch (e) {
  process.stderr.write(String(e && e.stack || e));
  process.exit(1);
}
`,
  );
  const r = spawnSync(process.execPath, [script, JSON.stringify(runs)], { cwd: repoRoot, timeout: 120_000, maxBuffer: 16 << 20 });
  const line = r.stdout.toString().split('\n').find((l) => l.startsWith('RESULT '));
  if (r.status !== 0 || !line) throw new Error(`llama.cpp child exited ${r.status ?? r.signal}: ${r.stderr.toString().slice(-3000)}`);
  return JSON.parse(line.slice(7)) as Result[];
}

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

  const results = llamaCpp([{ model: reassembled, steps: 12, text: 'Once upon a time' }, ...paths.map((model) => ({ model, steps: 3, text: 'Once upon a time' }))]);
  // The golden greedy continuation of BOS (shared/docs/models-and-tokenizers.md).
  assert.deepEqual(results[0].ids, [403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421]);
  assert.deepEqual(results[0].tokens, [403, 407, 261, 378]);
  for (const [i, r] of results.slice(1).entries()) {
    assert.equal(r.vocab, 512, fixtures[i].architecture);
    assert.deepEqual(r.tokens, [403, 407, 261, 378], fixtures[i].architecture);
    assert.equal(r.ids.length, 3);
    assert.ok(r.ids.every((id) => Number.isInteger(id) && id >= 0 && id < 512), `${fixtures[i].architecture}: ids ${r.ids}`);
  }
});
