// The bench's llama.cpp peer (bench/peer/) end to end on llama.cpp's prebuilt CPU build: the runner bundle
// (dist/benchPeer.mjs: run `node build.mjs` first) loads a synthetic Q4_K_M model as the engine's bench writes it,
// and its figures come from llama.cpp's own timers, counted as asked (a prompt whose last batch would be a single
// token is one shorter, or llama.cpp would time that token as a decode); traffic and limits are the GGUF's bytes.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { benchPeer, peerContexts } from '../../bench/peer/peerBench';
import { GgmlType } from '../../gpu/model/ggmlTypes';
import type { SyntheticShape } from '../../gpu/model/syntheticModel';
import { repoRoot } from '../util/paths';

const dir = mkdtempSync(join(tmpdir(), 'quest-lens-bench-peer-'));
after(() => rmSync(dir, { recursive: true, force: true }));

// Tied embeddings like the presets; GQA 8/2; K-quants need rows of 256.
const shape: SyntheticShape = {
  architecture: 'llama', name: 'peer test llama', layers: 2, dim: 256, ffn: 512, heads: 8, kvHeads: 2, headDim: 32, vocab: 700,
  contextLength: 2048, normEps: 1e-5, ropeTheta: 10000, tiedEmbeddings: true,
};

test('llama.cpp measures the synthetic GGUF at each context with its own timers, and is held to the bytes-per-token limit', async () => {
  const copyBytesPerSecond = 1e11;
  const decodeTokens = 8;
  const lines: string[] = [];
  // 271: 95 % is 257 tokens, one past two batches of 128 (and 256): the prompt is cut to 256.
  const r = await benchPeer(
    { tmpDir: dir, root: repoRoot, copyBytesPerSecond, gpu: false, runner: join(repoRoot, 'dist', 'benchPeer.mjs'), log: (l) => lines.push(l) },
    { shape, weightType: 'Q4_K_M' },
    [271, 600],
    { promptFraction: 0.95, decodeTokens, batchSize: 128, warmupContext: 300, threads: 1 },
  );
  assert.equal(r.peer, 'llama.cpp');
  assert.equal(r.gpu, false);
  assert.equal(r.settings.flashAttention, true);
  assert.deepEqual(r.runs.map((x) => [x.context, x.promptTokens, x.prefillTokens, x.decodeSteps]), [[271, 256, 256, decodeTokens], [600, 570, 570, decodeTokens]]);
  for (const x of r.runs) {
    assert.ok(x.contextSize >= x.context, `context ${x.context}: llama.cpp allocated ${x.contextSize}`);
    assert.ok(x.prefillMs > 0 && x.decodeMs > 0 && x.decodeWallMsPerToken > 0);
    // llama.cpp's own timers see only its compute: the wall clock around node-llama-cpp cannot be shorter.
    assert.ok(x.firstTokenWallMs >= x.prefillMs, `first token ${x.firstTokenWallMs} ms wall < prefill ${x.prefillMs} ms`);
    assert.ok(x.decodeWallMeanMsPerToken * decodeTokens >= x.decodeMs * 0.99, `decode wall ${x.decodeWallMeanMsPerToken} ms/token < own ${x.decodeMsPerToken}`);
    assert.equal(x.decodeLength, x.promptTokens + decodeTokens / 2);
    // Weights: every tensor of the file (the tied token_embd is the LM head); K and V: f16 rows of every layer.
    assert.equal(x.traffic.weights, r.weightBytes);
    assert.equal(x.traffic.kv, 2 * shape.layers * shape.kvHeads * shape.headDim * 2 * x.decodeLength);
    assert.equal(x.traffic.pageMeta, 0);
    assert.ok(Math.abs(x.limitUs - (x.traffic.total / copyBytesPerSecond) * 1e6) < 1e-9);
    assert.ok(Math.abs(x.percentOfLimit - (x.limitUs / (x.decodeMsPerToken * 1000)) * 100) < 1e-9);
  }
  assert.ok(r.weightBytes > 0 && r.weightBytes < r.fileBytes);
  assert.ok(lines.some((l) => l.includes('warm-up at 300')), lines.join('\n'));
});

test('the peer runs once per model, after its last picked plan, at the contexts of all its picked plans', () => {
  const other = { ...shape, name: 'other' };
  const plans = [
    { shape, weightType: GgmlType.Q8_0, contexts: [4096, 8192] },
    { shape, weightType: 'Q4_K_M' as const, contexts: [4096] },
    { shape, weightType: GgmlType.Q8_0, contexts: [8192, 32768] },
    { shape: other, weightType: GgmlType.Q8_0, contexts: [4096] },
  ];
  assert.deepEqual([...peerContexts(plans, [0, 1, 2, 3]).entries()], [[2, [4096, 8192, 32768]], [1, [4096]], [3, [4096]]]);
  assert.deepEqual([...peerContexts(plans, [0, 3]).entries()], [[0, [4096, 8192]], [3, [4096]]]);
});

test('a missing runner bundle is named with the command that builds it', async () => {
  await assert.rejects(
    benchPeer({ tmpDir: dir, root: repoRoot, copyBytesPerSecond: 1, gpu: false, runner: join(dir, 'nope.mjs'), log: () => {} }, { shape, weightType: GgmlType.Q8_0 }, [300], {
      promptFraction: 0.95, decodeTokens: 2, batchSize: 128, warmupContext: 300,
    }),
    /runner .*nope\.mjs does not exist: run `node build\.mjs`/,
  );
});
