// The host side of one webview (the chat view or a heatmap panel): strict options and HTML (html.ts), a typed sender,
// the ready handshake, and every message from the page checked (webviewMessages.ts) before a handler sees it.
// Nothing reaches the page before its `webview/ready`; each ready (first load, or the page reloaded after the view
// was hidden) gets the whole state from `onReady`, which supersedes whatever was queued, so only messages no
// snapshot carries (chat/didFail, the latest chat/didProgress) survive in the queue.
import * as vscode from 'vscode';
import type { FromWebview, MessageBody, ToWebview, WebviewView } from '../../webview/protocol';
import { Disposable } from '../disposable';
import { buildWebviewHtml } from './html';
import { parseFromWebview } from './webviewMessages';

export interface WebviewHandlers {
  /** The page is listening: send it everything it should show. */
  onReady(host: WebviewHost): void;
  onMessage(message: FromWebview, host: WebviewHost): void;
  /** A message the protocol does not allow arrived and was dropped (webviewMessages.ts says why). */
  onInvalidMessage?(problem: string, host: WebviewHost): void;
}

/** Message types no snapshot carries: kept across the handshake (the newest of each type). */
const KEPT_UNTIL_READY = new Set<ToWebview['type']>(['chat/didFail', 'chat/didProgress']);

export class WebviewHost extends Disposable {
  private ready = false;
  private queued = new Map<ToWebview['type'], ToWebview>();

  constructor(
    readonly webview: vscode.Webview,
    extensionUri: vscode.Uri,
    readonly view: WebviewView,
    title: string,
    private readonly handlers: WebviewHandlers,
  ) {
    super();
    const root = vscode.Uri.joinPath(extensionUri, 'dist', 'webview');
    webview.options = { enableScripts: true, localResourceRoots: [root] };
    webview.html = buildWebviewHtml({
      title,
      data: { view, standalone: false, title },
      assets: {
        kind: 'webview',
        cspSource: webview.cspSource,
        scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(root, 'main.js')).toString(),
        styleUri: webview.asWebviewUri(vscode.Uri.joinPath(root, 'main.css')).toString(),
      },
    });
    this._register(webview.onDidReceiveMessage((m: unknown) => this.receive(m)));
  }

  /** Sends now if the page is listening, else keeps what no snapshot carries for after its ready. */
  post<T extends ToWebview['type']>(type: T, body: MessageBody<ToWebview, T>): void {
    const message = { type, ...body } as unknown as ToWebview;
    if (this.isDisposed) return;
    if (!this.ready) {
      if (KEPT_UNTIL_READY.has(type)) this.queued.set(type, message);
      return;
    }
    void this.webview.postMessage(message).then(undefined, () => {
      // the page went away between the check and the send; its next ready restores it
    });
  }

  /** The page was hidden and its document dropped: hold messages until it is shown and ready again. */
  markHidden(): void {
    this.ready = false;
  }

  get isReady(): boolean {
    return this.ready;
  }

  private receive(raw: unknown): void {
    const parsed = parseFromWebview(raw);
    if ('problem' in parsed) {
      this.handlers.onInvalidMessage?.(parsed.problem, this);
      return;
    }
    const message = parsed.message;
    if (message.type === 'webview/ready') {
      this.ready = true;
      const kept = [...this.queued.values()];
      this.queued.clear();
      this.handlers.onReady(this);
      for (const m of kept) void this.webview.postMessage(m);
      return;
    }
    this.handlers.onMessage(message, this);
  }
}
