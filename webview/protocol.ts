// The extension ⇄ webview contract: every message each side may send, as discriminated unions on `type`.
// Type-only: the extension host and the webview both `import type` this file, so a renamed field fails to compile on
// both sides. `type` strings are noun/verb; notifications (things that already happened) use the past tense.
import type { Citation } from '../gpu/citation';
import type { SelectionTrace } from '../gpu/trace';
import type { ContextManifest } from '../extension/context/manifest';

/** Which layout the bundle draws; chosen by the host in the initial data. */
export type WebviewView = 'chat' | 'heatmap';

/** Why an answer ended: EOS, the token limit, the user's stop, or an error (see `AnswerFinished.error`). */
export type FinishReason = 'stop' | 'length' | 'cancelled' | 'error';

/** An error crossing the boundary is data; `code` lets the UI pick an action, `message` says what to do. */
export interface ErrorData {
  readonly kind: 'error';
  readonly code: string;
  readonly message: string;
}

/** One question and its answer so far. The host keeps these (the webview keeps only view state). */
export interface TurnSnapshot {
  readonly turnId: string;
  readonly question: string;
  /** Answer token texts in order; their concatenation is the answer's markdown. Token i is decode step i. */
  readonly tokens: readonly string[];
  readonly status: 'streaming' | FinishReason;
  readonly error?: ErrorData;
  /** Where the finished answer points: file:line it wrote, then where its attention went (most first). */
  readonly citations?: readonly Citation[];
}

/** Everything one heatmap draws: the trace (steps so far), the manifest that maps pages to files and lines. */
export interface HeatmapData {
  readonly turnId: string;
  readonly trace: SelectionTrace;
  /** Absent when the context has no file structure (then the x axis shows only prompt and answer bands). */
  readonly manifest?: ContextManifest;
  /** (pages in context) decoded text of each prompt page, for hover snippets; optional (it can be large). */
  readonly pageTexts?: readonly string[];
  /** Steps the host expects at most (the request's token limit): reserves room so streaming rarely rescales. */
  readonly expectedSteps?: number;
}

/** What the page reads from `<meta id="quest-lens-data" data-initial="…">` before any message arrives. */
export interface InitialData {
  readonly view: WebviewView;
  /** True for a file written by the CLI: no host, no messages; the page is read-only and shows the embedded data. */
  readonly standalone: boolean;
  readonly title?: string;
  /** Standalone only: turns to show (the host sends `chat/didRestore` instead). */
  readonly turns?: readonly TurnSnapshot[];
  /** Standalone only: the heatmap to draw (the host sends `heatmap/didUpdate` instead). */
  readonly heatmap?: HeatmapData;
}

/**
 * The part of the heatmap panel's saved view state that is for the host: a WebviewPanelSerializer receives it after a
 * window reload (the rest is the page's zoom, mode and focus) and resends that turn's heatmap.
 */
export interface HeatmapPanelState {
  readonly turnId?: string;
}

// ── Host → webview ────────────────────────────────────────────────────────────────────────────────────────────────

