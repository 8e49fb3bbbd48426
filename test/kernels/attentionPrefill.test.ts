import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ShapeError } from '../../gpu/errors';
import { type PrefillTiling, attentionPrefill, prefillTiling, prefillWorkgroupBytes } from '../../gpu/kernels/attentionPrefill';
import { kvAppend } from '../../gpu/kernels/kvAppend';
import { readF32 } from '../../gpu/buffers';
import { causalAttentionRef } from '../../gpu/reference/attention';
import { storedRef } from '../../gpu/reference/kv';
import { expectMatches } from '../util/expectMatches';
import { testGpu } from '../util/gpu';
import { type CacheCase, activations, concat, makeCache, storageFor, submit, upload } from './kvHarness';

// Against a reference over the keys and values as stored (f16-rounded for f16 caches): what remains is f32
// arithmetic, plus one f16 ulp where the GPU's f16 conversion rounds the other way.
const tolerance = { f32: { atol: 2e-5, rtol: 1e-4 }, f16: { atol: 1e-3, rtol: 2e-3 } } as const;

interface PrefillCase extends CacheCase {
  readonly heads: number;
  readonly runs: readonly number[];
  /** A GPU's tiling instead of lavapipe's. */
  readonly tiling?: PrefillTiling;
}

const cases: PrefillCase[] = [
  { heads: 1, kvHeads: 1, headDim: 8, pageSize: 4, kvType: 'f32', maxTokens: 4, runs: [1] },
  { heads: 2, kvHeads: 1, headDim: 8, pageSize: 4, kvType: 'f32', maxTokens: 16, runs: [15], scatter: true },
  { heads: 7, kvHeads: 1, headDim: 64, pageSize: 16, kvType: 'f32', maxTokens: 32, runs: [17], scatter: true },
  { heads: 8, kvHeads: 4, headDim: 8, pageSize: 16, kvType: 'f16', maxTokens: 32, runs: [27] },
  { heads: 6, kvHeads: 2, headDim: 128, pageSize: 32, kvType: 'f32', maxTokens: 64, runs: [61], scatter: true },
  { heads: 8, kvHeads: 4, headDim: 64, pageSize: 4, kvType: 'f32', maxTokens: 116, runs: [113], scatter: true },
  { heads: 6, kvHeads: 2, headDim: 8, pageSize: 32, kvType: 'f16', maxTokens: 128, runs: [113], scatter: true },
  { heads: 7, kvHeads: 1, headDim: 128, pageSize: 16, kvType: 'f16', maxTokens: 128, runs: [40, 73], scatter: true },
  { heads: 2, kvHeads: 1, headDim: 64, pageSize: 16, kvType: 'f32', maxTokens: 64, runs: [17, 30, 1, 3], scatter: true },
  // The H100's tilings (64 rows × 32 keys, 32 × 16; 128 threads), on shapes small enough for lavapipe's 32 KiB.
  { heads: 8, kvHeads: 4, headDim: 8, pageSize: 16, kvType: 'f32', maxTokens: 128, runs: [50, 63], scatter: true, tiling: { rows: 64, tile: 32, wg: 128 } },
  { heads: 6, kvHeads: 2, headDim: 64, pageSize: 4, kvType: 'f16', maxTokens: 64, runs: [45], scatter: true, tiling: { rows: 32, tile: 16, wg: 128 } },
];

