// The forward pass, recorded ahead: every pipeline, bind group and uniform is made by buildForward() at load, so
// prefill runs and decodeSteps only write a few uniforms and encode prebuilt dispatches into one command buffer.
// It reads like the architecture: one block per layer, the same for prefill (a run of tokens) and decode (one).
import type { Gpu } from '../device';
import { pageScore, pageScoreParams } from '../kernels/pageScore';
import { argmax, argmaxScratchBytes } from '../kernels/argmax';
import { type AttentionDecodeOp, attentionDecode, decodeSplits, sparseSplitChoices, sparseSplits } from '../kernels/attentionDecode';
import { decodePartialBytes } from '../kernels/attentionDecodeReduce';
import { type AttentionMassBuffers, attentionMassBytes, attentionMassRange } from '../kernels/attentionMass';
import { attentionPrefill } from '../kernels/attentionPrefill';
import { biasAdd } from '../kernels/bias';
import { embed } from '../kernels/embed';
import type { KvRunOp } from '../kernels/kvKernel';
import { kvAppend } from '../kernels/kvAppend';
import { fusesNorm, matmul } from '../kernels/matmul';
import { type Dispatch, Kernels, encodeDispatches } from '../kernels/registry';
import { rmsNorm } from '../kernels/rmsnorm';
import { rope } from '../kernels/rope';
import { selectPages, selectPagesParams, selectPagesThreads, selectPagesWorkgroups } from '../kernels/selectPages';
import { swiglu } from '../kernels/swiglu';
import { createStorage, createStorageWith } from '../buffers';
import type { KvCache } from '../kv/kvCache';
import type { ModelConfig } from '../model/config';
import { ropeAngleTable, ropeInvFreq } from '../model/rope';
import type { FusedWeight, ModelWeights } from '../model/weights';
import type { WeightTensor } from '../quant/weight';
import type { Aggregation } from '../kernels/pageScore';
import type { RunState } from './runState';

/**
 * One layer's attention as a decodeStep runs it: dense, or Quest (score pages, select, attend the selection). Quest's
 * selectPages and sparse attention are recorded in a few sizes; each step picks by pages in context and pageBudget.
 */
interface DecodeAttention {
  readonly dense: AttentionDecodeOp;
  /** Per aggregation: pageScore. */
  readonly score: Readonly<Record<Aggregation, Dispatch>>;
  /** selectPages per workgroup size (selectPagesWorkgroups), ascending. */
  readonly select: readonly { readonly threads: number; readonly dispatch: Dispatch }[];
  /** The sparse attention per split count (sparseSplitChoices), ascending. */
  readonly sparse: readonly { readonly splits: number; readonly op: AttentionDecodeOp }[];
}

/** Where the last layers' decode attention adds the attention each page received (see attentionMass.wgsl). */
export interface AttentionMassState extends AttentionMassBuffers {
  /** The last `layers` layers count (their ops offer massDispatches). */
  readonly layers: number;
}

/** The dispatches of one run size: `tokens` rows of the run state. */
interface RunDispatches {
  readonly tokens: number;
  /**
   * embed → per layer: norm, q/k/v (+bias, +qk-norm), RoPE. The layer's attention comes between pre and post. A
   * decodeStep applies attn_norm and ffn_norm inside the matvecs that read them (matmul's `norm`).
   */
  readonly embed: readonly Dispatch[];
  readonly pre: readonly (readonly Dispatch[])[];
  /** attn_output (+= residual), FFN norm, gate/up, SwiGLU, down (+= residual). */
  readonly post: readonly (readonly Dispatch[])[];
}

export interface QuestSettings {
  readonly mode: 'dense' | 'quest';
  /** Pages each sparse layer reads per KV head, the last page included. */
  readonly pageBudget: number;
  /** Layers 0 .. denseLayers-1 always attend densely. */
  readonly denseLayers: number;
  readonly aggregation: Aggregation;
}

