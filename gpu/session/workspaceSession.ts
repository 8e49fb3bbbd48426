// One workspace on one model: what the engine process (serve.ts) and `quest-lens ask` both drive.
//   loadModel     the GGUF into an Engine (kept when the same file and options are asked for again)
//   buildContext  collectFiles + packContext with the model's own tokenizer, fitted to the cache
//   prefill       the packed context into the KV cache, reusing the longest prefix already there (in memory, or in
//                 the persisted cache on disk), then persisting it
//   answer        the question after the context (promptLayout.ts), decoded dense or with Quest, streamed with each
//                 step's selected pages, cited from where its attention went (citations.ts); afterwards the cache
//                 is cut back to the context, so the next question reuses it
// One call at a time (the caller serializes); every long call takes an AbortSignal checked between prefill runs and
// at every decodeStep.
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { collectFiles } from '../../extension/context/collectFiles';
import type { FileOrder } from '../../extension/context/fileOrder';
import type { ContextManifest, SkippedFile } from '../../extension/context/manifest';
import { packContext, type ReaderPhase } from '../../extension/context/packContext';
import type { Gpu } from '../device';
import { Engine, SettingsError, readModelFile } from '../engine';
import { EngineError } from '../errors';
import { metaStringOr } from '../gguf/metadata';
import type { KvType } from '../kv/layout';
import type { Citation, DecodeSettings, ModelSummary, ReaderSettings, WorkspaceFolderSpec } from '../protocol';
import { TextStreamDecoder } from '../tokenizer/streamDecoder';
import type { Tokenizer } from '../tokenizer/tokenizer';
import type { SelectionTrace, TraceStep } from '../trace';
import { answerCitations, attentionCitations } from './citations';
import { midTextTokenizer, packerTokenizer } from './contextTokenizer';
import { decodePlan } from './decodeSettings';
import { CancelledError, ModelFileError, SessionOrderError, isAbort } from './errors';
import { KvStore, defaultKvCacheDir, engineBuildId, engineKvCache } from './kvStore';
import { isPromptFormat, type PromptLayout, promptFormats, promptLayout } from './promptLayout';

export type SessionLog = (level: 'info' | 'warn' | 'error', message: string) => void;

export interface SessionOptions {
  /** Folder of the persisted KV caches; null: none. Default defaultKvCacheDir(). A build request may override it. */
  readonly kvCacheDir?: string | null;
  readonly log?: SessionLog;
}

export interface LoadModelRequest {
  readonly path: string;
  /** Tokens the cache holds (context + question + answer); clamped to the model's context length. */
  readonly maxContext: number;
  /** Tokens per KV page; absent: the model's recommendation (`questlens.page_size`), else 16. An explicit value wins. */
  readonly pageSize?: number;
  /** Default: f16 when the device has shader-f16. */
  readonly kvType?: KvType;
  /** Last layers whose attention the answer's attention citations count; absent: the model's `questlens.attention_layers`, else 4. */
  readonly attentionLayers?: number;
}

export interface BuildRequest {
  readonly folders: readonly WorkspaceFolderSpec[];
  readonly reader: ReaderSettings;
  readonly question: string;
  readonly openFile?: { readonly folder: number; readonly path: string; readonly line: number };
  /** Tokens kept free after the files for the question and the answer; default min(512, cache / 4). */
  readonly reserveTokens?: number;
  /** Overrides the session's kvCacheDir for this workspace (the extension passes its per-workspace storage). */
  readonly kvCacheDir?: string | null;
  /**
   * The walk as the corpus builder made it (eval/: held-out npm packages are walked with corpusSkipDirs, in path
   * order); absent: the extension's skip list and context order.
   */
  readonly walk?: { readonly skipDirs?: readonly string[]; readonly order?: FileOrder };
}

export interface BuiltContext {
  readonly manifest: ContextManifest;
  readonly skipped: readonly SkippedFile[];
}

export interface PrefillResult {
  readonly tokens: number;
  /** Tokens not prefilled again: already in the cache, or restored from disk. */
  readonly reused: number;
  /** Where the reused tokens came from. */
  readonly source: 'memory' | 'disk' | 'none';
  readonly ms: number;
}

export interface AnswerRequest {
  readonly question: string;
  readonly selection?: string;
  readonly decode: DecodeSettings;
}

export interface AnswerResult {
  readonly reason: 'stop' | 'length' | 'cancelled';
  readonly answer: string;
  readonly citations: readonly Citation[];
  readonly trace: SelectionTrace;
  readonly questionTokens: number;
  readonly decodeTokensPerSecond: number;
  readonly decodeMs: number;
}

