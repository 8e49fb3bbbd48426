// From the protocol's DecodeSettings (what the user set) to what Engine.generate takes.
//   tokenBudget → pageBudget = floor(tokenBudget / pageSize), the last (partial) page included; a budget that is not a
//   multiple of the page size is rounded down; a budget of more pages than the cache holds is clamped to the cache
//   (Quest then reads everything, as dense does); less than one page is an error.
//   denseLayers: the request's, else the model's recommendation (`questlens.dense_layers`), else 2 (resolveDenseLayers);
//   clamped to the model's layers (a setting meant for a deeper model still works).
//   temperature <= 0 is greedy; otherwise top-k 40 and top-p 0.95 (llama.cpp's defaults) with the request's seed.
import type { GenerateOptions } from '../engine';
import { SettingsError } from '../engine';
import type { QuestSettings } from '../forward/forward';
import type { DecodeSettings } from '../protocol';

export const samplingTopK = 40;
export const samplingTopP = 0.95;

/** Leading dense layers in Quest mode when neither the request nor the model (`questlens.dense_layers`) picks them. */
export const defaultDenseLayers = 2;

/**
 * The dense layers a Quest answer uses: the request's wins, then the model's recommendation, then defaultDenseLayers;
 * at most the model's layers (a setting meant for a deeper model still works).
 */
export function resolveDenseLayers(explicit: number | undefined, recommended: number | undefined, layers: number): number {
  return Math.min(explicit ?? recommended ?? defaultDenseLayers, layers);
}

/** What decodePlan checks a request against: the cache as loaded and the model's shape and recommendation. */
export interface DecodeShape {
  readonly pageSize: number;
  readonly maxPages: number;
  readonly layers: number;
  /** ModelConfig.recommendedDenseLayers: used when the request names no denseLayers. */
  readonly recommendedDenseLayers?: number;
}

export interface DecodePlan {
  readonly quest: QuestSettings;
  readonly sampling?: GenerateOptions['sampling'];
  readonly maxTokens: number;
}

/** Checks `d` against the model and cache; throws SettingsError naming the setting, its value and the limit. */
export function decodePlan(d: DecodeSettings, shape: DecodeShape): DecodePlan {
  const { pageSize, maxPages, layers } = shape;
  if (d.mode !== 'dense' && d.mode !== 'quest') throw new SettingsError(`mode ('${String(d.mode)}') must be 'dense' or 'quest'`);
  if (d.aggregation !== 'max' && d.aggregation !== 'sum') throw new SettingsError(`aggregation ('${String(d.aggregation)}') must be 'max' or 'sum'`);
  if (!(Number.isInteger(d.maxAnswerTokens) && d.maxAnswerTokens >= 1)) {
    throw new SettingsError(`maxAnswerTokens (${d.maxAnswerTokens}) must be an integer >= 1`);
  }
  if (!Number.isFinite(d.temperature)) throw new SettingsError(`temperature (${d.temperature}) must be a number (<= 0: greedy)`);
  if (!Number.isInteger(d.seed)) throw new SettingsError(`seed (${d.seed}) must be an integer`);
  let quest: QuestSettings = { mode: 'dense', pageBudget: 1, denseLayers: 0, aggregation: d.aggregation };
  if (d.mode === 'quest') {
    if (!(Number.isInteger(d.tokenBudget) && d.tokenBudget >= pageSize)) {
      throw new SettingsError(`tokenBudget (${d.tokenBudget}) must be an integer of at least one page (pageSize ${pageSize} tokens)`);
    }
    // The request's value is checked as given; a recommendation was checked when the model was read.
    if (d.denseLayers !== undefined && !(Number.isInteger(d.denseLayers) && d.denseLayers >= 0)) {
      throw new SettingsError(`denseLayers (${d.denseLayers}) must be an integer >= 0`);
    }
    quest = {
      mode: 'quest',
      pageBudget: Math.min(Math.floor(d.tokenBudget / pageSize), maxPages),
      denseLayers: resolveDenseLayers(d.denseLayers, shape.recommendedDenseLayers, layers),
      aggregation: d.aggregation,
    };
  }
  return {
    quest,
    maxTokens: d.maxAnswerTokens,
    ...(d.temperature > 0 ? { sampling: { temperature: d.temperature, topK: samplingTopK, topP: samplingTopP, seed: d.seed } } : {}),
  };
}