export class Forward {
  constructor(
    readonly cfg: ModelConfig,
    readonly state: RunState,
    readonly cache: KvCache,
    /** Prefill run sizes, largest first (multiples of 4 down to 16 tokens): a run uses the smallest that fits. */
    private readonly runs: readonly RunDispatches[],
    private readonly decode: RunDispatches,
    /** Per layer: append the run's k, v and update pageMeta (any run size up to maxTokens). */
    private readonly kvAppend: readonly KvRunOp[],
    private readonly prefillAttention: readonly KvRunOp[],
    private readonly decodeAttention: readonly DecodeAttention[],
    /** output_norm then the LM head over `last` (one matvec when fusesNorm); the same from x row 0 for a decodeStep. */
    private readonly prefillHead: readonly Dispatch[],
    private readonly decodeHead: readonly Dispatch[],
    private readonly greedy: readonly Dispatch[],
    /** uniform {heads, kvHeads, headDim, nScored, maxPages}: rewritten each step. */
    private readonly scoreParams: GPUBuffer,
    /** uniform {nScored, pageBudget, maxPages}: rewritten each step. */
    private readonly selectParams: GPUBuffer,
    /** (layers, kvHeads, maxPages) u32 page ids chosen by selectPages; one (kvHeads, maxPages) buffer per layer. */
    readonly pageIds: readonly GPUBuffer[],
    /** (layers, kvHeads) u32 entries of pageIds used; one buffer per layer. */
    readonly pageCount: readonly GPUBuffer[],
    /** (layers, kvHeads, maxPages) f32 page scores of the step; one buffer per layer, so a trace can copy them all. */
    readonly pageScores: readonly GPUBuffer[],
    readonly attentionMass: AttentionMassState,
    /** (1) u32 the greedy token of the last logits. */
    readonly token: GPUBuffer,
    private readonly owned: readonly GPUBuffer[],
  ) {}

  /** Pages scored this step (set by writeStepParams): picks selectPages' workgroup size. */
  private scored = 0;

  get maxRun(): number {
    return this.runs[0].tokens;
  }

  /**
   * Encodes a prefill run of `tokens` tokens (ids already in state.ids) at the end of the cache, ending with the
   * logits of its last token. The caller has called cache.beginRun(tokens) and submits before the next run.
   */
  encodePrefill(encoder: GPUCommandEncoder, tokens: number, withLogits: boolean): void {
    const run = [...this.runs].reverse().find((r) => r.tokens >= tokens) ?? this.runs[0];
    const list: Dispatch[] = [...run.embed];
    for (let l = 0; l < this.cfg.layers; l++) {
      list.push(...run.pre[l], ...this.kvAppend[l].dispatches(tokens), ...this.prefillAttention[l].dispatches(tokens), ...run.post[l]);
    }
    encodeDispatches(encoder, list);
    if (!withLogits) return;
    const dim = this.cfg.dim;
    encoder.copyBufferToBuffer(this.state.x, (tokens - 1) * dim * 4, this.state.last, 0, dim * 4);
    encodeDispatches(encoder, [...this.prefillHead, ...this.greedy]);
  }

  /** Writes the per-step Quest uniforms for a cache that will hold `length` tokens after this step. */
  writeStepParams(length: number, quest: QuestSettings): void {
    const nScored = Math.floor((length - 1) / this.cache.layout.pageSize);
    this.scored = nScored;
    const queue = this.cache.gpu.device.queue;
    const { heads, kvHeads, headDim } = this.cfg;
    const maxPages = this.cache.layout.maxPages;
    queue.writeBuffer(this.scoreParams, 0, pageScoreParams({ heads, kvHeads, headDim, maxPages, kvType: this.cache.layout.kvType, aggregation: quest.aggregation }, nScored));
    queue.writeBuffer(this.selectParams, 0, selectPagesParams({ kvHeads, maxPages, pageBudget: quest.pageBudget }, nScored));
  }

