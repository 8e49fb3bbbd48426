// The page heatmap beside the editor: one WebviewPanel (webview/app/panelApp.ts, view 'heatmap') that shows one
// turn's heatmap and follows new answers as they stream. Its page saves `{ turnId }` in its state; after a window
// reload the serializer gets that state back and the panel shows the same turn again (heatmaps are kept on disk by
// the turn store).
import * as vscode from 'vscode';
import type { HeatmapPanelState } from '../../webview/protocol';
import { Disposable, disposeAll } from '../disposable';
import type { ChatController } from './chatController';
import { WebviewHost } from './webviewHost';

export const HEATMAP_PANEL_TYPE = 'questLens.heatmap';
const TITLE = 'Quest Lens: Page Heatmap';

export class HeatmapPanels extends Disposable implements vscode.WebviewPanelSerializer<HeatmapPanelState> {
  private panel: { readonly panel: vscode.WebviewPanel; readonly host: WebviewHost } | undefined;
  private controller: ChatController | undefined;

  constructor(private readonly extensionUri: vscode.Uri) {
    super();
    this._register(vscode.window.registerWebviewPanelSerializer(HEATMAP_PANEL_TYPE, this));
    this._register({ dispose: () => this.panel?.panel.dispose() });
  }

  /** Set once the controller exists (the controller opens panels through show()). */
  connect(controller: ChatController): void {
    this.controller = controller;
  }

  /** Shows `turnId`'s heatmap beside the editor, in the open panel if there is one. */
  show(turnId: string): void {
    if (this.panel) {
      this.panel.panel.reveal(undefined, true);
      this.controller?.handle({ type: 'heatmap/open', turnId, where: 'view' }, this.panel.host);
      return;
    }
    const panel = vscode.window.createWebviewPanel(HEATMAP_PANEL_TYPE, TITLE, { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true }, {});
    this.adopt(panel, turnId);
  }

  get isOpen(): boolean {
    return this.panel !== undefined;
  }

  async deserializeWebviewPanel(panel: vscode.WebviewPanel, state: HeatmapPanelState | undefined): Promise<void> {
    const turnId = typeof state?.turnId === 'string' ? state.turnId : undefined;
    if (this.panel) {
      panel.dispose(); // one heatmap panel at a time
      return;
    }
    this.adopt(panel, turnId);
  }

  private adopt(panel: vscode.WebviewPanel, turnId: string | undefined): void {
    const controller = this.controller;
    if (!controller) throw new Error('HeatmapPanels.connect(controller) must run before a panel opens');
    panel.iconPath = new vscode.ThemeIcon('graph');
    const host = new WebviewHost(panel.webview, this.extensionUri, 'heatmap', TITLE, {
      onReady: (h) => controller.onReady(h),
      onMessage: (m, h) => controller.handle(m, h),
      onInvalidMessage: (problem, h) => controller.rejected(problem, h),
    });
    const owned: vscode.Disposable[] = [
      host,
      controller.attach(host, turnId),
      panel.onDidChangeViewState(() => {
        if (!panel.visible) host.markHidden();
      }),
    ];
    this.panel = { panel, host };
    panel.onDidDispose(() => {
      if (this.panel?.panel === panel) this.panel = undefined;
      disposeAll(owned);
    });
  }
}
