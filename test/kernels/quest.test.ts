// Quest's selection kernels against the float64 reference: pageScore (both aggregations, GQA groups, a scattered
// page table) and selectPages (top-k with the last page, ties, budgets below and above the page count).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createStorage, createStorageWith, readBuffer, readF32 } from '../../gpu/buffers';
import { type Aggregation, pageScore, pageScoreParams } from '../../gpu/kernels/pageScore';
import { encodeDispatches } from '../../gpu/kernels/registry';
import { selectPages, selectPagesParams, selectPagesThreads, selectPagesWorkgroups } from '../../gpu/kernels/selectPages';
import type { Gpu } from '../../gpu/device';
import { pageScoreRef, selectPagesRef } from '../../gpu/reference/quest';
import type { KvType } from '../../gpu/kv/layout';
import { numberToF16 } from '../../gpu/quant/half';
import { pageMetaRef } from '../../gpu/reference/kv';
import { expectMatches } from '../util/expectMatches';
import { testGpu } from '../util/gpu';
import { randomF32, rng } from '../util/random';

/** pageMeta (pages, kvHeads, 2, headDim) of random keys, so that max >= min as in a real cache. */
function randomPageMeta(pages: number, kvHeads: number, headDim: number, pageSize: number, seed: number, kvType: KvType): Float32Array {
  const keys = randomF32(pages * pageSize * kvHeads * headDim, seed, 2);
  return Float32Array.from(pageMetaRef(keys, pages * pageSize, kvHeads, headDim, pageSize, kvType));
}

interface Case {
  heads: number;
  kvHeads: number;
  headDim: number;
  nScored: number;
  pageBudget: number;
  /** pageScore workgroups per KV head (default: the op's choice). */
  workgroups?: number;
  /** selectPages' keys held in workgroup memory (default: what fits). */
  cachedKeys?: number;
  /** selectPages' threads (default: the op's choice). */
  selectWorkgroup?: number;
  /** pageMeta's element type (default f32). */
  kvType?: KvType;
}

// GQA groups 1/2/3/4/6/7, head dims 8..128, page counts that are no multiple of a pass (1 page to 700), budgets
// below, at and above the page count, and both paths of the selection's key cache.
const cases: Case[] = [
  { heads: 1, kvHeads: 1, headDim: 8, nScored: 1, pageBudget: 4 },
  { heads: 2, kvHeads: 1, headDim: 64, nScored: 0, pageBudget: 3 },
  { heads: 4, kvHeads: 1, headDim: 64, nScored: 17, pageBudget: 5 },
  { heads: 8, kvHeads: 4, headDim: 8, nScored: 61, pageBudget: 16 },
  { heads: 7, kvHeads: 1, headDim: 64, nScored: 113, pageBudget: 9 },
  { heads: 6, kvHeads: 2, headDim: 128, nScored: 27, pageBudget: 64 },
  { heads: 2, kvHeads: 2, headDim: 16, nScored: 700, pageBudget: 33 },
  { heads: 3, kvHeads: 3, headDim: 8, nScored: 40, pageBudget: 1 },
  { heads: 12, kvHeads: 4, headDim: 64, nScored: 301, pageBudget: 28, workgroups: 1 },
  { heads: 32, kvHeads: 8, headDim: 64, nScored: 129, pageBudget: 129, kvType: 'f16' },
  { heads: 14, kvHeads: 2, headDim: 128, nScored: 523, pageBudget: 65, workgroups: 7, cachedKeys: 100 },
  { heads: 12, kvHeads: 2, headDim: 128, nScored: 255, pageBudget: 256, cachedKeys: 1 },
  { heads: 4, kvHeads: 2, headDim: 20, nScored: 90, pageBudget: 12 },
  { heads: 12, kvHeads: 2, headDim: 128, nScored: 77, pageBudget: 20, kvType: 'f16' },
  { heads: 8, kvHeads: 2, headDim: 64, nScored: 1500, pageBudget: 129, selectWorkgroup: 512 },
  { heads: 8, kvHeads: 2, headDim: 64, nScored: 600, pageBudget: 33, selectWorkgroup: 32, cachedKeys: 250 },
];