  /**
   * Encodes one decodeStep (token id already in state.ids[0]); the cache's run of 1 is begun by the caller. With
   * `attention`, the last attentionMass.layers layers also add the attention each page received to its running total.
   */
  encodeDecode(encoder: GPUCommandEncoder, quest: QuestSettings, attention = false): void {
    const d = this.decode;
    const list: Dispatch[] = [...d.embed];
    // The largest recorded selectPages no wider than the rule asks (the narrowest if none), and the fewest splits
    // that keep each range at most sparseKeysPerSplit keys of the budget.
    const first = this.decodeAttention[0];
    const threads = selectPagesThreads(this.scored);
    const select = first.select.reduce((at, v, i) => (v.threads <= threads ? i : at), 0);
    const splits = sparseSplits(first.sparse.map((v) => v.splits), quest.pageBudget, this.cache.layout.pageSize);
    const sparseAt = first.sparse.findIndex((v) => v.splits === splits);
    for (let l = 0; l < this.cfg.layers; l++) {
      const a = this.decodeAttention[l];
      const sparse = quest.mode === 'quest' && l >= quest.denseLayers;
      const op = sparse ? a.sparse[sparseAt].op : a.dense;
      list.push(...d.pre[l], ...this.kvAppend[l].dispatches(1));
      if (sparse) list.push(a.score[quest.aggregation], a.select[select].dispatch);
      list.push(...(attention && op.massDispatches ? op.massDispatches : op.dispatches(1)));
      list.push(...d.post[l]);
    }
    list.push(...this.decodeHead, ...this.greedy);
    encodeDispatches(encoder, list);
  }

  destroy(): void {
    for (const b of this.owned) b.destroy();
  }
}

/** Last layers whose attention attentionMass() counts when neither the load nor the model (`questlens.attention_layers`) picks them. */
export const defaultAttentionLayers = 4;

/**
 * The attention layers a load uses: the caller's wins, then the model's recommendation, then defaultAttentionLayers;
 * clamped to 0..the model's layers (all of a model shallower than that).
 */
export function resolveAttentionLayers(explicit: number | undefined, recommended: number | undefined, layers: number): number {
  return Math.min(Math.max(0, explicit ?? recommended ?? defaultAttentionLayers), layers);
}

/**
 * Builds every dispatch of prefill runs (up to state.maxTokens tokens) and of a decodeStep; the last
 * `attentionLayers` layers (all if fewer) can also count the attention each page received.
 */
