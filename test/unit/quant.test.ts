import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GgmlType, ggmlTensorBytes, ggmlTypeInfo } from '../../gpu/model/ggmlTypes';
import { dequantizeRows, quantizeRows } from '../../gpu/quant/codec';
import { bf16ToNumber, f16ToNumber, numberToBf16, numberToF16 } from '../../gpu/quant/half';
import { packScaleMin, scaleMin } from '../../gpu/quant/q4k';
import { ShapeError } from '../../gpu/errors';
import { rng } from '../util/random';

test('f16 bits decode to the values IEEE binary16 defines', () => {
  const table: [number, number][] = [
    [0x0000, 0], [0x3c00, 1], [0xc000, -2], [0x3555, 0.333251953125], [0x7bff, 65504], [0x0400, 2 ** -14],
    [0x0001, 2 ** -24], [0x03ff, 1023 * 2 ** -24], [0x7c00, Infinity], [0xfc00, -Infinity], [0x3800, 0.5],
  ];
  for (const [bits, value] of table) assert.equal(f16ToNumber(bits), value, `0x${bits.toString(16)}`);
  assert.ok(Number.isNaN(f16ToNumber(0x7e00)));
  assert.ok(Object.is(f16ToNumber(0x8000), -0));
});

test('f16 encoding inverts decoding for every bit pattern and rounds to nearest even', () => {
  for (let h = 0; h < 0x10000; h++) {
    const v = f16ToNumber(h);
    if (Number.isNaN(v)) assert.ok(Number.isNaN(f16ToNumber(numberToF16(v))));
    else assert.equal(numberToF16(v), h, `bits 0x${h.toString(16)}`);
  }
  const table: [number, number][] = [
    [1 + 2 ** -11, 0x3c00], // tie: to even
    [1 + 3 * 2 ** -11, 0x3c02], // tie: to even (up)
    [1 + 2 ** -11 + 2 ** -20, 0x3c01], // above the tie
    [65519, 0x7bff], [65520, 0x7c00], [1e6, 0x7c00], [-1e6, 0xfc00], // overflow to Inf at the tie
    [2 ** -25, 0x0000], [3 * 2 ** -25, 0x0002], [2 ** -25 + 2 ** -30, 0x0001], // subnormal rounding
    [2 ** -14 - 2 ** -25, 0x0400], // the largest subnormal rounds up into the smallest normal
  ];
  for (const [x, bits] of table) assert.equal(numberToF16(x), bits, `${x}`);
});

test('bf16 is the upper half of an f32, rounded to nearest even', () => {
  assert.equal(bf16ToNumber(0x3f80), 1);
  assert.equal(bf16ToNumber(0xc0a0), -5);
  assert.equal(numberToBf16(1), 0x3f80);
  assert.equal(numberToBf16(1 + 2 ** -8), 0x3f80); // tie: to even
  assert.equal(numberToBf16(1 + 3 * 2 ** -8), 0x3f82);
  assert.equal(numberToBf16(1 + 2 ** -8 + 2 ** -16), 0x3f81);
  assert.ok(Number.isNaN(bf16ToNumber(numberToBf16(NaN))));
});

/** A ggml block of `size` bytes with the given bytes set (little-endian f16 fields written by the caller). */
function block(size: number, set: Record<number, number>): Uint8Array {
  const b = new Uint8Array(size);
  for (const [at, v] of Object.entries(set)) b[Number(at)] = v;
  return b;
}

test('Q8_0: a hand-built block decodes to d * int8', () => {
  const b = block(34, { 0: 0x00, 1: 0x38, 2: 0x80, 3: 0xff, 4: 0, 5: 1, 6: 127, 33: 0x9c }); // d = 0.5
  const y = dequantizeRows(GgmlType.Q8_0, b, 1, 32);
  assert.deepEqual([y[0], y[1], y[2], y[3], y[4], y[31]], [-64, -0.5, 0, 0.5, 63.5, -50]);
});

test('Q4_0: a hand-built block decodes to d * (nibble - 8), low nibbles first', () => {
  const b = block(18, { 0: 0x00, 1: 0x40, 2: 0x0f, 3: 0x81, 17: 0x7f }); // d = 2
  const y = dequantizeRows(GgmlType.Q4_0, b, 1, 32);
  assert.deepEqual([y[0], y[16], y[1], y[17], y[15], y[31], y[2]], [14, -16, -14, 0, 14, -2, -16]);
});

