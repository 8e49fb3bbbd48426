import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createStorage, readF32 } from '../../gpu/buffers';
import { attentionDecode, decodeSplits, sparseSplitChoices, sparseSplits } from '../../gpu/kernels/attentionDecode';
import { kvAppend } from '../../gpu/kernels/kvAppend';
import { kvLayout } from '../../gpu/kv/layout';
import { decodeAttentionRef } from '../../gpu/reference/attention';
import { storedRef } from '../../gpu/reference/kv';
import { expectMatches } from '../util/expectMatches';
import { testGpu } from '../util/gpu';
import { type CacheCase, activations, makeCache, storageFor, submit, upload } from './kvHarness';

const tolerance = { f32: { atol: 2e-5, rtol: 1e-4 }, f16: { atol: 1e-3, rtol: 2e-3 } } as const;

interface DecodeCase extends CacheCase {
  readonly heads: number;
  /** Tokens prefilled before the decode steps (appended only: prefill attention is tested elsewhere). */
  readonly prefill: number;
  readonly steps: number;
  readonly splits?: number;
  /** A GPU's workgroup size instead of lavapipe's 64. */
  readonly wg?: number;
}

const cases: DecodeCase[] = [
  { heads: 1, kvHeads: 1, headDim: 8, pageSize: 4, kvType: 'f32', maxTokens: 8, prefill: 0, steps: 1 }, // length 1
  { heads: 2, kvHeads: 1, headDim: 8, pageSize: 4, kvType: 'f32', maxTokens: 20, prefill: 14, steps: 3, scatter: true }, // 15..17
  { heads: 7, kvHeads: 1, headDim: 64, pageSize: 16, kvType: 'f32', maxTokens: 32, prefill: 26, steps: 2, splits: 3, scatter: true }, // 27, 28
  { heads: 8, kvHeads: 4, headDim: 8, pageSize: 16, kvType: 'f16', maxTokens: 64, prefill: 60, steps: 2, scatter: true }, // 61, 62
  { heads: 6, kvHeads: 2, headDim: 128, pageSize: 32, kvType: 'f32', maxTokens: 128, prefill: 112, steps: 1, splits: 1 }, // 113
  { heads: 6, kvHeads: 2, headDim: 128, pageSize: 32, kvType: 'f16', maxTokens: 128, prefill: 112, steps: 2, splits: 8, scatter: true },
  { heads: 8, kvHeads: 4, headDim: 64, pageSize: 4, kvType: 'f32', maxTokens: 128, prefill: 112, steps: 1, splits: 40, scatter: true }, // more splits than pages
  { heads: 18, kvHeads: 2, headDim: 8, pageSize: 16, kvType: 'f32', maxTokens: 256, prefill: 200, steps: 1, splits: 2, scatter: true }, // 9 heads per KV head: 2 workgroups
  // The H100's 128 threads (tiles of 128 keys), on lavapipe.
  { heads: 8, kvHeads: 4, headDim: 64, pageSize: 16, kvType: 'f16', maxTokens: 320, prefill: 260, steps: 2, splits: 1, wg: 128, scatter: true },
  { heads: 14, kvHeads: 2, headDim: 128, pageSize: 32, kvType: 'f32', maxTokens: 320, prefill: 299, steps: 1, splits: 2, wg: 128 },
];

