// Activation only wires features together; each feature registers its own disposables.
import * as vscode from 'vscode';
import { registerCommands } from './commands';
import { EngineClient } from './engineClient';

export function activate(context: vscode.ExtensionContext): void {
  const log = vscode.window.createOutputChannel('Quest Lens', { log: true });
  context.subscriptions.push(log);

  const cli = vscode.Uri.joinPath(context.extensionUri, 'dist', 'cli.js').fsPath;
  const engine = new EngineClient(cli, log, (error) => {
    void vscode.window.showWarningMessage(error.message, 'Show Log').then((c) => c && log.show());
  });
  context.subscriptions.push(engine);

  registerCommands(context, engine, log);
}

export function deactivate(): void {}
