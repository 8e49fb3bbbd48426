// The attention mass attentionDecode adds per page (split with MASS, reduce, attentionMass.wgsl) against the float64
// reference, accumulated over several decode steps into a running total that starts non-zero, counting only keys in
// the mass range (one case cuts a page in two, as the engine's range cuts the page the context shares with the
// question); the step's attention output must not change with MASS.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createStorage, readF32 } from '../../gpu/buffers';
import { attentionDecode } from '../../gpu/kernels/attentionDecode';
import { attentionMassBytes, attentionMassRange } from '../../gpu/kernels/attentionMass';
import { kvAppend } from '../../gpu/kernels/kvAppend';
import type { KvType } from '../../gpu/kv/layout';
import { decodeAttentionMassRef, decodeAttentionRef } from '../../gpu/reference/attention';
import { storedRef } from '../../gpu/reference/kv';
import { expectMatches } from '../util/expectMatches';
import { testGpu } from '../util/gpu';
import { activations, makeCache, storageFor, submit, upload } from './kvHarness';

const outTolerance = { f32: { atol: 2e-5, rtol: 1e-4 }, f16: { atol: 1e-3, rtol: 2e-3 } } as const;
// Masses are sums of probabilities in [0, heads]: the f32 log-sum-exp path keeps them to ~1e-6 relative.
const massTolerance = { atol: 2e-6, rtol: 2e-5 };

interface MassCase {
  readonly heads: number;
  readonly kvHeads: number;
  readonly headDim: number;
  readonly pageSize: number;
  readonly kvType: KvType;
  readonly maxTokens: number;
  /** Tokens appended before the decode steps; each step appends one more and attends from it. */
  readonly prefill: number;
  readonly steps: number;
  readonly splits?: number;
  readonly wg?: number;
  /** Positions [from, to) that add mass; default [1, 2^32 - 1): position 0 is the sink. */
  readonly range?: readonly [number, number];
  /** Quest: per KV head, the logical pages attended at every step (the last page is added by the test). */
  readonly pages?: readonly (readonly number[])[];
}

const cases: MassCase[] = [
  { heads: 1, kvHeads: 1, headDim: 8, pageSize: 4, kvType: 'f32', maxTokens: 16, prefill: 0, steps: 3 }, // lengths 1..3: position 0 only at first
  { heads: 2, kvHeads: 1, headDim: 8, pageSize: 4, kvType: 'f32', maxTokens: 40, prefill: 24, steps: 3, splits: 3 }, // 25..27
  { heads: 7, kvHeads: 1, headDim: 64, pageSize: 16, kvType: 'f32', maxTokens: 64, prefill: 60, steps: 2, range: [0, 0xffffffff] },
  // The range ends inside page 4 (64..79), and the query's own key (positions 84..86) is past it.
  { heads: 6, kvHeads: 2, headDim: 64, pageSize: 16, kvType: 'f16', maxTokens: 128, prefill: 83, steps: 3, splits: 3, range: [1, 77] },
  { heads: 8, kvHeads: 4, headDim: 64, pageSize: 16, kvType: 'f16', maxTokens: 128, prefill: 112, steps: 2, splits: 40 }, // more splits than pages
  { heads: 18, kvHeads: 2, headDim: 8, pageSize: 1, kvType: 'f32', maxTokens: 80, prefill: 60, steps: 2, splits: 2 }, // 9 heads per KV head, pages of 1 token
  { heads: 4, kvHeads: 2, headDim: 32, pageSize: 128, kvType: 'f32', maxTokens: 512, prefill: 298, steps: 2, splits: 2 }, // a page spans two tiles of 64 keys
  { heads: 6, kvHeads: 2, headDim: 128, pageSize: 32, kvType: 'f16', maxTokens: 320, prefill: 299, steps: 1, wg: 128, splits: 3 },
  // Quest: unsorted lists, one with a page id past the context (it reads nothing and receives nothing).
  { heads: 6, kvHeads: 2, headDim: 8, pageSize: 4, kvType: 'f32', maxTokens: 64, prefill: 26, steps: 2, splits: 2, pages: [[0, 2, 5], [5, 1, 3, 40]] },
  { heads: 8, kvHeads: 4, headDim: 64, pageSize: 16, kvType: 'f16', maxTokens: 128, prefill: 60, steps: 2, splits: 4, pages: [[0], [0, 2], [1, 2], [2, 0, 1]] },
  { heads: 6, kvHeads: 2, headDim: 8, pageSize: 4, kvType: 'f32', maxTokens: 64, prefill: 26, steps: 2, splits: 2, pages: [[0, 2, 5], [5, 1, 3]], range: [3, 22] },
  { heads: 10, kvHeads: 1, headDim: 64, pageSize: 4, kvType: 'f16', maxTokens: 128, prefill: 112, steps: 1, splits: 1, pages: [[0, 27, 13, 5, 6, 7, 20, 1, 2, 3, 4]] },
];

