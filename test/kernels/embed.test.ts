import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createStorage, createStorageWith, readF32 } from '../../gpu/buffers';
import type { Gpu } from '../../gpu/device';
import { ShapeError } from '../../gpu/errors';
import { embed } from '../../gpu/kernels/embed';
import { encodeDispatches } from '../../gpu/kernels/registry';
import { GgmlType, ggmlTypeInfo } from '../../gpu/model/ggmlTypes';
import { dequantizeRows, quantizeRows } from '../../gpu/quant/codec';
import { regionRowBytes } from '../../gpu/quant/layout';
import { uploadWeight } from '../../gpu/quant/upload';
import { destroyWeight } from '../../gpu/quant/weight';
import { embedRef } from '../../gpu/reference/matmul';
import { expectMatches } from '../util/expectMatches';
import { testGpu } from '../util/gpu';
import { randomF32, rng } from '../util/random';

const allTypes = [GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_K, GgmlType.Q6_K];

/**
 * Looks up `ids` and compares with the reference: rows of in-range ids must match to f32 rounding of the dequant
 * arithmetic (rtol 1e-6; exact for float types), rows of out-of-range ids must be NaN.
 */
async function check(gpu: Gpu, type: GgmlType, vocab: number, dim: number, ids: Uint32Array, maxBindingBytes?: number) {
  const { kernels } = await testGpu();
  const name = `embed ${ggmlTypeInfo[type].name} vocab=${vocab} dim=${dim} tokens=${ids.length}${maxBindingBytes ? ' split' : ''}`;
  const bytes = quantizeRows(type, randomF32(vocab * dim, vocab + dim, 3), vocab, dim);
  const table = await uploadWeight(gpu, 'token_embd', type, vocab, dim, [bytes], { maxBindingBytes });
  const b = { table, ids: createStorageWith(gpu, 'ids', ids), out: createStorage(gpu, 'out', ids.length * dim * 4) };
  const enc = gpu.device.createCommandEncoder();
  encodeDispatches(enc, await embed(kernels, b, { tokens: ids.length }));
  gpu.device.queue.submit([enc.finish()]);
  const got = await readF32(gpu, b.out, ids.length * dim);
  const ref = embedRef(dequantizeRows(type, bytes, vocab, dim), ids, vocab, dim);
  const tol = { atol: 0, rtol: type === GgmlType.F32 || type === GgmlType.F16 || type === GgmlType.BF16 ? 0 : 1e-6 };
  ids.forEach((id, t) => {
    const row = got.subarray(t * dim, (t + 1) * dim);
    if (id < vocab) expectMatches(`${name} token ${t} (id ${id})`, row, ref.subarray(t * dim, (t + 1) * dim), tol);
    else assert.ok(row.every(Number.isNaN), `${name} token ${t}: id ${id} >= vocab ${vocab} must give a NaN row`);
  });
  destroyWeight(table);
  b.ids.destroy();
  b.out.destroy();
}

function randomIds(tokens: number, vocab: number, seed: number): Uint32Array {
  const r = rng(seed);
  const ids = Uint32Array.from({ length: tokens }, () => Math.floor(r() * vocab));
  ids[0] = vocab - 1; // the last row
  if (tokens > 2) ids[1] = ids[2]; // a repeated id
  return ids;
}

for (const type of allTypes) {
  const { name, blockSize } = ggmlTypeInfo[type];
  const dims = blockSize === 1 ? [7, 61, 64, 172] : blockSize === 32 ? [32, 96, 512] : [256, 768];
  test(`embed ${name} looks up rows exactly as the float64 decoder reads them, dim in {${dims}}`, async () => {
    const { gpu } = await testGpu();
    for (const dim of dims) {
      for (const [vocab, tokens] of [[1, 1], [61, 17], [113, 3]]) await check(gpu, type, vocab, dim, randomIds(tokens, vocab, dim + tokens));
    }
  });
}

test('embed over a table split into parts finds each id in its part; ids past the end give NaN rows', async () => {
  const { gpu } = await testGpu();
  for (const type of [GgmlType.Q6_K, GgmlType.Q4_0, GgmlType.F16]) {
    const dim = 256;
    const limit = 20 * Math.max(...regionRowBytes(type, dim)); // 20 rows a part: 6 parts of 113
    const ids = randomIds(29, 113, 8);
    ids[5] = 113; // one past the end
    ids[6] = 0xffffffff;
    await check(gpu, type, 113, dim, ids, limit);
  }
});

test('embed of more than 65535 tokens uses a 2-D grid', async () => {
  const { gpu } = await testGpu();
  await check(gpu, GgmlType.F32, 61, 8, randomIds(70001, 61, 4));
});

test('embed rejects buffers too small, naming the sizes', async () => {
  const { gpu, kernels } = await testGpu();
  const table = await uploadWeight(gpu, 'token_embd', GgmlType.Q8_0, 5, 64, [quantizeRows(GgmlType.Q8_0, randomF32(5 * 64, 1), 5, 64)]);
  const ids = createStorage(gpu, 'ids', 16);
  const out = createStorage(gpu, 'out', 3 * 64 * 4);
  const shape = (re: RegExp) => (e: Error) => {
    assert.ok(e instanceof ShapeError, `${e}`);
    assert.match(e.message, re);
    return true;
  };
  await assert.rejects(embed(kernels, { table, ids, out }, { tokens: 5 }), shape(/embed token_embd: ids holds 16 B, needs tokens\*4 = 5\*4 = 20/));
  await assert.rejects(embed(kernels, { table, ids, out }, { tokens: 4 }), shape(/out holds 768 B, needs tokens\*dim\*4 = 4\*64\*4 = 1024/));
  await assert.rejects(embed(kernels, { table, ids, out }, { tokens: 0 }), shape(/tokens \(0\) must be an integer >= 1/));
  destroyWeight(table);
});
