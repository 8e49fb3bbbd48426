// The one contract between the extension host and the engine process (`quest-lens serve`), both directions.
// Messages travel over Node's IPC channel with advanced serialization, so typed arrays cross as they are.
// Requests carry an `id`; every request gets exactly one final reply with that id (`done: true`), after any number
// of stream chunks with that id (`done: false`). Errors cross as data: `{ type: 'request/didFail', code, message }`.
// A `request/cancel` makes the target end soon with `request/didFail` code 'cancelled' (or its normal final reply
// if it was already finishing), except `answer/generate`, which ends with its `answer/didFinish` (reason
// 'cancelled', with the answer and trace so far). A cancel gets no reply of its own; a queued target is dropped with
// `request/didFail` 'cancelled'. The engine process runs one request at a time, in arrival order.
import type { ContextManifest, SkippedFile } from '../extension/context/manifest';
import type { ReaderPhase } from '../extension/context/packContext';
import type { AdapterSummary } from './device';
import type { MemoryPlan } from './engine';
import type { Citation } from './citation';
import type { SelectionTrace, TraceStep } from './trace';

/** An answer's citations: defined in citation.ts (types only, so the webview can import them too). */
export type { AnswerCitation, AttentionCitation, Citation, CitedLines } from './citation';

/** Where a workspace comes from: one entry per workspace folder. */
export interface WorkspaceFolderSpec {
  readonly name: string;
  readonly path: string;
}

/** What the reader takes from the user's settings (VS Code's files.exclude / search.exclude and the extension's). */
export interface ReaderSettings {
  readonly include: readonly string[];
  readonly exclude: readonly string[];
  readonly filesExclude: Readonly<Record<string, boolean | { when: string }>>;
  readonly searchExclude: Readonly<Record<string, boolean | { when: string }>>;
  readonly useGitignore: boolean;
  readonly maxFileBytes: number;
}

/** How an answer is decoded; switchable per request without a new prefill. */
export interface DecodeSettings {
  readonly mode: 'dense' | 'quest';
  /** Tokens each sparse layer reads per step, the last page included; a multiple of the page size. */
  readonly tokenBudget: number;
  /** Leading layers that always attend densely (quest mode); absent: the model's `questlens.dense_layers`, else 2. */
  readonly denseLayers?: number;
  readonly aggregation: 'max' | 'sum';
  /** <= 0: greedy. */
  readonly temperature: number;
  readonly maxAnswerTokens: number;
  readonly seed: number;
  /**
   * Also trace each step's page scores (quest mode) and the attention each page received at the step: (layers,
   * kvHeads, pages) numbers a step, for the heatmap's score and attention colours. Default false.
   */
  readonly traceScores?: boolean;
}

export interface ModelSummary {
  readonly path: string;
  readonly name: string;
  readonly architecture: string;
  readonly layers: number;
  readonly kvHeads: number;
  readonly contextLength: number;
  /** Context the engine allocated (prompt + answer). */
  readonly maxContext: number;
  /** Tokens per KV page in use: the request's, else the model's recommendation, else 16. */
  readonly pageSize: number;
  /** The Quest page size the model recommends (`questlens.page_size`), when it names one. */
  readonly recommendedPageSize?: number;
  /** The dense layers the model recommends for Quest (`questlens.dense_layers`), when it names them. */
  readonly recommendedDenseLayers?: number;
  /** The layers the model recommends for attention citations (`questlens.attention_layers`), when it names them. */
  readonly recommendedAttentionLayers?: number;
  readonly memory: MemoryPlan;
  readonly adapter: AdapterSummary;
  readonly loadMs: number;
}

export type ToEngine =
  | { readonly type: 'gpu/describe'; readonly id: number }
  /** Loads (or keeps, if the same file and options are loaded) a GGUF model; no pageSize: the model's recommendation, else 16. */
  | { readonly type: 'model/load'; readonly id: number; readonly path: string; readonly maxContext: number; readonly pageSize?: number }
  /** Reads and packs the workspace with the loaded model's tokenizer, fitted to its context around the question. */
  | {
      readonly type: 'context/build';
      readonly id: number;
      readonly folders: readonly WorkspaceFolderSpec[];
      readonly reader: ReaderSettings;
      /** Empty: the whole workspace as it fits; otherwise files near the question and open file go first. */
      readonly question: string;
      readonly openFile?: { readonly folder: number; readonly path: string; readonly line: number };
      /**
       * Folder of this workspace's persisted KV cache (the extension passes its per-workspace storage folder); null:
       * do not persist. Absent: $QUEST_LENS_KV_CACHE, else <$QUEST_LENS_CACHE or ~/.cache/quest-lens>/kv (one file per
       * workspace, model and settings).
       */
      readonly kvCacheDir?: string | null;
    }
  /** Prefills the built context into the KV cache, reusing whatever prefix is already there. */
  | { readonly type: 'context/prefill'; readonly id: number }
  /** Answers a question about the prefilled context; streams tokens. */
  | { readonly type: 'answer/generate'; readonly id: number; readonly question: string; readonly selection?: string; readonly decode: DecodeSettings }
  | { readonly type: 'context/clear'; readonly id: number }
  | { readonly type: 'request/cancel'; readonly id: number; readonly target: number }
  | { readonly type: 'engine/shutdown'; readonly id: number };

