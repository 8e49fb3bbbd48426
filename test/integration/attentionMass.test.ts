// The attention an answer pays to each page (Engine.attentionMass, and each step's share in the trace) on a real
// model, stories260K, against the float64 reference forward pass: the answer's tokens are fed to the reference one by
// one, and at each of them the last 4 layers' softmax weights are summed per page (position 0 excluded) over every
// query head. Quest mode: a budget covering every page counts exactly what dense counts; a small budget gives mass
// only to pages some KV head of a counted layer selected.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { openGpu, type Gpu } from '../../gpu/device';
import { Engine, type GeneratedToken, type GenerateOptions } from '../../gpu/engine';
import { readGguf, readTensorData } from '../../gpu/gguf/reader';
import { type ModelConfig, readModelConfig } from '../../gpu/model/config';
import { dequantizeRows } from '../../gpu/quant/codec';
import { ReferenceModel } from '../../gpu/reference/forward';
import { expectMatches } from '../util/expectMatches';
import { sharedModelPath } from '../util/paths';

const model = sharedModelPath('stories260K.gguf');
const pageSize = 8;
const counted = 4; // of stories260K's 5 layers
let gpu: Gpu;
let engine: Engine;
let cfg: ModelConfig;
let weights: Map<string, Float64Array>;
const gpuErrors: string[] = [];

before(async () => {
  gpu = await openGpu({ onUncapturedError: (m) => gpuErrors.push(m) });
  engine = await Engine.load(gpu, model, { maxContext: 256, pageSize, kvType: 'f32' });
  const file = await readGguf(model);
  cfg = readModelConfig(file);
  weights = new Map();
  for (const t of file.tensors) weights.set(t.name, dequantizeRows(t.type, await readTensorData(file, t), t.elements / t.dims[0], t.dims[0]));
});
after(() => {
  engine?.dispose();
  gpu?.dispose();
});

/** A prompt of `tokens` tokens: BOS and the model's own greedy story. */
async function storyPrompt(tokens = 45): Promise<number[]> {
  return [1, ...(await run([1], { maxTokens: tokens - 1, attention: false })).map((g) => g.token)];
}

async function run(prompt: number[], o: GenerateOptions): Promise<GeneratedToken[]> {
  engine.truncate(0);
  await engine.prefill(prompt);
  const out: GeneratedToken[] = [];
  for await (const t of engine.generate(o)) out.push(t);
  return out;
}

/**
 * Per counted query (the answer's tokens but the last, fed after the prompt), the float64 attention per page: (pages
 * in context at that query) softmax weights of the last `counted` layers, summed over query heads, position 0 and
 * positions from `end` on excluded.
 */
function referenceSteps(prompt: readonly number[], answer: readonly number[], end = Infinity): number[][] {
  const steps: number[][] = [];
  let current: number[] | undefined;
  const { heads, kvHeads, headDim, layers } = cfg;
  const group = heads / kvHeads;
  const ref = new ReferenceModel(cfg, (name) => weights.get(name)!, (layer, q, keys) => {
    if (!current || layer < layers - counted) return;
    for (let h = 0; h < heads; h++) {
      const kv = Math.floor(h / group) * headDim;
      const scores = keys.map((k) => {
        let s = 0;
        for (let i = 0; i < headDim; i++) s += q[h * headDim + i] * k[kv + i];
        return s / Math.sqrt(headDim);
      });
      const max = Math.max(...scores);
      const w = scores.map((s) => Math.exp(s - max));
      const z = w.reduce((a, b) => a + b, 0);
      for (let pos = 1; pos < Math.min(keys.length, end); pos++) current[Math.floor(pos / pageSize)] += w[pos] / z;
    }
  });
  for (const t of prompt) ref.forward(t);
  for (const t of answer.slice(0, -1)) {
    current = new Array(Math.floor(ref.position / pageSize) + 1).fill(0);
    ref.forward(t);
    steps.push(current);
  }
  return steps;
}

const tolerance = { atol: 2e-4, rtol: 1e-3 };

test('dense: the answer\'s attention per page equals the float64 reference, in total and step by step', async () => {
  const prompt = await storyPrompt();
  const out = await run(prompt, { maxTokens: 12, traceScores: true });
  const mass = await engine.attentionMass();
  const reference = referenceSteps(prompt, out.map((g) => g.token));
  assert.equal(mass.steps, 11, 'every answer token but the last is a counted query');
  assert.equal(mass.layers, counted);
  const total = new Float64Array(mass.pages.length);
  reference.forEach((step) => step.forEach((m, p) => (total[p] += m)));
  expectMatches('attention per page over the answer', mass.pages, total, tolerance);
  // The trace's per-step attention: absent for the first token (chosen by the prompt's prefill), then each step's own.
  assert.equal(out[0].attention, undefined);
  out.slice(1).forEach((g, i) => expectMatches(`step ${i + 1}'s attention per page`, g.attention!, reference[i], tolerance));
  // Each step's query pays 4 layers × 8 heads of attention; only position 0 keeps some of it.
  for (const step of reference) assert.ok(step.reduce((a, b) => a + b, 0) < counted * cfg.heads);
});

