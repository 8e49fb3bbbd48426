// The one Disposable base for everything in the extension host that owns resources.
import type * as vscode from 'vscode';

export abstract class Disposable implements vscode.Disposable {
  private readonly disposables: vscode.Disposable[] = [];
  private disposed = false;

  protected get isDisposed(): boolean {
    return this.disposed;
  }

  protected _register<T extends vscode.Disposable>(d: T): T {
    if (this.disposed) d.dispose();
    else this.disposables.push(d);
    return d;
  }

  /** Idempotent: disposes what was registered, newest first. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    disposeAll(this.disposables.reverse());
    this.disposables.length = 0;
  }
}

export function disposeAll(disposables: readonly vscode.Disposable[]): void {
  for (const d of disposables) d.dispose();
}
