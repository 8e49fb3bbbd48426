import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createStorage, createStorageWith } from '../../gpu/buffers';
import { ShapeError } from '../../gpu/errors';
import { argmax, argmaxScratchBytes } from '../../gpu/kernels/argmax';
import { encodeDispatches } from '../../gpu/kernels/registry';
import { defaultTopKSortSize, topK, topKRounds, topKScratchBytes } from '../../gpu/kernels/topk';
import { topKRef } from '../../gpu/reference/sample';
import { type Candidates, ResultReadback, Sampler, decodeCandidates } from '../../gpu/sample';
import { testGpu } from '../util/gpu';
import { randomF32, rng } from '../util/random';

/** Runs top-k on the GPU and reads back the k pairs the way decodeStep does (ResultReadback + decodeCandidates). */
async function gpuTopK(logits: Float32Array, k: number, sortSize?: number): Promise<Candidates> {
  const { gpu, kernels } = await testGpu();
  const vocab = logits.length;
  const scratchBytes = topKScratchBytes(vocab, k, sortSize ?? defaultTopKSortSize(kernels, k));
  const b = {
    logits: createStorageWith(gpu, 'logits', logits),
    scratch: [createStorage(gpu, 'scratch0', scratchBytes), createStorage(gpu, 'scratch1', scratchBytes)] as const,
    out: createStorage(gpu, 'topk', k * 8),
  };
  const readback = new ResultReadback(gpu, b.out, k * 8);
  const enc = gpu.device.createCommandEncoder();
  encodeDispatches(enc, await topK(kernels, b, { vocab, k, sortSize }));
  readback.encode(enc, 0);
  gpu.device.queue.submit([enc.finish()]);
  const c = decodeCandidates(await readback.read(0), k);
  readback.destroy();
  return c;
}

function expectTopK(name: string, got: Candidates, logits: Float32Array, k: number): void {
  const ref = topKRef(logits, k);
  assert.deepEqual(Array.from(got.ids), Array.from(ref.indices), `${name}: ids`);
  for (let i = 0; i < k; i++) {
    const [g, r] = [got.logits[i], ref.values[i]];
    // -0 comes back as +0 (they rank equal); NaN as NaN.
    assert.ok(g === r || (Number.isNaN(g) && Number.isNaN(r)), `${name}: value [${i}] got ${g}, ref ${r}`);
  }
}

/** Logits on 5 levels: most candidates tie with many others, so order among equals is what is tested. */
function tied(n: number, seed: number): Float32Array {
  const next = rng(seed);
  return Float32Array.from({ length: n }, () => Math.floor(next() * 5) - 2);
}

const cases: [string, () => Float32Array, number, number?][] = [
  ['vocab 1, k 1', () => Float32Array.of(0.5), 1],
  ['vocab 17, k 5', () => randomF32(17, 1, 3), 5],
  ['vocab 17, k 17 with ties, NaN, ±Infinity and -0', () => {
    const l = tied(17, 2);
    l[3] = NaN;
    l[4] = Infinity;
    l[9] = -Infinity;
    l[12] = -0;
    l[13] = 0;
    return l;
  }, 17],
  ['vocab 2047, k 256, sortSize 2048 (one round)', () => randomF32(2047, 3, 10), 256, 2048],
  ['vocab 2047, k 256 (default sortSize 1024: two rounds)', () => randomF32(2047, 13, 10), 256],
  ['vocab 2047, k 256, sortSize 512 (three rounds)', () => randomF32(2047, 4, 10), 256, 512],
  ['vocab 2047, k 40 on 5 levels, sortSize 128', () => tied(2047, 5), 40, 128],
  ['vocab 151936, k 256 (Qwen)', () => randomF32(151936, 6, 20), 256],
  ['vocab 151936, k 40 on 5 levels (ties across slices)', () => tied(151936, 7), 40],
  ['vocab 128256, k 1', () => randomF32(128256, 8, 20), 1],
];

