// From the user's settings to what the engine protocol takes (DecodeSettings, ReaderSettings, model/load options).
// Pure: no vscode import, so the mapping is unit-tested (test/unit/extensionSettings.test.ts); settings.ts reads the
// values from VS Code's configuration and calls these.
import { resolve } from 'node:path';
import type { DecodeSettings, ReaderSettings } from '../gpu/protocol';

/** The settings under `questLens.*`, as contributed in package.json (names without the prefix). */
export interface QuestLensSettings {
  readonly modelPath: string;
  readonly mode: 'dense' | 'quest';
  readonly tokenBudget: number;
  readonly pageSize: number;
  readonly denseLayers: number;
  readonly aggregation: 'max' | 'sum';
  readonly maxContextTokens: number;
  readonly include: readonly string[];
  readonly exclude: readonly string[];
  readonly useGitignore: boolean;
  readonly maxFileBytes: number;
  readonly temperature: number;
  readonly maxAnswerTokens: number;
}

/** The defaults package.json declares; also what a missing or mistyped value falls back to. */
export const settingDefaults: QuestLensSettings = {
  modelPath: '',
  mode: 'quest',
  tokenBudget: 1024,
  pageSize: 16,
  denseLayers: 2,
  aggregation: 'sum',
  maxContextTokens: 8192,
  include: [],
  exclude: [],
  useGitignore: true,
  maxFileBytes: 1024 * 1024,
  temperature: 0,
  maxAnswerTokens: 512,
};

export const pageSizes = [4, 8, 16, 32, 64] as const;

/** What VS Code's `inspect(key)` reports of a setting: the values the user, workspace and folder wrote, if any. */
export interface SettingInspection {
  readonly globalValue?: unknown;
  readonly workspaceValue?: unknown;
  readonly workspaceFolderValue?: unknown;
}

/**
 * questLens.pageSize when the user or the workspace set it (the most specific scope that holds a valid value), else
 * undefined: then model/load carries no page size and the engine uses the model's recommendation.
 */
export function explicitPageSize(inspected: SettingInspection | undefined): number | undefined {
  return mostSpecific(inspected, (v) => pageSizes.includes(v as (typeof pageSizes)[number]));
}

/** The value of the most specific scope (folder, workspace, user) that the user set to a valid value. */
function mostSpecific(inspected: SettingInspection | undefined, valid: (v: unknown) => boolean): number | undefined {
  return [inspected?.workspaceFolderValue, inspected?.workspaceValue, inspected?.globalValue].find(valid) as number | undefined;
}

/**
 * The page size a load uses (the engine's rule, gpu/kv/layout.ts resolvePageSize): the user's explicit one wins, then
 * the model's recommendation (`questlens.page_size`, ModelSummary.recommendedPageSize), then the default 16.
 */
export function pageSizeInUse(explicit: number | undefined, recommended: number | undefined): number {
  return explicit ?? recommended ?? settingDefaults.pageSize;
}

/**
 * questLens.denseLayers when the user or the workspace set it (the most specific scope that holds a whole number >= 0),
 * else undefined: then the model's recommendation applies.
 */
export function explicitDenseLayers(inspected: SettingInspection | undefined): number | undefined {
  return mostSpecific(inspected, (v) => Number.isInteger(v) && (v as number) >= 0);
}

/**
 * The dense layers an answer uses (the engine's rule, gpu/session/decodeSettings.ts resolveDenseLayers): the user's
 * explicit value wins, then the model's recommendation (`questlens.dense_layers`, ModelSummary.recommendedDenseLayers),
 * then the default 2.
 */
export function denseLayersInUse(explicit: number | undefined, recommended: number | undefined): number {
  return explicit ?? recommended ?? settingDefaults.denseLayers;
}

/** Reads a raw settings object (what `getConfiguration('questLens').get(key)` gives) into checked values. */
export function normalizeSettings(raw: Readonly<Record<string, unknown>>): QuestLensSettings {
  const d = settingDefaults;
  const int = (key: keyof QuestLensSettings, min: number): number => {
    const v = raw[key];
    return typeof v === 'number' && Number.isFinite(v) ? Math.max(min, Math.round(v)) : (d[key] as number);
  };
  const globs = (key: 'include' | 'exclude'): readonly string[] => {
    const v = raw[key];
    return Array.isArray(v) ? v.filter((g): g is string => typeof g === 'string' && g.trim() !== '') : d[key];
  };
  const pageSize = pageSizes.includes(raw.pageSize as (typeof pageSizes)[number]) ? (raw.pageSize as number) : d.pageSize;
  const temperature = typeof raw.temperature === 'number' && Number.isFinite(raw.temperature) ? Math.max(0, raw.temperature) : d.temperature;
  return {
    modelPath: typeof raw.modelPath === 'string' ? raw.modelPath.trim() : d.modelPath,
    mode: raw.mode === 'dense' || raw.mode === 'quest' ? raw.mode : d.mode,
    tokenBudget: int('tokenBudget', 16),
    pageSize,
    denseLayers: int('denseLayers', 0),
    aggregation: raw.aggregation === 'sum' || raw.aggregation === 'max' ? raw.aggregation : d.aggregation,
    maxContextTokens: int('maxContextTokens', 256),
    include: globs('include'),
    exclude: globs('exclude'),
    useGitignore: typeof raw.useGitignore === 'boolean' ? raw.useGitignore : d.useGitignore,
    maxFileBytes: int('maxFileBytes', 1),
    temperature,
    maxAnswerTokens: int('maxAnswerTokens', 1),
  };
}

