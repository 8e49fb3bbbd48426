// Which held-out questions the evaluation asks and what it expects (eval/questions.ts), on the fixture corpus packed
// by the extension's reader with the default model's tokenizer; the package choice and grouping (eval/heldout.ts);
// the options' defaults per adapter (eval/options.ts).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { encode as p50kEncode } from 'gpt-tokenizer/encoding/p50k_base';
import { HeldOutError, choosePackages, readHeldOut, workspaceGroups, type HeldOutPackage } from '../../eval/heldout';
import { UsageError, evalLayers, evalOptions, evalPageSize, parseCommand } from '../../eval/options';
import { type EvalQuestion, chooseQuestions } from '../../eval/questions';
import { collectFiles } from '../../extension/context/collectFiles';
import { packContext } from '../../extension/context/packContext';
import { packerTokenizer } from '../../gpu/session/contextTokenizer';
import { p50kTokenizerMetadata } from '../../gpu/tokenizer/p50k';
import { createTokenizer } from '../../gpu/tokenizer/tokenizer';
import { corpusSkipDirs } from '../../model/corpus/packagePacker';
import { fixtureAskable, writeFixtureCorpus } from './evalFixture';

const dir = writeFixtureCorpus(mkdtempSync(join(tmpdir(), 'ql-eval-q-')));
after(() => rmSync(dir, { recursive: true, force: true }));
const tok = createTokenizer(p50kTokenizerMetadata());
const questionTok = {
  encode: (t: string) => tok.encode(t, { addBos: false, parseSpecial: false }),
  decode: (ids: readonly number[]) => tok.decode(ids),
  tokenBytes: (id: number) => tok.tokenBytes(id),
};

async function packed(packages: readonly HeldOutPackage[]) {
  const c = await collectFiles({ folders: packages.map((p) => ({ name: p.package, path: p.dir })), useGitignore: false, skipDirs: corpusSkipDirs, order: 'path' });
  return packContext({ files: c.files, tokenizer: packerTokenizer(tok), pageSize: 16 });
}

async function ask(style: 'line' | 'name-first', max = 100): Promise<{ questions: EvalQuestion[]; packages: HeldOutPackage[] }> {
  const packages = [...readHeldOut(dir).packages];
  const ctx = await packed(packages);
  const lines = (folder: number, path: string) => readFileSync(join(packages[folder].dir, path), 'utf8').split('\n');
  return { questions: chooseQuestions(ctx.manifest, ctx.tokens, packages, lines, questionTok, { answerStyle: style, seed: 1, max }), packages };
}

test('questions: one right line per question, by the trainer’s rules, with a unique line text', async () => {
  const { questions, packages } = await ask('line');
  const got = questions.map((q) => `${q.task} ${q.name} → ${packages[q.folder].package}/${q.path}:${q.line}`).sort();
  assert.deepEqual(got, [...fixtureAskable].sort());
  for (const q of questions) {
    const line = readFileSync(join(packages[q.folder].dir, q.path), 'utf8').split('\n')[q.line - 1];
    assert.equal(q.expectedText.trim(), line.trim(), `${q.task} ${q.name}: the expected answer is the line's text`);
    assert.deepEqual(q.expectedTokens, p50kEncode(q.expectedText), `${q.task} ${q.name}: the expected tokens are gpt-tokenizer's for that text`);
    assert.equal(q.package, packages[q.folder].package);
    assert.match(q.question, new RegExp(`\`${q.name}\``), 'the question names the name');
  }
  const run = questions.find((q) => q.name === 'run' && q.task === 'definition')!;
  assert.equal(run.expectedText, ' function run(task) {', 'the indentation tokens are dropped, the first token keeps its space');
});

test('questions: name-first answers start with ` NAME:`; max picks a seeded subset', async () => {
  const { questions } = await ask('name-first');
  const add = questions.find((q) => q.name === 'add' && q.task === 'definition')!;
  assert.equal(add.expectedText, ' add:export function add(a, b) {');
  assert.deepEqual(add.expectedTokens.slice(0, 2), p50kEncode(' add:'));
  const two = (await ask('line', 2)).questions;
  assert.equal(two.length, 2);
  assert.deepEqual(two, (await ask('line', 2)).questions, 'the same subset every time');
  assert.deepEqual(
    two.map((q) => `${q.task} ${q.name}`),
    (await ask('line')).questions.slice(0, 2).map((q) => `${q.task} ${q.name}`),
    'the subset is the head of the seeded order',
  );
});