for (const [name, make, k, sortSize] of cases) {
  test(`topk: ${name} equals a full sort`, async () => {
    const logits = make();
    expectTopK(name, await gpuTopK(logits, k, sortSize), logits, k);
  });
}

test('topk rounds: 151936 logits, k 256 take 75 -> 10 -> 2 -> 1 workgroups at sortSize 2048, 149 -> 38 -> 10 -> 3 -> 1 at 1024', async () => {
  assert.deepEqual(topKRounds(151936, 256, 2048).map((r) => r.groups), [75, 10, 2, 1]);
  assert.deepEqual(topKRounds(151936, 256, 1024).map((r) => r.groups), [149, 38, 10, 3, 1]);
  const { kernels } = await testGpu();
  assert.deepEqual([1, 40, 64, 65, 256].map((k) => defaultTopKSortSize(kernels, k)), [256, 256, 256, 512, 1024]);
  assert.equal(topKScratchBytes(151936, 256, 2048), 75 * 256 * 8);
  assert.equal(topKScratchBytes(100, 16, 2048), 16);
});

test('top-k best candidate equals the argmax kernel on ties', async () => {
  const { gpu, kernels } = await testGpu();
  const logits = tied(151936, 11);
  const b = { logits: createStorageWith(gpu, 'l', logits), scratch: createStorage(gpu, 's', argmaxScratchBytes(logits.length)), out: createStorage(gpu, 'o', 4) };
  const readback = new ResultReadback(gpu, b.out, 4);
  const enc = gpu.device.createCommandEncoder();
  encodeDispatches(enc, await argmax(kernels, b, { vocab: logits.length }));
  readback.encode(enc, 0);
  gpu.device.queue.submit([enc.finish()]);
  const token = new Uint32Array(await readback.read(0))[0];
  readback.destroy();
  assert.equal((await gpuTopK(logits, 8)).ids[0], token);
});

test('sampling from GPU candidates draws the same tokens as from host-sorted candidates', async () => {
  const logits = randomF32(2047, 12, 3);
  const k = 64;
  const fromGpu = await gpuTopK(logits, k);
  const ref = topKRef(logits, k);
  const fromHost: Candidates = { logits: Float32Array.from(ref.values), ids: ref.indices };
  const params = { temperature: 0.8, topK: 40, topP: 0.95, seed: 1234 };
  const [a, b] = [new Sampler(params), new Sampler(params)];
  const drawsA = Array.from({ length: 200 }, () => a.pick(fromGpu));
  const drawsB = Array.from({ length: 200 }, () => b.pick(fromHost));
  assert.deepEqual(drawsA, drawsB);
  assert.ok(new Set(drawsA).size > 3, `expected several distinct tokens at temperature 0.8, got ${new Set(drawsA).size}`);
});

test('topk rejects k > vocab, k > 256, a small sortSize and shared buffers, naming the values', async () => {
  const { gpu, kernels } = await testGpu();
  const l = createStorage(gpu, 'l', 4096 * 4);
  const s = [createStorage(gpu, 's0', 1 << 16), createStorage(gpu, 's1', 1 << 16)] as const;
  const out = createStorage(gpu, 'o', 4096);
  const rejects = (shape: { vocab: number; k: number; sortSize?: number }, re: RegExp, bufs = { logits: l, scratch: s, out }) =>
    assert.rejects(topK(kernels, bufs, shape), (e: Error) => e instanceof ShapeError && re.test(e.message));
  await rejects({ vocab: 17, k: 18 }, /k \(18\) must be an integer in \[1, min\(256, vocab 17\)\]/);
  await rejects({ vocab: 4096, k: 257 }, /k \(257\) must be/);
  await rejects({ vocab: 4096, k: 100, sortSize: 128 }, /sortSize \(128\) must be a power of two >= 2k = 200/);
  await rejects({ vocab: 4096, k: 100, sortSize: 384 }, /sortSize \(384\) must be a power of two/);
  await rejects({ vocab: 4096, k: 8 }, /four different buffers/, { logits: l, scratch: [s[0], s[0]], out });
});
