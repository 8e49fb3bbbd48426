// One model on the engine (a synthetic one written for the run, or a model file such as the built-in model): loaded,
// its cache filled to each context (by real prefill, or by kvAppend with random keys and values for long contexts),
// then decoded densely and with Quest at each budget: wall-clock tokens/s through Engine.generate, and one decodeStep
// profiled on the GPU.
import type { Gpu } from '../gpu/device';
import { Engine, denseSettings } from '../gpu/engine';
import type { QuestSettings } from '../gpu/forward/forward';
import type { Aggregation } from '../gpu/kernels/pageScore';
import { resolveDenseLayers } from '../gpu/session/decodeSettings';
import { profileDecodeStep } from './decodeProfile';
import { type MatvecLayoutTime, sweepMatvecLayouts } from './matvecSweep';
import { type QuestKernelTime, sweepQuestKernels } from './questSweep';
import { type ObserveRun, measureObserveCost } from './observeCost';

import { type GpuTimer, median } from './gpuTimer';
import { fillKvCache } from './kvFill';
import { type ModelSource, isFileSource, openModelSource } from './modelSource';
import type { DecodeRun, ModelResult } from './results';
import { stepTraffic, stepWeightBytes } from './traffic';

/** A model (synthetic, or a file: modelSource.ts) and what to measure on it. */
export type ModelPlan = ModelSource & {
  readonly fill: 'prefill' | 'kvAppend';
  readonly contexts: readonly number[];
  /** Quest token budgets; those not below a context are skipped there. */
  readonly budgets: readonly number[];
  /** Contexts at which to measure what citations and tracing cost (observeCost.ts), dense and at one Quest budget. */
  readonly observe?: readonly number[];
  /** Time every decode matvec layout on this model's weights at its first context (matvecSweep.ts). */
  readonly matvecSweep?: boolean;
  /** Time Quest's selection kernels at other settings at every context (questSweep.ts). */
  readonly questSweep?: boolean;
};

/** Quest's aggregation in every run: the engine's default (README, Engine). */
export const benchAggregation: Aggregation = 'sum';

export interface BenchContext {
  readonly gpu: Gpu;
  readonly timer?: GpuTimer;
  readonly copyBytesPerSecond: number;
  readonly tmpDir: string;
  /** The repository: a file plan's path is relative to it. */
  readonly root: string;
  /**
   * The synthetic plans' page size and dense layers (every synthetic plan uses them, so their figures stay comparable
   * across runs); a file plan passes none to the resolvers and gets its model's recommendation, else the defaults.
   */
  readonly pageSize: number;
  readonly denseLayers: number;
  readonly decodeTokens: number;
  readonly profileReps: number;
  readonly log: (message: string) => void;
}