for (const c of cases) {
  const name =
    `attention mass ${c.kvType} heads=${c.heads}/${c.kvHeads} headDim=${c.headDim} pageSize=${c.pageSize} ` +
    `length=${c.prefill + 1}..${c.prefill + c.steps} splits=${c.splits ?? 'default'}${c.wg ? ` wg=${c.wg}` : ''}` +
    `${c.range ? ` mass range ${c.range[0]}..${c.range[1]}` : ''}${c.pages ? ' over selected pages' : ''}`;
  test(`${name} accumulates the float64 per-page softmax mass`, async () => {
    const { gpu, kernels } = await testGpu();
    const cache = makeCache(gpu, { ...c, scatter: true });
    const l = cache.layout;
    const kvRow = c.kvHeads * c.headDim;
    const qRow = c.heads * c.headDim;
    const total = c.prefill + c.steps;
    const keys = activations(total * kvRow, 61, 2);
    const values = activations(total * kvRow, 62);
    const b = { k: storageFor(gpu, 'k', Math.max(1, c.prefill) * kvRow), v: storageFor(gpu, 'v', Math.max(1, c.prefill) * kvRow) };
    const prefill = await kvAppend(kernels, cache, 0, b, Math.max(1, c.prefill));
    const append = await kvAppend(kernels, cache, 0, b, 1);
    const q = storageFor(gpu, 'q', qRow);
    const out = storageFor(gpu, 'out', qRow);
    const bytes = attentionMassBytes(cache, c.heads);
    const [from, to] = c.range ?? [1, 0xffffffff];
    const mass = {
      pageLse: createStorage(gpu, 'pageLse', bytes.pageLse),
      received: createStorage(gpu, 'received', bytes.received),
      range: kernels.uniform('range', attentionMassRange(from, to).buffer as ArrayBuffer),
    };
    // The running total starts from arbitrary values: the kernel adds to it.
    const start = activations(l.kvHeads * l.maxPages, 63);
    upload(gpu, mass.received, start);
    const expected = Float64Array.from(start);
    let selection;
    if (c.pages) {
      selection = { pageIds: createStorage(gpu, 'pageIds', l.kvHeads * l.maxPages * 4), pageCount: createStorage(gpu, 'pageCount', l.kvHeads * 4) };
    }
    const decode = await attentionDecode(kernels, cache, 0, { q, out, mass, ...(selection ? { selection } : {}) }, {
      heads: c.heads,
      ...(c.splits ? { splits: c.splits } : {}),
      ...(c.wg ? { wg: c.wg } : {}),
    });
    assert.ok(decode.massDispatches, 'built with mass buffers, the op offers massDispatches');
    if (c.prefill > 0) {
      cache.beginRun(c.prefill);
      upload(gpu, b.k, keys.subarray(0, c.prefill * kvRow));
      upload(gpu, b.v, values.subarray(0, c.prefill * kvRow));
      submit(gpu, prefill.dispatches(c.prefill));
    }
    for (let length = c.prefill + 1; length <= total; length++) {
      const last = Math.floor((length - 1) / c.pageSize);
      const pages = c.pages?.map((list) => [...list, last]);
      if (selection && pages) {
        const ids = new Uint32Array(l.kvHeads * l.maxPages).fill(0xdeadbeef); // unused entries must never be read
        pages.forEach((list, h) => ids.set(list, h * l.maxPages));
        upload(gpu, selection.pageIds, ids);
        upload(gpu, selection.pageCount, new Uint32Array(pages.map((p) => p.length)));
      }
      const query = activations(qRow, 2000 + length, 2);
      cache.beginRun(1);
      upload(gpu, b.k, keys.subarray((length - 1) * kvRow, length * kvRow));
      upload(gpu, b.v, values.subarray((length - 1) * kvRow, length * kvRow));
      upload(gpu, q, query);
      submit(gpu, [...append.dispatches(1), ...decode.massDispatches]);
      const storedKeys = storedRef(keys, c.kvType);
      const shape = { ...c, length, ...(pages ? { pages } : {}) };
      const outRef = decodeAttentionRef(query, storedKeys, storedRef(values, c.kvType), shape);
      expectMatches(`${name}: attention output at length ${length}`, await readF32(gpu, out, qRow), outRef, outTolerance[c.kvType]);
      const step = decodeAttentionMassRef(query, storedKeys, { ...shape, massFrom: from, massTo: to });
      const inContext = Math.ceil(length / c.pageSize);
      for (let h = 0; h < l.kvHeads; h++) {
        for (let p = 0; p < inContext; p++) expected[h * l.maxPages + p] += step[h * inContext + p];
      }
    }
    expectMatches(`${name}: running total per (kvHead, page)`, await readF32(gpu, mass.received, l.kvHeads * l.maxPages), expected, massTolerance);
    cache.dispose();
  });
}

test('attentionDecode without mass buffers offers no massDispatches; mass needs wg and pageSize to divide one another', async () => {
  const { gpu, kernels } = await testGpu();
  const cache = makeCache(gpu, { kvHeads: 1, headDim: 8, pageSize: 64, kvType: 'f32', maxTokens: 1024 });
  const b = { q: storageFor(gpu, 'q', 8), out: storageFor(gpu, 'o', 8) };
  assert.equal((await attentionDecode(kernels, cache, 0, b, { heads: 1 })).massDispatches, undefined);
  const bytes = attentionMassBytes(cache, 1);
  const range = kernels.uniform('range', attentionMassRange(1, 0xffffffff).buffer as ArrayBuffer);
  const mass = { pageLse: createStorage(gpu, 'pageLse', bytes.pageLse), received: createStorage(gpu, 'received', bytes.received), range };
  await assert.rejects(attentionDecode(kernels, cache, 0, { ...b, mass }, { heads: 1, wg: 96 }), /attention mass needs wg \(96\) and pageSize \(64\) to divide one another/);
  const small = { pageLse: createStorage(gpu, 'small', 16), received: mass.received, range };
  await assert.rejects(attentionDecode(kernels, cache, 0, { ...b, mass: small }, { heads: 1 }), /attentionMass: pageLse holds 16 B, needs heads\*maxPages\*4 = 64/);
  cache.dispose();
});
