import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ShapeError } from '../../gpu/errors';
import { GgmlType, ggmlTensorBytes, ggmlTypeInfo } from '../../gpu/model/ggmlTypes';
import { quantizeRows } from '../../gpu/quant/codec';
import { REGION_ALIGN, type WeightLayout, gpuLayout, packRows } from '../../gpu/quant/layout';
import { randomF32 } from '../util/random';

const types = [GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_K, GgmlType.Q6_K];
const big = { maxBindingBytes: 2 ** 31 };

/** The parts' buffers as byte arrays, filled by packing the ggml rows in the given row ranges. */
function image(layout: WeightLayout, ggml: Uint8Array, ranges: [number, number][]): Uint8Array[] {
  const parts = layout.parts.map((p) => new Uint8Array(p.bytes));
  const rowBytes = ggmlTensorBytes(layout.type, layout.cols);
  for (const [first, rows] of ranges) {
    for (const piece of packRows(layout, ggml.subarray(first * rowBytes, (first + rows) * rowBytes), first, rows)) {
      assert.equal(piece.offset % 4, 0, 'piece offsets are 4-byte aligned (copy and writeBuffer need it)');
      assert.equal(piece.bytes.byteLength % 4, 0, 'piece sizes are multiples of 4');
      assert.ok(piece.offset + piece.bytes.byteLength <= parts[piece.part].byteLength, 'a piece stays inside its part');
      parts[piece.part].set(piece.bytes, piece.offset);
    }
  }
  return parts;
}

test('gpuLayout: one part under the limit, regions 256-byte aligned, sized rows × rowBytes', () => {
  const l = gpuLayout(GgmlType.Q6_K, 17, 512, big);
  assert.equal(l.parts.length, 1);
  assert.deepEqual(
    l.parts[0].regions.map((r) => [r.offset, r.rowBytes, r.bytes]),
    [[0, 256, 4352], [4352, 128, 2176], [6656, 32, 544], [7424, 8, 136]],
  );
  assert.equal(l.bytes, 7424 + 136);
  const f = gpuLayout(GgmlType.F16, 3, 61, big); // 122-byte rows are padded to 128
  assert.deepEqual(f.parts[0].regions, [{ offset: 0, rowBytes: 128, bytes: 384 }]);
});

test('gpuLayout: a weight over the binding limit splits into balanced parts whose regions fit', () => {
  const l = gpuLayout(GgmlType.Q4_K, 1000, 512, { maxBindingBytes: 64 * 1024 }); // qs region: 256 B per row
  assert.equal(l.parts.length, 4);
  assert.deepEqual(l.parts.map((p) => [p.firstRow, p.rows]), [[0, 250], [250, 250], [500, 250], [750, 250]]);
  for (const p of l.parts) {
    for (const r of p.regions) {
      assert.ok(r.bytes <= 64 * 1024);
      assert.equal(r.offset % REGION_ALIGN, 0);
    }
  }
  assert.throws(() => gpuLayout(GgmlType.F32, 4, 4096, { maxBindingBytes: 1024 }), (e: Error) => {
    assert.ok(e instanceof ShapeError);
    assert.match(e.message, /one F32 row of 4096 columns needs regions of 16384 B, over the binding limit of 1024 B/);
    return true;
  });
});

for (const type of types) {
  const { name, blockSize } = ggmlTypeInfo[type];
  test(`${name}: packing rows piecewise gives the same buffers as packing them at once, split or not`, () => {
    const cols = blockSize === 1 ? 61 : Math.max(256, blockSize) * 2;
    const rows = 13;
    const ggml = quantizeRows(type, randomF32(rows * cols, 3 + type), rows, cols);
    for (const limit of [big, { maxBindingBytes: 3 * Math.ceil((cols * 4) / 16) * 16 }]) {
      const layout = gpuLayout(type, rows, cols, limit);
      const whole = image(layout, ggml, [[0, rows]]);
      const piecewise = image(layout, ggml, [[0, 1], [1, 5], [6, 7]]);
      assert.deepEqual(piecewise, whole);
      assert.ok(whole.some((p) => p.some((b) => b !== 0)));
    }
  });
}

test('Q4_K packing moves each super-block header to the meta region and its quants to the qs region', () => {
  const cols = 512;
  const ggml = quantizeRows(GgmlType.Q4_K, randomF32(2 * cols, 9), 2, cols);
  const layout = gpuLayout(GgmlType.Q4_K, 2, cols, big);
  const [part] = image(layout, ggml, [[0, 2]]);
  const [qs, meta] = layout.parts[0].regions;
  for (let r = 0; r < 2; r++) {
    for (let b = 0; b < 2; b++) {
      const src = (r * 2 + b) * 144;
      assert.deepEqual(part.subarray(meta.offset + r * 32 + b * 16, meta.offset + r * 32 + b * 16 + 16), ggml.subarray(src, src + 16));
      assert.deepEqual(part.subarray(qs.offset + r * 256 + b * 128, qs.offset + r * 256 + b * 128 + 128), ggml.subarray(src + 16, src + 144));
    }
  }
});

test('packRows rejects rows outside the weight and short byte arrays', () => {
  const layout = gpuLayout(GgmlType.Q8_0, 4, 64, big);
  assert.throws(() => packRows(layout, new Uint8Array(68 * 2), 3, 2), /rows \[3, 5\) must lie within the weight's 4 rows/);
  assert.throws(() => packRows(layout, new Uint8Array(100), 0, 2), /100 bytes given for 2 rows of 68 B = 136/);
});
