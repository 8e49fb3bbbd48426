// The engine: one model on one GPU with one paged KV cache. load() reads the GGUF, plans and allocates every GPU
// buffer, and records every dispatch; prefill() appends tokens to the cache in runs; generate() decodes token by
// token (dense or Quest), streaming tokens and, on request, the pages each step selected.
import { basename } from 'node:path';
import type { Gpu } from './device';
import { EngineError, ShapeError, TokenizerError } from './errors';
import { Forward, type QuestSettings, buildForward, resolveAttentionLayers } from './forward/forward';
import { type RunState, createRunState } from './forward/runState';
import { type GgufFile, readGguf } from './gguf/reader';
import { Kernels, encodeDispatches } from './kernels/registry';
import { topK, topKScratchBytes, defaultTopKSortSize, TOPK_MAX } from './kernels/topk';
import { attentionMassRange } from './kernels/attentionMass';
import { KvCache } from './kv/kvCache';
import { type KvLayout, type KvMemory, type KvType, checkPageSize, kvLayerBytes, kvLayout, kvMemory, pageMetaLayerBytes, resolvePageSize } from './kv/layout';
import { type ModelConfig, readModelConfig } from './model/config';
import { ROPE_MAX_POSITIONS } from './model/rope';
import { type LoadProgress, type ModelWeights, loadWeights } from './model/weights';
import { ResultReadback, Sampler, type SamplingParams, decodeCandidates } from './sample';
import { createTokenizer } from './tokenizer/tokenizer';
import type { Tokenizer } from './tokenizer/tokenizer';
import { createStorage, readF32 } from './buffers';
import type { Dispatch } from './kernels/registry';
import { type StepTrace, TraceReadback } from './traceReadback';
import { Lookahead } from './lookahead';

export interface EngineOptions {
  /** Context capacity in tokens (prompt + answer); default min(model context, 8192). */
  readonly maxContext?: number;
  /** Tokens per KV page; a power of two; default the model's `questlens.page_size`, else 16 (defaultPageSize). */
  readonly pageSize?: number;
  /** KV element type; default f16 when the device has shader-f16. */
  readonly kvType?: KvType;
  /** Largest prefill run in tokens; default 512 (256 on software adapters). */
  readonly prefillRun?: number;
  /**
   * Last layers whose attention attentionMass() counts (all query heads); default the model's
   * `questlens.attention_layers`, else 4 (resolveAttentionLayers); all when the model has fewer.
   */
  readonly attentionLayers?: number;
  readonly onProgress?: (p: LoadProgress) => void;
  readonly signal?: AbortSignal;
}

/** Bytes the engine holds on the GPU, by use. */
export interface MemoryPlan {
  readonly weights: number;
  readonly kv: KvMemory;
  readonly scratch: number;
  readonly total: number;
}

export interface ModelInfo {
  readonly path: string;
  readonly name: string;
  readonly config: ModelConfig;
  readonly kv: KvLayout;
  readonly memory: MemoryPlan;
  readonly loadMs: number;
}

export interface GenerateOptions {
  readonly maxTokens: number;
  readonly sampling?: SamplingParams;
  readonly quest?: QuestSettings;
  /** Record the pages each sparse layer read at each step (quest mode). */
  readonly trace?: boolean;
  /**
   * Also record each step's page scores (sparse layers, quest mode) and the attention each page received (when
   * `attention` is on). Large: (layers, kvHeads, pages) numbers a step.
   */
  readonly traceScores?: boolean;
  /** Count the attention each page receives, for attentionMass(); default true (its cost is in BENCHMARKS.md). */
  readonly attention?: boolean;
  /**
   * Keys at this position and after add no attention to the count (they still take their share of the softmax):
   * the context's end, so that the question and the answer, which draw much of an answer's attention, are not
   * counted with the page they share with the context's last tokens. Default: every position.
   */
  readonly attentionEnd?: number;
  readonly signal?: AbortSignal;
}