for (const c of cases) {
  for (const aggregation of ['sum', 'max'] as const) {
    const name = `heads ${c.heads}/${c.kvHeads} headDim ${c.headDim} pages ${c.nScored} budget ${c.pageBudget} ${aggregation}` +
      (c.workgroups ? ` ${c.workgroups} workgroups` : '') + (c.cachedKeys ? ` ${c.cachedKeys} cached keys` : '') + (c.kvType ? ` ${c.kvType}` : '') +
      (c.selectWorkgroup ? ` selectPages ${c.selectWorkgroup} threads` : '');
    test(`pageScore and selectPages match the reference: ${name}`, () => checkCase(c, aggregation));
  }
}

async function checkCase(c: Case, aggregation: Aggregation): Promise<void> {
  const { gpu, kernels } = await testGpu();
  const maxPages = c.nScored + 3; // room for the last page and some spare, as in a real pool
  const seed = c.nScored * 31 + c.headDim;
  const kvType = c.kvType ?? 'f32';
  const meta = randomPageMeta(maxPages, c.kvHeads, c.headDim, 4, seed, kvType);
  const q = randomF32(c.heads * c.headDim, seed + 1);
  // A scattered page table: logical page p lives in physical page perm[p].
  const next = rng(seed + 2);
  const perm = Array.from({ length: maxPages }, (_, i) => i).sort(() => next() - 0.5);
  const physicalMeta = new Float32Array(meta.length);
  const stride = c.kvHeads * 2 * c.headDim;
  for (let p = 0; p < maxPages; p++) physicalMeta.set(meta.subarray(p * stride, (p + 1) * stride), perm[p] * stride);

  const shape = { heads: c.heads, kvHeads: c.kvHeads, headDim: c.headDim, maxPages, kvType, aggregation, workgroups: c.workgroups };
  const scoreBuffers = {
    q: createStorageWith(gpu, 'q', q),
    // f16 meta holds the same values (randomPageMeta rounded them to f16).
    pageMeta: createStorageWith(gpu, 'pageMeta', kvType === 'f16' ? Uint16Array.from(physicalMeta, numberToF16) : physicalMeta),
    pageTable: createStorageWith(gpu, 'pageTable', new Uint32Array(perm)),
    // Filled with a marker: pages past nScored must be left alone.
    pageScore: createStorageWith(gpu, 'pageScore', new Float32Array(c.kvHeads * maxPages).fill(-7)),
  };
  const params = kernels.uniform('pageScore.params', pageScoreParams(shape, c.nScored).buffer as ArrayBuffer);
  const selShape = { kvHeads: c.kvHeads, maxPages, pageBudget: c.pageBudget, cachedKeys: c.cachedKeys, workgroup: c.selectWorkgroup };
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
  const ref = pageScoreRef(q, meta, c.heads, c.kvHeads, c.headDim, c.nScored, aggregation);
  const selected = new Uint32Array(await readBuffer(gpu, selBuffers.pageIds, c.kvHeads * maxPages * 4));
  const counts = new Uint32Array(await readBuffer(gpu, selBuffers.pageCount, c.kvHeads * 4));
  for (let kv = 0; kv < c.kvHeads; kv++) {
    const gpuRow = scores.subarray(kv * maxPages, kv * maxPages + c.nScored);
    expectMatches(`pageScore kv ${kv}`, gpuRow, ref[kv], { atol: 1e-4, rtol: 1e-5 });
    assert.deepEqual([...scores.subarray(kv * maxPages + c.nScored, (kv + 1) * maxPages)], [-7, -7, -7], `pageScore kv ${kv}: pages past nScored untouched`);
    // Selection is checked exactly on the GPU's own scores, so rounding cannot reorder near-ties.
    const want = selectPagesRef(gpuRow, c.nScored, c.pageBudget);
    assert.equal(counts[kv], want.length, `pageCount kv ${kv}`);
    assert.deepEqual([...selected.subarray(kv * maxPages, kv * maxPages + want.length)], want, `pageIds kv ${kv}`);
  }
  for (const b of [...Object.values(scoreBuffers), selBuffers.pageIds, selBuffers.pageCount]) b.destroy();
}

