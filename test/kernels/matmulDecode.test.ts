import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createStorage, createStorageWith, readF32 } from '../../gpu/buffers';
import type { Gpu } from '../../gpu/device';
import { ShapeError } from '../../gpu/errors';
import { type MatvecVariant, matmul } from '../../gpu/kernels/matmul';
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

/**
 * Allowed error per type, as a fraction of max_n sum_k |W[n, k] x[k]| (the scale of any f32 dot product's rounding
 * error; observed worst ~2e-7): floats only round the sum; K-quant kernels also round folded scale arithmetic.
 */
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
const Ns = [1, 17, 61, 113];
const Ks = [32, 96, 256, 512, 2048];
const floatOnlyKs = [1, 7, 61, 172]; // K that is no multiple of 4 or 8: rows padded to 16 bytes (172 = stories260K's FFN)
/** A GPU-style layout forced on any adapter: 32 threads share 2 rows and reduce. */
const shared: MatvecVariant = { workgroup: 256, threadsPerRow: 32, rowsPerGroup: 2 };

async function run(gpu: Gpu, type: GgmlType, rows: number, cols: number, seed: number, variant?: MatvecVariant, accumulate = false) {
  const { kernels } = await testGpu();
  const values = randomF32(rows * cols, seed);
  values[0] = 3; // an outlier weight
  const bytes = quantizeRows(type, values, rows, cols);
  const weight = await uploadWeight(gpu, `w${ggmlTypeInfo[type].name}`, type, rows, cols, [bytes]);
  const x = randomF32(cols, seed + 1, 2);
  const y0 = randomF32(rows, seed + 2);
  const b = { weight, x: createStorageWith(gpu, 'x', x), y: createStorageWith(gpu, 'y', y0) };
  const ds = await matmul(kernels, b, { tokens: 1, accumulate }, variant);
  const enc = gpu.device.createCommandEncoder();
  encodeDispatches(enc, ds);
  gpu.device.queue.submit([enc.finish()]);
  const got = await readF32(gpu, b.y, rows);
  const w = dequantizeRows(type, bytes, rows, cols);
  const ref = matmulRef(w, x, rows, cols, 1, accumulate ? y0 : undefined);
  const atol = tolerance[type] * (matmulAbsScale(w, x, rows, cols, 1) + (accumulate ? 1 : 0));
  destroyWeight(weight);
  b.x.destroy();
  b.y.destroy();
  return { got, ref, atol };
}

for (const type of allTypes) {
  const { name, blockSize } = ggmlTypeInfo[type];
  const ks = [...(blockSize === 1 ? floatOnlyKs : []), ...Ks.filter((k) => k % blockSize === 0)];
  test(`matmul decode ${name} matches the float64 reference for N in {${Ns}} and K in {${ks}}`, async () => {
    const { gpu } = await testGpu();
    for (const rows of Ns) {
      for (const cols of ks) {
        for (const variant of [undefined, shared]) {
          const { got, ref, atol } = await run(gpu, type, rows, cols, rows * 7919 + cols, variant);
          expectMatches(`decode ${name} N=${rows} K=${cols} ${variant ? 'shared rows' : 'adapter layout'}`, got, ref, { atol, rtol: 0 });
        }
      }
    }
  });
}

test('matmul decode: other thread layouts reduce correctly, rows not a multiple of rows per group (Q4_K, K=2048)', async () => {
  const { gpu } = await testGpu();
  for (const variant of [
    { workgroup: 64, threadsPerRow: 2, rowsPerGroup: 3 },
    { workgroup: 128, threadsPerRow: 64, rowsPerGroup: 4 },
    { workgroup: 256, threadsPerRow: 256, rowsPerGroup: 1 },
  ]) {
    const { got, ref, atol } = await run(gpu, GgmlType.Q4_K, 61, 2048, 5, variant);
    expectMatches(`decode Q4_K TPR=${variant.threadsPerRow} NR=${variant.rowsPerGroup}`, got, ref, { atol, rtol: 0 });
  }
});

test('matmul decode with accumulate adds W·x to what y holds, for every type', async () => {
  const { gpu } = await testGpu();
  for (const type of allTypes) {
    for (const variant of [undefined, shared]) {
      const { got, ref, atol } = await run(gpu, type, 17, 512, 99, variant, true);
      expectMatches(`decode ${ggmlTypeInfo[type].name} accumulate`, got, ref, { atol, rtol: 0 });
    }
  }
});

