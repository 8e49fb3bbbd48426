// The whole engine against llama.cpp at the real per-layer shapes of the models users run (Llama-3.2-1B,
// Qwen2.5-Coder-0.5B/1.5B, Qwen3-0.6B; 1–2 layers, a cut vocabulary of 1000–2048 rows) for every weight type the
// engine reads, 64 greedy steps after a 24-token prompt.
//
// Fixtures: seeded random weights (test/util/ggufFixtures.ts) whose tied LM head spreads the logits with std ≈ 4
// (peakedEmbeddingScale) and whose layers outweigh the token embedding in the residual stream 80:1
// (layerOutputScale; else a tied head mostly predicts the input token again): top-1 probabilities of 0.1–0.95 and
// greedy runs that change token, so that both checks mean something (a flat distribution makes any Δp small).
// llama.cpp writes Q4_K tensors whose rows are not whole 256-blocks as Q5_0: those cases (Qwen2.5-Coder-0.5B ×
// Q4_K, Q4_K_M) are listed, not run.
//
// Per shape × weight type, the engine with an f32 KV cache against:
//  1. exact: llama.cpp on the F32 twin of the file (every matrix as the f32 values its type stores), with an F32 KV
//     cache and no flash attention: the same model computed in f32. The same 64 tokens, and max |Δp| over the whole
//     vocabulary ≤ exactBound at every step.
//  2. as stored: llama.cpp on the file itself, which shows that it reads the quantized bytes as the engine does. Its
//     CPU code rounds activations to the weight's dot-product type first (F16 → f16, BF16 → bf16, Q* → 8-bit
//     Q8_0/Q8_K), so it is off exact f32 math by up to storedBound; where the two pick different tokens, llama.cpp's
//     probabilities of both must be within 2·storedBound (a near-tie its rounding can flip), and llama.cpp runs again
//     from the engine's tokens so that every step is compared.
// Once per shape (its default case) also: the engine with an f16 KV cache against llama.cpp's F16 KV cache on the
// twin (f16KvBound), and Quest with a page budget covering the whole context, which must decode as dense.
//
// Default run: one case per shape (Llama × Q4_K_M, Qwen2.5-1.5B × Q8_0, Qwen2.5-0.5B × F16, Qwen3 × BF16: Q4_K,
// Q6_K, Q8_0, F16 and BF16 are what users bring). QUEST_LENS_PARITY=full runs every shape × every type (30 cases,
// about 12 minutes on a shared 2-core lavapipe machine).
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { openGpu, type Gpu } from '../../gpu/device';
import { Engine, denseSettings } from '../../gpu/engine';
import type { QuestSettings } from '../../gpu/forward/forward';
import { readGguf } from '../../gpu/gguf/reader';
import type { KvType } from '../../gpu/kv/layout';
import { GgmlType } from '../../gpu/model/ggmlTypes';
import { softmaxRef } from '../../gpu/reference/forward';
import { createTokenizer } from '../../gpu/tokenizer/tokenizer';
import {
  type ModelSpec, type RealShape, type WeightPlan, paddedTokenizerMetadata, peakedEmbeddingScale, realShape, testTempDir,
  weightPlanName, weightPlanProblem, withWeightPlan, writeF32Twin, writeModelGguf,
} from '../util/ggufFixtures';
import { type EvalResult, type EvalRun, llamaCppEval } from '../util/llamaCpp';
import { sharedModelPath } from '../util/paths';
import { rng } from '../util/random';

const tmp = testTempDir('quest-lens-parity-');
const STEPS = 64;
const PROMPT = 24;
const CONTEXT = 128;
/** The exact comparison: the issue asks 1e-3; measured ≤ 1e-5 over the full matrix, so 1e-4 keeps 10× headroom. */
const exactBound = 1e-4;
/**
 * llama.cpp on the stored type, which rounds activations first: measured maxima over the full matrix F16 1.3e-3,
 * BF16 1.2e-2, Q8_0 3.7e-2, Q4_0 3.8e-2, Q4_K 5.5e-2, Q6_K 6.2e-2, Q4_K_M 4.9e-2; bounds about twice that. So this
 * check catches bytes read differently (a permuted nibble, a wrong scale or min: weights off by ≳ 10%; ffn_down
 * scaled by 1.1 measured 0.09 within 4 steps) but not small scale errors, which the unit tests' hand-built blocks pin.
 */
