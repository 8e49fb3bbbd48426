// `quest-lens selftest` (`npm run selftest`): the engine end to end on a model the project generates itself, no
// trained model needed: a small Llama-shaped GGUF with seeded random Q8_0 weights, loaded,
// prefilled and decoded dense and with Quest. It checks what must hold on any adapter: Quest with a budget covering
// every page decodes exactly as dense, and a small budget reads at most pageBudget pages, the last page always.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openGpu } from './device';
import { Engine, type GeneratedToken, type GenerateOptions } from './engine';
import { GgmlType } from './model/ggmlTypes';
import { type SyntheticShape, writeSyntheticModel } from './model/syntheticModel';

const shape: SyntheticShape = {
  architecture: 'llama',
  name: 'quest-lens selftest',
  layers: 4,
  dim: 256,
  ffn: 768,
  heads: 8,
  kvHeads: 2,
  headDim: 32,
  vocab: 257,
  contextLength: 4096,
  normEps: 1e-5,
  ropeTheta: 10000,
  tiedEmbeddings: true,
};

export async function selftest(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'quest-lens-selftest-'));
  const gpu = await openGpu();
  try {
    const model = join(dir, 'selftest.gguf');
    const t0 = performance.now();
    const written = await writeSyntheticModel(model, { shape, weightType: GgmlType.Q8_0, seed: 7 });
    const engine = await Engine.load(gpu, model, { maxContext: 2048 });
    const loadMs = performance.now() - t0;
    // A prompt of about 500 byte tokens: ~31 pages of 16.
    const prompt = engine.tokenizer.encode('Quest reads only the pages that matter. '.repeat(12));
    const t1 = performance.now();
    await engine.prefill(prompt);
    const prefillMs = performance.now() - t1;

    const run = async (o: GenerateOptions): Promise<{ tokens: GeneratedToken[]; ms: number }> => {
      // Each run starts from the same prompt: the logits of its last token choose the first answer token.
      engine.truncate(0);
      await engine.prefill(prompt);
      const t = performance.now();
      const tokens: GeneratedToken[] = [];
      for await (const g of engine.generate(o)) tokens.push(g);
      return { tokens, ms: performance.now() - t };
    };
    const steps = 24;
    const pages = engine.info.kv.maxPages;
    const dense = await run({ maxTokens: steps });
    const full = await run({ maxTokens: steps, quest: { mode: 'quest', pageBudget: pages, denseLayers: 1, aggregation: 'sum' } });
    const pageBudget = 4;
    const sparse = await run({ maxTokens: steps, quest: { mode: 'quest', pageBudget, denseLayers: 1, aggregation: 'sum' }, trace: true });

    const failures: string[] = [];
    const ids = (r: { tokens: GeneratedToken[] }) => r.tokens.map((t) => t.token).join(',');
    if (ids(full) !== ids(dense)) failures.push(`quest with every page (${pages}) decoded ${ids(full)}, dense ${ids(dense)}`);
    for (const step of sparse.tokens.slice(1)) {
      const last = Math.floor(step.position / engine.info.kv.pageSize);
      for (const [layer, heads] of (step.pages ?? []).entries()) {
        for (const read of heads) {
          if (layer === 0 ? read.length !== 0 : read.length !== pageBudget || read.at(-1) !== last) {
            failures.push(`step at ${step.position}, layer ${layer}: read pages ${read.join(',')} (budget ${pageBudget}, last page ${last})`);
          }
        }
      }
    }
    const rate = (n: number, ms: number) => `${(n / (ms / 1000)).toFixed(1)} tok/s`;
    console.log(
      [
        `adapter        ${gpu.summary.description}${gpu.summary.isSoftware ? ' (software: correctness only, not speed)' : ''}`,
        `model          ${shape.layers} layers, ${shape.dim} wide, ${shape.heads}/${shape.kvHeads} heads, Q8_0, ${(written.fileSize / 2 ** 20).toFixed(1)} MiB, random weights (seed 7)`,
        `load           ${loadMs.toFixed(0)} ms (write + load)`,
        `prefill        ${prompt.length} tokens, ${rate(prompt.length, prefillMs)}`,
        `decode dense   ${steps} tokens, ${rate(steps, dense.ms)}`,
        `decode quest   ${steps} tokens at ${pageBudget} of ${Math.ceil(prompt.length / 16)} pages, ${rate(steps, sparse.ms)}`,
        `quest = dense  ${ids(full) === ids(dense) ? 'yes' : 'NO'} (budget covering every page)`,
        `selection      ${failures.length ? `${failures.length} problems` : `every sparse step read ${pageBudget} pages per KV head, the last page included`}`,
      ].join('\n'),
    );
    for (const f of failures.slice(0, 10)) console.error(`selftest: ${f}`);
    engine.dispose();
    return failures.length ? 1 : 0;
  } finally {
    gpu.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}