/** Runs selectPages on given scores (one row per KV head) and returns each head's page list. */
async function selectOn(rows: Float32Array[], nScored: number, pageBudget: number, cachedKeys?: number, workgroup?: number): Promise<number[][]> {
  const { gpu, kernels } = await testGpu();
  const maxPages = nScored + 1;
  const scores = new Float32Array(rows.length * maxPages);
  rows.forEach((r, kv) => scores.set(r.subarray(0, nScored), kv * maxPages));
  const shape = { kvHeads: rows.length, maxPages, pageBudget, cachedKeys, workgroup };
  const b = {
    pageScore: createStorageWith(gpu, 'pageScore', scores),
    pageIds: createStorage(gpu, 'pageIds', rows.length * maxPages * 4),
    pageCount: createStorage(gpu, 'pageCount', rows.length * 4),
    params: kernels.uniform('p', selectPagesParams(shape, nScored).buffer as ArrayBuffer),
  };
  const enc = gpu.device.createCommandEncoder();
  encodeDispatches(enc, [await selectPages(kernels, b, shape)]);
  gpu.device.queue.submit([enc.finish()]);
  const ids = new Uint32Array(await readBuffer(gpu, b.pageIds, rows.length * maxPages * 4));
  const counts = new Uint32Array(await readBuffer(gpu, b.pageCount, rows.length * 4));
  for (const x of Object.values(b)) x.destroy();
  return rows.map((_, kv) => [...ids.subarray(kv * maxPages, kv * maxPages + counts[kv])]);
}

test('selectPages equals the reference on crowded, tied, signed and outlying scores, cached or not', async () => {
  const n = 997;
  const next = rng(5);
  const rows: [string, Float32Array][] = [
    ['all equal', new Float32Array(n).fill(0.25)],
    ['two values', Float32Array.from({ length: n }, (_, i) => (i % 5 === 0 ? 2 : 1))],
    ['signed', Float32Array.from({ length: n }, () => (next() - 0.5) * 1e3)],
    ['one outlier', Float32Array.from({ length: n }, (_, i) => (i === 600 ? 1e30 : 1 + next() * 1e-3))],
    ['integers with ties', Float32Array.from({ length: n }, () => Math.floor(next() * 40) - 20)],
    ['infinities and zeros', Float32Array.from({ length: n }, (_, i) => [0, -0, Infinity, -Infinity, 3, -3][i % 6])],
  ];
  for (const budget of [2, 7, 64, 500, n, n + 1, n + 40]) {
    for (const [cachedKeys, workgroup] of [[undefined, undefined], [300, undefined], [undefined, 512], [undefined, 1024]] as const) {
      const got = await selectOn(rows.map(([, r]) => r), n, budget, cachedKeys, workgroup);
      const what = `budget ${budget}, cached ${cachedKeys ?? 'all'}, ${workgroup ?? 'default'} threads`;
      rows.forEach(([name, r], kv) => assert.deepEqual(got[kv], selectPagesRef(r, n, budget), `${name}, ${what}`));
    }
  }
});

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

test('selectPages threads by pages in context: 256 below 1024, 512 below 6144, then 1024; recorded sizes within the adapter', () => {
  assert.deepEqual([1, 1023, 1024, 6143, 6144, 8197].map(selectPagesThreads), [256, 256, 512, 512, 1024, 1024]);
  const gpuWith = (isSoftware: boolean, maxComputeInvocationsPerWorkgroup: number) =>
    ({ summary: { isSoftware, limits: { maxComputeInvocationsPerWorkgroup } } }) as unknown as Gpu;
  assert.deepEqual(selectPagesWorkgroups(gpuWith(false, 1024), 8197), [256, 512, 1024]);
  assert.deepEqual(selectPagesWorkgroups(gpuWith(false, 1024), 4096), [256, 512]);
  assert.deepEqual(selectPagesWorkgroups(gpuWith(false, 1024), 1), [256]);
  assert.deepEqual(selectPagesWorkgroups(gpuWith(false, 256), 8197), [256]);
  assert.deepEqual(selectPagesWorkgroups(gpuWith(true, 1024), 8197), [64]);
});
