// Failures reach the user with a way out: each error code gets the actions that fix it (Select Model for a missing or
// unreadable model, Open Settings for a setting the engine refused, …) plus Show Log. Errors crossing to a webview
// are data (ErrorData). A cancellation is not a failure and is never reported.
import * as vscode from 'vscode';
import type { ErrorData } from '../webview/protocol';
import { EngineExitedError, EngineRequestError } from './engineClient';
import { QuestLensError } from './errors';

/** Engine and extension error codes that a different model file fixes. */
const MODEL_CODES = new Set([
  'no-model',
  'model-file',
  'gguf',
  'model-config',
  'model-shape',
  'tokenizer',
  'unsupported-tensor-type',
  'chat-template',
]);
/** Codes that a smaller setting fixes. */
const SETTINGS_CODES = new Set(['out-of-memory', 'settings']);

export function errorCode(err: unknown): string {
  if (err instanceof QuestLensError || err instanceof EngineRequestError) return err.code;
  if (err instanceof EngineExitedError) return 'engine-exited';
  return 'internal';
}

export function isCancellation(err: unknown): boolean {
  return errorCode(err) === 'cancelled' || (err instanceof Error && err.name === 'AbortError');
}

export function toErrorData(err: unknown): ErrorData {
  return { kind: 'error', code: errorCode(err), message: err instanceof Error ? err.message : String(err) };
}

/**
 * Logs the failure and shows it with its actions. An engine exit or a lost GPU device is not shown again here: the
 * engine client's exit handler, or the session's notice that the device was replaced, already said so.
 */
export async function reportFailure(err: unknown, what: string, log: vscode.LogOutputChannel): Promise<void> {
  if (isCancellation(err)) return;
  const code = errorCode(err);
  const message = err instanceof Error ? err.message : String(err);
  log.error(`${what} failed (${code}): ${err instanceof Error && code === 'internal' ? (err.stack ?? message) : message}`);
  if (code === 'engine-exited' || code === 'device-lost') return;
  const actions: string[] = [];
  if (MODEL_CODES.has(code)) actions.push('Select Model');
  if (SETTINGS_CODES.has(code)) actions.push('Open Settings');
  if (code === 'no-workspace') actions.push('Open Folder');
  actions.push('Show Log');
  const text = message.startsWith('Quest Lens') ? message : `Quest Lens: ${message}`;
  const choice = await vscode.window.showErrorMessage(text, ...actions);
  switch (choice) {
    case 'Select Model':
      await vscode.commands.executeCommand('questLens.selectModel');
      return;
    case 'Open Settings':
      await vscode.commands.executeCommand('workbench.action.openSettings', 'questLens');
      return;
    case 'Open Folder':
      await vscode.commands.executeCommand('workbench.action.files.openFolder');
      return;
    case 'Show Log':
      log.show();
      return;
  }
}
