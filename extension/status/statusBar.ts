// The status bar item: the model, tokens in context, KV cache memory and the last decode speed; before a model is
// loaded, the model that will be and the workspace's estimated size. With the built-in model, the tooltip says what
// it can and cannot answer and links Select Model. A click opens the chat view.
import { resolve } from 'node:path';
import * as vscode from 'vscode';
import { CHAT_VIEW_ID } from '../chat/chatViewProvider';
import { Disposable } from '../disposable';
import type { EngineSession, EngineState } from '../engineSession';
import { formatBytes, formatRate, formatTokens } from '../format';
import { modelDisplayName } from '../models/discover';
import { BUILTIN_MODEL_LABEL, builtinModelAbout } from '../models/builtinModel';
import { modelToLoad, onDidChangeSettings, readSettings } from '../settings';
import type { ModelToLoad } from '../settingsMap';
import type { TokenEstimate } from './tokenEstimate';
import type { WorkspaceSize } from './workspaceSize';

export const STATUS_ITEM_ID = 'questLens.status';

export class StatusBar extends Disposable {
  private readonly item: vscode.StatusBarItem;

  constructor(
    private readonly session: EngineSession,
    private readonly size: WorkspaceSize,
    private readonly labelOf: (path: string) => string | undefined,
  ) {
    super();
    this.item = this._register(vscode.window.createStatusBarItem(STATUS_ITEM_ID, vscode.StatusBarAlignment.Right, 100));
    this.item.name = 'Quest Lens';
    this.item.command = { title: 'Open Quest Lens Chat', command: `${CHAT_VIEW_ID}.focus` };
    this._register(session.onDidChange(() => this.render()));
    this._register(size.onDidChange(() => this.render()));
    this._register(onDidChangeSettings(() => this.render()));
    this.render();
    this.item.show();
  }

  /** The item's text as shown (for tests and the log). */
  get text(): string {
    return this.item.text;
  }

  private render(): void {
    const configured = modelToLoad();
    // The loaded model only while it is still the one to load: after Select Model the item names the new choice.
    const state = sameFile(this.session.state.model?.path, configured.path) ? this.session.state : { ...this.session.state, model: undefined };
    const estimate = this.size.current;
    const parts: string[] = [];
    const icon = state.busy ? '$(loading~spin)' : '$(telescope)';
    if (state.model) {
      parts.push(state.modelLabel ?? state.model.name);
      if (state.contextTokens !== undefined) parts.push(`${formatTokens(state.contextTokens)} tokens`);
      else if (estimate) parts.push(`≈${formatTokens(estimate.tokens)}${estimate.truncated ? '+' : ''} tokens`);
      parts.push(`KV ${formatBytes(state.model.memory.kv.total)}`);
      if (state.decodeTokensPerSecond !== undefined) parts.push(`${formatRate(state.decodeTokensPerSecond)} tok/s`);
    } else {
      parts.push(configured.builtin ? BUILTIN_MODEL_LABEL : modelDisplayName(configured.path, this.labelOf(configured.path)));
      if (estimate) parts.push(`≈${formatTokens(estimate.tokens)}${estimate.truncated ? '+' : ''} tokens`);
    }
    this.item.text = `${icon} ${parts.join(' · ')}`;
    this.item.tooltip = tooltip(state, estimate, configured);
    this.item.accessibilityInformation = { label: `Quest Lens: ${parts.join(', ')}`, role: 'button' };
  }
}

function tooltip(state: EngineState, estimate: TokenEstimate | undefined, configured: ModelToLoad): vscode.MarkdownString {
  const md = new vscode.MarkdownString(undefined, true);
  // The Select Model link below runs that command (and only that one).
  md.isTrusted = { enabledCommands: ['questLens.selectModel'] };
  md.appendMarkdown('**Quest Lens**\n\n');
  const s = readSettings(state.model);
  if (state.model) {
    const m = state.model;
    md.appendMarkdown(`Model: ${escape(state.modelLabel ?? m.name)} (${escape(m.architecture)}, ${m.layers} layers, ${m.kvHeads} KV heads) on ${escape(m.adapter.description)}\n\n`);
    md.appendMarkdown(`GPU memory: ${formatBytes(m.memory.total)} (weights ${formatBytes(m.memory.weights)}, KV cache ${formatBytes(m.memory.kv.total)} for ${formatTokens(m.maxContext)} tokens)\n\n`);
    md.appendMarkdown(
      state.contextTokens !== undefined
        ? `In context: ${state.contextTokens.toLocaleString('en-US')} tokens from ${state.contextFiles ?? 0} files\n\n`
        : 'In context: nothing yet (run Load Workspace into Context, or ask)\n\n',
    );
    if (state.decodeTokensPerSecond !== undefined) md.appendMarkdown(`Last answer: ${formatRate(state.decodeTokensPerSecond)} tokens/s\n\n`);
  } else {
    md.appendMarkdown(`Model (not loaded yet): ${escape(configured.builtin ? BUILTIN_MODEL_LABEL : configured.path)}\n\n`);
  }
  // Whether the loaded model is the built-in one, else whether it will be.
  if (state.model ? state.builtin : configured.builtin) {
    md.appendMarkdown(
      vscode.workspace.isTrusted
        ? 'Quest Lens uses its built-in model.'
        : 'Restricted mode ignores a model path set in workspace settings: without a model selected for this machine, Quest Lens uses its built-in model.',
    );
    md.appendMarkdown(` ${escape(builtinModelAbout)} [Select Model](command:questLens.selectModel)\n\n`);
  }
  if (estimate) {
    md.appendMarkdown(
      `Workspace: ≈${estimate.tokens.toLocaleString('en-US')}${estimate.truncated ? '+' : ''} tokens in ${estimate.files.toLocaleString('en-US')} files ` +
        `(gpt-tokenizer estimate from ${estimate.sampled} files; the model's tokenizer counts exactly when it loads)\n\n`,
    );
  }
  md.appendMarkdown(`Decoding: ${s.mode}${s.mode === 'quest' ? `, token budget ${s.tokenBudget}, ${s.denseLayers} dense layers` : ''}, page size ${s.pageSize}\n\n`);
  md.appendMarkdown('Click to open the chat.');
  return md;
}

function sameFile(a: string | undefined, b: string): boolean {
  return a !== undefined && resolve(a) === resolve(b);
}

function escape(s: string): string {
  return s.replace(/[\\`*_{}[\]()#+\-.!|<>]/g, '\\$&');
}
