// writer → reader round trips: every metadata value type, every tensor type the engine reads, alignment, streamed
// tensor data; the writer's own checks; and a sparse multi-GB file (offsets past 4 GiB) read with bounded memory.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, readdirSync, writeFileSync, writeSync, ftruncateSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { GgufError } from '../../gpu/errors';
import {
  type GgufValue, metaArray, metaBool, metaNumber, metaNumberArray, metaNumberArrayOr, metaNumberOr, metaString,
  metaStringArray, metaStringOr, metaValue, readGguf, readTensorBytes, readTensorData,
} from '../../gpu/gguf/reader';
import { type GgufEntry, type GgufTensorInput, entriesFromFile, kv, writeGguf } from '../../gpu/gguf/writer';
import { GgmlType, ggmlTensorBytes, ggmlTypeInfo } from '../../gpu/model/ggmlTypes';
import { raw, rawGguf, testTempDir } from '../util/ggufFixtures';
import { rng } from '../util/random';

const tmp = testTempDir();

// [key, entry written, value read back]
const cases: [string, GgufEntry, GgufValue][] = [
  ['t.u8', kv.u8(255), 255],
  ['t.i8', kv.i8(-128), -128],
  ['t.u16', kv.u16(65535), 65535],
  ['t.i16', kv.i16(-32768), -32768],
  ['t.u32', kv.u32(4294967295), 4294967295],
  ['t.i32', kv.i32(-2147483648), -2147483648],
  ['t.f32', kv.f32(1e-5), Math.fround(1e-5)],
  ['t.f32.neg', kv.f32(-0.5), -0.5],
  ['t.bool.true', kv.bool(true), true],
  ['t.bool.false', kv.bool(false), false],
  ['t.string', kv.string('héllo ✓ 你好 \u{1F600}'), 'héllo ✓ 你好 \u{1F600}'],
  ['t.string.empty', kv.string(''), ''],
  ['t.u64.safe', kv.u64(2 ** 53 - 1), 2 ** 53 - 1],
  ['t.u64.big', kv.u64((1n << 64n) - 1n), (1n << 64n) - 1n],
  ['t.i64.neg', kv.i64(-5), -5],
  ['t.i64.min', kv.i64(-(1n << 63n)), -(1n << 63n)],
  ['t.f64', kv.f64(Math.PI), Math.PI],
  ['a.u8', kv.array('u8', [0, 1, 255]), Uint8Array.of(0, 1, 255)],
  ['a.i8', kv.array('i8', Int8Array.of(-128, 0, 127)), Int8Array.of(-128, 0, 127)],
  ['a.u16', kv.array('u16', [65535, 7]), Uint16Array.of(65535, 7)],
  ['a.i16', kv.array('i16', [-32768, 32767]), Int16Array.of(-32768, 32767)],
  ['a.u32', kv.array('u32', [4294967295, 0]), Uint32Array.of(4294967295, 0)],
  ['a.i32', kv.array('i32', Int32Array.of(-1, 2, -3)), Int32Array.of(-1, 2, -3)],
  ['a.f32', kv.array('f32', [0.1, -2.5, 3e38]), Float32Array.of(0.1, -2.5, 3e38)],
  ['a.f64', kv.array('f64', Float64Array.of(1e-300, -0)), Float64Array.of(1e-300, -0)],
  ['a.u64', kv.array('u64', [1n << 63n, 5]), BigUint64Array.of(1n << 63n, 5n)],
  ['a.i64', kv.array('i64', BigInt64Array.of(-1n, 1n << 62n)), BigInt64Array.of(-1n, 1n << 62n)],
  ['a.bool', kv.array('bool', [true, false, true]), [true, false, true]],
  ['a.string', kv.array('string', ['a', '', 'Ġthe', '<0x0A>']), ['a', '', 'Ġthe', '<0x0A>']],
  ['a.empty', kv.array('f32', []), new Float32Array(0)],
  ['a.nested', kv.arrays([kv.array('u8', [1, 2]), kv.array('string', ['x']), kv.arrays([kv.array('bool', [false])])]), [Uint8Array.of(1, 2), ['x'], [[false]]]],
];

