// The JSON an evaluation run writes under eval/results/ (schema 1), gzip-compressed (bench/resultsFile.ts): where and
// on what it ran (device, date, commit, model sha256, corpus, settings), every question with every configuration's
// answer, the summary the tables show, and the passkey rows. eval/report.ts turns one file into the model card's
// tables. The file is rewritten after each workspace, so a run cut short keeps what it measured.
import type { RunProvenance } from '../bench/provenance';
import type { EvalTask } from './questions';
import type { CitedRange } from './score';

export interface EvalAnswer {
  readonly text: string;
  readonly tokens: readonly number[];
  /** The model ended its answer (end-of-text) before the token limit. */
  readonly stopped: boolean;
  readonly exact: boolean;
  readonly firstToken: boolean;
  /** The top attention citation; absent when the engine gave none. */
  readonly cited?: CitedRange;
  readonly citationFile: boolean;
  readonly citationLine: boolean;
  readonly decodeMs: number;
}

export interface EvalRecord {
  readonly length: number;
  /** Index into the length's workspaces. */
  readonly workspace: number;
  readonly task: EvalTask;
  readonly name: string;
  readonly package: string;
  readonly path: string;
  readonly line: number;
  readonly question: string;
  readonly expected: string;
  readonly expectedTokens: readonly number[];
  /** Per configuration name ('dense', 'quest 512', …). */
  readonly answers: Readonly<Record<string, EvalAnswer>>;
}

export interface EvalWorkspace {
  readonly length: number;
  readonly packages: readonly string[];
  readonly files: number;
  readonly contextTokens: number;
  readonly questions: number;
  readonly buildMs: number;
  readonly prefillMs: number;
}

/** One row of the summary: a context length and a configuration over its questions (fractions 0..1). */
export interface SummaryRow {
  readonly length: number;
  readonly config: string;
  readonly task: EvalTask | 'all';
  readonly questions: number;
  readonly exact: number;
  readonly firstToken: number;
  /** null: the engine gave no attention citations in this run (see citations.note). */
  readonly citationFile: number | null;
  readonly citationLine: number | null;
}

export interface PasskeyResult {
  readonly length: number;
  readonly promptTokens: number;
  readonly keys: number;
  /** Fraction of keys found per configuration name. */
  readonly accuracy: Readonly<Record<string, number>>;
}

/** Fields date, commit, dirty, command and device: RunProvenance. */
export interface EvalResult extends RunProvenance {
  readonly schema: 1;
  readonly runtime: { readonly node: string; readonly webgpu: string };
  readonly model: {
    readonly path: string;
    readonly name: string;
    readonly bytes: number;
    readonly sha256: string;
    readonly answerStyle: string;
    readonly promptFormat: string | null;
    readonly kvType: string;
  };
  readonly corpus: { readonly path: string; readonly questionsSha256: string; readonly packages: readonly string[] };
  readonly settings: {
    readonly lengths: readonly number[];
    readonly budgets: readonly number[];
    readonly maxQuestions: number;
    readonly perWorkspace: number;
    readonly passkeys: number;
    readonly pageSize: number;
    readonly denseLayers: number;
    readonly aggregation: 'max' | 'sum';
    /**
     * The layers whose attention the citations counted: --attention-layers, else the model's recommendation, else 4
     * (denseLayers likewise: --dense-layers, else the model's, else 2). null: an older run that used the engine's default 4.
     */
    readonly attentionLayers: number | null;
    readonly seed: number;
    readonly timeLimitSeconds: number | null;
    readonly reserveTokens: number;
    readonly citationLineSlack: number;
  };
  /** Configuration names in table order. */
  readonly configs: readonly string[];
  readonly citations: { readonly source: 'attention'; readonly available: boolean; readonly note?: string };
  readonly workspaces: readonly EvalWorkspace[];
  readonly records: readonly EvalRecord[];
  readonly summary: readonly SummaryRow[];
  readonly passkey: readonly PasskeyResult[];
  /** Why a length has fewer questions or keys than asked for (time limit, too few askable questions). */
  readonly notes: readonly string[];
  readonly seconds: number;
}
