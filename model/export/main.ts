// `export-model`: a trainer checkpoint folder → the default model's GGUF.
//   npx esbuild model/export/main.ts --bundle --platform=node --format=esm --outfile=out/model/export.mjs
//   node out/model/export.mjs CHECKPOINT_DIR OUT.gguf [--plan mixed|q8|f32] [--max-bytes N] [--kv-heads N] [--rope-scale S]
import { parseArgs } from 'node:util';
import { integerFlag, numberFlag } from '../../gpu/cliArgs';
import { readCheckpoint } from './checkpoint';
import { MAX_MODEL_BYTES, exportGguf, quantPlans } from './ggufExport';

const { values: a, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    plan: { type: 'string', default: 'mixed' },
    'max-bytes': { type: 'string', default: String(MAX_MODEL_BYTES) },
    name: { type: 'string', default: 'Quest Lens default' },
    'kv-heads': { type: 'string' },
    'rope-scale': { type: 'string' },
  },
});
if (positionals.length !== 2 || !quantPlans[a.plan!]) {
  console.error(`usage: node out/model/export.mjs CHECKPOINT_DIR OUT.gguf [--plan ${Object.keys(quantPlans).join('|')}] [--max-bytes N] [--kv-heads N] [--rope-scale S]`);
  process.exit(2);
}
const ckpt = readCheckpoint(positionals[0]);
const kvHeads = a['kv-heads'] === undefined ? undefined : integerFlag('kv-heads', a['kv-heads'], 1);
const ropeScale = a['rope-scale'] === undefined ? undefined : numberFlag('rope-scale', a['rope-scale']);
const report = await exportGguf(ckpt, positionals[1], { plan: quantPlans[a.plan!], maxBytes: Number(a['max-bytes']), name: a.name!, kvHeads, ropeScale });
for (const t of report.tensors) console.log(`${t.name.padEnd(28)} ${t.type.padEnd(5)} ${String(t.bytes).padStart(10)} B  rel. error ${t.relativeError.toExponential(2)}`);
console.log(`${report.path}: ${report.fileBytes} bytes (${(report.fileBytes / 2 ** 20).toFixed(2)} MiB), plan ${a.plan}`);
