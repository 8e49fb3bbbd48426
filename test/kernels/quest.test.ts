// Quest's selection kernels against the float64 reference: pageScore (both aggregations, GQA groups, a scattered
// page table) and selectPages (top-k with the last page, ties, budgets below and above the page count).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createStorage, createStorageWith, readBuffer, readF32 } from '../../gpu/buffers';
import { type Aggregation, pageScore, pageScoreParams } from '../../gpu/kernels/pageScore';
import { encodeDispatches } from '../../gpu/kernels/registry';
import { selectPages, selectPagesParams } from '../../gpu/kernels/selectPages';
import { pageScoreRef, selectPagesRef } from '../../gpu/reference/quest';
import { pageMetaRef } from '../../gpu/reference/kv';
import { expectMatches } from '../util/expectMatches';
import { testGpu } from '../util/gpu';
import { randomF32, rng } from '../util/random';

/** pageMeta (pages, kvHeads, 2, headDim) of random keys, so that max >= min as in a real cache. */
function randomPageMeta(pages: number, kvHeads: number, headDim: number, pageSize: number, seed: number): Float32Array {
  const keys = randomF32(pages * pageSize * kvHeads * headDim, seed, 2);
  return Float32Array.from(pageMetaRef(keys, pages * pageSize, kvHeads, headDim, pageSize, 'f32'));
}

interface Case {
  heads: number;
  kvHeads: number;
  headDim: number;
  nScored: number;
  pageBudget: number;
  aggregation: Aggregation;
}

const cases: Case[] = [
  { heads: 1, kvHeads: 1, headDim: 8, nScored: 1, pageBudget: 4, aggregation: 'max' },
  { heads: 4, kvHeads: 1, headDim: 64, nScored: 17, pageBudget: 5, aggregation: 'max' },
  { heads: 8, kvHeads: 4, headDim: 8, nScored: 61, pageBudget: 16, aggregation: 'sum' },
  { heads: 7, kvHeads: 1, headDim: 64, nScored: 113, pageBudget: 9, aggregation: 'max' },
  { heads: 6, kvHeads: 2, headDim: 128, nScored: 27, pageBudget: 64, aggregation: 'sum' },
  { heads: 2, kvHeads: 2, headDim: 16, nScored: 700, pageBudget: 33, aggregation: 'max' },
  { heads: 3, kvHeads: 3, headDim: 8, nScored: 40, pageBudget: 1, aggregation: 'sum' },
];

