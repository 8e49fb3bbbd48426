// BENCHMARKS.md's issue-9 tables (bench/reportPeer.ts, bench/reportPipeline.ts through bench/report.ts) from
// hand-made results: the engine against llama.cpp with ratios from one run only, shares of the limit, targets met or
// missed by how much, and the pipeline's stages.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PeerDecodeRun, PeerResult } from '../../bench/peer/peerBench';
import type { PipelineResult } from '../../bench/pipelineBench';
import { renderTables } from '../../bench/report';
import type { BenchResult, DecodeRun, ModelResult } from '../../bench/results';

const model = 'synthetic Llama-3.2-1B';

function decode(mode: 'dense' | 'quest', context: number, tokensPerSecond: number, percentOfLimit: number, budget?: number): DecodeRun {
  const msPerToken = 1000 / tokensPerSecond;
  return {
    mode, ...(budget ? { budget, pageBudget: budget / 16 } : {}), context, steps: 64, msPerToken, meanMsPerToken: msPerToken, tokensPerSecond,
    traffic: { weights: 1.3e9, kv: 32768 * context, pageMeta: 0, total: 1.3e9 + 32768 * context }, limitUs: (percentOfLimit / 100) * msPerToken * 1000, percentOfLimit,
  };
}

function modelResult(context: number, fill: 'prefill' | 'kvAppend', runs: DecodeRun[], prefillMs?: number): ModelResult {
  return {
    model, shape: '16 layers', weightType: 'Q8_0', parameters: 1.2e9, fileBytes: 1.3e9, weightBytes: 1.3e9, capacity: 131152, generateMs: 1, loadMs: 1, fill, context,
    ...(prefillMs ? { prefillMs } : {}), runs,
  };
}

function peerRun(context: number, decodeTokensPerSecond: number, prefillTokensPerSecond: number, percentOfLimit: number): PeerDecodeRun {
  const promptTokens = Math.floor(context * 0.95);
  const ms = 1000 / decodeTokensPerSecond;
  return {
    context, contextSize: context, promptTokens, prefillMs: (promptTokens / prefillTokensPerSecond) * 1000, prefillTokens: promptTokens, prefillTokensPerSecond,
    firstTokenWallMs: 1, decodeMs: ms * 128, decodeSteps: 128, decodeMsPerToken: ms, decodeTokensPerSecond, decodeWallMsPerToken: ms * 1.25, decodeWallMeanMsPerToken: ms * 1.25,
    decodeLength: promptTokens + 64, traffic: { weights: 1.3e9, kv: 0, pageMeta: 0, total: 1.3e9 }, limitUs: 1, percentOfLimit, percentOfLimitWall: percentOfLimit * 0.8,
  };
}

function run(date: string, models: ModelResult[], peers?: PeerResult[], pipeline?: PipelineResult): BenchResult {
  return {
    schema: 1, suite: 'device', date, commit: 'abcdef0123456', dirty: false, command: 'node dist/bench.js',
    device: { description: 'NVIDIA H100', vendor: 'nvidia', architecture: 'hopper', isSoftware: false },
    runtime: { node: 'v20', webgpu: '0.6.2', dawnFlags: [] },
    settings: { pageSize: 16, kvType: 'f16', denseLayers: 2, aggregation: 'max', decodeTokens: 64, profileReps: 5 },
    copy: { bytes: 2 ** 30, reps: 20, wallBytesPerSecond: 8e11, kernelBytesPerSecond: 2.9e12 }, copyBytesPerSecond: 2.9e12,
    models, ...(peers ? { peers } : {}), ...(pipeline ? { pipeline } : {}), notes: [],
  };
}

const peer: PeerResult = {
  peer: 'llama.cpp', model, weightType: 'Q8_0', fileBytes: 1.3e9, weightBytes: 1.3e9, nodeLlamaCpp: '3.21.1', llamaCppRelease: 'v0.4.0', gpu: 'vulkan',
  devices: ['NVIDIA H100 80GB HBM3'],
  settings: { flashAttention: true, kvType: 'F16', gpuLayers: 'max', batchSize: 512, promptFraction: 0.95, decodeTokens: 128 },
  offloadedLayers: 17, loadMs: 1, warmupMs: 1,
  runs: [peerRun(8192, 500, 8192, 27), peerRun(32768, 344, 22400, 27.3), peerRun(131072, 143, 8800, 26.6)],
};

const stage = { buildMs: 500, prefillMs: 9000, contextTokens: 32256, firstTokenMs: 30, timeToFirstTokenMs: 9530, answerTokens: 16, decodeTokensPerSecond: 150 };
const pipeline: PipelineResult = {
  model, shape: '16 layers', weightType: 'Q8_0', tokenizer: 'p50k_base', maxContext: 32768, pageSize: 16, question: 'Where?',
  decode: { mode: 'quest', tokenBudget: 1024, denseLayers: 2, aggregation: 'sum', temperature: 0, maxAnswerTokens: 16, seed: 0 },
  workspace: { folders: ['gpu', 'extension'], files: 300, bytes: 700_000, filesInContext: 90, skipped: 210 },
  stages: [
    { stage: 'cold', loadMs: 1700, ...stage, persistMs: 1200, reusedTokens: 0, reusedFrom: 'none', prefilledTokens: 32256 },
    { stage: 'editFirst', ...stage, prefillMs: 4000, reusedTokens: 16000, reusedFrom: 'memory', prefilledTokens: 16256, editedFile: 'workspace/gpu/engine.ts', editedTokenStart: 15800 },
  ],
};

