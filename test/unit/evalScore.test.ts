// The evaluation's scoring (eval/score.ts) and summary (eval/summary.ts) on hand-made cases, right and wrong.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EvalAnswer, EvalRecord } from '../../eval/results';
import { citationFileRight, citationLineRight, exactMatch, firstTokenRight } from '../../eval/score';
import { summarize } from '../../eval/summary';

test('exact match: the quoted line, whitespace at the ends ignored, only when the model stopped', () => {
  const line = 'export function add(a, b) {';
  assert.equal(exactMatch(' export function add(a, b) {', line, true), true, 'the leading space of the first token');
  assert.equal(exactMatch('export function add(a, b) {\n', `  ${line}`, true), true, 'indentation dropped from the quote');
  assert.equal(exactMatch(line, line, false), false, 'cut off by the token limit: not an answer');
  assert.equal(exactMatch('export function add(a, b)', line, true), false, 'one character short');
  assert.equal(exactMatch('export function add(a,  b) {', line, true), false, 'inner whitespace counts');
  assert.equal(exactMatch('export function add(a, b) {\nmore', line, true), false, 'a second line');
  assert.equal(exactMatch('Export function add(a, b) {', line, true), false, 'case counts');
  assert.equal(exactMatch('  ', ' ', true), false, 'an empty expected line never matches');
});

test('first token: the first answer token id against the expected one', () => {
  assert.equal(firstTokenRight([1593, 2163], [1593, 751]), true);
  assert.equal(firstTokenRight([2163, 1593], [1593, 2163]), false, 'same tokens, wrong order');
  assert.equal(firstTokenRight([], [1593]), false, 'no answer token');
  assert.equal(firstTokenRight([1593], []), false);
});

test('citation file and line ±2: the cited range against the answer line', () => {
  const site = { folder: 1, path: 'lib/run.js', line: 10 };
  const cite = (line: number, endLine = line, path = 'lib/run.js', folder = 1) => ({ folder, path, line, endLine });
  assert.equal(citationFileRight(cite(40), site), true, 'right file, far line');
  assert.equal(citationFileRight(cite(10, 10, 'lib/run.js', 0), site), false, 'same path in another workspace folder');
  assert.equal(citationFileRight(cite(10, 10, 'lib/run.ts'), site), false);
  assert.equal(citationFileRight(undefined, site), false, 'no citation');
  assert.equal(citationLineRight(cite(10), site), true);
  assert.equal(citationLineRight(cite(12), site), true, '2 lines below');
  assert.equal(citationLineRight(cite(13), site), false, '3 lines below');
  assert.equal(citationLineRight(cite(8), site), true, '2 lines above');
  assert.equal(citationLineRight(cite(5, 7), site), false, 'range ends 3 lines above');
  assert.equal(citationLineRight(cite(5, 8), site), true, 'range ends 2 lines above');
  assert.equal(citationLineRight(cite(3, 30), site), true, 'range holds the line');
  assert.equal(citationLineRight(cite(10, 10, 'lib/other.js'), site), false, 'right line, wrong file');
  assert.equal(citationLineRight(cite(11), site, 0), false, 'no slack');
});

test('summary: shares per length, configuration and task; citation columns null when no citation was measured', () => {
  const answer = (exact: boolean, firstToken: boolean, citationFile: boolean, citationLine: boolean): EvalAnswer => ({
    text: '',
    tokens: [1],
    stopped: true,
    exact,
    firstToken,
    citationFile,
    citationLine,
    decodeMs: 1,
  });
  const record = (length: number, task: 'definition' | 'signature', dense: EvalAnswer, quest: EvalAnswer): EvalRecord => ({
    length,
    workspace: 0,
    task,
    name: 'x',
    package: 'p',
    path: 'a.js',
    line: 1,
    question: 'q',
    expected: 'e',
    expectedTokens: [1],
    answers: { dense, 'quest 64': quest },
  });
  const records = [
    record(512, 'definition', answer(true, true, true, false), answer(false, true, false, false)),
    record(512, 'definition', answer(false, true, true, true), answer(false, false, true, true)),
    record(512, 'signature', answer(true, false, false, false), answer(true, false, false, false)),
    record(1024, 'signature', answer(false, false, false, false), answer(true, true, true, true)),
  ];
  const rows = summarize(records, ['dense', 'quest 64'], true);
  const get = (length: number, config: string, task: string) => rows.find((r) => r.length === length && r.config === config && r.task === task);
  assert.deepEqual(get(512, 'dense', 'all'), { length: 512, config: 'dense', task: 'all', questions: 3, exact: 2 / 3, firstToken: 2 / 3, citationFile: 2 / 3, citationLine: 1 / 3 });
  assert.deepEqual(get(512, 'quest 64', 'definition'), { length: 512, config: 'quest 64', task: 'definition', questions: 2, exact: 0, firstToken: 0.5, citationFile: 0.5, citationLine: 0.5 });
  assert.deepEqual(get(1024, 'quest 64', 'signature'), { length: 1024, config: 'quest 64', task: 'signature', questions: 1, exact: 1, firstToken: 1, citationFile: 1, citationLine: 1 });
  assert.equal(get(1024, 'dense', 'definition'), undefined, 'no definition questions at 1024: no row');
  for (const r of summarize(records, ['dense', 'quest 64'], false)) {
    assert.equal(r.citationFile, null);
    assert.equal(r.citationLine, null);
  }
});