test('attentionEnd: keys from the context\'s end on add nothing, and the page it cuts counts only the keys before it', async () => {
  // Context of 45 tokens: page 5 holds positions 40..47, the last 5 of the context and the first 3 after it.
  const prompt = await storyPrompt(45);
  const out = await run(prompt, { maxTokens: 10, attentionEnd: 45, traceScores: true });
  const mass = await engine.attentionMass();
  const reference = referenceSteps(prompt, out.map((g) => g.token), 45);
  const total = new Float64Array(mass.pages.length);
  reference.forEach((step) => step.forEach((m, p) => (total[p] += m)));
  expectMatches('attention per page before position 45', mass.pages, total, tolerance);
  out.slice(1).forEach((g, i) => expectMatches(`step ${i + 1}'s attention per page`, g.attention!, reference[i], tolerance));
  assert.ok(mass.pages[5] > 0 && mass.pages.slice(6).every((m) => m === 0), `page 5 keeps its context keys' share, later pages none: ${Array.from(mass.pages.slice(5))}`);
  await assert.rejects(run(prompt, { maxTokens: 2, attentionEnd: -1 }), /attentionEnd \(-1\) must be a token position/);
});

test('quest: a budget covering every page counts what dense counts; a small budget gives mass only to selected pages', async () => {
  const prompt = await storyPrompt();
  const dense = await run(prompt, { maxTokens: 10 });
  const denseMass = (await engine.attentionMass()).pages;
  await run(prompt, { maxTokens: 10, quest: { mode: 'quest', pageBudget: 32, denseLayers: 2, aggregation: 'sum' } });
  expectMatches('quest with every page in budget', (await engine.attentionMass()).pages, denseMass, tolerance);

  // A small budget, step by step: a page no KV head of a counted layer selected gets nothing, a selected one some.
  const long = await storyPrompt(100);
  const out = await run(long, { maxTokens: 10, quest: { mode: 'quest', pageBudget: 2, denseLayers: 1, aggregation: 'sum' }, trace: true, traceScores: true });
  let unread = 0;
  for (const g of out.slice(1)) {
    const pagesNow = Math.floor(g.position / pageSize) + 1;
    const read = new Set<number>();
    for (const layer of g.pages!.slice(cfg.layers - counted)) for (const pages of layer) pages.forEach((p) => read.add(p));
    assert.equal(g.attention!.length, pagesNow);
    g.attention!.forEach((m, p) => {
      if (read.has(p)) assert.ok(m > 0, `step at ${g.position}: page ${p} was selected and received ${m}`);
      else assert.equal(m, 0, `step at ${g.position}: page ${p} was not selected by a counted layer, yet received ${m}`);
      if (!read.has(p)) unread++;
    });
    // Scores of every page but the last for the sparse layers; none for the dense layer 0.
    assert.deepEqual(g.scores!.map((heads) => heads.map((row) => row.length)), [[0, 0, 0, 0], ...new Array(cfg.layers - 1).fill(new Array(cfg.kvHeads).fill(pagesNow - 1))]);
  }
  assert.ok(unread > 0, 'a budget of 2 pages leaves pages unread');
});

test('attention off: nothing is counted, and an answer of one token counts nothing', async () => {
  const prompt = await storyPrompt();
  await run(prompt, { maxTokens: 6, attention: false });
  const off = await engine.attentionMass();
  assert.deepEqual([off.steps, off.pages.every((m) => m === 0)], [0, true]);
  await run(prompt, { maxTokens: 1 });
  assert.equal((await engine.attentionMass()).steps, 0);
});

test('sampled decoding with every trace on: the trace is mapped only after its step is submitted', async () => {
  const prompt = await storyPrompt();
  const sampling = { temperature: 0.9, topK: 40, topP: 0.95, seed: 7 };
  const quest = { mode: 'quest', pageBudget: 2, denseLayers: 1, aggregation: 'max' } as const;
  const out = await run(prompt, { maxTokens: 8, sampling, quest, trace: true, traceScores: true });
  assert.ok(out.length > 1);
  for (const g of out.slice(1)) assert.ok(g.pages && g.scores && g.attention, `step at ${g.position} carries its trace`);
  assert.deepEqual(gpuErrors, []);
});