const storedBound: Record<string, number> = { F32: exactBound, F16: 3e-3, BF16: 2.5e-2, Q8_0: 0.1, Q4_0: 0.1, Q4_K: 0.1, Q6_K: 0.1, Q4_K_M: 0.1 };
/** Engine f16 KV against llama.cpp's F16 KV, which also rounds q and the attention weights to f16: measured ≤ 6e-4. */
const f16KvBound = 2e-3;
/** Near-ties allowed per run (each one re-runs llama.cpp); the flat Qwen3-shaped fixtures had up to 5. */
const maxTies = 16;

/** Layers and vocabulary rows per shape: two layers where a layer is cheap; odd vocabularies for partial tiles. */
const shapes: Record<RealShape, { layers: number; vocab: number }> = {
  'llama3.2-1b': { layers: 1, vocab: 1024 },
  'qwen2.5-coder-0.5b': { layers: 2, vocab: 1000 },
  'qwen2.5-coder-1.5b': { layers: 1, vocab: 2048 },
  'qwen3-0.6b': { layers: 2, vocab: 1531 },
};
const plans: WeightPlan[] = [GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_K, GgmlType.Q6_K, 'Q4_K_M'];

/** The default run's weight type per shape: every type the models doc says users bring (Q4_K, Q6_K, Q8_0, F16, BF16). */
const defaultPlan: Record<RealShape, WeightPlan> = {
  'llama3.2-1b': 'Q4_K_M',
  'qwen2.5-coder-1.5b': GgmlType.Q8_0,
  'qwen2.5-coder-0.5b': GgmlType.F16,
  'qwen3-0.6b': GgmlType.BF16,
};

interface Case {
  readonly shape: RealShape;
  readonly plan: WeightPlan;
  /** The shape's default case: also the f16-KV run and Quest with a budget covering the context. */
  readonly perShape: boolean;
}
const full = process.env.QUEST_LENS_PARITY === 'full';
const allCases: Case[] = (Object.keys(shapes) as RealShape[]).flatMap((shape) =>
  (full ? plans : [defaultPlan[shape]]).map((plan) => ({ shape, plan, perShape: plan === defaultPlan[shape] })),
);
/** What llama.cpp would write for a case, if the engine cannot read it (Qwen2.5-Coder-0.5B's Q4_K falls back to Q5_0). */
const problemOf = (c: Case) => weightPlanProblem(realShape(c.shape, 1, 512), c.plan);
const cases = allCases.filter((c) => problemOf(c) === undefined);

let gpu: Gpu;
let eog: number[];
let storiesVocab: number;
let padded: (rows: number) => NonNullable<ModelSpec['extraMetadata']>;
before(async () => {
  gpu = await openGpu();
  const stories = await readGguf(sharedModelPath('stories260K.gguf'));
  const tok = createTokenizer(stories.metadata);
  eog = [...tok.eogIds];
  storiesVocab = tok.vocabSize;
  padded = (rows) => paddedTokenizerMetadata(stories, rows);
});
after(() => gpu?.dispose());

/** llama.cpp with flash attention off (its CPU kernel accumulates V in f16, ≈ 2e-3 in probability). */
function llamaCppOracle(model: string, runs: readonly Omit<EvalRun, 'flashAttention'>[]): EvalResult[] {
  return llamaCppEval(model, CONTEXT, runs.map((r) => ({ ...r, flashAttention: false })));
}

/** The fixture spec of a case: real shape, cut and padded stories260K vocabulary, peaked logits, quiet EOG rows. */
function specOf(c: Case): ModelSpec {
  const { layers, vocab } = shapes[c.shape];
  const base = realShape(c.shape, layers, vocab);
  return withWeightPlan(
    {
      ...base,
      extraMetadata: padded(vocab),
      embeddingScale: peakedEmbeddingScale(base.dim, 4),
      layerOutputScale: 80,
      // A greedy run must not stop early: EOG ids get zero head rows (logit 0, far below the top of a std-4 spread).
      quietTokens: eog,
    },
    c.plan,
  );
}

/** BOS, then random ids of the real (unpadded) vocabulary past the control tokens. */
function promptOf(seed: number): number[] {
  const r = rng(seed);
  return [1, ...Array.from({ length: PROMPT - 1 }, () => 3 + Math.floor(r() * (storiesVocab - 3)))];
}

interface EngineRun {
  readonly tokens: number[];
  /** Per step: the next-token distribution (float64 softmax of the engine's f32 logits). */
  readonly probs: Float64Array[];
}

