// Quest's selection after truncate() is a function of the tokens in the cache only: on the real model (stories260K),
// a cache cut back mid-page (the question and answer dropped after each answer) and then appended to, in memory or
// through a persisted file saved in that state, holds exactly the keys, pageMeta, page selections and tokens of a
// cache that never held the dropped tokens.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type Gpu, openGpu } from '../../gpu/device';
import { Engine, type GeneratedToken } from '../../gpu/engine';
import type { KvType } from '../../gpu/kv/layout';
import { pageMetaRef } from '../../gpu/reference/kv';
import { KvStore, engineKvCache } from '../../gpu/session/kvStore';
import { expectMatches } from '../util/expectMatches';
import { sharedModelPath } from '../util/paths';
import { rng } from '../util/random';
import { readLayer } from '../kernels/kvHarness';

const model = sharedModelPath('stories260K.gguf');
const pageSize = 16;
const exact = { atol: 0, rtol: 0 };
let gpu: Gpu;
const cacheDir = mkdtempSync(join(tmpdir(), 'ql-truncate-meta-'));
before(async () => {
  gpu = await openGpu();
});
after(() => {
  gpu?.dispose();
  rmSync(cacheDir, { recursive: true, force: true });
});

function ids(n: number, seed: number): number[] {
  const next = rng(seed);
  return Array.from({ length: n }, () => 2 + Math.floor(next() * 500));
}

// A: the context, ending mid-page (93 = 5 pages + 13); B: a question and answer, dropped; C: the next question.
const A = [1, ...ids(92, 1)];
const B = ids(30, 2);
const C = ids(9, 3);
assert.ok(A.length % pageSize !== 0);

/** Every layer's keys (length, kvHeads, headDim) and pageMeta (pages, kvHeads, 2, headDim), in logical order. */
async function layers(engine: Engine): Promise<{ keys: Float64Array; meta: Float64Array }[]> {
  const cache = engineKvCache(engine);
  const out = [];
  for (let l = 0; l < cache.layout.layers; l++) out.push(await readLayer(gpu, cache, l));
  return out;
}

/** Quest's invariant, exactly: each page's max/min is the element-wise max/min of the keys the cache holds. */
async function checkMetaBoundsKeys(engine: Engine, what: string): Promise<void> {
  const { kvHeads, headDim, kvType } = engineKvCache(engine).layout;
  for (const [l, got] of (await layers(engine)).entries()) {
    expectMatches(`${what}: layer ${l} pageMeta`, got.meta, pageMetaRef(got.keys, engine.length, kvHeads, headDim, pageSize, kvType), exact);
  }
}

/** 16 greedy Quest steps at a budget of 3 of the 7 or 8 pages, with pages and scores traced. */
async function decode(engine: Engine): Promise<GeneratedToken[]> {
  const out: GeneratedToken[] = [];
  const quest = { mode: 'quest', pageBudget: 3, denseLayers: 1, aggregation: 'max' } as const;
  for await (const g of engine.generate({ maxTokens: 16, quest, trace: true, traceScores: true })) out.push(g);
  return out;
}

/** A cache that never held B: A and C in the same runs as the truncated path, so their keys are computed alike. */
async function fresh(engine: Engine): Promise<{ layers: { keys: Float64Array; meta: Float64Array }[]; steps: GeneratedToken[] }> {
  engine.truncate(0);
  await engine.prefill(A);
  await engine.prefill(C);
  const before = await layers(engine);
  return { layers: before, steps: await decode(engine) };
}

async function sameAsFresh(engine: Engine, want: Awaited<ReturnType<typeof fresh>>, what: string): Promise<void> {
  await checkMetaBoundsKeys(engine, what);
  for (const [l, got] of (await layers(engine)).entries()) {
    expectMatches(`${what}: layer ${l} keys`, got.keys, want.layers[l].keys, exact);
    expectMatches(`${what}: layer ${l} pageMeta`, got.meta, want.layers[l].meta, exact);
  }
  const steps = await decode(engine);
  assert.deepEqual(steps.map((s) => s.token), want.steps.map((s) => s.token), `${what}: tokens`);
  assert.deepEqual(steps.map((s) => s.pages), want.steps.map((s) => s.pages), `${what}: selected pages`);
  assert.deepEqual(steps.map((s) => s.scores), want.steps.map((s) => s.scores), `${what}: page scores`);
}

/** prefill(A), prefill(B), truncate(|A|); asserts the cut page's stored pageMeta still bounds B's keys (stale). */
async function prefillAndCut(engine: Engine): Promise<void> {
  engine.truncate(0);
  await engine.prefill(A);
  await engine.prefill(B);
  engine.truncate(A.length);
  const { kvHeads, headDim, kvType } = engineKvCache(engine).layout;
  let stale = 0;
  for (const got of await layers(engine)) {
    const want = pageMetaRef(got.keys, A.length, kvHeads, headDim, pageSize, kvType);
    for (let i = 0; i < want.length; i++) if (got.meta[i] !== want[i]) stale++;
  }
  assert.ok(stale > 0, 'the case must leave the cut page with bounds of dropped keys, or it tests nothing');
}

for (const kvType of ['f32', 'f16'] as const satisfies readonly KvType[]) {
  test(`${kvType}: prefill(A+B), truncate(|A|) mid-page, prefill(C) selects, scores and decodes as prefill(A+C)`, async () => {
    const engine = await Engine.load(gpu, model, { maxContext: 256, pageSize, kvType });
    try {
      const want = await fresh(engine);
      await prefillAndCut(engine);
      await engine.prefill(C);
      await sameAsFresh(engine, want, 'after truncate');
      // A one-token run after the cut (decodeStep's size) rebuilds the page too.
      await prefillAndCut(engine);
      await engine.prefill(C.slice(0, 1));
      await checkMetaBoundsKeys(engine, 'one token after truncate');
    } finally {
      engine.dispose();
    }
  });

  test(`${kvType}: a cache persisted right after a mid-page truncate restores to the same selections as a fresh prefill`, async () => {
    const engine = await Engine.load(gpu, model, { maxContext: 256, pageSize, kvType });
    try {
      const want = await fresh(engine);
      const cache = engineKvCache(engine);
      const { layers: n, kvHeads, headDim } = cache.layout;
      const store = new KvStore(join(cacheDir, kvType), {
        engineBuild: 'test',
        model: { path: model, size: 0, mtimeMs: 0 },
        kvType,
        pageSize,
        layers: n,
        kvHeads,
        headDim,
        workspace: [],
      });
      // The file's last page keeps the stale bounds: WorkspaceSession.prefill saves in this state when the context was
      // all in memory after an answer but not yet on disk (the save after the first prefill failed, or the store changed).
      await prefillAndCut(engine);
      await store.save(cache, Uint32Array.from(A), undefined);
      for (const keep of [A.length, A.length - 6, 80]) {
        engine.truncate(0);
        const file = await store.open(cache.layout);
        assert.ok(file, 'the saved file opens');
        try {
          await file.restore(cache, keep);
        } finally {
          await file.close();
        }
        assert.equal(engine.length, keep);
        if (keep === A.length) {
          // Restore leaves no logits; the session always prefills the question next.
          await engine.prefill(C);
          await sameAsFresh(engine, want, 'restored');
        } else {
          await engine.prefill(A.slice(keep));
          await engine.prefill(C);
          await checkMetaBoundsKeys(engine, `restored ${keep} tokens, then the rest of A and C`);
        }
      }
    } finally {
      engine.dispose();
    }
  });
}