export interface GeneratedToken extends StepTrace {
  readonly token: number;
  /** Position of the query that produced this token. */
  readonly position: number;
}

/** The attention an answer's decodeSteps paid to each page of the cache: see Engine.attentionMass. */
export interface AttentionMass {
  /** (pages in the cache after the last step) Σ over steps, counted layers and query heads of softmax weights. */
  readonly pages: Float64Array;
  /** decodeSteps counted. */
  readonly steps: number;
  /** The last `layers` layers were counted. */
  readonly layers: number;
}

export const denseSettings: QuestSettings = { mode: 'dense', pageBudget: 1, denseLayers: 0, aggregation: 'max' };

/** What attentionMass() counts: decodeSteps, and the cache's length after the last one. */
interface Counted {
  readonly steps: number;
  readonly length: number;
}

/** A submitted command buffer that ends with a token: generate()'s first (the prompt's token) or a decodeStep. */
interface InFlight {
  /** Position of the query that chose the token. */
  readonly position: number;
  /** Its readback ring slot (token, trace, kept logits). */
  readonly slot: number;
  readonly traced: boolean;
  /** What attentionMass() counted before this step: restored when a step ahead is undone. */
  readonly counted: Counted;
}

/** The sampling path's top-k op and its readback. */
interface Candidates {
  readonly dispatches: readonly Dispatch[];
  readonly readback: ResultReadback;
  readonly k: number;
}

/** How generate() runs its decodeSteps. */
interface StepSettings {
  readonly quest: QuestSettings;
  readonly attention: boolean;
  /** Greedy: each step is submitted before the token it appends is read back (Engine.generate). */
  readonly ahead: boolean;
  /** Sampling: the top-k op whose candidates the host draws from. */
  readonly candidates: Candidates | undefined;
}

/** A request the engine cannot serve as asked: the message names the setting, its value and the limit. */
export class SettingsError extends EngineError {
  constructor(message: string) {
    super('settings', message);
  }
}

export class Engine {
  private candidates: Candidates | undefined;
  /** What the last generate() counted for attentionMass(): its steps, and the cache's length after the last one. */
  private counted: Counted = { steps: 0, length: 0 };
  /** The next readback ring slot. */
  private slot = 0;
  /** Set while a greedy generate() yields: the logits that chose the yielded token (the step ahead overwrote the run state's). */
  private chosenLogits: GPUBuffer | undefined;
  /** The run state's logits belong to the cache's last token: generate() may start. */
  private logitsReady = false;
  private disposed = false;

  private constructor(
    readonly gpu: Gpu,
    readonly info: ModelInfo,
    readonly tokenizer: Tokenizer,
    private readonly kernels: Kernels,
    private readonly weights: ModelWeights,
    private readonly state: RunState,
    private readonly cache: KvCache,
    private readonly forward: Forward,
    private readonly tokenReadback: ResultReadback,
    private readonly traceReadback: TraceReadback,
    private readonly lookahead: Lookahead,
  ) {}

