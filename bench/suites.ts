// What `npm run bench` measures. `device`: the issue-3/4/9 figures on a real GPU (Llama-3.2-1B and Qwen2.5-Coder-1.5B
// shapes, Q8_0 and Q4_K_M: real prefill at 4K and 8K; dense vs Quest at 8K–128K with the cache filled by kvAppend);
// llama.cpp on the same files and contexts (peer); the extension's pipeline on a 32K-token workspace (pipeline).
// Plans 0-3 keep their numbers (BENCHMARKS.md names them); 0, 1, 2, 4 are Llama's, 3, 5, 6, 7 Qwen's; every synthetic
// plan decodes with pages of 16 and 2 dense layers (bench/main.ts), so runs stay comparable. Plan 8 is the built-in
// model, model/default.gguf, with the page size and dense layers it recommends (pages of 4, 4 dense layers).
// `smoke`: the same code on tiny models, for lavapipe (checks the harness, measures nothing); its model file is
// stories260K from ../shared/models, beside the repository, where the tests read it (test/util/paths.ts).
import { GgmlType } from '../gpu/model/ggmlTypes';
import { type SyntheticShape, llama32_1B, qwen25Coder1_5B } from '../gpu/model/syntheticModel';
import type { ModelPlan } from './modelBench';
import type { PeerSettings } from './peer/peerBench';
import type { PipelinePlan } from './pipelineBench';

export interface Suite {
  readonly name: string;
  readonly plans: readonly ModelPlan[];
  readonly decodeTokens: number;
  readonly profileReps: number;
  readonly copyBytes: number;
  readonly copyReps: number;
  /** llama.cpp on each model's GGUF at the contexts of its plans, after its last plan (bench/peer/). */
  readonly peer?: PeerSettings;
  readonly pipeline?: PipelinePlan;
}

const tiny: SyntheticShape = {
  architecture: 'llama',
  name: 'synthetic tiny llama',
  layers: 3,
  dim: 256,
  ffn: 512,
  heads: 4,
  kvHeads: 2,
  headDim: 64,
  vocab: 1000,
  contextLength: 4096,
  normEps: 1e-5,
  ropeTheta: 10000,
  tiedEmbeddings: true,
};

const budgets = [512, 1024, 2048, 4096];
const short = [4096, 8192];
const long = [8192, 32768, 65536, 131072];

export const suites: Readonly<Record<string, Suite>> = {
  device: {
    name: 'device',
    plans: [
      { shape: llama32_1B, weightType: GgmlType.Q8_0, fill: 'prefill', contexts: short, budgets: [512, 1024, 2048], observe: [4096] },
      { shape: llama32_1B, weightType: 'Q4_K_M', fill: 'prefill', contexts: short, budgets: [512, 1024, 2048] },
      { shape: llama32_1B, weightType: GgmlType.Q8_0, fill: 'kvAppend', contexts: long, budgets, observe: [32768], matvecSweep: true, questSweep: true },
      { shape: qwen25Coder1_5B, weightType: GgmlType.Q8_0, fill: 'kvAppend', contexts: long, budgets, observe: [32768], matvecSweep: true, questSweep: true },
      { shape: llama32_1B, weightType: 'Q4_K_M', fill: 'kvAppend', contexts: long, budgets, matvecSweep: true },
      { shape: qwen25Coder1_5B, weightType: GgmlType.Q8_0, fill: 'prefill', contexts: short, budgets: [512, 1024, 2048] },
      { shape: qwen25Coder1_5B, weightType: 'Q4_K_M', fill: 'prefill', contexts: short, budgets: [512, 1024, 2048] },
      { shape: qwen25Coder1_5B, weightType: 'Q4_K_M', fill: 'kvAppend', contexts: long, budgets },
      { file: 'model/default.gguf', fill: 'prefill', contexts: short, budgets: [512, 1024, 2048] },
    ],
    decodeTokens: 64,
    profileReps: 5,
    copyBytes: 1 << 30,
    copyReps: 20,
    // peers.md §4: prompt = 95 % of the context, then 128 greedy tokens; batch 512; warm-up compiles the pipelines.
    peer: { promptFraction: 0.95, decodeTokens: 128, batchSize: 512, warmupContext: 8192 },
    pipeline: {
      shape: llama32_1B,
      weightType: GgmlType.Q8_0,
      maxContext: 32768,
      pageSize: 16,
      folders: ['gpu', 'extension'],
      question: 'Where is the persisted KV cache checked before it is restored?',
      // The extension's defaults (package.json): quest, 1024 tokens, 2 dense layers, sum; 16 answer tokens timed.
      decode: { mode: 'quest', tokenBudget: 1024, denseLayers: 2, aggregation: 'sum', temperature: 0, maxAnswerTokens: 16, seed: 0 },
    },
  },
  smoke: {
    name: 'smoke',
    plans: [
      { shape: tiny, weightType: GgmlType.Q8_0, fill: 'prefill', contexts: [300], budgets: [64], observe: [300] },
      // 8 layers: Q4_K_M's Q6_K attn_v/ffn_down then fall in layers 0, 3, 6 and 7, so layer 0's q/k/v split
      // (attn_q+attn_k, attn_v) where later layers' fuse: the matvec sweep's roles must follow each layer.
      { shape: { ...tiny, name: 'synthetic tiny llama (8 layers)', layers: 8 }, weightType: 'Q4_K_M', fill: 'kvAppend', contexts: [700], budgets: [64, 256], matvecSweep: true, questSweep: true },
      { file: '../shared/models/stories260K.gguf', fill: 'prefill', contexts: [300], budgets: [64] },
    ],
    decodeTokens: 4,
    profileReps: 2,
    copyBytes: 16 << 20,
    copyReps: 4,
    peer: { promptFraction: 0.95, decodeTokens: 8, batchSize: 512, warmupContext: 300, threads: 1 },
    pipeline: {
      shape: { ...tiny, name: 'synthetic tiny llama (p50k)', vocab: 50281 },
      weightType: GgmlType.Q8_0,
      maxContext: 1024,
      pageSize: 16,
      folders: ['gpu/reference'],
      question: 'Where is the persisted KV cache checked before it is restored?',
      decode: { mode: 'quest', tokenBudget: 128, denseLayers: 1, aggregation: 'sum', temperature: 0, maxAnswerTokens: 4, seed: 0 },
    },
  },
};