for (const c of cases) {
  const name = `attentionDecode ${c.kvType} heads=${c.heads}/${c.kvHeads} headDim=${c.headDim} pageSize=${c.pageSize} length=${c.prefill + 1}..${c.prefill + c.steps} splits=${c.splits ?? 'default'}${c.wg ? ` wg=${c.wg}` : ''}${c.scatter ? ' scattered' : ''}`;
  test(`${name} matches float64 attention over the whole cache`, async () => {
    const { gpu, kernels } = await testGpu();
    const cache = makeCache(gpu, c);
    const kvRow = c.kvHeads * c.headDim;
    const qRow = c.heads * c.headDim;
    const total = c.prefill + c.steps;
    const keys = activations(total * kvRow, 41, 2);
    const values = activations(total * kvRow, 42);
    const b = { k: storageFor(gpu, 'k', Math.max(1, c.prefill) * kvRow), v: storageFor(gpu, 'v', Math.max(1, c.prefill) * kvRow) };
    const prefill = await kvAppend(kernels, cache, 0, b, Math.max(1, c.prefill));
    const step = await kvAppend(kernels, cache, 0, b, 1);
    const q = storageFor(gpu, 'q', qRow);
    const out = storageFor(gpu, 'out', qRow);
    const decode = await attentionDecode(kernels, cache, 0, { q, out }, { heads: c.heads, splits: c.splits, wg: c.wg });
    if (c.prefill > 0) {
      cache.beginRun(c.prefill);
      upload(gpu, b.k, keys.subarray(0, c.prefill * kvRow));
      upload(gpu, b.v, values.subarray(0, c.prefill * kvRow));
      submit(gpu, prefill.dispatches(c.prefill));
    }
    for (let length = c.prefill + 1; length <= total; length++) {
      const query = activations(qRow, 1000 + length, 2);
      cache.beginRun(1);
      upload(gpu, b.k, keys.subarray((length - 1) * kvRow, length * kvRow));
      upload(gpu, b.v, values.subarray((length - 1) * kvRow, length * kvRow));
      upload(gpu, q, query);
      submit(gpu, [...step.dispatches(1), ...decode.dispatches(1)]);
      const ref = decodeAttentionRef(query, storedRef(keys, c.kvType), storedRef(values, c.kvType), { ...c, length });
      expectMatches(`${name} at length ${length}`, await readF32(gpu, out, qRow), ref, tolerance[c.kvType]);
    }
    cache.dispose();
  });
}

// The Quest path of the same kernel: per KV head, a list of logical pages (the last one included) instead of 0..n-1.
const sparse = [
  { heads: 6, kvHeads: 2, headDim: 8, pageSize: 4, kvType: 'f32', length: 27, splits: 2, pages: [[0, 2, 6], [5, 1, 3, 6]] },
  { heads: 8, kvHeads: 4, headDim: 64, pageSize: 16, kvType: 'f16', length: 61, splits: 4, pages: [[3], [0, 3], [1, 3], [2, 0, 1, 3]] },
  { heads: 7, kvHeads: 1, headDim: 128, pageSize: 32, kvType: 'f32', length: 113, splits: 3, pages: [[3, 1]] },
  { heads: 10, kvHeads: 1, headDim: 64, pageSize: 4, kvType: 'f16', length: 113, splits: 1, pages: [[28, 0, 27, 13, 5, 6, 7, 8, 9, 10, 11, 12, 14, 20, 1, 2, 3, 4, 15, 16, 17, 18, 19]] },
  // The engine's rule for a GPU's 64 dense splits and a budget of 5 pages: 1 range, 5 pages read of 23.
  { heads: 12, kvHeads: 3, headDim: 16, pageSize: 4, kvType: 'f32', length: 91, splits: sparseSplits(sparseSplitChoices(64), 5, 4), pages: [[22], [0, 9, 22], [21, 3, 17, 1, 22]] },
] as const;

for (const c of sparse) {
  const name = `attentionDecode over selected pages ${c.kvType} heads=${c.heads}/${c.kvHeads} headDim=${c.headDim} pageSize=${c.pageSize} length=${c.length}`;
  test(`${name} matches float64 attention over those pages only`, async () => {
    const { gpu, kernels } = await testGpu();
    const cache = makeCache(gpu, { ...c, maxTokens: 128, scatter: true });
    const l = cache.layout;
    const kvRow = c.kvHeads * c.headDim;
    const keys = activations(c.length * kvRow, 51, 2);
    const values = activations(c.length * kvRow, 52);
    const query = activations(c.heads * c.headDim, 53, 2);
    const b = { k: storageFor(gpu, 'k', c.length * kvRow), v: storageFor(gpu, 'v', c.length * kvRow) };
    const ids = new Uint32Array(c.kvHeads * l.maxPages).fill(0xdeadbeef); // unused entries must never be read
    c.pages.forEach((list, h) => ids.set(list, h * l.maxPages));
    const selection = { pageIds: createStorage(gpu, 'pageIds', ids.byteLength), pageCount: createStorage(gpu, 'pageCount', c.kvHeads * 4) };
    upload(gpu, selection.pageIds, ids);
    upload(gpu, selection.pageCount, new Uint32Array(c.pages.map((p) => p.length)));
    const q = storageFor(gpu, 'q', c.heads * c.headDim);
    const out = storageFor(gpu, 'out', c.heads * c.headDim);
    const append = await kvAppend(kernels, cache, 0, b, c.length);
    const decode = await attentionDecode(kernels, cache, 0, { q, out, selection }, { heads: c.heads, splits: c.splits });
    cache.beginRun(c.length);
    upload(gpu, b.k, keys);
    upload(gpu, b.v, values);
    upload(gpu, q, query);
    submit(gpu, [...append.dispatches(c.length)]);
    submit(gpu, decode.dispatches(1)); // the step uniform still holds the run: the query is at length-1
    const ref = decodeAttentionRef(query, storedRef(keys, c.kvType), storedRef(values, c.kvType), { ...c, pages: c.pages.map((p) => [...p]) });
    expectMatches(name, await readF32(gpu, out, c.heads * c.headDim), ref, tolerance[c.kvType]);
    cache.dispose();
  });
}

