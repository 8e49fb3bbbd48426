// A corpus of corrupt GGUF files, generated here: truncations of a valid file at every header offset (and many data
// offsets), and hand-made headers with one bad field each. Every one must fail with a GgufError (or
// UnsupportedTensorTypeError) whose message starts with the file's path and names the problem, within 1 s, without
// a large allocation.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { GgufError, UnsupportedTensorTypeError } from '../../gpu/errors';
import { readGguf } from '../../gpu/gguf/reader';
import { kv, writeGguf } from '../../gpu/gguf/writer';
import { GgmlType } from '../../gpu/model/ggmlTypes';
import { raw, rawGguf, testTempDir } from '../util/ggufFixtures';

const tmp = testTempDir();
const STRING = 8;
const ARRAY = 9;
const U32 = 4;

/** Reads `bytes` as a file and checks the failure: the class, the path prefix, `problem`, time and memory. */
async function expectRejected(name: string, bytes: Uint8Array, problem: RegExp, cls: typeof GgufError | typeof UnsupportedTensorTypeError = GgufError): Promise<number> {
  const path = join(tmp, `${name}.gguf`);
  writeFileSync(path, bytes);
  const memBefore = process.memoryUsage().arrayBuffers;
  const t0 = performance.now();
  let error: unknown;
  try {
    await readGguf(path);
  } catch (e) {
    error = e;
  }
  const ms = performance.now() - t0;
  assert.ok(error instanceof cls, `${name}: expected ${cls.name}, got ${error instanceof Error ? `${error.name}: ${error.message}` : 'no error'}`);
  const message = (error as Error).message;
  assert.ok(message.startsWith(`${path}: `), `${name}: message does not start with the path: ${message}`);
  assert.match(message, problem, name);
  assert.ok(ms < 1000, `${name}: took ${ms.toFixed(0)} ms`);
  assert.ok(process.memoryUsage().arrayBuffers - memBefore < 16 << 20, `${name}: allocated too much`);
  return ms;
}

test('truncating a valid file at every header offset and many data offsets fails cleanly', async () => {
  const path = join(tmp, 'valid.gguf');
  await writeGguf(path, {
    metadata: [
      ['general.architecture', kv.string('llama')],
      ['llama.block_count', kv.u32(1)],
      ['tokenizer.ggml.tokens', kv.array('string', ['<unk>', 'a', 'bb'])],
      ['tokenizer.ggml.scores', kv.array('f32', [0, -1, -2])],
      ['x.nested', kv.arrays([kv.array('u8', [1]), kv.array('bool', [true])])],
      ['x.big', kv.u64(1n << 60n)],
    ],
    tensors: [
      { name: 'a', type: GgmlType.F32, dims: [8, 2], data: new Float32Array(16) },
      { name: 'q', type: GgmlType.Q8_0, dims: [32, 2], data: new Uint8Array(68) },
      { name: 'h', type: GgmlType.F16, dims: [5], data: new Uint16Array(5) },
    ],
  });
  const bytes = readFileSync(path);
  const f = await readGguf(path);
  const dataEnd = Math.max(...f.tensors.map((t) => t.offset + t.bytes));
  const offsets = [];
  for (let n = 0; n < f.dataOffset; n++) offsets.push(n);
  for (let n = f.dataOffset; n < dataEnd; n += 5) offsets.push(n);
  offsets.push(dataEnd - 1);
  const t0 = performance.now();
  let slowest = 0;
  for (const n of offsets) {
    const problem = n < f.dataOffset - 32 ? /truncated header: .* at offset \d+ needs \d+ B but the file ends at \d+|absurd/ : /runs past the end of the file|truncated header/;
    slowest = Math.max(slowest, await expectRejected(`trunc-${n}`, bytes.subarray(0, n), problem));
  }
  const total = performance.now() - t0;
  assert.ok(total < 20000, `${offsets.length} truncations took ${total.toFixed(0)} ms`);
  console.log(`# ${offsets.length} truncations rejected in ${total.toFixed(0)} ms (slowest ${slowest.toFixed(1)} ms)`);
});

