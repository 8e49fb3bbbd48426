// The conversation: the turns (kept here and in workspaceState, never in the webview), the ask flow, and the
// messages of every attached webview (the chat view and the heatmap panel).
//
// An ask: chat/didStart → [model/load → context/build → context/prefill] (chat/didProgress; a cancellable
// notification when there is real work) → answer/generate, whose first token's position completes the trace header
// (heatmap/didUpdate, steps: []) and whose tokens go out as answer/didAppendToken {index = step} → the engine's
// whole trace (heatmap/didUpdate) → answer/didFinish. Stop (chat/stop, the notification's Cancel) aborts the
// turn's AbortController, which the engine client turns into request/cancel.
import { randomInt, randomUUID } from 'node:crypto';
import * as vscode from 'vscode';
import type { ContextManifest } from '../context/manifest';
import type { Citation } from '../../gpu/citation';
import type { SelectionTrace, TraceStep } from '../../gpu/trace';
import type { ErrorData, FinishReason, FromWebview, HeatmapData, MessageBody, ToWebview, TurnSnapshot } from '../../webview/protocol';
import { Disposable } from '../disposable';
import type { EngineSession, PrepareProgress } from '../engineSession';
import { CancelledError } from '../errors';
import { isCancellation, reportFailure, toErrorData } from '../failures';
import { ProgressNotification } from '../progressNotification';
import { toDecodeSettings } from '../settingsMap';
import type { TokenEstimate } from '../status/tokenEstimate';
import { activeOpenFile } from '../workspaceFolders';
import { openInEditor } from './openEditor';
import { traceHeader, traceWithSteps, webviewStep, webviewTrace } from './traceHeader';
import type { TurnStore } from './turnStore';
import type { WebviewHost } from './webviewHost';

export interface AskOptions {
  /** Selected text the question is about (protocol `selection`). */
  readonly selection?: string;
  /** The file the packer keeps in the window; default: the active editor's, when inside the workspace. */
  readonly openFile?: { readonly folder: number; readonly path: string; readonly line: number };
  /** What the chat shows as the question (default: the question). */
  readonly display?: string;
}

interface Turn {
  readonly turnId: string;
  readonly question: string;
  tokens: string[];
  status: TurnSnapshot['status'];
  error?: ErrorData;
  citations?: readonly Citation[];
}

/** The answer being generated: its cancel switch and what its heatmap has so far. */
interface LiveTurn {
  readonly turn: Turn;
  readonly abort: AbortController;
  manifest?: ContextManifest;
  header?: SelectionTrace;
  readonly steps: TraceStep[];
  expectedSteps?: number;
}

/** Heatmaps kept in memory besides the live one (others are read back from the turn store). */
const HEATMAPS_IN_MEMORY = 4;
/** The clipboard takes at most this much from a page. */
const MAX_CLIPBOARD_CHARS = 1 << 20;

export class ChatController extends Disposable {
  private readonly turns: Turn[];
  private live: LiveTurn | undefined;
  private readonly heatmaps = new Map<string, HeatmapData>();
  /** Each attached page and the turn whose heatmap it shows. */
  private readonly hosts = new Map<WebviewHost, { shown?: string }>();
  private readonly changed = this._register(new vscode.EventEmitter<void>());
  /** Turns were added, finished or cleared. */
  readonly onDidChangeTurns = this.changed.event;

  constructor(
    private readonly session: EngineSession,
    private readonly store: TurnStore,
    private readonly log: vscode.LogOutputChannel,
    private readonly workspaceEstimate: () => TokenEstimate | undefined,
    /** Opens the heatmap panel beside the editor for a turn. */
    private readonly openBeside: (turnId: string) => void,
  ) {
    super();
    this.turns = store.loadTurns().map((t) => ({ ...t, tokens: [...t.tokens] }));
  }

  /** Routes a page's messages here until the returned Disposable is disposed. */
  attach(host: WebviewHost, shownTurn?: string): vscode.Disposable {
    this.hosts.set(host, shownTurn ? { shown: shownTurn } : {});
    return { dispose: () => this.hosts.delete(host) };
  }

  /** The page is listening: the conversation (chat view) and the heatmap it shows. */
  onReady(host: WebviewHost): void {
    if (host.view === 'chat') host.post('chat/didRestore', { turns: this.snapshots });
    const entry = this.hosts.get(host);
    const turnId = entry?.shown ?? this.latestTurnId();
    if (turnId) void this.sendHeatmap(host, turnId);
  }

  /** A message from the page that the protocol does not allow: dropped, and logged (a page that is not ours). */
  rejected(problem: string, host: WebviewHost): void {
    this.log.warn(`ignored a message from the ${host.view} webview: ${problem}`);
  }

