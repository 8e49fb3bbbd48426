// extension/settingsMap.ts: settings → DecodeSettings / ReaderSettings, the model path in restricted mode, the
// built-in model when none is configured, and the defaults matching package.json's contributions.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '../util/paths';
import {
  denseLayersInUse,
  effectiveModelPath,
  expandHome,
  explicitDenseLayers,
  explicitPageSize,
  modelToLoad,
  normalizeSettings,
  pageSizeInUse,
  settingDefaults,
  toDecodeSettings,
  toReaderSettings,
  tokenBudgetInPages,
} from '../../extension/settingsMap';

const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
  contributes: { configuration: { properties: Record<string, { default: unknown; enum?: unknown[]; minimum?: number }> } };
};
const properties = pkg.contributes.configuration.properties;

test('every setting the mapping reads is contributed in package.json with the same default, and nothing else is', () => {
  const mapped = Object.keys(settingDefaults).map((k) => `questLens.${k}`).sort();
  assert.deepEqual(Object.keys(properties).sort(), mapped);
  for (const [key, value] of Object.entries(settingDefaults)) {
    assert.deepEqual(properties[`questLens.${key}`].default, value, `questLens.${key}`);
  }
  assert.deepEqual(properties['questLens.pageSize'].enum, [4, 8, 16, 32, 64]);
});

test('normalizeSettings: an empty configuration gives the defaults', () => {
  assert.deepEqual(normalizeSettings({}), settingDefaults);
});

test('normalizeSettings: mistyped and out-of-range values fall back or are clamped', () => {
  const s = normalizeSettings({
    modelPath: '  /m/a.gguf  ',
    mode: 'sparse',
    tokenBudget: 3.6,
    pageSize: 24,
    denseLayers: -3,
    aggregation: 'mean',
    maxContextTokens: 100,
    include: ['src/**', 7, '  ', 'lib/**'],
    exclude: 'dist/**',
    useGitignore: 'no',
    maxFileBytes: 0,
    temperature: -1,
    maxAnswerTokens: Number.NaN,
  });
  assert.deepEqual(s, {
    modelPath: '/m/a.gguf',
    mode: 'quest',
    tokenBudget: 16,
    pageSize: 16,
    denseLayers: 0,
    aggregation: 'sum',
    maxContextTokens: 256,
    include: ['src/**', 'lib/**'],
    exclude: [],
    useGitignore: true,
    maxFileBytes: 1,
    temperature: 0,
    maxAnswerTokens: 512,
  });
});

test('page size: a value the user or workspace set wins, then the model recommendation, then 16', () => {
  assert.equal(explicitPageSize(undefined), undefined);
  // inspect() of an unset setting has only its default: nothing explicit.
  assert.equal(explicitPageSize({}), undefined);
  assert.equal(explicitPageSize({ globalValue: 32 }), 32);
  assert.equal(explicitPageSize({ globalValue: 32, workspaceValue: 64 }), 64);
  assert.equal(explicitPageSize({ globalValue: 32, workspaceValue: 64, workspaceFolderValue: 8 }), 8);
  // A value outside the enum does not count; the next scope's does.
  assert.equal(explicitPageSize({ globalValue: 32, workspaceValue: 12 }), 32);
  assert.equal(explicitPageSize({ globalValue: '16' }), undefined);

  assert.equal(pageSizeInUse(explicitPageSize({}), 8), 8, "unset: the model's recommendation");
  assert.equal(pageSizeInUse(explicitPageSize({ globalValue: 16 }), 8), 16, 'set to the default explicitly: still wins');
  assert.equal(pageSizeInUse(explicitPageSize({ workspaceValue: 32 }), 8), 32);
  assert.equal(pageSizeInUse(explicitPageSize({}), undefined), 16, 'no recommendation: the default');
});

test('dense layers: a value the user or workspace set wins, then the model recommendation, then 2', () => {
  assert.equal(explicitDenseLayers(undefined), undefined);
  assert.equal(explicitDenseLayers({}), undefined, 'unset: only the default, nothing explicit');
  assert.equal(explicitDenseLayers({ globalValue: 0 }), 0, '0 is an explicit choice');
  assert.equal(explicitDenseLayers({ globalValue: 3, workspaceValue: 1 }), 1);
  assert.equal(explicitDenseLayers({ globalValue: 3, workspaceValue: 1, workspaceFolderValue: 6 }), 6);
  // A value that is not a whole number >= 0 does not count; the next scope's does.
  assert.equal(explicitDenseLayers({ globalValue: 3, workspaceValue: -1 }), 3);
  assert.equal(explicitDenseLayers({ globalValue: 3, workspaceValue: 1.5 }), 3);
  assert.equal(explicitDenseLayers({ globalValue: '2' }), undefined);

  assert.equal(denseLayersInUse(explicitDenseLayers({}), 4), 4, "unset: the model's recommendation");
  assert.equal(denseLayersInUse(explicitDenseLayers({ globalValue: 2 }), 4), 2, 'set to the default explicitly: still wins');
  assert.equal(denseLayersInUse(explicitDenseLayers({ workspaceValue: 0 }), 4), 0);
  assert.equal(denseLayersInUse(explicitDenseLayers({}), undefined), 2, 'no recommendation: the default');
});

