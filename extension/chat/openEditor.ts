// Opens what a webview's 'editor/open' points at: resolved inside a workspace folder only (openTarget.ts), the
// lines line..endLine selected and centred.
import { realpathSync, statSync } from 'node:fs';
import * as vscode from 'vscode';
import type { OpenTarget } from '../../webview/protocol';
import { workspaceFolderSpecs } from '../workspaceFolders';
import { resolveOpenTarget, type TargetFs } from './openTarget';

const nodeTargetFs: TargetFs = {
  isFile: (p) => {
    try {
      return statSync(p).isFile();
    } catch {
      return false;
    }
  },
  realpath: (p) => realpathSync(p),
};

/** Throws OpenTargetError when the target is refused; `column` is where the editor opens. */
export async function openInEditor(target: OpenTarget, column: vscode.ViewColumn): Promise<vscode.TextEditor> {
  const resolved = resolveOpenTarget(target, workspaceFolderSpecs(), nodeTargetFs);
  const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(resolved.absPath));
  const last = Math.max(0, doc.lineCount - 1);
  const start = Math.min(resolved.line - 1, last);
  const end = Math.min(resolved.endLine - 1, last);
  // Anchored at the range's end, the cursor at its first line: that is the line the status bar and a reader see.
  const selection = new vscode.Selection(end, doc.lineAt(end).text.length, start, 0);
  const editor = await vscode.window.showTextDocument(doc, { viewColumn: column, preview: true, selection });
  editor.selection = selection; // the show options take a Range, which loses the direction
  editor.revealRange(selection, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
  return editor;
}
