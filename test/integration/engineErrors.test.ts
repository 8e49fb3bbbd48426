// Bad input to the engine fails cleanly: Engine.load on truncated, corrupt or mismatched GGUF files, unsupported
// types, an absurd context or one the adapter cannot hold each rejects with an EngineError that names the file and
// the problem, within a second, without a large allocation; misuse of prefill/generate rejects with a SettingsError
// naming the setting, its value and the limit. Every case is one field away from the valid file the first test loads.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { after, before, test } from 'node:test';
import { openGpu, type Gpu } from '../../gpu/device';
import { Engine, type EngineOptions, SettingsError } from '../../gpu/engine';
import {
  EngineError, GgufError, ModelConfigError, ModelShapeError, TokenizerError, UnsupportedTensorTypeError,
} from '../../gpu/errors';
import { type GgufFile, readGguf } from '../../gpu/gguf/reader';
import { type GgufEntry, kv, writeGguf } from '../../gpu/gguf/writer';
import { GgmlType } from '../../gpu/model/ggmlTypes';
import { ROPE_MAX_POSITIONS } from '../../gpu/model/rope';
import {
  type ModelSpec, modelMetadata, modelTensors, paddedTokenizerMetadata, raw, rawGguf, realShape, testTempDir, tokenizerMetadata,
  writeModelGguf,
} from '../util/ggufFixtures';
import { sharedModelPath } from '../util/paths';

const tmp = testTempDir('quest-lens-errors-');
let gpu: Gpu;
let stories: GgufFile;
/** A small valid qwen2 model with stories260K's 512-token vocabulary: every bad file below differs from it in one thing. */
let good: string;
let small: ModelSpec;

before(async () => {
  gpu = await openGpu({
    onUncapturedError: (m) => {
      throw new Error(`uncaptured GPU error: ${m}`);
    },
  });
  stories = await readGguf(sharedModelPath('stories260K.gguf'));
  small = {
    architecture: 'qwen2', layers: 2, dim: 64, ffn: 128, heads: 4, kvHeads: 2, headDim: 16, vocab: 512, contextLength: 256,
    normEps: 1e-6, ropeTheta: 1e6, qkvBias: true, tiedEmbeddings: true, extraMetadata: tokenizerMetadata(stories),
  };
  good = join(tmp, 'good.gguf');
  await writeModelGguf(good, small);
});
after(() => gpu?.dispose());

/** Engine.load(path) must reject with `cls` naming the file and matching `problem`, within a second, with no large allocation. */
async function rejectsLoad(path: string, options: EngineOptions, cls: abstract new (...a: never[]) => EngineError, problem: RegExp): Promise<EngineError> {
  const rss0 = process.memoryUsage().rss;
  const t0 = performance.now();
  let caught: unknown;
  try {
    const engine = await Engine.load(gpu, path, options);
    engine.dispose();
  } catch (e) {
    caught = e;
  }
  const ms = performance.now() - t0;
  const grew = process.memoryUsage().rss - rss0;
  assert.ok(caught instanceof cls, `expected ${cls.name}, got ${caught instanceof Error ? `${caught.name}: ${caught.message}` : String(caught)}`);
  const e = caught as EngineError;
  assert.ok(e.message.includes(basename(path)), `the message names the file ${basename(path)}: ${e.message}`);
  // The problem is matched without the file's name, which could match it by itself.
  assert.match(e.message.replaceAll(path, '<file>').replaceAll(basename(path), '<file>'), problem);
  assert.ok(ms < 1000, `rejected after ${ms.toFixed(0)} ms (bound 1000 ms): ${e.message}`);
  assert.ok(grew < 256 << 20, `the process grew by ${(grew / 2 ** 20).toFixed(0)} MiB before rejecting: ${e.message}`);
  console.log(`${e.name} [${e.code}] after ${ms.toFixed(0)} ms: ${e.message.replaceAll(tmp, '<tmp>')}`);
  return e;
}

const writeBytes = (name: string, bytes: Uint8Array): string => {
  const path = join(tmp, name);
  writeFileSync(path, bytes);
  return path;
};

