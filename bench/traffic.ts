// Bytes a decodeStep must read from GPU memory, by kind, and the time that takes at the measured copy bandwidth:
// the speed limit each configuration is reported against (issue 9). Counted: every weight matrix the step
// multiplies by (in its GPU layout: quantized blocks and their scales), norms and biases, one embedding row, the K
// and V rows attention reads, and the page metadata pageScore reads. Not counted: activations, the page table and
// attention's partial results (each under 1 MB per step, < 1 % of the total in every configuration here).
// The llama.cpp peer is held to the same limit: the GGUF's tensor bytes (ggufStepWeightBytes) and a dense f16 cache.
import type { QuestSettings } from '../gpu/forward/forward';
import type { GgufFile } from '../gpu/gguf/reader';
import { kvLayout, kvTypeBytes } from '../gpu/kv/layout';
import type { KvLayout } from '../gpu/kv/layout';
import type { ModelConfig } from '../gpu/model/config';
import type { ModelWeights } from '../gpu/model/weights';
import type { WeightTensor } from '../gpu/quant/weight';

export interface StepTraffic {
  readonly weights: number;
  readonly kv: number;
  readonly pageMeta: number;
  readonly total: number;
}

/** GPU bytes of a weight (all its parts). */
export function weightBytes(w: WeightTensor): number {
  return w.parts.reduce((s, p) => s + p.buffer.size, 0);
}

/** Bytes of every matrix one decodeStep multiplies by, plus one embedding row and the f32 vectors. */
export function stepWeightBytes(w: ModelWeights): number {
  let bytes = weightBytes(w.output) + weightBytes(w.tokenEmbd) / w.tokenEmbd.rows + w.outputNorm.size;
  for (const l of w.layers) {
    for (const m of [...l.qkv.map((f) => f.weight), l.wo, ...l.gateUp.map((f) => f.weight), l.wDown]) bytes += weightBytes(m);
    const biases = l.bqkv ? [l.bqkv] : [l.bq, l.bk, l.bv]; // a decodeStep reads the fused copy when there is one
    for (const v of [l.attnNorm, l.ffnNorm, ...biases, l.qNorm, l.kNorm]) bytes += v ? v.size : 0;
  }
  return bytes;
}

/** Bytes read by a decodeStep whose query attends over `length` cached tokens (itself included). */
export function stepTraffic(weights: number, kv: KvLayout, length: number, quest: QuestSettings): StepTraffic {
  const e = kvTypeBytes(kv.kvType);
  const row = kv.kvHeads * kv.headDim * e; // one token's K (or V) in one layer
  const pages = Math.ceil(length / kv.pageSize);
  const sparseLayers = quest.mode === 'quest' ? kv.layers - quest.denseLayers : 0;
  const denseLayers = kv.layers - sparseLayers;
  // A sparse layer reads its selected pages whole (the last one only up to `length`) and every scored page's meta.
  const selectedTokens = Math.min(length, quest.pageBudget * kv.pageSize);
  const kvBytes = 2 * row * (denseLayers * length + sparseLayers * selectedTokens);
  const scored = Math.max(0, pages - 1);
  const pageMeta = sparseLayers * scored * kv.kvHeads * 2 * kv.headDim * e;
  return { weights, kv: kvBytes, pageMeta, total: weights + kvBytes + pageMeta };
}

/**
 * Bytes of a GGUF's tensors one decodeStep reads in llama.cpp: every tensor once, except token_embd, of which only the
 * token's row is read when a separate output.weight is the LM head (tied: token_embd is the LM head, read whole).
 */
export function ggufStepWeightBytes(file: GgufFile): number {
  const all = file.tensors.reduce((sum, t) => sum + t.bytes, 0);
  const embd = file.tensor('token_embd.weight');
  if (!embd || !file.tensor('output.weight')) return all;
  return all - embd.bytes + embd.bytes / embd.dims[1];
}

/** Bytes a dense decodeStep of `cfg` with an f16 cache of `length` tokens reads, besides `weights` (llama.cpp's peer). */
export function denseStepTraffic(weights: number, cfg: Pick<ModelConfig, 'layers' | 'kvHeads' | 'headDim'>, length: number): StepTraffic {
  const kv = kvLayout({ layers: cfg.layers, kvHeads: cfg.kvHeads, headDim: cfg.headDim, maxTokens: length, kvType: 'f16' });
  return stepTraffic(weights, kv, length, { mode: 'dense', pageBudget: 1, denseLayers: 0, aggregation: 'max' });
}
