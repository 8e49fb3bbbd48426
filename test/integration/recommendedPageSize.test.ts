// A GGUF may recommend a Quest page size (`questlens.page_size`; the built-in model's is 4). A load that names no
// page size uses it, an explicit one wins, a file without the key gets 16; a value the engine cannot use (not a power
// of two, 0, over the maximum, not a number) is refused at load, naming the file and the key, before the GPU is touched.
// Likewise `questlens.dense_layers` and `questlens.attention_layers` (the built-in model's: 4 and 2): reported in the
// ModelSummary, refused at load when outside the model's layers.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type Gpu, openGpu } from '../../gpu/device';
import { Engine } from '../../gpu/engine';
import { ModelConfigError } from '../../gpu/errors';
import { readGguf } from '../../gpu/gguf/reader';
import { type GgufEntry, kv } from '../../gpu/gguf/writer';
import { WorkspaceSession } from '../../gpu/session/workspaceSession';
import { type ModelSpec, testTempDir, tokenizerMetadata, writeModelGguf } from '../util/ggufFixtures';
import { stories } from './askFixture';

const tmp = testTempDir('quest-lens-page-size-');
let gpu: Gpu;
let model: (file: string, pageSize?: GgufEntry, more?: [string, GgufEntry][]) => Promise<string>;

before(async () => {
  gpu = await openGpu();
  const tokenizer = tokenizerMetadata(await readGguf(stories));
  model = async (file, pageSize, more = []) => {
    const spec: ModelSpec = {
      architecture: 'llama', layers: 1, dim: 32, ffn: 64, heads: 2, kvHeads: 1, headDim: 16, vocab: 512, contextLength: 256,
      normEps: 1e-5, ropeTheta: 1e4, tiedEmbeddings: true,
      extraMetadata: [...tokenizer, ...(pageSize ? [['questlens.page_size', pageSize] as [string, GgufEntry]] : []), ...more],
    };
    const path = join(tmp, file);
    await writeModelGguf(path, spec, 'zeros');
    return path;
  };
});
after(() => gpu?.dispose());

test('no page size asked for: the model recommendation, else 16; an explicit one always wins', async () => {
  const recommends8 = await model('recommends-8.gguf', kv.u32(8));
  const plain = await model('plain.gguf');
  const session = new WorkspaceSession(async () => gpu, { kvCacheDir: null });
  try {
    const pick = async (path: string, pageSize?: number) => {
      const m = await session.loadModel({ path, maxContext: 200, ...(pageSize !== undefined ? { pageSize } : {}) });
      assert.equal(session.engine?.info.kv.pageSize, m.pageSize);
      return [m.pageSize, m.recommendedPageSize];
    };
    assert.deepEqual(await pick(recommends8), [8, 8]);
    assert.deepEqual(await pick(recommends8, 32), [32, 8]);
    assert.deepEqual(await pick(recommends8, 16), [16, 8]);
    assert.deepEqual(await pick(plain), [16, undefined]);
    assert.deepEqual(await pick(plain, 8), [8, undefined]);
  } finally {
    session.dispose();
  }
  // The engine itself, without a session: the same rule.
  const engine = await Engine.load(gpu, recommends8, { maxContext: 64 });
  try {
    assert.equal(engine.info.kv.pageSize, 8);
    assert.equal(engine.info.kv.maxPages, 8);
  } finally {
    engine.dispose();
  }
});

test('a recommended page size the engine cannot use is refused at load, naming the file and the key', async () => {
  const cases: [string, GgufEntry, string][] = [
    ['twelve.gguf', kv.u32(12), 'u32 12'],
    ['zero.gguf', kv.u32(0), 'u32 0'],
    ['huge.gguf', kv.u32(512), 'u32 512'],
    ['text.gguf', kv.string('8'), 'string "8"'],
  ];
  for (const [file, entry, shown] of cases) {
    const path = await model(file, entry);
    const session = new WorkspaceSession(async () => gpu, { kvCacheDir: null });
    try {
      // Refused even with an explicit page size: the file is wrong, whatever the caller asks for.
      for (const pageSize of [undefined, 16]) {
        await assert.rejects(
          session.loadModel({ path, maxContext: 200, ...(pageSize !== undefined ? { pageSize } : {}) }),
          (e: Error) =>
            e instanceof ModelConfigError &&
            e.message === `${path}: questlens.page_size (the model's recommended Quest page size) must be a power of two from 1 to 256, got ${shown}`,
          `${file}, pageSize ${pageSize}`,
        );
      }
      assert.equal(session.engine, undefined);
    } finally {
      session.dispose();
    }
  }
});

test('dense and attention layer recommendations reach the ModelSummary; one outside the model\'s layers is refused at load', async () => {
  const recommends = await model('recommends-layers.gguf', undefined, [['questlens.dense_layers', kv.u32(1)], ['questlens.attention_layers', kv.u32(1)]]);
  const plain = await model('plain-layers.gguf');
  const bad = await model('dense-2.gguf', undefined, [['questlens.dense_layers', kv.u32(2)]]);
  const session = new WorkspaceSession(async () => gpu, { kvCacheDir: null });
  try {
    const m = await session.loadModel({ path: recommends, maxContext: 200 });
    assert.deepEqual([m.recommendedDenseLayers, m.recommendedAttentionLayers], [1, 1]);
    assert.deepEqual([session.engine?.info.config.recommendedDenseLayers, session.engine?.info.config.recommendedAttentionLayers], [1, 1]);
    const p = await session.loadModel({ path: plain, maxContext: 200 });
    assert.deepEqual([p.recommendedDenseLayers, p.recommendedAttentionLayers], [undefined, undefined]);
    await assert.rejects(
      session.loadModel({ path: bad, maxContext: 200 }),
      (e: Error) =>
        e instanceof ModelConfigError &&
        e.message === `${bad}: questlens.dense_layers (the model's recommended dense layers in Quest mode) must be an integer from 0 to 1 (the model's layers), got u32 2`,
    );
  } finally {
    session.dispose();
  }
});