  handle(message: FromWebview, host: WebviewHost): void {
    switch (message.type) {
      case 'webview/ready':
        return; // WebviewHost answers it
      case 'webview/didFail':
        this.log.error(`the ${host.view} webview reported ${message.error.code}: ${message.error.message}`);
        return;
      case 'chat/ask':
        void this.ask(message.question);
        return;
      case 'chat/stop':
        this.stop(message.turnId);
        return;
      case 'editor/open': {
        const column = host.view === 'heatmap' ? vscode.ViewColumn.One : vscode.ViewColumn.Active;
        const { type: _t, ...target } = message;
        openInEditor(target, column).then(undefined, (err: Error) => {
          this.log.warn(err.message);
          void vscode.window.showWarningMessage(err.message);
        });
        return;
      }
      case 'clipboard/write':
        void vscode.env.clipboard.writeText(message.text.slice(0, MAX_CLIPBOARD_CHARS));
        return;
      case 'heatmap/open':
        if (message.where === 'beside') this.openBeside(message.turnId);
        else void this.sendHeatmap(host, message.turnId);
        return;
    }
  }

  get busy(): boolean {
    return this.live !== undefined;
  }

  /** The conversation as the chat view gets it (a live answer with its tokens so far). */
  get snapshots(): TurnSnapshot[] {
    return this.turns.map(snapshot);
  }

  /** The newest turn that has (or will have) a heatmap. */
  latestTurnId(): string | undefined {
    return this.live?.turn.turnId ?? this.turns.at(-1)?.turnId;
  }

  /** A turn's heatmap: the live one, one in memory, or one read back from the turn store. */
  async heatmap(turnId: string): Promise<HeatmapData | undefined> {
    const live = this.live;
    if (live && live.turn.turnId === turnId) {
      if (!live.header) return undefined;
      return {
        turnId,
        trace: traceWithSteps(live.header, live.steps),
        ...(live.manifest ? { manifest: live.manifest } : {}),
        ...(live.expectedSteps ? { expectedSteps: live.expectedSteps } : {}),
      };
    }
    const cached = this.heatmaps.get(turnId);
    if (cached) return cached;
    const stored = await this.store.loadHeatmap(turnId);
    if (stored) this.remember(stored);
    return stored;
  }

  /** Asks a question about the workspace; resolves when the answer has ended (in any way). */
  async ask(question: string, options: AskOptions = {}): Promise<void> {
    const q = question.trim();
    if (!q) return;
    if (this.live) {
      void vscode.window.showInformationMessage('Quest Lens is still answering the previous question: stop it first (Stop in the chat).');
      return;
    }
    const turn: Turn = { turnId: randomUUID(), question: options.display ?? q, tokens: [], status: 'streaming' };
    const live: LiveTurn = { turn, abort: new AbortController(), steps: [] };
    this.live = live;
    this.turns.push(turn);
    this.changed.fire();
    void this.store.saveTurns(this.turns.map(snapshot));
    this.broadcast('chat/didStart', { turnId: turn.turnId, question: turn.question });
    for (const entry of this.hosts.values()) entry.shown = turn.turnId;

    const notification = new ProgressNotification('Quest Lens: preparing the workspace context', live.abort);
    let reason: FinishReason = 'error';
    let error: ErrorData | undefined;
    try {
      await this.session.exclusive(() => this.answer(live, q, options, notification));
      reason = turn.status === 'streaming' ? 'stop' : (turn.status as FinishReason);
    } catch (err) {
      if (isCancellation(err) || live.abort.signal.aborted) {
        reason = 'cancelled';
      } else {
        error = toErrorData(err);
        void reportFailure(err, 'Answering', this.log);
      }
      // Keep what streamed: the heatmap of a stopped answer is still worth a look.
      if (live.header) this.keepHeatmap({ turnId: turn.turnId, trace: traceWithSteps(live.header, live.steps), ...(live.manifest ? { manifest: live.manifest } : {}) });
    } finally {
      notification.dispose();
      this.session.noteBusy(undefined);
      this.live = undefined;
    }
    turn.status = reason;
    if (error) turn.error = error;
    this.broadcast('answer/didFinish', {
      done: true,
      turnId: turn.turnId,
      reason,
      ...(error ? { error } : {}),
      ...(turn.citations ? { citations: turn.citations } : {}),
    });
    this.changed.fire();
    await this.store.saveTurns(this.turns.map(snapshot));
  }

  /** Stops the live answer (of `turnId`, when given). */
  stop(turnId?: string): void {
    const live = this.live;
    if (!live || (turnId && live.turn.turnId !== turnId)) return;
    this.log.info(`stopping turn ${live.turn.turnId}`);
    live.abort.abort(new CancelledError('The answer'));
  }

  /** Forgets the conversation (a live answer is stopped first). */
  async clear(): Promise<void> {
    this.stop();
    this.turns.length = 0;
    this.heatmaps.clear();
    for (const entry of this.hosts.values()) delete entry.shown;
    this.broadcast('chat/didClear', {});
    this.changed.fire();
    await this.store.clear();
  }

  /** Shows a failure not tied to a turn in the pages (e.g. Load Workspace into Context failed). */
  failBanner(err: unknown): void {
    this.broadcast('chat/didFail', { error: toErrorData(err) });
  }