/** Reply to `webview/ready`: the whole conversation (the webview may have been reloaded or re-shown). */
export interface ChatRestored {
  readonly type: 'chat/didRestore';
  readonly turns: readonly TurnSnapshot[];
}
/** A question was accepted and a turn started; tokens follow as `answer/didAppendToken`. */
export interface ChatStarted {
  readonly type: 'chat/didStart';
  readonly turnId: string;
  readonly question: string;
}
/** Work before the first token (tokenizing the workspace, prefill); `done` of `total` units of `phase`. */
export interface ChatProgressed {
  readonly type: 'chat/didProgress';
  readonly turnId: string;
  readonly phase: 'load' | 'tokenize' | 'prefill';
  readonly done: number;
  readonly total: number;
}
/** An error not tied to one turn (no model, no GPU, …). */
export interface ChatFailed {
  readonly type: 'chat/didFail';
  readonly error: ErrorData;
}
/** The conversation was cleared by a command. */
export interface ChatCleared {
  readonly type: 'chat/didClear';
}
/** What the chat shows while it has no turns: the model that will answer, and what it can answer. */
export interface ChatWelcomeUpdated {
  readonly type: 'chat/didUpdateWelcome';
  /** The model as the status bar names it. */
  readonly model: string;
  /** Plain text: what this model can and cannot answer (the built-in model says so); absent for a user's model. */
  readonly about?: string;
}
/** One streamed answer token: a `{done: false}` chunk; `step` is its trace step in quest mode. */
export interface AnswerTokenAppended {
  readonly type: 'answer/didAppendToken';
  readonly done: false;
  readonly turnId: string;
  /** Decode step index = token index in the answer; the webview drops a token whose index is not the next one. */
  readonly index: number;
  readonly text: string;
  readonly step?: SelectionTrace['steps'][number];
}
/** The stream's one `{done: true}` end. */
export interface AnswerFinished {
  readonly type: 'answer/didFinish';
  readonly done: true;
  readonly turnId: string;
  readonly reason: FinishReason;
  readonly error?: ErrorData;
  /** The answer's citations (absent when it failed before the engine's final reply). */
  readonly citations?: readonly Citation[];
}
/** Replaces the heatmap with this trace (a new turn's header with no steps yet, or a whole finished trace). */
export interface HeatmapUpdated extends HeatmapData {
  readonly type: 'heatmap/didUpdate';
}

export type ToWebview =
  | ChatRestored
  | ChatStarted
  | ChatProgressed
  | ChatFailed
  | ChatCleared
  | ChatWelcomeUpdated
  | AnswerTokenAppended
  | AnswerFinished
  | HeatmapUpdated;

// ── Webview → host ────────────────────────────────────────────────────────────────────────────────────────────────

/** First message after the page set up its listener; the host queues everything until it arrives. */
export interface WebviewReady {
  readonly type: 'webview/ready';
  readonly view: WebviewView;
}
/** An unexpected error inside the page (for the log). */
export interface WebviewFailed {
  readonly type: 'webview/didFail';
  readonly error: ErrorData;
}
export interface ChatAsk {
  readonly type: 'chat/ask';
  readonly question: string;
}
/** Stop the streaming answer of this turn (the host cancels the engine; `answer/didFinish` 'cancelled' follows). */
export interface ChatStop {
  readonly type: 'chat/stop';
  readonly turnId: string;
}
/**
 * Open a workspace file at a line. With `folder`, `path` is the manifest's `relPath` inside that workspace folder.
 * Without it (a reference in model output that matched no manifest file, e.g. before the manifest arrived), `path` is
 * as written: the host resolves it (a leading folder name, then each folder). It comes from model output, so the host
 * must resolve it inside a workspace folder and refuse anything else.
 */
export interface EditorOpen {
  readonly type: 'editor/open';
  readonly path: string;
  /** 1-based. */
  readonly line: number;
  /** 1-based, inclusive; the host selects line..endLine when given. */
  readonly endLine?: number;
  /** Workspace folder index from the manifest (`FileSpan.folder`), when the path was resolved against it. */
  readonly folder?: number;
}
/** Put text on the clipboard (the host's `env.clipboard` works where the page's clipboard API may not). */
export interface ClipboardWrite {
  readonly type: 'clipboard/write';
  readonly text: string;
}
/** Show this turn's heatmap: in this view, or in a panel beside the editor. The host answers `heatmap/didUpdate`. */
export interface HeatmapOpen {
  readonly type: 'heatmap/open';
  readonly turnId: string;
  readonly where: 'view' | 'beside';
}

/** Run Select Model (the welcome's button). */
export interface ModelSelect {
  readonly type: 'model/select';
}

export type FromWebview = WebviewReady | WebviewFailed | ChatAsk | ChatStop | EditorOpen | ClipboardWrite | HeatmapOpen | ModelSelect;

/** What 'editor/open' carries: where a click or a file:line reference points. */
export type OpenTarget = Omit<EditorOpen, 'type'>;

/** The body of message type `T` of union `U` (everything but `type`), for typed senders on both sides. */
export type MessageBody<U extends { readonly type: string }, T extends U['type']> = Omit<Extract<U, { type: T }>, 'type'>;
