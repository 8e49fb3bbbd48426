// The llama.cpp peer, run as a child process by bench/peer/llamaCpp.ts (bundled to dist/benchPeer.mjs with
// node-llama-cpp left external: an ESM package with native addons that finds its prebuilt binaries beside itself).
// Reads a LlamaCppRequest as JSON on stdin; prints progress on stderr and one line `RESULT <LlamaCppRun JSON>`.
//
// Method (../shared/docs/peers.md §4): one model load with every layer on the GPU; an untimed warm-up run compiles
// the Vulkan pipelines; then per context, in a fresh llama.cpp context of that size with flash attention on and an f16
// KV cache: a prompt of promptFraction × context tokens, then decodeTokens greedy tokens. Prefill and decode are
// reported both from llama.cpp's own timers (llama_perf_context_print, what llama-bench shows) and from the wall clock
// around node-llama-cpp's calls.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { type LlamaModel, LlamaLogLevel, type Token, getLlama } from 'node-llama-cpp';
import type { LlamaCppContextRun, LlamaCppRequest, LlamaCppRun } from './peerTypes';

const perfLines: string[] = [];
const log = (m: string) => process.stderr.write(`[llama.cpp peer] ${m}\n`);

async function main(): Promise<LlamaCppRun> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  const req = JSON.parse(Buffer.concat(chunks).toString('utf8')) as LlamaCppRequest;
  const llama = await getLlama({
    gpu: req.gpu,
    build: 'never',
    usePrebuiltBinaries: true,
    skipDownload: true,
    progressLogs: false,
    // Info level: llama_perf_context_print logs at info. Everything else of info and below is dropped.
    logLevel: LlamaLogLevel.info,
    logger: (level, message) => {
      if (message.includes('llama_perf_context_print')) perfLines.push(message);
      else if (level === LlamaLogLevel.error || level === LlamaLogLevel.fatal || level === LlamaLogLevel.warn) log(`${level}: ${message.trim()}`);
    },
  });
  if (llama.gpu !== req.gpu) throw new Error(`node-llama-cpp loaded the '${llama.gpu}' backend, '${req.gpu}' was asked for`);
  const devices = req.gpu ? await llama.getGpuDeviceNames() : [];
  log(`node-llama-cpp ${packageVersion()} (llama.cpp ${llama.llamaCppRelease.release}), backend ${llama.gpu || 'cpu'}${devices.length ? `: ${devices.join(', ')}` : ''}`);
  let t0 = performance.now();
  const model = await llama.loadModel({ modelPath: req.model, gpuLayers: req.gpu ? 'max' : 0 });
  const loadMs = performance.now() - t0;
  log(`model loaded in ${(loadMs / 1000).toFixed(2)} s (${model.gpuLayers} layers on the GPU)`);
  // llama.cpp's Vulkan backend skips CPU devices (lavapipe): then nothing is offloaded and the figures would be the CPU's.
  if (req.gpu && (devices.length === 0 || model.gpuLayers === 0)) {
    throw new Error(`llama.cpp's ${req.gpu} backend found no GPU (devices: ${JSON.stringify(devices)}, ${model.gpuLayers} layers offloaded)`);
  }
  t0 = performance.now();
  await measure(model, req, req.warmupContext, Math.min(16, req.decodeTokens));
  const warmupMs = performance.now() - t0;
  log(`warm-up at ${req.warmupContext} in ${(warmupMs / 1000).toFixed(1)} s`);
  const runs: LlamaCppContextRun[] = [];
  for (const context of req.contexts) {
    const r = await measure(model, req, context, req.decodeTokens);
    log(
      `context ${context}: prefill ${r.promptTokens} tokens ${r.prefillTokensPerSecond.toFixed(0)} tok/s (first token ${r.firstTokenWallMs.toFixed(0)} ms wall); ` +
        `decode ${r.decodeMsPerToken.toFixed(3)} ms/token (${r.decodeWallMsPerToken.toFixed(3)} wall)`,
    );
    runs.push(r);
  }
  await model.dispose();
  return {
    nodeLlamaCpp: packageVersion(),
    llamaCppRelease: llama.llamaCppRelease.release,
    gpu: llama.gpu,
    devices,
    settings: {
      flashAttention: true,
      kvType: 'F16',
      gpuLayers: req.gpu ? 'max' : 0,
      batchSize: req.batchSize,
      promptFraction: req.promptFraction,
      decodeTokens: req.decodeTokens,
      ...(req.threads !== undefined ? { threads: req.threads } : {}),
    },
    offloadedLayers: model.gpuLayers,
    loadMs,
    warmupMs,
    runs,
  };
}

