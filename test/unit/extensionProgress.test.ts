// The progress of preparing a context as one report (extension/prepareProgress.ts): the reader's walk and passes
// each count files from zero, but the message says which step counts what and the bar only moves forward, its
// increments adding up to 100% when the prefill ends.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PrepareProgress } from '../../extension/engineSession';
import { ProgressIncrements, prepareProgressLine } from '../../extension/prepareProgress';

const reader = (stage: 'walk' | 'read' | 'tokenize', files: number, total: number, tokens = 0): PrepareProgress => ({
  phase: 'tokenize',
  stage,
  files,
  total,
  tokens,
});

/** A whole Load Workspace: model load, a walk finding 900 files, both reader passes over them, the prefill. */
function loadWorkspace(): PrepareProgress[] {
  const events: PrepareProgress[] = [];
  for (let b = 0; b <= 4; b++) events.push({ phase: 'load', bytesDone: b * 1024, bytes: 4096 });
  for (let f = 100; f <= 900; f += 100) events.push(reader('walk', f, 0));
  for (let f = 1; f <= 900; f += 7) events.push(reader('read', f, 900));
  events.push(reader('read', 900, 900));
  for (let f = 1; f <= 900; f += 11) events.push(reader('tokenize', f, 900, f * 37));
  events.push(reader('tokenize', 900, 900, 900 * 37));
  for (let t = 0; t <= 10_000; t += 512) events.push({ phase: 'prefill', tokensDone: t, tokens: 10_000, tokensPerSecond: 2000 });
  events.push({ phase: 'prefill', tokensDone: 10_000, tokens: 10_000, tokensPerSecond: 2000 });
  return events;
}

test('each reader step says what it counts: files found, then files read and tokenized of the total', () => {
  assert.deepEqual(prepareProgressLine(reader('walk', 1234, 0)), { message: 'Finding files: 1,234 found', percent: 10 });
  assert.deepEqual(prepareProgressLine(reader('read', 120, 900)), { message: 'Reading 120 of 900 files', percent: 10 + (20 * 13) / 100 });
  assert.deepEqual(prepareProgressLine(reader('tokenize', 450, 900, 12_345)), {
    message: 'Tokenizing 450 of 900 files: 12,345 tokens',
    percent: 40,
  });
  assert.deepEqual(prepareProgressLine({ phase: 'load', bytesDone: 1024, bytes: 4096 }), { message: 'Loading the model: 25% of 4 KiB', percent: 2.5 });
  assert.deepEqual(prepareProgressLine({ phase: 'prefill', tokensDone: 2048, tokens: 10_240, tokensPerSecond: 512 }), {
    message: 'Prefill: 20% of 10.2K tokens · 512 tokens/s · about 16 s left',
    percent: 60,
  });
});

test('one monotonic report: the bar never moves back when a pass restarts its count, and its increments add up to 100%', () => {
  const increments = new ProgressIncrements();
  let last = 0;
  let sum = 0;
  const steps: string[] = [];
  for (const p of loadWorkspace()) {
    const line = prepareProgressLine(p);
    assert.ok(line.percent >= last, `"${line.message}" at ${line.percent}% after ${last}%`);
    last = line.percent;
    sum += increments.next(line.percent) ?? 0;
    const step = line.message.split(/[: ]/)[0];
    if (steps.at(-1) !== step) steps.push(step);
  }
  assert.equal(Math.round(sum * 1e9) / 1e9, 100);
  assert.deepEqual(steps, ['Loading', 'Finding', 'Reading', 'Tokenizing', 'Prefill'], 'each step once, in order');
  // Reports that would move the bar back (a late or restarted count) add nothing.
  assert.equal(increments.next(40), undefined);
  assert.equal(increments.next(100), undefined);
});

test('ProgressIncrements: never backwards, capped at 100', () => {
  const inc = new ProgressIncrements();
  assert.equal(inc.next(0), undefined);
  assert.equal(inc.next(12.5), 12.5);
  assert.equal(inc.next(10), undefined);
  assert.equal(inc.next(30), 17.5);
  assert.equal(inc.next(250), 70);
  assert.equal(inc.next(100), undefined);
});
