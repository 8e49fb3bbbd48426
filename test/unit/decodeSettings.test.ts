// gpu/session/decodeSettings.ts decodePlan and the engine's resolve rules for what a model file may recommend besides
// its page size: the request's (or load's) value wins, then the model's recommendation, then the default; both are
// clamped to the model's layers. No GPU.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SettingsError } from '../../gpu/engine';
import { defaultAttentionLayers, resolveAttentionLayers } from '../../gpu/forward/forward';
import type { DecodeSettings } from '../../gpu/protocol';
import { decodePlan, defaultDenseLayers, resolveDenseLayers } from '../../gpu/session/decodeSettings';

const quest: DecodeSettings = { mode: 'quest', tokenBudget: 64, aggregation: 'sum', temperature: 0, maxAnswerTokens: 8, seed: 0 };
const shape = { pageSize: 8, maxPages: 100, layers: 8 };

test('resolveDenseLayers: the request\'s dense layers win, then the model\'s recommendation, then 2; clamped to the layers', () => {
  assert.equal(defaultDenseLayers, 2);
  assert.equal(resolveDenseLayers(1, 4, 8), 1);
  assert.equal(resolveDenseLayers(0, 4, 8), 0, '0 is an explicit choice, not absent');
  assert.equal(resolveDenseLayers(undefined, 4, 8), 4);
  assert.equal(resolveDenseLayers(undefined, undefined, 8), 2);
  assert.equal(resolveDenseLayers(undefined, undefined, 1), 1, 'a model of fewer layers: all of them');
  assert.equal(resolveDenseLayers(30, 4, 8), 8);
});

test('decodePlan: absent denseLayers follow the model (questlens.dense_layers), else 2; clamped to the layers', () => {
  const dense = (d: DecodeSettings, recommendedDenseLayers?: number) => decodePlan(d, { ...shape, recommendedDenseLayers }).quest.denseLayers;
  assert.equal(dense(quest, 4), 4, "no denseLayers: the model's recommendation");
  assert.equal(dense(quest), 2, 'no denseLayers, no recommendation: 2');
  assert.equal(dense({ ...quest, denseLayers: 1 }, 4), 1, 'an explicit value wins');
  assert.equal(dense({ ...quest, denseLayers: 2 }, 4), 2, 'the default given explicitly still wins');
  assert.equal(dense({ ...quest, denseLayers: 30 }, 4), 8, 'clamped to the model\'s layers');
  assert.throws(() => dense({ ...quest, denseLayers: 1.5 }, 4), (e: unknown) => e instanceof SettingsError && /denseLayers \(1\.5\) must be an integer >= 0/.test((e as Error).message));
  assert.throws(() => dense({ ...quest, denseLayers: -1 }, 4), (e: unknown) => e instanceof SettingsError && /denseLayers \(-1\) must be an integer >= 0/.test((e as Error).message));
  // Dense mode reads every layer densely whatever is recommended.
  assert.equal(decodePlan({ ...quest, mode: 'dense' }, { ...shape, recommendedDenseLayers: 4 }).quest.mode, 'dense');
});

test('resolveAttentionLayers: the load\'s value wins, then the model\'s recommendation, then 4; clamped to the layers', () => {
  assert.equal(defaultAttentionLayers, 4);
  assert.equal(resolveAttentionLayers(3, 2, 8), 3);
  assert.equal(resolveAttentionLayers(undefined, 2, 8), 2, "the model's recommendation (the built-in model: 2)");
  assert.equal(resolveAttentionLayers(undefined, undefined, 8), 4);
  assert.equal(resolveAttentionLayers(undefined, undefined, 2), 2, 'a model of fewer layers: all of them');
  assert.equal(resolveAttentionLayers(12, 2, 8), 8);
});
