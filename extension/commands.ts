// The Quest Lens commands (category "Quest Lens" in package.json). Each does its job directly; the ones a person
// answers a prompt for also take that answer as an argument (scripts, keybindings with args, tests):
//   questLens.askWorkspace [question]          questLens.askSelection [question]
//   questLens.selectModel [path]               questLens.switchMode ['dense' | 'quest']
//   questLens.setTokenBudget [tokens]          questLens.showHeatmap [turnId]
import * as vscode from 'vscode';
import type { ChatController } from './chat/chatController';
import type { ChatViewProvider } from './chat/chatViewProvider';
import type { HeatmapPanels } from './chat/heatmapPanel';
import type { EngineClient } from './engineClient';
import { type EngineSession, summarizeSkipped } from './engineSession';
import { isCancellation, reportFailure } from './failures';
import { formatDuration, formatTokens } from './format';
import { type ModelLabels, selectModel } from './models/selectModel';
import { ProgressNotification } from './progressNotification';
import { readSettings, updateSetting } from './settings';
import { tokenBudgetInPages } from './settingsMap';
import { activeOpenFile, placeInWorkspace } from './workspaceFolders';

export interface CommandDeps {
  readonly engine: EngineClient;
  readonly session: EngineSession;
  readonly chat: ChatController;
  readonly chatView: ChatViewProvider;
  readonly panels: HeatmapPanels;
  readonly labels: ModelLabels;
  readonly log: vscode.LogOutputChannel;
}

/** What Load Workspace into Context resolves with (undefined when cancelled or failed). */
export interface LoadedContext {
  readonly tokens: number;
  readonly reused: number;
  readonly files: number;
  readonly skipped: number;
  /** Where the reused tokens came from (the engine's answer; absent from an engine that does not say). */
  readonly source?: 'memory' | 'disk' | 'none';
}

const BUDGET_PRESETS = [64, 128, 256, 512, 1024, 2048, 4096];

export function registerCommands(context: vscode.ExtensionContext, d: CommandDeps): void {
  const { log } = d;
  const register = (id: string, run: (...args: unknown[]) => unknown) => context.subscriptions.push(vscode.commands.registerCommand(id, run));

  register('questLens.showLog', () => log.show());
  register('questLens.showGpuInfo', () => showGpuInfo(d));
  register('questLens.askWorkspace', (question?: unknown) => askWorkspace(d, question));
  register('questLens.askSelection', (question?: unknown) => askSelection(d, question));
  register('questLens.loadWorkspace', () => loadWorkspace(d));
  register('questLens.showHeatmap', (turnId?: unknown) => showHeatmap(d, turnId));
  register('questLens.selectModel', (path?: unknown) => selectModel(d.labels, log, path));
  register('questLens.switchMode', (mode?: unknown) => switchMode(d, mode));
  register('questLens.setTokenBudget', (tokens?: unknown) => setTokenBudget(d, tokens));
  register('questLens.clearContext', () => clearContext(d));
  register('questLens.clearConversation', () => d.chat.clear());
}

async function showGpuInfo({ engine, log }: CommandDeps): Promise<void> {
  try {
    const { adapter: a } = await engine.request({ type: 'gpu/describe' });
    const line = `${a.vendor} ${a.architecture} (${a.description})${a.isSoftware ? ', software adapter: slow' : ''}`;
    log.info(`GPU: ${line}; features ${a.features.join(', ')}`);
    void vscode.window.showInformationMessage(`Quest Lens GPU: ${line}`);
  } catch (err) {
    log.error(`GPU info failed: ${(err as Error).message}`);
    const choice = await vscode.window.showErrorMessage(`Quest Lens: ${(err as Error).message}`, 'Show Log');
    if (choice === 'Show Log') log.show();
  }
}

/** Asks in the chat view; without an argument the question comes from an input box. */
async function askWorkspace(d: CommandDeps, question: unknown): Promise<void> {
  const q =
    typeof question === 'string'
      ? question
      : await vscode.window.showInputBox({
          title: 'Quest Lens: Ask about the Workspace',
          prompt: 'The whole workspace is read into the model\'s context; the answer streams into the Quest Lens chat.',
          placeHolder: 'e.g. Where is the retry delay computed?',
          ignoreFocusOut: true,
        });
  if (!q?.trim()) return;
  await d.chatView.reveal();
  await d.chat.ask(q);
}

/**
 * Asks about the active editor: the selected text goes as the protocol's `selection`, the file as `openFile` (the
 * packer keeps it in the window), and the question names the file as the context's file headers do.
 */
async function askSelection(d: CommandDeps, question: unknown): Promise<void> {
  const editor = vscode.window.activeTextEditor;
  if (!editor) {
    void vscode.window.showInformationMessage('Quest Lens: open a file (and select lines, if you like) to ask about it.');
    return;
  }
  const doc = editor.document;
  const place = placeInWorkspace(doc.uri);
  const sel = editor.selection;
  const selection = sel.isEmpty ? undefined : doc.getText(sel);
  const first = sel.start.line + 1;
  const last = sel.end.character === 0 && sel.end.line > sel.start.line ? sel.end.line : sel.end.line + 1;
  const lines = selection ? (first === last ? `:${first}` : `:${first}-${last}`) : '';
  const shown = place ? `${place.relPath}${lines}` : `${doc.fileName.split(/[\\/]/).pop()}${lines}`;
  const q =
    typeof question === 'string'
      ? question
      : await vscode.window.showInputBox({
          title: `Quest Lens: Ask about ${shown}`,
          prompt: selection ? 'The selected lines go with the question; the workspace stays in context.' : 'The file stays in context with the workspace.',
          placeHolder: selection ? 'e.g. What does this do, and who calls it?' : 'e.g. What is this file for?',
          ignoreFocusOut: true,
        });
  if (!q?.trim()) return;
  const about = place ? `${place.folderName}/${place.relPath}${lines}` : shown;
  await d.chatView.reveal();
  await d.chat.ask(`${q.trim()}\n\n(About ${about}.)`, {
    ...(selection ? { selection } : {}),
    ...(place ? { openFile: { folder: place.folder, path: place.relPath, line: first } } : {}),
    display: `${q.trim()} (${shown})`,
  });
}