/** Greedy runs of `prompt` on one engine: dense, then (if given) with `quest` settings. */
async function engineRuns(path: string, prompt: readonly number[], kvType: KvType, quest?: QuestSettings): Promise<EngineRun[]> {
  const engine = await Engine.load(gpu, path, { maxContext: CONTEXT, kvType });
  try {
    const out: EngineRun[] = [];
    for (const settings of quest ? [denseSettings, quest] : [denseSettings]) {
      engine.truncate(0);
      await engine.prefill(prompt);
      const tokens: number[] = [];
      const probs: Float64Array[] = [];
      // Between yields the logits buffer holds the logits that chose the yielded token (prefill's, then each decodeStep's).
      for await (const g of engine.generate({ maxTokens: STEPS, quest: settings })) {
        tokens.push(g.token);
        probs.push(softmaxRef(Float64Array.from(await engine.logits())));
      }
      assert.equal(tokens.length, STEPS, `the engine stopped after ${tokens.length} of ${STEPS} tokens`);
      out.push({ tokens, probs });
    }
    return out;
  } finally {
    engine.dispose();
  }
}

/** max over the vocabulary of |p_engine − p_llama.cpp| (llama.cpp lists probabilities ≥ 1e-7; the rest count as 0). */
function maxDp(mine: Float64Array, theirs: readonly (readonly [number, number])[]): number {
  const t = new Map(theirs);
  let worst = 0;
  for (let id = 0; id < mine.length; id++) worst = Math.max(worst, Math.abs(mine[id] - (t.get(id) ?? 0)));
  return worst;
}

/** Exact comparison: the same tokens at every step, max |Δp| ≤ bound. Returns the largest |Δp|. */
function compareExact(what: string, mine: EngineRun, oracle: EvalResult, bound: number): number {
  assert.deepEqual(mine.tokens, oracle.tokens, `${what}: greedy tokens differ from llama.cpp's`);
  let worst = 0;
  for (let s = 0; s < STEPS; s++) {
    const dp = maxDp(mine.probs[s], oracle.probs[s]);
    assert.ok(dp <= bound, `${what}: step ${s}: max |Δp| = ${dp.toExponential(2)} > ${bound}`);
    worst = Math.max(worst, dp);
  }
  return worst;
}

/**
 * Tie-aware comparison against llama.cpp on the stored file: every step's max |Δp| ≤ bound against llama.cpp's
 * distribution after the same tokens; where the tokens differ, llama.cpp's probabilities of its token and the
 * engine's must be within 2·bound, and llama.cpp runs again from the engine's tokens. At most 4 such re-runs.
 */
function compareStored(
  what: string,
  path: string,
  prompt: readonly number[],
  mine: EngineRun,
  bound: number,
  kvType: 'F32' | 'F16',
  first?: EvalResult,
): { worst: number; ties: number } {
  let worst = 0;
  let ties = 0;
  let from = 0;
  let oracle = first ?? llamaCppOracle(path, [{ prompt, steps: STEPS, kvType }])[0];
  while (from < STEPS) {
    let s = from;
    for (; s < STEPS; s++) {
      const at = s - from;
      const dp = maxDp(mine.probs[s], oracle.probs[at]);
      assert.ok(dp <= bound, `${what}: step ${s}: max |Δp| = ${dp.toExponential(2)} > ${bound}`);
      worst = Math.max(worst, dp);
      const theirs = oracle.tokens[at];
      if (theirs !== mine.tokens[s]) {
        const p = new Map(oracle.probs[at]);
        const gap = (p.get(theirs) ?? 0) - (p.get(mine.tokens[s]) ?? 0);
        assert.ok(
          gap <= 2 * bound,
          `${what}: step ${s}: the engine chose ${mine.tokens[s]} (llama.cpp p ${p.get(mine.tokens[s]) ?? 0}), llama.cpp ${theirs} (p ${p.get(theirs)}): not a near-tie (gap ${gap} > ${2 * bound})`,
        );
        ties++;
        assert.ok(ties <= maxTies, `${what}: more than ${maxTies} near-ties in ${STEPS} steps`);
        break;
      }
    }
    if (s >= STEPS - 1) break;
    from = s + 1;
    oracle = llamaCppOracle(path, [{ prompt: [...prompt, ...mine.tokens.slice(0, from)], steps: STEPS - from, kvType }])[0];
  }
  return { worst, ties };
}

/** The fixture is worth comparing: greedy changes token, and most steps are not a certainty. */
function checkNonTrivial(what: string, oracle: EvalResult): void {
  const distinct = new Set(oracle.tokens).size;
  const uncertain = oracle.probs.filter((p) => p[0][1] < 0.95).length;
  assert.ok(distinct >= 2, `${what}: the fixture's greedy run has only ${distinct} distinct tokens`);
  assert.ok(uncertain >= STEPS / 2, `${what}: only ${uncertain} of ${STEPS} steps have a top-1 probability < 0.95`);
}