/** Random encoded bytes for a tensor: any bytes are a valid encoding for the round trip. */
function tensorOf(name: string, type: GgmlType, dims: number[], seed: number, as: 'view' | 'pieces' | 'async'): GgufTensorInput & { bytes: Uint8Array } {
  const next = rng(seed);
  const bytes = new Uint8Array(ggmlTensorBytes(type, dims.reduce((a, b) => a * b, 1)));
  for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(next() * 256);
  const cut = (n: number) => Array.from({ length: Math.ceil(bytes.length / n) }, (_, i) => bytes.subarray(i * n, (i + 1) * n));
  const data = as === 'view' ? bytes : as === 'pieces' ? cut(7) : (async function* () { yield* cut(1000); })();
  return { name, type, dims, data, bytes };
}

const makeTensors = () => [
  tensorOf('f32.1d', GgmlType.F32, [17], 1, 'view'),
  tensorOf('f32.4d', GgmlType.F32, [3, 2, 2, 5], 2, 'pieces'),
  tensorOf('f16', GgmlType.F16, [15, 3], 3, 'async'),
  tensorOf('bf16', GgmlType.BF16, [61], 4, 'view'),
  tensorOf('q4_0', GgmlType.Q4_0, [64, 3], 5, 'pieces'),
  tensorOf('q8_0', GgmlType.Q8_0, [32, 7], 6, 'async'),
  tensorOf('q4_k', GgmlType.Q4_K, [512, 2], 7, 'view'),
  tensorOf('q6_k', GgmlType.Q6_K, [256, 3, 1], 8, 'async'),
];

test('writer → reader: every metadata type and every supported tensor type round-trip exactly', async () => {
  const tensors = makeTensors();
  assert.deepEqual(new Set(tensors.map((t) => t.type)), new Set(Object.keys(ggmlTypeInfo).map(Number)), 'a supported type is not covered');
  const path = join(tmp, 'all-types.gguf');
  const { fileSize, dataOffset } = await writeGguf(path, { metadata: cases.map(([k, e]) => [k, e] as const), tensors });
  const f = await readGguf(path);
  assert.equal(f.version, 3);
  assert.equal(f.fileSize, fileSize);
  assert.equal(f.dataOffset, dataOffset);
  assert.equal(f.alignment, 32);
  assert.deepEqual([...f.metadata.keys()], cases.map(([k]) => k));
  for (const [key, entry, expected] of cases) {
    assert.deepEqual(f.metadata.get(key), expected, key);
    assert.equal(f.metadataTypes.get(key), entry.type === 'array' ? `array<${entry.itemType}>` : entry.type, key);
  }
  assert.deepEqual(f.tensors.map((t) => t.name), tensors.map((t) => t.name));
  for (const t of tensors) {
    const got = f.tensor(t.name)!;
    assert.deepEqual(got.dims, t.dims);
    assert.equal(got.type, t.type);
    assert.equal(got.bytes, t.bytes.length);
    assert.equal(got.elements, t.dims.reduce((a, b) => a * b, 1));
    assert.equal((got.offset - f.dataOffset) % 32, 0, `${t.name} offset aligned`);
    assert.ok(Buffer.from(await readTensorData(f, got)).equals(t.bytes), `${t.name} bytes`);
  }
  // Copying every entry (types included) and every tensor into a new file reproduces it byte for byte.
  const copy = join(tmp, 'all-types-copy.gguf');
  await writeGguf(copy, { metadata: entriesFromFile(f), tensors: f.tensors.map((t) => ({ ...t, data: readTensorBytes(f, t, { chunkBytes: 100 }) })) });
  assert.equal(sha(copy), sha(path));
});

