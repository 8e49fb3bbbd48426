import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EngineError, ShapeError } from '../../gpu/errors';
import { ROPE_MAX_POSITIONS, llama3FreqFactors, ropeAngleF32, ropeAngleTable, ropeInvFreq } from '../../gpu/model/rope';
import { expectMatches } from '../util/expectMatches';
import { rng } from '../util/random';

const llama32 = { type: 'llama3', factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalContextLength: 8192 } as const;

// Hugging Face's formulation (modeling_rope_utils, "llama3"): works on inv_freq directly, not on divisors.
function hfLlama3InvFreq(dims: number, theta: number): Float64Array {
  const lowWavelen = llama32.originalContextLength / llama32.lowFreqFactor;
  const highWavelen = llama32.originalContextLength / llama32.highFreqFactor;
  return Float64Array.from({ length: dims / 2 }, (_, i) => {
    const inv = theta ** (-(2 * i) / dims);
    const wavelen = (2 * Math.PI) / inv;
    const scaled = wavelen > lowWavelen ? inv / llama32.factor : inv;
    const smooth = (llama32.originalContextLength / wavelen - llama32.lowFreqFactor) / (llama32.highFreqFactor - llama32.lowFreqFactor);
    const medium = !(wavelen < highWavelen) && !(wavelen > lowWavelen);
    return medium ? ((1 - smooth) * scaled) / llama32.factor + smooth * scaled : scaled;
  });
}

test('plain inverse frequencies are theta^(-2i/dims)', () => {
  const got = ropeInvFreq({ dims: 8, theta: 10000 });
  expectMatches('invFreq dims 8', got, [1, 0.1, 0.01, 0.001], { atol: 0, rtol: 1e-14 });
});

test('linear scaling divides every frequency by the factor', () => {
  const plain = ropeInvFreq({ dims: 64, theta: 1e6 });
  const got = ropeInvFreq({ dims: 64, theta: 1e6, scaling: { type: 'linear', factor: 4 } });
  expectMatches('linear x4', got, Array.from(plain, (v) => v / 4), { atol: 0, rtol: 1e-14 });
});

test('llama3 scaling matches the Hugging Face formulation (Llama 3.2 1B: theta 5e5, dims 64)', () => {
  const got = ropeInvFreq({ dims: 64, theta: 5e5, scaling: llama32 });
  expectMatches('llama3 invFreq', got, hfLlama3InvFreq(64, 5e5), { atol: 0, rtol: 1e-12 });
});

test('llama3 divisors: 1 for short wavelengths, factor for long, a smooth band at pairs 15..17', () => {
  const f = llama3FreqFactors(64, 5e5, llama32);
  assert.equal(f.length, 32);
  for (let i = 0; i <= 14; i++) assert.equal(f[i], 1, `pair ${i}`);
  for (let i = 18; i < 32; i++) assert.equal(f[i], 32, `pair ${i}`);
  for (let i = 15; i <= 17; i++) assert.ok(f[i] > 1 && f[i] < 32, `pair ${i}: ${f[i]} in (1, 32)`);
  // By hand: pair 16 has invFreq 5e5^-0.5, wavelength 4442.88, smooth (8192/4442.88 - 1)/3 = 0.28129.
  assert.ok(Math.abs(f[16] - 1 / ((1 - 0.28129) / 32 + 0.28129)) < 1e-4, `pair 16: ${f[16]}`);
});

test('freqFactors (rope_freqs.weight) give the same frequencies as llama3 scaling', () => {
  const factors = Float32Array.from(llama3FreqFactors(64, 5e5, llama32)); // stored as f32 in GGUF
  const got = ropeInvFreq({ dims: 64, theta: 5e5, freqFactors: factors });
  expectMatches('freqFactors', got, ropeInvFreq({ dims: 64, theta: 5e5, scaling: llama32 }), { atol: 0, rtol: 1e-7 });
});

test('bad rope configs are rejected with the values', () => {
  assert.throws(() => ropeInvFreq({ dims: 7, theta: 1e4 }), (e: Error) => e instanceof ShapeError && /dims \(7\) must be an even/.test(e.message));
  assert.throws(
    () => ropeInvFreq({ dims: 8, theta: 1e4, freqFactors: [1, 1, 1] }),
    (e: Error) => e instanceof ShapeError && /freqFactors has 3 values, needs dims\/2 = 4/.test(e.message),
  );
  assert.throws(
    () => ropeInvFreq({ dims: 8, theta: 1e4, scaling: llama32, freqFactors: [1, 1, 1, 1] }),
    (e: Error) => e instanceof EngineError && /both llama3 scaling and freqFactors/.test(e.message),
  );
  assert.throws(() => ropeInvFreq({ dims: 8, theta: 1e4, freqFactors: [1, 0, 1, 1] }), /freq factor \[1\] must be > 0, got 0/);
});

/** |a - b| as angles (mod 2π), in radians. */
function angleError(a: number, b: number): number {
  const d = (a - b) % (2 * Math.PI);
  return Math.min(Math.abs(d), 2 * Math.PI - Math.abs(d));
}

const tables = [
  { name: 'stories260K', invFreq: ropeInvFreq({ dims: 8, theta: 1e4 }) },
  { name: 'qwen2.5 head 128', invFreq: ropeInvFreq({ dims: 128, theta: 1e6 }) },
  { name: 'llama3.2 head 64', invFreq: ropeInvFreq({ dims: 64, theta: 5e5, scaling: llama32 }) },
];

test('the split angle table is good to 2e-6 rad at every position below 2^24; a plain f32 angle is off by > 1e-4 at 128K', () => {
  const next = rng(7);
  const positions = [0, 1, 4095, 4096, 4097, 32767, 131071, 1_000_000, ROPE_MAX_POSITIONS - 1];
  for (let j = 0; j < 200; j++) positions.push(Math.floor(next() * ROPE_MAX_POSITIONS));
  for (const { name, invFreq } of tables) {
    const table = ropeAngleTable(invFreq);
    let worst = 0;
    for (const pos of positions) {
      for (let i = 0; i < invFreq.length; i++) {
        const err = angleError(ropeAngleF32(table.subarray(4 * i, 4 * i + 4), pos), pos * invFreq[i]);
        worst = Math.max(worst, err);
      }
    }
    assert.ok(worst < 2e-6, `${name}: split-table angle error ${worst} rad >= 2e-6`);
    // What the table avoids: fround(pos * fround(invFreq)) at the last position of a 128K context.
    let naive = 0;
    for (let i = 0; i < invFreq.length; i++) {
      naive = Math.max(naive, angleError(Math.fround(131071 * Math.fround(invFreq[i])), 131071 * invFreq[i]));
    }
    assert.ok(naive > 100 * worst && naive > 1e-4, `${name}: plain f32 angle error at 131071 is ${naive} rad, table ${worst}`);
    console.log(`# ${name}: worst angle error below 2^24 ${worst.toExponential(2)} rad; plain f32 at 131071 ${naive.toExponential(2)} rad`);
  }
});
