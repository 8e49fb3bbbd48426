// `npm run eval` end to end on the fixture corpus (test/unit/evalFixture.ts) with a model exported from a random-weight
// checkpoint in the trainer's format: the engine (lavapipe here) answers every askable question dense and with Quest
// from one prefill, the scores agree with the answers, Quest with a budget covering every page answers exactly as
// dense, the passkey row is there, the results file is written and the model card's section is filled from it.
// Exact match is ~0 with random weights: the scoring itself is checked on hand-made cases in evalScore.test.ts, and so
// is a run without attention citations (its columns are null, never 0).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { after, before, test } from 'node:test';
import { cardBegin, cardEnd, renderEval, writeCard } from '../../eval/report';
import { runEval } from '../../eval/run';
import { exactMatch, firstTokenRight } from '../../eval/score';
import type { Gpu } from '../../gpu/device';
import { openGpu } from '../../gpu/device';
import { readCheckpoint } from '../../model/export/checkpoint';
import { exportGguf, quantPlans } from '../../model/export/ggufExport';
import { fixtureAskable, fixtureFiles, writeFixtureCorpus } from '../unit/evalFixture';
import { repoRoot } from '../util/paths';

const tmp = mkdtempSync(join(tmpdir(), 'ql-eval-run-'));
const corpus = writeFixtureCorpus(join(tmp, 'corpus'));
const model = join(tmp, 'random.gguf');
let gpu: Gpu;