export async function buildForward(
  gpu: Gpu,
  k: Kernels,
  cfg: ModelConfig,
  w: ModelWeights,
  state: RunState,
  cache: KvCache,
  attentionLayers = defaultAttentionLayers,
): Promise<Forward> {
  const owned: GPUBuffer[] = [];
  const own = <T extends GPUBuffer>(b: T) => (owned.push(b), b);
  const invFreq = ropeInvFreq({ theta: cfg.rope.theta, dims: cfg.rope.dims, scaling: cfg.rope.scaling, freqFactors: w.ropeFreqs });
  const angles = own(createStorageWith(gpu, 'rope.angles', ropeAngleTable(invFreq)));
  const maxPages = cache.layout.maxPages;

  const runs: RunDispatches[] = [];
  for (let t = state.maxTokens; t >= 16; t = Math.floor(t / 4)) runs.push(await buildRun(k, cfg, w, state, cache, angles, t));
  if (runs.length === 0) runs.push(await buildRun(k, cfg, w, state, cache, angles, state.maxTokens));
  const decode = await buildRun(k, cfg, w, state, cache, angles, 1);

  const appends: KvRunOp[] = [];
  const prefillAttention: KvRunOp[] = [];
  const decodeAttention: DecodeAttention[] = [];
  const scoreParams = own(k.uniform('pageScore.params', new ArrayBuffer(20)));
  const selectParams = own(k.uniform('selectPages.params', new ArrayBuffer(12)));
  const pageIds: GPUBuffer[] = [];
  const pageCount: GPUBuffer[] = [];
  const pageScores: GPUBuffer[] = [];
  // One split scratch for every layer's decode attention: layers run one after another; no sparse count exceeds dense's.
  const denseSplits = decodeSplits(gpu, cache.layout);
  const partial = own(createStorage(gpu, 'attentionDecode.partial', decodePartialBytes(cfg.heads, denseSplits, cfg.headDim)));
  const selectThreads = selectPagesWorkgroups(gpu, maxPages);
  const massBytes = attentionMassBytes(cache, cfg.heads);
  const attentionMass: AttentionMassState = {
    layers: Math.min(Math.max(0, attentionLayers), cfg.layers),
    pageLse: own(createStorage(gpu, 'attentionMass.pageLse', massBytes.pageLse)),
    received: own(createStorage(gpu, 'attentionMass.received', massBytes.received)),
    range: own(k.uniform('attentionMass.range', attentionMassRange(1, 0xffffffff).buffer as ArrayBuffer)),
  };
  for (let l = 0; l < cfg.layers; l++) {
    appends.push(await kvAppend(k, cache, l, { k: state.k, v: state.v }, state.maxTokens));
    prefillAttention.push(await attentionPrefill(k, cache, l, { q: state.q, out: state.att }, { heads: cfg.heads, maxTokens: state.maxTokens }));
    const ids = own(createStorage(gpu, `pageIds[${l}]`, cfg.kvHeads * maxPages * 4));
    const count = own(createStorage(gpu, `pageCount[${l}]`, cfg.kvHeads * 4));
    const scores = own(createStorage(gpu, `pageScore[${l}]`, cfg.kvHeads * maxPages * 4));
    pageIds.push(ids);
    pageCount.push(count);
    pageScores.push(scores);
    const mass = l >= cfg.layers - attentionMass.layers ? { mass: attentionMass } : {};
    const scoreShape = { heads: cfg.heads, kvHeads: cfg.kvHeads, headDim: cfg.headDim, maxPages, kvType: cache.layout.kvType };
    const scoreBuffers = { q: state.q, pageMeta: cache.pageMeta[l], pageTable: cache.pageTable, pageScore: scores, params: scoreParams };
    const select = [];
    for (const threads of selectThreads) {
      const selectBuffers = { pageScore: scores, pageIds: ids, pageCount: count, params: selectParams };
      select.push({ threads, dispatch: await selectPages(k, selectBuffers, { kvHeads: cfg.kvHeads, maxPages, pageBudget: maxPages, workgroup: threads }) });
    }
    const sparse = [];
    for (const splits of sparseSplitChoices(denseSplits)) {
      const sparseBuffers = { q: state.q, out: state.att, partial, selection: { pageIds: ids, pageCount: count }, ...mass };
      sparse.push({ splits, op: await attentionDecode(k, cache, l, sparseBuffers, { heads: cfg.heads, splits }) });
    }
    decodeAttention.push({
      dense: await attentionDecode(k, cache, l, { q: state.q, out: state.att, partial, ...mass }, { heads: cfg.heads, splits: denseSplits }),
      score: {
        max: await pageScore(k, scoreBuffers, { ...scoreShape, aggregation: 'max' }),
        sum: await pageScore(k, scoreBuffers, { ...scoreShape, aggregation: 'sum' }),
      },
      select,
      sparse,
    });
  }

  const headOf = async (from: GPUBuffer) =>
    fusesNorm(k, w.output)
      ? await matmul(k, { weight: w.output, x: from, y: state.logits, norm: w.outputNorm }, { tokens: 1, normEps: cfg.normEps })
      : [
          await rmsNorm(k, { x: from, weight: w.outputNorm, out: state.h }, { rows: 1, dim: cfg.dim, eps: cfg.normEps }),
          ...(await matmul(k, { weight: w.output, x: state.h, y: state.logits }, { tokens: 1 })),
        ];
  const token = own(createStorage(gpu, 'token', 4));
  const scratch = own(createStorage(gpu, 'argmax.scratch', argmaxScratchBytes(cfg.vocab)));
  const greedy = await argmax(k, { logits: state.logits, scratch, out: token }, { vocab: cfg.vocab });
  return new Forward(
    cfg,
    state,
    cache,
    runs,
    decode,
    appends,
    prefillAttention,
    decodeAttention,
    await headOf(state.last),
    await headOf(state.x),
    greedy,
    scoreParams,
    selectParams,
    pageIds,
    pageCount,
    pageScores,
    attentionMass,
    token,
    owned,
  );
}