/** `spec`'s file with its metadata and tensors edited. */
async function variant(
  name: string,
  spec: ModelSpec,
  edit: {
    metadata?: (m: (readonly [string, GgufEntry])[]) => (readonly [string, GgufEntry])[];
    tensors?: (t: ReturnType<typeof modelTensors>) => ReturnType<typeof modelTensors>;
  },
): Promise<string> {
  const path = join(tmp, `${name}.gguf`);
  await writeGguf(path, { metadata: (edit.metadata ?? ((m) => m))(modelMetadata(spec)), tensors: (edit.tensors ?? ((t) => t))(modelTensors(spec, 'random')) });
  return path;
}

test('the valid file loads, prefills and generates (every case below differs from it in one thing)', async () => {
  const engine = await Engine.load(gpu, good, { maxContext: 64, kvType: 'f32' });
  try {
    await engine.prefill([1, 300, 301, 302]);
    let n = 0;
    for await (const _ of engine.generate({ maxTokens: 4 })) n++;
    assert.ok(n >= 1);
  } finally {
    engine.dispose();
  }
});

test('truncated or corrupt files: GgufError naming the file and the field', async () => {
  const bytes = readFileSync(good);
  const g = await readGguf(good);
  const last = g.tensors.reduce((a, t) => (t.offset > a.offset ? t : a));
  await rejectsLoad(writeBytes('cut-data.gguf', bytes.subarray(0, bytes.length - 100)), {}, GgufError, new RegExp(`tensor '${last.name.replace('.', '\\.')}' data .* runs past the end of the file .*truncated`));
  await rejectsLoad(writeBytes('cut-header.gguf', bytes.subarray(0, 200)), {}, GgufError, /tensor count 26: 26 tensor infos need at least 32 B each, only \d+ B remain: the file is truncated or the count is corrupt/);
  await rejectsLoad(writeBytes('empty.gguf', new Uint8Array(0)), {}, GgufError, /magic/);
  const badMagic = Uint8Array.from(bytes);
  badMagic.set(Buffer.from('GGML'), 0);
  await rejectsLoad(writeBytes('bad-magic.gguf', badMagic), {}, GgufError, /not a GGUF file: magic is 47 47 4d 4c \("GGML"\)/);
  await rejectsLoad(join(tmp, 'missing.gguf'), {}, GgufError, /cannot open the file: ENOENT/);
  await rejectsLoad(tmp, {}, GgufError, /not a regular file|cannot open/);
});

test('absurd counts and sizes: rejected from the header, before any allocation', async () => {
  const u32 = (key: string, v: number) => raw.kv(key, 4, raw.u32(v));
  const cases: [string, Uint8Array, RegExp][] = [
    ['tensor-count', rawGguf({ tensorCount: 2n ** 60n }), /absurd tensor count 1152921504606846976/],
    ['kv-count', rawGguf({ kvCount: 2n ** 40n }), /absurd metadata count 1099511627776/],
    ['string-length', rawGguf({ kvs: [concat(raw.string('general.architecture', 2n ** 62n))] }), /absurd string length 4611686018427387904 for key of metadata entry 0/],
    ['array-length', rawGguf({ kvs: [concat(raw.string('tokenizer.ggml.tokens'), raw.u32(9), raw.u32(8), raw.u64(2n ** 50n))] }), /absurd array length 1125899906842624 for 'tokenizer.ggml.tokens'/],
    ['tensor-dims', rawGguf({ kvs: [u32('general.alignment', 32)], tensors: [raw.tensor('token_embd.weight', [2n ** 40n, 2n ** 40n], 0, 0)] }), /overflow/],
    ['tensor-bytes', rawGguf({ tensors: [raw.tensor('token_embd.weight', [2 ** 20, 2 ** 20], 0, 0)] }), /runs past the end of the file/],
    ['tensor-offset', rawGguf({ tensors: [raw.tensor('token_embd.weight', [64], 0, 2n ** 50n)] }), /past the end of the file/],
  ];
  for (const [name, bytes, problem] of cases) await rejectsLoad(writeBytes(`absurd-${name}.gguf`, bytes), {}, GgufError, problem);
});

