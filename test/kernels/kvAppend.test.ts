import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EngineError, ShapeError } from '../../gpu/errors';
import { kvAppend } from '../../gpu/kernels/kvAppend';
import { pageMetaRef, storedRef } from '../../gpu/reference/kv';
import { expectMatches } from '../util/expectMatches';
import { testGpu } from '../util/gpu';
import { type CacheCase, activations, concat, makeCache, readLayer, storageFor, submit, upload } from './kvHarness';

// Stored K/V and pageMeta per element type: f32 is exact; an f16 conversion may round either way (WGSL leaves it to
// the implementation), so one f16 ulp.
const tolerance = { f32: { atol: 0, rtol: 0 }, f16: { atol: 6e-8, rtol: 2 ** -10 } } as const;

interface AppendCase extends CacheCase {
  /** Tokens per run: prefill runs, then 1-token decode steps. */
  readonly runs: readonly number[];
}

const cases: AppendCase[] = [
  { kvHeads: 1, headDim: 8, pageSize: 4, kvType: 'f32', maxTokens: 8, runs: [1] },
  { kvHeads: 2, headDim: 8, pageSize: 4, kvType: 'f32', maxTokens: 16, runs: [15], scatter: true },
  { kvHeads: 4, headDim: 64, pageSize: 16, kvType: 'f32', maxTokens: 64, runs: [17], scatter: true },
  { kvHeads: 1, headDim: 128, pageSize: 32, kvType: 'f32', maxTokens: 64, runs: [24, 1, 1, 1], scatter: true },
  { kvHeads: 2, headDim: 64, pageSize: 16, kvType: 'f16', maxTokens: 64, runs: [61], scatter: true },
  { kvHeads: 4, headDim: 8, pageSize: 4, kvType: 'f16', maxTokens: 128, runs: [40, 50, 23], scatter: true },
  { kvHeads: 2, headDim: 8, pageSize: 32, kvType: 'f32', maxTokens: 64, runs: [17, 30, 1, 1, 1, 1, 1], scatter: true },
  { kvHeads: 3, headDim: 128, pageSize: 16, kvType: 'f16', maxTokens: 32, runs: [2, 1, 13, 1, 1, 9] },
];

for (const c of cases) {
  const name = `kvAppend ${c.kvType} kvHeads=${c.kvHeads} headDim=${c.headDim} pageSize=${c.pageSize} runs=${c.runs.join('+')}${c.scatter ? ' scattered' : ''}`;
  test(`${name}: cache rows and pageMeta match the reference`, async () => {
    const { gpu, kernels } = await testGpu();
    const cache = makeCache(gpu, c);
    const maxRun = Math.max(...c.runs);
    const row = c.kvHeads * c.headDim;
    const b = { k: storageFor(gpu, 'k', maxRun * row), v: storageFor(gpu, 'v', maxRun * row) };
    const op = await kvAppend(kernels, cache, 0, b, maxRun);
    let keys: Float32Array = new Float32Array(0);
    let values: Float32Array = new Float32Array(0);
    for (const [i, tokens] of c.runs.entries()) {
      const k = activations(tokens * row, 100 + i, 2);
      const v = activations(tokens * row, 200 + i);
      keys = concat(keys, k);
      values = concat(values, v);
      cache.beginRun(tokens);
      upload(gpu, b.k, k);
      upload(gpu, b.v, v);
      submit(gpu, op.dispatches(tokens));
    }
    const length = keys.length / row;
    assert.equal(cache.length, length);
    const got = await readLayer(gpu, cache);
    const tol = tolerance[c.kvType];
    expectMatches(`${name} K`, got.keys, storedRef(keys, c.kvType), tol);
    expectMatches(`${name} V`, got.values, storedRef(values, c.kvType), tol);
    expectMatches(`${name} pageMeta`, got.meta, pageMetaRef(keys, length, c.kvHeads, c.headDim, c.pageSize, c.kvType), tol);
    // Quest's invariant, exactly: each page's max/min is the element-wise max/min of the keys the cache holds.
    expectMatches(`${name} pageMeta vs cached keys`, got.meta, pageMetaRef(got.keys, length, c.kvHeads, c.headDim, c.pageSize, c.kvType), { atol: 0, rtol: 0 });
    cache.dispose();
  });
}