/**
 * The token budget the engine gets: a whole number of pages (the protocol requires a multiple of the page size),
 * rounded up so that the user gets at least what they asked for, and never less than 2 pages (the last, partly
 * filled page is always one of them, so 1 page would read nothing else).
 */
export function tokenBudgetInPages(tokenBudget: number, pageSize: number): number {
  const pages = Math.max(2, Math.ceil(tokenBudget / pageSize));
  return pages * pageSize;
}

export function toDecodeSettings(s: QuestLensSettings, seed: number): DecodeSettings {
  return {
    mode: s.mode,
    tokenBudget: tokenBudgetInPages(s.tokenBudget, s.pageSize),
    denseLayers: s.denseLayers,
    aggregation: s.aggregation,
    temperature: s.temperature,
    maxAnswerTokens: s.maxAnswerTokens,
    seed,
  };
}

/** VS Code's own exclude settings, as `getConfiguration('files').get('exclude')` and `('search').get('exclude')` give them. */
export interface VscodeExcludes {
  readonly filesExclude: unknown;
  readonly searchExclude: unknown;
}

export function toReaderSettings(s: QuestLensSettings, vs: VscodeExcludes): ReaderSettings {
  return {
    include: s.include,
    exclude: s.exclude,
    filesExclude: excludeRecord(vs.filesExclude),
    searchExclude: excludeRecord(vs.searchExclude),
    useGitignore: s.useGitignore,
    maxFileBytes: s.maxFileBytes,
  };
}

/** Keeps the entries VS Code's glob expressions allow: `true | false | { when: string }`. */
function excludeRecord(v: unknown): Record<string, boolean | { when: string }> {
  const out: Record<string, boolean | { when: string }> = {};
  if (!v || typeof v !== 'object' || Array.isArray(v)) return out;
  for (const [glob, value] of Object.entries(v as Record<string, unknown>)) {
    if (typeof value === 'boolean') out[glob] = value;
    else if (value && typeof value === 'object' && typeof (value as { when?: unknown }).when === 'string') {
      out[glob] = { when: (value as { when: string }).when };
    }
  }
  return out;
}

/** What `configuration.inspect('modelPath')` reports, the fields that matter here. */
export interface InspectedSetting<T> {
  readonly defaultValue?: T;
  readonly globalValue?: T;
  readonly workspaceValue?: T;
  readonly workspaceFolderValue?: T;
}

export interface ModelPathChoice {
  /** The path to load; '' when none is configured. */
  readonly path: string;
}

/**
 * questLens.modelPath as the extension may use it. In a trusted workspace: the most specific value, as VS Code's
 * `get()` gives. In restricted mode a workspace (or folder) value is ignored: a cloned repository must not make the
 * engine open a file of its choosing. Only the user's own value or the default count then.
 */
export function effectiveModelPath(inspected: InspectedSetting<string> | undefined, trusted: boolean): ModelPathChoice {
  const clean = (v: unknown) => (typeof v === 'string' ? v.trim() : '');
  const user = clean(inspected?.globalValue) || clean(inspected?.defaultValue);
  if (!trusted) return { path: user };
  return { path: clean(inspected?.workspaceFolderValue) || clean(inspected?.workspaceValue) || user };
}

/** The model the extension loads: the configured one, else the built-in model. */
export interface ModelToLoad {
  readonly path: string;
  /** True when `path` is the built-in model (nothing configured, or the configured path names it). */
  readonly builtin: boolean;
}

/**
 * The configured model (`choice`, from effectiveModelPath), else the built-in one. The built-in model is used in
 * restricted mode too: it ships with the extension, so no workspace chose it.
 */
export function modelToLoad(choice: ModelPathChoice, builtinPath: string): ModelToLoad {
  if (!choice.path) return { path: builtinPath, builtin: true };
  return { path: choice.path, builtin: resolve(choice.path) === resolve(builtinPath) };
}

/** `~/…` and `${userHome}/…` as VS Code users write paths in settings. */
export function expandHome(path: string, home: string): string {
  if (path === '~') return home;
  if (path.startsWith('~/')) return `${home}${path.slice(1)}`;
  return path.replace(/^\$\{userHome\}/, home);
}
