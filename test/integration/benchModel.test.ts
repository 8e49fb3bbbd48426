// The bench's model runs (bench/modelBench.ts) on lavapipe, for the plans that read a model file: the smoke suite's
// stories260K plan (the file found beside the repository as the tests find it), a file that recommends its own page
// size and dense layers, and a synthetic model beside them. Each result records the settings the engine used: the
// bench's for a synthetic model, the file's recommendation (else the engine's defaults) for a file, never the
// other's. A model that ends its answers early is decoded on past its end-of-generation tokens, up to a limit.
import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { type Gpu, openGpu } from '../../gpu/device';
import { Engine } from '../../gpu/engine';
import { readGguf, readTensorData } from '../../gpu/gguf/reader';
import { type GgufEntry, entriesFromFile, kv, writeGguf } from '../../gpu/gguf/writer';
import { defaultPageSize } from '../../gpu/kv/layout';
import { GgmlType } from '../../gpu/model/ggmlTypes';
import { defaultDenseLayers } from '../../gpu/session/decodeSettings';
import { type BenchContext, type ModelPlan, benchModel } from '../../bench/modelBench';
import { renderTables } from '../../bench/report';
import type { BenchResult, ModelResult } from '../../bench/results';
import { suites } from '../../bench/suites';
import { type ModelSpec, testTempDir, tokenizerMetadata, writeModelGguf } from '../util/ggufFixtures';
import { repoRoot, sharedModelPath } from '../util/paths';

const tmp = testTempDir('quest-lens-bench-model-');
const stories = sharedModelPath('stories260K.gguf');
let gpu: Gpu;
let tokenizer: [string, GgufEntry][];

before(async () => {
  gpu = await openGpu();
  tokenizer = tokenizerMetadata(await readGguf(stories));
});
after(() => gpu?.dispose());

// Settings that are neither a file's recommendation below nor the engine's defaults: each source is told apart.
const context = (): BenchContext => ({
  gpu, copyBytesPerSecond: 1e10, tmpDir: tmp, root: repoRoot, pageSize: 32, denseLayers: 3, decodeTokens: 4, profileReps: 1, log: () => {},
});

async function bench(plan: ModelPlan, c = context()): Promise<ModelResult[]> {
  const out: ModelResult[] = [];
  await benchModel(c, plan, (r) => out.push(r));
  return out;
}

/** A 4-layer llama with stories260K's vocabulary, written to `name`; `recommend` adds questlens.* keys. */
async function written(name: string, o: { recommend?: { pageSize: number; denseLayers: number }; eos?: number; data?: 'random' | 'zeros' } = {}): Promise<string> {
  const keys: [string, GgufEntry][] = tokenizer.map(([k, v]) => [k, k === 'tokenizer.ggml.eos_token_id' && o.eos !== undefined ? kv.u32(o.eos) : v]);
  if (o.recommend) keys.push(['questlens.page_size', kv.u32(o.recommend.pageSize)], ['questlens.dense_layers', kv.u32(o.recommend.denseLayers)]);
  const spec: ModelSpec = {
    architecture: 'llama', name, layers: 4, dim: 64, ffn: 128, heads: 4, kvHeads: 2, headDim: 16, vocab: 512, contextLength: 2048,
    normEps: 1e-5, ropeTheta: 1e4, tiedEmbeddings: true, matrixType: GgmlType.Q8_0, extraMetadata: keys,
  };
  const path = join(tmp, `${name}.gguf`);
  await writeModelGguf(path, spec, o.data ?? 'random');
  return path;
}

test("the smoke suite's model file is stories260K beside the repository, decoded with the engine's defaults (it recommends nothing)", async () => {
  const plan = suites.smoke.plans.find((p) => 'file' in p);
  assert.ok(plan && 'file' in plan, 'the smoke suite has no model-file plan');
  assert.equal(resolve(repoRoot, plan.file), stories);
  const results = await bench(plan);
  assert.deepEqual(results.map((r) => r.context), plan.contexts);
  for (const r of results) {
    assert.equal(r.file, plan.file);
    assert.equal(r.model, 'llama'); // stories260K's general.name
    assert.equal(r.weightType, 'F32');
    assert.equal(r.shape, '5 layers, dim 64, ffn 172, 8/4 heads × 8, vocab 512');
    assert.equal(r.fileBytes, statSync(stories).size);
    assert.equal(r.generateMs, undefined);
    assert.deepEqual([r.pageSize, r.denseLayers], [defaultPageSize, defaultDenseLayers]);
    assert.equal(r.fill, 'prefill');
    assert.ok(r.prefillMs! > 0);
    assert.deepEqual(r.runs.map((x) => [x.mode, x.budget, x.pageBudget, x.steps]), [['dense', undefined, undefined, 4], ['quest', 64, 64 / defaultPageSize, 4]]);
  }
  assert.ok(existsSync(stories), 'a model file is never removed');
});