  private async answer(live: LiveTurn, question: string, options: AskOptions, notification: ProgressNotification): Promise<void> {
    const { turn, abort } = live;
    const openFile = options.openFile ?? activeOpenFile();
    const prepared = await this.session.prepareInLock({
      question,
      ...(openFile ? { openFile } : {}),
      signal: abort.signal,
      onProgress: (p) => this.progress(turn.turnId, p, notification),
    });
    notification.dispose();
    live.manifest = prepared.manifest;
    const decode = toDecodeSettings(prepared.settings, randomInt(2 ** 31));
    live.expectedSteps = decode.maxAnswerTokens;
    this.session.noteBusy('answer');
    this.log.info(
      `answering turn ${turn.turnId}: ${decode.mode}, token budget ${decode.tokenBudget}, dense layers ${decode.denseLayers}, ` +
        `${decode.aggregation}, temperature ${decode.temperature}, seed ${decode.seed}, at most ${decode.maxAnswerTokens} tokens`,
    );
    const reply = await this.session.engine.request(
      { type: 'answer/generate', question, ...(options.selection ? { selection: options.selection } : {}), decode },
      {
        signal: abort.signal,
        onChunk: (c) => {
          if (!live.header) {
            live.header = traceHeader(prepared.model, decode, c.step.position);
            this.broadcastHeatmap({ turnId: turn.turnId, trace: live.header, manifest: prepared.manifest, expectedSteps: decode.maxAnswerTokens });
          }
          const index = turn.tokens.length;
          const step = webviewStep(c.step, live.header);
          turn.tokens.push(c.text);
          live.steps.push(step);
          this.broadcast('answer/didAppendToken', { done: false, turnId: turn.turnId, index, text: c.text, step });
        },
      },
    );
    if (reply.answer !== turn.tokens.join('')) {
      this.log.warn(`turn ${turn.turnId}: the final answer (${reply.answer.length} chars) differs from the streamed tokens (${turn.tokens.join('').length} chars)`);
    }
    this.session.noteDecode(reply.decodeTokensPerSecond);
    this.log.info(
      `turn ${turn.turnId}: ${turn.tokens.length} tokens, ${reply.reason}, ${reply.decodeTokensPerSecond.toFixed(1)} tokens/s` +
        (reply.citations.length ? `; cites ${reply.citations.map((c) => `${c.path}:${c.line}${c.endLine > c.line ? `-${c.endLine}` : ''} (${c.source})`).join(', ')}` : ''),
    );
    const data: HeatmapData = { turnId: turn.turnId, trace: webviewTrace(reply.trace), manifest: prepared.manifest };
    this.keepHeatmap(data);
    this.broadcastHeatmap(data);
    turn.citations = reply.citations;
    turn.status = reply.reason;
  }

  private progress(turnId: string, p: PrepareProgress, notification: ProgressNotification): void {
    switch (p.phase) {
      case 'load':
        this.broadcast('chat/didProgress', { turnId, phase: 'load', done: p.bytesDone, total: p.bytes });
        if (p.bytesDone < p.bytes) notification.reportPrepare(p);
        return;
      case 'tokenize': {
        // The engine does not know the total ahead; the workspace estimate stands in for it.
        const estimate = this.workspaceEstimate()?.tokens ?? 0;
        this.broadcast('chat/didProgress', { turnId, phase: 'tokenize', done: p.tokens, total: Math.max(estimate, p.tokens) });
        return;
      }
      case 'prefill':
        this.broadcast('chat/didProgress', { turnId, phase: 'prefill', done: p.tokensDone, total: p.tokens });
        if (p.tokensDone < p.tokens) notification.reportPrepare(p);
        return;
    }
  }

  private async sendHeatmap(host: WebviewHost, turnId: string): Promise<void> {
    const data = await this.heatmap(turnId);
    const entry = this.hosts.get(host);
    if (!data || !entry) return;
    entry.shown = turnId;
    host.post('heatmap/didUpdate', data);
  }

  private broadcastHeatmap(data: HeatmapData): void {
    for (const [host, entry] of this.hosts) {
      entry.shown = data.turnId;
      host.post('heatmap/didUpdate', data);
    }
  }

  private broadcast<T extends ToWebview['type']>(type: T, body: MessageBody<ToWebview, T>): void {
    for (const host of this.hosts.keys()) host.post(type, body);
  }

  private keepHeatmap(data: HeatmapData): void {
    this.remember(data);
    void this.store.saveHeatmap(data, this.turns.map((t) => t.turnId));
  }

  private remember(data: HeatmapData): void {
    this.heatmaps.delete(data.turnId);
    this.heatmaps.set(data.turnId, data);
    while (this.heatmaps.size > HEATMAPS_IN_MEMORY) this.heatmaps.delete(this.heatmaps.keys().next().value!);
  }
}

function snapshot(t: Turn): TurnSnapshot {
  return {
    turnId: t.turnId,
    question: t.question,
    tokens: [...t.tokens],
    status: t.status,
    ...(t.error ? { error: t.error } : {}),
    ...(t.citations ? { citations: t.citations } : {}),
  };
}