/** Prefills the whole workspace (as it fits) with a cancellable progress notification. */
async function loadWorkspace(d: CommandDeps): Promise<LoadedContext | undefined> {
  const abort = new AbortController();
  const notification = new ProgressNotification('Quest Lens: Loading the workspace into context', abort);
  notification.report('Loading the model…');
  const t0 = Date.now();
  try {
    const openFile = activeOpenFile();
    const p = await d.session.prepare({
      question: '',
      ...(openFile ? { openFile } : {}),
      signal: abort.signal,
      onProgress: (progress) => notification.reportPrepare(progress),
    });
    notification.dispose();
    const left = p.skipped.length ? ` ${p.skipped.length} files left out (${summarizeSkipped(p.skipped)}).` : '';
    void vscode.window
      .showInformationMessage(
        `Quest Lens: ${formatTokens(p.prefill.tokens)} tokens from ${p.manifest.files.length} files are in context ` +
          `(${formatTokens(p.prefill.reused)} reused from the cache; ${formatDuration((Date.now() - t0) / 1000)}).${left}`,
        'Open Chat',
      )
      .then((c) => c && d.chatView.reveal());
    return {
      tokens: p.prefill.tokens,
      reused: p.prefill.reused,
      files: p.manifest.files.length,
      skipped: p.skipped.length,
      ...(p.prefill.source ? { source: p.prefill.source } : {}),
    };
  } catch (err) {
    notification.dispose();
    if (isCancellation(err) || abort.signal.aborted) {
      d.log.info('loading the workspace was cancelled');
      vscode.window.setStatusBarMessage('Quest Lens: loading the workspace was cancelled', 5000);
      return undefined;
    }
    d.chat.failBanner(err);
    void reportFailure(err, 'Loading the workspace', d.log);
    return undefined;
  }
}

async function showHeatmap(d: CommandDeps, turnId: unknown): Promise<void> {
  const id = typeof turnId === 'string' ? turnId : d.chat.latestTurnId();
  if (!id) {
    void vscode.window.showInformationMessage('Quest Lens: ask a question first; the heatmap shows which KV pages each answer token read.', 'Open Chat').then(
      (c) => c && d.chatView.reveal(),
    );
    return;
  }
  d.panels.show(id);
}

async function switchMode(d: CommandDeps, mode: unknown): Promise<void> {
  const next = mode === 'dense' || mode === 'quest' ? mode : readSettings().mode === 'quest' ? 'dense' : 'quest';
  await updateSetting('mode', next);
  const s = readSettings(d.session.state.model);
  vscode.window.setStatusBarMessage(
    next === 'quest'
      ? `Quest Lens: Quest decoding, ${tokenBudgetInPages(s.tokenBudget, s.pageSize)} tokens per step`
      : 'Quest Lens: dense decoding (every layer reads the whole context)',
    4000,
  );
}

async function setTokenBudget(d: CommandDeps, tokens: unknown): Promise<void> {
  const s = readSettings(d.session.state.model);
  let value: number | undefined = typeof tokens === 'number' ? tokens : undefined;
  if (value === undefined) {
    const pages = (t: number) => `${tokenBudgetInPages(t, s.pageSize) / s.pageSize} pages of ${s.pageSize} tokens`;
    const items: Array<vscode.QuickPickItem & { tokens?: number }> = BUDGET_PRESETS.map((t) => ({
      label: `${t === s.tokenBudget ? '$(check) ' : ''}${t} tokens`,
      description: pages(t),
      tokens: t,
    }));
    items.push({ label: 'Custom…', description: `now ${s.tokenBudget}` });
    const picked = await vscode.window.showQuickPick(items, {
      title: 'Quest Lens: Set Token Budget',
      placeHolder: `Tokens each sparse layer reads per decode step (the last page included)${s.mode === 'dense' ? '; applies in Quest mode' : ''}`,
    });
    if (!picked) return;
    value = picked.tokens;
    if (value === undefined) {
      const typed = await vscode.window.showInputBox({
        title: 'Quest Lens: Set Token Budget',
        value: String(s.tokenBudget),
        prompt: `Rounded up to whole pages of ${s.pageSize} tokens`,
        validateInput: (v) => (/^\d+$/.test(v.trim()) && Number(v) >= 16 ? undefined : 'A whole number of tokens, at least 16'),
      });
      if (!typed) return;
      value = Number(typed.trim());
    }
  }
  if (!Number.isInteger(value) || value < 16) {
    void vscode.window.showErrorMessage(`Quest Lens: the token budget must be a whole number of tokens ≥ 16, got ${value}`);
    return;
  }
  await updateSetting('tokenBudget', value);
  vscode.window.setStatusBarMessage(`Quest Lens: token budget ${tokenBudgetInPages(value, s.pageSize)} tokens per step`, 4000);
}

async function clearContext(d: CommandDeps): Promise<void> {
  try {
    if (d.engine.pid === undefined) {
      // No engine process, so no cache: nothing to send (and no reason to start one).
      d.log.info('clear context: the engine is not running; nothing is cached');
    } else {
      await d.session.clearContext();
      d.log.info('context cache cleared');
    }
    vscode.window.setStatusBarMessage('Quest Lens: context cache cleared', 4000);
  } catch (err) {
    void reportFailure(err, 'Clearing the context cache', d.log);
  }
}
