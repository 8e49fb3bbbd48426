import { test } from 'node:test';
import { createStorageWith, readF32 } from '../../gpu/buffers';
import type { Gpu } from '../../gpu/device';
import { matmul } from '../../gpu/kernels/matmul';
import { encodeDispatches } from '../../gpu/kernels/registry';
import { GgmlType, ggmlTypeInfo } from '../../gpu/model/ggmlTypes';
import { dequantizeRows, quantizeRows } from '../../gpu/quant/codec';
import { regionRowBytes } from '../../gpu/quant/layout';
import { uploadWeight } from '../../gpu/quant/upload';
import { destroyWeight } from '../../gpu/quant/weight';
import { matmulAbsScale, matmulRef } from '../../gpu/reference/matmul';
import { expectMatches } from '../util/expectMatches';
import { testGpu } from '../util/gpu';
import { randomF32 } from '../util/random';

/** Allowed error as a fraction of max sum_k |W[n, k] X[m, k]| (observed worst ~2e-7: f32 sums over K = 2048). */
const tolerance: Record<GgmlType, number> = {
  [GgmlType.F32]: 1e-6,
  [GgmlType.F16]: 1e-6,
  [GgmlType.BF16]: 1e-6,
  [GgmlType.Q8_0]: 1e-6,
  [GgmlType.Q4_0]: 1e-6,
  [GgmlType.Q4_K]: 1.5e-6,
  [GgmlType.Q6_K]: 1.5e-6,
};

const allTypes = [GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_K, GgmlType.Q6_K];

async function check(gpu: Gpu, type: GgmlType, tokens: number, rows: number, cols: number, opts: { accumulate?: boolean; maxBindingBytes?: number } = {}) {
  const { kernels } = await testGpu();
  const name = `prefill ${ggmlTypeInfo[type].name} M=${tokens} N=${rows} K=${cols}${opts.accumulate ? ' accumulate' : ''}${opts.maxBindingBytes ? ' split' : ''}`;
  const seed = tokens * 1000 + rows * 10 + cols;
  const values = randomF32(rows * cols, seed);
  values[rows * cols - 1] = -4; // an outlier weight in the last row
  const bytes = quantizeRows(type, values, rows, cols);
  const weight = await uploadWeight(gpu, 'w', type, rows, cols, [bytes], { maxBindingBytes: opts.maxBindingBytes });
  const x = randomF32(tokens * cols, seed + 1, 2);
  x[cols + 3] = 50; // an outlier activation in token 1
  const y0 = randomF32(tokens * rows, seed + 2);
  const b = { weight, x: createStorageWith(gpu, 'x', x), y: createStorageWith(gpu, 'y', y0) };
  const enc = gpu.device.createCommandEncoder();
  encodeDispatches(enc, await matmul(kernels, b, { tokens, accumulate: opts.accumulate }));
  gpu.device.queue.submit([enc.finish()]);
  const got = await readF32(gpu, b.y, tokens * rows);
  const w = dequantizeRows(type, bytes, rows, cols);
  const ref = matmulRef(w, x, rows, cols, tokens, opts.accumulate ? y0 : undefined);
  const atol = tolerance[type] * (matmulAbsScale(w, x, rows, cols, tokens) + (opts.accumulate ? 1 : 0));
  expectMatches(name, got, ref, { atol, rtol: 0 });
  destroyWeight(weight);
  b.x.destroy();
  b.y.destroy();
}

// Tiles are 64 tokens × 64 rows × 32 K: the shapes cross every tile edge (17, 61, 113 rows; 3, 17, 65 tokens).
const shapes: [tokens: number, rows: number][] = [[3, 17], [17, 61], [3, 113], [17, 1], [65, 17]];

for (const type of allTypes) {
  const { name, blockSize } = ggmlTypeInfo[type];
  const ks = (blockSize === 1 ? [7, 61, 172, 32, 512] : blockSize === 32 ? [32, 96, 512] : [256, 512]).concat([2048]);
  test(`matmul prefill ${name} matches the float64 reference, K in {${ks}}`, async () => {
    const { gpu } = await testGpu();
    for (const cols of ks) {
      for (const [tokens, rows] of cols === 2048 ? [[17, 113] as [number, number]] : shapes) await check(gpu, type, tokens, rows, cols);
    }
  });
}

test('matmul prefill with accumulate adds X·Wᵀ to what Y holds, for every type', async () => {
  const { gpu } = await testGpu();
  for (const type of allTypes) await check(gpu, type, 17, 61, 256, { accumulate: true });
});

test('matmul prefill over a weight split into parts writes each part\'s columns of Y', async () => {
  const { gpu } = await testGpu();
  for (const type of [GgmlType.Q6_K, GgmlType.Q8_0, GgmlType.BF16]) {
    const limit = 30 * Math.max(...regionRowBytes(type, 256)); // 30 rows a part: 4 parts of 113 rows
    await check(gpu, type, 17, 113, 256, { maxBindingBytes: limit });
    await check(gpu, type, 3, 113, 256, { maxBindingBytes: limit, accumulate: true });
  }
});

test('matmul prefill of a fused weight writes each matrix to its own (tokens, rows) buffer, in one part or several', async () => {
  const { gpu, kernels } = await testGpu();
  const segments = [61, 17, 35];
  const rows = 113;
  const cols = 256;
  const tokens = 17;
  for (const type of allTypes) {
    for (const maxBindingBytes of [undefined, 30 * Math.max(...regionRowBytes(type, cols))]) {
      const values = randomF32(rows * cols, type + 40);
      const bytes = quantizeRows(type, values, rows, cols);
      const weight = await uploadWeight(gpu, 'fused', type, rows, cols, [bytes], { maxBindingBytes });
      const x = randomF32(tokens * cols, 41, 2);
      const ys = segments.map((n) => createStorageWith(gpu, 'y', new Float32Array(tokens * n)));
      const enc = gpu.device.createCommandEncoder();
      encodeDispatches(enc, await matmul(kernels, { weight, x: createStorageWith(gpu, 'x', x), y: ys }, { tokens, segments }));
      gpu.device.queue.submit([enc.finish()]);
      const w = dequantizeRows(type, bytes, rows, cols);
      const ref = matmulRef(w, x, rows, cols, tokens);
      const atol = tolerance[type] * matmulAbsScale(w, x, rows, cols, tokens);
      let at = 0;
      for (const [i, n] of segments.entries()) {
        const want = new Float64Array(tokens * n);
        for (let m = 0; m < tokens; m++) want.set(ref.subarray(m * rows + at, m * rows + at + n), m * n);
        const name = `prefill fused ${ggmlTypeInfo[type].name} y[${i}]${maxBindingBytes ? ' in parts' : ''}`;
        expectMatches(name, await readF32(gpu, ys[i], tokens * n), want, { atol, rtol: 0 });
        at += n;
      }
      destroyWeight(weight);
      for (const y of ys) y.destroy();
    }
  }
});
