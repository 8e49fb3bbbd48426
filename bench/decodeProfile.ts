// One decodeStep of the engine, timed on the GPU: the whole step as one pass (as the engine encodes it), each group
// of dispatches (a kernel, a weight role) as one pass of just those dispatches in step order, and each dispatch
// alone (medians over reps; a pass per dispatch adds ~6 µs of pass boundary on the H100, so group passes are the
// figures to quote). Grouped by kernel, with the decode matmuls' achieved
// bandwidth per weight role and Quest's attention split into estimation (pageScore), top-k (selectPages) and
// sparse attention, against dense attention.
import type { Engine } from '../gpu/engine';
import type { QuestSettings } from '../gpu/forward/forward';
import type { Dispatch } from '../gpu/kernels/registry';
import type { FusedWeight } from '../gpu/model/weights';
import type { WeightTensor } from '../gpu/quant/weight';

import { GpuTimer, median, recordDispatches } from './gpuTimer';
import { weightBytes } from './traffic';

export interface KernelTime {
  readonly name: string;
  /** Dispatches per step. */
  readonly count: number;
  /** µs per step: the group's dispatches, in step order, in one timed pass (median over reps). */
  readonly us: number;
  /** µs per step: sum of each dispatch's median time alone in its own pass (adds a pass boundary per dispatch). */
  readonly aloneUs: number;
}

export interface MatmulRole {
  readonly role: string;
  readonly count: number;
  /** Weight bytes read per step (GPU layout). */
  readonly bytes: number;
  /** The role's dispatches in one pass. */
  readonly us: number;
  readonly bytesPerSecond: number;
  /** Sum of the dispatches timed alone. */
  readonly aloneUs: number;
}

/** µs per layer of each attention part; absent parts did not run in this configuration. */
export interface AttentionPerLayer {
  readonly denseLayers: number;
  readonly sparseLayers: number;
  /** Dense attention (split + reduce) per dense layer. */
  readonly dense?: number;
  readonly pageScore?: number;
  readonly selectPages?: number;
  /** Sparse attention (split + reduce) per sparse layer. */
  readonly sparse?: number;
  /** pageScore + selectPages + sparse: a sparse layer's whole self-attention. */
  readonly quest?: number;
}

export interface StepProfile {
  readonly dispatches: number;
  readonly reps: number;
  /** Median CPU time to encode the step as the engine does (createCommandEncoder, encodeDecode, finish; no submit). */
  readonly encodeUs: number;
  /** Median GPU time of the whole step in one pass. */
  readonly stepGpuUs: number;
  /** Sum of per-dispatch medians (each dispatch in its own pass: includes a pass boundary per kernel). */
  readonly kernelSumUs: number;
  /** Sum of the categories' one-pass times. */
  readonly categorySumUs: number;
  readonly categories: readonly KernelTime[];
  readonly labels: readonly KernelTime[];
  /** All matvecs of the step in one pass; aloneUs: each timed alone. */
  readonly matmul: { readonly bytes: number; readonly us: number; readonly bytesPerSecond: number; readonly aloneUs: number; readonly roles: readonly MatmulRole[] };
  readonly attention: AttentionPerLayer;
}

/** What a dispatch is, from its pipeline label (kernel name, then override constants). */
export function kernelCategory(label: string): string {
  if (label.startsWith('matmulVec')) return 'matmul';
  if (label.startsWith('attentionDecodeReduce')) return 'attentionReduce';
  if (label.startsWith('attentionDecode')) return /_SPARSE1(_|$)/.test(label) ? 'attentionSparse' : 'attentionDense';
  for (const name of ['attentionMass', 'pageScore', 'selectPages', 'kvAppend', 'embed', 'argmax', 'rmsnorm', 'rope', 'swiglu', 'bias', 'add']) {
    if (label.startsWith(name)) return name;
  }
  return label;
}

/**
 * Appends one token (like a decodeStep) and times that step `reps` times; the cache then holds one more token. Call
 * after a prefill (logits ready); the caller truncates afterwards.
 */
