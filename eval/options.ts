// `npm run eval` options. Defaults depend on the adapter: on a GPU they are the model card's run (4K/8K/16K, every
// budget, up to 240 questions per length: every askable one of 40 packages, ≤ 9 minutes on the H100 with
// --time-limit as the guard); on a software adapter (lavapipe) a small run that still exercises every step.
import { parseArgs } from 'node:util';
import { integerFlag } from '../gpu/cliArgs';
import { resolveAttentionLayers } from '../gpu/forward/forward';
import { resolvePageSize } from '../gpu/kv/layout';
import type { ModelConfig } from '../gpu/model/config';
import { resolveDenseLayers } from '../gpu/session/decodeSettings';
import type { ParityOptions } from './parity';

export const evalUsage = `usage: npm run eval -- [options]          (node dist/eval.mjs [options])
  --model FILE            GGUF model (default model/default.gguf)
  --corpus DIR            corpus folder with heldout-workspaces/ and heldout-questions.json (default model/.data/corpus)
  --lengths L,…           context lengths (GPU: 4096,8192,16384; software adapter: 1024)
  --budgets B,…           Quest token budgets (GPU: 128,256,512,1024,2048; software: 128,256)
  --max-questions N       questions per context length (GPU: 240; software: 6)
  --per-workspace N       at most N questions from one packed workspace (default 8)
  --workspaces N|a,b,…    the first N held-out packages in seeded order, or these packages (GPU: 64; software: 8)
  --passkeys N            pass keys per context length (GPU: 10; software: 2)
  --page-size P           tokens per KV page (default the model's questlens.page_size, else 16)
  --dense-layers L        leading layers dense in quest mode (default the model's questlens.dense_layers, else 2)
  --aggregation max|sum   page score over a KV head's query heads (default sum)
  --attention-layers N    last layers whose attention the citations count (default the model's questlens.attention_layers, else 4)
  --seed S                package order, question choice and pass keys (default 1)
  --time-limit S          seconds; no new workspace or pass key starts after each length's share (GPU: 480; software: none)
  --out DIR               where the results (.json.gz) go (default eval/results)
node dist/eval.mjs report RESULTS.json.gz [--card model/README.md]
                          fills the model card's evaluation section (an older run's .json is read too)
node dist/eval.mjs pack-heldout [--corpus DIR] [--workspaces N|a,b,…] [--seed S] --out FILE.tar.xz
                                                                     the chosen held-out packages, for the GPU machine
node dist/eval.mjs parity [--model FILE] --out FILE.json [--steps N] [--passkey-tokens N] [--kv f32|f16]
                          the engine's per-step next-token logits on fixed prompts, for model/train/parity.py
                          (defaults: 12 steps; passkey prompt GPU 4096 tokens, software 1024; KV f32)`;

export class UsageError extends Error {
  constructor(message: string) {
    super(`${message}\n\n${evalUsage}`);
    this.name = 'UsageError';
  }
}

export type WorkspacePick = { readonly count: number } | { readonly names: readonly string[] };

export interface EvalOptions {
  readonly model: string;
  readonly corpus: string;
  readonly lengths: readonly number[];
  readonly budgets: readonly number[];
  readonly maxQuestions: number;
  readonly perWorkspace: number;
  readonly workspaces: WorkspacePick;
  readonly passkeys: number;
  /** --page-size; absent: the model's recommendation, else 16 (evalPageSize). */
  readonly pageSize: number | undefined;
  /** --dense-layers; absent: the model's recommendation, else 2 (resolveDenseLayers, once the model is read). */
  readonly denseLayers: number | undefined;
  readonly aggregation: 'max' | 'sum';
  /** --attention-layers; absent: the model's recommendation, else 4 (resolveAttentionLayers). */
  readonly attentionLayers: number | undefined;
  readonly seed: number;
  /** Seconds; Infinity: none. */
  readonly timeLimit: number;
  readonly out: string;
}