  static async load(gpu: Gpu, path: string, options: EngineOptions = {}): Promise<Engine> {
    const t0 = performance.now();
    const { file, config: cfg, tokenizer } = await readModelFile(path);
    // Every setting and the KV cache's size are checked before anything is allocated or uploaded.
    const { layout, maxContext, prefillRun } = planLoad(gpu, basename(path), cfg, options);

    const kernels = new Kernels(gpu);
    gpu.device.pushErrorScope('out-of-memory');
    let weights: ModelWeights | undefined;
    let state: RunState | undefined;
    let cache: KvCache | undefined;
    try {
      weights = await loadWeights(gpu, file, cfg, options.onProgress, options.signal);
      state = createRunState(gpu, cfg, prefillRun);
      cache = KvCache.create(gpu, layout);
    } catch (err) {
      // A failed upload or an abort: pop the scope pushed above and free what was made, then report the failure.
      await gpu.device.popErrorScope();
      cache?.dispose();
      state?.destroy();
      weights?.destroy();
      throw err;
    }
    const oom = await gpu.device.popErrorScope();
    const memory: MemoryPlan = {
      weights: weights.bytes,
      kv: cache.memory(),
      scratch: state.bytes,
      total: weights.bytes + cache.memory().total + state.bytes,
    };
    if (oom) {
      weights.destroy();
      state.destroy();
      cache.dispose();
      throw new EngineError(
        'out-of-memory',
        `${basename(path)}: the GPU ran out of memory: the model needs ${gib(memory.total)} ` +
          `(weights ${gib(memory.weights)}, KV cache ${gib(memory.kv.total)} for ${maxContext} tokens, scratch ${gib(memory.scratch)}); ` +
          `${gpu.summary.description} refused it (${oom.message}); WebGPU does not report the adapter's total memory, only its ` +
          `largest buffer (${gib(gpu.summary.limits.maxBufferSize)}). Use a shorter context or a smaller quantization.`,
      );
    }
    const attentionLayers = resolveAttentionLayers(options.attentionLayers, cfg.recommendedAttentionLayers, cfg.layers);
    const forward = await buildForward(gpu, kernels, cfg, weights, state, cache, attentionLayers);
    const tokenReadback = new ResultReadback(gpu, forward.token, 4, 'readback.token');
    const traceReadback = await TraceReadback.create(gpu, kernels, forward, layout);
    const lookahead = Lookahead.create(gpu, state, forward, cfg.vocab);
    const info: ModelInfo = { path, name: basename(path), config: cfg, kv: layout, memory, loadMs: performance.now() - t0 };
    return new Engine(gpu, info, tokenizer, kernels, weights, state, cache, forward, tokenReadback, traceReadback, lookahead);
  }

  /**
   * The engine's parts, for benchmarks that time a decodeStep's dispatches or fill a long KV cache without a prefill.
   * Not for the product: the engine's own methods keep these consistent.
   */
  internals(): {
    readonly forward: Forward;
    readonly cache: KvCache;
    readonly state: RunState;
    readonly weights: ModelWeights;
    readonly kernels: Kernels;
  } {
    return { forward: this.forward, cache: this.cache, state: this.state, weights: this.weights, kernels: this.kernels };
  }

  /** Tokens in the KV cache. */
  get length(): number {
    return this.cache.length;
  }

  get capacity(): number {
    return this.cache.layout.maxPages * this.cache.layout.pageSize;
  }

  /**
   * Appends `tokens` to the cache in runs of up to the prefill run size; the last run also computes the next-token
   * logits. Checks `signal` between runs. The cache keeps what was prefilled before a cancel.
   */
  async prefill(
    tokens: ArrayLike<number>,
    opts: { onProgress?: (done: number, total: number) => void; signal?: AbortSignal } = {},
  ): Promise<void> {
    this.checkAlive();
    const n = tokens.length;
    if (n === 0) return;
    if (this.length + n > this.capacity) {
      throw new SettingsError(`prefill of ${n} tokens after ${this.length} exceeds the context capacity of ${this.capacity} tokens`);
    }
    const vocab = this.info.config.vocab;
    for (let i = 0; i < n; i++) {
      const t = tokens[i];
      if (!(Number.isInteger(t) && t >= 0 && t < vocab)) throw new SettingsError(`token ${i} (${t}) is not an id in 0..${vocab - 1}`);
    }
    const run = this.forward.maxRun;
    for (let at = 0; at < n; at += run) {
      opts.signal?.throwIfAborted();
      const m = Math.min(run, n - at);
      const ids = new Uint32Array(m);
      for (let i = 0; i < m; i++) ids[i] = tokens[at + i];
      this.gpu.device.queue.writeBuffer(this.state.ids, 0, ids);
      this.cache.beginRun(m);
      const encoder = this.gpu.device.createCommandEncoder();
      this.forward.encodePrefill(encoder, m, at + m === n);
      this.gpu.device.queue.submit([encoder.finish()]);
      await this.gpu.device.queue.onSubmittedWorkDone();
      opts.onProgress?.(at + m, n);
    }
    this.logitsReady = true;
  }

