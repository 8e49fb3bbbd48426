// What the engine process holds (the loaded model, the prefilled context) as the extension host knows it, and the
// three steps that get a question's context into the KV cache: model/load → context/build → context/prefill.
// One preparation runs at a time (the engine serves one request at a time anyway; this keeps two asks from
// interleaving their steps). The status bar reads `state`; an engine exit clears it.
import { basename } from 'node:path';
import * as vscode from 'vscode';
import type { ContextManifest, SkippedFile } from './context/manifest';
import type { ReaderPhase } from './context/packContext';
import type { ModelSummary } from '../gpu/protocol';
import { Disposable } from './disposable';
import type { EngineClient } from './engineClient';
import { CancelledError, ModelFileError, NoModelError, NoWorkspaceError } from './errors';
import { checkModelFile } from './models/modelFile';
import { BUILTIN_MODEL_LABEL, builtinModelAbout } from './models/builtinModel';
import { denseLayersSetting, modelToLoad, pageSizeSetting, readerSettings, readSettings } from './settings';
import { type QuestLensSettings, denseLayersInUse } from './settingsMap';
import { workspaceFolderSpecs } from './workspaceFolders';

export interface EngineState {
  /** The model the engine has loaded (as it reported it). */
  readonly model?: ModelSummary;
  /** What the user calls it (the Select Model label, else the file name; BUILTIN_MODEL_LABEL for the built-in one). */
  readonly modelLabel?: string;
  /** The loaded model is the built-in one (it answers by quoting code only: builtinModel.ts). */
  readonly builtin?: boolean;
  /** Tokens of the workspace context in the KV cache after the last prefill. */
  readonly contextTokens?: number;
  readonly contextFiles?: number;
  /** Decode speed of the last answer. */
  readonly decodeTokensPerSecond?: number;
  /** What the engine is doing now, for the status bar. */
  readonly busy?: 'load' | 'tokenize' | 'prefill' | 'answer';
}

export type PreparePhase = 'load' | 'tokenize' | 'prefill';

export interface PrepareOptions {
  /** '' loads the whole workspace as it fits; a question lets the packer favour files near it. */
  readonly question: string;
  readonly openFile?: { readonly folder: number; readonly path: string; readonly line: number };
  readonly signal: AbortSignal;
  /** Progress of each phase: bytes of the model file, tokens read, tokens prefilled. */
  readonly onProgress: (p: PrepareProgress) => void;
}

export type PrepareProgress =
  | { readonly phase: 'load'; readonly bytesDone: number; readonly bytes: number }
  /** The reader: `stage` 'walk' counts files found (`total` 0: not known yet), 'read' and 'tokenize' files done of `total`. */
  | { readonly phase: 'tokenize'; readonly stage: ReaderPhase; readonly files: number; readonly total: number; readonly tokens: number }
  | { readonly phase: 'prefill'; readonly tokensDone: number; readonly tokens: number; readonly tokensPerSecond: number };

export interface Prepared {
  readonly model: ModelSummary;
  readonly manifest: ContextManifest;
  readonly skipped: readonly SkippedFile[];
  readonly settings: QuestLensSettings;
  readonly prefill: { readonly tokens: number; readonly reused: number; readonly ms: number; readonly source?: 'memory' | 'disk' | 'none' };
}

export class EngineSession extends Disposable {
  private current: EngineState = {};
  private queue: Promise<unknown> = Promise.resolve();
  private readonly changed = this._register(new vscode.EventEmitter<EngineState>());
  readonly onDidChange = this.changed.event;

  constructor(
    readonly engine: EngineClient,
    private readonly log: vscode.LogOutputChannel,
    /** The Select Model label of a path, when the picker chose it. */
    private readonly labelOf: (path: string) => string | undefined,
    /** Where the engine persists this workspace's KV cache (the extension's workspace storage); undefined: its default. */
    private readonly kvCacheDir?: string,
  ) {
    super();
    this._register(engine.onDidExit(() => this.update({ model: undefined, contextTokens: undefined, contextFiles: undefined, busy: undefined })));
    // A lost GPU device took the loaded model and context with it; the next question loads them again.
    this._register(
      engine.onDidRecoverDevice((r) => {
        this.update({ model: undefined, contextTokens: undefined, contextFiles: undefined, busy: undefined });
        void vscode.window
          .showWarningMessage(`The GPU device was lost (${r.reason}); Quest Lens opened a new one on ${r.adapter.description}. The next question loads the model again.`, 'Show Log')
          .then((c) => c && log.show());
      }),
    );
  }

  get state(): EngineState {
    return this.current;
  }

  /** Runs `work` after every earlier exclusive work has settled. */
  exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** model/load → context/build → context/prefill, after any running exclusive work. */
  prepare(options: PrepareOptions): Promise<Prepared> {
    return this.exclusive(() => this.prepareInLock(options));
  }

  noteBusy(busy: EngineState['busy']): void {
    this.update({ busy });
  }

  noteDecode(tokensPerSecond: number): void {
    this.update({ decodeTokensPerSecond: tokensPerSecond });
  }

  /** context/clear: drops the engine's KV cache (the model stays loaded). */
  async clearContext(): Promise<void> {
    await this.exclusive(() => this.engine.request({ type: 'context/clear' }));
    this.update({ contextTokens: undefined, contextFiles: undefined });
  }

