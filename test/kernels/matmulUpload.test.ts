import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readBuffer } from '../../gpu/buffers';
import { GgmlType, ggmlTypeInfo } from '../../gpu/model/ggmlTypes';
import { quantizeRows } from '../../gpu/quant/codec';
import { packRows } from '../../gpu/quant/layout';
import { type UploadOptions, WeightUploadError, WeightUploader, uploadWeight } from '../../gpu/quant/upload';
import { type WeightTensor, destroyWeight } from '../../gpu/quant/weight';
import { testGpu } from '../util/gpu';
import { randomF32 } from '../util/random';

/** `bytes` cut into pieces of the given sizes, cycling, as a reader of a file in arbitrary chunks would deliver. */
async function* pieces(bytes: Uint8Array, sizes: number[]): AsyncGenerator<Uint8Array> {
  for (let at = 0, i = 0; at < bytes.byteLength; i++) {
    const n = sizes[i % sizes.length];
    yield bytes.slice(at, at + n); // a fresh copy, as a file reader gives
    at += n;
  }
}

/** Reads every part of `w` back and compares it with packing all of `ggml` at once. */
async function expectUploaded(w: WeightTensor, ggml: Uint8Array): Promise<void> {
  const { gpu } = await testGpu();
  const expected = w.layout.parts.map((p) => new Uint8Array(p.bytes));
  for (const piece of packRows(w.layout, ggml, 0, w.rows)) expected[piece.part].set(piece.bytes, piece.offset);
  for (let i = 0; i < w.parts.length; i++) {
    const got = new Uint8Array(await readBuffer(gpu, w.parts[i].buffer, w.layout.parts[i].bytes));
    assert.deepEqual(got, expected[i], `${w.label} part ${i}`);
  }
}

const cases: { type: GgmlType; rows: number; cols: number; scale?: number }[] = [
  { type: GgmlType.Q6_K, rows: 17, cols: 512 },
  { type: GgmlType.Q6_K, rows: 3, cols: 256, scale: 0.01 }, // subnormal f16 d: converted to f32 exactly
  { type: GgmlType.Q4_K, rows: 13, cols: 256 },
  { type: GgmlType.Q8_0, rows: 61, cols: 96 }, // 102-byte rows: rows start at odd 2-byte offsets
  { type: GgmlType.Q4_0, rows: 7, cols: 32 },
  { type: GgmlType.F16, rows: 13, cols: 61 }, // padded rows
  { type: GgmlType.F32, rows: 5, cols: 64 }, // verbatim rows
]; 
const paths: UploadOptions[] = [
  { path: 'writeBuffer' },
  { path: 'writeBuffer', pack: 'cpu' },
  { path: 'staging', stagingBytes: 52 }, // many map/copy rounds: repack batches of one row, pieces straddling the end
  { path: 'staging', stagingBytes: 52, pack: 'cpu' },
  { path: 'staging', maxBindingBytes: 4096 }, // split into parts: a repack batch spans two parts
  { path: 'writeBuffer', maxBindingBytes: 4096, pack: 'cpu', stagingBytes: 1000 },
];

for (const { type, rows, cols, scale } of cases) {
  const name = `${ggmlTypeInfo[type].name}${scale ? ` ×${scale}` : ''}`;
  test(`uploadWeight ${name} (${rows}, ${cols}): pieces cut anywhere land in the GPU layout through every path`, async () => {
    const { gpu } = await testGpu();
    const ggml = quantizeRows(type, randomF32(rows * cols, rows, scale), rows, cols);
    for (const options of paths) {
      for (const sizes of [[ggml.byteLength], [7, 1000, 3], [1]]) {
        const w = await uploadWeight(gpu, `${name} ${JSON.stringify(options)} ${sizes}`, type, rows, cols, pieces(ggml, sizes), options);
        await expectUploaded(w, ggml);
        destroyWeight(w);
      }
    }
  });
}

test('one WeightUploader carries several weights through its staging buffer', async () => {
  const { gpu } = await testGpu();
  const uploader = new WeightUploader(gpu, { path: 'staging', stagingBytes: 4096 });
  const made = [];
  for (const { type, rows, cols } of cases) {
    const ggml = quantizeRows(type, randomF32(rows * cols, cols), rows, cols);
    made.push({ w: await uploader.upload(`w${type}`, type, rows, cols, pieces(ggml, [333])), ggml });
  }
  await uploader.dispose();
  for (const { w, ggml } of made) {
    await expectUploaded(w, ggml);
    destroyWeight(w);
  }
});

test('uploadWeight rejects fewer or more bytes than the shape holds, naming both counts', async () => {
  const { gpu } = await testGpu();
  const ggml = quantizeRows(GgmlType.Q4_K, randomF32(3 * 256, 2), 3, 256);
  for (const path of ['writeBuffer', 'staging'] as const) {
    await assert.rejects(uploadWeight(gpu, 'blk.0.attn_q', GgmlType.Q4_K, 3, 256, [ggml.subarray(0, 400)], { path }), (e: Error) => {
      assert.ok(e instanceof WeightUploadError);
      assert.match(e.message, /blk.0.attn_q: got 400 bytes, a \(3, 256\) Q4_K weight has 432/);
      return true;
    });
    await assert.rejects(uploadWeight(gpu, 'blk.0.attn_q', GgmlType.Q4_K, 2, 256, [ggml], { path }), /blk.0.attn_q: more bytes than its 2 rows of 144 B/);
  }
});
