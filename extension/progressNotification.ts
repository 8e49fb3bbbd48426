// A cancellable progress notification that opens on demand: "Load Workspace into Context" opens it at once; an ask
// opens it only when real work shows up (a model file loading, tokens to prefill), so a question answered from a
// warm cache does not flash a notification. Cancel aborts the caller's AbortController.
import * as vscode from 'vscode';
import { formatBytes, percentDone, prefillProgressText } from './format';
import type { PrepareProgress } from './engineSession';

export class ProgressNotification implements vscode.Disposable {
  private progress: vscode.Progress<{ message?: string; increment?: number }> | undefined;
  private close: (() => void) | undefined;
  private opening = false;
  private disposed = false;
  private shownPercent = 0;
  private pending: { message: string; percent?: number } | undefined;

  constructor(
    private readonly title: string,
    private readonly abort: AbortController,
  ) {}

  /** Shows the notification (if not yet shown) with `message`; `percent` moves the bar forward, never back. */
  report(message: string, percent?: number): void {
    if (this.abort.signal.aborted) return;
    if (!this.progress) {
      this.pending = { message, ...(percent !== undefined ? { percent } : {}) };
      this.open();
      return;
    }
    const increment = percent !== undefined && percent > this.shownPercent ? percent - this.shownPercent : undefined;
    if (increment) this.shownPercent = percent!;
    this.progress.report({ message, ...(increment ? { increment } : {}) });
  }

  /** The notification's line for one preparation step. */
  reportPrepare(p: PrepareProgress): void {
    switch (p.phase) {
      case 'load':
        this.report(`Loading the model: ${percentDone(p.bytesDone, p.bytes)}% of ${formatBytes(p.bytes)}`);
        return;
      case 'tokenize':
        this.report(`Reading the workspace: ${p.files} files, ${p.tokens.toLocaleString('en-US')} tokens`);
        return;
      case 'prefill':
        this.report(`Prefill: ${prefillProgressText(p)}`, percentDone(p.tokensDone, p.tokens));
        return;
    }
  }

  dispose(): void {
    this.disposed = true;
    this.close?.();
    this.close = undefined;
    this.progress = undefined;
    this.pending = undefined;
    this.opening = true; // a late report after the work ended must not open a new notification
  }

  private open(): void {
    if (this.opening) return;
    this.opening = true;
    void vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: this.title, cancellable: true },
      (progress, token) => {
        token.onCancellationRequested(() => this.abort.abort());
        return new Promise<void>((resolve) => {
          if (this.disposed) return resolve(); // the work ended before the notification appeared
          this.close = resolve;
          this.progress = progress;
          const first = this.pending;
          this.pending = undefined;
          if (first) this.report(first.message, first.percent);
        });
      },
    );
  }
}
