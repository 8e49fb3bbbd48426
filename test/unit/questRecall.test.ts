// Quest's selection keeps the keys that matter: with a few planted keys that the query strongly attends to, hidden
// among random keys, the selected pages hold the planted keys and nearly all the attention mass.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { selectedMass } from '../../gpu/reference/questRecall';
import { rng } from '../util/random';

function planted(seed: number, positions: number, plantedAt: readonly number[]) {
  const heads = 4;
  const kvHeads = 2;
  const headDim = 16;
  const next = rng(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(next() + 1e-12)) * Math.cos(2 * Math.PI * next());
  const q = Array.from({ length: heads * headDim }, gauss);
  const keys = Array.from({ length: positions }, () => Array.from({ length: kvHeads * headDim }, () => gauss() * 0.5));
  // A planted key points along the query heads of its KV head: a large q·k for the whole group.
  for (const t of plantedAt) {
    for (let kv = 0; kv < kvHeads; kv++) {
      for (let i = 0; i < headDim; i++) {
        const a = q[(2 * kv) * headDim + i] + q[(2 * kv + 1) * headDim + i];
        keys[t][kv * headDim + i] = 3 * a;
      }
    }
  }
  return { q, keys, heads, kvHeads, headDim };
}

test('planted keys: a budget of their pages + the last page keeps nearly all attention mass', () => {
  const c = planted(7, 1000, [37, 410, 777]);
  for (const aggregation of ['max', 'sum'] as const) {
    const mass = selectedMass(c, 16, 4, aggregation); // 3 planted pages + the last page
    assert.ok(mass > 0.99, `${aggregation}: selected mass ${mass}`);
  }
});

test('random pages hold little mass: the measure can fail', () => {
  const c = planted(7, 1000, [37, 410, 777]);
  // Budget 1 keeps only the last page, far from every planted key.
  assert.ok(selectedMass(c, 16, 1, 'max') < 0.05);
});

test('a budget covering every page keeps all the mass', () => {
  const c = planted(11, 203, [5]);
  assert.ok(Math.abs(selectedMass(c, 16, 13, 'sum') - 1) < 1e-12);
});
