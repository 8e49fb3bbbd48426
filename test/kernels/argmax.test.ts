import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createStorage, createStorageWith, readBuffer } from '../../gpu/buffers';
import { ShapeError } from '../../gpu/errors';
import { argmax, argmaxScratchBytes } from '../../gpu/kernels/argmax';
import { encodeDispatches } from '../../gpu/kernels/registry';
import { argmaxRef } from '../../gpu/reference/sample';
import { testGpu } from '../util/gpu';
import { randomF32 } from '../util/random';

async function gpuArgmax(logits: Float32Array): Promise<number> {
  const { gpu, kernels } = await testGpu();
  const vocab = logits.length;
  const b = {
    logits: createStorageWith(gpu, 'logits', logits),
    scratch: createStorage(gpu, 'scratch', argmaxScratchBytes(vocab)),
    out: createStorage(gpu, 'token', 4),
  };
  const enc = gpu.device.createCommandEncoder();
  encodeDispatches(enc, await argmax(kernels, b, { vocab }));
  gpu.device.queue.submit([enc.finish()]);
  return new Uint32Array(await readBuffer(gpu, b.out, 4))[0];
}

/** name, logits, expected token (a literal where the case is planted, checked against argmaxRef too). */
function cases(): [string, Float32Array, number][] {
  const out: [string, Float32Array, number][] = [];
  out.push(['vocab 1', Float32Array.of(-3.5), 0]);
  const v17 = randomF32(17, 17, 4);
  v17[16] = 9;
  out.push(['vocab 17, max last', v17, 16]);
  const tie17 = randomF32(17, 18, 4);
  tie17[11] = 7;
  tie17[5] = 7;
  out.push(['vocab 17, tie at 5 and 11', tie17, 5]);
  out.push(['vocab 2047, all equal', new Float32Array(2047).fill(0.25), 0]);
  const v2047 = randomF32(2047, 2047, 10);
  v2047[2046] = 11;
  v2047[1000] = 11;
  out.push(['vocab 2047, tie at 1000 and 2046', v2047, 1000]);
  const zeros = new Float32Array(61).fill(-1);
  zeros[3] = -0;
  zeros[9] = 0;
  out.push(['-0 ties +0 (lowest index wins)', zeros, 3]);
  const nan = randomF32(113, 113, 2);
  nan[0] = NaN;
  nan[50] = NaN;
  nan[77] = 5;
  out.push(['NaN never wins over a number', nan, 77]);
  out.push(['all NaN: lowest index', new Float32Array(17).fill(NaN), 0]);
  out.push(['all -Infinity: lowest index', new Float32Array(2047).fill(-Infinity), 0]);
  const inf = randomF32(2047, 3, 2);
  inf[1500] = Infinity;
  inf[600] = -Infinity;
  out.push(['+Infinity wins', inf, 1500]);
  const qwen = randomF32(151936, 151936, 20);
  qwen[151935] = 30;
  out.push(['vocab 151936, max at the last id', qwen, 151935]);
  const qwenTie = randomF32(151936, 151937, 20);
  qwenTie[2048 * 70 + 1] = 25;
  qwenTie[2048 * 40 + 3] = 25; // a tie across two workgroups' slices
  qwenTie[2048 * 74 + 100] = 25;
  out.push(['vocab 151936, tie across slices', qwenTie, 2048 * 40 + 3]);
  out.push(['vocab 151936, random', randomF32(151936, 9, 20), -1]);
  out.push(['vocab 128256, random (llama 3)', randomF32(128256, 10, 20), -1]);
  return out;
}

for (const [name, logits, planted] of cases()) {
  test(`argmax: ${name}`, async () => {
    const ref = argmaxRef(logits);
    if (planted >= 0) assert.equal(ref, planted, 'the reference disagrees with the planted answer');
    assert.equal(await gpuArgmax(logits), ref);
  });
}

test('argmax rejects a short scratch buffer, naming the sizes', async () => {
  const { gpu, kernels } = await testGpu();
  const b = { logits: createStorage(gpu, 'l', 151936 * 4), scratch: createStorage(gpu, 's', 64), out: createStorage(gpu, 'o', 4) };
  await assert.rejects(
    argmax(kernels, b, { vocab: 151936 }),
    (e: Error) => e instanceof ShapeError && /scratch holds 64 B, needs argmaxScratchBytes = 600/.test(e.message),
  );
});
