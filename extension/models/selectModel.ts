// Quest Lens: Select Model. A quick pick of the built-in model, the GGUF models already on this machine (Ollama, LM
// Studio, the Hugging Face cache: discover.ts) and a file picker; the choice is checked (GGUF magic) and written to
// questLens.modelPath (the built-in model as an empty path, which is what "no model configured" loads).
// The store's name of the model is remembered for the status bar (an Ollama blob's file name is a digest).
import { homedir } from 'node:os';
import * as vscode from 'vscode';
import { formatBytes } from '../format';
import { modelPath, modelToLoad, updateSetting } from '../settings';
import { BUILTIN_MODEL_LABEL } from './builtinModel';
import { discoverModels, type FoundModel, type ModelSource, storeRoots } from './discover';
import { checkModelFile } from './modelFile';

const LABELS_KEY = 'questLens.modelLabels';
const SOURCE_NAMES: Record<ModelSource, string> = { ollama: 'Ollama', lmstudio: 'LM Studio', huggingface: 'Hugging Face cache' };

/** Store names of model paths chosen in the picker, kept in globalState. */
export class ModelLabels {
  constructor(private readonly state: vscode.Memento) {}

  get(path: string): string | undefined {
    return this.state.get<Record<string, string>>(LABELS_KEY)?.[path];
  }

  async set(path: string, label: string | undefined): Promise<void> {
    const all = { ...(this.state.get<Record<string, string>>(LABELS_KEY) ?? {}) };
    if (label) all[path] = label;
    else delete all[path];
    await this.state.update(LABELS_KEY, all);
  }
}

interface ModelItem extends vscode.QuickPickItem {
  readonly model?: FoundModel;
  readonly browse?: true;
  readonly builtin?: true;
}

/**
 * The command. With a path argument (scripts, tests) it checks and sets that file without asking.
 * Resolves with the path set, or undefined when the user backed out.
 */
export async function selectModel(labels: ModelLabels, log: vscode.LogOutputChannel, path?: unknown): Promise<string | undefined> {
  if (typeof path === 'string' && path.trim()) return setModel(path.trim(), undefined, labels, log);

  const current = modelPath().path;
  const pick = vscode.window.createQuickPick<ModelItem>();
  pick.title = 'Quest Lens: Select Model';
  pick.placeholder = 'A GGUF model found on this machine, or browse for a .gguf file';
  pick.matchOnDescription = true;
  pick.matchOnDetail = true;
  const browse: ModelItem = { label: '$(folder-opened) Browse for a GGUF file…', browse: true, alwaysShow: true };
  const builtin: ModelItem = {
    label: `${modelToLoad().builtin ? '$(check) ' : ''}${BUILTIN_MODEL_LABEL}`,
    description: 'ships with Quest Lens',
    detail: 'Answers where-is, definition and signature questions by quoting your code; it does not explain or write code.',
    builtin: true,
    alwaysShow: true,
  };
  pick.items = [builtin, browse];
  pick.busy = true;
  pick.show();

  const roots = storeRoots(homedir(), process.env);
  void discoverModels(roots).then(
    (found) => {
      log.info(`models found: ${found.length} (${found.map((m) => `${m.source}:${m.label}`).join(', ') || 'none'})`);
      pick.items = [builtin, browse, ...itemsFor(found, current)];
      pick.busy = false;
      if (found.length === 0) {
        pick.placeholder = 'No models in Ollama, LM Studio or the Hugging Face cache: browse for a .gguf file';
      }
    },
    (err: Error) => {
      log.warn(`looking for models failed: ${err.message}`);
      pick.busy = false;
    },
  );

  const chosen = await new Promise<ModelItem | undefined>((resolve) => {
    pick.onDidAccept(() => resolve(pick.selectedItems[0]));
    pick.onDidHide(() => resolve(undefined));
  });
  pick.dispose();
  if (!chosen) return undefined;
  if (chosen.model) return setModel(chosen.model.path, chosen.model.label, labels, log);
  if (chosen.builtin) return setBuiltin(log);

  const files = await vscode.window.showOpenDialog({
    title: 'Quest Lens: Select a GGUF model file',
    canSelectMany: false,
    openLabel: 'Use this model',
    filters: { 'GGUF models': ['gguf'], 'All files': ['*'] },
  });
  const file = files?.[0];
  if (!file) return undefined;
  return setModel(file.fsPath, undefined, labels, log);
}

function itemsFor(found: readonly FoundModel[], current: string): ModelItem[] {
  const items: ModelItem[] = [];
  let source: ModelSource | undefined;
  for (const m of found) {
    if (m.source !== source) {
      source = m.source;
      items.push({ label: SOURCE_NAMES[m.source], kind: vscode.QuickPickItemKind.Separator });
    }
    items.push({
      label: `${m.path === current ? '$(check) ' : ''}${m.label}`,
      description: formatBytes(m.bytes),
      detail: m.path,
      model: m,
    });
  }
  return items;
}

/** Clears questLens.modelPath where it takes effect, so the built-in model loads; resolves with its path. */
async function setBuiltin(log: vscode.LogOutputChannel): Promise<string> {
  await updateSetting('modelPath', '');
  const path = modelToLoad().path;
  log.info(`model set to the built-in model ${path}`);
  return path;
}

async function setModel(path: string, label: string | undefined, labels: ModelLabels, log: vscode.LogOutputChannel): Promise<string | undefined> {
  try {
    await checkModelFile(path);
  } catch (err) {
    log.warn((err as Error).message);
    void vscode.window.showErrorMessage((err as Error).message, 'Select Another').then((choice) => {
      if (choice === 'Select Another') void vscode.commands.executeCommand('questLens.selectModel');
    });
    return undefined;
  }
  await labels.set(path, label);
  await updateSetting('modelPath', path);
  log.info(`model set to ${path}${label ? ` (${label})` : ''}`);
  return path;
}