test('unknown architecture, missing or inconsistent metadata: ModelConfigError / GgufError naming the key', async () => {
  const set = (key: string, entry: GgufEntry) => (m: (readonly [string, GgufEntry])[]) => m.map(([k, e]) => [k, k === key ? entry : e] as const);
  const drop = (key: string) => (m: (readonly [string, GgufEntry])[]) => m.filter(([k]) => k !== key);
  await rejectsLoad(await variant('gemma3', small, { metadata: set('general.architecture', kv.string('gemma3')) }), {}, ModelConfigError, /architecture 'gemma3' is not supported; the engine runs llama, qwen2, qwen3/);
  await rejectsLoad(await variant('no-heads', small, { metadata: drop('qwen2.attention.head_count') }), {}, GgufError, /missing metadata key 'qwen2.attention.head_count'/);
  // A corrupt layer count must not make a list of 4e9 layers' tensors (it ran Node out of heap before the fix).
  await rejectsLoad(await variant('huge-layers', small, { metadata: set('qwen2.block_count', kv.u32(4_000_000_000)) }), {}, ModelShapeError, /qwen2.block_count is 4000000000, but the file has 26 tensors, fewer than the 12 per layer that 4000000000 layers need \(missing tensor 'blk.2.attn_norm.weight'\)/);
  await rejectsLoad(await variant('no-tokenizer', small, { metadata: (m) => m.filter(([k]) => !k.startsWith('tokenizer.')) }), {}, TokenizerError, /tokenizer\.ggml\.model/);
});

