// llama.cpp on the same GGUF as the engine's measurement of a model (a synthetic one written again by the same
// generator with the same options, so byte for byte the same file: writeSyntheticModel is deterministic, checked in
// test/unit/syntheticModel.test.ts; or the same model file), at the same contexts, in the same bench run; each
// context's decode held to the same bytes-per-token limit as the engine's (bench/traffic.ts).
import { readGguf } from '../../gpu/gguf/reader';
import { readModelConfig } from '../../gpu/model/config';
import { weightPlanName } from '../../gpu/model/syntheticModel';
import { type ModelSource, isFileSource, openModelSource } from '../modelSource';
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
  /** The model's name and type, as the engine's ModelResult names them. */
  readonly model: string;
  readonly weightType: string;
  readonly fileBytes: number;
  /** Bytes of the GGUF's tensors one decodeStep reads. */
  readonly weightBytes: number;
  runs: PeerDecodeRun[];
}

export interface PeerContext {
  readonly tmpDir: string;
  /** The repository: a model file's path is relative to it. */
  readonly root: string;
  readonly copyBytesPerSecond: number;
  readonly gpu: 'vulkan' | false;
  readonly log: (message: string) => void;
  /** The runner bundle (default: beside the bench bundle). */
  readonly runner?: string;
}

/** Opens the model as modelBench does (a synthetic one written with seed 1), measures llama.cpp at `contexts`. */
export async function benchPeer(c: PeerContext, model: ModelSource, contexts: readonly number[], s: PeerSettings): Promise<PeerResult> {
  const file = await openModelSource(model, c);
  try {
    const gguf = await readGguf(file.path);
    const cfg = readModelConfig(gguf);
    const weightBytes = ggufStepWeightBytes(gguf);
    c.log(`llama.cpp peer: ${file.name} ${file.weightType} at ${contexts.join(', ')}`);
    const run = await runLlamaCpp(
      { model: file.path, gpu: c.gpu, contexts, ...s },
      { ...(c.runner ? { runner: c.runner } : {}), log: (l) => c.log(`  ${l}`) },
    );
    const runs = run.runs.map((r) => {
      const decodeLength = r.promptTokens + Math.round(s.decodeTokens / 2);
      return { ...r, decodeLength, ...limit(denseStepTraffic(weightBytes, cfg, decodeLength), r, c.copyBytesPerSecond) };
    });
    return { peer: 'llama.cpp', model: file.name, weightType: file.weightType, fileBytes: file.fileBytes, weightBytes, ...run, runs };
  } finally {
    file.remove();
  }
}

/**
 * Where llama.cpp runs among `picked` plans: after the last picked plan of each model (shape and weight type, or
 * file), at the contexts of all its picked plans, ascending. Keyed by plan index.
 */
export function peerContexts(plans: readonly (ModelSource & { readonly contexts: readonly number[] })[], picked: readonly number[]): Map<number, number[]> {
  const byModel = new Map<string, { last: number; contexts: Set<number> }>();
  for (const i of picked) {
    const p = plans[i];
    const key = isFileSource(p) ? `file|${p.file}` : `${p.shape.name}|${weightPlanName(p.weightType)}`;
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
