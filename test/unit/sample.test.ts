import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EngineError } from '../../gpu/errors';
import {
  type Candidates,
  Sampler,
  candidateDistribution,
  decodeCandidates,
  drawFrom,
  greedyToken,
  seededRandom,
} from '../../gpu/sample';
import { samplingDistributionRef } from '../../gpu/reference/sample';
import { expectMatches } from '../util/expectMatches';
import { randomF32, rng } from '../util/random';

/** Every token of a small vocabulary as candidates, in a shuffled order (the host must not rely on GPU order). */
function allCandidates(logits: ArrayLike<number>, shuffleSeed = 1): Candidates {
  const next = rng(shuffleSeed);
  const ids = Array.from({ length: logits.length }, (_, i) => i);
  for (let i = ids.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [ids[i], ids[j]] = [ids[j], ids[i]];
  }
  return { logits: Float32Array.from(ids, (i) => logits[i]), ids: Uint32Array.from(ids) };
}

/** Pearson's chi-square of observed counts against probabilities (cells with probability 0 must be empty). */
function chiSquare(counts: number[], probs: ArrayLike<number>, draws: number): number {
  let chi = 0;
  for (let i = 0; i < counts.length; i++) {
    if (probs[i] === 0) {
      assert.equal(counts[i], 0, `token ${i} has probability 0 but was drawn ${counts[i]} times`);
      continue;
    }
    const expected = draws * probs[i];
    chi += (counts[i] - expected) ** 2 / expected;
  }
  return chi;
}

function countDraws(sampler: Sampler, c: Candidates, vocab: number, draws: number): number[] {
  const counts = new Array<number>(vocab).fill(0);
  for (let i = 0; i < draws; i++) counts[sampler.pick(c)]++;
  return counts;
}

// Upper 1e-4 quantiles of chi-square: a correct sampler fails with probability 1e-4 per (seeded, fixed) test.
const CHI2_9999 = { 1: 15.137, 5: 25.745 } as const;

test('seededRandom: same seed same stream, other seeds (high word included) differ, values in [0, 1) and uniform', () => {
  const take = (seed: number) => Array.from({ length: 8 }, seededRandom(seed));
  assert.deepEqual(take(42), take(42));
  assert.notDeepEqual(take(42), take(43));
  assert.notDeepEqual(take(5), take(2 ** 32 + 5));
  const r = seededRandom(7);
  const bins = new Array<number>(10).fill(0);
  const n = 100000;
  for (let i = 0; i < n; i++) {
    const u = r();
    assert.ok(u >= 0 && u < 1, `value ${u} outside [0, 1)`);
    bins[Math.floor(u * 10)]++;
  }
  // df 9, upper 1e-4 quantile 33.72
  assert.ok(chiSquare(bins, new Array(10).fill(0.1), n) < 33.72, `bins ${bins}`);
});

test('greedy picks the largest logit, lowest id among equals, whatever the candidate order', () => {
  const c = allCandidates([0.5, 3, -1, 3, 2.9, 3], 9);
  assert.equal(greedyToken(c), 1);
  const s = new Sampler({ temperature: 0, topK: 0, topP: 1, seed: 1 });
  assert.equal(s.greedy, true);
  assert.equal(s.pick(c), 1);
});

test('temperature -> 0 equals greedy on every draw', () => {
  const logits = randomF32(61, 3, 4); // gaps between logits are far above 1e-4
  const c = allCandidates(logits);
  const s = new Sampler({ temperature: 1e-4, topK: 0, topP: 1, seed: 3 });
  const expected = greedyToken(c);
  for (let i = 0; i < 500; i++) assert.equal(s.pick(c), expected);
});

test('a fixed seed reproduces the tokens; another seed gives another sequence', () => {
  const c = allCandidates(randomF32(61, 4, 2));
  const params = { temperature: 1, topK: 0, topP: 1, seed: 2024 };
  const run = (seed: number) => {
    const s = new Sampler({ ...params, seed });
    return Array.from({ length: 300 }, () => s.pick(c));
  };
  assert.deepEqual(run(2024), run(2024));
  assert.notDeepEqual(run(2024), run(2025));
});

test('literal distributions: softmax of [2, 1, 0, -1], with top-p 0.7 and with top-k 3 at temperature 2', () => {
  const c = allCandidates([2, 1, 0, -1]);
  const full = candidateDistribution(c, { temperature: 1, topK: 0, topP: 1, seed: 0 });
  assert.deepEqual(Array.from(full.ids), [0, 1, 2, 3]);
  expectMatches('softmax', full.probs, [0.643914, 0.236883, 0.087144, 0.032059], { atol: 1e-6, rtol: 0 });
  const nucleus = candidateDistribution(c, { temperature: 1, topK: 0, topP: 0.7, seed: 0 });
  assert.deepEqual(Array.from(nucleus.ids), [0, 1]);
  expectMatches('top-p 0.7', nucleus.probs, [0.731059, 0.268941], { atol: 1e-6, rtol: 0 });
  // exp([2,1,0]/2) = [2.718282, 1.648721, 1] / 5.367003
  const top3 = candidateDistribution(c, { temperature: 2, topK: 3, topP: 1, seed: 0 });
  expectMatches('top-k 3, T 2', top3.probs, [0.506480, 0.307196, 0.186324], { atol: 1e-6, rtol: 0 });
});

