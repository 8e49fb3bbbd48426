// traceSelection packs each layer's selection into its rows of the trace buffer and leaves every other word alone.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createStorage, readBuffer, writeBuffer } from '../../gpu/buffers';
import { traceSelection, traceSelectionBytes, traceSelectionParams } from '../../gpu/kernels/traceSelection';
import { traceSelectionRef } from '../../gpu/reference/trace';
import { rng } from '../util/random';
import { testGpu } from '../util/gpu';
import { submit } from './kvHarness';

const cases = [
  { layers: 1, kvHeads: 1, maxPages: 1, pageBudget: 1, counts: [1] },
  { layers: 3, kvHeads: 2, maxPages: 27, pageBudget: 5, counts: [5, 1] },
  { layers: 2, kvHeads: 7, maxPages: 130, pageBudget: 97, counts: [97, 3, 96, 1, 97, 64, 65] }, // rows longer than a workgroup
  { layers: 4, kvHeads: 3, maxPages: 61, pageBudget: 8, counts: [61, 8, 0] }, // a count past the budget is cut to it
] as const;

for (const c of cases) {
  test(`traceSelection layers=${c.layers} kvHeads=${c.kvHeads} maxPages=${c.maxPages} pageBudget=${c.pageBudget}: rows of the last layer, the rest untouched`, async () => {
    const { gpu, kernels } = await testGpu();
    const shape = { layers: c.layers, kvHeads: c.kvHeads, maxPages: c.maxPages };
    const next = rng(c.maxPages * 7 + c.kvHeads);
    const ids = Uint32Array.from({ length: c.kvHeads * c.maxPages }, () => Math.floor(next() * 1e6));
    const layer = c.layers - 1;
    const words = traceSelectionBytes(shape) / 4;
    const fill = Uint32Array.from({ length: words }, (_, i) => 0xa0000000 + i);
    const b = {
      pageIds: createStorage(gpu, 'pageIds', ids.byteLength),
      pageCount: createStorage(gpu, 'pageCount', c.kvHeads * 4),
      trace: createStorage(gpu, 'trace', words * 4),
      params: kernels.uniform('params', traceSelectionParams(layer, c.pageBudget).buffer),
    };
    writeBuffer(gpu, b.pageIds, 0, ids);
    writeBuffer(gpu, b.pageCount, 0, Uint32Array.from(c.counts));
    writeBuffer(gpu, b.trace, 0, fill);
    submit(gpu, [await traceSelection(kernels, b, shape)]);
    const got = new Uint32Array(await readBuffer(gpu, b.trace, words * 4));
    const at = layer * c.kvHeads * (1 + c.pageBudget);
    const rows = traceSelectionRef(ids, c.counts, { ...shape, pageBudget: c.pageBudget }, fill.slice(at, at + c.kvHeads * (1 + c.pageBudget)));
    const expected = Uint32Array.from(fill);
    expected.set(rows, at);
    assert.deepEqual([...got], [...expected]);
    for (const buffer of [b.pageIds, b.pageCount, b.trace, b.params]) buffer.destroy();
  });
}

test('traceSelection rejects a trace buffer too small for every page', async () => {
  const { gpu, kernels } = await testGpu();
  const small = createStorage(gpu, 'trace', 16);
  const b = { pageIds: createStorage(gpu, 'ids', 64), pageCount: createStorage(gpu, 'n', 16), trace: small, params: kernels.uniform('p', new ArrayBuffer(8)) };
  await assert.rejects(traceSelection(kernels, b, { layers: 2, kvHeads: 2, maxPages: 4 }), /traceSelection: trace holds 16 B, needs layers\*kvHeads\*\(1\+maxPages\)\*4 = 80/);
});
