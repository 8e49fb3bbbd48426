// `quest-lens ask` and `generate` with no --model, as the README's quick start runs them: the built CLI loads the
// built-in model (model/default.gguf beside dist/), says so and what it can answer, and asks in the format that
// model was trained on (questlens.prompt_format quest-lens-qa-1: `// Q: …\n// A:` after the files), so its answer
// starts with the name asked about (name-first). Whether the quoted line is right is the evaluation's business
// (`npm run eval`), not this test's. Small contexts: the real 30 MiB model runs slowly on lavapipe.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { encode } from 'gpt-tokenizer/encoding/p50k_base';
import type { AskJson } from '../../gpu/ask';
import { questionPart } from '../../model/corpus/promptFormat';
import { repoRoot } from '../util/paths';
import { builtCli, citedLines, workspaceCopy } from './askFixture';

const cli = builtCli();
const builtin = join(repoRoot, 'model', 'default.gguf');
const ws = workspaceCopy('ql-ask-builtin-');
after(() => rmSync(dirname(ws), { recursive: true, force: true }));

function run(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 540_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The notice every command without --model prints: which model, what it answers and does not, the way to a larger one. */
function assertNotice(stderr: string): void {
  assert.ok(stderr.includes(`no --model given: using the built-in model ${builtin}`), stderr);
  assert.match(stderr, /it answers where-is, definition and signature questions by quoting your code .*; it does not explain code or write code/);
  assert.match(stderr, /for open questions give a larger GGUF model: --model FILE\.gguf/);
}

test('ask without --model: the built-in model, asked in its trained format, answers name-first and cites real lines', { timeout: 600_000 }, () => {
  const question = 'Where is `cartTotal` defined?';
  const r = run(['ask', '--workspace', ws, '--context', '512', '--max-tokens', '40', '--no-cache', '--json', question]);
  assert.equal(r.code, 0, `exit code ${r.code}; stderr:\n${r.stderr}`);
  assertNotice(r.stderr);
  assert.doesNotMatch(r.stderr, /not one the built-in model was trained on/);
  const result = JSON.parse(r.stdout) as AskJson;
  // No --page-size: the model's recommended page size (questlens.page_size 4), said on stderr too.
  assert.deepEqual(result.model, { path: builtin, builtin: true, pageSize: 4 });
  assert.match(r.stderr, /pages of 4 \(the model's recommendation\)/);
  // The question part is exactly promptFormat.ts's, in p50k_base tokens (the model's vocabulary).
  assert.equal(result.questionTokens, encode(questionPart(question)).length);
  // Name-first: the trained answer opens with ` cartTotal:`; the model sometimes copies the name's tokens from the
  // question instead, without the space.
  assert.match(result.answer, /^ ?cartTotal:/, `a name-first answer, got ${JSON.stringify(result.answer)}`);
  assert.equal(result.reason, 'stop', `the model ends its answer with <|endoftext|>: ${JSON.stringify(result.answer)}`);
  assert.ok(result.citations.some((c) => c.source === 'attention'), 'attention citations');
  for (const c of result.citations) citedLines(ws, c.file, c.line, c.endLine);
});

test('generate without --model uses the built-in model and says so', { timeout: 600_000 }, () => {
  const r = run(['generate', '--prompt', '// File: a/b.ts\nexport const answer = 42;\n', '--max-tokens', '3', '--context', '64', '--greedy']);
  assert.equal(r.code, 0, `exit code ${r.code}; stderr:\n${r.stderr}`);
  assertNotice(r.stderr);
  assert.match(r.stderr, /\[quest-lens\] default\.gguf on .*decode 3 tokens/);
});