test('candidateDistribution matches the whole-vocabulary reference over temperatures, top-k and top-p', () => {
  const logits = randomF32(113, 5, 3);
  const c = allCandidates(logits);
  for (const temperature of [0.3, 1, 2.5]) {
    for (const topK of [0, 1, 5, 40]) {
      for (const topP of [1, 0.9, 0.5, 0.01]) {
        const p = { temperature, topK, topP, seed: 0 };
        const d = candidateDistribution(c, p);
        const got = new Float64Array(logits.length);
        d.ids.forEach((id, j) => (got[id] = d.probs[j]));
        expectMatches(`T ${temperature} topK ${topK} topP ${topP}`, got, samplingDistributionRef(logits, p), { atol: 1e-12, rtol: 1e-9 });
      }
    }
  }
});

test('full distribution (top-k 0, top-p 1): frequencies over 60000 draws pass chi-square; a 5 % temperature error fails it', () => {
  const logits = [1.5, 1.0, 0.2, 0, -0.5, -3];
  const c = allCandidates(logits);
  const draws = 60000;
  const counts = countDraws(new Sampler({ temperature: 1, topK: 0, topP: 1, seed: 99 }), c, 6, draws);
  const right = samplingDistributionRef(logits, { temperature: 1, topK: 0, topP: 1 });
  const chi = chiSquare(counts, right, draws);
  assert.ok(chi < CHI2_9999[5], `chi-square ${chi.toFixed(2)} >= ${CHI2_9999[5]} (df 5): counts ${counts}`);
  // The same test must be able to fail: against temperature 1.05 the counts are far off.
  const wrong = samplingDistributionRef(logits, { temperature: 1.05, topK: 0, topP: 1 });
  const chiWrong = chiSquare(counts, wrong, draws);
  assert.ok(chiWrong > CHI2_9999[5], `chi-square against the wrong distribution only ${chiWrong.toFixed(2)}`);
});

test('top-k 2: only the two best tokens appear, in their renormalized proportions', () => {
  const logits = [0.1, 2, -1, 1.7, 0.5];
  const draws = 20000;
  const params = { temperature: 0.7, topK: 2, topP: 1, seed: 5 };
  const counts = countDraws(new Sampler(params), allCandidates(logits), 5, draws);
  const chi = chiSquare(counts, samplingDistributionRef(logits, params), draws);
  assert.ok(chi < CHI2_9999[1], `chi-square ${chi.toFixed(2)} >= ${CHI2_9999[1]} (df 1): counts ${counts}`);
  assert.equal(counts[1] + counts[3], draws);
});

test('drawFrom walks the cumulative probabilities; u near 1 gives the last token', () => {
  const d = { ids: Uint32Array.of(7, 3, 9), probs: Float64Array.of(0.5, 0.3, 0.2) };
  assert.equal(drawFrom(d, 0), 7);
  assert.equal(drawFrom(d, 0.4999), 7);
  assert.equal(drawFrom(d, 0.5), 3);
  assert.equal(drawFrom(d, 0.79), 3);
  assert.equal(drawFrom(d, 0.8), 9);
  assert.equal(drawFrom(d, 1 - 2 ** -53), 9);
});

test('NaN candidates are dropped; all NaN is an error naming the count; +Infinity takes all the mass', () => {
  const c = { logits: Float32Array.of(NaN, 1, 2, NaN), ids: Uint32Array.of(10, 11, 12, 13) };
  assert.equal(greedyToken(c), 12);
  const d = candidateDistribution(c, { temperature: 1, topK: 0, topP: 1, seed: 0 });
  assert.deepEqual(Array.from(d.ids), [12, 11]);
  assert.throws(
    () => greedyToken({ logits: Float32Array.of(NaN, NaN), ids: Uint32Array.of(1, 2) }),
    (e: Error) => e instanceof EngineError && /all 2 candidate logits are NaN/.test(e.message),
  );
  const inf = candidateDistribution({ logits: Float32Array.of(Infinity, 5, Infinity), ids: Uint32Array.of(4, 5, 6) }, { temperature: 1, topK: 0, topP: 1, seed: 0 });
  assert.deepEqual(Array.from(inf.ids), [4, 6, 5]);
  assert.deepEqual(Array.from(inf.probs), [0.5, 0.5, 0]);
});

test('sampling params are checked, naming the value', () => {
  const ok = { temperature: 1, topK: 0, topP: 1, seed: 0 };
  assert.throws(() => new Sampler({ ...ok, temperature: -1 }), /temperature \(-1\) must be finite and >= 0/);
  assert.throws(() => new Sampler({ ...ok, topK: 2.5 }), /topK \(2.5\) must be an integer >= 0/);
  assert.throws(() => new Sampler({ ...ok, topP: 0 }), /topP \(0\) must be in \(0, 1\]/);
  assert.throws(() => new Sampler({ ...ok, seed: -3 }), /seed \(-3\) must be an integer in \[0, 2\^53\)/);
});

test('decodeCandidates reads the top-k kernel layout [f32 value bits, index]', () => {
  const words = new ArrayBuffer(3 * 8);
  const f32 = new Float32Array(words);
  const u32 = new Uint32Array(words);
  [f32[0], u32[1], f32[2], u32[3], f32[4], u32[5]] = [2.5, 151935, -1, 0, -Infinity, 77];
  const c = decodeCandidates(words, 3);
  assert.deepEqual(Array.from(c.logits), [2.5, -1, -Infinity]);
  assert.deepEqual(Array.from(c.ids), [151935, 0, 77]);
});
