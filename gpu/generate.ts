// `quest-lens generate`: the engine from the command line. Only the generated text goes to stdout; load time,
// prefill and decode speed go to stderr. Without --model it uses the built-in model (gpu/modelChoice.ts).
import { writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { integerFlag as int, numberFlag as num } from './cliArgs';
import { openGpu } from './device';
import { Engine } from './engine';
import { modelOrBuiltin, pageSizeFlag } from './modelChoice';
import type { QuestSettings } from './forward/forward';
import { resolveDenseLayers } from './session/decodeSettings';
import { TextStreamDecoder } from './tokenizer/streamDecoder';
import type { SelectionTrace, TraceStep } from './trace';

export const generateUsage = `usage: quest-lens generate [--model FILE] [--prompt TEXT] [--max-tokens N]
                           [--greedy | --temperature T [--top-k K] [--top-p P] --seed S]
                           [--mode dense|quest] [--budget TOKENS] [--page-size P] [--dense-layers L]
                           [--aggregation max|sum] [--context N] [--trace FILE [--trace-scores]]`;

export async function generate(argv: string[]): Promise<number> {
  const { values: a } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string' },
      prompt: { type: 'string', default: '' },
      'max-tokens': { type: 'string', default: '128' },
      greedy: { type: 'boolean', default: false },
      temperature: { type: 'string' },
      'top-k': { type: 'string', default: '40' },
      'top-p': { type: 'string', default: '0.95' },
      seed: { type: 'string', default: '0' },
      mode: { type: 'string', default: 'dense' },
      budget: { type: 'string', default: '1024' },
      'page-size': { type: 'string' },
      // Absent: the model's recommendation (questlens.dense_layers), else 2.
      'dense-layers': { type: 'string' },
      aggregation: { type: 'string', default: 'sum' },
      context: { type: 'string' },
      trace: { type: 'string' },
      'trace-scores': { type: 'boolean', default: false },
    },
  });
  const model = modelOrBuiltin('generate', a.model, __dirname);
  if (typeof model === 'string') {
    console.error(model);
    return 2;
  }
  for (const line of model.notice) console.error(`[quest-lens] ${line}`);
  if (a.mode !== 'dense' && a.mode !== 'quest') throw new Error(`--mode must be dense or quest, got '${a.mode}'`);
  if (a.aggregation !== 'max' && a.aggregation !== 'sum') throw new Error(`--aggregation must be max or sum, got '${a.aggregation}'`);
  if (a.greedy && a.temperature !== undefined) throw new Error('--greedy and --temperature exclude each other');
  if (a['trace-scores'] && a.trace === undefined) throw new Error('--trace-scores adds to the trace: give --trace FILE too');
  const budget = int('budget', a.budget);
  const maxTokens = int('max-tokens', a['max-tokens']);

  const gpu = await openGpu();
  try {
    const t0 = performance.now();
    const engine = await Engine.load(gpu, model.path, {
      pageSize: pageSizeFlag(a['page-size']),
      ...(a.context !== undefined ? { maxContext: int('context', a.context) } : {}),
    });
    const loadMs = performance.now() - t0;
    const pageSize = engine.info.kv.pageSize;
    const tok = engine.tokenizer;
    const prompt = tok.encode(a.prompt, { addBos: tok.addBos, parseSpecial: true });
    if (prompt.length === 0) throw new Error('the prompt is empty and the model adds no BOS token: give --prompt');
    if (budget < pageSize) throw new Error(`--budget (${budget}) must be at least one page (--page-size ${pageSize})`);
    const quest: QuestSettings = {
      mode: a.mode,
      // The budget counts tokens; pages are whole, the last (partial) page included. Clamped to the cache's pages.
      pageBudget: Math.min(Math.floor(budget / pageSize), engine.info.kv.maxPages),
      denseLayers: resolveDenseLayers(
        a['dense-layers'] === undefined ? undefined : int('dense-layers', a['dense-layers']),
        engine.info.config.recommendedDenseLayers,
        engine.info.config.layers,
      ),
      aggregation: a.aggregation,
    };

    const t1 = performance.now();
    await engine.prefill(prompt);
    const prefillMs = performance.now() - t1;

    const decoder = new TextStreamDecoder(tok);
    const steps: TraceStep[] = [];
    const t2 = performance.now();
    let produced = 0;
    for await (const g of engine.generate({
      maxTokens,
      quest,
      trace: a.trace !== undefined,
      traceScores: a['trace-scores'],
      ...(a.temperature !== undefined
        ? { sampling: { temperature: num('temperature', a.temperature), topK: int('top-k', a['top-k']), topP: num('top-p', a['top-p']), seed: int('seed', a.seed) } }
        : {}),
    })) {
      produced++;
      const text = decoder.push(g.token);
      process.stdout.write(text);
      steps.push({
        token: g.token,
        text: tok.decode([g.token]),
        position: g.position,
        pages: g.pages ?? [],
        ...(g.scores ? { scores: g.scores } : {}),
        ...(g.attention ? { attention: g.attention } : {}),
      });
    }
    process.stdout.write(decoder.end());
    const decodeMs = performance.now() - t2;
    if (a.trace) {
      const attention = await engine.attentionMass();
      const trace: SelectionTrace = {
        version: 1,
        model: basename(model.path),
        mode: quest.mode,
        pageSize,
        pageBudget: quest.pageBudget,
        layers: engine.info.config.layers,
        kvHeads: engine.info.config.kvHeads,
        denseLayers: quest.mode === 'quest' ? quest.denseLayers : engine.info.config.layers,
        contextTokens: prompt.length,
        promptTokens: prompt,
        steps,
        ...(attention.steps > 0 ? { attention: Array.from(attention.pages) } : {}),
      };
      writeFileSync(a.trace, JSON.stringify(trace));
    }
    const rate = (n: number, ms: number) => (ms > 0 ? (n / (ms / 1000)).toFixed(1) : '-');
    console.error(
      `\n[quest-lens] ${engine.info.name} on ${gpu.summary.description}: load ${loadMs.toFixed(0)} ms; ` +
        `prefill ${prompt.length} tokens in ${prefillMs.toFixed(0)} ms (${rate(prompt.length, prefillMs)} tok/s); ` +
        `decode ${produced} tokens in ${decodeMs.toFixed(0)} ms (${rate(produced, decodeMs)} tok/s); mode ${quest.mode}`,
    );
    engine.dispose();
    return 0;
  } finally {
    gpu.dispose();
  }
}