test('kvAppend into a reused page after a mid-page truncate rebuilds its pageMeta from the kept keys', async () => {
  const { gpu, kernels } = await testGpu();
  const c = { kvHeads: 2, headDim: 8, pageSize: 16, kvType: 'f32', maxTokens: 64, scatter: true } as const;
  const cache = makeCache(gpu, c);
  const row = c.kvHeads * c.headDim;
  const b = { k: storageFor(gpu, 'k', 40 * row), v: storageFor(gpu, 'v', 40 * row) };
  const op = await kvAppend(kernels, cache, 0, b, 40);
  const run = async (tokens: number, k: Float32Array) => {
    cache.beginRun(tokens);
    upload(gpu, b.k, k);
    upload(gpu, b.v, k);
    submit(gpu, op.dispatches(tokens));
  };
  const first = activations(40 * row, 7, 3); // large keys, soon truncated away
  await run(40, first);
  cache.truncate(20); // keeps page 0 and 4 rows of page 1; page 2 goes back to the pool
  const kept = first.slice(0, 20 * row);
  const more = activations(9 * row, 8, 0.5);
  await run(9, more);
  const step = activations(row, 9, 0.5);
  await run(1, step); // decode folds into the rebuilt page
  const keys = concat(concat(kept, more), step);
  const got = await readLayer(gpu, cache);
  expectMatches('K after truncate', got.keys, storedRef(keys, 'f32'), { atol: 0, rtol: 0 });
  expectMatches('pageMeta after truncate', got.meta, pageMetaRef(keys, 30, c.kvHeads, c.headDim, c.pageSize, 'f32'), { atol: 0, rtol: 0 });
  cache.dispose();
});

test('kvAppend clamps f16 keys to ±65504, and pageMeta bounds the stored value', async () => {
  const { gpu, kernels } = await testGpu();
  const cache = makeCache(gpu, { kvHeads: 1, headDim: 4, pageSize: 4, kvType: 'f16', maxTokens: 8 });
  const b = { k: storageFor(gpu, 'k', 8), v: storageFor(gpu, 'v', 8) };
  const op = await kvAppend(kernels, cache, 0, b, 2);
  cache.beginRun(2);
  upload(gpu, b.k, new Float32Array([1e6, -1e6, 0.5, 70000, -3, 2, 65504, -65520]));
  upload(gpu, b.v, new Float32Array(8));
  submit(gpu, op.dispatches(2));
  const got = await readLayer(gpu, cache);
  assert.deepEqual([...got.keys], [65504, -65504, 0.5, 65504, -3, 2, 65504, -65504]);
  assert.deepEqual([...got.meta], [65504, 2, 65504, 65504, -3, -65504, 0.5, -65504]);
  cache.dispose();
});

test('a run past the cache capacity is a kv-capacity error; a run longer than the op a ShapeError', async () => {
  const { gpu, kernels } = await testGpu();
  const cache = makeCache(gpu, { kvHeads: 1, headDim: 8, pageSize: 16, kvType: 'f32', maxTokens: 32 });
  const b = { k: storageFor(gpu, 'k', 32 * 8), v: storageFor(gpu, 'v', 32 * 8) };
  const op = await kvAppend(kernels, cache, 0, b, 20);
  cache.beginRun(20);
  assert.throws(
    () => cache.beginRun(13),
    (e: Error) => e instanceof EngineError && e.code === 'kv-capacity' && /33 tokens need 3 pages of 16, the cache holds 2 pages \(32 tokens\)/.test(e.message),
  );
  assert.equal(cache.length, 20, 'a refused run changes nothing');
  assert.throws(() => op.dispatches(21), (e: Error) => e instanceof ShapeError && /a run of 21 tokens, the op was built for 1..20/.test(e.message));
  await assert.rejects(kvAppend(kernels, cache, 0, b, 33), /maxTokens \(33\) must be an integer in 1..cache capacity \(32\)/);
  await assert.rejects(kvAppend(kernels, cache, 1, b, 4), /layer 1 is not in 0..0/);
  await assert.rejects(
    kvAppend(kernels, cache, 0, { k: storageFor(gpu, 'small', 8), v: b.v }, 4),
    /k holds 32 B, needs maxTokens\*kvHeads\*headDim\*4 = 128/,
  );
  assert.throws(() => cache.beginRun(0), /a run appends an integer >= 1 tokens, got 0/);
  cache.dispose();
});
