// The chat view in the Quest Lens view container: a WebviewView whose page (webview/app/chatApp.ts) talks to the
// ChatController through a WebviewHost. The view keeps no context when hidden: on each show the page reloads,
// says webview/ready, and gets the conversation again.
import * as vscode from 'vscode';
import { Disposable, disposeAll } from '../disposable';
import type { ChatController } from './chatController';
import { WebviewHost } from './webviewHost';

export const CHAT_VIEW_ID = 'questLens.chat';

export class ChatViewProvider extends Disposable implements vscode.WebviewViewProvider {
  private view: vscode.WebviewView | undefined;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly controller: ChatController,
  ) {
    super();
  }

  resolveWebviewView(view: vscode.WebviewView): void {
    this.view = view;
    const host = new WebviewHost(view.webview, this.extensionUri, 'chat', 'Quest Lens', {
      onReady: (h) => this.controller.onReady(h),
      onMessage: (m, h) => this.controller.handle(m, h),
    });
    const owned: vscode.Disposable[] = [
      host,
      this.controller.attach(host),
      view.onDidChangeVisibility(() => {
        if (!view.visible) host.markHidden();
      }),
    ];
    view.onDidDispose(() => {
      if (this.view === view) this.view = undefined;
      disposeAll(owned);
    });
    this._register({ dispose: () => disposeAll(owned) });
  }

  /** Reveals the view (resolving it first if it was never shown). */
  async reveal(): Promise<void> {
    if (this.view) this.view.show(true);
    else await vscode.commands.executeCommand(`${CHAT_VIEW_ID}.focus`);
  }
}