const gpuDefaults = { lengths: '4096,8192,16384', budgets: '128,256,512,1024,2048', 'max-questions': '240', workspaces: '64', passkeys: '10', 'time-limit': '480' };
const softwareDefaults = { lengths: '1024', budgets: '128,256', 'max-questions': '6', workspaces: '8', passkeys: '2', 'time-limit': 'none' };

/** Where the committed default model lives. */
export const defaultModelPath = 'model/default.gguf';

const spec = {
  model: { type: 'string', default: defaultModelPath },
  corpus: { type: 'string', default: 'model/.data/corpus' },
  lengths: { type: 'string' },
  budgets: { type: 'string' },
  'max-questions': { type: 'string' },
  'per-workspace': { type: 'string', default: '8' },
  workspaces: { type: 'string' },
  passkeys: { type: 'string' },
  'page-size': { type: 'string' },
  'dense-layers': { type: 'string' },
  aggregation: { type: 'string', default: 'sum' },
  'attention-layers': { type: 'string' },
  seed: { type: 'string', default: '1' },
  'time-limit': { type: 'string' },
  out: { type: 'string', default: 'eval/results' },
  card: { type: 'string', default: 'model/README.md' },
  steps: { type: 'string' },
  'passkey-tokens': { type: 'string' },
  kv: { type: 'string' },
  help: { type: 'boolean', default: false },
} as const;

export interface ParsedCommand {
  readonly command: 'run' | 'report' | 'pack-heldout' | 'parity' | 'help';
  readonly positionals: readonly string[];
  /** The options as given, resolved per adapter by evalOptions(). */
  readonly values: OptionValues;
}

/** Option name → the string given (absent: not given; the flag `help` is a boolean). */
export type OptionValues = Readonly<Record<string, string | boolean | undefined>>;

export function parseCommand(argv: readonly string[]): ParsedCommand {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: spec, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const [first, ...rest] = parsed.positionals;
  if (parsed.values.help) return { command: 'help', positionals: [], values: parsed.values };
  if (first === undefined) return { command: 'run', positionals: [], values: parsed.values };
  if (first !== 'report' && first !== 'pack-heldout' && first !== 'parity') throw new UsageError(`unknown command '${first}'`);
  return { command: first, positionals: rest, values: parsed.values };
}

function integer(name: string, v: string, min: number): number {
  return integerFlag(name, v, min, (message) => new UsageError(message));
}

function list(name: string, v: string, min: number): number[] {
  const out = v.split(',').map((s) => integer(name, s.trim(), min));
  if (out.length === 0) throw new UsageError(`--${name} is empty`);
  return out;
}

export function workspacePick(v: string): WorkspacePick {
  return /^\d+$/.test(v.trim()) ? { count: integer('workspaces', v.trim(), 1) } : { names: v.split(',').map((s) => s.trim()).filter(Boolean) };
}

/**
 * The page size the run uses: --page-size, else the model's recommendation (`questlens.page_size`), else 16 (the
 * engine's rule, resolvePageSize); every budget must hold at least one page.
 */
export function evalPageSize(o: Pick<EvalOptions, 'pageSize' | 'budgets'>, recommended: number | undefined): number {
  const pageSize = resolvePageSize(o.pageSize, recommended);
  const small = o.budgets.find((b) => b < pageSize);
  if (small !== undefined) {
    const from =
      o.pageSize !== undefined ? `--page-size ${pageSize}` : recommended !== undefined ? `the model's recommended page size ${pageSize}` : `the default page size ${pageSize}`;
    throw new UsageError(`--budgets ${small} is less than one page (${from})`);
  }
  return pageSize;
}

/**
 * The dense layers (quest mode) and attention layers (citations) the run uses, as the results record them: the flag,
 * else the model's recommendation (`questlens.dense_layers`, `questlens.attention_layers`), else 2 and 4 (the
 * engine's rules, resolveDenseLayers and resolveAttentionLayers), clamped to the model's layers as the engine does.
 */