/** Runs `plan`, calling `done` with each context's result as soon as it is measured. */
export async function benchModel(c: BenchContext, plan: ModelPlan, done: (r: ModelResult) => void): Promise<void> {
  c.log(isFileSource(plan) ? `${plan.file}: reading` : `${plan.shape.name}: writing into ${c.tmpDir}`);
  const file = await openModelSource(plan, c);
  // Room for the decoded tokens, and for the end-of-generation tokens decodeRun prefills to go on past them.
  const capacity = Math.max(...plan.contexts) + c.decodeTokens + 16;
  const made = file.generateMs !== undefined ? ` in ${(file.generateMs / 1000).toFixed(1)} s` : '';
  c.log(`  ${file.name} ${file.weightType}: ${(file.fileBytes / 2 ** 30).toFixed(2)} GiB${made}; loading with capacity ${capacity}`);
  // Explicit settings for synthetic plans; none for a file, so that Engine.load's resolvePageSize and
  // resolveDenseLayers below take its recommendation: what is recorded is what the engine used.
  const explicit: { readonly pageSize?: number; readonly denseLayers?: number } = isFileSource(plan) ? {} : { pageSize: c.pageSize, denseLayers: c.denseLayers };
  let t0 = performance.now();
  let engine: Engine;
  try {
    engine = await Engine.load(c.gpu, file.path, { maxContext: capacity, ...(explicit.pageSize !== undefined ? { pageSize: explicit.pageSize } : {}) });
  } catch (e) {
    file.remove();
    throw e;
  }
  const loadMs = performance.now() - t0;
  const cfg = engine.info.config;
  const pageSize = engine.info.kv.pageSize;
  const denseLayers = resolveDenseLayers(explicit.denseLayers, cfg.recommendedDenseLayers, cfg.layers);
  c.log(
    `  loaded in ${(loadMs / 1000).toFixed(2)} s (weights ${(engine.info.memory.weights / 2 ** 30).toFixed(2)} GiB, KV ${(engine.info.memory.kv.total / 2 ** 30).toFixed(2)} GiB); ` +
      `pages of ${pageSize}, ${denseLayers} dense layers${isFileSource(plan) ? ` (the file recommends ${cfg.recommendedPageSize !== undefined ? `pages of ${cfg.recommendedPageSize}` : 'no page size'}, ${cfg.recommendedDenseLayers ?? 'no'} dense layers)` : ''}`,
  );
  try {
    const weights = stepWeightBytes(engine.internals().weights);
    const vocab = engine.info.config.vocab;
    const token = 65 % vocab;
    for (const context of plan.contexts) {
      engine.truncate(0);
      let prefillMs: number | undefined;
      let fillMs: number | undefined;
      if (plan.fill === 'prefill') {
        const ids = Array.from({ length: context }, (_, i) => (i * 2654435761) % vocab);
        t0 = performance.now();
        await engine.prefill(ids);
        prefillMs = performance.now() - t0;
        c.log(`  context ${context}: prefill ${(prefillMs / 1000).toFixed(2)} s (${(context / (prefillMs / 1000)).toFixed(0)} tok/s)`);
      } else {
        fillMs = await fillKvCache(engine, context - 1, 7);
        await engine.prefill([token]);
        c.log(`  context ${context}: KV filled by kvAppend in ${(fillMs / 1000).toFixed(2)} s`);
      }
      const settings: QuestSettings[] = [denseSettings];
      for (const b of plan.budgets) {
        if (b >= context) continue;
        settings.push({ mode: 'quest', pageBudget: Math.floor(b / pageSize), denseLayers, aggregation: benchAggregation });
      }
      const runs: DecodeRun[] = [];
      for (const quest of settings) {
        const r = await decodeRun(c, engine, quest, context, token, weights, pageSize);
        runs.push(r);
        const p = r.profile;
        c.log(
          `    ${quest.mode}${r.budget ? ` ${r.budget}` : ''}: ${r.tokensPerSecond.toFixed(1)} tok/s (${r.msPerToken.toFixed(3)} ms/token, ` +
            `${r.percentOfLimit.toFixed(0)} % of limit)` +
            (p ? `; GPU step ${p.stepGpuUs.toFixed(0)} µs, matmul ${(p.matmul.bytesPerSecond / 1e9).toFixed(0)} GB/s, attention/layer ${fmt(p.attention.dense)} dense, ${fmt(p.attention.quest)} quest µs` : ''),
        );
      }
      let observe: ObserveRun[] | undefined;
      if (plan.observe?.includes(context)) {
        // Dense, and Quest at the extension's default budget (1024 tokens) or the largest below the context.
        const budget = plan.budgets.filter((b) => b < context).sort((a, b) => Math.abs(a - 1024) - Math.abs(b - 1024))[0];
        observe = [];
        for (const quest of settings.filter((q) => q.mode === 'dense' || q.pageBudget * pageSize === budget)) {
          const o = await measureObserveCost(engine, quest, context, token, { tokens: c.decodeTokens, rounds: 5, pageSize });
          observe.push(...o);
          c.log(`    observe ${quest.mode}${quest.mode === 'quest' ? ` ${budget}` : ''}: ${o.map((r) => `${r.config} ${r.tokensPerSecond.toFixed(1)}`).join(', ')} tok/s`);
        }
      }
      let questKernels: QuestKernelTime[] | undefined;
      if (plan.questSweep && c.timer) {
        questKernels = await sweepQuestKernels(engine, c.timer, { context, budgets: plan.budgets, denseLayers, aggregation: benchAggregation, reps: c.profileReps });
        const us = (k: string) => questKernels!.filter((q) => q.kernel === k).map((q) => `${q.setting}${q.budget ? `@${q.budget}` : ''} ${q.usPerLayer.toFixed(1)}`).join(', ');
        c.log(`    pageScore µs/layer by workgroups: ${us('pageScore')}; selectPages by threads@budget: ${us('selectPages')}`);
      }
      let matvecLayouts: MatvecLayoutTime[] | undefined;
      if (plan.matvecSweep && c.timer && context === plan.contexts[0]) {
        matvecLayouts = await sweepMatvecLayouts(engine, c.timer, c.profileReps);
        for (const role of new Set(matvecLayouts.map((m) => m.role))) {
          const of = matvecLayouts.filter((m) => m.role === role);
          const best = of.reduce((a, b) => (b.us < a.us ? b : a));
          const mine = of.find((m) => m.engine);
          const v = best.variant;
          c.log(`    matvec ${role}: best ${v.workgroup}/${v.threadsPerRow}/${v.rowsPerGroup} ${best.us.toFixed(1)} µs (${(best.bytesPerSecond / 1e9).toFixed(0)} GB/s), engine's ${mine ? `${mine.us.toFixed(1)} µs` : '-'}`);
        }
      }
      done({
        model: file.name,
        shape: file.shape,
        weightType: file.weightType,
        ...(isFileSource(plan) ? { file: plan.file } : {}),
        parameters: file.parameters,
        fileBytes: file.fileBytes,
        weightBytes: engine.info.memory.weights,
        capacity,
        ...(file.generateMs !== undefined ? { generateMs: file.generateMs } : {}),
        loadMs,
        pageSize,
        denseLayers,
        fill: plan.fill,
        context,
        ...(prefillMs !== undefined ? { prefillMs } : {}),
        ...(fillMs !== undefined ? { fillMs } : {}),
        runs,
        ...(observe ? { observe } : {}),
        ...(matvecLayouts ? { matvecLayouts } : {}),
        ...(questKernels ? { questKernels } : {}),
      });
    }
  } finally {
    engine.dispose();
    file.remove();
  }
}

