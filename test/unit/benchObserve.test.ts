// BENCHMARKS.md's table of what citations and tracing cost (bench/observeCost.ts), from hand-made runs: each addition
// is its extra time per token against the configuration before it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type ObserveConfig, type ObserveRun, renderObserveTable } from '../../bench/observeCost';

const run = (mode: 'dense' | 'quest', config: ObserveConfig, msPerToken: number): ObserveRun => ({
  mode,
  ...(mode === 'quest' ? { budget: 1024 } : {}),
  context: 4096,
  config,
  steps: 320,
  msPerToken,
  tokensPerSecond: 1000 / msPerToken,
});

test('observe table: tok/s plain, then each addition with its cost against the column before it', () => {
  const observe = [
    run('dense', 'plain', 4),
    run('dense', 'attention', 4.04),
    run('dense', 'trace', 4.04),
    run('dense', 'traceScores', 5.05),
    run('quest', 'plain', 2),
    run('quest', 'attention', 2.02),
    run('quest', 'trace', 2.07),
    run('quest', 'traceScores', 1.863),
  ];
  const md = renderObserveTable([{ model: 'Llama', weightType: 'Q8_0', observe }, { model: 'Qwen', weightType: 'Q8_0' }]);
  const rows = md.split('\n').filter((l) => l.startsWith('| Llama'));
  assert.deepEqual(rows, [
    '| Llama | Q8_0 | 4096 | dense | - | 250.0 | 247.5 (+1.0 %) | 247.5 (+0.0 %) | 198.0 (+25.0 %) |',
    '| Llama | Q8_0 | 4096 | quest | 1024 | 500.0 | 495.0 (+1.0 %) | 483.1 (+2.5 %) | 536.8 (−10.0 %) |',
  ]);
  assert.ok(!md.includes('| Qwen'), 'a model without observe runs has no row');
  assert.equal(renderObserveTable([{ model: 'Qwen', weightType: 'Q8_0' }]), '');
});