test('package.json: questLens.pageSize and questLens.denseLayers say that a model may recommend them', () => {
  assert.match(String((properties['questLens.pageSize'] as { markdownDescription?: string }).markdownDescription), /model's recommended page size is used/);
  const dense = String((properties['questLens.denseLayers'] as { markdownDescription?: string }).markdownDescription);
  assert.match(dense, /the model's recommendation is used when it names one \(GGUF `questlens\.dense_layers`; the built-in model recommends 4\), else 2/);
});

test('tokenBudgetInPages: rounded up to whole pages, at least 2 pages', () => {
  const table: Array<[budget: number, pageSize: number, want: number]> = [
    [1024, 16, 1024],
    [1000, 16, 1008],
    [17, 16, 32],
    [16, 16, 32],
    [16, 64, 128],
    [129, 64, 192],
    [61, 8, 64],
  ];
  for (const [budget, pageSize, want] of table) assert.equal(tokenBudgetInPages(budget, pageSize), want, `${budget} tokens, page ${pageSize}`);
});

test('toDecodeSettings: the settings as the engine takes them', () => {
  const s = normalizeSettings({ mode: 'dense', tokenBudget: 100, pageSize: 32, denseLayers: 1, aggregation: 'sum', temperature: 0.7, maxAnswerTokens: 64 });
  assert.deepEqual(toDecodeSettings(s, 1234), {
    mode: 'dense',
    tokenBudget: 128,
    denseLayers: 1,
    aggregation: 'sum',
    temperature: 0.7,
    maxAnswerTokens: 64,
    seed: 1234,
  });
});

test('toReaderSettings: VS Code exclude expressions keep only the values VS Code allows', () => {
  const s = normalizeSettings({ include: ['src/**'], exclude: ['**/*.snap'], useGitignore: false, maxFileBytes: 5000 });
  const r = toReaderSettings(s, {
    filesExclude: { '**/.git': true, '**/*.js': { when: '$(basename).ts' }, off: false, bad: 'yes', worse: { when: 3 } },
    searchExclude: ['not', 'a', 'record'],
  });
  assert.deepEqual(r, {
    include: ['src/**'],
    exclude: ['**/*.snap'],
    filesExclude: { '**/.git': true, '**/*.js': { when: '$(basename).ts' }, off: false },
    searchExclude: {},
    useGitignore: false,
    maxFileBytes: 5000,
  });
});

test('effectiveModelPath: trusted workspaces use the most specific value', () => {
  const inspected = { defaultValue: '', globalValue: '/user/m.gguf', workspaceValue: '/ws/m.gguf', workspaceFolderValue: '/folder/m.gguf' };
  assert.deepEqual(effectiveModelPath(inspected, true), { path: '/folder/m.gguf' });
  assert.deepEqual(effectiveModelPath({ ...inspected, workspaceFolderValue: undefined }, true), { path: '/ws/m.gguf' });
  assert.deepEqual(effectiveModelPath({ defaultValue: '', globalValue: '/user/m.gguf' }, true), { path: '/user/m.gguf' });
  assert.deepEqual(effectiveModelPath({ defaultValue: '' }, true), { path: '' });
  assert.deepEqual(effectiveModelPath(undefined, true), { path: '' });
});

test('effectiveModelPath: restricted mode ignores workspace and folder values', () => {
  assert.deepEqual(effectiveModelPath({ defaultValue: '', globalValue: '/user/m.gguf', workspaceValue: '/evil/x.gguf' }, false), { path: '/user/m.gguf' });
  assert.deepEqual(effectiveModelPath({ defaultValue: '', workspaceFolderValue: '/evil/y.gguf' }, false), { path: '' });
  assert.deepEqual(effectiveModelPath({ defaultValue: '', globalValue: '/user/m.gguf' }, false), { path: '/user/m.gguf' });
  assert.deepEqual(effectiveModelPath({ defaultValue: '', globalValue: '/m.gguf', workspaceValue: '/m.gguf' }, false), { path: '/m.gguf' });
});

test('modelToLoad: the configured model, else the built-in one (restricted mode included)', () => {
  const builtin = '/ext/model/default.gguf';
  assert.deepEqual(modelToLoad({ path: '/user/m.gguf' }, builtin), { path: '/user/m.gguf', builtin: false });
  assert.deepEqual(modelToLoad({ path: '' }, builtin), { path: builtin, builtin: true });
  // Restricted mode ignored the workspace's model: the built-in one loads.
  const restricted = effectiveModelPath({ defaultValue: '', workspaceValue: '/evil/x.gguf' }, false);
  assert.deepEqual(modelToLoad(restricted, builtin), { path: builtin, builtin: true });
  // A user's own value wins over the built-in model in restricted mode too.
  assert.deepEqual(modelToLoad(effectiveModelPath({ defaultValue: '', globalValue: '/user/m.gguf', workspaceValue: '/evil/x.gguf' }, false), builtin), {
    path: '/user/m.gguf',
    builtin: false,
  });
  // A configured path that names the built-in file (however spelled) is the built-in model.
  assert.deepEqual(modelToLoad({ path: '/ext/dist/../model/default.gguf' }, builtin), { path: '/ext/dist/../model/default.gguf', builtin: true });
});

test('expandHome: ~ and ${userHome}', () => {
  assert.equal(expandHome('~/models/a.gguf', '/home/u'), '/home/u/models/a.gguf');
  assert.equal(expandHome('~', '/home/u'), '/home/u');
  assert.equal(expandHome('${userHome}/b.gguf', '/home/u'), '/home/u/b.gguf');
  assert.equal(expandHome('/abs/~x.gguf', '/home/u'), '/abs/~x.gguf');
  assert.equal(expandHome('~other/a.gguf', '/home/u'), '~other/a.gguf');
});