export interface Progress<T> {
  readonly onProgress?: (p: T) => void;
  readonly signal?: AbortSignal;
}

interface LoadedModel {
  readonly engine: Engine;
  readonly request: LoadModelRequest;
  readonly file: { readonly size: number; readonly mtimeMs: number };
  readonly midText: Tokenizer;
  readonly layout: PromptLayout;
  readonly summary: ModelSummary;
}

interface Context {
  readonly tokens: Uint32Array; // (manifest.totalTokens)
  readonly manifest: ContextManifest;
  readonly store: KvStore | undefined;
}

export class WorkspaceSession {
  private model: LoadedModel | undefined;
  private context: Context | undefined;
  /** The context tokens the KV cache holds, from position 0 (between requests the cache holds exactly these). */
  private cached = new Uint32Array(0);
  /** The tokens the store's file holds, as far as this session knows (saves are skipped when unchanged). */
  private persisted: Uint32Array | undefined;
  private readonly log: SessionLog;

  constructor(
    private readonly gpu: () => Promise<Gpu>,
    private readonly options: SessionOptions = {},
  ) {
    this.log = options.log ?? (() => {});
  }

  get engine(): Engine | undefined {
    return this.model?.engine;
  }

  get manifest(): ContextManifest | undefined {
    return this.context?.manifest;
  }

  /** The persisted KV cache file of the built context's workspace and this model, if persisting. */
  get kvCacheFile(): string | undefined {
    return this.context?.store?.file;
  }

  /** The packed context's tokens (leading tokens, then the framed files). */
  get contextTokens(): Uint32Array | undefined {
    return this.context?.tokens;
  }

  /** `tokens` (e.g. a trace's promptTokens) decoded page by page, as the model reads them (heatmap hover text). */
  pageTexts(tokens: readonly number[]): string[] {
    const m = this.requireModel();
    const size = m.engine.info.kv.pageSize;
    const out: string[] = [];
    for (let at = 0; at < tokens.length; at += size) out.push(m.midText.decode(tokens.slice(at, at + size), { special: true }));
    return out;
  }

  async loadModel(req: LoadModelRequest, p: Progress<{ bytesDone: number; bytes: number }> = {}): Promise<ModelSummary> {
    const path = resolve(req.path);
    let st;
    try {
      st = await stat(path);
    } catch (e) {
      const code = (e as { code?: string }).code;
      throw new ModelFileError(
        code === 'ENOENT'
          ? `model file ${path} does not exist: give the path of a GGUF model file`
          : `model file ${path} cannot be read (${code ?? (e as Error).message})`,
      );
    }
    if (!st.isFile()) throw new ModelFileError(`model path ${path} is not a file: give the path of a GGUF model file`);
    const old = this.model;
    if (
      old &&
      old.request.path === path &&
      old.request.maxContext === req.maxContext &&
      old.request.pageSize === req.pageSize &&
      old.request.kvType === req.kvType &&
      old.request.attentionLayers === req.attentionLayers &&
      old.file.size === st.size &&
      old.file.mtimeMs === st.mtimeMs
    ) {
      return old.summary;
    }
    this.unloadModel();
    const gpu = await this.gpu();
    // Checked here first so that a bad file's error names it (midTextTokenizer reads the tokenizer readModelFile checked).
    const { file: gguf, config: cfg } = await readModelFile(path);
    const midText = midTextTokenizer(gguf.metadata);
    // A model trained on one of our prompt formats names it; one we do not know would be asked in the wrong format.
    const promptFormat = metaStringOr(gguf, 'questlens.prompt_format', undefined);
    if (promptFormat !== undefined && !isPromptFormat(promptFormat)) {
      throw new ModelFileError(
        `model file ${path} names the prompt format '${promptFormat}' (questlens.prompt_format), which this engine does not know ` +
          `(it knows ${promptFormats.join(', ')}): use a Quest Lens version made for this model`,
      );
    }
    if (!(Number.isInteger(req.maxContext) && req.maxContext >= 1)) throw new SettingsError(`maxContext (${req.maxContext}) must be an integer >= 1`);
    const maxContext = Math.min(req.maxContext, cfg.contextLength);
    const engine = await Engine.load(gpu, path, {
      maxContext,
      ...(req.pageSize !== undefined ? { pageSize: req.pageSize } : {}),
      ...(req.kvType ? { kvType: req.kvType } : {}),
      ...(req.attentionLayers !== undefined ? { attentionLayers: req.attentionLayers } : {}),
      onProgress: (lp) => p.onProgress?.({ bytesDone: lp.bytesDone, bytes: lp.bytes }),
      ...(p.signal ? { signal: p.signal } : {}),
    });
    const summary: ModelSummary = {
      path,
      name: engine.info.name,
      architecture: cfg.architecture,
      layers: cfg.layers,
      kvHeads: cfg.kvHeads,
      contextLength: cfg.contextLength,
      maxContext: engine.capacity,
      pageSize: engine.info.kv.pageSize,
      ...(cfg.recommendedPageSize !== undefined ? { recommendedPageSize: cfg.recommendedPageSize } : {}),
      ...(cfg.recommendedDenseLayers !== undefined ? { recommendedDenseLayers: cfg.recommendedDenseLayers } : {}),
      ...(cfg.recommendedAttentionLayers !== undefined ? { recommendedAttentionLayers: cfg.recommendedAttentionLayers } : {}),
      memory: engine.info.memory,
      adapter: gpu.summary,
      loadMs: engine.info.loadMs,
    };
    this.model = {
      engine,
      request: { ...req, path },
      file: { size: st.size, mtimeMs: st.mtimeMs },
      midText,
      layout: promptLayout(engine.tokenizer, midText, promptFormat),
      summary,
    };
    return summary;
  }

