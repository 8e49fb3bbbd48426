import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createStorageWith, readF32 } from '../../gpu/buffers';
import { ShapeError } from '../../gpu/errors';
import { encodeDispatches } from '../../gpu/kernels/registry';
import { createRopeStep, rope, writeRopeStep } from '../../gpu/kernels/rope';
import { type RopeFrequencyConfig, type RopeStyle, ropeAngleTable, ropeInvFreq } from '../../gpu/model/rope';
import { ropeRef } from '../../gpu/reference/rope';
import { expectMatches } from '../util/expectMatches';
import { testGpu } from '../util/gpu';
import { randomF32 } from '../util/random';

// Values in [-2, 2]: errors scale with the pair's norm (angle error ~1e-6 rad, sin/cos ~1e-6).
const tol = { atol: 1e-5, rtol: 1e-5 };
const llama3 = { type: 'llama3', factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalContextLength: 8192 } as const;

interface Case {
  readonly tokens: number;
  readonly heads: number;
  readonly headDim: number;
  readonly dims: number;
  readonly style: RopeStyle;
  readonly pos0: number;
  readonly freq: Omit<RopeFrequencyConfig, 'dims'>;
}

const cases: Case[] = [
  { tokens: 1, heads: 1, headDim: 8, dims: 8, style: 'normal', pos0: 0, freq: { theta: 1e4 } }, // stories260K head
  { tokens: 17, heads: 3, headDim: 8, dims: 6, style: 'neox', pos0: 5, freq: { theta: 1e4 } },
  { tokens: 17, heads: 7, headDim: 64, dims: 64, style: 'normal', pos0: 131071 - 16, freq: { theta: 5e5, scaling: llama3 } },
  { tokens: 61, heads: 3, headDim: 64, dims: 34, style: 'neox', pos0: 1000, freq: { theta: 1e6 } },
  { tokens: 1, heads: 7, headDim: 128, dims: 128, style: 'neox', pos0: 131071, freq: { theta: 1e6 } }, // qwen2.5 1.5B at 128K
  { tokens: 61, heads: 1, headDim: 128, dims: 2, style: 'normal', pos0: (1 << 24) - 61, freq: { theta: 1e6 } },
  { tokens: 17, heads: 3, headDim: 64, dims: 64, style: 'normal', pos0: 4090, freq: { theta: 1e4, scaling: { type: 'linear', factor: 4 } } },
];

for (const c of cases) {
  const name = `rope ${c.style} tokens=${c.tokens} heads=${c.heads} headDim=${c.headDim} dims=${c.dims} pos0=${c.pos0}`;
  test(`${name} matches the float64 reference`, async () => {
    const { gpu, kernels } = await testGpu();
    const invFreq = ropeInvFreq({ dims: c.dims, ...c.freq });
    const x = randomF32(c.tokens * c.heads * c.headDim, c.tokens * 131 + c.headDim + c.dims, 2);
    const b = {
      angles: createStorageWith(gpu, 'angles', ropeAngleTable(invFreq)),
      x: createStorageWith(gpu, 'x', x),
      step: createRopeStep(kernels),
    };
    const d = await rope(kernels, b, c);
    writeRopeStep(gpu, b.step, c.pos0, c.tokens);
    const enc = gpu.device.createCommandEncoder();
    encodeDispatches(enc, [d]);
    gpu.device.queue.submit([enc.finish()]);
    const got = await readF32(gpu, b.x, x.length);
    expectMatches(name, got, ropeRef(x, invFreq, c), tol);
  });
}

test('one dispatch, step rewritten: prefill of 17 tokens at 0, then a decode-sized step of 5 at 900 leaves the rest', async () => {
  const { gpu, kernels } = await testGpu();
  const s = { tokens: 17, heads: 3, headDim: 8, dims: 8, style: 'normal' as const };
  const invFreq = ropeInvFreq({ dims: 8, theta: 1e4 });
  const x = randomF32(17 * 3 * 8, 99, 2);
  const b = { angles: createStorageWith(gpu, 'angles', ropeAngleTable(invFreq)), x: createStorageWith(gpu, 'x', x), step: createRopeStep(kernels) };
  const d = await rope(kernels, b, s);
  const run = () => {
    const enc = gpu.device.createCommandEncoder();
    encodeDispatches(enc, [d]);
    gpu.device.queue.submit([enc.finish()]);
  };
  writeRopeStep(gpu, b.step, 0, 17);
  run();
  const first = ropeRef(x, invFreq, { ...s, pos0: 0 });
  expectMatches('step 1', await readF32(gpu, b.x, x.length), first, tol);
  writeRopeStep(gpu, b.step, 900, 5);
  run();
  const rotated = ropeRef(first.subarray(0, 5 * 24), invFreq, { ...s, tokens: 5, pos0: 900 });
  const expected = Float64Array.from(first);
  expected.set(rotated);
  expectMatches('step 2 (5 of 17 tokens)', await readF32(gpu, b.x, x.length), expected, tol);
});

