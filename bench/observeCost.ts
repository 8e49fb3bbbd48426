// What watching an answer costs: decode speed with nothing recorded, with the attention count behind citations (on by
// default in the product), with the selection trace (what the extension records in quest mode) and with the trace's
// page scores and per-step attention (on request). The four configurations run in interleaved rounds from the same
// cache, so clock drift between them averages out; each figure is the median time between tokens over all rounds.
import type { Engine, GenerateOptions } from '../gpu/engine';
import type { QuestSettings } from '../gpu/forward/forward';
import { median } from './gpuTimer';
import { row, table } from './reportFormat';

export type ObserveConfig = 'plain' | 'attention' | 'trace' | 'traceScores';

const configs: Readonly<Record<ObserveConfig, Pick<GenerateOptions, 'attention' | 'trace' | 'traceScores'>>> = {
  plain: { attention: false },
  attention: { attention: true },
  trace: { attention: true, trace: true },
  traceScores: { attention: true, trace: true, traceScores: true },
};

export interface ObserveRun {
  readonly mode: 'dense' | 'quest';
  /** Quest token budget; absent for dense. */
  readonly budget?: number;
  readonly context: number;
  readonly config: ObserveConfig;
  /** decodeSteps timed, over all rounds. */
  readonly steps: number;
  /** Median wall time between consecutive tokens over all rounds. */
  readonly msPerToken: number;
  readonly tokensPerSecond: number;
}

/**
 * Decodes `tokens` tokens per configuration per round after a `context`-token cache (context - 1 tokens plus `token`
 * run through the model, restored before every run). The trace configurations record pages only in quest mode.
 */
export async function measureObserveCost(
  engine: Engine,
  quest: QuestSettings,
  context: number,
  token: number,
  o: { readonly tokens: number; readonly rounds: number; readonly pageSize: number },
): Promise<ObserveRun[]> {
  const gaps: Record<ObserveConfig, number[]> = { plain: [], attention: [], trace: [], traceScores: [] };
  for (let round = 0; round < o.rounds; round++) {
    for (const config of Object.keys(configs) as ObserveConfig[]) {
      engine.truncate(context - 1);
      await engine.prefill([token]);
      const at: number[] = [];
      for await (const _ of engine.generate({ maxTokens: o.tokens + 1, quest, ...configs[config] })) at.push(performance.now());
      if (at.length < 2) throw new Error(`bench: generation stopped after ${at.length} token(s); no step to time`);
      gaps[config].push(...at.slice(1).map((t, i) => t - at[i]));
    }
  }
  return (Object.keys(configs) as ObserveConfig[]).map((config) => {
    const msPerToken = median(gaps[config]);
    return {
      mode: quest.mode,
      ...(quest.mode === 'quest' ? { budget: quest.pageBudget * o.pageSize } : {}),
      context,
      config,
      steps: gaps[config].length,
      msPerToken,
      tokensPerSecond: 1000 / msPerToken,
    };
  });
}

/**
 * BENCHMARKS.md's section on what citations and tracing cost, from the models that measured it: per model, context and
 * mode, decode speed with nothing recorded, then each addition's time per token against the configuration before it.
 */
export function renderObserveTable(models: readonly { model: string; weightType: string; observe?: readonly ObserveRun[] }[]): string {
  const measured = models.filter((m) => m.observe?.length);
  if (measured.length === 0) return '';
  const out = [
    '\n### What citations and the selection trace cost (decode, wall clock)\n',
    'The attention count behind citations is on by default; the trace of selected pages is what the extension records in ' +
      'quest mode (dense mode has none to record); trace scores add each step\'s page scores and attention per page (on ' +
      'request). Each figure is tok/s and, in brackets, the extra time per token against the column before it; ' +
      `the configurations alternate in rounds from the same cache (bench/observeCost.ts).\n`,
    table(['model', 'type', 'context', 'mode', 'budget', 'tok/s plain', '+ attention count', '+ trace', '+ trace scores']),
  ];
  for (const m of measured) {
    const runs = m.observe!;
    for (const key of [...new Set(runs.map(keyOf))]) {
      const of = (c: ObserveConfig) => runs.find((x) => keyOf(x) === key && x.config === c);
      const plain = of('plain');
      if (!plain) continue;
      const cost = (c: ObserveConfig, base: ObserveRun | undefined) => {
        const x = of(c);
        return x && base ? `${x.tokensPerSecond.toFixed(1)} (${signed(((x.msPerToken - base.msPerToken) / base.msPerToken) * 100)} %)` : '-';
      };
      out.push(row([m.model, m.weightType, plain.context, plain.mode, plain.budget ?? '-', plain.tokensPerSecond.toFixed(1), cost('attention', plain), cost('trace', of('attention')), cost('traceScores', of('trace'))]));
    }
  }
  return out.join('\n');
}

const keyOf = (x: ObserveRun) => `${x.context}|${x.mode}|${x.budget ?? ''}`;
const signed = (x: number) => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(1)}`;
