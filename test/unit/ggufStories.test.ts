// The reader on the one real model: stories260K.gguf (facts in shared/docs/models-and-tokenizers.md).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { openSync, readSync, closeSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  metaNumber, metaNumberArray, metaString, metaStringArray, readGguf, readTensorBytes, readTensorData,
} from '../../gpu/gguf/reader';
import { entriesFromFile, writeGguf } from '../../gpu/gguf/writer';
import { readModelConfig } from '../../gpu/model/config';
import { GgmlType } from '../../gpu/model/ggmlTypes';
import { testTempDir } from '../util/ggufFixtures';
import { sharedModelPath } from '../util/paths';

const path = sharedModelPath('stories260K.gguf');
const tmp = testTempDir();

test('stories260K.gguf: header facts', async () => {
  const f = await readGguf(path);
  assert.equal(f.version, 3);
  assert.equal(f.fileSize, 1185376);
  assert.equal(f.metadata.size, 19);
  assert.equal(f.tensors.length, 48);
  assert.equal(f.alignment, 32);
  assert.ok(f.tensors.every((t) => t.type === GgmlType.F32));
  assert.equal(metaString(f, 'general.architecture'), 'llama');
  assert.equal(metaNumber(f, 'llama.context_length'), 2048);
  assert.equal(metaNumber(f, 'llama.rope.dimension_count'), 8);
  assert.equal(metaString(f, 'tokenizer.ggml.model'), 'llama');
  assert.equal(f.metadataTypes.get('llama.context_length'), 'u32');
  // The vocabulary: 512 strings, f32 scores and i32 token types as typed arrays, not arrays of JS numbers.
  const tokens = metaStringArray(f, 'tokenizer.ggml.tokens');
  assert.equal(tokens.length, 512);
  assert.deepEqual([tokens[0], tokens[1], tokens[2], tokens[3], tokens[258]], ['<unk>', '<s>', '</s>', '<0x00>', '<0xFF>']);
  assert.ok(metaNumberArray(f, 'tokenizer.ggml.scores') instanceof Float32Array);
  assert.ok(metaNumberArray(f, 'tokenizer.ggml.token_type') instanceof Int32Array);
  assert.equal(metaNumberArray(f, 'tokenizer.ggml.scores').length, 512);
  assert.equal(metaNumber(f, 'tokenizer.ggml.bos_token_id'), 1);
  assert.equal(metaNumber(f, 'tokenizer.ggml.eos_token_id'), 2);
  assert.equal(metaNumber(f, 'tokenizer.ggml.unknown_token_id'), 0);
  const embd = f.tensor('token_embd.weight')!;
  assert.deepEqual(embd.dims, [64, 512]);
  assert.equal(embd.elements, 64 * 512);
  assert.equal(embd.bytes, 64 * 512 * 4);
  assert.equal(embd.offset, f.dataOffset);
  assert.deepEqual(f.tensor('blk.4.ffn_down.weight')!.dims, [172, 64]);
  assert.equal(f.tensor('nope'), undefined);
  // 260,032 parameters plus the untied copy of the classifier (token_embd = output, 32,768 floats).
  assert.equal(f.tensors.reduce((s, t) => s + t.elements, 0), 260032 + 32768);
});

test('stories260K.gguf: model config', async () => {
  const c = readModelConfig(await readGguf(path));
  assert.deepEqual(
    { ...c, rope: { ...c.rope } },
    {
      architecture: 'llama',
      name: 'llama',
      layers: 5,
      dim: 64,
      ffn: 172,
      heads: 8,
      kvHeads: 4,
      headDim: 8,
      vocab: 512,
      contextLength: 2048,
      normEps: Math.fround(1e-5),
      rope: { theta: 10000, dims: 8, style: 'normal' },
      qkvBias: false,
      qkNorm: false,
      // The file stores the classifier as its own output.weight (a bit-identical copy: see the next test), so the
      // engine loads it as an untied model; the result is the same.
      tiedEmbeddings: false,
    },
  );
});

test('stories260K.gguf: streamed tensor bytes equal a direct read, in any chunking and range', async () => {
  const f = await readGguf(path);
  const fd = openSync(path, 'r');
  try {
    for (const name of ['token_embd.weight', 'output.weight', 'blk.0.attn_q.weight', 'blk.4.ffn_norm.weight']) {
      const t = f.tensor(name)!;
      const direct = Buffer.alloc(t.bytes);
      readSync(fd, direct, 0, t.bytes, t.offset);
      for (const chunkBytes of [1, 1000, 4096, 1 << 20]) {
        if (chunkBytes === 1 && t.bytes > 5000) continue;
        const pieces: Uint8Array[] = [];
        for await (const p of readTensorBytes(f, t, { chunkBytes })) {
          assert.ok(p.length <= chunkBytes && p.length > 0);
          pieces.push(p);
        }
        assert.equal(pieces.length, Math.ceil(t.bytes / chunkBytes));
        assert.ok(Buffer.concat(pieces).equals(direct), `${name} chunkBytes ${chunkBytes}`);
      }
      const start = 13, end = Math.min(t.bytes, 3001);
      const part: Uint8Array[] = [];
      for await (const p of readTensorBytes(f, t, { start, end, chunkBytes: 512 })) part.push(p);
      assert.ok(Buffer.concat(part).equals(direct.subarray(start, end)));
    }
  } finally {
    closeSync(fd);
  }
  // token_embd and output hold the same floats (the docs' "tied classifier").
  const a = await readTensorData(f, f.tensor('token_embd.weight')!);
  const b = await readTensorData(f, f.tensor('output.weight')!);
  assert.ok(Buffer.from(a).equals(Buffer.from(b)));
  const w = new Float32Array(a.buffer);
  assert.ok(w.every(Number.isFinite) && w.some((x) => x !== 0));
});

test('stories260K.gguf: readTensorBytes rejects bad ranges and foreign tensors', async () => {
  const f = await readGguf(path);
  const t = f.tensor('output_norm.weight')!;
  const drain = async (it: AsyncIterable<Uint8Array>) => {
    for await (const _ of it);
  };
  await assert.rejects(drain(readTensorBytes(f, t, { start: 0, end: t.bytes + 1 })), /range \[0, 257\) of tensor 'output_norm.weight' must satisfy 0 <= start <= end <= 256/);
  await assert.rejects(drain(readTensorBytes(f, t, { chunkBytes: 0 })), /chunkBytes must be a positive integer, got 0/);
  await assert.rejects(drain(readTensorBytes(f, { ...t, offset: 0 })), /tensor 'output_norm.weight' is not a tensor of this file/);
});

test('stories260K.gguf: reading and re-writing it with the writer gives the identical file', async () => {
  const f = await readGguf(path);
  const out = join(tmp, 'stories-rewritten.gguf');
  await writeGguf(out, {
    metadata: entriesFromFile(f),
    tensors: f.tensors.map((t) => ({ name: t.name, type: t.type, dims: t.dims, data: readTensorBytes(f, t, { chunkBytes: 10000 }) })),
  });
  const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');
  assert.equal(sha(out), '270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d');
});