/** The per-layer dispatches around attention for runs of `tokens` rows. */
async function buildRun(
  k: Kernels,
  cfg: ModelConfig,
  w: ModelWeights,
  s: RunState,
  cache: KvCache,
  angles: GPUBuffer,
  tokens: number,
): Promise<RunDispatches> {
  const { dim, heads, kvHeads, headDim, ffn, normEps: eps } = cfg;
  const qDim = heads * headDim;
  const kvDim = kvHeads * headDim;
  const mm = (weight: WeightTensor, x: GPUBuffer, y: GPUBuffer, accumulate = false) => matmul(k, { weight, x, y }, { tokens, accumulate });
  // Matrices of one input, each fused weight writing its matrices' outputs (ys in matrix order) in one matvec.
  // With `norm`, each matvec applies that RMSNorm to x first (decode).
  const mmFused = async (group: readonly FusedWeight[], x: GPUBuffer, ys: readonly GPUBuffer[], bias?: GPUBuffer, norm?: GPUBuffer) => {
    const out: Dispatch[] = [];
    let at = 0;
    for (const f of group) {
      out.push(...(await matmul(k, { weight: f.weight, x, y: ys.slice(at, at + f.segments.length), bias, norm }, { tokens, segments: f.segments, normEps: eps })));
      at += f.segments.length;
    }
    return out;
  };
  const ropeShape = { tokens, headDim, dims: cfg.rope.dims, style: cfg.rope.style };
  // A decodeStep normalizes x inside the matvecs that read the norm's output (no rmsnorm dispatch, h unused) when
  // every one of them can and it pays (matmul's fusesNorm); prefill keeps the separate rmsnorm into h.
  const fusedNorm = (group: readonly FusedWeight[], norm: GPUBuffer) => (tokens === 1 && group.every((f) => fusesNorm(k, f.weight)) ? norm : undefined);
  const pre: Dispatch[][] = [];
  const post: Dispatch[][] = [];
  for (let l = 0; l < cfg.layers; l++) {
    const lw = w.layers[l];
    const qOut = s.qRaw ?? s.q;
    const kOut = s.kRaw ?? s.k;
    // A decodeStep adds q/k/v's bias in their fused matvec.
    const fusedBias = tokens === 1 ? lw.bqkv : undefined;
    const attnNorm = fusedNorm(lw.qkv, lw.attnNorm);
    const list: Dispatch[] = [
      ...(attnNorm ? [] : [await rmsNorm(k, { x: s.x, weight: lw.attnNorm, out: s.h }, { rows: tokens, dim, eps })]),
      ...(await mmFused(lw.qkv, attnNorm ? s.x : s.h, [qOut, kOut, s.v], fusedBias, attnNorm)),
    ];
    if (lw.bq && lw.bk && lw.bv && !fusedBias) {
      list.push(
        await biasAdd(k, { bias: lw.bq, x: qOut }, { tokens, n: qDim }),
        await biasAdd(k, { bias: lw.bk, x: kOut }, { tokens, n: kvDim }),
        await biasAdd(k, { bias: lw.bv, x: s.v }, { tokens, n: kvDim }),
      );
    }
    if (s.qRaw && s.kRaw && lw.qNorm && lw.kNorm) {
      // qwen3: RMSNorm over each head's vector before RoPE.
      list.push(
        await rmsNorm(k, { x: s.qRaw, weight: lw.qNorm, out: s.q }, { rows: tokens * heads, dim: headDim, eps }),
        await rmsNorm(k, { x: s.kRaw, weight: lw.kNorm, out: s.k }, { rows: tokens * kvHeads, dim: headDim, eps }),
      );
    }
    // q and k in one dispatch.
    list.push(await rope(k, { angles, x: s.q, x2: s.k, step: cache.step }, { ...ropeShape, heads, second: { heads: kvHeads } }));
    pre.push(list);
    // A decodeStep over fused gate/up applies SwiGLU in the matvec itself.
    const gateUp = lw.gateUp.length === 1 && tokens === 1 ? lw.gateUp[0] : undefined;
    const ffnNorm = fusedNorm(lw.gateUp, lw.ffnNorm);
    const ffnIn = ffnNorm ? s.x : s.h;
    post.push([
      ...(await mm(lw.wo, s.att, s.x, true)),
      ...(ffnNorm ? [] : [await rmsNorm(k, { x: s.x, weight: lw.ffnNorm, out: s.h }, { rows: tokens, dim, eps })]),
      ...(gateUp
        ? await matmul(k, { weight: gateUp.weight, x: ffnIn, y: s.act, norm: ffnNorm }, { tokens, segments: gateUp.segments, swiglu: true, normEps: eps })
        : [...(await mmFused(lw.gateUp, ffnIn, [s.gate, s.up], undefined, ffnNorm)), await swiglu(k, { gate: s.gate, up: s.up, out: s.act }, { tokens, ffn })]),
      ...(await mm(lw.wDown, s.act, s.x, true)),
    ]);
  }
  return { tokens, embed: await embed(k, { table: w.tokenEmbd, ids: s.ids, out: s.x }, { tokens }), pre, post };
}

