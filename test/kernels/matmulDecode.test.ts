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
import { swigluRef } from '../../gpu/reference/swiglu';
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

/** A weight of `segments` matrices' rows, uploaded as one (what model/weights.ts does for q/k/v and gate/up). */
async function fusedWeight(gpu: Gpu, type: GgmlType, segments: readonly number[], cols: number, seed: number, maxBindingBytes?: number) {
  const rows = segments.reduce((a, n) => a + n, 0);
  const values = randomF32(rows * cols, seed);
  values[rows * cols - 1] = -4; // an outlier weight in the last matrix
  const bytes = quantizeRows(type, values, rows, cols);
  const weight = await uploadWeight(gpu, 'fused', type, rows, cols, [bytes], { maxBindingBytes });
  return { weight, w: dequantizeRows(type, bytes, rows, cols), rows };
}

test('matmul decode of a fused weight writes each matrix to its own buffer, with bias and accumulate, for every type', async () => {
  const { gpu, kernels } = await testGpu();
  const cols = 512;
  for (const type of allTypes) {
    for (const segments of [[61, 17, 17], [7, 40], [113]]) {
      for (const variant of [undefined, shared]) {
        for (const accumulate of [false, true]) {
          const { weight, w, rows } = await fusedWeight(gpu, type, segments, cols, segments[0] + type);
          const x = randomF32(cols, 7, 2);
          const bias = randomF32(rows, 8);
          const y0 = randomF32(rows, 9);
          let at = 0;
          const ys = segments.map((n) => createStorageWith(gpu, 'y', y0.subarray(at, (at += n))));
          const b = { weight, x: createStorageWith(gpu, 'x', x), y: ys, bias: createStorageWith(gpu, 'bias', bias) };
          const enc = gpu.device.createCommandEncoder();
          encodeDispatches(enc, await matmul(kernels, b, { tokens: 1, accumulate, segments }, variant));
          gpu.device.queue.submit([enc.finish()]);
          const ref = matmulRef(w, x, rows, cols, 1, accumulate ? y0 : undefined).map((v, i) => v + bias[i]);
          const atol = tolerance[type] * (matmulAbsScale(w, x, rows, cols, 1) + 2);
          at = 0;
          for (const [i, n] of segments.entries()) {
            const name = `decode fused ${ggmlTypeInfo[type].name} [${segments}] y[${i}]${accumulate ? ' accumulate' : ''} ${variant ? 'shared rows' : 'adapter layout'}`;
            expectMatches(name, await readF32(gpu, ys[i], n), ref.subarray(at, (at += n)), { atol, rtol: 0 });
          }
          destroyWeight(weight);
          for (const y of [b.x, b.bias, ...ys]) y.destroy();
        }
      }
    }
  }
});

test('matmul decode of fused gate/up applies SwiGLU in the matvec, for every type and layout', async () => {
  const { gpu, kernels } = await testGpu();
  const cols = 256;
  for (const type of allTypes) {
    for (const ffn of [1, 61, 113]) {
      for (const variant of [undefined, shared, { workgroup: 64, threadsPerRow: 4, rowsPerGroup: 3 }, { workgroup: 32, threadsPerRow: 32, rowsPerGroup: 1 }]) {
        const { weight, w, rows } = await fusedWeight(gpu, type, [ffn, ffn], cols, ffn * 3 + type);
        const x = randomF32(cols, 11, 2);
        const b = { weight, x: createStorageWith(gpu, 'x', x), y: createStorageWith(gpu, 'act', new Float32Array(ffn)) };
        const enc = gpu.device.createCommandEncoder();
        encodeDispatches(enc, await matmul(kernels, b, { tokens: 1, segments: [ffn, ffn], swiglu: true }, variant));
        gpu.device.queue.submit([enc.finish()]);
        const h = matmulRef(w, x, rows, cols, 1);
        const gate = h.subarray(0, ffn);
        const up = h.subarray(ffn);
        const ref = swigluRef(gate, up);
        // The matvec's rounding, carried through silu(g) * u: |d(silu(g) u)| <= 1.1 |u| dg + |silu(g)| du.
        const e = tolerance[type] * matmulAbsScale(w, x, rows, cols, 1);
        const atol = Math.max(...Array.from(gate, (g, i) => 1.1 * Math.abs(up[i]) * e + Math.abs(ref[i] / (up[i] || 1)) * e)) + 1e-6;
        const name = `decode SwiGLU ${ggmlTypeInfo[type].name} ffn=${ffn} ${variant ? `TPR=${variant.threadsPerRow} NR=${variant.rowsPerGroup}` : 'adapter layout'}`;
        expectMatches(name, await readF32(gpu, b.y, ffn), ref, { atol, rtol: 1e-6 });
        destroyWeight(weight);
        b.x.destroy();
        b.y.destroy();
      }
    }
  }
});

