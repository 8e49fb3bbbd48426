import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createStorage, createStorageWith, readF32 } from '../../gpu/buffers';
import type { Gpu } from '../../gpu/device';
import { ShapeError } from '../../gpu/errors';
import { type MatvecVariant, gpuMatvecVariant, matmul } from '../../gpu/kernels/matmul';
import { encodeDispatches } from '../../gpu/kernels/registry';
import { GgmlType, ggmlTypeInfo } from '../../gpu/model/ggmlTypes';
import { dequantizeRows, quantizeRows } from '../../gpu/quant/codec';
import { regionRowBytes } from '../../gpu/quant/layout';
import { uploadWeight } from '../../gpu/quant/upload';
import { destroyWeight } from '../../gpu/quant/weight';
import { matmulAbsScale, matmulRef, rmsNormMatvecRef } from '../../gpu/reference/matmul';
import { rmsNormRef } from '../../gpu/reference/rmsnorm';
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
const layoutName = (v: MatvecVariant) => `${v.workgroup}/${v.threadsPerRow}/${v.rowsPerGroup}`;

/** A ShapeError whose message matches `re`. */
const expectShape = async (p: Promise<unknown>, re: RegExp) =>
  assert.rejects(p, (e: Error) => {
    assert.ok(e instanceof ShapeError, `${e}`);
    assert.match(e.message, re);
    return true;
  });

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
        // The adapter's layout, a shared one and the one a hardware GPU gets for this shape.
        for (const variant of [undefined, shared, gpuMatvecVariant(type, rows, cols)]) {
          const { got, ref, atol } = await run(gpu, type, rows, cols, rows * 7919 + cols, variant);
          expectMatches(`decode ${name} N=${rows} K=${cols} ${variant ? layoutName(variant) : 'adapter layout'}`, got, ref, { atol, rtol: 0 });
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
    for (const variant of [undefined, { workgroup: 32, threadsPerRow: 32, rowsPerGroup: 1 }, gpuMatvecVariant(type, 70001, 32)]) {
      const { got, ref, atol } = await run(gpu, type, 70001, 32, 3, variant);
      expectMatches(`decode ${ggmlTypeInfo[type].name} N=70001 ${variant ? layoutName(variant) : 'adapter layout'}`, got, ref, { atol, rtol: 0 });
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

/**
 * x of `cols` values in a buffer of whole vec4s whose tail past cols holds 1e20 (a fused RMSNorm must ignore it:
 * its square overflows f32), with an outlier, and a norm weight around 1 in a buffer of exactly cols floats.
 */
function normInputs(gpu: Gpu, cols: number, seed: number) {
  const x = randomF32(cols, seed, 4);
  x[cols - 1] = 40;
  const padded = new Float32Array(Math.ceil(cols / 4) * 4).fill(1e20);
  padded.set(x);
  const norm = randomF32(cols, seed + 1, 0.5).map((v) => 1 + v);
  return { x, norm, xBuffer: createStorageWith(gpu, 'x', padded), normBuffer: createStorageWith(gpu, 'norm', norm) };
}

/**
 * The fused norm adds the f32 rounding of its scale (sum of x² per thread, then a tree: a few 1e-7 relative) to
 * every product: on top of the type's tolerance, 1e-6 of max_n sum_k |W[n, k] rmsnorm(x)[k]|.
 */
const normTolerance = 1e-6;
const eps = 1e-5;
/** Layouts with other workgroup sizes: the norm's reduction runs over the whole workgroup. */
const normLayouts: readonly (MatvecVariant | undefined)[] = [undefined, shared, { workgroup: 32, threadsPerRow: 4, rowsPerGroup: 3 }];

test('matmul decode with a fused RMSNorm matches rmsnorm then matvec in float64: every type, 1-3 rows, cols not a multiple of the workgroup', async () => {
  const { gpu, kernels } = await testGpu();
  for (const type of allTypes) {
    const { name, blockSize } = ggmlTypeInfo[type];
    // 1022 = 255.5 words, 992 = 248 words: no multiple of 32, 64, 128 or 256 threads; 7 and 61 end mid-word; K-quant
    // rows are 64 words a super-block (768: 192 words). Up to 1024 (256 words): one pipeline per type and layout.
    const ks = blockSize === 1 ? [7, 61, 1022] : blockSize === 32 ? [96, 992] : [256, 768];
    for (const cols of ks) {
      for (const rows of [1, 2, 3]) {
        for (const variant of normLayouts) {
          const seed = rows * 131 + cols + type;
          const values = randomF32(rows * cols, seed);
          const bytes = quantizeRows(type, values, rows, cols);
          const weight = await uploadWeight(gpu, `w${name}`, type, rows, cols, [bytes]);
          const { x, norm, xBuffer, normBuffer } = normInputs(gpu, cols, seed + 1);
          const accumulate = rows === 2; // y += W·rmsnorm(x) too
          const y0 = randomF32(rows, seed + 3);
          const y = createStorageWith(gpu, 'y', y0);
          const enc = gpu.device.createCommandEncoder();
          encodeDispatches(enc, await matmul(kernels, { weight, x: xBuffer, y, norm: normBuffer }, { tokens: 1, accumulate, normEps: eps }, variant));
          gpu.device.queue.submit([enc.finish()]);
          const w = dequantizeRows(type, bytes, rows, cols);
          const ref = rmsNormMatvecRef(w, x, norm, rows, cols, eps).map((v, i) => v + (accumulate ? y0[i] : 0));
          const atol = (tolerance[type] + normTolerance) * (matmulAbsScale(w, rmsNormRef(x, norm, 1, cols, eps), rows, cols, 1) + (accumulate ? 1 : 0));
          const layout = variant ? `WG=${variant.workgroup} TPR=${variant.threadsPerRow} NR=${variant.rowsPerGroup}` : 'adapter layout';
          expectMatches(`decode norm ${name} N=${rows} K=${cols}${accumulate ? ' accumulate' : ''} ${layout}`, await readF32(gpu, y, rows), ref, { atol, rtol: 0 });
          destroyWeight(weight);
          for (const b of [xBuffer, normBuffer, y]) b.destroy();
        }
      }
    }
  }
});

test('matmul decode with a fused RMSNorm: fused q/k/v with bias, SwiGLU gate/up and a weight split into parts, for every type', async () => {
  const { gpu, kernels } = await testGpu();
  const cols = 256;
  for (const type of allTypes) {
    const { name } = ggmlTypeInfo[type];
    for (const variant of [undefined, shared]) {
      const layout = variant ? 'shared rows' : 'adapter layout';
      // q/k/v of 3, 1, 1 rows with a bias, in parts of 2 rows at most (a forced small binding limit).
      const segments = [3, 1, 1];
      const qkv = await fusedWeight(gpu, type, segments, cols, 41 + type, 2 * Math.max(...regionRowBytes(type, cols)));
      assert.ok(qkv.weight.parts.length >= 3, `${qkv.weight.parts.length} parts`);
      const { x, norm, xBuffer, normBuffer } = normInputs(gpu, cols, 42);
      const bias = randomF32(qkv.rows, 43);
      const ys = segments.map((n) => createStorage(gpu, 'y', n * 4));
      const biasBuffer = createStorageWith(gpu, 'bias', bias);
      let enc = gpu.device.createCommandEncoder();
      encodeDispatches(enc, await matmul(kernels, { weight: qkv.weight, x: xBuffer, y: ys, bias: biasBuffer, norm: normBuffer }, { tokens: 1, segments, normEps: eps }, variant));
      gpu.device.queue.submit([enc.finish()]);
      const xn = rmsNormRef(x, norm, 1, cols, eps);
      const ref = rmsNormMatvecRef(qkv.w, x, norm, qkv.rows, cols, eps).map((v, i) => v + bias[i]);
      const atol = (tolerance[type] + normTolerance) * (matmulAbsScale(qkv.w, xn, qkv.rows, cols, 1) + 1);
      let at = 0;
      for (const [i, n] of segments.entries()) expectMatches(`decode norm fused ${name} y[${i}] ${layout}`, await readF32(gpu, ys[i], n), ref.subarray(at, (at += n)), { atol, rtol: 0 });
      destroyWeight(qkv.weight);
      for (const b of [biasBuffer, ...ys]) b.destroy();

      // gate/up of 3 rows each, SwiGLU fused.
      const ffn = 3;
      const gateUp = await fusedWeight(gpu, type, [ffn, ffn], cols, 44 + type);
      const act = createStorage(gpu, 'act', ffn * 4);
      enc = gpu.device.createCommandEncoder();
      encodeDispatches(enc, await matmul(kernels, { weight: gateUp.weight, x: xBuffer, y: act, norm: normBuffer }, { tokens: 1, segments: [ffn, ffn], swiglu: true, normEps: eps }, variant));
      gpu.device.queue.submit([enc.finish()]);
      const h = rmsNormMatvecRef(gateUp.w, x, norm, gateUp.rows, cols, eps);
      const gate = h.subarray(0, ffn);
      const up = h.subarray(ffn);
      const swi = swigluRef(gate, up);
      // As the SwiGLU test above: the matvec's rounding carried through silu(g) * u.
      const e = (tolerance[type] + normTolerance) * matmulAbsScale(gateUp.w, xn, gateUp.rows, cols, 1);
      const swiAtol = Math.max(...Array.from(gate, (g, i) => 1.1 * Math.abs(up[i]) * e + Math.abs(swi[i] / (up[i] || 1)) * e)) + 1e-6;
      expectMatches(`decode norm SwiGLU ${name} ${layout}`, await readF32(gpu, act, ffn), swi, { atol: swiAtol, rtol: 1e-6 });
      destroyWeight(gateUp.weight);
      for (const b of [xBuffer, normBuffer, act]) b.destroy();
    }
  }
});

test('matmul with a fused RMSNorm rejects a norm too small, no epsilon and a prefill run, naming the sizes', async () => {
  const { gpu, kernels } = await testGpu();
  const weight = await uploadWeight(gpu, 'blk.0.attn_qkv', GgmlType.Q8_0, 3, 96, [quantizeRows(GgmlType.Q8_0, randomF32(3 * 96, 1), 3, 96)]);
  const x = createStorage(gpu, 'x', 2 * 96 * 4);
  const y = createStorage(gpu, 'y', 2 * 3 * 4);
  const norm = createStorage(gpu, 'norm', 96 * 4);
  await expectShape(matmul(kernels, { weight, x, y, norm: createStorage(gpu, 'n', 64) }, { tokens: 1, normEps: eps }), /matmul blk.0.attn_qkv: norm holds 64 B, needs cols\*4 = 384/);
  await expectShape(matmul(kernels, { weight, x, y, norm }, { tokens: 1 }), /a fused RMSNorm needs a finite normEps >= 0, got undefined/);
  await expectShape(matmul(kernels, { weight, x, y, norm }, { tokens: 2, normEps: eps }), /an RMSNorm is fused only in decode \(tokens 1, got 2\); run rmsNorm first/);
  await expectShape(matmul(kernels, { weight, x, y, norm }, { tokens: 1, normEps: eps }, { workgroup: 96, threadsPerRow: 32, rowsPerGroup: 1 }), /a fused RMSNorm needs a power-of-two workgroup, got 96/);
  destroyWeight(weight);
});