for (const c of cases) {
  const name = `heads ${c.heads}/${c.kvHeads} headDim ${c.headDim} pages ${c.nScored} budget ${c.pageBudget} ${c.aggregation}`;
  test(`pageScore and selectPages match the reference: ${name}`, async () => {
    const { gpu, kernels } = await testGpu();
    const maxPages = c.nScored + 3; // room for the last page and some spare, as in a real pool
    const seed = c.nScored * 31 + c.headDim;
    const meta = randomPageMeta(maxPages, c.kvHeads, c.headDim, 4, seed);
    const q = randomF32(c.heads * c.headDim, seed + 1);
    // A scattered page table: logical page p lives in physical page perm[p].
    const next = rng(seed + 2);
    const perm = Array.from({ length: maxPages }, (_, i) => i).sort(() => next() - 0.5);
    const physicalMeta = new Float32Array(meta.length);
    const stride = c.kvHeads * 2 * c.headDim;
    for (let p = 0; p < maxPages; p++) physicalMeta.set(meta.subarray(p * stride, (p + 1) * stride), perm[p] * stride);

    const shape = { heads: c.heads, kvHeads: c.kvHeads, headDim: c.headDim, maxPages, kvType: 'f32' as const, aggregation: c.aggregation };
    const scoreBuffers = {
      q: createStorageWith(gpu, 'q', q),
      pageMeta: createStorageWith(gpu, 'pageMeta', physicalMeta),
      pageTable: createStorageWith(gpu, 'pageTable', new Uint32Array(perm)),
      pageScore: createStorage(gpu, 'pageScore', c.kvHeads * maxPages * 4),
      params: createStorage(gpu, 'unused', 16),
    };
    const params = kernels.uniform('pageScore.params', pageScoreParams(shape, c.nScored).buffer as ArrayBuffer);
    const selShape = { kvHeads: c.kvHeads, maxPages, pageBudget: c.pageBudget };
    const selBuffers = {
      pageScore: scoreBuffers.pageScore,
      pageIds: createStorage(gpu, 'pageIds', c.kvHeads * maxPages * 4),
      pageCount: createStorage(gpu, 'pageCount', c.kvHeads * 4),
      params: kernels.uniform('selectPages.params', selectPagesParams(selShape, c.nScored).buffer as ArrayBuffer),
    };
    const dispatches = [
      await pageScore(kernels, { ...scoreBuffers, params }, shape),
      await selectPages(kernels, selBuffers, selShape),
    ];
    const enc = gpu.device.createCommandEncoder();
    encodeDispatches(enc, dispatches);
    gpu.device.queue.submit([enc.finish()]);

    const scores = await readF32(gpu, scoreBuffers.pageScore, c.kvHeads * maxPages);
    const ref = pageScoreRef(q, meta, c.heads, c.kvHeads, c.headDim, c.nScored, c.aggregation);
    const selected = new Uint32Array(await readBuffer(gpu, selBuffers.pageIds, c.kvHeads * maxPages * 4));
    const counts = new Uint32Array(await readBuffer(gpu, selBuffers.pageCount, c.kvHeads * 4));
    for (let kv = 0; kv < c.kvHeads; kv++) {
      const gpuRow = scores.subarray(kv * maxPages, kv * maxPages + c.nScored);
      expectMatches(`pageScore kv ${kv}`, gpuRow, ref[kv], { atol: 1e-4, rtol: 1e-5 });
      // Selection is checked exactly on the GPU's own scores, so rounding cannot reorder near-ties.
      const want = selectPagesRef(gpuRow, c.nScored, c.pageBudget);
      assert.equal(counts[kv], want.length, `pageCount kv ${kv}`);
      assert.deepEqual([...selected.subarray(kv * maxPages, kv * maxPages + want.length)], want, `pageIds kv ${kv}`);
    }
  });
}

test('selectPages breaks ties at the threshold by the lowest page index', async () => {
  const { gpu, kernels } = await testGpu();
  const nScored = 300;
  const maxPages = 301;
  // Scores: 5 pages at 9, every page ≡ 1 (mod 3) tied at 1 (250 among them becomes a 9), the rest -1.
  // Budget 12 => 11 scored pages: the five 9s and the six lowest-index 1s, then the last page (300).
  const scores = new Float32Array(maxPages).fill(-1);
  const nines = [250, 3, 77, 140, 299];
  for (let i = 0; i < 200; i++) scores[(i * 3 + 1) % nScored] = 1;
  for (const i of nines) scores[i] = 9;
  const shape = { kvHeads: 1, maxPages, pageBudget: 12 };
  const b = {
    pageScore: createStorageWith(gpu, 'pageScore', scores),
    pageIds: createStorage(gpu, 'pageIds', maxPages * 4),
    pageCount: createStorage(gpu, 'pageCount', 4),
    params: kernels.uniform('p', selectPagesParams(shape, nScored).buffer as ArrayBuffer),
  };
  const enc = gpu.device.createCommandEncoder();
  encodeDispatches(enc, [await selectPages(kernels, b, shape)]);
  gpu.device.queue.submit([enc.finish()]);
  const got = [...new Uint32Array(await readBuffer(gpu, b.pageIds, 12 * 4))];
  assert.deepEqual(got, selectPagesRef(scores, nScored, 12));
  assert.deepEqual(got, [1, 3, 4, 7, 10, 13, 16, 77, 140, 250, 299, 300]);
});