  /**
   * The logits that chose the last token (after prefill: the next-token logits of the prompt; at a yield of generate():
   * the yielded token's). For evaluation.
   */
  async logits(): Promise<Float32Array> {
    this.checkAlive();
    return readF32(this.gpu, this.chosenLogits ?? this.state.logits, this.info.config.vocab);
  }

  /** Keeps the first `tokens` tokens of the cache (e.g. a shared workspace prefix) and drops the rest. */
  truncate(tokens: number): void {
    this.cache.truncate(tokens);
    this.logitsReady = false;
  }

  /**
   * Decodes up to maxTokens tokens after the prefilled prompt, stopping at an end-of-generation token (which is
   * yielded) or when `signal` aborts. Each yielded token is already in the cache except the last one.
   *
   * Greedy decoding runs one decodeStep ahead of the host: the step that appends a token reads it where the step
   * before left it on the GPU and is submitted before that token is read back, so the host encodes a step while the
   * GPU runs the one before, and maps one readback ring slot while the step ahead copies into the other. When the
   * yielded token ends the answer (end of generation, abort, or the consumer stops iterating), the step ahead of it
   * is undone (undoStep). Sampling draws on the host from the step's candidates first: one step at a time.
   */
  async *generate(o: GenerateOptions): AsyncGenerator<GeneratedToken> {
    this.checkAlive();
    if (!this.logitsReady) throw new EngineError('no-prompt', 'generate() needs a prefill() of the prompt first');
    const quest = o.quest ?? denseSettings;
    this.checkQuest(quest);
    const sampler = o.sampling && o.sampling.temperature > 0 ? new Sampler(o.sampling) : undefined;
    const candidates = sampler ? await this.candidateOp() : undefined;
    const attention = (o.attention ?? true) && this.forward.attentionMass.layers > 0;
    const attentionEnd = o.attentionEnd ?? 0xffffffff;
    if (!(Number.isInteger(attentionEnd) && attentionEnd >= 0 && attentionEnd <= 0xffffffff)) {
      throw new SettingsError(`attentionEnd (${o.attentionEnd}) must be a token position, an integer in 0..${0xffffffff}`);
    }
    const trace = this.traceReadback;
    trace.begin(quest, { pages: !!o.trace, scores: !!o.traceScores, attention: !!o.traceScores && attention });
    const ahead = !sampler;
    const settings: StepSettings = { quest, attention, ahead, candidates };

    // The first token comes from the prompt's logits; the attention count starts from zero.
    const first = this.gpu.device.createCommandEncoder();
    if (attention) {
      first.clearBuffer(this.forward.attentionMass.received);
      // Position 0, the attention sink, counts nothing.
      this.gpu.device.queue.writeBuffer(this.forward.attentionMass.range, 0, attentionMassRange(1, attentionEnd));
    }
    this.counted = { steps: 0, length: this.length };
    let pending = this.submitToken(first, this.length - 1, false, this.counted, settings);
    // The decodeStep that appends pending's token, when submitted before that token was read back.
    let next: InFlight | undefined;
    try {
      for (let produced = 0; produced < o.maxTokens; produced++) {
        if (ahead && produced + 1 < o.maxTokens && this.length + 1 <= this.capacity) next = this.submitStep(undefined, settings);
        const { token, trace: recorded } = await this.readToken(pending, sampler, candidates);
        if (ahead) this.chosenLogits = this.lookahead.logitsOf(pending.slot);
        yield { token, position: pending.position, ...recorded };
        if (this.tokenizer.isEog(token) || produced + 1 >= o.maxTokens || o.signal?.aborted) return;
        if (!next) {
          if (this.length + 1 > this.capacity) throw new SettingsError(`the answer reached the context capacity of ${this.capacity} tokens`);
          next = this.submitStep(token, settings);
        }
        [pending, next] = [next, undefined];
      }
    } finally {
      if (next) this.undoStep(next, pending, attention);
      this.chosenLogits = undefined;
    }
  }