test('matmul decode with more than 65535 rows (LM-head sized) uses a 2-D grid: Q8_0 and F16, K=32', async () => {
  const { gpu } = await testGpu();
  for (const type of [GgmlType.Q8_0, GgmlType.F16]) {
    // One row per workgroup (threadsPerRow = workgroup) needs 70001 workgroups: over 65535 in one dimension.
    for (const variant of [undefined, { workgroup: 32, threadsPerRow: 32, rowsPerGroup: 1 }]) {
      const { got, ref, atol } = await run(gpu, type, 70001, 32, 3, variant);
      expectMatches(`decode ${ggmlTypeInfo[type].name} N=70001`, got, ref, { atol, rtol: 0 });
    }
  }
});

test('matmul decode over a weight split into parts (a forced small binding limit) writes every part\'s rows', async () => {
  const { gpu, kernels } = await testGpu();
  for (const type of [GgmlType.Q6_K, GgmlType.Q4_0, GgmlType.F32]) {
    const rows = 113;
    const cols = 256;
    const values = randomF32(rows * cols, 31);
    const bytes = quantizeRows(type, values, rows, cols);
    const weight = await uploadWeight(gpu, 'split', type, rows, cols, [bytes], { maxBindingBytes: 40 * Math.max(...regionRowBytes(type, cols)) });
    assert.ok(weight.parts.length >= 3, `${weight.parts.length} parts`);
    const x = randomF32(cols, 32);
    const y0 = randomF32(rows, 33);
    const w = dequantizeRows(type, bytes, rows, cols);
    for (const variant of [undefined, shared]) {
      for (const accumulate of [false, true]) {
        const b = { weight, x: createStorageWith(gpu, 'x', x), y: createStorageWith(gpu, 'y', y0) };
        const enc = gpu.device.createCommandEncoder();
        encodeDispatches(enc, await matmul(kernels, b, { tokens: 1, accumulate }, variant));
        gpu.device.queue.submit([enc.finish()]);
        const atol = tolerance[type] * (matmulAbsScale(w, x, rows, cols, 1) + 1);
        const name = `decode split ${ggmlTypeInfo[type].name}${accumulate ? ' accumulate' : ''}`;
        expectMatches(name, await readF32(gpu, b.y, rows), matmulRef(w, x, rows, cols, 1, accumulate ? y0 : undefined), { atol, rtol: 0 });
      }
    }
    destroyWeight(weight);
  }
});

test('matmul rejects buffers too small and bad shapes, naming the sizes', async () => {
  const { gpu, kernels } = await testGpu();
  const weight = await uploadWeight(gpu, 'blk.0.ffn_down', GgmlType.Q8_0, 17, 96, [quantizeRows(GgmlType.Q8_0, randomF32(17 * 96, 1), 17, 96)]);
  const expectShape = async (p: Promise<unknown>, re: RegExp) =>
    assert.rejects(p, (e: Error) => {
      assert.ok(e instanceof ShapeError, `${e}`);
      assert.match(e.message, re);
      return true;
    });
  const x = createStorage(gpu, 'x', 96 * 4);
  const y = createStorage(gpu, 'y', 17 * 4);
  await expectShape(matmul(kernels, { weight, x: createStorage(gpu, 'x', 64), y }, { tokens: 1 }), /matmul blk.0.ffn_down: x holds 64 B, needs cols\*4 rounded up to 16 = 384 \(cols 96\)/);
  await expectShape(matmul(kernels, { weight, x, y: createStorage(gpu, 'y', 16) }, { tokens: 1 }), /y holds 16 B, needs tokens\*rows\*4 = 1\*17\*4 = 68/);
  await expectShape(matmul(kernels, { weight, x, y }, { tokens: 3 }), /x holds 384 B, needs tokens\*cols\*4 = 3\*96\*4 = 1152/);
  await expectShape(matmul(kernels, { weight, x, y }, { tokens: 0 }), /tokens \(0\) must be an integer >= 1/);
  await expectShape(matmul(kernels, { weight, x, y: x }, { tokens: 1 }), /x and y must be different buffers/);
  await expectShape(matmul(kernels, { weight, x, y }, { tokens: 1 }, { workgroup: 64, threadsPerRow: 3, rowsPerGroup: 1 }), /threadsPerRow \(3\) must be a power of two dividing workgroup \(64\)/);
  await expectShape(matmul(kernels, { weight, x, y }, { tokens: 1 }, { workgroup: 64, threadsPerRow: 4, rowsPerGroup: 5 }), /rowsPerGroup \(5\) must be 1..4/);
  destroyWeight(weight);
});
