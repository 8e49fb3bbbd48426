// The built-in model's place and words (extension/models/builtinModel.ts) and the CLI's choice of model
// (gpu/modelChoice.ts): where the package holds it, what the CLI says when it uses it or cannot find it, the page size
// it recommends, which questions count as the ones it was trained on, and that the VSIX ships it. No GPU.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { builtinModelExamples, builtinModelPath, isBuiltinModelQuestion } from '../../extension/models/builtinModel';
import { readGguf } from '../../gpu/gguf/reader';
import { resolveAttentionLayers } from '../../gpu/forward/forward';
import { resolvePageSize } from '../../gpu/kv/layout';
import { readModelConfig } from '../../gpu/model/config';
import { modelOrBuiltin, pageSizeFlag } from '../../gpu/modelChoice';
import { resolveDenseLayers } from '../../gpu/session/decodeSettings';
import { passkeyQuestion, questionFor, questionTemplates } from '../../model/corpus/promptFormat';
import { repoRoot } from '../util/paths';

const tmp = mkdtempSync(join(tmpdir(), 'ql-builtin-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

test('the built-in model sits in model/ beside the bundles\' dist/, and this checkout has it', () => {
  assert.equal(builtinModelPath('/opt/ext/dist'), '/opt/ext/model/default.gguf');
  assert.equal(builtinModelPath('/opt/ext/dist/'), '/opt/ext/model/default.gguf');
  const path = builtinModelPath(join(repoRoot, 'dist'));
  assert.equal(path, join(repoRoot, 'model', 'default.gguf'));
  assert.ok(existsSync(path), `${path} is missing`);
  assert.equal(readFileSync(path).subarray(0, 4).toString('latin1'), 'GGUF');
});

test('the VSIX ships model/default.gguf and nothing else of model/', () => {
  const rules = readFileSync(join(repoRoot, '.vscodeignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  assert.equal(rules[0], '**', 'everything is left out unless re-included');
  assert.deepEqual(rules.filter((l) => l.startsWith('!model')), ['!model/default.gguf']);
});

test('modelOrBuiltin: --model wins; else the built-in model with a notice; a missing built-in model is an error', () => {
  assert.deepEqual(modelOrBuiltin('ask', '/m/a.gguf', join(tmp, 'none', 'dist')), { path: '/m/a.gguf', builtin: false, notice: [] });

  const missing = modelOrBuiltin('ask', undefined, join(tmp, 'none', 'dist'));
  assert.equal(
    missing,
    `quest-lens ask: no --model given, and the built-in model ${join(tmp, 'none', 'model', 'default.gguf')} is missing ` +
      '(the package ships it in model/ beside dist/): give --model FILE.gguf',
  );

  const pkg = join(tmp, 'pkg');
  mkdirSync(join(pkg, 'model'), { recursive: true });
  writeFileSync(join(pkg, 'model', 'default.gguf'), 'GGUF');
  const found = modelOrBuiltin('generate', undefined, join(pkg, 'dist'));
  assert.ok(typeof found !== 'string');
  assert.equal(found.path, join(pkg, 'model', 'default.gguf'));
  assert.equal(found.builtin, true);
  assert.equal(found.notice[0], `no --model given: using the built-in model ${join(pkg, 'model', 'default.gguf')}`);
  assert.match(found.notice[1], /^it answers where-is, definition and signature questions by quoting your code .*it does not explain code or write code$/);
  assert.match(found.notice[2], /larger GGUF model: --model FILE\.gguf/);
});

test('--page-size: absent, the model recommendation (the built-in model names 4), else 16; given, it wins', async () => {
  assert.equal(pageSizeFlag(undefined), undefined);
  assert.equal(pageSizeFlag('32'), 32);
  assert.throws(() => pageSizeFlag('eight'), /--page-size must be an integer, got 'eight'/);
  const recommended = readModelConfig(await readGguf(builtinModelPath(join(repoRoot, 'dist')))).recommendedPageSize;
  assert.equal(recommended, 4);
  // What `quest-lens ask` / `generate` load with (the engine's rule, applied in planLoad).
  assert.equal(resolvePageSize(pageSizeFlag(undefined), recommended), 4);
  assert.equal(resolvePageSize(pageSizeFlag('16'), recommended), 16);
  assert.equal(resolvePageSize(pageSizeFlag('64'), recommended), 64);
  assert.equal(resolvePageSize(pageSizeFlag(undefined), undefined), 16);
});

test('the built-in model recommends 4 dense layers and attention from its last 2 layers; a flag given wins', async () => {
  const cfg = readModelConfig(await readGguf(builtinModelPath(join(repoRoot, 'dist'))));
  assert.deepEqual([cfg.layers, cfg.recommendedDenseLayers, cfg.recommendedAttentionLayers], [8, 4, 2]);
  // What `quest-lens ask` (decodePlan) and the engine's load use without --dense-layers / attentionLayers.
  assert.equal(resolveDenseLayers(undefined, cfg.recommendedDenseLayers, cfg.layers), 4);
  assert.equal(resolveDenseLayers(2, cfg.recommendedDenseLayers, cfg.layers), 2);
  assert.equal(resolveAttentionLayers(undefined, cfg.recommendedAttentionLayers, cfg.layers), 2);
  assert.equal(resolveAttentionLayers(4, cfg.recommendedAttentionLayers, cfg.layers), 4);
});

test('the examples shown are phrasings the model was trained on', () => {
  const trained = [...questionTemplates.definition, ...questionTemplates.signature].map((t) => t.replaceAll('{name}', 'name'));
  for (const e of builtinModelExamples) assert.ok(trained.includes(e), `${e} is not a trained phrasing`);
});

test('isBuiltinModelQuestion: every trained definition and signature phrasing and the pass key; not open questions', () => {
  for (const task of ['definition', 'signature'] as const) {
    for (let v = 0; v < questionTemplates[task].length; v++) {
      const q = questionFor(task, 'parseConfig', v);
      assert.ok(isBuiltinModelQuestion(q), q);
      assert.ok(isBuiltinModelQuestion(q.toLowerCase().replace(/[`?.]/g, '')), `${q}, lower case, no punctuation`);
    }
  }
  assert.ok(isBuiltinModelQuestion(passkeyQuestion));
  for (const q of ['Explain how the receipt is printed', 'Write a test for cartTotal', 'What is this file for?', 'Why does the build fail?', 'Where is the bug?']) {
    assert.equal(isBuiltinModelQuestion(q), false, q);
  }
});