  /**
   * The attention the last generate()'s decodeSteps paid to each page: per page, the softmax weights of its positions
   * summed over the steps, the last `layers` layers and every query head (position 0, the attention sink, and positions
   * from generate()'s `attentionEnd` on excluded).
   * A decodeStep's query is the answer token it appends, so every answer token but the last is counted (the first
   * answer token is chosen by the prompt's prefill, which counts nothing). In quest mode a layer reads only the pages
   * its KV heads selected, so only those receive any. One readback of (kvHeads, pages) floats. Read it once the
   * generator is done: while it runs, a greedy generate() has already counted the step ahead of the yielded token.
   */
  async attentionMass(): Promise<AttentionMass> {
    this.checkAlive();
    const { kvHeads } = this.info.config;
    const { maxPages, pageSize } = this.cache.layout;
    const { steps, length } = this.counted;
    const pages = new Float64Array(Math.ceil(length / pageSize));
    const layers = this.forward.attentionMass.layers;
    if (steps === 0) return { pages, steps, layers };
    const totals = await readF32(this.gpu, this.forward.attentionMass.received, kvHeads * maxPages);
    for (let h = 0; h < kvHeads; h++) for (let p = 0; p < pages.length; p++) pages[p] += totals[h * maxPages + p];
    return { pages, steps, layers };
  }

  /**
   * Encodes and submits one decodeStep appending `token`, or, when undefined (a step ahead), the token the step before
   * chose, still on the GPU.
   */
  private submitStep(token: number | undefined, s: StepSettings): InFlight {
    const encoder = this.gpu.device.createCommandEncoder();
    if (token === undefined) this.lookahead.encodeBegin(encoder, s.attention);
    else this.gpu.device.queue.writeBuffer(this.state.ids, 0, new Uint32Array([token]));
    // The queue applies writes in submit order: this step's uniforms and page-table entries cannot reach the step
    // before it, still running.
    this.cache.beginRun(1);
    this.forward.writeStepParams(this.length, s.quest);
    this.forward.encodeDecode(encoder, s.quest, s.attention);
    const counted = this.counted;
    if (s.attention) this.counted = { steps: counted.steps + 1, length: this.length };
    return this.submitToken(encoder, this.length - 1, this.traceReadback.active, counted, s);
  }

  /** Ends `encoder` with its token's readbacks (and, ahead, a copy of the logits that chose it) and submits it. */
  private submitToken(encoder: GPUCommandEncoder, position: number, traced: boolean, counted: Counted, s: StepSettings): InFlight {
    const slot = this.slot++;
    if (traced) this.traceReadback.encode(encoder, position + 1, slot);
    if (s.candidates) {
      encodeDispatches(encoder, s.candidates.dispatches);
      s.candidates.readback.encode(encoder, slot);
    } else {
      this.tokenReadback.encode(encoder, slot);
    }
    if (s.ahead) this.lookahead.encodeKeep(encoder, slot);
    this.gpu.device.queue.submit([encoder.finish()]);
    return { position, slot, traced, counted };
  }

  /** The token (picked by the sampler, if any) and the trace of a submitted step. */
  private async readToken(f: InFlight, sampler: Sampler | undefined, c: Candidates | undefined): Promise<{ token: number; trace: StepTrace }> {
    const token = sampler && c
      ? c.readback.read(f.slot).then((words) => sampler.pick(decodeCandidates(words, c.k)))
      : this.tokenReadback.read(f.slot).then((words) => new Uint32Array(words)[0]);
    // Awaited together: when the device is lost both readbacks reject, and one left unawaited would end the process.
    const [t, trace] = await Promise.all([token, f.traced ? this.traceReadback.read(f.slot) : {}]);
    return { token: t, trace };
  }

