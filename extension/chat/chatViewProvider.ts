// The chat view in the Quest Lens view container: a WebviewView whose page (webview/app/chatApp.ts) talks to the
// ChatController through a WebviewHost. The view keeps no context when hidden: on each show the page reloads,
// says webview/ready, and gets the conversation again, and the welcome an empty conversation shows: the model that
// will answer (the built-in one says what it can and cannot answer) and a Select Model button.
import * as vscode from 'vscode';
import { Disposable, disposeAll } from '../disposable';
import { BUILTIN_MODEL_LABEL, builtinModelAbout } from '../models/builtinModel';
import { modelDisplayName } from '../models/discover';
import { modelToLoad, onDidChangeSettings } from '../settings';
import type { ChatController } from './chatController';
import { WebviewHost } from './webviewHost';

export const CHAT_VIEW_ID = 'questLens.chat';

export class ChatViewProvider extends Disposable implements vscode.WebviewViewProvider {
  private view: vscode.WebviewView | undefined;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly controller: ChatController,
    /** The Select Model label of a path, when the picker chose it. */
    private readonly labelOf: (path: string) => string | undefined,
  ) {
    super();
  }

  resolveWebviewView(view: vscode.WebviewView): void {
    this.view = view;
    const host = new WebviewHost(view.webview, this.extensionUri, 'chat', 'Quest Lens', {
      onReady: (h) => {
        this.controller.onReady(h);
        this.sendWelcome(h);
      },
      onMessage: (m, h) => {
        if (m.type === 'model/select') void vscode.commands.executeCommand('questLens.selectModel');
        else this.controller.handle(m, h);
      },
      onInvalidMessage: (problem, h) => this.controller.rejected(problem, h),
    });
    const owned: vscode.Disposable[] = [
      host,
      this.controller.attach(host),
      view.onDidChangeVisibility(() => {
        if (!view.visible) host.markHidden();
      }),
      onDidChangeSettings(() => this.sendWelcome(host)),
    ];
    view.onDidDispose(() => {
      if (this.view === view) this.view = undefined;
      disposeAll(owned);
    });
    this._register({ dispose: () => disposeAll(owned) });
  }

  private sendWelcome(host: WebviewHost): void {
    const model = modelToLoad();
    host.post(
      'chat/didUpdateWelcome',
      model.builtin ? { model: BUILTIN_MODEL_LABEL, about: builtinModelAbout } : { model: modelDisplayName(model.path, this.labelOf(model.path)) },
    );
  }

  /** Reveals the view (resolving it first if it was never shown). */
  async reveal(): Promise<void> {
    if (this.view) this.view.show(true);
    else await vscode.commands.executeCommand(`${CHAT_VIEW_ID}.focus`);
  }
}