test('decodeSplits: 4 on lavapipe, 512 workgroups on a GPU, never more than the pages', async () => {
  const { gpu } = await testGpu();
  const layout = (maxTokens: number) => kvLayout({ layers: 1, kvHeads: 2, headDim: 8, pageSize: 16, kvType: 'f32', maxTokens });
  assert.equal(decodeSplits(gpu, layout(256)), gpu.summary.isSoftware ? 4 : 16);
  assert.equal(decodeSplits(gpu, layout(16384)), gpu.summary.isSoftware ? 4 : 256);
  assert.equal(decodeSplits(gpu, layout(32)), 2);
});

test('sparse splits: powers of 4 up to the dense count, the fewest that keep each range within 128 keys of the budget', () => {
  assert.deepEqual(sparseSplitChoices(64), [1, 4, 16, 64]);
  assert.deepEqual(sparseSplitChoices(256), [1, 4, 16, 64, 256]);
  assert.deepEqual(sparseSplitChoices(4), [1, 4]);
  assert.deepEqual(sparseSplitChoices(3), [1, 3]);
  assert.deepEqual(sparseSplitChoices(1), [1]);
  const llama = sparseSplitChoices(64);
  // Budgets of 512, 1024, 2048, 4096 tokens at pageSize 16; 8 pages of 16 or 4 of 32 fill one range.
  assert.deepEqual([32, 64, 128, 256].map((b) => sparseSplits(llama, b, 16)), [4, 16, 16, 64]);
  assert.equal(sparseSplits(llama, 1, 16), 1);
  assert.equal(sparseSplits(llama, 4, 32), 1);
  assert.equal(sparseSplits(llama, 5, 32), 4);
  assert.equal(sparseSplits(llama, 8197, 16), 64); // never more than dense
  assert.equal(sparseSplits([1, 4], 5, 4), 1);
});

test('attentionDecode rejects a run of more than one token, bad heads and a small pageIds buffer', async () => {
  const { gpu, kernels } = await testGpu();
  const cache = makeCache(gpu, { kvHeads: 2, headDim: 8, pageSize: 4, kvType: 'f32', maxTokens: 16 });
  const b = { q: storageFor(gpu, 'q', 4 * 8), out: storageFor(gpu, 'o', 4 * 8) };
  const op = await attentionDecode(kernels, cache, 0, b, { heads: 4 });
  assert.throws(() => op.dispatches(2), /attends from 1 token, got a run of 2/);
  await assert.rejects(attentionDecode(kernels, cache, 0, b, { heads: 5 }), /heads \(5\) must be a positive multiple of kvHeads \(2\)/);
  await assert.rejects(attentionDecode(kernels, cache, 0, b, { heads: 4, splits: 0 }), /splits \(0\) must be an integer >= 1/);
  const selection = { pageIds: createStorage(gpu, 'ids', 16), pageCount: createStorage(gpu, 'n', 16) };
  await assert.rejects(attentionDecode(kernels, cache, 0, { ...b, selection }, { heads: 4 }), /pageIds holds 16 B, needs kvHeads\*maxPages\*4 = 32/);
  cache.dispose();
});