  /**
   * Undoes `step`, submitted ahead of `last`'s token, which ended the answer: the cache drops its token (a page it cut
   * gets its pageMeta rebuilt by the next run, as after truncate()), attentionMass() counts what it counted before,
   * and the GPU's token and logits are `last`'s again. Its readbacks are never mapped.
   */
  private undoStep(step: InFlight, last: InFlight, attention: boolean): void {
    if (this.disposed) return; // disposed while the consumer held the generator: nothing is left to undo
    const encoder = this.gpu.device.createCommandEncoder();
    this.lookahead.encodeUndo(encoder, last.slot, attention);
    this.gpu.device.queue.submit([encoder.finish()]);
    this.cache.truncate(this.length - 1);
    this.counted = step.counted;
  }

  /** The top-k candidates op, built on the first sampled request (greedy decoding never needs it). */
  private async candidateOp(): Promise<Candidates> {
    if (this.candidates) return this.candidates;
    const vocab = this.info.config.vocab;
    const k = Math.min(TOPK_MAX, vocab);
    const sortSize = defaultTopKSortSize(this.kernels, k);
    const bytes = topKScratchBytes(vocab, k, sortSize);
    const scratch: [GPUBuffer, GPUBuffer] = [createStorage(this.gpu, 'topk.a', bytes), createStorage(this.gpu, 'topk.b', bytes)];
    const out = createStorage(this.gpu, 'topk.out', k * 8);
    const dispatches = await topK(this.kernels, { logits: this.state.logits, scratch, out }, { vocab, k, sortSize });
    this.candidates = { dispatches, readback: new ResultReadback(this.gpu, out, k * 8, 'readback.candidates'), k };
    return this.candidates;
  }

  private checkQuest(q: QuestSettings): void {
    if (q.mode === 'dense') return;
    const maxPages = this.cache.layout.maxPages;
    const layers = this.info.config.layers;
    if (!(Number.isInteger(q.pageBudget) && q.pageBudget >= 1 && q.pageBudget <= maxPages)) {
      throw new SettingsError(`pageBudget (${q.pageBudget}) must be an integer in 1..${maxPages} (the cache's pages)`);
    }
    if (!(Number.isInteger(q.denseLayers) && q.denseLayers >= 0 && q.denseLayers <= layers)) {
      throw new SettingsError(`denseLayers (${q.denseLayers}) must be an integer in 0..${layers} (the model's layers)`);
    }
  }

  private checkAlive(): void {
    if (this.disposed) throw new EngineError('disposed', 'the engine was disposed');
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.tokenReadback.destroy();
    this.candidates?.readback.destroy();
    this.traceReadback.destroy();
    this.lookahead.destroy();
    this.forward.destroy();
    this.cache.dispose();
    this.state.destroy();
    this.weights.destroy();
  }
}

/**
 * Checks the load options against the model and the adapter before anything is allocated: SettingsError naming the
 * file, the option, its value and the limit; an 'out-of-memory' EngineError when one layer's KV cache is larger
 * than the adapter allows in one buffer, saying how much the context needs, what the adapter allows and the longest
 * context that fits.
 */
