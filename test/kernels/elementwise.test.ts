// swiglu, add (residual) and bias (qwen2 q/k/v bias): the three elementwise kernels.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createStorage, createStorageWith, readF32 } from '../../gpu/buffers';
import { ShapeError } from '../../gpu/errors';
import { add } from '../../gpu/kernels/add';
import { biasAdd } from '../../gpu/kernels/bias';
import { type Dispatch, encodeDispatches } from '../../gpu/kernels/registry';
import { swiglu } from '../../gpu/kernels/swiglu';
import { addRef, biasRef } from '../../gpu/reference/add';
import { swigluRef } from '../../gpu/reference/swiglu';
import { expectMatches } from '../util/expectMatches';
import { testGpu } from '../util/gpu';
import { randomF32 } from '../util/random';

const shapes = [
  { tokens: 1, width: 1 },
  { tokens: 17, width: 15 },
  { tokens: 1, width: 172 }, // stories260K FFN
  { tokens: 61, width: 113 },
  { tokens: 3, width: 2047 },
];

async function run(dispatches: Dispatch[]): Promise<void> {
  const { gpu } = await testGpu();
  const enc = gpu.device.createCommandEncoder();
  encodeDispatches(enc, dispatches);
  gpu.device.queue.submit([enc.finish()]);
}

for (const { tokens, width: ffn } of shapes) {
  test(`swiglu matches the float64 reference at tokens=${tokens} ffn=${ffn}`, async () => {
    const { gpu, kernels } = await testGpu();
    const gate = randomF32(tokens * ffn, ffn + 1, 6);
    const up = randomF32(tokens * ffn, ffn + 2, 3);
    gate[0] = -100; // exp(100) overflows f32: silu must still give -0, not NaN
    if (gate.length > 1) gate[1] = 90;
    const b = { gate: createStorageWith(gpu, 'gate', gate), up: createStorageWith(gpu, 'up', up), out: createStorage(gpu, 'out', gate.length * 4) };
    await run([await swiglu(kernels, b, { tokens, ffn })]);
    expectMatches(`swiglu ${tokens}x${ffn}`, await readF32(gpu, b.out, gate.length), swigluRef(gate, up), { atol: 1e-6, rtol: 2e-6 });
  });

  test(`add (residual) matches at tokens=${tokens} dim=${ffn}`, async () => {
    const { gpu, kernels } = await testGpu();
    const x = randomF32(tokens * ffn, ffn + 3, 40);
    const y = randomF32(tokens * ffn, ffn + 4);
    const b = { x: createStorageWith(gpu, 'x', x), y: createStorageWith(gpu, 'y', y) };
    await run([await add(kernels, b, { tokens, dim: ffn })]);
    expectMatches(`add ${tokens}x${ffn}`, await readF32(gpu, b.x, x.length), addRef(x, y), { atol: 1e-6, rtol: 1e-7 });
  });

  test(`bias matches at tokens=${tokens} n=${ffn}`, async () => {
    const { gpu, kernels } = await testGpu();
    const x = randomF32(tokens * ffn, ffn + 5, 4);
    const bias = randomF32(ffn, ffn + 6, 2);
    const b = { x: createStorageWith(gpu, 'x', x), bias: createStorageWith(gpu, 'bias', bias) };
    await run([await biasAdd(kernels, b, { tokens, n: ffn })]);
    expectMatches(`bias ${tokens}x${ffn}`, await readF32(gpu, b.x, x.length), biasRef(x, bias), { atol: 1e-6, rtol: 1e-7 });
  });
}

test('add over more than 65535 workgroups (2-D grid) reaches the last element', async () => {
  const { gpu, kernels } = await testGpu();
  const [tokens, dim] = [2049, 8192 + 7]; // 16.8 M elements: 65563 workgroups of 256
  const x = new Float32Array(tokens * dim).fill(1);
  const y = new Float32Array(tokens * dim);
  for (let i = 0; i < y.length; i++) y[i] = i % 1000;
  const b = { x: createStorageWith(gpu, 'x', x), y: createStorageWith(gpu, 'y', y) };
  await run([await add(kernels, b, { tokens, dim })]);
  const got = await readF32(gpu, b.x, x.length);
  expectMatches('add 2-D grid', got, addRef(x, y), { atol: 0, rtol: 0 });
});

test('elementwise ops reject short buffers and aliasing, naming the sizes', async () => {
  const { gpu, kernels } = await testGpu();
  const small = createStorage(gpu, 'small', 64);
  const big = createStorage(gpu, 'big', 4096);
  await assert.rejects(
    swiglu(kernels, { gate: big, up: small, out: createStorage(gpu, 'o', 4096) }, { tokens: 2, ffn: 100 }),
    (e: Error) => e instanceof ShapeError && /swiglu: up holds 64 B, needs tokens\*ffn\*4 = 800/.test(e.message),
  );
  await assert.rejects(swiglu(kernels, { gate: big, up: small, out: big }, { tokens: 1, ffn: 16 }), /out must be a different buffer/);
  await assert.rejects(add(kernels, { x: big, y: big }, { tokens: 1, dim: 4 }), /x and y must be different buffers/);
  await assert.rejects(
    biasAdd(kernels, { x: big, bias: small }, { tokens: 2, n: 17 }),
    (e: Error) => e instanceof ShapeError && /bias: bias holds 64 B, needs n\*4 = 68/.test(e.message),
  );
});