test('Q4_K: a hand-built super-block decodes with 6-bit scales and mins, high bits included', () => {
  // d = 1, dmin = 0.5; sub-block 0: sc 1, m 2; sub-block 5: sc 33, m 50 (their top 2 bits live in bytes 1 and 5).
  const b = block(144, { 0: 0x00, 1: 0x3c, 2: 0x00, 3: 0x38, 4: 1, 5: 0x80, 8: 2, 9: 0xc0, 13: 0x21, 16: 0x07, 83: 0xa0 });
  const y = dequantizeRows(GgmlType.Q4_K, b, 1, 256);
  assert.equal(y[0], 6); //    1 * 1 * 7 - 0.5 * 2
  assert.equal(y[1], -1); //   1 * 1 * 0 - 0.5 * 2
  assert.equal(y[32], 0); //   sub-block 1: sc 0, m 0
  assert.equal(y[163], 305); // sub-block 5, element 160 + 3: 1 * 33 * 10 - 0.5 * 50
  assert.equal(y[161], -25); // sub-block 5, nibble 0
  assert.equal(y[131], 0); //  sub-block 4: sc 0, m 0
  const sm = Array.from({ length: 8 }, (_, j) => scaleMin(b, 4, j));
  assert.deepEqual(sm, [[1, 2], [0, 0], [0, 0], [0, 0], [0, 0], [33, 50], [0, 0], [0, 0]]);
});

test('Q4_K: packScaleMin is the inverse of get_scale_min_k4 for every 6-bit value', () => {
  const r = rng(5);
  const bytes = new Uint8Array(12);
  for (let trial = 0; trial < 200; trial++) {
    const sc = Array.from({ length: 8 }, () => Math.floor(r() * 64));
    const m = Array.from({ length: 8 }, () => Math.floor(r() * 64));
    if (trial === 0) sc.fill(63), m.fill(63);
    packScaleMin(sc, m, bytes, 0);
    for (let j = 0; j < 8; j++) assert.deepEqual(scaleMin(bytes, 0, j), [sc[j], m[j]]);
  }
});

test('Q6_K: a hand-built super-block decodes d * scale * (q - 32) with 4 low + 2 high bits', () => {
  // d = 0.25; scales[0] = -3, scales[4] = 2, scales[6] = 1, scales[9] = 5.
  const b = block(210, { 0: 0x5a, 128: 0b11000010, 192: 0xfd, 196: 2, 198: 1, 201: 5, 81: 0x03, 177: 0x01, 208: 0x00, 209: 0x34 });
  const y = dequantizeRows(GgmlType.Q6_K, b, 1, 256);
  assert.equal(y[0], -7.5); //  q = 0xa | 2 << 4 = 42: 0.25 * -3 * 10
  assert.equal(y[1], 24); //    q = 0: 0.25 * -3 * -32
  assert.equal(y[64], -13.5); // q = 5 (high nibble of ql[0]): 0.25 * 2 * -27
  assert.equal(y[96], 4); //    q = 0 | 3 << 4 = 48 (qh bits 6-7): 0.25 * 1 * 16
  assert.equal(y[145], -16.25); // second half, l = 17: q = 3 | 1 << 4 = 19: 0.25 * 5 * -13
  assert.ok(y[32] === 0); //    scales[2] = 0 (the value is -0)
});

/** An f16 scale rounded up from `x`: at most one ulp above (2^-10 relative when normal, 2^-24 when subnormal). */
const up = (x: number) => x * (1 + 2 ** -10) + 2 ** -24;

/** Per-type bound on |decoded - x| for one row of values; derived from each encoder's rounding (see the format files). */
const errorBound: Record<GgmlType, (x: Float32Array, i: number) => number> = {
  [GgmlType.F32]: () => 0,
  [GgmlType.F16]: (x, i) => Math.abs(x[i]) * 2 ** -11 + 2 ** -25,
  [GgmlType.BF16]: (x, i) => Math.abs(x[i]) * 2 ** -8,
  // Half a step.
  [GgmlType.Q8_0]: (x, i) => 0.5 * up(amax(x, i, 32) / 127),
  // One step: values of the sign opposite to the largest clip at +7.
  [GgmlType.Q4_0]: (x, i) => up(amax(x, i, 32) / 8),
  // Half a step (a scale rounded up by at most d), or half a quantized min where the offset clips.
  [GgmlType.Q4_K]: (x, i) => {
    const s0 = i - (i % 256);
    let maxScale = 0;
    let maxMin = 0;
    for (let j = 0; j < 8; j++) {
      const sub = x.subarray(s0 + 32 * j, s0 + 32 * j + 32);
      const lo = Math.min(0, ...sub);
      maxScale = Math.max(maxScale, (Math.max(...sub) - lo) / 15);
      maxMin = Math.max(maxMin, -lo);
    }
    const sub = x.subarray(i - (i % 32), i - (i % 32) + 32);
    const scale = (Math.max(...sub) - Math.min(0, ...sub)) / 15;
    return 0.5 * (scale + up(maxScale / 63)) + 0.5 * up(maxMin / 63) + 1e-12;
  },
  // One step (the clamp at +31) plus 16 × half the int8 scale rounding d / 2.
  [GgmlType.Q6_K]: (x, i) => {
    let amaxS = 0;
    for (let j = 0; j < 16; j++) amaxS = Math.max(amaxS, amax(x, i - (i % 256) + 16 * j, 16) / 32);
    return amax(x, i, 16) / 32 + 17 * up(amaxS / 127) + 1e-12;
  },
};