/** One prompt of promptFraction × context tokens and `steps` greedy tokens in a fresh context of `context` tokens. */
async function measure(model: LlamaModel, req: LlamaCppRequest, context: number, steps: number): Promise<LlamaCppContextRun> {
  const prompt = promptTokens(Math.floor(context * req.promptFraction), req.batchSize);
  if (prompt.length + steps > context) throw new Error(`llama.cpp peer: a prompt of ${prompt.length} and ${steps} decoded tokens do not fit a context of ${context}`);
  const ctx = await model.createContext({
    contextSize: context,
    batchSize: req.batchSize,
    flashAttention: true,
    performanceTracking: true,
    ...(req.threads !== undefined ? { threads: req.threads } : {}),
  });
  try {
    const sequence = ctx.getSequence();
    const at: number[] = [];
    const t0 = performance.now();
    // Greedy; each token after the first is one single-token llama_decode. An end-of-generation token (random weights
    // pick one now and then) is yielded and fed back like any other: only speed is measured.
    const it = sequence.evaluate(prompt, { temperature: 0, yieldEogToken: true });
    for (let i = 0; i <= steps; i++) {
      const r = await it.next();
      if (r.done) throw new Error(`llama.cpp peer: generation ended after ${i} tokens`);
      at.push(performance.now());
    }
    await it.return();
    const timers = await readTimers(ctx);
    if (timers.prefillTokens !== prompt.length || timers.decodeSteps !== steps) {
      throw new Error(`llama.cpp peer: its timers counted ${timers.prefillTokens} prompt tokens and ${timers.decodeSteps} decodes, expected ${prompt.length} and ${steps}`);
    }
    const gaps = at.slice(1).map((t, i) => t - at[i]);
    return {
      context,
      contextSize: ctx.contextSize,
      promptTokens: prompt.length,
      prefillMs: timers.prefillMs,
      prefillTokens: timers.prefillTokens,
      prefillTokensPerSecond: timers.prefillTokens / (timers.prefillMs / 1000),
      firstTokenWallMs: at[0] - t0,
      decodeMs: timers.decodeMs,
      decodeSteps: timers.decodeSteps,
      decodeMsPerToken: timers.decodeMs / timers.decodeSteps,
      decodeTokensPerSecond: timers.decodeSteps / (timers.decodeMs / 1000),
      decodeWallMsPerToken: median(gaps),
      decodeWallMeanMsPerToken: (at[steps] - at[0]) / steps,
    };
  } finally {
    await ctx.dispose();
  }
}

/**
 * llama_perf_context_print's prompt-eval and eval lines (it resets the timers after printing). The lines arrive through
 * the addon's log queue, so they are waited for.
 */
async function readTimers(ctx: { printTimings(): Promise<void> }): Promise<{ prefillMs: number; prefillTokens: number; decodeMs: number; decodeSteps: number }> {
  perfLines.length = 0;
  await ctx.printTimings();
  let prompt: RegExpExecArray | null = null;
  let decode: RegExpExecArray | null = null;
  for (const t0 = performance.now(); performance.now() - t0 < 5000; await new Promise((r) => setTimeout(r, 10))) {
    const text = perfLines.join('\n');
    prompt = /prompt eval time =\s*([\d.]+) ms \/\s*(\d+) tokens/.exec(text);
    decode = /\s eval time =\s*([\d.]+) ms \/\s*(\d+) runs/.exec(text.replace(/prompt eval time/g, ''));
    if (prompt && decode) break;
  }
  if (!prompt || !decode) throw new Error(`llama.cpp peer: llama_perf_context_print gave no prompt eval / eval lines: ${JSON.stringify(perfLines)}`);
  return { prefillMs: Number(prompt[1]), prefillTokens: Number(prompt[2]), decodeMs: Number(decode[1]), decodeSteps: Number(decode[2]) };
}

/**
 * `n` byte tokens (ids 0-255: normal tokens in every synthetic vocabulary), one less when the last batch would hold a
 * single token: llama.cpp times a one-token batch as a decode, not as prompt eval.
 */
function promptTokens(n: number, batchSize: number): Token[] {
  const length = n % batchSize === 1 ? n - 1 : n;
  return Array.from({ length }, (_, i) => ((i * 167 + 13) % 256) as Token);
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function packageVersion(): string {
  const entry = createRequire(import.meta.url).resolve('node-llama-cpp');
  return (JSON.parse(readFileSync(join(dirname(entry), '..', 'package.json'), 'utf8')) as { version: string }).version;
}

main().then(
  (result) => process.stdout.write(`RESULT ${JSON.stringify(result)}\n`, () => process.exit(0)),
  (e) => {
    process.stderr.write(`[llama.cpp peer] failed: ${e instanceof Error ? e.stack : e}\n`);
    process.exit(1);
  },
);
