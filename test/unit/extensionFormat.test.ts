// extension/format.ts (status bar and notification numbers) and status/tokenEstimate.ts (the workspace's size before a
// model is loaded).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { countTokens } from 'gpt-tokenizer/encoding/p50k_base';
import { formatBytes, formatDuration, formatRate, formatTokens, percentDone, prefillProgressText } from '../../extension/format';
import { estimateTokens, FALLBACK_TOKENS_PER_BYTE, looksBinaryByName, sampleIndices } from '../../extension/status/tokenEstimate';

test('formatTokens', () => {
  const table: Array<[number, string]> = [
    [0, '0'],
    [999, '999'],
    [1000, '1K'],
    [1234, '1.23K'],
    [12_345, '12.3K'],
    [123_456, '123K'],
    [1_234_567, '1.23M'],
    [20_000_000, '20M'],
    [Number.NaN, '?'],
  ];
  for (const [n, want] of table) assert.equal(formatTokens(n), want, String(n));
});

test('formatBytes, formatDuration, formatRate', () => {
  assert.equal(formatBytes(512), '512 B');
  assert.equal(formatBytes(1536), '1.5 KiB');
  assert.equal(formatBytes(12 * 2 ** 20), '12 MiB');
  assert.equal(formatBytes(3.25 * 2 ** 30), '3.3 GiB');
  assert.equal(formatDuration(0.4), '0 s');
  assert.equal(formatDuration(59), '59 s');
  assert.equal(formatDuration(60), '1 min');
  assert.equal(formatDuration(125), '2 min 5 s');
  assert.equal(formatDuration(7300), '2 h 1 min');
  assert.equal(formatRate(1234.5), '1,235');
  assert.equal(formatRate(12.34), '12.3');
  assert.equal(formatRate(0.42), '0.42');
});

test('prefill progress: percent, tokens/s and time left', () => {
  assert.equal(percentDone(0, 0), 0);
  assert.equal(percentDone(1, 3), 33);
  assert.equal(percentDone(5, 3), 100);
  assert.equal(prefillProgressText({ tokensDone: 2048, tokens: 10_240, tokensPerSecond: 512 }), '20% of 10.2K tokens · 512 tokens/s · about 16 s left');
  assert.equal(prefillProgressText({ tokensDone: 0, tokens: 4096, tokensPerSecond: 0 }), '0% of 4.1K tokens');
  assert.equal(prefillProgressText({ tokensDone: 4096, tokens: 4096, tokensPerSecond: 1000 }), '100% of 4.1K tokens · 1,000 tokens/s');
});

test('looksBinaryByName: extensions the reader skips as binary', () => {
  for (const p of ['a.png', 'x/y.PNG', 'm.gguf', 'lib.so', 'f.woff2', 'a.tar.gz']) assert.equal(looksBinaryByName(p), true, p);
  for (const p of ['a.ts', 'Makefile', '.gitignore', 'dir.png/file', 'x.svg', 'README']) assert.equal(looksBinaryByName(p), false, p);
});

test('sampleIndices: evenly spread and deterministic', () => {
  assert.deepEqual(sampleIndices(3, 5), [0, 1, 2]);
  assert.deepEqual(sampleIndices(10, 4), [1, 3, 6, 8]);
  assert.deepEqual(sampleIndices(0, 4), []);
  const many = sampleIndices(100_000, 48);
  assert.equal(new Set(many).size, 48);
  assert.ok(many.every((i, k) => i >= 0 && i < 100_000 && (k === 0 || i > many[k - 1])));
});

test('estimateTokens: counted files as counted, the rest scaled by the sample\'s tokens per byte', () => {
  const text = 'export function retry(times: number) {\n  return times * 2;\n}\n';
  const tokens = countTokens(text);
  const bytes = Buffer.byteLength(text);
  // Two files of this text counted, two more of 10x its size scaled.
  const e = estimateTokens([bytes, bytes, 10 * bytes, 10 * bytes], [{ bytes, tokens }, { bytes, tokens }], false);
  assert.equal(e.tokens, Math.round(2 * tokens + 20 * bytes * (tokens / bytes)));
  assert.equal(e.tokens, 22 * tokens);
  assert.deepEqual([e.files, e.sampled, e.truncated], [4, 2, false]);
  // Nothing counted: the fallback ratio.
  const f = estimateTokens([1000, 3000], [], true);
  assert.deepEqual([f.tokens, f.tokensPerByte, f.truncated], [4000 * FALLBACK_TOKENS_PER_BYTE, FALLBACK_TOKENS_PER_BYTE, true]);
  assert.equal(estimateTokens([], [], false).tokens, 0);
});