  /** prepare() for a caller already inside exclusive() (an ask keeps the lock from prefill through its answer). */
  async prepareInLock(o: PrepareOptions): Promise<Prepared> {
    const { signal, onProgress } = o;
    if (signal.aborted) throw new CancelledError('Preparing the context');
    const settings = readSettings(this.current.model);
    const choice = modelToLoad();
    const folders = workspaceFolderSpecs();
    if (folders.length === 0) throw new NoWorkspaceError();
    try {
      await checkModelFile(choice.path).catch((err: unknown) => {
        // A missing built-in model is a broken installation, not a bad choice of file: say so.
        throw choice.builtin && err instanceof ModelFileError ? new NoModelError(choice.path, err.problem, !vscode.workspace.isTrusted) : err;
      });

      this.update({ busy: 'load' });
      const t0 = Date.now();
      // No page size unless the user set one: the engine then uses the model's recommendation (`questlens.page_size`).
      const { model } = await this.engine.request(
        { type: 'model/load', path: choice.path, maxContext: settings.maxContextTokens, pageSize: pageSizeSetting() },
        { signal, onChunk: (c) => onProgress({ phase: 'load', bytesDone: c.bytesDone, bytes: c.bytes }) },
      );
      const same = this.current.model?.path === model.path && this.current.model.pageSize === model.pageSize && this.current.model.maxContext === model.maxContext;
      if (!same) {
        if (choice.builtin) this.log.info(`no model selected: using the built-in model. ${builtinModelAbout}`);
        this.log.info(
          `model ${model.path}: ${model.architecture}, ${model.layers} layers, ${model.kvHeads} KV heads, context ${model.contextLength} ` +
            `(allocated ${model.maxContext}), page size ${model.pageSize}${model.recommendedPageSize !== undefined ? ` (the model recommends ${model.recommendedPageSize})` : ''}` +
            `${model.recommendedDenseLayers !== undefined ? `, Quest dense layers: the model recommends ${model.recommendedDenseLayers}` : ''}, ` +
            `${model.memory.total} bytes on ${model.adapter.description}, loaded in ${Date.now() - t0} ms`,
        );
      }
      this.update({
        model,
        modelLabel: choice.builtin ? BUILTIN_MODEL_LABEL : (this.labelOf(model.path) ?? basename(model.path).replace(/\.gguf$/i, '')),
        builtin: choice.builtin,
        ...(same ? {} : { contextTokens: undefined, contextFiles: undefined }),
        busy: 'tokenize',
      });

      const built = await this.engine.request(
        {
          type: 'context/build',
          folders,
          reader: readerSettings(settings),
          question: o.question,
          ...(o.openFile ? { openFile: o.openFile } : {}),
          ...(this.kvCacheDir ? { kvCacheDir: this.kvCacheDir } : {}),
        },
        { signal, onChunk: (c) => onProgress({ phase: 'tokenize', stage: c.phase, files: c.files, total: c.total, tokens: c.tokens }) },
      );
      const { manifest } = built;
      this.log.info(
        `context: ${manifest.files.length} files, ${manifest.totalTokens} tokens, ${built.skipped.length} left out` +
          (built.skipped.length ? ` (${summarizeSkipped(built.skipped)})` : ''),
      );

      this.update({ busy: 'prefill' });
      const prefill = await this.engine.request(
        { type: 'context/prefill' },
        {
          signal,
          onChunk: (c) => onProgress({ phase: 'prefill', tokensDone: c.tokensDone, tokens: c.tokens, tokensPerSecond: c.tokensPerSecond }),
        },
      );
      this.log.info(
        `prefill: ${prefill.tokens} tokens (${prefill.reused} reused${prefill.source && prefill.source !== 'none' ? ` from the ${prefill.source} cache` : ''}) in ${Math.round(prefill.ms)} ms`,
      );
      this.update({ contextTokens: prefill.tokens, contextFiles: manifest.files.length });
      return {
        model,
        manifest,
        skipped: built.skipped,
        // The decode budget is rounded to the pages of the cache as loaded; unset dense layers follow the loaded model.
        settings: { ...settings, pageSize: model.pageSize, denseLayers: denseLayersInUse(denseLayersSetting(), model.recommendedDenseLayers) },
        prefill: { tokens: prefill.tokens, reused: prefill.reused, ms: prefill.ms, ...(prefill.source ? { source: prefill.source } : {}) },
      };
    } finally {
      this.update({ busy: undefined });
    }
  }

  private update(patch: Partial<Record<keyof EngineState, unknown>>): void {
    const next = { ...this.current } as Record<string, unknown>;
    for (const [k, v] of Object.entries(patch)) {
      if (v === undefined) delete next[k];
      else next[k] = v;
    }
    this.current = next as EngineState;
    this.changed.fire(this.current);
  }
}

/** "3 binary, 1 too-large" */
export function summarizeSkipped(skipped: readonly SkippedFile[]): string {
  const counts = new Map<string, number>();
  for (const s of skipped) counts.set(s.reason, (counts.get(s.reason) ?? 0) + 1);
  return [...counts].map(([reason, n]) => `${n} ${reason}`).join(', ');
}
