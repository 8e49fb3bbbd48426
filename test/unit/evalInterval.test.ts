// eval/interval.ts: the targets table's 95% intervals, against values worked by hand.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pairedGap, wilson } from '../../eval/interval';

const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 5e-4, `${what}: ${a} vs ${b}`);

test('wilson: 8 of 10 is 49.0%–94.3%; 0 and all of n stay inside [0, 1]; no trials is [0, 1]', () => {
  const [low, high] = wilson(8, 10);
  close(low, 0.4902, 'low');
  close(high, 0.9433, 'high');
  const [l0, h0] = wilson(0, 20);
  assert.equal(l0, 0);
  close(h0, 0.1611, '0 of 20 high');
  const [l1, h1] = wilson(20, 20);
  close(l1, 0.8389, '20 of 20 low');
  assert.equal(h1, 1);
  assert.deepEqual(wilson(0, 0), [0, 1]);
});

test('pairedGap: the mean per-question difference and 1.96 standard errors of it; lengths must match', () => {
  // Differences 0, +1, -1, 0: mean 0, sample variance 2/3, standard error sqrt(2/3 / 4) = 0.4082.
  const g = pairedGap([true, true, false, false], [true, false, true, false]);
  close(g.gap, 0, 'gap');
  close(g.high, 1.96 * 0.40825, 'high');
  close(g.low, -1.96 * 0.40825, 'low');
  // Two lost of 93, none won: −2.15 points, interval −5.1 … +0.8.
  const a = Array.from({ length: 93 }, (_, i) => i >= 2);
  const b = Array.from({ length: 93 }, () => true);
  const lost = pairedGap(a, b);
  close(lost.gap, -2 / 93, 'gap of 2 in 93');
  close(lost.low, -2 / 93 - 1.96 * Math.sqrt(((2 * (1 - 2 / 93) ** 2 + 91 * (2 / 93) ** 2) / 92) / 93), 'low');
  assert.deepEqual(pairedGap([true], [false]), { gap: 1, low: -1, high: 1 });
  assert.throws(() => pairedGap([true], []), /1 outcomes against 0/);
});