test('shape mismatches: ModelShapeError naming the tensor, its dims and the expected dims', async () => {
  // attn_k as wide as attn_q: the file says 2 KV heads but stores 4.
  const wideK = await variant('wide-k', small, { tensors: (ts) => ts.map((t) => (t.name === 'blk.1.attn_k.weight' ? { ...t, dims: [64, 64], data: new Float32Array(64 * 64) } : t)) });
  await rejectsLoad(wideK, {}, ModelShapeError, /tensor 'blk.1.attn_k.weight' has dims \[64, 64\], expected \[64, 32\]/);
  const noDown = await variant('no-ffn-down', small, { tensors: (ts) => ts.filter((t) => t.name !== 'blk.0.ffn_down.weight') });
  await rejectsLoad(noDown, {}, ModelShapeError, /missing tensor 'blk.0.ffn_down.weight' \(expected dims \[128, 64\]/);
});

/** The valid file with tensor `name`'s type id patched to `typeId`: the reader stops at the type, before its size. */
function withTensorType(file: string, name: string, typeId: number): Uint8Array {
  const bytes = Buffer.from(readFileSync(file));
  const at = bytes.indexOf(Buffer.from(name));
  assert.ok(at > 0, `tensor ${name} in ${file}`);
  const nDims = bytes.readUInt32LE(at + name.length);
  bytes.writeUInt32LE(typeId, at + name.length + 4 + 8 * nDims);
  return bytes;
}

test('an unsupported tensor type (Q5_K; Q5_0 as in Qwen2.5-Coder-0.5B Q4_K_M files) is named with the tensor and the types the engine reads', async () => {
  await rejectsLoad(writeBytes('q5k.gguf', withTensorType(good, 'blk.1.ffn_down.weight', 13)), {}, UnsupportedTensorTypeError, /tensor 'blk.1.ffn_down.weight' has type Q5_K \(13\), which the engine does not read \(it reads F32, F16, Q4_0, Q8_0, Q4_K, Q6_K, BF16\)/);
  // llama.cpp writes Q4_K tensors whose rows are not whole 256-blocks (hidden 896) as Q5_0.
  await rejectsLoad(writeBytes('q5_0.gguf', withTensorType(good, 'blk.0.attn_q.weight', 6)), {}, UnsupportedTensorTypeError, /tensor 'blk.0.attn_q.weight' has type Q5_0 \(6\)/);
});

test('bad load options: SettingsError naming the file, the option and its value', async () => {
  await rejectsLoad(good, { maxContext: 0 }, SettingsError, /maxContext \(0\) must be an integer >= 1/);
  await rejectsLoad(good, { maxContext: 100.5 }, SettingsError, /maxContext \(100.5\)/);
  await rejectsLoad(good, { maxContext: 1e12 }, SettingsError, new RegExp(`maxContext \\(1000000000000\\) .*${ROPE_MAX_POSITIONS}`));
  await rejectsLoad(good, { pageSize: 12 }, SettingsError, /pageSize \(12\) must be a power of two/);
  await rejectsLoad(good, { kvType: 'f8' as never }, SettingsError, /kvType \(f8\) must be 'f16' or 'f32'/);
  await rejectsLoad(good, { prefillRun: 0 }, SettingsError, /prefillRun \(0\) must be an integer >= 1/);
});

test('a context whose KV cache is over what the adapter allows: says how much is needed, what the adapter allows, and what fits', async () => {
  // Qwen3-0.6B's KV shape (8 KV heads of 128): 4 KiB of f32 keys per token per layer.
  const spec: ModelSpec = { ...realShape('qwen3-0.6b', 1, 512), matrixType: GgmlType.Q8_0, extraMetadata: paddedTokenizerMetadata(stories, 512) };
  const path = join(tmp, 'qwen3-shaped.gguf');
  await writeModelGguf(path, spec, 'zeros');
  const limit = gpu.summary.limits.maxStorageBufferBindingSize;
  const perToken = spec.kvHeads * spec.headDim * 4;
  const fits = Math.floor(limit / perToken / 16) * 16;
  const e = await rejectsLoad(path, { maxContext: fits + 16, kvType: 'f32' }, EngineError, /needs a KV cache of/);
  assert.equal(e.code, 'out-of-memory');
  assert.match(e.message, new RegExp(`${fits + 16} tokens`), e.message);
  assert.match(e.message, new RegExp(`allows at most ${limit} B`), e.message);
  assert.match(e.message, new RegExp(`the longest context that fits is ${fits} tokens`), e.message);
  // The context the message suggests loads.
  const engine = await Engine.load(gpu, path, { maxContext: fits, kvType: 'f32' });
  assert.equal(engine.capacity, fits);
  engine.dispose();
});

test('misuse of prefill and generate: SettingsError naming the setting, its value and the limit', async () => {
  const engine = await Engine.load(gpu, good, { maxContext: 48, kvType: 'f32' });
  try {
    const drain = async (it: AsyncGenerator<unknown>) => {
      for await (const _ of it);
    };
    await assert.rejects(drain(engine.generate({ maxTokens: 4 })), (e: unknown) => e instanceof EngineError && e.code === 'no-prompt' && /prefill/.test(e.message));
    await assert.rejects(engine.prefill([1, 512]), (e: unknown) => e instanceof SettingsError && /token 1 \(512\) is not an id in 0\.\.511/.test(e.message));
    await assert.rejects(engine.prefill([1, -1]), (e: unknown) => e instanceof SettingsError && /token 1 \(-1\)/.test(e.message));
    await assert.rejects(engine.prefill([1, 2.5]), (e: unknown) => e instanceof SettingsError && /token 1 \(2.5\)/.test(e.message));
    await assert.rejects(engine.prefill(new Array(49).fill(5)), (e: unknown) => e instanceof SettingsError && /prefill of 49 tokens after 0 exceeds the context capacity of 48 tokens/.test(e.message));
    assert.equal(engine.length, 0, 'a rejected prefill leaves the cache empty');

    await engine.prefill([1, 300, 301, 302, 303]);
    const quest = (pageBudget: number, denseLayers: number) => engine.generate({ maxTokens: 2, quest: { mode: 'quest', pageBudget, denseLayers, aggregation: 'max' } });
    await assert.rejects(drain(quest(0, 0)), (e: unknown) => e instanceof SettingsError && /pageBudget \(0\) must be an integer in 1\.\.3/.test(e.message));
    await assert.rejects(drain(quest(4, 0)), (e: unknown) => e instanceof SettingsError && /pageBudget \(4\) must be an integer in 1\.\.3/.test(e.message));
    await assert.rejects(drain(quest(2, 3)), (e: unknown) => e instanceof SettingsError && /denseLayers \(3\) must be an integer in 0\.\.2/.test(e.message));
    await assert.rejects(drain(quest(2, -1)), (e: unknown) => e instanceof SettingsError && /denseLayers \(-1\)/.test(e.message));

    // An answer that runs into the capacity stops with an error after the tokens that fit.
    engine.truncate(0);
    await engine.prefill(new Array(45).fill(7));
    const got: number[] = [];
    await assert.rejects(
      (async () => {
        for await (const t of engine.generate({ maxTokens: 10 })) got.push(t.token);
      })(),
      (e: unknown) => e instanceof SettingsError && /reached the context capacity of 48 tokens/.test(e.message),
    );
    assert.equal(got.length, 4, `tokens before the capacity error: ${got.length}`);
  } finally {
    engine.dispose();
  }
  await assert.rejects(engine.prefill([1]), (e: unknown) => e instanceof EngineError && e.code === 'disposed');
});

function concat(...parts: Uint8Array[]): Uint8Array {
  return Buffer.concat(parts);
}
