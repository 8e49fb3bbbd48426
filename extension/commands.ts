// Commands that are not part of a larger feature.
import * as vscode from 'vscode';
import type { EngineClient } from './engineClient';

export function registerCommands(context: vscode.ExtensionContext, engine: EngineClient, log: vscode.LogOutputChannel): void {
  context.subscriptions.push(
    vscode.commands.registerCommand('questLens.showLog', () => log.show()),
    vscode.commands.registerCommand('questLens.showGpuInfo', async () => {
      try {
        const { adapter: a } = await engine.request({ type: 'gpu/describe' });
        const line = `${a.vendor} ${a.architecture} (${a.description})${a.isSoftware ? ', software adapter: slow' : ''}`;
        log.info(`GPU: ${line}; features ${a.features.join(', ')}`);
        void vscode.window.showInformationMessage(`Quest Lens GPU: ${line}`);
      } catch (err) {
        log.error(`GPU info failed: ${(err as Error).message}`);
        const choice = await vscode.window.showErrorMessage(`Quest Lens: ${(err as Error).message}`, 'Show Log');
        if (choice === 'Show Log') log.show();
      }
    }),
  );
}
