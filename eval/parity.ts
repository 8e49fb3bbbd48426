// `node dist/eval.mjs parity`: the engine's side of the PyTorch parity check (issue 10: the exported model gives the
// same next-token probabilities in the engine as in PyTorch). Fixed prompts in the default model's format, each
// prefilled and decoded greedily (dense); at every step the logits the token was chosen from are written to a JSON
// file, which model/train/parity.py reads to run PyTorch on the same tokens (teacher forced) from the same GGUF.
// The float64 reference and llama.cpp are compared in CI (test/integration/modelExport.test.ts); this is the one
// comparison with the trainer's own model code.
import { statSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { commit, fileSha256 } from '../bench/provenance';
import type { Gpu } from '../gpu/device';
import { Engine } from '../gpu/engine';
import type { KvType } from '../gpu/kv/layout';
import { questionPart } from '../model/corpus/promptFormat';
import { passkeyPrompt } from './passkey';

/** Identifies the file parity.py reads. */
export const parityFormat = 'quest-lens-parity-1';

/**
 * The small prompt CI also decodes with llama.cpp (test/integration/modelExport.test.ts): one file in the corpus's
 * framing, then a definition question whose name-first answer is a dozen tokens long.
 */
export const smallParityPrompt =
  '// File: demo/src/format.ts\n' +
  "import { units } from './units';\n\n" +
  'export function formatBytes(n: number, digits = 1): string {\n' +
  '  const i = Math.min(units.length - 1, Math.floor(Math.log(n) / Math.log(1024)));\n' +
  '  return `${(n / 1024 ** i).toFixed(digits)} ${units[i]}`;\n' +
  '}\n' +
  questionPart('Where is `formatBytes` defined?');

/** A multi-file workspace (several packages' headers, as the extension packs them) and a signature question. */
const filesParityPrompt =
  '// File: left-list/package.json\n{\n  "name": "left-list",\n  "version": "2.1.0",\n  "main": "index.js",\n  "license": "MIT"\n}\n' +
  '// File: left-list/index.js\n' +
  "'use strict';\n\nconst DEFAULT_SEPARATOR = ', ';\n\n" +
  'function joinList(items, separator = DEFAULT_SEPARATOR, last = \' and \') {\n' +
  '  if (items.length < 2) return items.join(\'\');\n' +
  '  return items.slice(0, -1).join(separator) + last + items[items.length - 1];\n}\n\n' +
  'function padList(items, width) {\n  return items.map((item) => String(item).padStart(width));\n}\n\n' +
  'module.exports = { joinList, padList };\n' +
  '// File: tiny-cache/src/lru.ts\n' +
  'export interface CacheOptions {\n  readonly maxEntries: number;\n  readonly ttlMs?: number;\n}\n\n' +
  'export class LruCache<K, V> {\n  private readonly map = new Map<K, { value: V; at: number }>();\n\n' +
  '  constructor(private readonly options: CacheOptions) {}\n\n' +
  '  get(key: K, now = Date.now()): V | undefined {\n    const hit = this.map.get(key);\n' +
  '    if (!hit || (this.options.ttlMs !== undefined && now - hit.at > this.options.ttlMs)) return undefined;\n' +
  '    this.map.delete(key);\n    this.map.set(key, hit);\n    return hit.value;\n  }\n\n' +
  '  set(key: K, value: V, now = Date.now()): void {\n    this.map.delete(key);\n    this.map.set(key, { value, at: now });\n' +
  '    while (this.map.size > this.options.maxEntries) this.map.delete(this.map.keys().next().value as K);\n  }\n}\n\n' +
  'export function createCache<K, V>(maxEntries: number, ttlMs?: number): LruCache<K, V> {\n' +
  '  return new LruCache<K, V>({ maxEntries, ttlMs });\n}\n' +
  questionPart('What does `joinList` take and return?');

export interface ParityOptions {
  readonly model: string;
  readonly out: string;
  /** Greedy steps per prompt (fewer when the model ends its answer). */
  readonly steps: number;
  /** Tokens of the passkey prompt (Quest's Table 1 prompt, eval/passkey.ts). */
  readonly passkeyTokens: number;
  /** KV cache element type: f32 compares the arithmetic alone; f16 is what the product runs on a GPU. */
  readonly kvType: KvType;
}

export interface ParityStep {
  /** The greedy token chosen at this step. */
  readonly token: number;
  /** The logits it was chosen from: vocab float32 values, little-endian, base64. */
  readonly logits: string;
}

export interface ParityPrompt {
  readonly name: string;
  /** The prompt's token ids (what was prefilled). */
  readonly prompt: readonly number[];
  readonly steps: readonly ParityStep[];
}

export interface ParityFile {
  readonly format: typeof parityFormat;
  readonly date: string;
  readonly commit: string;
  readonly dirty: boolean;
  readonly device: string;
  readonly model: { readonly path: string; readonly bytes: number; readonly sha256: string };
  readonly kvType: KvType;
  readonly vocab: number;
  readonly prompts: readonly ParityPrompt[];
}

/** Prefills each fixed prompt and decodes it greedily; writes the per-step logits to `o.out`. */
export async function runParity(o: ParityOptions, gpu: Gpu, log: (line: string) => void): Promise<ParityFile> {
  const maxContext = Math.max(1024, o.passkeyTokens + o.steps);
  const engine = await Engine.load(gpu, o.model, { maxContext, kvType: o.kvType });
  const prompts: ParityPrompt[] = [];
  const vocab = engine.info.config.vocab;
  try {
    const encode = (text: string) => engine.tokenizer.encode(text, { addBos: engine.tokenizer.addBos });
    const cases: [string, number[]][] = [
      ['where-small', encode(smallParityPrompt)],
      ['signature-files', encode(filesParityPrompt)],
      // A fixed key and depth: the same prompt on every run.
      [`passkey-${o.passkeyTokens}`, passkeyPrompt(engine, o.passkeyTokens, '40917', 0.35)],
    ];
    for (const [name, prompt] of cases) {
      const t0 = performance.now();
      engine.truncate(0);
      await engine.prefill(prompt);
      const steps: ParityStep[] = [];
      // engine.logits() at a yield: the logits that token was chosen from.
      for await (const g of engine.generate({ maxTokens: o.steps, attention: false })) {
        const logits = await engine.logits();
        steps.push({ token: g.token, logits: Buffer.from(logits.buffer, logits.byteOffset, logits.byteLength).toString('base64') });
      }
      prompts.push({ name, prompt, steps });
      log(`${name}: ${prompt.length} prompt tokens, ${steps.length} steps, ${((performance.now() - t0) / 1000).toFixed(1)} s; answer ${JSON.stringify(engine.tokenizer.decode(steps.map((s) => s.token)))}`);
    }
  } finally {
    engine.dispose();
  }
  const source = commit('EVAL');
  const file: ParityFile = {
    format: parityFormat,
    date: new Date().toISOString(),
    commit: source.commit,
    dirty: source.dirty,
    device: gpu.summary.description,
    model: { path: o.model, bytes: statSync(o.model).size, sha256: await fileSha256(o.model) },
    kvType: o.kvType,
    vocab,
    prompts,
  };
  await mkdir(dirname(o.out), { recursive: true });
  await writeFile(o.out, JSON.stringify(file));
  return file;
}
