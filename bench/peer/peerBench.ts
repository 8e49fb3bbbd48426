// llama.cpp on the same synthetic GGUF as the engine's measurement of a model (written again by the same generator
// with the same options, so byte for byte the same file: writeSyntheticModel is deterministic, checked in
// test/unit/syntheticModel.test.ts), at the same contexts, in the same bench run; each context's decode held to the
// same bytes-per-token limit as the engine's (bench/traffic.ts).
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { readGguf } from '../../gpu/gguf/reader';
import { readModelConfig } from '../../gpu/model/config';
import { type SyntheticShape, type SyntheticWeightPlan, weightPlanName, writeSyntheticModel } from '../../gpu/model/syntheticModel';
import { type StepTraffic, denseStepTraffic, ggufStepWeightBytes } from '../traffic';
import { runLlamaCpp } from './llamaCpp';
import type { LlamaCppContextRun, LlamaCppRun } from './peerTypes';

export interface PeerSettings {
  readonly promptFraction: number;
  readonly decodeTokens: number;
  readonly batchSize: number;
  readonly warmupContext: number;
  readonly threads?: number;
}

export interface PeerDecodeRun extends LlamaCppContextRun {
  /** Tokens attended by the middle decode step (prompt + decodeTokens / 2): where traffic is counted. */
  readonly decodeLength: number;
  readonly traffic: StepTraffic;
  /** traffic.total at the copy bandwidth. */
  readonly limitUs: number;
  /** limitUs over llama.cpp's own ms per token, in percent. */
  readonly percentOfLimit: number;
  /** limitUs over the wall-clock ms per token (median), in percent. */
  readonly percentOfLimitWall: number;
}

export interface PeerResult extends Omit<LlamaCppRun, 'runs'> {
  readonly peer: 'llama.cpp';
  /** The synthetic model's name and type, as the engine's ModelResult names them. */
  readonly model: string;
  readonly weightType: string;
  readonly fileBytes: number;
  /** Bytes of the GGUF's tensors one decodeStep reads. */
  readonly weightBytes: number;
  runs: PeerDecodeRun[];
}

export interface PeerContext {
  readonly tmpDir: string;
  readonly copyBytesPerSecond: number;
  readonly gpu: 'vulkan' | false;
  readonly log: (message: string) => void;
  /** The runner bundle (default: beside the bench bundle). */
  readonly runner?: string;
}

/** Writes the model as modelBench does (seed 1), measures llama.cpp at `contexts`, removes the file. */
export async function benchPeer(
  c: PeerContext,
  model: { readonly shape: SyntheticShape; readonly weightType: SyntheticWeightPlan },
  contexts: readonly number[],
  s: PeerSettings,
): Promise<PeerResult> {
  const type = weightPlanName(model.weightType);
  const path = join(c.tmpDir, `${model.shape.name.replace(/[^A-Za-z0-9.-]+/g, '_')}-${type}-peer.gguf`);
  try {
    const file = await writeSyntheticModel(path, { shape: model.shape, weightType: model.weightType, seed: 1 });
    const gguf = await readGguf(path);
    const cfg = readModelConfig(gguf);
    const weightBytes = ggufStepWeightBytes(gguf);
    c.log(`llama.cpp peer: ${model.shape.name} ${type} at ${contexts.join(', ')}`);
    const run = await runLlamaCpp(
      { model: path, gpu: c.gpu, contexts, ...s },
      { ...(c.runner ? { runner: c.runner } : {}), log: (l) => c.log(`  ${l}`) },
    );
    const runs = run.runs.map((r) => {
      const decodeLength = r.promptTokens + Math.round(s.decodeTokens / 2);
      return { ...r, decodeLength, ...limit(denseStepTraffic(weightBytes, cfg, decodeLength), r, c.copyBytesPerSecond) };
    });
    return { peer: 'llama.cpp', model: model.shape.name, weightType: type, fileBytes: file.fileSize, weightBytes, ...run, runs };
  } finally {
    rmSync(path, { force: true });
  }
}

/**
 * Where llama.cpp runs among `picked` plans: after the last picked plan of each model (shape and weight type), at the
 * contexts of all its picked plans, ascending. Keyed by plan index.
 */
export function peerContexts(plans: readonly { readonly shape: SyntheticShape; readonly weightType: SyntheticWeightPlan; readonly contexts: readonly number[] }[], picked: readonly number[]): Map<number, number[]> {
  const byModel = new Map<string, { last: number; contexts: Set<number> }>();
  for (const i of picked) {
    const key = `${plans[i].shape.name}|${weightPlanName(plans[i].weightType)}`;
    const m = byModel.get(key) ?? { last: i, contexts: new Set<number>() };
    m.last = i;
    for (const c of plans[i].contexts) m.contexts.add(c);
    byModel.set(key, m);
  }
  return new Map([...byModel.values()].map((m) => [m.last, [...m.contexts].sort((x, y) => x - y)]));
}

/** `p`'s limits against `bytesPerSecond` (the bench recomputes them when the copy measured at the end is faster). */
export function withPeerLimits(p: PeerResult, bytesPerSecond: number): PeerResult {
  return { ...p, runs: p.runs.map((r) => ({ ...r, ...limit(r.traffic, r, bytesPerSecond) })) };
}

function limit(traffic: StepTraffic, r: LlamaCppContextRun, bytesPerSecond: number) {
  const limitUs = (traffic.total / bytesPerSecond) * 1e6;
  return {
    traffic,
    limitUs,
    percentOfLimit: (limitUs / (r.decodeMsPerToken * 1000)) * 100,
    percentOfLimitWall: (limitUs / (r.decodeWallMsPerToken * 1000)) * 100,
  };
}