for (const c of cases) {
  const tiling = c.tiling ? ` tiling=${c.tiling.rows}x${c.tiling.tile}/${c.tiling.wg}` : '';
  const name = `attentionPrefill ${c.kvType} heads=${c.heads}/${c.kvHeads} headDim=${c.headDim} pageSize=${c.pageSize} runs=${c.runs.join('+')}${c.scatter ? ' scattered' : ''}${tiling}`;
  test(`${name} matches causal float64 attention`, async () => {
    const { gpu, kernels } = await testGpu();
    const cache = makeCache(gpu, c);
    const maxRun = Math.max(...c.runs);
    const kvRow = c.kvHeads * c.headDim;
    const qRow = c.heads * c.headDim;
    const b = {
      k: storageFor(gpu, 'k', maxRun * kvRow),
      v: storageFor(gpu, 'v', maxRun * kvRow),
      q: storageFor(gpu, 'q', maxRun * qRow),
      out: storageFor(gpu, 'out', maxRun * qRow),
    };
    const append = await kvAppend(kernels, cache, 0, b, maxRun);
    const attend = await attentionPrefill(kernels, cache, 0, b, { heads: c.heads, maxTokens: maxRun, tiling: c.tiling });
    let keys: Float32Array = new Float32Array(0);
    let values: Float32Array = new Float32Array(0);
    for (const [i, tokens] of c.runs.entries()) {
      const k = activations(tokens * kvRow, 10 + i, 2);
      const v = activations(tokens * kvRow, 20 + i);
      const q = activations(tokens * qRow, 30 + i, 2);
      keys = concat(keys, k);
      values = concat(values, v);
      const { pos0 } = cache.beginRun(tokens);
      upload(gpu, b.k, k);
      upload(gpu, b.v, v);
      upload(gpu, b.q, q);
      submit(gpu, [...append.dispatches(tokens), ...attend.dispatches(tokens)]);
      const got = await readF32(gpu, b.out, tokens * qRow);
      const ref = causalAttentionRef(q, storedRef(keys, c.kvType), storedRef(values, c.kvType), { ...c, tokens, pos0 });
      expectMatches(`${name} run ${i} (pos0 ${pos0})`, got, ref, tolerance[c.kvType]);
    }
    cache.dispose();
  });
}

test('prefill tiles shrink to fit the workgroup memory (lavapipe 32 KiB, H100 48 KiB) and 4 output units a thread', () => {
  assert.deepEqual(prefillTiling(64, 32768, true), { rows: 16, tile: 16, wg: 64 });
  assert.deepEqual(prefillTiling(128, 32768, true), { rows: 16, tile: 16, wg: 64 });
  assert.deepEqual(prefillTiling(128, 49152, false), { rows: 32, tile: 16, wg: 128 });
  assert.deepEqual(prefillTiling(64, 49152, false), { rows: 64, tile: 32, wg: 128 });
  assert.deepEqual(prefillTiling(256, 32768, true), { rows: 8, tile: 8, wg: 64 });
  for (const d of [8, 64, 80, 128, 256]) {
    const t = prefillTiling(d, 32768, true);
    assert.ok(prefillWorkgroupBytes(d, t.rows, t.tile) <= 32768, `headDim ${d}`);
    assert.ok((t.rows / 4) * (d / 4) <= 4 * t.wg, `headDim ${d}: output units`);
  }
  assert.throws(() => prefillTiling(1024, 16384, true), /headDim 1024 does not fit 16384 B of workgroup memory/);
});

test('attentionPrefill rejects heads that are not a multiple of kvHeads and a q buffer too small', async () => {
  const { gpu, kernels } = await testGpu();
  const cache = makeCache(gpu, { kvHeads: 2, headDim: 8, pageSize: 4, kvType: 'f32', maxTokens: 16 });
  const ok = { q: storageFor(gpu, 'q', 16 * 6 * 8), out: storageFor(gpu, 'o', 16 * 6 * 8) };
  await assert.rejects(attentionPrefill(kernels, cache, 0, ok, { heads: 3, maxTokens: 4 }), (e: Error) => {
    assert.ok(e instanceof ShapeError);
    assert.match(e.message, /heads \(3\) must be a positive multiple of kvHeads \(2\)/);
    return true;
  });
  await assert.rejects(
    attentionPrefill(kernels, cache, 0, { ...ok, q: storageFor(gpu, 'q', 8) }, { heads: 6, maxTokens: 4 }),
    /q holds 32 B, needs maxTokens\*heads\*headDim\*4 = 768/,
  );
  await assert.rejects(attentionPrefill(kernels, cache, 0, ok, { heads: 6, maxTokens: 17 }), /maxTokens \(17\) must be an integer in 1..cache capacity \(16\)/);
  await assert.rejects(
    attentionPrefill(kernels, cache, 0, ok, { heads: 6, maxTokens: 4, tiling: { rows: 6, tile: 16, wg: 64 } }),
    /tiling rows 6 and tile 16 must be multiples of 4/,
  );
  cache.dispose();
});