export function evalLayers(
  o: Pick<EvalOptions, 'denseLayers' | 'attentionLayers'>,
  cfg: Pick<ModelConfig, 'layers' | 'recommendedDenseLayers' | 'recommendedAttentionLayers'>,
): { denseLayers: number; attentionLayers: number } {
  return {
    denseLayers: resolveDenseLayers(o.denseLayers, cfg.recommendedDenseLayers, cfg.layers),
    attentionLayers: resolveAttentionLayers(o.attentionLayers, cfg.recommendedAttentionLayers, cfg.layers),
  };
}

/** The run's options: what was given, else the defaults for a GPU or a software adapter. */
export function evalOptions(values: OptionValues, software: boolean): EvalOptions {
  const d = software ? softwareDefaults : gpuDefaults;
  const v = (name: string) => values[name] as string | undefined;
  const aggregation = v('aggregation') ?? spec.aggregation.default;
  if (aggregation !== 'max' && aggregation !== 'sum') throw new UsageError(`--aggregation must be max or sum, got '${aggregation}'`);
  const timeLimit = v('time-limit') ?? d['time-limit'];
  const given = v('page-size');
  const pageSize = given === undefined ? undefined : integer('page-size', given, 1);
  const budgets = list('budgets', v('budgets') ?? d.budgets, 1);
  // An explicit page size fails here, before the GPU opens; the model's is checked once its file is read.
  if (pageSize !== undefined) evalPageSize({ pageSize, budgets }, undefined);
  return {
    model: v('model') ?? spec.model.default,
    corpus: v('corpus') ?? spec.corpus.default,
    lengths: list('lengths', v('lengths') ?? d.lengths, 64),
    budgets,
    maxQuestions: integer('max-questions', v('max-questions') ?? d['max-questions'], 0),
    perWorkspace: integer('per-workspace', v('per-workspace') ?? spec['per-workspace'].default, 1),
    workspaces: workspacePick(v('workspaces') ?? d.workspaces),
    passkeys: integer('passkeys', v('passkeys') ?? d.passkeys, 0),
    pageSize,
    denseLayers: v('dense-layers') === undefined ? undefined : integer('dense-layers', v('dense-layers')!, 0),
    aggregation,
    attentionLayers: v('attention-layers') === undefined ? undefined : integer('attention-layers', v('attention-layers')!, 1),
    seed: integer('seed', v('seed') ?? spec.seed.default, 0),
    timeLimit: timeLimit === 'none' ? Infinity : integer('time-limit', timeLimit, 1),
    out: v('out') ?? spec.out.default,
  };
}

/** The held-out packages pack-heldout carries: the GPU default unless --workspaces is given. */
export function packOptions(values: OptionValues): { corpus: string; workspaces: WorkspacePick; seed: number; out: string } {
  const v = (name: string) => values[name] as string | undefined;
  const out = v('out');
  if (!out || out === spec.out.default) throw new UsageError('pack-heldout needs --out FILE.tar.xz');
  return {
    corpus: v('corpus') ?? spec.corpus.default,
    workspaces: workspacePick(v('workspaces') ?? gpuDefaults.workspaces),
    seed: integer('seed', v('seed') ?? spec.seed.default, 0),
    out,
  };
}

/** The parity command's options (eval/parity.ts); the passkey prompt's default length depends on the adapter. */
export function parityOptions(values: OptionValues, software: boolean): ParityOptions {
  const v = (name: string) => values[name] as string | undefined;
  const out = v('out');
  if (!out || out === spec.out.default) throw new UsageError('parity needs --out FILE.json');
  const kvType = v('kv') ?? 'f32';
  if (kvType !== 'f32' && kvType !== 'f16') throw new UsageError(`--kv must be f32 or f16, got '${kvType}'`);
  return {
    model: v('model') ?? spec.model.default,
    out,
    steps: integer('steps', v('steps') ?? '12', 1),
    passkeyTokens: integer('passkey-tokens', v('passkey-tokens') ?? (software ? '1024' : '4096'), 256),
    kvType,
  };
}

/** The model card `report` rewrites. */
export function cardPath(values: OptionValues): string {
  return (values.card as string | undefined) ?? spec.card.default;
}