  async buildContext(req: BuildRequest, p: Progress<{ phase: ReaderPhase; files: number; total: number; tokens: number }> = {}): Promise<BuiltContext> {
    const m = this.requireModel();
    if (req.folders.length === 0) throw new EngineError('no-workspace', 'context/build needs at least one workspace folder');
    const folders = req.folders.map((f) => ({ name: f.name, path: resolve(f.path) }));
    const r = req.reader;
    const collected = await collectFiles({
      folders,
      include: r.include,
      exclude: r.exclude,
      filesExclude: r.filesExclude,
      searchExclude: r.searchExclude,
      useGitignore: r.useGitignore,
      maxFileBytes: r.maxFileBytes,
      ...(req.walk?.skipDirs ? { skipDirs: req.walk.skipDirs } : {}),
      ...(req.walk?.order ? { order: req.walk.order } : {}),
      ...(p.signal ? { signal: p.signal } : {}),
      // The walk of a large workspace takes seconds: the files found so far, before any is read.
      onProgress: (found) => p.onProgress?.({ phase: 'walk', files: found.files, total: 0, tokens: 0 }),
    });
    const tokenizer = packerTokenizer(m.midText);
    const capacity = m.engine.capacity;
    const packed = await packContext({
      files: collected.files,
      skipped: collected.skipped,
      tokenizer,
      pageSize: m.engine.info.kv.pageSize,
      leadingTokens: m.layout.leading,
      maxFileBytes: r.maxFileBytes,
      window: {
        maxContextTokens: capacity,
        reserveTokens: req.reserveTokens ?? Math.min(512, Math.floor(capacity / 4)),
        ...(req.question ? { question: req.question } : {}),
        ...(req.openFile ? { openFile: { folder: req.openFile.folder, relPath: req.openFile.path } } : {}),
      },
      ...(p.signal ? { signal: p.signal } : {}),
      onProgress: (pp) => p.onProgress?.({ phase: pp.phase, files: pp.done, total: pp.total, tokens: tokenizer.tokens }),
    });
    const dir = req.kvCacheDir !== undefined ? req.kvCacheDir : this.options.kvCacheDir !== undefined ? this.options.kvCacheDir : defaultKvCacheDir();
    const store = dir === null ? undefined : this.storeFor(dir, folders.map((f) => f.path));
    if (store?.file !== this.context?.store?.file) this.persisted = undefined;
    this.context = { tokens: packed.tokens, manifest: packed.manifest, store };
    return { manifest: packed.manifest, skipped: packed.manifest.skipped };
  }

