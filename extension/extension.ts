// Activation only wires features together; each feature registers its own disposables.
import * as vscode from 'vscode';

export function activate(context: vscode.ExtensionContext): void {
  const log = vscode.window.createOutputChannel('Quest Lens', { log: true });
  context.subscriptions.push(log);
  context.subscriptions.push(vscode.commands.registerCommand('questLens.showLog', () => log.show()));
}

export function deactivate(): void {}