export async function profileDecodeStep(engine: Engine, timer: GpuTimer, quest: QuestSettings, reps: number, token: number): Promise<StepProfile> {
  const { forward, cache, state, weights } = engine.internals();
  engine.gpu.device.queue.writeBuffer(state.ids, 0, new Uint32Array([token]));
  cache.beginRun(1);
  forward.writeStepParams(cache.length, quest);
  // As Engine.generate encodes it by default: the last layers also count attention for citations.
  const dispatches = recordDispatches((e) => forward.encodeDecode(e, quest, true));
  const encodeTimes: number[] = [];
  for (let r = 0; r < Math.max(reps, 5); r++) {
    const t0 = performance.now();
    const encoder = engine.gpu.device.createCommandEncoder();
    forward.encodeDecode(encoder, quest, true);
    encoder.finish(); // never submitted: only the CPU cost is wanted
    encodeTimes.push(performance.now() - t0);
  }
  const encodeUs = median(encodeTimes) * 1000;
  await timer.timeAll(dispatches, 2); // warm-up
  const stepGpuUs = median(await timer.timeAll(dispatches, reps)) / 1000;
  const each = (await timer.timeEach(dispatches, reps)).map((t) => median(t) / 1000);

  // Reduce dispatches belong to the attention split before them.
  const cats: string[] = [];
  for (const d of dispatches) {
    const c = kernelCategory(d.label);
    cats.push(c === 'attentionReduce' ? (cats.findLast((x) => x.startsWith('attention')) ?? 'attentionDense') : c);
  }
  const inPass = async (indices: readonly number[]) => median(await timer.timeAll(indices.map((i) => dispatches[i]), reps)) / 1000;
  const group = async (key: (i: number) => string): Promise<KernelTime[]> => {
    const m = new Map<string, number[]>();
    dispatches.forEach((_, i) => m.set(key(i), [...(m.get(key(i)) ?? []), i]));
    const out: KernelTime[] = [];
    for (const [name, idx] of m) out.push({ name, count: idx.length, us: await inPass(idx), aloneUs: idx.reduce((a, i) => a + each[i], 0) });
    return out.sort((a, b) => b.us - a.us);
  };
  const categories = await group((i) => cats[i]);
  const labels = await group((i) => dispatches[i].label);

  const matmul = await matmulRoles(dispatches, cats, each, weights, inPass);
  const sum = (c: string) => categories.find((g) => g.name === c);
  const splits = (c: string) => dispatches.filter((d, i) => cats[i] === c && !d.label.startsWith('attentionDecodeReduce')).length;
  const denseLayers = splits('attentionDense');
  const sparseLayers = splits('attentionSparse');
  const per = (c: string, layers: number) => (layers > 0 && sum(c) ? sum(c)!.us / layers : undefined);
  const pageScore = per('pageScore', sparseLayers);
  const selectPages = per('selectPages', sparseLayers);
  const sparse = per('attentionSparse', sparseLayers);
  const attention: AttentionPerLayer = {
    denseLayers,
    sparseLayers,
    dense: per('attentionDense', denseLayers),
    pageScore,
    selectPages,
    sparse,
    quest: sparse !== undefined ? sparse + (pageScore ?? 0) + (selectPages ?? 0) : undefined,
  };
  return {
    dispatches: dispatches.length,
    reps,
    encodeUs,
    stepGpuUs,
    kernelSumUs: each.reduce((a, b) => a + b, 0),
    categorySumUs: categories.reduce((a, c) => a + c.us, 0),
    categories,
    labels,
    matmul,
    attention,
  };
}

/**
 * The step's matvecs in the order Forward records them (per layer q, k, v, attn_output, gate, up, down; then the LM
 * head; fused weights as one role, e.g. attn_q+attn_k+attn_v), one dispatch per weight part; throws if the recorded
 * list does not line up with the weights.
 */
async function matmulRoles(
  dispatches: readonly Dispatch[],
  cats: readonly string[],
  us: readonly number[],
  w: ReturnType<Engine['internals']>['weights'],
  inPass: (indices: readonly number[]) => Promise<number>,
): Promise<StepProfile['matmul']> {
  const order: [string, WeightTensor][] = [];
  const fused = (group: readonly FusedWeight[], names: readonly string[]) => {
    let at = 0;
    for (const f of group) {
      order.push([names.slice(at, at + f.segments.length).join('+'), f.weight]);
      at += f.segments.length;
    }
  };
  for (const l of w.layers) {
    fused(l.qkv, ['attn_q', 'attn_k', 'attn_v']);
    order.push(['attn_output', l.wo]);
    fused(l.gateUp, ['ffn_gate', 'ffn_up']);
    order.push(['ffn_down', l.wDown]);
  }
  order.push(['lm_head', w.output]);
  const expected = order.flatMap(([role, t]) => t.parts.map((_, p) => ({ role, bytes: p === 0 ? weightBytes(t) : 0 })));
  const indices = dispatches.map((_, i) => i).filter((i) => cats[i] === 'matmul');
  if (indices.length !== expected.length) {
    throw new Error(`bench: the decodeStep has ${indices.length} matvec dispatches, the weights imply ${expected.length}; update decodeProfile.ts's order`);
  }
  const roles = new Map<string, { count: number; bytes: number; idx: number[] }>();
  expected.forEach((e, j) => {
    const r = roles.get(e.role) ?? { count: 0, bytes: 0, idx: [] };
    r.count++;
    r.bytes += e.bytes;
    r.idx.push(indices[j]);
    roles.set(e.role, r);
  });
  const list: MatmulRole[] = [];
  for (const [role, r] of roles) {
    const t = await inPass(r.idx);
    list.push({ role, count: r.count, bytes: r.bytes, us: t, bytesPerSecond: r.bytes / (t * 1e-6), aloneUs: r.idx.reduce((a, i) => a + us[i], 0) });
  }
  const bytes = list.reduce((s, r) => s + r.bytes, 0);
  const total = await inPass(indices);
  return { bytes, us: total, bytesPerSecond: bytes / (total * 1e-6), aloneUs: indices.reduce((a, i) => a + us[i], 0), roles: list };
}
