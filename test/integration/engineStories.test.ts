// The whole engine on a real trained model (stories260K, Llama architecture, f32) against llama.cpp and against
// the float64 reference forward pass: tokens, next-token probabilities, and Quest with a budget that covers the
// whole context (must equal dense) or not (must read at most pageBudget pages, the last page always).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { openGpu, type Gpu } from '../../gpu/device';
import { Engine, type GeneratedToken, type GenerateOptions } from '../../gpu/engine';
import { readGguf, readTensorData } from '../../gpu/gguf/reader';
import { readModelConfig } from '../../gpu/model/config';
import { dequantizeRows } from '../../gpu/quant/codec';
import { ReferenceModel, softmaxRef } from '../../gpu/reference/forward';
import { llamaCppEval } from '../util/llamaCpp';
import { sharedModelPath } from '../util/paths';

const model = sharedModelPath('stories260K.gguf');
let gpu: Gpu;
let engine: Engine;

before(async () => {
  gpu = await openGpu();
  engine = await Engine.load(gpu, model, { maxContext: 512, kvType: 'f32' });
});
after(() => {
  engine?.dispose();
  gpu?.dispose();
});

async function run(prompt: number[], o: GenerateOptions): Promise<GeneratedToken[]> {
  engine.truncate(0);
  await engine.prefill(prompt);
  const out: GeneratedToken[] = [];
  for await (const t of engine.generate(o)) out.push(t);
  return out;
}

test('greedy from BOS for 255 tokens gives exactly llama.cpp\'s tokens, with matching probabilities', async () => {
  const [oracle] = llamaCppEval(model, 512, [{ prompt: [1], steps: 255 }]);
  const got = await run([1], { maxTokens: 255 });
  assert.deepEqual(got.map((g) => g.token).slice(0, 12), [403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421]);
  assert.deepEqual(got.map((g) => g.token), oracle.tokens.slice(0, got.length));
  assert.equal(got.length, 255);

  // The next-token distribution after the first 7 tokens, over the whole vocabulary.
  const prompt = [1, 403, 407, 261, 378, 432, 383];
  engine.truncate(0);
  await engine.prefill(prompt);
  const probs = softmaxRef(Float64Array.from(await engine.logits()));
  const [ref] = llamaCppEval(model, 512, [{ prompt, steps: 1 }]);
  const theirs = new Map(ref.probs[0]);
  let worst = 0;
  for (let id = 0; id < probs.length; id++) worst = Math.max(worst, Math.abs(probs[id] - (theirs.get(id) ?? 0)));
  assert.ok(worst <= 1e-3, `max |Δp| against llama.cpp is ${worst}`);
  assert.ok(Math.abs(probs[286] - 0.984172) < 1e-4, `p(286) = ${probs[286]}, float64 reference 0.984172`);
});

test('logits match the float64 reference forward pass', async () => {
  const file = await readGguf(model);
  const cfg = readModelConfig(file);
  const weights = new Map<string, Float64Array>();
  for (const t of file.tensors) weights.set(t.name, dequantizeRows(t.type, await readTensorData(file, t), t.elements / t.dims[0], t.dims[0]));
  const ref = new ReferenceModel(cfg, (name) => weights.get(name)!);
  const prompt = [1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 25, 17];
  let logits: Float64Array = new Float64Array();
  for (const t of prompt) logits = ref.forward(t);
  engine.truncate(0);
  await engine.prefill(prompt);
  const got = await engine.logits();
  let worst = 0;
  for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - logits[i]));
  assert.ok(worst < 1e-3, `max |Δlogit| = ${worst}`);
});

test('quest with a budget covering the whole context decodes exactly as dense', async () => {
  const dense = await run([1], { maxTokens: 64 });
  const quest = await run([1], { maxTokens: 64, quest: { mode: 'quest', pageBudget: 32, denseLayers: 2, aggregation: 'max' }, trace: true });
  assert.deepEqual(quest.map((g) => g.token), dense.map((g) => g.token));
});

test('quest with a small budget reads at most pageBudget pages per KV head, always the last page', async () => {
  const prompt = [1, ...(await run([1], { maxTokens: 100 })).map((g) => g.token)];
  const pageBudget = 3;
  const out = await run(prompt, { maxTokens: 20, quest: { mode: 'quest', pageBudget, denseLayers: 1, aggregation: 'sum' }, trace: true });
  let checked = 0;
  for (const step of out.slice(1)) {
    assert.ok(step.pages, 'a traced quest step carries its pages');
    const lastPage = Math.floor(step.position / 16);
    assert.deepEqual(step.pages[0], [[], [], [], []], 'layer 0 is dense: no page list for any KV head');
    for (const layer of step.pages.slice(1)) {
      for (const pages of layer) {
        assert.equal(pages.length, Math.min(pageBudget, lastPage + 1));
        assert.equal(pages.at(-1), lastPage, 'the last page is always read');
        assert.deepEqual([...pages].sort((a, b) => a - b), pages, 'pages ascend');
        checked++;
      }
    }
  }
  assert.ok(checked > 0);
});
