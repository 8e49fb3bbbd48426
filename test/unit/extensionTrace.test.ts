// extension/chat/traceHeader.ts: the heatmap's trace header while an answer streams, and the engine's steps in the
// heatmap's shape (the first token's step comes from the dense prefill and lists no pages; dense mode lists none).
// The reshaped traces are checked by the heatmap's own model (webview/heatmap/model.ts), which throws on a bad shape.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { traceHeader, traceWithSteps, webviewStep, webviewTrace } from '../../extension/chat/traceHeader';
import type { DecodeSettings, ModelSummary } from '../../gpu/protocol';
import type { SelectionTrace, TraceStep } from '../../gpu/trace';
import { HeatmapModel } from '../../webview/heatmap/model';

const model = { name: 'stories260K.gguf', pageSize: 16, layers: 5, kvHeads: 4 } as ModelSummary;
const decode: DecodeSettings = { mode: 'quest', tokenBudget: 64, denseLayers: 2, aggregation: 'max', temperature: 0, maxAnswerTokens: 8, seed: 1 };

test('traceHeader: from the model, the decode settings and the first step\'s position', () => {
  const h = traceHeader(model, decode, 333);
  assert.deepEqual(h, {
    version: 1,
    model: 'stories260K.gguf',
    mode: 'quest',
    pageSize: 16,
    pageBudget: 4,
    layers: 5,
    kvHeads: 4,
    denseLayers: 2,
    contextTokens: 333,
    promptTokens: [],
    steps: [],
  });
  assert.equal(traceHeader(model, { ...decode, mode: 'dense' }, 1).denseLayers, 5);
  assert.equal(traceHeader(model, { ...decode, denseLayers: 9 }, 1).denseLayers, 5);
  // No denseLayers in the request: the model's recommendation (as the engine resolves it), else 2.
  const unset: DecodeSettings = { ...decode, denseLayers: undefined };
  assert.equal(traceHeader({ ...model, recommendedDenseLayers: 4 }, unset, 1).denseLayers, 4);
  assert.equal(traceHeader(model, unset, 1).denseLayers, 2);
  assert.equal(traceHeader({ ...model, recommendedDenseLayers: 4 }, decode, 1).denseLayers, 2, 'an explicit value wins');
  const step: TraceStep = { token: 7, text: 'x', position: 333, pages: [] };
  assert.deepEqual(traceWithSteps(h, [step]).steps, [step]);
  assert.deepEqual(h.steps, [], 'the header is not changed');
});

/** What the engine records (gpu/session): step 0 from the prefill's logits, then decode steps with page lists. */
function engineTrace(mode: 'quest' | 'dense'): SelectionTrace {
  const sparse = (pages: number[]) => [[], [], pages.slice(), pages.slice(), pages.slice()].map((l) => [l, l, l, l]);
  return {
    ...traceHeader(model, { ...decode, mode }, 0),
    contextTokens: 40, // 40 prompt tokens: pages 0..2
    promptTokens: Array.from({ length: 40 }, (_, i) => i),
    steps: [
      { token: 5, text: 'a', position: 39, pages: [] },
      { token: 6, text: 'b', position: 40, pages: mode === 'quest' ? sparse([0, 2]) : [] },
      { token: 7, text: 'c', position: 41, pages: mode === 'quest' ? sparse([1, 2]) : [] },
    ],
  };
}

test('webviewTrace (quest): the prefill step reads every page in sparse layers; contextTokens = first position', () => {
  const t = webviewTrace(engineTrace('quest'));
  assert.equal(t.contextTokens, 39);
  assert.deepEqual(t.steps[0].pages, [[[], [], [], []], [[], [], [], []], ...Array(3).fill(Array(4).fill([0, 1, 2]))]);
  assert.deepEqual(t.steps.slice(1), engineTrace('quest').steps.slice(1), 'decode steps pass unchanged');
  const m = new HeatmapModel(t);
  assert.equal(m.stepCount, 3);
  assert.equal(m.countAt(0, 1), 12, 'step 0: 3 sparse layers x 4 heads read page 1');
  assert.equal(m.countAt(1, 1), 0);
  assert.equal(m.countAt(2, 1), 12);
});

test('webviewTrace (dense): every step gets one empty list per layer and head', () => {
  const t = webviewTrace(engineTrace('dense'));
  for (const s of t.steps) assert.deepEqual(s.pages, Array(5).fill(Array(4).fill([])));
  assert.equal(new HeatmapModel(t).stepCount, 3);
});

test('the raw engine trace is what the heatmap rejects; the streamed header + webviewStep builds the same model', () => {
  assert.throws(() => new HeatmapModel(engineTrace('quest')), /step 0/);
  const header = traceHeader(model, decode, 39);
  const live = new HeatmapModel(header);
  for (const s of engineTrace('quest').steps) live.appendStep(webviewStep(s, header));
  const whole = new HeatmapModel(webviewTrace(engineTrace('quest')));
  for (let s = 0; s < 3; s++) for (let p = 0; p < 3; p++) assert.equal(live.countAt(s, p), whole.countAt(s, p), `step ${s} page ${p}`);
  // A step already in shape, or malformed, passes through untouched.
  const shaped = engineTrace('quest').steps[1];
  assert.equal(webviewStep(shaped, header), shaped);
  const odd = { ...shaped, pages: [[[1]]] };
  assert.equal(webviewStep(odd, header), odd);
});
