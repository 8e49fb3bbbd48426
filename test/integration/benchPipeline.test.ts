// The pipeline bench (bench/pipelineBench.ts) on the real adapter: WorkspaceSession on a copy of a small source tree,
// each stage reusing what it should (nothing cold; the persisted file in a new session; memory for the next question;
// after an edit, the prefix up to the edited file's old position, then only that file once it is last).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type PipelineResult, benchPipeline, findRepoRoot } from '../../bench/pipelineBench';
import { type Gpu, openGpu } from '../../gpu/device';
import { GgmlType } from '../../gpu/model/ggmlTypes';
import type { SyntheticShape } from '../../gpu/model/syntheticModel';
import { repoRoot } from '../util/paths';

const dir = mkdtempSync(join(tmpdir(), 'quest-lens-bench-pipeline-'));
let gpu: Gpu;
before(async () => {
  gpu = await openGpu();
});
after(() => {
  gpu?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

// p50k_base's 50,281 tokens need as many embedding rows.
const shape: SyntheticShape = {
  architecture: 'llama', name: 'pipeline test llama', layers: 2, dim: 64, ffn: 128, heads: 4, kvHeads: 2, headDim: 16, vocab: 50281,
  contextLength: 4096, normEps: 1e-5, ropeTheta: 10000, tiedEmbeddings: true,
};

test('cold, warm from disk, warm in memory, and after editing one file twice: each stage prefills only what changed', async () => {
  // Six small files of different lengths, so that several fit the window and the middle one is not the last.
  const source = join(dir, 'source');
  for (let i = 0; i < 6; i++) {
    mkdirSync(join(source, 'src'), { recursive: true });
    const body = Array.from({ length: 6 + 3 * i }, (_, l) => `export const value${i}_${l} = ${l * 7 + i}; // line ${l} of file ${i}`).join('\n');
    writeFileSync(join(source, 'src', `file${i}.ts`), `${body}\n`);
  }
  const logs: string[] = [];
  const seen: PipelineResult[] = [];
  await benchPipeline({ gpu, tmpDir: join(dir, 'tmp'), source, log: (m) => logs.push(m) }, {
    shape,
    weightType: GgmlType.Q8_0,
    maxContext: 2048,
    pageSize: 16,
    folders: ['src'],
    question: 'Which file defines value3_4?',
    decode: { mode: 'dense', tokenBudget: 64, denseLayers: 1, aggregation: 'sum', temperature: 0, maxAnswerTokens: 2, seed: 0 },
  }, (r) => seen.push(r));
  const r = seen[seen.length - 1];
  assert.equal(r.workspace.files, 6);
  assert.equal(r.workspace.filesInContext, 6, logs.join('\n'));
  assert.equal(r.tokenizer, 'p50k_base');
  assert.deepEqual(r.stages.map((s) => [s.stage, s.reusedFrom]), [['cold', 'none'], ['warmDisk', 'disk'], ['warmMemory', 'memory'], ['editFirst', 'memory'], ['editAgain', 'memory']]);
  const [cold, disk, memory, editFirst, editAgain] = r.stages;
  assert.ok(cold.contextTokens > 200 && cold.prefilledTokens === cold.contextTokens && cold.persistMs !== undefined && cold.loadMs !== undefined);
  assert.ok(disk.loadMs !== undefined && disk.prefilledTokens === 0 && disk.contextTokens === cold.contextTokens);
  assert.equal(memory.prefilledTokens, 0);
  assert.equal(memory.loadMs, undefined);
  // The middle file moves to the end: reused up to its old start (and its header); everything after is prefilled.
  assert.ok(editFirst.editedTokenStart! > 0, `edited file starts at ${editFirst.editedTokenStart}`);
  assert.ok(editFirst.reusedTokens >= editFirst.editedTokenStart! && editFirst.reusedTokens < cold.contextTokens);
  assert.ok(editFirst.prefilledTokens > 0 && editFirst.persistMs !== undefined);
  // Edited again, the file is already last: only its own tokens after the common prefix are prefilled.
  assert.equal(editAgain.editedFile, editFirst.editedFile);
  assert.ok(editAgain.editedTokenStart! > editFirst.editedTokenStart!);
  assert.ok(editAgain.reusedTokens >= editAgain.editedTokenStart!);
  assert.ok(editAgain.prefilledTokens < editFirst.prefilledTokens, `${editAgain.prefilledTokens} !< ${editFirst.prefilledTokens}`);
  assert.equal(editAgain.contextTokens, editAgain.reusedTokens + editAgain.prefilledTokens);
  for (const s of r.stages) {
    assert.ok(s.answerTokens >= 1 && s.firstTokenMs > 0);
    assert.ok(s.timeToFirstTokenMs >= s.buildMs + s.prefillMs + s.firstTokenMs - 1, `${s.stage}: time to first token ${s.timeToFirstTokenMs}`);
  }
});

test('the repository is found from inside it, and a folder outside any is named', () => {
  assert.equal(findRepoRoot(join(repoRoot, 'bench', 'peer')), repoRoot);
  assert.throws(() => findRepoRoot(dir), /no Quest Lens repository .* pass --source DIR/);
});
