// A cancellable progress notification that opens on demand: "Load Workspace into Context" opens it at once; an ask
// opens it only when real work shows up (a model file loading, tokens to prefill), so a question answered from a
// warm cache does not flash a notification. Cancel aborts the caller's AbortController. The bar is one report over
// every step of the preparation (prepareProgress.ts).
import * as vscode from 'vscode';
import type { PrepareProgress } from './engineSession';
import { ProgressIncrements, prepareProgressLine } from './prepareProgress';

export class ProgressNotification implements vscode.Disposable {
  private progress: vscode.Progress<{ message?: string; increment?: number }> | undefined;
  private close: (() => void) | undefined;
  private opening = false;
  private disposed = false;
  private readonly increments = new ProgressIncrements();
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
    const increment = percent !== undefined ? this.increments.next(percent) : undefined;
    this.progress.report({ message, ...(increment ? { increment } : {}) });
  }

  /** The notification's line and the bar's position for one preparation step. */
  reportPrepare(p: PrepareProgress): void {
    const line = prepareProgressLine(p);
    this.report(line.message, line.percent);
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
