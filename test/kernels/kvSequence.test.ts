// A whole sequence through the cache as the forward pass drives it: prefill in two runs (17 then 30 tokens), then 5
// decodeSteps, on two layers with one shared step uniform. Every output row must equal one-shot causal attention
// over all 52 tokens, pageMeta must equal the reference, and scattered pages must give the very same numbers.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readF32 } from '../../gpu/buffers';
import { attentionDecode } from '../../gpu/kernels/attentionDecode';
import { attentionPrefill } from '../../gpu/kernels/attentionPrefill';
import { kvAppend } from '../../gpu/kernels/kvAppend';
import type { Dispatch } from '../../gpu/kernels/registry';
import { causalAttentionRef } from '../../gpu/reference/attention';
import { pageMetaRef, storedRef } from '../../gpu/reference/kv';
import { expectMatches } from '../util/expectMatches';
import { testGpu } from '../util/gpu';
import { type CacheCase, activations, makeCache, readLayer, storageFor, submit, upload } from './kvHarness';

const runs = [17, 30] as const;
const steps = 5;
const total = runs[0] + runs[1] + steps;
const layers = 2;
const tolerance = { f32: { atol: 2e-5, rtol: 1e-4 }, f16: { atol: 1e-3, rtol: 2e-3 } } as const;

interface SequenceCase extends CacheCase {
  readonly heads: number;
}

const cases: SequenceCase[] = [
  { heads: 8, kvHeads: 4, headDim: 64, pageSize: 16, kvType: 'f32', maxTokens: 64 },
  { heads: 6, kvHeads: 2, headDim: 8, pageSize: 4, kvType: 'f16', maxTokens: 64 },
  { heads: 7, kvHeads: 1, headDim: 128, pageSize: 32, kvType: 'f32', maxTokens: 96 },
];

interface Inputs {
  readonly k: Float32Array; // (layers, total, kvHeads, headDim)
  readonly v: Float32Array;
  readonly q: Float32Array; // (layers, total, heads, headDim)
}

/** Drives the sequence and returns every layer's outputs (layers, total, heads, headDim) and final cache. */
async function runSequence(c: SequenceCase, scatter: boolean, x: Inputs) {
  const { gpu, kernels } = await testGpu();
  const cache = makeCache(gpu, { ...c, layers, scatter });
  const kvRow = c.kvHeads * c.headDim;
  const qRow = c.heads * c.headDim;
  const maxRun = Math.max(...runs);
  const perLayer = Array.from({ length: layers }, () => ({
    k: storageFor(gpu, 'k', maxRun * kvRow),
    v: storageFor(gpu, 'v', maxRun * kvRow),
    q: storageFor(gpu, 'q', maxRun * qRow),
    out: storageFor(gpu, 'out', maxRun * qRow),
  }));
  // Built once at load, as the forward pass does: prefill ops for runs of up to maxRun, decode ops for one token.
  const ops = await Promise.all(
    perLayer.map(async (b, layer) => ({
      prefillAppend: await kvAppend(kernels, cache, layer, b, maxRun),
      prefill: await attentionPrefill(kernels, cache, layer, b, { heads: c.heads, maxTokens: maxRun }),
      stepAppend: await kvAppend(kernels, cache, layer, b, 1),
      decode: await attentionDecode(kernels, cache, layer, b, { heads: c.heads }),
    })),
  );
  const out = new Float32Array(layers * total * qRow);
  const run = async (tokens: number, decode: boolean) => {
    const { pos0 } = cache.beginRun(tokens);
    const dispatches: Dispatch[] = [];
    perLayer.forEach((b, layer) => {
      upload(gpu, b.k, x.k.subarray((layer * total + pos0) * kvRow, (layer * total + pos0 + tokens) * kvRow));
      upload(gpu, b.v, x.v.subarray((layer * total + pos0) * kvRow, (layer * total + pos0 + tokens) * kvRow));
      upload(gpu, b.q, x.q.subarray((layer * total + pos0) * qRow, (layer * total + pos0 + tokens) * qRow));
      const o = ops[layer];
      dispatches.push(...(decode ? [...o.stepAppend.dispatches(1), ...o.decode.dispatches(1)] : [...o.prefillAppend.dispatches(tokens), ...o.prefill.dispatches(tokens)]));
    });
    submit(gpu, dispatches); // one submit per run: both layers read the same step uniform
    for (let layer = 0; layer < layers; layer++) {
      out.set(await readF32(gpu, perLayer[layer].out, tokens * qRow), (layer * total + pos0) * qRow);
    }
  };
  for (const tokens of runs) await run(tokens, false);
  for (let s = 0; s < steps; s++) await run(1, true);
  const read = await Promise.all(Array.from({ length: layers }, (_, layer) => readLayer(gpu, cache, layer)));
  const physical = [...cache.pages.snapshot()];
  cache.dispose();
  return { out, read, physical };
}

for (const c of cases) {
  const name = `kv sequence ${c.kvType} heads=${c.heads}/${c.kvHeads} headDim=${c.headDim} pageSize=${c.pageSize}`;
  test(`${name}: prefill 17+30 then 5 decodeSteps equal one-shot attention, identity and scattered pages alike`, async () => {
    const kvRow = c.kvHeads * c.headDim;
    const qRow = c.heads * c.headDim;
    const x: Inputs = {
      k: activations(layers * total * kvRow, 61, 2),
      v: activations(layers * total * kvRow, 62),
      q: activations(layers * total * qRow, 63, 2),
    };
    const identity = await runSequence(c, false, x);
    const scattered = await runSequence(c, true, x);
    assert.notDeepEqual(scattered.physical, identity.physical, 'the scattered pool must map pages differently');
    assert.deepEqual(identity.physical, Array.from({ length: identity.physical.length }, (_, i) => i));
    expectMatches(`${name} scattered vs identity outputs`, scattered.out, identity.out, { atol: 0, rtol: 0 });
    for (let layer = 0; layer < layers; layer++) {
      const keys = x.k.subarray(layer * total * kvRow, (layer + 1) * total * kvRow);
      const values = x.v.subarray(layer * total * kvRow, (layer + 1) * total * kvRow);
      const q = x.q.subarray(layer * total * qRow, (layer + 1) * total * qRow);
      const ref = causalAttentionRef(q, storedRef(keys, c.kvType), storedRef(values, c.kvType), { ...c, tokens: total, pos0: 0 });
      expectMatches(`${name} layer ${layer} outputs`, identity.out.subarray(layer * total * qRow, (layer + 1) * total * qRow), ref, tolerance[c.kvType]);
      const metaRef = pageMetaRef(keys, total, c.kvHeads, c.headDim, c.pageSize, c.kvType);
      for (const [which, r] of [['identity', identity], ['scattered', scattered]] as const) {
        expectMatches(`${name} layer ${layer} ${which} keys`, r.read[layer].keys, storedRef(keys, c.kvType), c.kvType === 'f32' ? { atol: 0, rtol: 0 } : { atol: 6e-8, rtol: 2 ** -10 });
        expectMatches(`${name} layer ${layer} ${which} pageMeta`, r.read[layer].meta, metaRef, c.kvType === 'f32' ? { atol: 0, rtol: 0 } : { atol: 6e-8, rtol: 2 ** -10 });
        expectMatches(
          `${name} layer ${layer} ${which} pageMeta vs cached keys`,
          r.read[layer].meta,
          pageMetaRef(r.read[layer].keys, total, c.kvHeads, c.headDim, c.pageSize, c.kvType),
          { atol: 0, rtol: 0 },
        );
      }
    }
  });
}