test('hand-made corrupt headers each fail naming the problem', async () => {
  const arch = raw.kv('general.architecture', STRING, raw.string('llama'));
  const f32 = (name: string, dims: (number | bigint)[], offset: number | bigint) => raw.tensor(name, dims, GgmlType.F32, offset);
  const data = new Uint8Array(256);
  const huge = 1n << 62n;
  const nest = (depth: number): Uint8Array => (depth === 0 ? Buffer.concat([raw.u32(U32), raw.u64(0)]) : Buffer.concat([raw.u32(ARRAY), raw.u64(1), nest(depth - 1)]));
  const cases: [string, Uint8Array, RegExp, (typeof GgufError | typeof UnsupportedTensorTypeError)?][] = [
    ['empty file', new Uint8Array(0), /truncated header: magic at offset 0 needs 4 B but the file ends at 0/],
    ['bad magic', rawGguf({ magic: Buffer.from('GGML') }), /not a GGUF file: magic is 47 47 4d 4c \("GGML"\), expected 47 47 55 46 \("GGUF"\)/],
    ['elf magic', rawGguf({ magic: Uint8Array.of(0x7f, 0x45, 0x4c, 0x46) }), /magic is 7f 45 4c 46 \("\\x7fELF"\)/],
    ['version 1', rawGguf({ version: 1 }), /GGUF version 1 is not supported/],
    ['version 4', rawGguf({ version: 4 }), /unsupported GGUF version 4 \(supported: 2, 3\)/],
    ['big-endian', rawGguf({ version: 0x03000000 }), /big-endian GGUF \(version field 0x3000000\) is not supported/],
    ['huge tensor count', rawGguf({ tensorCount: huge, kvs: [arch] }), /absurd tensor count 4611686018427387904: .* only \d+ B remain/],
    ['huge kv count', rawGguf({ kvCount: huge }), /absurd metadata count 4611686018427387904/],
    ['kv count one too many', rawGguf({ kvCount: 2, kvs: [arch] }), /metadata entry 1 at offset 69 has an empty key/],
    ['kv count one too many without padding', rawGguf({ kvCount: 2, kvs: [arch] }).subarray(0, 69), /truncated header: length of key of metadata entry 1 at offset 69 needs 8 B but the file ends at 69/],
    ['empty tensor name', rawGguf({ tensors: [f32('', [4], 0)], data }), /tensor 0 at offset 24 has an empty name/],
    ['huge key length', rawGguf({ kvs: [Buffer.concat([raw.string('general.architecture', huge), raw.u32(STRING)])] }), /absurd string length 4611686018427387904 for key of metadata entry 0/],
    ['key length past end', rawGguf({ kvs: [Buffer.concat([raw.string('abc', 100)])] }), /absurd string length 100 for key of metadata entry 0 at offset 24: only \d+ B remain/],
    ['huge string value', rawGguf({ kvs: [raw.kv('general.name', STRING, raw.string('x', huge))] }), /absurd string length 4611686018427387904 for value of 'general.name'/],
    ['huge array length', rawGguf({ kvs: [raw.kv('tokenizer.ggml.scores', ARRAY, Buffer.concat([raw.u32(6), raw.u64(huge)]))] }), /absurd array length 4611686018427387904 for 'tokenizer.ggml.scores' .* f32 items need at least 4 B each/],
    ['150K strings in a small file', rawGguf({ kvs: [raw.kv('tokenizer.ggml.tokens', ARRAY, Buffer.concat([raw.u32(STRING), raw.u64(151936), raw.string('a')]))] }), /absurd array length 151936 for 'tokenizer.ggml.tokens'/],
    ['string item past end', rawGguf({ kvs: [raw.kv('tokenizer.ggml.tokens', ARRAY, Buffer.concat([raw.u32(STRING), raw.u64(2), raw.string('a'), raw.string('b', 1000)]))] }), /absurd string length 1000 for item 1 of 'tokenizer.ggml.tokens'/],
    ['unknown value type', rawGguf({ kvs: [raw.kv('x', 13, raw.u32(0))] }), /metadata key 'x' has unknown value type id 13 \(known: 0..12\)/],
    ['unknown array item type', rawGguf({ kvs: [raw.kv('x', ARRAY, Buffer.concat([raw.u32(99), raw.u64(0)]))] }), /metadata key 'x' is an array of unknown value type id 99/],
    ['arrays nested too deep', rawGguf({ kvs: [raw.kv('x', ARRAY, nest(9))] }), /metadata key 'x\[0\](\[0\])*' nests arrays deeper than 8/],
    ['duplicate key', rawGguf({ kvs: [arch, arch] }), /duplicate metadata key 'general.architecture' \(entry 1\)/],
    ['alignment not a power of two', rawGguf({ kvs: [raw.kv('general.alignment', U32, raw.u32(24))] }), /general.alignment must be a u32 power of two, got u32 24/],
    ['alignment of the wrong type', rawGguf({ kvs: [raw.kv('general.alignment', STRING, raw.string('32'))] }), /general.alignment must be a u32 power of two, got string 32/],
    ['tensor offset past EOF', rawGguf({ tensors: [f32('w', [4], 1n << 40n)], data }), /tensor 'w' has offset 1099511627776, past the end of the file/],
    ['tensor data past EOF', rawGguf({ tensors: [f32('w', [64, 2], 0)], data }), /tensor 'w' data \[\d+, \d+\) runs past the end of the file \(\d+ B\)/],
    ['second tensor past EOF', rawGguf({ tensors: [f32('a', [4], 0), f32('b', [64], 32)], data }), /tensor 'b' data .* runs past the end/],
    ['bad tensor type id', rawGguf({ tensors: [raw.tensor('w', [4], 99, 0)], data }), /tensor 'w' has unknown ggml type id 99/],
    ['unsupported tensor type', rawGguf({ tensors: [raw.tensor('blk.0.ffn_down.weight', [256], 13, 0)], data }), /tensor 'blk.0.ffn_down.weight' has type Q5_K \(13\), which the engine does not read/, UnsupportedTensorTypeError],
    ['misaligned offset', rawGguf({ tensors: [f32('w', [4], 4)], data }), /tensor 'w' has offset 4, not a multiple of the alignment 32/],
    ['overlapping tensors', rawGguf({ tensors: [f32('a', [16], 0), f32('b', [16], 32)], data }), /tensors 'a' \[\d+, \d+\) and 'b' \[\d+, \d+\) overlap/],
    ['duplicate tensor names', rawGguf({ tensors: [f32('w', [4], 0), f32('w', [4], 32)], data }), /duplicate tensor name 'w' \(tensors 0 and 1\)/],
    ['dims overflow', rawGguf({ tensors: [f32('w', [1n << 40n, 1n << 40n], 0)], data }), /tensor 'w' dims \[1099511627776, 1099511627776\] overflow: 1208925819614629174706176 elements/],
    ['dims overflow in bytes', rawGguf({ tensors: [raw.tensor('w', [(1n << 53n) - 32n], GgmlType.Q8_0, 0)], data }), /tensor 'w' dims \[9007199254740960\] overflow: 9570149208162270 B/],
    ['ne0 not a multiple of the block size', rawGguf({ tensors: [raw.tensor('w', [100, 2], GgmlType.Q4_K, 0)], data }), /tensor 'w' of type Q4_K has ne0 = 100, not a multiple of the type's block size 256/],
    ['zero dims', rawGguf({ tensors: [raw.tensor('w', [], GgmlType.F32, 0)], data }), /tensor 'w' has 0 dims; GGUF allows 1..4/],
    ['five dims', rawGguf({ tensors: [raw.tensor('w', [1, 1, 1, 1, 1], GgmlType.F32, 0)], data }), /tensor 'w' has 5 dims/],
    ['huge dims count', rawGguf({ tensors: [raw.tensor('w', [4], GgmlType.F32, 0, 0xffffffff)], data }), /tensor 'w' has 4294967295 dims/],
    ['not a file', new Uint8Array(0), /cannot open the file|not a regular file/],
  ];
  const t0 = performance.now();
  for (const [name, bytes, problem, cls] of cases) {
    if (name === 'not a file') {
      // A folder where a file was expected.
      await assert.rejects(readGguf(tmp), (e: unknown) => e instanceof GgufError && e.message.startsWith(`${tmp}: `) && problem.test(e.message));
      await assert.rejects(readGguf(join(tmp, 'missing.gguf')), (e: unknown) => e instanceof GgufError && /cannot open the file: ENOENT/.test((e as Error).message));
      continue;
    }
    await expectRejected(name.replaceAll(' ', '-'), bytes, problem, cls);
  }
  const total = performance.now() - t0;
  assert.ok(total < 5000, `corrupt headers took ${total.toFixed(0)} ms`);
});

test('the hand-made header builder makes a valid file when nothing is corrupted (the cases above differ in one field)', async () => {
  const path = join(tmp, 'raw-valid.gguf');
  writeFileSync(path, rawGguf({
    version: 2,
    kvs: [raw.kv('general.architecture', STRING, raw.string('llama')), raw.kv('general.alignment', U32, raw.u32(64))],
    tensors: [raw.tensor('a', [16], GgmlType.F32, 0), raw.tensor('b', [32, 1], GgmlType.Q8_0, 64)],
    alignment: 64,
    data: new Uint8Array(128),
  }));
  const f = await readGguf(path);
  assert.equal(f.version, 2);
  assert.equal(f.alignment, 64);
  assert.deepEqual(f.tensors.map((t) => [t.name, t.offset - f.dataOffset, t.bytes]), [['a', 0, 64], ['b', 64, 34]]);
});