/**
 * Decodes c.decodeTokens steps after a `context`-token cache; profiles one step first when a timer exists. A real
 * model may end its answer early (an end-of-generation token): that token then goes into the cache by prefill and
 * generation goes on, at most maxRestarts times; only the gaps between tokens of one generate() are timed (a
 * prefill is no decodeStep).
 */
async function decodeRun(c: BenchContext, engine: Engine, quest: QuestSettings, context: number, token: number, weights: number, pageSize: number): Promise<DecodeRun> {
  // Each measurement starts from the same cache: context - 1 filled tokens plus `token` run through the model.
  const reset = async () => {
    engine.truncate(context - 1);
    await engine.prefill([token]);
  };
  await reset();
  let profile;
  if (c.timer) {
    profile = await profileDecodeStep(engine, c.timer, quest, c.profileReps, token);
    await reset();
  }
  const gaps: number[] = []; // ms between consecutive tokens of one generate(): one decodeStep each
  let restarts = 0;
  for (;;) {
    let last: { at: number; token: number } | undefined;
    for await (const t of engine.generate({ maxTokens: c.decodeTokens - gaps.length + 1, quest })) {
      const at = performance.now();
      if (last) gaps.push(at - last.at);
      last = { at, token: t.token };
    }
    if (gaps.length >= c.decodeTokens) break;
    if (!last || ++restarts > maxRestarts) {
      throw new Error(`bench: generation ended early ${restarts} times (end-of-generation tokens) with ${gaps.length} of ${c.decodeTokens} steps timed`);
    }
    await engine.prefill([last.token]);
  }
  const steps = gaps.length;
  const msPerToken = median(gaps);
  const meanMsPerToken = gaps.reduce((a, b) => a + b, 0) / steps;
  const traffic = stepTraffic(weights, engine.info.kv, context + 1, quest);
  const limitUs = (traffic.total / c.copyBytesPerSecond) * 1e6;
  return {
    mode: quest.mode,
    ...(quest.mode === 'quest' ? { budget: quest.pageBudget * pageSize, pageBudget: quest.pageBudget } : {}),
    context,
    steps,
    ...(restarts ? { restarts } : {}),
    msPerToken,
    meanMsPerToken,
    tokensPerSecond: 1000 / msPerToken,
    traffic,
    limitUs,
    percentOfLimit: (limitUs / (msPerToken * 1000)) * 100,
    ...(profile ? { profile } : {}),
  };
}

/** End-of-generation tokens a decode run goes on past: each takes one token of the capacity's 16 spare ones. */
const maxRestarts = 8;

const fmt = (x: number | undefined) => (x === undefined ? '-' : x.toFixed(1));