test('rope on k inside a fused qkv row (offset, tokenStride) leaves q and v untouched', async () => {
  const { gpu, kernels } = await testGpu();
  const [tokens, heads, kvHeads, headDim] = [17, 7, 1, 64];
  const stride = (heads + 2 * kvHeads) * headDim;
  const s = { tokens, heads: kvHeads, headDim, dims: 64, style: 'neox' as const, tokenStride: stride, offset: heads * headDim };
  const invFreq = ropeInvFreq({ dims: 64, theta: 1e6 });
  const x = randomF32(tokens * stride, 5, 2);
  const b = { angles: createStorageWith(gpu, 'angles', ropeAngleTable(invFreq)), x: createStorageWith(gpu, 'qkv', x), step: createRopeStep(kernels) };
  const d = await rope(kernels, b, s);
  writeRopeStep(gpu, b.step, 37, tokens);
  const enc = gpu.device.createCommandEncoder();
  encodeDispatches(enc, [d]);
  gpu.device.queue.submit([enc.finish()]);
  expectMatches('fused qkv', await readF32(gpu, b.x, x.length), ropeRef(x, invFreq, { ...s, pos0: 37 }), tol);
});

test('rope of q and k in one dispatch (k with its own stride and offset) matches each rotated alone, for a full and a shorter step', async () => {
  const { gpu, kernels } = await testGpu();
  const [tokens, heads, kvHeads, headDim] = [17, 7, 3, 24];
  const kStride = kvHeads * headDim + 5; // k rows padded, after 3 leading floats
  const q = { tokens, heads, headDim, dims: 18, style: 'neox' as const };
  const kShape = { heads: kvHeads, tokenStride: kStride, offset: 3 };
  const invFreq = ropeInvFreq({ dims: 18, theta: 1e4 });
  for (const stepTokens of [tokens, 5]) {
    const xq = randomF32(tokens * heads * headDim, 90 + stepTokens, 2);
    const xk = randomF32(3 + tokens * kStride, 91 + stepTokens, 2);
    const b = {
      angles: createStorageWith(gpu, 'angles', ropeAngleTable(invFreq)),
      x: createStorageWith(gpu, 'q', xq),
      x2: createStorageWith(gpu, 'k', xk),
      step: createRopeStep(kernels),
    };
    const d = await rope(kernels, b, { ...q, second: kShape });
    writeRopeStep(gpu, b.step, 611, stepTokens);
    const enc = gpu.device.createCommandEncoder();
    encodeDispatches(enc, [d]);
    gpu.device.queue.submit([enc.finish()]);
    // Tokens past the step are left as they are: the reference rotates the step's rows only.
    const refQ = ropeRef(xq, invFreq, { ...q, tokens: stepTokens, pos0: 611 });
    const refK = ropeRef(xk, invFreq, { ...q, ...kShape, tokens: stepTokens, pos0: 611 });
    expectMatches(`rope q beside k, step of ${stepTokens}`, await readF32(gpu, b.x, xq.length), refQ, tol);
    expectMatches(`rope k beside q, step of ${stepTokens}`, await readF32(gpu, b.x2, xk.length), refK, tol);
  }
});

test('rope over more than 65535 workgroups (2-D grid): 2049 tokens x 32 heads x 64 pairs', async () => {
  const { gpu, kernels } = await testGpu();
  const s = { tokens: 2049, heads: 32, headDim: 128, dims: 128, style: 'neox' as const };
  const invFreq = ropeInvFreq({ dims: 128, theta: 1e6 });
  const x = randomF32(s.tokens * s.heads * s.headDim, 77, 2);
  const b = { angles: createStorageWith(gpu, 'angles', ropeAngleTable(invFreq)), x: createStorageWith(gpu, 'x', x), step: createRopeStep(kernels) };
  const d = await rope(kernels, b, s);
  assert.ok(d.workgroups[1] > 1, `expected a 2-D grid, got ${d.workgroups}`);
  writeRopeStep(gpu, b.step, 30000, s.tokens);
  const enc = gpu.device.createCommandEncoder();
  encodeDispatches(enc, [d]);
  gpu.device.queue.submit([enc.finish()]);
  expectMatches('rope 2-D grid', await readF32(gpu, b.x, x.length), ropeRef(x, invFreq, { ...s, pos0: 30000 }), tol);
});

test('rope rejects odd dims, dims > headDim, a short x and positions past 2^24, naming the values', async () => {
  const { gpu, kernels } = await testGpu();
  const angles = createStorageWith(gpu, 'angles', new Float32Array(64 * 4));
  const x = createStorageWith(gpu, 'x', new Float32Array(3 * 64));
  const step = createRopeStep(kernels);
  const base = { tokens: 1, heads: 3, headDim: 64, dims: 64, style: 'normal' as const };
  const rejects = (s: typeof base, re: RegExp) =>
    assert.rejects(rope(kernels, { angles, x, step }, s), (e: Error) => e instanceof ShapeError && re.test(e.message));
  await rejects({ ...base, dims: 7 }, /dims \(7\) must be even, >= 2 and <= headDim \(64\)/);
  await rejects({ ...base, dims: 66 }, /dims \(66\) must be even/);
  await rejects({ ...base, tokens: 2 }, /x holds 768 B, needs .* = 1536/);
  await assert.rejects(rope(kernels, { angles, x, x2: x, step }, { ...base, second: { heads: 1 } }), /x and x2 must be different buffers/);
  await assert.rejects(rope(kernels, { angles, x, x2: createStorageWith(gpu, 'k', new Float32Array(64)), step }, { ...base, second: { heads: 2 } }), /x2 holds 256 B, needs .* = 512/);
  await assert.rejects(rope(kernels, { angles, x, step }, { ...base, second: { heads: 1 } }), /x2 and second come together \(x2 missing, second given\)/);
  assert.throws(() => writeRopeStep(gpu, step, (1 << 24) - 3, 4), /pos0 \(16777213\) \.\. pos0 \+ tokens \(4\) must be integers in \[0, 16777216\]/);
});