function planLoad(gpu: Gpu, name: string, cfg: ModelConfig, options: EngineOptions): { layout: KvLayout; maxContext: number; prefillRun: number } {
  const fail = (problem: string): never => {
    throw new SettingsError(`${name}: ${problem}`);
  };
  const pageSize = resolvePageSize(options.pageSize, cfg.recommendedPageSize);
  const maxContext = options.maxContext ?? Math.min(cfg.contextLength, 8192);
  if (!(Number.isInteger(maxContext) && maxContext >= 1)) fail(`maxContext (${maxContext}) must be an integer >= 1`);
  if (maxContext > ROPE_MAX_POSITIONS) {
    fail(`maxContext (${maxContext}) must be at most ${ROPE_MAX_POSITIONS}, the positions the engine's RoPE table covers (the model was trained for ${cfg.contextLength})`);
  }
  const kvType = options.kvType ?? (gpu.hasF16 ? 'f16' : 'f32');
  if (kvType === 'f16' && !gpu.hasF16) fail(`kvType f16 needs shader-f16, which ${gpu.summary.description} does not offer`);
  if (options.prefillRun !== undefined && !(Number.isInteger(options.prefillRun) && options.prefillRun >= 1)) {
    fail(`prefillRun (${options.prefillRun}) must be an integer >= 1`);
  }
  let layout: KvLayout;
  try {
    checkPageSize(pageSize);
    layout = kvLayout({ layers: cfg.layers, kvHeads: cfg.kvHeads, headDim: cfg.headDim, maxTokens: maxContext, pageSize, kvType });
  } catch (err) {
    if (err instanceof ShapeError) return fail(err.message);
    throw err;
  }
  const { maxStorageBufferBindingSize, maxBufferSize } = gpu.summary.limits;
  const limit = Math.min(maxStorageBufferBindingSize, maxBufferSize);
  // Per layer, K and V are (maxPages, kvHeads, pageSize, headDim) and pageMeta (maxPages, kvHeads, 2, headDim): one buffer each.
  const kvBytes = kvLayerBytes(layout);
  const metaBytes = pageMetaLayerBytes(layout);
  const biggest = Math.max(kvBytes, metaBytes);
  if (biggest > limit) {
    const perPage = biggest / layout.maxPages;
    const fits = Math.floor(limit / perPage) * pageSize;
    const f16 = kvType === 'f32' && gpu.hasF16 ? ` (${Math.floor(limit / (perPage / 2)) * pageSize} with an f16 KV cache)` : '';
    const buffers = kvBytes >= metaBytes ? `K and V of ${gib(kvBytes)} each` : `pageMeta of ${gib(metaBytes)}`;
    throw new EngineError(
      'out-of-memory',
      `${name}: a context of ${maxContext} tokens needs a KV cache of ${gib(kvMemory(layout).total)} (${cfg.layers} layer${cfg.layers === 1 ? '' : 's'}; per ` +
        `layer ${buffers}: ${cfg.kvHeads} KV heads × ${cfg.headDim} ${kvType} per token), but ${gpu.summary.description} allows ` +
        `at most ${limit} B (${gib(limit)}) per buffer; the longest context that fits is ${fits} tokens${f16}. Use a shorter context.`,
    );
  }
  const prefillRun = Math.min(options.prefillRun ?? (gpu.summary.isSoftware ? 256 : 512), layout.maxPages * pageSize);
  return { layout, maxContext, prefillRun };
}

/**
 * Everything load() checks in a model file before it touches the GPU: the GGUF header, the config against the tensors,
 * the tokenizer. Throws an EngineError naming the file (GgufError, UnsupportedTensorTypeError, ModelConfigError,
 * ModelShapeError, TokenizerError).
 */
export async function readModelFile(path: string): Promise<{ file: GgufFile; config: ModelConfig; tokenizer: Tokenizer }> {
  const file = await readGguf(path);
  const config = readModelConfig(file);
  return { file, config, tokenizer: tokenizerOf(file) };
}

/** The file's tokenizer; a TokenizerError names the file. */
function tokenizerOf(file: GgufFile): Tokenizer {
  try {
    return createTokenizer(file.metadata);
  } catch (err) {
    if (err instanceof TokenizerError) throw new TokenizerError(`${file.path}: ${err.message}`);
    throw err;
  }
}

function gib(bytes: number): string {
  return bytes >= 2 ** 30 ? `${(bytes / 2 ** 30).toFixed(2)} GiB` : `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}