export type FromEngine =
  | { readonly type: 'engine/didStart'; readonly pid: number }
  | { readonly type: 'engine/didLog'; readonly level: 'info' | 'warn' | 'error'; readonly message: string }
  /**
   * The GPU device was lost (driver reset, GPU removed) and the engine opened a new one on `adapter`: the request
   * that was running failed with code 'device-lost'; the loaded model and KV cache are gone (the next model/load
   * loads it again; the persisted KV cache on disk is intact).
   */
  | { readonly type: 'gpu/didRecover'; readonly reason: string; readonly message: string; readonly adapter: AdapterSummary }
  | { readonly type: 'request/didFail'; readonly id: number; readonly done: true; readonly code: string; readonly message: string }
  | { readonly type: 'gpu/didDescribe'; readonly id: number; readonly done: true; readonly adapter: AdapterSummary }
  | { readonly type: 'model/didProgress'; readonly id: number; readonly done: false; readonly bytesDone: number; readonly bytes: number }
  | { readonly type: 'model/didLoad'; readonly id: number; readonly done: true; readonly model: ModelSummary }
  /** 'walk': `files` found so far (`total` 0, not known yet); 'read', 'tokenize': `files` of `total` done in that pass. */
  | { readonly type: 'context/didProgress'; readonly id: number; readonly done: false; readonly phase: ReaderPhase; readonly files: number; readonly total: number; readonly tokens: number }
  | {
      readonly type: 'context/didBuild';
      readonly id: number;
      readonly done: true;
      readonly manifest: ContextManifest;
      /** Files left out, with why (binary, too large, over budget, …). */
      readonly skipped: readonly SkippedFile[];
    }
  | {
      readonly type: 'context/didPrefillProgress';
      readonly id: number;
      readonly done: false;
      readonly tokensDone: number;
      readonly tokens: number;
      readonly tokensPerSecond: number;
    }
  | {
      readonly type: 'context/didPrefill';
      readonly id: number;
      readonly done: true;
      readonly tokens: number;
      /** Tokens that were already in the cache and were not prefilled again. */
      readonly reused: number;
      /** Where the reused tokens came from: this process's cache, the persisted cache on disk, or nowhere (reused 0). */
      readonly source?: 'memory' | 'disk' | 'none';
      readonly ms: number;
    }
  | { readonly type: 'answer/didAppendToken'; readonly id: number; readonly done: false; readonly text: string; readonly step: TraceStep }
  | {
      readonly type: 'answer/didFinish';
      readonly id: number;
      readonly done: true;
      readonly reason: 'stop' | 'length' | 'cancelled';
      readonly answer: string;
      readonly citations: readonly Citation[];
      /** The whole trace: header + steps, for the heatmap. */
      readonly trace: SelectionTrace;
      readonly decodeTokensPerSecond: number;
    }
  | { readonly type: 'context/didClear'; readonly id: number; readonly done: true }
  | { readonly type: 'engine/didShutdown'; readonly id: number; readonly done: true };

type Final<T extends FromEngine['type']> = Extract<FromEngine, { type: T }>;

/** The final reply a request of type T gets when it succeeds. */
export type ReplyTo<T extends ToEngine['type']> = T extends 'gpu/describe'
  ? Final<'gpu/didDescribe'>
  : T extends 'model/load'
    ? Final<'model/didLoad'>
    : T extends 'context/build'
      ? Final<'context/didBuild'>
      : T extends 'context/prefill'
        ? Final<'context/didPrefill'>
        : T extends 'answer/generate'
          ? Final<'answer/didFinish'>
          : T extends 'context/clear'
            ? Final<'context/didClear'>
            : T extends 'engine/shutdown'
              ? Final<'engine/didShutdown'>
              : never;

/** The stream chunks a request of type T may produce before its final reply. */
export type ChunkOf<T extends ToEngine['type']> = T extends 'model/load'
  ? Extract<FromEngine, { type: 'model/didProgress' }>
  : T extends 'context/build'
    ? Extract<FromEngine, { type: 'context/didProgress' }>
    : T extends 'context/prefill'
      ? Extract<FromEngine, { type: 'context/didPrefillProgress' }>
      : T extends 'answer/generate'
        ? Extract<FromEngine, { type: 'answer/didAppendToken' }>
        : never;