for (const c of cases) {
  const name = `${c.shape} × ${weightPlanName(c.plan)}`;
  const extra = c.perShape ? ' (f32 and f16 KV; Quest with a budget covering the context decodes as dense)' : '';
  test(`${name}: ${STEPS} greedy tokens and next-token probabilities match llama.cpp${extra}`, async () => {
    const spec = specOf(c);
    const stem = join(tmp, `${c.shape}-${weightPlanName(c.plan)}`);
    const file = `${stem}.gguf`;
    const twin = c.plan === GgmlType.F32 ? file : `${stem}-f32twin.gguf`;
    const prompt = promptOf(100 + (Object.keys(shapes) as RealShape[]).indexOf(c.shape));
    const t0 = performance.now();
    await writeModelGguf(file, spec);
    if (twin !== file) await writeF32Twin(file, twin);
    const tWrite = performance.now();

    const exactRuns: EvalRun[] = [{ prompt, steps: STEPS, kvType: 'F32' }];
    if (c.perShape) exactRuns.push({ prompt, steps: STEPS, kvType: 'F16' });
    const [exact, exactF16] = llamaCppOracle(twin, exactRuns);
    checkNonTrivial(name, exact);
    const tOracle = performance.now();

    // Quest reading every page (pageBudget = all pages of the context) must decode exactly as dense.
    const quest: QuestSettings = { mode: 'quest', pageBudget: CONTEXT / 16, denseLayers: spec.layers > 1 ? 1 : 0, aggregation: 'max' };
    const [mine, mineQuest] = await engineRuns(file, prompt, 'f32', c.perShape ? quest : undefined);
    const tEngine = performance.now();
    const worstExact = compareExact(`${name} vs llama.cpp on the F32 twin`, mine, exact, exactBound);
    const stored =
      c.plan === GgmlType.F32
        ? { worst: worstExact, ties: 0 }
        : compareStored(`${name} vs llama.cpp on the stored file`, file, prompt, mine, storedBound[weightPlanName(c.plan)], 'F32');
    const tStored = performance.now();
    let more = '';
    if (c.perShape) {
      assert.deepEqual(mineQuest.tokens, mine.tokens, `${name}: Quest with pageBudget ${quest.pageBudget} (every page) decodes other tokens than dense`);
      let questDp = 0;
      for (let s = 0; s < STEPS; s++) for (let id = 0; id < mine.probs[s].length; id++) questDp = Math.max(questDp, Math.abs(mine.probs[s][id] - mineQuest.probs[s][id]));
      assert.ok(questDp <= 1e-4, `${name}: Quest with every page vs dense: max |Δp| ${questDp} > 1e-4`);
      const [mine16] = await engineRuns(file, prompt, 'f16');
      const r = compareStored(`${name} (f16 KV) vs llama.cpp (F16 KV) on the F32 twin`, twin, prompt, mine16, f16KvBound, 'F16', exactF16);
      more = `; f16 KV max |Δp| ${r.worst.toExponential(1)} (${r.ties} near-ties); Quest vs dense max |Δp| ${questDp.toExponential(1)}`;
    }
    const sec = (a: number, b: number) => ((b - a) / 1000).toFixed(1);
    console.log(
      `${name}: exact max |Δp| ${worstExact.toExponential(1)}; stored max |Δp| ${stored.worst.toExponential(1)} (${stored.ties} near-ties)${more}; ` +
        `top-1 p ${Math.min(...exact.probs.map((p) => p[0][1])).toFixed(2)}..${Math.max(...exact.probs.map((p) => p[0][1])).toFixed(2)}, ` +
        `${new Set(exact.tokens).size} distinct tokens; s: write ${sec(t0, tWrite)}, llama.cpp ${sec(tWrite, tOracle)}, engine ${sec(tOracle, tEngine)}, ` +
        `stored ${sec(tEngine, tStored)}, total ${sec(t0, performance.now())}`,
    );
    rmSync(file, { force: true });
    rmSync(twin, { force: true });
  });
}

// The cases llama.cpp's quantizer cannot write in a form the engine reads: named here so that the gap stays visible.
for (const c of allCases.filter((c) => problemOf(c) !== undefined)) {
  test(`${c.shape} × ${weightPlanName(c.plan)}: not in the matrix: llama.cpp's file needs a type the engine does not read`, () => {
    assert.match(problemOf(c)!, /Q5_0, which the engine does not read/);
    console.log(`${c.shape} × ${weightPlanName(c.plan)}: ${problemOf(c)}`);
  });
}