test('packages: seeded order, by name, unknown names rejected; grouping fills about one context length', () => {
  const set = readHeldOut(dir);
  assert.deepEqual(choosePackages(set, { count: 2 }, 1), choosePackages(set, { count: 2 }, 1));
  assert.deepEqual(choosePackages(set, { names: ['@scope/demo-b'] }, 1).map((p) => p.package), ['@scope/demo-b']);
  assert.throws(() => choosePackages(set, { names: ['left-pad'] }, 1), HeldOutError);
  assert.throws(() => readHeldOut(join(dir, 'nowhere')), /heldout-questions\.json does not exist/);
  const p = (name: string) => ({ package: name, definitions: [], dir: name });
  const sizes: Record<string, number> = { a: 1000, b: 2000, c: 20000, d: 100, e: 100 };
  const groups = workspaceGroups([p('a'), p('b'), p('c'), p('d'), p('e')], 1024, (x) => sizes[x.package]);
  // 0.3 tokens per byte: a+b = 900 < 1024 so c joins them; d+e = 60 is the short tail.
  assert.deepEqual(groups.map((g) => g.map((x) => x.package).join('+')), ['a+b+c', 'd+e']);
});

test('page size: --page-size wins, else the model recommendation (questlens.page_size), else 16; every budget holds a page', () => {
  const none = evalOptions(parseCommand(['--budgets', '8,128']).values, false);
  assert.equal(none.pageSize, undefined, 'no --page-size: decided once the model is read');
  assert.equal(evalPageSize(none, 8), 8);
  assert.throws(() => evalPageSize(none, undefined), /--budgets 8 is less than one page \(the default page size 16\)/);
  assert.throws(() => evalPageSize(none, 16), /--budgets 8 is less than one page \(the model's recommended page size 16\)/);
  const given = evalOptions(parseCommand(['--page-size', '32']).values, false);
  assert.equal(given.pageSize, 32);
  assert.equal(evalPageSize(given, 8), 32);
  assert.equal(evalPageSize(evalOptions(parseCommand([]).values, false), undefined), 16);
});

test('dense and attention layers: the flag wins, then the model recommendation, then 2 and 4; clamped to the layers', () => {
  const none = { denseLayers: undefined, attentionLayers: undefined };
  const builtin = { layers: 8, recommendedDenseLayers: 4, recommendedAttentionLayers: 2 };
  assert.deepEqual(evalLayers(none, builtin), { denseLayers: 4, attentionLayers: 2 });
  assert.deepEqual(evalLayers(none, { layers: 8 }), { denseLayers: 2, attentionLayers: 4 });
  assert.deepEqual(evalLayers({ denseLayers: 2, attentionLayers: 4 }, builtin), { denseLayers: 2, attentionLayers: 4 }, 'the defaults given explicitly still win');
  assert.deepEqual(evalLayers({ denseLayers: 0, attentionLayers: 1 }, builtin), { denseLayers: 0, attentionLayers: 1 });
  assert.deepEqual(evalLayers({ denseLayers: 12, attentionLayers: 12 }, builtin), { denseLayers: 8, attentionLayers: 8 });
  assert.deepEqual(evalLayers(none, { layers: 1 }), { denseLayers: 1, attentionLayers: 1 });
});

test('options: GPU and software defaults; bad values named', () => {
  const gpu = evalOptions(parseCommand([]).values, false);
  assert.deepEqual(gpu.lengths, [4096, 8192, 16384]);
  assert.deepEqual(gpu.budgets, [128, 256, 512, 1024, 2048]);
  assert.equal(gpu.timeLimit, 480);
  assert.equal(gpu.maxQuestions, 240);
  const sw = evalOptions(parseCommand(['--lengths', '512,768']).values, true);
  assert.deepEqual(sw.lengths, [512, 768]);
  assert.equal(sw.timeLimit, Infinity);
  assert.equal(gpu.attentionLayers, undefined, "no --attention-layers: the model's recommendation, else 4");
  assert.equal(gpu.denseLayers, undefined, "no --dense-layers: the model's recommendation, else 2");
  assert.equal(evalOptions(parseCommand(['--dense-layers', '0']).values, false).denseLayers, 0);
  assert.throws(() => evalOptions(parseCommand(['--dense-layers=-1']).values, false), /--dense-layers must be an integer >= 0, got '-1'/);
  assert.equal(evalOptions(parseCommand(['--attention-layers', '8']).values, false).attentionLayers, 8);
  assert.throws(() => evalOptions(parseCommand(['--attention-layers', '0']).values, false), /--attention-layers must be an integer >= 1, got '0'/);
  assert.deepEqual(evalOptions(parseCommand(['--workspaces', 'a,@s/b']).values, true).workspaces, { names: ['a', '@s/b'] });
  assert.throws(() => evalOptions(parseCommand(['--budgets', '128,x']).values, false), /--budgets must be an integer >= 1, got 'x'/);
  assert.throws(() => evalOptions(parseCommand(['--budgets', '8,128', '--page-size', '16']).values, false), /--budgets 8 is less than one page \(--page-size 16\)/);
  assert.throws(() => parseCommand(['--bogus']), UsageError);
  assert.throws(() => parseCommand(['tables']), /unknown command 'tables'/);
  assert.equal(parseCommand(['report', 'r.json']).command, 'report');
});
