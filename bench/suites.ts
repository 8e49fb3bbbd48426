// What `npm run bench` measures. `device`: the issue-3/4 figures on a real GPU (Llama-3.2-1B shape, Q8_0 and Q4_K,
// real prefill at 4K; Llama-3.2-1B and Qwen2.5-Coder-1.5B shapes, Q8_0, dense vs Quest at 8K–128K with the cache
// filled by kvAppend). `smoke`: the same code on a tiny shape, for lavapipe (checks the harness, measures nothing).
import { GgmlType } from '../gpu/model/ggmlTypes';
import { type SyntheticShape, llama32_1B, qwen25Coder1_5B } from '../gpu/model/syntheticModel';
import type { ModelPlan } from './modelBench';

export interface Suite {
  readonly name: string;
  readonly plans: readonly ModelPlan[];
  readonly decodeTokens: number;
  readonly profileReps: number;
  readonly copyBytes: number;
  readonly copyReps: number;
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
const long = [8192, 32768, 65536, 131072];

export const suites: Readonly<Record<string, Suite>> = {
  device: {
    name: 'device',
    plans: [
      { shape: llama32_1B, weightType: GgmlType.Q8_0, fill: 'prefill', contexts: [4096], budgets: [512, 1024, 2048] },
      { shape: llama32_1B, weightType: GgmlType.Q4_K, fill: 'prefill', contexts: [4096], budgets: [512, 1024, 2048] },
      { shape: llama32_1B, weightType: GgmlType.Q8_0, fill: 'kvAppend', contexts: long, budgets },
      { shape: qwen25Coder1_5B, weightType: GgmlType.Q8_0, fill: 'kvAppend', contexts: long, budgets },
    ],
    decodeTokens: 64,
    profileReps: 5,
    copyBytes: 1 << 30,
    copyReps: 20,
  },
  smoke: {
    name: 'smoke',
    plans: [
      { shape: tiny, weightType: GgmlType.Q8_0, fill: 'prefill', contexts: [300], budgets: [64] },
      { shape: tiny, weightType: GgmlType.Q4_K, fill: 'kvAppend', contexts: [700], budgets: [64, 256] },
    ],
    decodeTokens: 4,
    profileReps: 2,
    copyBytes: 16 << 20,
    copyReps: 4,
  },
};
