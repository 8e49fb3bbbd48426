import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createStorage, createStorageWith, readF32 } from '../../gpu/buffers';
import { ShapeError } from '../../gpu/errors';
import { encodeDispatches } from '../../gpu/kernels/registry';
import { rmsNorm } from '../../gpu/kernels/rmsnorm';
import { rmsNormRef } from '../../gpu/reference/rmsnorm';
import { expectMatches } from '../util/expectMatches';
import { testGpu } from '../util/gpu';
import { randomF32 } from '../util/random';

const shapes = [
  { rows: 1, dim: 1 },
  { rows: 3, dim: 15 },
  { rows: 2, dim: 17 },
  { rows: 5, dim: 61 },
  { rows: 1, dim: 2047 },
  { rows: 7, dim: 64 },
];

for (const { rows, dim } of shapes) {
  test(`rmsnorm matches the float64 reference at rows=${rows} dim=${dim}`, async () => {
    const { gpu, kernels } = await testGpu();
    const x = randomF32(rows * dim, rows * 1000 + dim, 3);
    x[0] = 40; // an outlier, as real activations have
    const w = randomF32(dim, dim + 7);
    const b = {
      x: createStorageWith(gpu, 'x', x),
      weight: createStorageWith(gpu, 'w', w),
      out: createStorage(gpu, 'out', rows * dim * 4),
    };
    const d = await rmsNorm(kernels, b, { rows, dim, eps: 1e-5 });
    const enc = gpu.device.createCommandEncoder();
    encodeDispatches(enc, [d]);
    gpu.device.queue.submit([enc.finish()]);
    const got = await readF32(gpu, b.out, rows * dim);
    expectMatches(`rmsnorm ${rows}x${dim}`, got, rmsNormRef(x, w, rows, dim, 1e-5), { atol: 1e-5, rtol: 1e-5 });
  });
}

test('rmsnorm rejects an output buffer too small, naming the sizes', async () => {
  const { gpu, kernels } = await testGpu();
  const b = { x: createStorage(gpu, 'x', 64 * 4), weight: createStorage(gpu, 'w', 64 * 4), out: createStorage(gpu, 'o', 16) };
  await assert.rejects(rmsNorm(kernels, b, { rows: 1, dim: 64, eps: 1e-5 }), (e: Error) => {
    assert.ok(e instanceof ShapeError);
    assert.match(e.message, /out holds 16 B, needs rows\*dim\*4 = 256/);
    return true;
  });
});
