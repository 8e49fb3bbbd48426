// Quest recall on a real trained model: the share of each query head's true attention mass that falls on the pages
// Quest selects, by aggregation (max or sum over the query heads sharing a KV head) and page budget. Float64, CPU.
//   npx esbuild bench/questRecall.ts --bundle --platform=node --format=esm --outfile=/tmp/questRecall.mjs && \
//     node /tmp/questRecall.mjs [--model ../shared/models/stories260K.gguf] [--tokens 480] [--page-size 16]
import { parseArgs } from 'node:util';
import { readGguf, readTensorData } from '../gpu/gguf/reader';
import { readModelConfig } from '../gpu/model/config';
import { dequantizeRows } from '../gpu/quant/codec';
import { ReferenceModel } from '../gpu/reference/forward';
import { selectedMass } from '../gpu/reference/questRecall';

const { values: a } = parseArgs({
  options: {
    model: { type: 'string', default: '../shared/models/stories260K.gguf' },
    tokens: { type: 'string', default: '480' },
    'page-size': { type: 'string', default: '16' },
  },
});
const pageSize = Number(a['page-size']);
const steps = Number(a.tokens);
const budgets = [2, 4, 8].map((p) => p * pageSize);

const file = await readGguf(a.model!);
const cfg = readModelConfig(file);
const weights = new Map<string, Float64Array>();
for (const t of file.tensors) weights.set(t.name, dequantizeRows(t.type, await readTensorData(file, t), t.elements / t.dims[0], t.dims[0]));

// Sums per (aggregation, budget): selected mass over every (step, layer) whose context spans more pages than the budget.
const sums = new Map<string, { mass: number; n: number }>();
const model = new ReferenceModel(cfg, (name) => weights.get(name)!, (layer, q, keys) => {
  for (const budget of budgets) {
    if (keys.length <= budget) continue; // the budget covers the context: selection is exact
    for (const aggregation of ['max', 'sum'] as const) {
      const key = `${aggregation} ${budget}`;
      const s = sums.get(key) ?? { mass: 0, n: 0 };
      s.mass += selectedMass({ q, keys, heads: cfg.heads, kvHeads: cfg.kvHeads, headDim: cfg.headDim }, pageSize, budget / pageSize, aggregation);
      s.n++;
      sums.set(key, s);
    }
  }
});

// Greedy decoding from BOS: the queries are the model's own while it writes a story.
let token = 1;
for (let i = 0; i < steps; i++) {
  const logits = model.forward(token);
  token = logits.indexOf(Math.max(...logits));
}

console.log(`model ${a.model} (${cfg.layers} layers, ${cfg.heads}/${cfg.kvHeads} heads, head dim ${cfg.headDim}); ${steps} greedy steps from BOS; page size ${pageSize}; all layers`);
console.log('| token budget | selected mass, max | selected mass, sum | (step, layer) pairs |');
console.log('|---|---|---|---|');
for (const budget of budgets) {
  const m = sums.get(`max ${budget}`)!;
  const s = sums.get(`sum ${budget}`)!;
  console.log(`| ${budget} | ${(m.mass / m.n).toFixed(4)} | ${(s.mass / s.n).toFixed(4)} | ${m.n} |`);
}
