// Activation only wires features together; each feature registers its own disposables. Nothing slow runs here: the
// engine process starts on the first request, the workspace token estimate a few seconds after activation.
import * as vscode from 'vscode';
import { ChatController } from './chat/chatController';
import { CHAT_VIEW_ID, ChatViewProvider } from './chat/chatViewProvider';
import { HeatmapPanels } from './chat/heatmapPanel';
import { TurnStore } from './chat/turnStore';
import { registerCommands } from './commands';
import { EngineClient } from './engineClient';
import { EngineSession } from './engineSession';
import { ModelLabels } from './models/selectModel';
import { onDidChangeSettings } from './settings';
import { StatusBar } from './status/statusBar';
import { WorkspaceSize } from './status/workspaceSize';

/** Delay before the first workspace token count, so that activation and startup stay light. */
const FIRST_COUNT_DELAY_MS = 2_000;

/** What activate() returns: the running parts, for the in-host tests. */
export interface QuestLensApi {
  readonly session: EngineSession;
  readonly chat: ChatController;
  readonly statusText: () => string;
  readonly workspaceTokens: () => number | undefined;
}

export function activate(context: vscode.ExtensionContext): QuestLensApi {
  const log = vscode.window.createOutputChannel('Quest Lens', { log: true });
  context.subscriptions.push(log);

  const cli = vscode.Uri.joinPath(context.extensionUri, 'dist', 'cli.js').fsPath;
  const engine = new EngineClient(
    cli,
    log,
    (error) => {
      void vscode.window.showWarningMessage(error.message, 'Show Log').then((c) => c && log.show());
    },
    (ms) => {
      const minutes = Math.round(ms / 60_000);
      void vscode.window
        .showWarningMessage(
          `The Quest Lens engine process has not answered for ${minutes} min: the GPU may be hung. Restart it? (A very slow GPU may just need more time.)`,
          'Restart Engine',
          'Keep Waiting',
        )
        .then((c) => c === 'Restart Engine' && engine.restart(`restarted by the user after ${minutes} min without an answer`));
    },
  );
  context.subscriptions.push(engine);

  const labels = new ModelLabels(context.globalState);
  // The persisted KV cache lives in this workspace's storage folder, removed with the workspace's other state.
  const kvCacheDir = context.storageUri?.scheme === 'file' ? vscode.Uri.joinPath(context.storageUri, 'kv').fsPath : undefined;
  const session = new EngineSession(engine, log, (p) => labels.get(p), kvCacheDir);
  context.subscriptions.push(session);

  const size = new WorkspaceSize(log);
  context.subscriptions.push(size, onDidChangeSettings(() => size.schedule()));
  size.schedule(FIRST_COUNT_DELAY_MS);

  const panels = new HeatmapPanels(context.extensionUri);
  const store = new TurnStore(context.workspaceState, context.storageUri, log);
  const chat = new ChatController(session, store, log, () => size.current, (turnId) => panels.show(turnId));
  panels.connect(chat);
  context.subscriptions.push(panels, chat);

  const chatView = new ChatViewProvider(context.extensionUri, chat, (p) => labels.get(p));
  context.subscriptions.push(chatView, vscode.window.registerWebviewViewProvider(CHAT_VIEW_ID, chatView));

  const status = new StatusBar(session, size, (p) => labels.get(p));
  context.subscriptions.push(status);

  registerCommands(context, { engine, session, chat, chatView, panels, labels, log });

  return { session, chat, statusText: () => status.text, workspaceTokens: () => size.current?.tokens };
}

export function deactivate(): void {}
