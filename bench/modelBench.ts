// One synthetic model on the engine: written, loaded, its cache filled to each context (by real prefill, or by
// kvAppend with random keys and values for long contexts), then decoded densely and with Quest at each budget:
// wall-clock tokens/s through Engine.generate, and one decodeStep profiled on the GPU.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Gpu } from '../gpu/device';
import { Engine, denseSettings } from '../gpu/engine';
import type { QuestSettings } from '../gpu/forward/forward';
import type { Aggregation } from '../gpu/kernels/pageScore';
import { type SyntheticShape, type SyntheticWeightPlan, weightPlanName, writeSyntheticModel } from '../gpu/model/syntheticModel';
import { profileDecodeStep } from './decodeProfile';
import { type MatvecLayoutTime, sweepMatvecLayouts } from './matvecSweep';
import { type QuestKernelTime, sweepQuestKernels } from './questSweep';
import { type ObserveRun, measureObserveCost } from './observeCost';

import { type GpuTimer, median } from './gpuTimer';
import { fillKvCache } from './kvFill';
import type { DecodeRun, ModelResult } from './results';
import { stepTraffic, stepWeightBytes } from './traffic';

export interface ModelPlan {
  readonly shape: SyntheticShape;
  readonly weightType: SyntheticWeightPlan;
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
}

/** Quest's aggregation in every run: the engine's default (README, Engine). */
export const benchAggregation: Aggregation = 'sum';

export interface BenchContext {
  readonly gpu: Gpu;
  readonly timer?: GpuTimer;
  readonly copyBytesPerSecond: number;
  readonly tmpDir: string;
  readonly pageSize: number;
  readonly denseLayers: number;
  readonly decodeTokens: number;
  readonly profileReps: number;
  readonly log: (message: string) => void;
}

/** Runs `plan`, calling `done` with each context's result as soon as it is measured. */
export async function benchModel(c: BenchContext, plan: ModelPlan, done: (r: ModelResult) => void): Promise<void> {
  const type = weightPlanName(plan.weightType);
  const path = join(c.tmpDir, `${plan.shape.name.replace(/[^A-Za-z0-9.-]+/g, '_')}-${type}.gguf`);
  c.log(`${plan.shape.name} ${type}: writing ${path}`);
  let t0 = performance.now();
  const file = await writeSyntheticModel(path, { shape: plan.shape, weightType: plan.weightType, seed: 1 });
  const generateMs = performance.now() - t0;
  const capacity = Math.max(...plan.contexts) + c.decodeTokens + 16;
  c.log(`  ${(file.fileSize / 2 ** 30).toFixed(2)} GiB in ${(generateMs / 1000).toFixed(1)} s; loading with capacity ${capacity}`);
  t0 = performance.now();
  const engine = await Engine.load(c.gpu, path, { maxContext: capacity, pageSize: c.pageSize });
  const loadMs = performance.now() - t0;
  c.log(`  loaded in ${(loadMs / 1000).toFixed(2)} s (weights ${(engine.info.memory.weights / 2 ** 30).toFixed(2)} GiB, KV ${(engine.info.memory.kv.total / 2 ** 30).toFixed(2)} GiB)`);
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
        settings.push({ mode: 'quest', pageBudget: Math.floor(b / c.pageSize), denseLayers: Math.min(c.denseLayers, engine.info.config.layers), aggregation: benchAggregation });
      }
      const runs: DecodeRun[] = [];
      for (const quest of settings) {
        const r = await decodeRun(c, engine, quest, context, token, weights);
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
        for (const quest of settings.filter((q) => q.mode === 'dense' || q.pageBudget * c.pageSize === budget)) {
          const o = await measureObserveCost(engine, quest, context, token, { tokens: c.decodeTokens, rounds: 5, pageSize: c.pageSize });
          observe.push(...o);
          c.log(`    observe ${quest.mode}${quest.mode === 'quest' ? ` ${budget}` : ''}: ${o.map((r) => `${r.config} ${r.tokensPerSecond.toFixed(1)}`).join(', ')} tok/s`);
        }
      }
      let questKernels: QuestKernelTime[] | undefined;
      if (plan.questSweep && c.timer) {
        const denseLayers = Math.min(c.denseLayers, engine.info.config.layers);
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
        model: plan.shape.name,
        shape: shapeText(plan.shape),
        weightType: type,
        parameters: file.parameters,
        fileBytes: file.fileSize,
        weightBytes: engine.info.memory.weights,
        capacity,
        generateMs,
        loadMs,
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
    rmSync(path, { force: true });
  }
}

/** Decodes c.decodeTokens tokens after a `context`-token cache; profiles one step first when a timer exists. */
async function decodeRun(c: BenchContext, engine: Engine, quest: QuestSettings, context: number, token: number, weights: number): Promise<DecodeRun> {
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
  const at: number[] = [];
  for await (const _ of engine.generate({ maxTokens: c.decodeTokens + 1, quest })) at.push(performance.now());
  const steps = at.length - 1;
  if (steps < 1) throw new Error(`bench: generation stopped after ${at.length} token(s) (an end-of-generation token); no step to time`);
  const msPerToken = median(at.slice(1).map((t, i) => t - at[i]));
  const meanMsPerToken = (at[steps] - at[0]) / steps;
  const traffic = stepTraffic(weights, engine.info.kv, context + 1, quest);
  const limitUs = (traffic.total / c.copyBytesPerSecond) * 1e6;
  return {
    mode: quest.mode,
    ...(quest.mode === 'quest' ? { budget: quest.pageBudget * c.pageSize, pageBudget: quest.pageBudget } : {}),
    context,
    steps,
    msPerToken,
    meanMsPerToken,
    tokensPerSecond: 1000 / msPerToken,
    traffic,
    limitUs,
    percentOfLimit: (limitUs / (msPerToken * 1000)) * 100,
    ...(profile ? { profile } : {}),
  };
}

export function shapeText(s: SyntheticShape): string {
  return `${s.layers} layers, dim ${s.dim}, ffn ${s.ffn}, ${s.heads}/${s.kvHeads} heads × ${s.headDim}, vocab ${s.vocab}`;
}

const fmt = (x: number | undefined) => (x === undefined ? '-' : x.toFixed(1));