test('large metadata round-trips: a 60K-token vocabulary, a 3 MB string, multi-MB numeric and bool arrays', async () => {
  // Larger than the writer's first header buffer and the reader's 1 MiB read buffer, so both cross their edges.
  const next = rng(99);
  const tokens = Array.from({ length: 60000 }, (_, i) => `${i % 7 === 0 ? 'Ġ' : ''}t${i}${'é✓'.repeat(Math.floor(next() * 4))}`);
  const long = 'x✓'.repeat(750_000) + 'end';
  const scores = Float32Array.from({ length: 700_001 }, () => next() * 2 - 1);
  const flags = Array.from({ length: 2_100_000 }, (_, i) => i % 3 === 0);
  const path = join(tmp, 'large-metadata.gguf');
  await writeGguf(path, {
    metadata: [['a.u8', kv.u8(1)], ['tokenizer.ggml.tokens', kv.array('string', tokens)], ['long', kv.string(long)], ['scores', kv.array('f32', scores)], ['flags', kv.array('bool', flags)]],
    tensors: makeTensors().slice(0, 2),
  });
  const f = await readGguf(path);
  assert.deepEqual(f.metadata.get('tokenizer.ggml.tokens'), tokens);
  assert.equal(f.metadata.get('long'), long);
  assert.deepEqual(f.metadata.get('scores'), scores);
  assert.deepEqual(f.metadata.get('flags'), flags);
  assert.equal(f.tensors.length, 2);
});

test('typed getters return the value or name the key, what was found and what was wanted', async () => {
  const path = join(tmp, 'getters.gguf');
  await writeGguf(path, { metadata: cases.map(([k, e]) => [k, e] as const), tensors: [] });
  const f = await readGguf(path);
  assert.equal(metaNumber(f, 't.u64.safe'), 2 ** 53 - 1);
  assert.equal(metaNumber(f, 't.f32'), Math.fround(1e-5));
  assert.equal(metaString(f, 't.string.empty'), '');
  assert.equal(metaBool(f, 't.bool.false'), false);
  assert.deepEqual(metaStringArray(f, 'a.string'), ['a', '', 'Ġthe', '<0x0A>']);
  assert.ok(metaNumberArray(f, 'a.f32') instanceof Float32Array);
  assert.ok(metaArray(f, 'a.nested'));
  assert.equal(metaNumberOr(f, 'absent', 7), 7);
  assert.equal(metaStringOr(f, 'absent', undefined), undefined);
  assert.equal(metaNumberArrayOr(f, 'absent', null), null);
  const err = (re: RegExp) => (e: unknown) => e instanceof GgufError && e.message.startsWith(`${path}: `) && re.test(e.message);
  assert.throws(() => metaValue(f, 'llama.block_count'), err(/missing metadata key 'llama.block_count'/));
  assert.throws(() => metaNumber(f, 't.string'), err(/metadata key 't.string' is string "héllo ✓ 你好 \u{1F600}", expected a number/u));
  assert.throws(() => metaNumber(f, 't.u64.big'), err(/'t.u64.big' is u64 18446744073709551615, expected a number/));
  assert.throws(() => metaString(f, 't.u32'), err(/'t.u32' is u32 4294967295, expected a string/));
  assert.throws(() => metaStringArray(f, 'a.f32'), err(/'a.f32' is array<f32> of 3 items, expected an array of strings/));
  assert.throws(() => metaNumberArray(f, 'a.u64'), err(/'a.u64' is array<u64> of 2 items, expected an array of numbers/));
  assert.throws(() => metaNumberOr(f, 't.bool.true', 1), err(/'t.bool.true' is bool true, expected a number/));
});

test('alignment: a non-default alignment is recorded as general.alignment and every offset honours it', async () => {
  const path = join(tmp, 'align64.gguf');
  await writeGguf(path, { metadata: [['general.architecture', kv.string('llama')]], tensors: makeTensors().slice(0, 3), alignment: 64 });
  const f = await readGguf(path);
  assert.equal(f.alignment, 64);
  assert.equal(f.metadata.get('general.alignment'), 64);
  assert.equal(f.metadataTypes.get('general.alignment'), 'u32');
  assert.equal(f.dataOffset % 64, 0);
  for (const t of f.tensors) assert.equal(t.offset % 64, 0, t.name);
  assert.equal(f.fileSize % 64, 0, 'the last tensor is padded too, as llama.cpp writes files');
});

