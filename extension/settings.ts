// Reads and writes the `questLens.*` settings through VS Code's configuration (the mapping itself is settingsMap.ts).
import { homedir } from 'node:os';
import * as vscode from 'vscode';
import type { ModelSummary, ReaderSettings } from '../gpu/protocol';
import { builtinModelPath } from './models/builtinModel';
import {
  denseLayersInUse,
  effectiveModelPath,
  expandHome,
  explicitDenseLayers,
  explicitPageSize,
  type ModelPathChoice,
  type ModelToLoad,
  modelToLoad as resolveModelToLoad,
  normalizeSettings,
  pageSizeInUse,
  type QuestLensSettings,
  toReaderSettings,
} from './settingsMap';

export const SECTION = 'questLens';

const keys: readonly (keyof QuestLensSettings)[] = [
  'modelPath',
  'mode',
  'tokenBudget',
  'pageSize',
  'denseLayers',
  'aggregation',
  'maxContextTokens',
  'include',
  'exclude',
  'useGitignore',
  'maxFileBytes',
  'temperature',
  'maxAnswerTokens',
];

/**
 * Every setting, checked; `modelPath` is the one the extension may use (see modelPath()); `pageSize` and
 * `denseLayers` the ones the engine uses: the user's explicit value, else the recommendation of `model` (the loaded
 * model, when there is one), else 16 and 2.
 */
export function readSettings(model?: ModelSummary): QuestLensSettings {
  const config = vscode.workspace.getConfiguration(SECTION);
  const raw: Record<string, unknown> = {};
  for (const key of keys) raw[key] = config.get(key);
  return {
    ...normalizeSettings(raw),
    modelPath: modelPath().path,
    pageSize: pageSizeInUse(pageSizeSetting(), model?.recommendedPageSize),
    denseLayers: denseLayersInUse(denseLayersSetting(), model?.recommendedDenseLayers),
  };
}

/** questLens.pageSize if the user or the workspace set it; undefined: the model's recommendation applies. */
export function pageSizeSetting(): number | undefined {
  return explicitPageSize(vscode.workspace.getConfiguration(SECTION).inspect('pageSize'));
}

/** questLens.denseLayers if the user or the workspace set it; undefined: the model's recommendation applies. */
export function denseLayersSetting(): number | undefined {
  return explicitDenseLayers(vscode.workspace.getConfiguration(SECTION).inspect('denseLayers'));
}

/** questLens.modelPath as the extension may use it: restricted mode ignores workspace values (settingsMap.ts). */
export function modelPath(): ModelPathChoice {
  const inspected = vscode.workspace.getConfiguration(SECTION).inspect<string>('modelPath');
  const choice = effectiveModelPath(inspected, vscode.workspace.isTrusted);
  return { ...choice, path: choice.path ? expandHome(choice.path, homedir()) : '' };
}

/** The model the extension loads: modelPath() when set, else the built-in model shipped in the package. */
export function modelToLoad(): ModelToLoad {
  // This module is bundled into dist/extension.js, so __dirname is the package's dist/.
  return resolveModelToLoad(modelPath(), builtinModelPath(__dirname));
}

export function readerSettings(s: QuestLensSettings): ReaderSettings {
  return toReaderSettings(s, {
    filesExclude: vscode.workspace.getConfiguration('files').get('exclude'),
    searchExclude: vscode.workspace.getConfiguration('search').get('exclude'),
  });
}

/**
 * Writes a setting where it takes effect: where the workspace sets it (the workspace's value wins over the user's),
 * else the user settings. In restricted mode the workspace's modelPath does not count, so a chosen model goes to the
 * user settings; the other settings apply from the workspace in restricted mode too, so they are written there.
 */
export async function updateSetting(key: keyof QuestLensSettings, value: unknown): Promise<void> {
  const config = vscode.workspace.getConfiguration(SECTION);
  const inspected = config.inspect(key);
  const applies = vscode.workspace.isTrusted || key !== 'modelPath';
  const inWorkspace = applies && inspected?.workspaceValue !== undefined;
  await config.update(key, value, inWorkspace ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global);
}

/** Fires when any questLens setting (or an exclude setting the reader uses) changes, or trust is granted. */
export function onDidChangeSettings(listener: () => void): vscode.Disposable {
  const a = vscode.workspace.onDidChangeConfiguration((e) => {
    if (e.affectsConfiguration(SECTION) || e.affectsConfiguration('files.exclude') || e.affectsConfiguration('search.exclude')) listener();
  });
  const b = vscode.workspace.onDidGrantWorkspaceTrust(listener);
  return vscode.Disposable.from(a, b);
}