function amax(x: Float32Array, i: number, block: number): number {
  const s = i - (i % block);
  let m = 0;
  for (let k = s; k < s + block; k++) m = Math.max(m, Math.abs(x[k]));
  return m;
}

/** Rows of test values: uniform noise, an outlier row, an all-zero row, an all-negative row, a constant row, tiny values. */
function testRows(cols: number, seed: number): Float32Array {
  const r = rng(seed);
  const rows = 6;
  const x = new Float32Array(rows * cols);
  for (let i = 0; i < cols; i++) {
    x[i] = r() * 2 - 1;
    x[cols + i] = (r() * 2 - 1) * 0.1;
    x[2 * cols + i] = 0;
    x[3 * cols + i] = -0.5 - r();
    x[4 * cols + i] = 0.75;
    x[5 * cols + i] = (r() * 2 - 1) * 1e-4;
  }
  x[cols + 7] = 30; // outlier
  x[cols + cols - 1] = -25;
  return x;
}

const types = [GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_K, GgmlType.Q6_K];
const maxRmsRel: Record<GgmlType, number> = {
  [GgmlType.F32]: 0, [GgmlType.F16]: 5e-4, [GgmlType.BF16]: 4e-3, [GgmlType.Q8_0]: 0.02,
  [GgmlType.Q4_0]: 0.15, [GgmlType.Q4_K]: 0.12, [GgmlType.Q6_K]: 0.04,
};

for (const type of types) {
  const { name, blockSize, typeSize } = ggmlTypeInfo[type];
  test(`${name}: encode → decode round trip stays within the per-element bound`, () => {
    const cols = Math.max(blockSize, 256) * 2;
    const rows = 6;
    const x = testRows(cols, 11 + type);
    const bytes = quantizeRows(type, x, rows, cols);
    assert.equal(bytes.byteLength, (rows * cols * typeSize) / blockSize);
    assert.equal(bytes.byteLength, rows * ggmlTensorBytes(type, cols));
    const y = dequantizeRows(type, bytes, rows, cols);
    for (let r = 0; r < rows; r++) {
      const xr = x.subarray(r * cols, (r + 1) * cols);
      let se = 0;
      let sx = 0;
      for (let i = 0; i < cols; i++) {
        const err = Math.abs(y[r * cols + i] - xr[i]);
        const bound = errorBound[type](xr, i);
        assert.ok(err <= bound, `${name} row ${r} [${i}]: x ${xr[i]}, decoded ${y[r * cols + i]}, |err| ${err} > bound ${bound}`);
        se += err * err;
        sx += xr[i] * xr[i];
      }
      if (sx > 0) assert.ok(Math.sqrt(se / sx) <= maxRmsRel[type], `${name} row ${r}: rms relative error ${Math.sqrt(se / sx)}`);
      else assert.equal(se, 0, `${name} row ${r}: zeros must decode to zeros`);
    }
  });
}

test('quantizeRows rejects rows that are not whole blocks, naming the numbers', () => {
  assert.throws(() => quantizeRows(GgmlType.Q4_K, new Float32Array(128), 1, 128), (e: Error) => {
    assert.ok(e instanceof ShapeError);
    assert.match(e.message, /Q4_K rows are whole blocks of 256: cols % 256 must be 0, cols = 128/);
    return true;
  });
  assert.throws(() => quantizeRows(GgmlType.Q8_0, new Float32Array(60), 2, 32), /60 values given, rows\*cols = 64/);
  assert.throws(() => dequantizeRows(GgmlType.Q8_0, new Uint8Array(33), 1, 32), /33 bytes given, rows\*rowBytes = 1\*34 = 34/);
});
