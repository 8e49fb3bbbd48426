import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ShapeError } from '../../gpu/errors';
import { roundToKvType } from '../../gpu/kv/f16';
import { f16ToNumber as f16Value, numberToF16 as f16Bits } from '../../gpu/quant/half';
import { isPageSize, kvIndex, kvLayout, kvMemory, pageMetaIndex, pagesFor, resolvePageSize } from '../../gpu/kv/layout';

test('kvLayout defaults to pages of 16 and rounds the capacity up to whole pages', () => {
  const l = kvLayout({ layers: 2, kvHeads: 4, headDim: 8, maxTokens: 113, kvType: 'f32' });
  assert.equal(l.pageSize, 16);
  assert.equal(l.maxPages, 8);
  assert.equal(pagesFor(113, 16), 8);
  assert.equal(pagesFor(112, 16), 7);
});

test('kvLayout rejects page sizes 0 and 3, and a head size that is not a multiple of 4', () => {
  const base = { layers: 1, kvHeads: 1, headDim: 8, maxTokens: 64, kvType: 'f32' } as const;
  assert.throws(() => kvLayout({ ...base, pageSize: 0 }), (e: Error) => e instanceof ShapeError && /pageSize \(0\) must be a power of two/.test(e.message));
  assert.throws(() => kvLayout({ ...base, pageSize: 3 }), /pageSize \(3\) must be a power of two >= 1 \(e.g. 16\)/);
  assert.throws(() => kvLayout({ ...base, pageSize: 24 }), /pageSize \(24\)/);
  assert.throws(() => kvLayout({ ...base, headDim: 6 }), /headDim \(6\) must be a multiple of 4/);
  assert.throws(() => kvLayout({ ...base, maxTokens: 0 }), /maxTokens \(0\) must be an integer >= 1/);
  assert.equal(kvLayout({ ...base, pageSize: 1 }).maxPages, 64);
  assert.equal(kvLayout({ ...base, pageSize: 256 }).maxPages, 1);
  assert.throws(() => kvLayout({ ...base, pageSize: 512 }), /pageSize \(512\) must be a power of two >= 1 \(e.g. 16\), at most 256/);
});

test('resolvePageSize: the caller\'s page size wins, then the model\'s recommendation, then 16', () => {
  assert.equal(resolvePageSize(32, 8), 32);
  assert.equal(resolvePageSize(16, 8), 16);
  assert.equal(resolvePageSize(undefined, 8), 8);
  assert.equal(resolvePageSize(undefined, undefined), 16);
  assert.deepEqual([1, 8, 256, 0, 12, 512, 8.5].map(isPageSize), [true, true, true, false, false, false, false]);
});

test('kvMemory counts K, V, pageMeta and the page table (Llama-3.2-1B shape at 128K, f16)', () => {
  const l = kvLayout({ layers: 16, kvHeads: 8, headDim: 64, maxTokens: 131072, kvType: 'f16' });
  // K per layer: 8192 pages × 8 heads × 16 × 64 × 2 B = 128 MiB; pageMeta is 2/16 of it.
  assert.deepEqual(kvMemory(l), {
    k: 16 * 134217728,
    v: 16 * 134217728,
    pageMeta: 16 * 16777216,
    pageTable: 8192 * 4,
    total: 2 * 16 * 134217728 + 16 * 16777216 + 8192 * 4,
  });
  const f32 = kvMemory(kvLayout({ layers: 1, kvHeads: 2, headDim: 8, maxTokens: 17, pageSize: 4, kvType: 'f32' }));
  assert.deepEqual(f32, { k: 5 * 2 * 4 * 8 * 4, v: 1280, pageMeta: 5 * 2 * 2 * 8 * 4, pageTable: 20, total: 2 * 1280 + 640 + 20 });
});

test('kvIndex and pageMetaIndex follow (page, kvHead, row, dim)', () => {
  const l = kvLayout({ layers: 1, kvHeads: 3, headDim: 8, maxTokens: 64, pageSize: 4, kvType: 'f32' });
  assert.equal(kvIndex(l, 2, 1, 3, 5), ((2 * 3 + 1) * 4 + 3) * 8 + 5);
  assert.equal(pageMetaIndex(l, 2, 1, 1, 5), ((2 * 3 + 1) * 2 + 1) * 8 + 5);
});

test('f16 conversion matches a table of known bit patterns', () => {
  // [x, f16Bits(x), f16Value of those bits]
  const table: [number, number, number][] = [
    [0, 0x0000, 0],
    [1, 0x3c00, 1],
    [-2, 0xc000, -2],
    [0.1, 0x2e66, 0.0999755859375],
    [65504, 0x7bff, 65504],
    [65520, 0x7c00, Infinity], // rounds up past the largest finite f16
    [2 ** -24, 0x0001, 2 ** -24], // smallest subnormal
    [2 ** -25, 0x0000, 0], // a tie: to even (zero)
    [3 * 2 ** -25, 0x0002, 2 ** -23], // a tie: to even (2)
    [6.103515625e-5, 0x0400, 6.103515625e-5], // smallest normal
    [1 + 2 ** -11, 0x3c00, 1], // a tie: to even
    [1 + 3 * 2 ** -11, 0x3c02, 1 + 2 ** -9], // a tie: to even (up)
  ];
  for (const [x, bits, value] of table) {
    assert.equal(f16Bits(x), bits, `f16Bits(${x})`);
    assert.equal(f16Value(bits), value, `f16Value(0x${bits.toString(16)})`);
  }
  assert.equal(f16Bits(-0), 0x8000);
  assert.ok(Number.isNaN(f16Value(f16Bits(NaN))));
  assert.equal(roundToKvType(1e6, 'f16'), 65504, 'clamped to the f16 range before rounding');
  assert.equal(roundToKvType(-70000, 'f16'), -65504);
  assert.equal(roundToKvType(0.1, 'f32'), Math.fround(0.1));
});