test("a model file decodes with the page size and dense layers it recommends; a synthetic model with the bench's", async () => {
  const path = await written('recommends', { recommend: { pageSize: 8, denseLayers: 1 } });
  const [file] = await bench({ file: path, fill: 'prefill', contexts: [200], budgets: [64, 128] });
  assert.deepEqual([file.pageSize, file.denseLayers, file.file], [8, 1, path]);
  assert.equal(file.weightType, 'Q8_0');
  const quest = file.runs.filter((r) => r.mode === 'quest');
  assert.deepEqual(quest.map((r) => [r.budget, r.pageBudget]), [[64, 8], [128, 16]]);
  // Traffic is counted with the same settings: K and V of 1 dense layer over all 201 tokens, of 3 sparse layers over
  // their 64 or 128; dense: 4 layers over 201 (a token's K or V row is 2 KV heads × 16 elements in every layer).
  const perToken = file.runs[0].traffic.kv / (4 * 201);
  for (const [r, tokens] of [[quest[0], 64], [quest[1], 128]] as const) assert.equal(r.traffic.kv, perToken * (201 + 3 * tokens));

  const { observe: _, ...tiny } = { ...suites.smoke.plans[0], budgets: [64] };
  assert.ok(!('file' in tiny));
  const [synthetic] = await bench(tiny);
  assert.deepEqual([synthetic.pageSize, synthetic.denseLayers, synthetic.file], [32, 3, undefined]);
  assert.ok(synthetic.generateMs! > 0);
  assert.deepEqual(synthetic.runs.filter((r) => r.mode === 'quest').map((r) => [r.budget, r.pageBudget]), [[64, 2]]);

  // BENCHMARKS.md: the file's Quest runs get a section that names its settings; the synthetic model's prefill does not.
  const run: BenchResult = {
    schema: 1, suite: 'smoke', date: '2026-11-23T00:00:00Z', commit: 'abcdef0123', dirty: false, command: 'node dist/bench.js',
    device: { description: 'lavapipe', vendor: 'mesa', architecture: '', isSoftware: true }, runtime: { node: 'v20', webgpu: '0.6.2', dawnFlags: [] },
    settings: { pageSize: 32, kvType: 'f32', denseLayers: 3, aggregation: 'sum', decodeTokens: 4, profileReps: 1 },
    copy: { bytes: 1, reps: 1, wallBytesPerSecond: 1e10 }, copyBytesPerSecond: 1e10, models: [synthetic, file], notes: [],
  };
  const md = renderTables([{ file: 'run.json.gz', result: run }]);
  assert.match(md, /Model files decode with the page size and dense layers they recommend, or these defaults where they name none: recommends \(.*recommends\.gguf\): pages of 8, 1 dense layers\./);
  assert.match(md, /\n### Dense vs Quest: recommends Q8_0 \(real prefill of the context\)\n/);
  assert.match(md, /4 layers, dim 64, ffn 128, 4\/2 heads × 16, vocab 512; weights [0-9.]+ GiB on the GPU\. Pages of 8, 1 dense layers \(as .*recommends\.gguf recommends, or the defaults where it names none\)\./);
  assert.doesNotMatch(md, /### Dense vs Quest: synthetic/);
  assert.equal(md.match(/\| 200 \| quest \| (64|128) \|/g)?.length, 2);
});

test('a model that ends its answer early is decoded on past its end-of-generation tokens, at most 8 times', async () => {
  // stories260K's tokens after the bench's prompt at context 100: 99 of its filler ids, then its token 65.
  const engine = await Engine.load(gpu, stories, { maxContext: 256 });
  const picked: number[] = [];
  try {
    await engine.prefill(Array.from({ length: 99 }, (_, i) => (i * 2654435761) % 512));
    await engine.prefill([65]);
    for await (const t of engine.generate({ maxTokens: 5 })) picked.push(t.token);
  } finally {
    engine.dispose();
  }
  // The same weights with the third of those tokens as the end of generation: two steps, then the rest after restarts.
  const eos = picked[2];
  assert.ok(!picked.slice(0, 2).includes(eos), `stories260K's tokens ${picked} repeat before the third`);
  const ends = await withEos(stories, join(tmp, 'stories-ends.gguf'), eos);
  const [r] = await bench({ file: ends, fill: 'prefill', contexts: [100], budgets: [] });
  assert.equal(r.runs[0].steps, 4);
  assert.ok(r.runs[0].restarts! >= 1, `restarts ${r.runs[0].restarts}`);

  // All-zero weights: every logit is 0 and greedy picks id 0, here the end of generation, at every step: no step to
  // time, refused after 8 restarts.
  const always = await written('always', { eos: 0, data: 'zeros' });
  await assert.rejects(bench({ file: always, fill: 'prefill', contexts: [100], budgets: [] }), /generation ended early 9 times \(end-of-generation tokens\) with 0 of 4 steps timed/);
});

/** `src` copied to `dst` (a temp file) with tokenizer.ggml.eos_token_id = `eos`. */
async function withEos(src: string, dst: string, eos: number): Promise<string> {
  const file = await readGguf(src);
  const metadata = entriesFromFile(file, (k) => k !== 'general.alignment').map(([k, v]): [string, GgufEntry] => [k, k === 'tokenizer.ggml.eos_token_id' ? kv.u32(eos) : v]);
  const tensors = file.tensors.map((t) => ({ name: t.name, type: t.type, dims: t.dims, data: (async function* () {
    yield await readTensorData(file, t);
  })() }));
  await writeGguf(dst, { metadata, tensors, alignment: file.alignment });
  return dst;
}