test('the writer refuses bad input, naming the key or tensor, and leaves no file behind', async () => {
  const path = join(tmp, 'refused.gguf');
  const f32 = (name: string, dims: number[], data: ArrayBufferView | Iterable<Uint8Array>): GgufTensorInput => ({ name, type: GgmlType.F32, dims, data });
  const bad: [string, Parameters<typeof writeGguf>[1], RegExp][] = [
    ['u8 out of range', { metadata: [['k', kv.u8(256)]], tensors: [] }, /metadata 'k': u8 value 256 is not an integer in \[0, 255\]/],
    ['i32 not an integer', { metadata: [['k', kv.i32(1.5)]], tensors: [] }, /metadata 'k': i32 value 1.5 is not an integer/],
    ['u64 unsafe number', { metadata: [['k', kv.u64(2 ** 60)]], tensors: [] }, /u64 value 1152921504606847000 is not a safe integer \(pass a bigint\)/],
    ['array item out of range', { metadata: [['k', kv.array('u16', [1, 70000])]], tensors: [] }, /metadata 'k\[1\]': u16 value 70000/],
    ['duplicate key', { metadata: [['k', kv.u8(1)], ['k', kv.u8(2)]], tensors: [] }, /duplicate metadata key 'k'/],
    ['bad alignment key', { metadata: [['general.alignment', kv.u32(24)]], tensors: [] }, /general.alignment must be a u32 power of two, got u32 24/],
    ['alignment disagrees', { metadata: [['general.alignment', kv.u32(64)]], tensors: [], alignment: 32 }, /alignment 32 disagrees with general.alignment 64/],
    ['short data', { metadata: [], tensors: [f32('w', [4, 2], new Float32Array(7))] }, /tensor 'w' data has 28 B, its type F32 and dims \[4, 2\] need 32 B/],
    ['long data', { metadata: [], tensors: [f32('w', [4], [new Uint8Array(10), new Uint8Array(10)])] }, /tensor 'w' data is longer than the 16 B/],
    ['duplicate tensor', { metadata: [], tensors: [f32('w', [1], new Float32Array(1)), f32('w', [1], new Float32Array(1))] }, /duplicate tensor name 'w'/],
    ['block size', { metadata: [], tensors: [{ name: 'q', type: GgmlType.Q8_0, dims: [16, 2], data: new Uint8Array(34) }] }, /tensor 'q': ne0 = 16 is not a multiple of Q8_0's block size 32/],
    ['5 dims', { metadata: [], tensors: [f32('w', [1, 1, 1, 1, 1], new Float32Array(1))] }, /dims \[1, 1, 1, 1, 1\] must be 1..4 positive integers/],
    ['long name', { metadata: [], tensors: [f32('x'.repeat(64), [1], new Float32Array(1))] }, /names must have 1..63 bytes, this has 64/],
  ];
  for (const [label, spec, re] of bad) {
    await assert.rejects(writeGguf(path, spec), (e: unknown) => e instanceof GgufError && e.message.startsWith(`${path}: `) && re.test(e.message), label);
    assert.ok(!existsSync(path), `${label}: no file left at the target`);
  }
  assert.deepEqual(readdirSync(tmp).filter((n) => n.endsWith('.tmp')), [], 'no temporary files left');
});

test('a sparse 5 GB file: offsets past 4 GiB parse with bounded memory and stream the right bytes', async () => {
  const path = join(tmp, 'sparse-5g.gguf');
  const rel = 5 * 2 ** 30; // 5 GiB, a multiple of 32
  const head = rawGguf({ kvs: [raw.kv('general.architecture', 8, raw.string('llama'))], tensors: [raw.tensor('big', [8], GgmlType.F32, rel)] });
  writeFileSync(path, head);
  const fd = openSync(path, 'r+');
  try {
    ftruncateSync(fd, head.length + rel + 32); // a hole, no disk used
    writeSync(fd, Float32Array.of(1, 2, 3, 4, 5, 6, 7, 8), 0, 32, head.length + rel);
  } finally {
    closeSync(fd);
  }
  const before = process.memoryUsage().arrayBuffers;
  const t0 = performance.now();
  const f = await readGguf(path);
  assert.ok(performance.now() - t0 < 1000);
  assert.ok(process.memoryUsage().arrayBuffers - before < 8 << 20, 'header parse stayed within a few MB');
  const t = f.tensor('big')!;
  assert.equal(t.offset, head.length + rel);
  assert.deepEqual([...new Float32Array((await readTensorData(f, t)).buffer)], [1, 2, 3, 4, 5, 6, 7, 8]);
});

function sha(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}
