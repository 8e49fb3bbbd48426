// The workspace folders as the engine protocol names them (WorkspaceFolderSpec: name + file-system path), and a
// document's place in them. Only `file:` folders can be read by the engine process; others are left out.
import { relative, sep } from 'node:path';
import * as vscode from 'vscode';
import type { WorkspaceFolderSpec } from '../gpu/protocol';

/** In VS Code's order; the index is the protocol's folder index (manifest FileSpan.folder, Citation.folder). */
export function workspaceFolderSpecs(): WorkspaceFolderSpec[] {
  return readableFolders().map((f) => ({ name: f.name, path: f.uri.fsPath }));
}

function readableFolders(): vscode.WorkspaceFolder[] {
  return (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file');
}

/** Where a document is: its folder index (as in workspaceFolderSpecs) and path inside it, forward slashes. */
export function placeInWorkspace(uri: vscode.Uri): { folder: number; relPath: string; folderName: string } | undefined {
  if (uri.scheme !== 'file') return undefined;
  const folders = readableFolders();
  const owner = vscode.workspace.getWorkspaceFolder(uri);
  const index = owner ? folders.findIndex((f) => f.uri.toString() === owner.uri.toString()) : -1;
  if (!owner || index < 0) return undefined;
  const rel = relative(owner.uri.fsPath, uri.fsPath);
  if (!rel || rel.startsWith('..')) return undefined;
  return { folder: index, relPath: rel.split(sep).join('/'), folderName: owner.name };
}

/** The active text editor's file as `openFile` (cursor line, 1-based), when it is inside a workspace folder. */
export function activeOpenFile(): { folder: number; path: string; line: number } | undefined {
  const editor = vscode.window.activeTextEditor;
  if (!editor) return undefined;
  const place = placeInWorkspace(editor.document.uri);
  if (!place) return undefined;
  return { folder: place.folder, path: place.relPath, line: editor.selection.active.line + 1 };
}
