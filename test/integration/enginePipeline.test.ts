// Greedy generate() runs one decodeStep ahead of the host (Engine.generate): on a real model (stories260K) it must
// give exactly what the one-step-at-a-time path gives, and a stop must undo the step ahead without a trace. The
// one-step-at-a-time path is the sampling path drawing from the single best candidate (topK 1), which is the greedy
// token; it runs on a second engine, so that nothing one path leaves on the GPU can help the other.
// Compared exactly: tokens, positions, the selection trace (pages, page scores, per-step attention), engine.logits()
// at every yield and after the answer, attentionMass(), the cache's length and page table; after a stop (end of
// generation, abort, the consumer leaving the loop) with the step ahead cutting a page or starting one: a second
// generate() without a prefill, then a prefill and a Quest answer whose page scores read every page's pageMeta, and
// every mapped page's pageMeta bytes.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { readBuffer } from '../../gpu/buffers';
import { openGpu, type Gpu } from '../../gpu/device';
import { Engine, type GeneratedToken, type GenerateOptions } from '../../gpu/engine';
import type { QuestSettings } from '../../gpu/forward/forward';
import type { SamplingParams } from '../../gpu/sample';
import { sharedModelPath } from '../util/paths';

const model = sharedModelPath('stories260K.gguf');
const pageSize = 8;
/** The sampling path, drawing from the best candidate only: the greedy token, one decodeStep at a time. */
const oneAtATime: SamplingParams = { temperature: 1, topK: 1, topP: 1, seed: 0 };
const quest: QuestSettings = { mode: 'quest', pageBudget: 3, denseLayers: 1, aggregation: 'max' };
let gpu: Gpu;
let ahead: Engine;
let stepwise: Engine;
let prompt: number[];
const gpuErrors: string[] = [];

before(async () => {
  gpu = await openGpu({ onUncapturedError: (m) => gpuErrors.push(m) });
  ahead = await Engine.load(gpu, model, { maxContext: 256, pageSize, kvType: 'f32' });
  stepwise = await Engine.load(gpu, model, { maxContext: 256, pageSize, kvType: 'f32' });
  // 13 tokens: the step ahead of answer token k appends position 13 + k.
  prompt = ahead.tokenizer.encode('Once upon a time, there was a little dog.', { addBos: true });
  assert.equal(prompt.length, 13);
});
after(() => {
  ahead?.dispose();
  stepwise?.dispose();
  gpu?.dispose();
});

/** How a test ends an answer early, at answer token `at` (yielded). */
type Stop = { readonly by: 'end of generation' | 'abort' | 'break'; readonly at: number };

/** Everything a generate() leaves that a caller can see, from the engine as it is. */
async function decode(engine: Engine, o: GenerateOptions, stop?: Stop) {
  const sampling = engine === stepwise ? { sampling: oneAtATime } : {};
  const controller = new AbortController();
  const tokens: GeneratedToken[] = [];
  const logits: Float32Array[] = [];
  const isEog = engine.tokenizer.isEog;
  // stories260K never picks its EOS greedily (its logit stays 18 or more below the best): name the token instead.
  if (stop?.by === 'end of generation') engine.tokenizer.isEog = (id) => tokens.length === stop.at + 1 && id === tokens[stop.at].token;
  try {
    for await (const g of engine.generate({ ...o, ...sampling, signal: controller.signal })) {
      tokens.push(g);
      // Greedy decoding has appended the yielded token already (the step ahead), unless the answer ends at maxTokens.
      const stepsAhead = engine === ahead && tokens.length < o.maxTokens ? 1 : 0;
      assert.equal(engine.length, g.position + 1 + stepsAhead, `the cache's length at answer token ${tokens.length - 1}`);
      logits.push(await engine.logits());
      if (stop?.by === 'abort' && tokens.length === stop.at + 1) controller.abort();
      if (stop?.by === 'break' && tokens.length === stop.at + 1) break;
    }
  } finally {
    engine.tokenizer.isEog = isEog;
  }
  const { cache } = engine.internals();
  return {
    tokens,
    logits,
    logitsAfter: await engine.logits(),
    attention: await engine.attentionMass(),
    length: engine.length,
    pageTable: Array.from(cache.pages.snapshot()),
  };
}

/** Every layer's pageMeta of the mapped pages, (layers, pages) byte arrays. */
async function pageMeta(engine: Engine): Promise<Uint8Array[][]> {
  const { cache } = engine.internals();
  const { kvHeads, headDim } = cache.layout;
  const bytes = kvHeads * 2 * headDim * 4;
  return Promise.all(
    cache.pageMeta.map((buffer) =>
      Promise.all(Array.from(cache.pages.snapshot(), async (page) => new Uint8Array(await readBuffer(gpu, buffer, bytes, page * bytes)))),
    ),
  );
}

async function both(run: (engine: Engine) => Promise<unknown>, what: string): Promise<void> {
  const got = await run(ahead);
  const want = await run(stepwise);
  assert.deepEqual(got, want, `${what}: one step ahead vs one step at a time`);
}

for (const mode of ['dense', 'quest'] as const) {
  test(`${mode}: greedy decoding one step ahead gives exactly the tokens, trace, logits and attention of one step at a time`, async () => {
    const settings: GenerateOptions = { maxTokens: 40, trace: true, traceScores: true, attentionEnd: 20, ...(mode === 'quest' ? { quest } : {}) };
    await both(async (engine) => {
      engine.truncate(0);
      await engine.prefill(prompt);
      const answer = await decode(engine, settings);
      assert.equal(answer.tokens.length, 40);
      return answer;
    }, mode);
  });
}

test('a stop undoes the step ahead: the cache, its pageMeta, the count, the logits and the next answers are those of one step at a time', async () => {
  // The reference answer, to place the stops: the step ahead of token k appends position 13 + k.
  ahead.truncate(0);
  await ahead.prefill(prompt);
  const answer = (await decode(ahead, { maxTokens: 30 })).tokens.map((g) => g.token);
  const cases: Stop[] = [
    { by: 'end of generation', at: 5 }, // the step ahead appends position 18: page 2, mid-page
    { by: 'abort', at: 11 }, //            position 24: the first of page 3
    { by: 'break', at: 17 }, //            position 30: page 3, mid-page
    { by: 'break', at: 19 }, //            position 32: the first of page 4
  ];
  assert.equal(gpuErrors.length, 0);
  for (const stop of cases) {
    const what = `${stop.by} at answer token ${stop.at} (${answer[stop.at]})`;
    await both(async (engine) => {
      engine.truncate(0);
      await engine.prefill(prompt);
      const stopped = await decode(engine, { maxTokens: 30, quest, trace: true, traceScores: true }, stop);
      assert.equal(stopped.tokens.length, stop.at + 1, `${what}: tokens yielded`);
      assert.equal(stopped.length, prompt.length + stop.at, `${what}: every yielded token but the last is in the cache`);
      // Goes on from the last token without a prefill: it is yielded again, then appended.
      const resumed = await decode(engine, { maxTokens: 4, trace: true, traceScores: true });
      await engine.prefill(prompt.slice(1, 6));
      const metaAfterPrefill = await pageMeta(engine);
      const next = await decode(engine, { maxTokens: 12, quest: { ...quest, aggregation: 'sum' }, trace: true, traceScores: true });
      return { stopped, resumed, metaAfterPrefill, next, meta: await pageMeta(engine) };
    }, what);
  }
  assert.deepEqual(gpuErrors, []);
});