  async prefill(p: Progress<{ tokensDone: number; tokens: number; tokensPerSecond: number }> = {}): Promise<PrefillResult> {
    const m = this.requireModel();
    const c = this.requireContext();
    const t0 = performance.now();
    const engine = m.engine;
    const ctx = c.tokens;
    let reused = commonPrefix(this.cached, ctx);
    let source: PrefillResult['source'] = reused > 0 ? 'memory' : 'none';
    if (reused < ctx.length && c.store) {
      const restored = await this.restoreFromDisk(c.store, ctx, reused);
      if (restored !== undefined) {
        reused = restored;
        source = 'disk';
      }
    }
    p.signal?.throwIfAborted();
    engine.truncate(Math.min(reused, engine.length));
    this.cached = ctx.slice(0, engine.length);
    const t1 = performance.now();
    try {
      await engine.prefill(ctx.subarray(reused), {
        ...(p.signal ? { signal: p.signal } : {}),
        onProgress: (done) => {
          const s = (performance.now() - t1) / 1000;
          p.onProgress?.({ tokensDone: reused + done, tokens: ctx.length, tokensPerSecond: s > 0 ? done / s : 0 });
        },
      });
    } catch (e) {
      throw isAbort(e) ? new CancelledError(`the prefill of ${ctx.length - reused} tokens`) : e;
    } finally {
      // What made it in: a cancel keeps the runs that completed, and the next prefill goes on from there.
      this.cached = ctx.slice(0, engine.length);
    }
    if (c.store && !(this.persisted && equalTokens(this.persisted, ctx))) {
      try {
        const ts = performance.now();
        await c.store.save(engineKvCache(engine), ctx, c.manifest);
        this.persisted = ctx;
        this.log('info', `persisted ${ctx.length} context tokens to ${c.store.file} in ${(performance.now() - ts).toFixed(0)} ms`);
      } catch (e) {
        this.log('warn', `could not persist the KV cache to ${c.store.file}: ${(e as Error).message}`);
      }
    }
    return { tokens: ctx.length, reused, source, ms: performance.now() - t0 };
  }

  /** Restores the longest prefix of `ctx` the file holds, if longer than `inMemory`; undefined when not used. */
  private async restoreFromDisk(store: KvStore, ctx: Uint32Array, inMemory: number): Promise<number | undefined> {
    const engine = this.requireModel().engine;
    const cache = engineKvCache(engine);
    const file = await store.open(cache.layout);
    if (!file) return undefined;
    try {
      const onDisk = commonPrefix(file.tokens, ctx);
      if (onDisk <= inMemory) return undefined;
      engine.truncate(0);
      this.cached = new Uint32Array(0);
      try {
        await file.restore(cache, onDisk);
      } catch (e) {
        this.log('warn', `persisted KV cache ${store.file}: ${(e as Error).message}; prefilling instead`);
        this.persisted = undefined;
        return undefined;
      }
      this.persisted = file.tokens;
      this.cached = ctx.slice(0, onDisk);
      return onDisk;
    } finally {
      await file.close();
    }
  }