before(async () => {
  const ckpt = join(tmp, 'ckpt');
  const config = { layers: 2, dim: 64, ffn: 256, heads: 4, kvHeads: 2, headDim: 16, vocab: 50281, normEps: 1e-5, ropeTheta: 10000, contextLength: 512 };
  const r = spawnSync('python3', [join(repoRoot, 'model/train/reference.py'), 'random', ckpt, '--config', JSON.stringify(config), '--seed', '5', '--scale', '2'], { encoding: 'utf8' });
  assert.equal(r.status, 0, `reference.py random failed: ${r.stderr}`);
  await exportGguf(readCheckpoint(ckpt), model, { plan: quantPlans.mixed });
  gpu = await openGpu();
});
after(() => {
  gpu?.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

test('the evaluation runs end to end through the engine and writes results the model card is filled from', async () => {
  const lines: string[] = [];
  const configs = ['dense', 'quest 32', 'quest 512'];
  const { result, file } = await runEval(
    {
      model,
      corpus,
      lengths: [512],
      budgets: [32, 512],
      maxQuestions: 100,
      perWorkspace: 100,
      workspaces: { count: 2 },
      passkeys: 1,
      pageSize: 16,
      denseLayers: 1,
      aggregation: 'sum',
    attentionLayers: undefined,
      seed: 1,
      timeLimit: Infinity,
      out: join(tmp, 'results'),
    },
    gpu,
    { log: (l) => lines.push(l), command: 'test' },
  );

  // One multi-root workspace (both packages are small), every askable question, each in every configuration.
  assert.equal(result.workspaces.length, 1);
  assert.deepEqual([...result.workspaces[0].packages].sort(), ['@scope/demo-b', 'demo-a']);
  assert.ok(result.workspaces[0].contextTokens <= 512 - 160, `the context leaves the reserve free (${result.workspaces[0].contextTokens} tokens)`);
  assert.deepEqual(result.records.map((r) => `${r.task} ${r.name} → ${r.package}/${r.path}:${r.line}`).sort(), [...fixtureAskable].sort());
  assert.deepEqual(result.configs, configs);
  for (const r of result.records) {
    assert.deepEqual(Object.keys(r.answers), configs, `${r.name}: every configuration answered`);
    for (const [config, a] of Object.entries(r.answers)) {
      assert.ok(a.tokens.length >= 1 && a.tokens.length <= r.expectedTokens.length + 8, `${r.name} ${config}: ${a.tokens.length} answer tokens`);
      assert.equal(a.exact, exactMatch(a.text, r.expected, a.stopped), `${r.name} ${config}: exact`);
      assert.equal(a.firstToken, firstTokenRight(a.tokens, r.expectedTokens), `${r.name} ${config}: first token`);
      // Every answer is cited from its attention, to lines of a file of the context.
      assert.ok(a.cited, `${r.name} ${config}: an attention citation`);
      const text = fixtureFiles[result.workspaces[0].packages[a.cited.folder]]?.[a.cited.path];
      assert.ok(text !== undefined, `${r.name} ${config}: cited ${a.cited.folder}:${a.cited.path} is a context file`);
      assert.ok(a.cited.line >= 1 && a.cited.endLine >= a.cited.line && a.cited.endLine <= text.split('\n').length, `${r.name} ${config}: cited lines exist`);
      assert.equal(a.citationFile, result.workspaces[0].packages[a.cited.folder] === r.package && a.cited.path === r.path);
    }
    // 32 pages of 16 tokens hold the whole cache: Quest reads every page, as dense does.
    assert.deepEqual(r.answers['quest 512'].tokens, r.answers.dense.tokens, `${r.name}: quest 512 decodes as dense`);
    assert.equal(r.answers['quest 512'].firstToken, r.answers['quest 32'].firstToken, `${r.name}: the first token comes from the same prefill in every mode`);
  }
  assert.equal(result.citations.available, true);
  for (const s of result.summary) {
    assert.ok(s.citationFile !== null && s.citationLine !== null && s.citationLine <= s.citationFile, `${s.config} ${s.task}: citations measured`);
    assert.equal(s.questions, result.records.filter((r) => s.task === 'all' || r.task === s.task).length);
  }
  assert.deepEqual(result.passkey.map((p) => [p.length, p.keys, Object.keys(p.accuracy)]), [[512, 1, configs]]);
  assert.ok(result.passkey[0].promptTokens <= 512 - 8, `passkey prompt of ${result.passkey[0].promptTokens} tokens leaves room for the answer`);
  assert.equal(result.model.answerStyle, 'line');
  assert.match(result.model.sha256, /^[0-9a-f]{64}$/);
  assert.equal(result.device.isSoftware, gpu.summary.isSoftware);
  assert.match(result.runtime.webgpu, /^\d+\.\d+\.\d+$/, 'the webgpu version is found from a CommonJS bundle too');
  assert.ok(file.endsWith('.json.gz'), `${file}: results are written gzip-compressed`);
  assert.deepEqual(JSON.parse(gunzipSync(readFileSync(file)).toString('utf8')), JSON.parse(JSON.stringify(result)), 'the results file holds the result');
  assert.ok(lines.some((l) => l.includes('pass keys')), 'progress is logged');

  // The model card: only the marked section changes.
  const card = join(tmp, 'README.md');
  writeFileSync(card, `# Card\n\nbefore\n${cardBegin}\nold tables\n${cardEnd}\nafter\n`);
  writeCard(file, card);
  const text = readFileSync(card, 'utf8');
  assert.ok(text.startsWith(`# Card\n\nbefore\n${cardBegin}\n`) && text.endsWith(`${cardEnd}\nafter\n`), 'the text around the markers is kept');
  assert.ok(!text.includes('old tables'));
  assert.ok(text.includes(renderEval(result, file)));
  assert.match(text, /\| 512 \| dense \| 5 \| \d+\.\d% \|/);
  assert.match(text, /\| 512 \| \d+ \| 1 \| \d+\.\d% \| \d+\.\d% \| \d+\.\d% \|/, 'the passkey row');
  assert.doesNotMatch(text, /not measured/);
});

test('without --page-size and --dense-layers the evaluation uses what the model recommends (questlens.*, from the exporter) and records it', async () => {
  const { result } = await runEval(
    {
      model,
      corpus,
      lengths: [256],
      budgets: [64],
      maxQuestions: 1,
      perWorkspace: 1,
      workspaces: { count: 1 },
      passkeys: 0,
      pageSize: undefined,
      denseLayers: undefined,
      aggregation: 'sum',
    attentionLayers: undefined,
      seed: 1,
      timeLimit: Infinity,
      out: join(tmp, 'results-default-page'),
    },
    gpu,
    { log: () => {}, command: 'test' },
  );
  assert.equal(result.settings.pageSize, 4);
  // The exporter's 4 dense layers and 2 attention layers, clamped to this 2-layer model: the values used, not null.
  assert.deepEqual([result.settings.denseLayers, result.settings.attentionLayers], [2, 2]);
  assert.equal(result.records.length, 1);
});
