// Scratch buffers of one forward pass, allocated once at load for the largest prefill run (maxTokens rows); a
// decodeStep uses row 0 of the same buffers. Nothing here is allocated per step.
import { createStorage } from '../buffers';
import type { Gpu } from '../device';
import type { ModelConfig } from '../model/config';

export interface RunState {
  readonly maxTokens: number;
  readonly ids: GPUBuffer; //    (maxTokens) u32 token ids of the run
  readonly x: GPUBuffer; //      (maxTokens, dim) f32 residual stream
  readonly h: GPUBuffer; //      (maxTokens, dim) f32 normed input of attention / FFN / head
  readonly last: GPUBuffer; //   (dim) f32 the run's last row of x, for the LM head after a prefill
  readonly qRaw?: GPUBuffer; //  (maxTokens, heads*headDim) f32 q before its per-head norm (qwen3)
  readonly kRaw?: GPUBuffer; //  (maxTokens, kvHeads*headDim) f32 k before its per-head norm (qwen3)
  readonly q: GPUBuffer; //      (maxTokens, heads*headDim) f32 after RoPE
  readonly k: GPUBuffer; //      (maxTokens, kvHeads*headDim) f32 after RoPE
  readonly v: GPUBuffer; //      (maxTokens, kvHeads*headDim) f32
  readonly att: GPUBuffer; //    (maxTokens, heads*headDim) f32 attention output
  readonly gate: GPUBuffer; //   (maxTokens, ffn) f32
  readonly up: GPUBuffer; //     (maxTokens, ffn) f32
  readonly act: GPUBuffer; //    (maxTokens, ffn) f32 silu(gate) * up
  readonly logits: GPUBuffer; // (vocab) f32 of the last token
  readonly bytes: number;
  destroy(): void;
}

export function createRunState(gpu: Gpu, cfg: ModelConfig, maxTokens: number): RunState {
  const qDim = cfg.heads * cfg.headDim;
  const kvDim = cfg.kvHeads * cfg.headDim;
  const made: GPUBuffer[] = [];
  const f32 = (name: string, elements: number) => {
    const b = createStorage(gpu, `run.${name}`, elements * 4);
    made.push(b);
    return b;
  };
  const state = {
    maxTokens,
    ids: f32('ids', maxTokens),
    x: f32('x', maxTokens * cfg.dim),
    h: f32('h', maxTokens * cfg.dim),
    last: f32('last', cfg.dim),
    qRaw: cfg.qkNorm ? f32('qRaw', maxTokens * qDim) : undefined,
    kRaw: cfg.qkNorm ? f32('kRaw', maxTokens * kvDim) : undefined,
    q: f32('q', maxTokens * qDim),
    k: f32('k', maxTokens * kvDim),
    v: f32('v', maxTokens * kvDim),
    att: f32('att', maxTokens * qDim),
    gate: f32('gate', maxTokens * cfg.ffn),
    up: f32('up', maxTokens * cfg.ffn),
    act: f32('act', maxTokens * cfg.ffn),
    logits: f32('logits', cfg.vocab),
  };
  return {
    ...state,
    bytes: made.reduce((s, b) => s + b.size, 0),
    destroy: () => made.forEach((b) => b.destroy()),
  };
}