// Run A measured llama.cpp; run B (newer) re-measured the engine only. Ratios must pair A's engine with A's peer.
const runA = run('2026-11-22T10:00:00Z', [
  modelResult(8192, 'prefill', [decode('dense', 8192, 300, 17), decode('quest', 8192, 250, 11, 1024)], 2000),
  modelResult(32768, 'kvAppend', [decode('dense', 32768, 250, 21), decode('quest', 32768, 300, 30, 1024), decode('quest', 32768, 290, 29, 2048)]),
  modelResult(131072, 'kvAppend', [decode('dense', 131072, 150, 29), decode('quest', 131072, 148, 11, 1024), decode('quest', 131072, 160, 12, 2048)]),
], [peer], pipeline);
const runB = run('2026-11-22T12:00:00Z', [modelResult(32768, 'kvAppend', [decode('dense', 32768, 1000, 84), decode('quest', 32768, 2000, 90, 1024)])]);

const md = renderTables([{ file: 'b.json', result: runB }, { file: 'a.json', result: runA }]);
const line = (start: string) => {
  const found = md.split('\n').find((l) => l.startsWith(start));
  assert.ok(found, `no line starting with ${JSON.stringify(start)} in:\n${md}`);
  return found;
};

test('Quest Lens against llama.cpp: side by side, ratios over its own timers, both from the run that measured llama.cpp', () => {
  assert.match(md, /node-llama-cpp 3\.21\.1's prebuilt vulkan build \(llama\.cpp v0\.4\.0\), flash attention on, f16 KV, every layer on the GPU, batch 512/);
  assert.match(md, /\*\*synthetic Llama-3\.2-1B Q8_0\*\* \(bench\/results\/a\.json; llama\.cpp: 17 layers on NVIDIA H100 80GB HBM3\)/);
  // context | prompt | dense | Quest 1024 | llama.cpp own | wall | dense/llama | quest/llama | prefill | llama prefill | ratio
  assert.equal(line('| 32768 | 31129 |'), '| 32768 | 31129 | 250.0 | 300.0 | 344.0 | 275.2 | 0.73× | 0.87× | - | 22400 | - |');
  assert.equal(line('| 8192 | 7782 |'), '| 8192 | 7782 | 300.0 | 250.0 | 500.0 | 400.0 | 0.60× | 0.50× | 4096 | 8192 | 0.50× |');
});

test('shares of the bandwidth limit: the engine per configuration, llama.cpp by its own timers and by the wall clock', () => {
  assert.equal(line('| synthetic Llama-3.2-1B | Q8_0 | 131072 |'), `| synthetic Llama-3.2-1B | Q8_0 | 131072 | ${((1.3e9 + 32768 * 131072) / 1e6).toFixed(0)} | ${decode('dense', 131072, 150, 29).limitUs.toFixed(0)} | 29 % | 11 % | 27 % | 21 % |`);
});

test('targets: met or missed, and by how much', () => {
  assert.equal(line('| dense decode ≥ 70 % of the limit at 32K |'), '| dense decode ≥ 70 % of the limit at 32K | synthetic Llama-3.2-1B Q8_0 | 21 % | no | needs 3.33× its speed |  |');
  assert.equal(line('| Quest end-to-end ≥ 2.5× dense at 128K |'), '| Quest end-to-end ≥ 2.5× dense at 128K | synthetic Llama-3.2-1B Q8_0 | 1.07× | no | needs 2.34× its speed | best budget 2048 |');
  assert.equal(line('| decode faster than llama.cpp at 32K |'), "| decode faster than llama.cpp at 32K | synthetic Llama-3.2-1B Q8_0 | 0.87× | no | needs 1.15× its speed | Quest 1024 over llama.cpp's own timers; dense 0.73× |");
  assert.equal(line('| decode faster than llama.cpp at 64K |'), "| decode faster than llama.cpp at 64K | synthetic Llama-3.2-1B Q8_0 | - | not measured | - | Quest 1024 over llama.cpp's own timers; dense - |");
  assert.equal(line('| prefill ≥ 50 % of llama.cpp\'s tok/s at 8K |'), "| prefill ≥ 50 % of llama.cpp's tok/s at 8K | synthetic Llama-3.2-1B Q8_0 | 50 % | yes | - |  |");
});

test("the extension's pipeline: one row per stage, with what was reused from where", () => {
  assert.match(md, /on a copy of this repository's gpu and extension \(300 files, 684 KiB; 90 files fit the 32768-token window, 210 left out\)/);
  assert.equal(line('| cold:'), '| cold: new engine process, nothing persisted | 1.70 | 0.50 | 9.00 | 1.20 | 32256 | 32256 | 0 (none) | 30 | 9.53 | 150.0 |');
  assert.equal(line('| after editing a file'), '| after editing a file in the middle of the context (workspace/gpu/engine.ts, from token 15800) | - | 0.50 | 4.00 | - | 32256 | 16256 | 16000 (memory) | 30 | 9.53 | 150.0 |');
});