  async answer(req: AnswerRequest, o: { onToken?: (text: string, step: TraceStep) => void; signal?: AbortSignal } = {}): Promise<AnswerResult> {
    const m = this.requireModel();
    const c = this.requireContext();
    const engine = m.engine;
    const ctxLen = c.tokens.length;
    if (!equalTokens(this.cached, c.tokens) || engine.length !== ctxLen) {
      throw new SessionOrderError(
        'no-prefill',
        `answer/generate needs the built context in the KV cache: ${this.cached.length} of its ${ctxLen} tokens are; send context/prefill first`,
      );
    }
    const { layers, recommendedDenseLayers } = engine.info.config;
    const plan = decodePlan(req.decode, { pageSize: engine.info.kv.pageSize, maxPages: engine.info.kv.maxPages, layers, recommendedDenseLayers });
    const question = m.layout.question(req.question, req.selection);
    const room = engine.capacity - ctxLen - question.length;
    if (room < 1) {
      throw new EngineError(
        'kv-capacity',
        `the question takes ${question.length} tokens after the ${ctxLen}-token context; the cache holds ${engine.capacity}: ` +
          'shorten the question or build the context with more room',
      );
    }
    const tok = engine.tokenizer;
    // Pages of a step the engine recorded none for, in the trace's (layers, kvHeads, …) shape: in dense mode none
    // (every layer reads everything); in quest mode that is the first token, which the prompt's dense prefill chose:
    // its sparse layers read every page in the cache.
    const stepPages = (position: number): number[][][] => {
      const all = plan.quest.mode === 'quest' ? Array.from({ length: Math.floor(position / engine.info.kv.pageSize) + 1 }, (_, p) => p) : [];
      return Array.from({ length: layers }, (_, l) =>
        Array.from({ length: engine.info.config.kvHeads }, () => (plan.quest.mode === 'quest' && l >= plan.quest.denseLayers ? all : [])),
      );
    };
    const decoder = new TextStreamDecoder(tok);
    const steps: TraceStep[] = [];
    let answer = '';
    let reason: AnswerResult['reason'] = 'length';
    let decodeMs = 0;
    try {
      try {
        await engine.prefill(question, o.signal ? { signal: o.signal } : {});
      } catch (e) {
        throw isAbort(e) ? new CancelledError('the answer') : e;
      }
      const t0 = performance.now();
      for await (const g of engine.generate({
        // The last token produced needs no cache slot: `room` slots give room + 1 tokens; keep one spare.
        maxTokens: Math.min(plan.maxTokens, room),
        quest: plan.quest,
        ...(plan.sampling ? { sampling: plan.sampling } : {}),
        trace: plan.quest.mode === 'quest',
        traceScores: req.decode.traceScores === true,
        // Citations are of the context: the question and the answer draw much of the attention, and the first of
        // them shares a page with the context's last tokens.
        attentionEnd: ctxLen,
        ...(o.signal ? { signal: o.signal } : {}),
      })) {
        const text = decoder.push(g.token);
        answer += text;
        // The token's own text, leading space kept (the engine tokenizer's decode() drops the space a 'llama'
        // vocabulary prefixes to a text's first token; an answer token is never first).
        const step: TraceStep = {
          token: g.token,
          text: m.midText.decode([g.token]),
          position: g.position,
          pages: g.pages ?? stepPages(g.position),
          ...(g.scores ? { scores: g.scores } : {}),
          ...(g.attention ? { attention: g.attention } : {}),
        };
        steps.push(step);
        o.onToken?.(text, step);
        if (tok.isEog(g.token)) reason = 'stop';
      }
      answer += decoder.end();
      decodeMs = performance.now() - t0;
      if (reason !== 'stop' && o.signal?.aborted) reason = 'cancelled';
    } finally {
      // The context stays; the question and answer go, so the next question starts from the same prefix.
      engine.truncate(ctxLen);
    }
    const attention = await engine.attentionMass();
    const trace: SelectionTrace = {
      version: 1,
      model: engine.info.name,
      mode: plan.quest.mode,
      pageSize: engine.info.kv.pageSize,
      pageBudget: plan.quest.pageBudget,
      layers,
      kvHeads: engine.info.config.kvHeads,
      denseLayers: plan.quest.mode === 'quest' ? plan.quest.denseLayers : layers,
      contextTokens: ctxLen + question.length,
      promptTokens: [...c.tokens, ...question],
      steps,
      ...(attention.steps > 0 ? { attention: Array.from(attention.pages) } : {}),
    };
    const citations = [...answerCitations(answer, c.manifest), ...attentionCitations(attention.pages, c.manifest)];
    return {
      reason,
      answer,
      citations,
      trace,
      questionTokens: question.length,
      decodeMs,
      decodeTokensPerSecond: decodeMs > 0 ? steps.length / (decodeMs / 1000) : 0,
    };
  }

  /** Forgets the built context and empties the KV cache (the persisted file stays: it is checked by content). */
  clear(): void {
    this.context = undefined;
    this.cached = new Uint32Array(0);
    this.model?.engine.truncate(0);
  }

  dispose(): void {
    this.unloadModel();
  }

  private unloadModel(): void {
    this.model?.engine.dispose();
    this.model = undefined;
    this.context = undefined;
    this.cached = new Uint32Array(0);
    this.persisted = undefined;
  }

  private storeFor(dir: string, workspace: readonly string[]): KvStore {
    const m = this.requireModel();
    const kv = m.engine.info.kv;
    return new KvStore(
      dir,
      {
        engineBuild: engineBuildId(),
        model: { path: m.request.path, size: m.file.size, mtimeMs: m.file.mtimeMs },
        kvType: kv.kvType,
        pageSize: kv.pageSize,
        layers: kv.layers,
        kvHeads: kv.kvHeads,
        headDim: kv.headDim,
        workspace,
      },
      (message) => this.log('warn', message),
    );
  }

  private requireModel(): LoadedModel {
    if (!this.model) throw new SessionOrderError('no-model', 'no model is loaded: send model/load first');
    return this.model;
  }

  private requireContext(): Context {
    if (!this.context) throw new SessionOrderError('no-context', 'no workspace context is built: send context/build first');
    return this.context;
  }
}

/** Length of the longest common prefix of two token sequences. */
export function commonPrefix(a: Uint32Array, b: Uint32Array): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

function equalTokens(a: Uint32Array, b: Uint32Array): boolean {
  return a.length === b.length && commonPrefix(a, b) === a.length;
}
