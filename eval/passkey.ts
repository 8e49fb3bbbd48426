// `npm run eval`: Quest's passkey retrieval (the protocol of the Quest paper's Table 1, from Landmark Attention):
// a 5-digit pass key hidden at a random depth in long filler text, then the question, decoded token by token. Dense
// against Quest at several token budgets, per context length, through the WebGPU engine. Runs on any GGUF model; the
// table names the model it came from.
//   npm run eval -- --model FILE [--lengths 2048,8192] [--budgets 64,128,256,512] [--iterations 10]
//                     [--page-size 16] [--dense-layers 2] [--aggregation sum] [--seed 1]
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { openGpu } from '../gpu/device';
import { Engine } from '../gpu/engine';
import type { QuestSettings } from '../gpu/forward/forward';

const intro = 'There is an important info hidden inside a lot of irrelevant text. Find it and memorize it. I will quiz you about the important information there.\n';
const filler = 'The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again. ';
const question = '\nWhat is the pass key? The pass key is';

const { values: a } = parseArgs({
  options: {
    model: { type: 'string' },
    lengths: { type: 'string', default: '1024,2048' },
    budgets: { type: 'string', default: '64,128,256,512' },
    iterations: { type: 'string', default: '10' },
    'page-size': { type: 'string', default: '16' },
    'dense-layers': { type: 'string', default: '2' },
    aggregation: { type: 'string', default: 'sum' },
    seed: { type: 'string', default: '1' },
  },
});
if (!a.model) {
  console.error('usage: npm run eval -- --model FILE [--lengths 1024,2048] [--budgets 64,128,256,512] [--iterations 10]');
  process.exit(2);
}
const list = (s: string) => s.split(',').map((x) => Number(x.trim()));
const lengths = list(a.lengths!);
const budgets = list(a.budgets!);
const iterations = Number(a.iterations);
const pageSize = Number(a['page-size']);
if (a.aggregation !== 'max' && a.aggregation !== 'sum') throw new Error(`--aggregation must be max or sum, got '${a.aggregation}'`);
const aggregation: 'max' | 'sum' = a.aggregation;

// A small seeded generator: the same seed gives the same keys and depths on every machine.
let state = Number(a.seed) >>> 0 || 1;
const random = () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32);

const gpu = await openGpu();
const engine = await Engine.load(gpu, a.model, { pageSize, maxContext: Math.max(...lengths) + 64 });
const tok = engine.tokenizer;
const fillerTokens = tok.encode(filler).length;

/** The prompt of about `length` tokens with `key` at `depth` (0..1) of the filler. */
function prompt(length: number, key: string, depth: number): number[] {
  const needle = ` The pass key is ${key}. Remember it. ${key} is the pass key. `;
  const fixed = tok.encode(intro + needle + question).length + 1;
  const repeats = Math.max(1, Math.floor((length - fixed) / fillerTokens));
  const before = Math.round(repeats * depth);
  const text = intro + filler.repeat(before) + needle + filler.repeat(repeats - before) + question;
  return tok.encode(text, { addBos: tok.addBos });
}

async function answer(ids: number[], quest: QuestSettings): Promise<string> {
  engine.truncate(0);
  await engine.prefill(ids);
  const out: number[] = [];
  for await (const t of engine.generate({ maxTokens: 8, quest })) out.push(t.token);
  return tok.decode(out);
}

const configs: { name: string; quest: QuestSettings }[] = [
  { name: 'dense', quest: { mode: 'dense', pageBudget: 1, denseLayers: 0, aggregation } },
  ...budgets.map((b) => ({
    name: `quest ${b}`,
    quest: { mode: 'quest' as const, pageBudget: Math.max(1, Math.floor(b / pageSize)), denseLayers: Math.min(Number(a['dense-layers']), engine.info.config.layers), aggregation },
  })),
];
const rows: string[] = [];
for (const length of lengths) {
  const correct = new Map<string, number>(configs.map((c) => [c.name, 0]));
  for (let i = 0; i < iterations; i++) {
    const key = String(10000 + Math.floor(random() * 90000));
    const ids = prompt(length, key, random());
    for (const c of configs) if ((await answer(ids, c.quest)).includes(key)) correct.set(c.name, correct.get(c.name)! + 1);
  }
  rows.push(`| ${length} | ${configs.map((c) => `${Math.round((100 * correct.get(c.name)!) / iterations)}%`).join(' | ')} |`);
  console.error(`[eval] ${length} tokens done`);
}
console.log(`Passkey retrieval, ${basename(a.model)} on ${gpu.summary.description}; ${iterations} keys per length, random depths (seed ${a.seed});`);
console.log(`page size ${pageSize}, first ${configs[1]?.quest.denseLayers ?? 0} layers dense in quest mode, aggregation ${aggregation}.\n`);
console.log(`| context | ${configs.map((c) => c.name).join(' | ')} |`);
console.log(`|---|${configs.map(() => '---').join('|')}|`);
for (const r of rows) console.log(r);
engine.dispose();
gpu.dispose();