test('matmul decode of a fused weight split into parts sends rows past a part boundary to the right buffer', async () => {
  const { gpu, kernels } = await testGpu();
  const segments = [40, 33, 40];
  const cols = 256;
  const { weight, w, rows } = await fusedWeight(gpu, GgmlType.Q8_0, segments, cols, 77, 30 * Math.max(...regionRowBytes(GgmlType.Q8_0, cols)));
  assert.ok(weight.parts.length >= 3, `${weight.parts.length} parts`);
  const x = randomF32(cols, 78, 2);
  const ys = segments.map((n) => createStorage(gpu, 'y', n * 4));
  const enc = gpu.device.createCommandEncoder();
  encodeDispatches(enc, await matmul(kernels, { weight, x: createStorageWith(gpu, 'x', x), y: ys }, { tokens: 1, segments }));
  gpu.device.queue.submit([enc.finish()]);
  const ref = matmulRef(w, x, rows, cols, 1);
  const atol = tolerance[GgmlType.Q8_0] * matmulAbsScale(w, x, rows, cols, 1);
  let at = 0;
  for (const [i, n] of segments.entries()) expectMatches(`decode fused parts y[${i}]`, await readF32(gpu, ys[i], n), ref.subarray(at, (at += n)), { atol, rtol: 0 });
  destroyWeight(weight);
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
  const y8 = createStorage(gpu, 'y8', 8 * 4);
  const y9 = createStorage(gpu, 'y9', 9 * 4);
  await expectShape(matmul(kernels, { weight, x, y: [y8, y9] }, { tokens: 1, segments: [8, 8] }), /segments \(8, 8\) must be 1 to 3 positive row counts summing to the weight's rows \(17\)/);
  await expectShape(matmul(kernels, { weight, x, y: [y8] }, { tokens: 1, segments: [8, 9] }), /1 output buffers for 2 segments/);
  await expectShape(matmul(kernels, { weight, x, y: [y9, y8] }, { tokens: 1, segments: [8, 9] }), /y\[1\] holds 32 B, needs tokens\*segment rows\*4 = 1\*9\*4 = 36/);
  await expectShape(matmul(kernels, { weight, x, y: [y9, y9] }, { tokens: 1, segments: [8, 9] }), /y\[1\] must be a buffer of its own/);
  await expectShape(matmul(kernels, { weight, x, y, bias: createStorage(gpu, 'b', 16) }, { tokens: 1 }), /bias holds 16 B, needs rows\*4 = 68/);
  await expectShape(matmul(kernels, { weight, x: createStorage(gpu, 'x3', 3 * 96 * 4), y: createStorage(gpu, 'y3', 3 * 17 * 4), bias: y }, { tokens: 3 }), /a bias is fused only in decode \(tokens 1, got 3\); add it with biasAdd/);
  await expectShape(matmul(kernels, { weight, x, y: y9 }, { tokens: 1, segments: [8, 9], swiglu: true }), /swiglu needs segments \[ffn, ffn\], got \[8, 9\]/);
  destroyWeight(weight);
});
