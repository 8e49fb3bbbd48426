// Numbers from command-line option strings (gpu/cliArgs.ts), as quest-lens ask, generate and eval read them: the
// rule, and the wording every command shares.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { integerFlag, numberFlag } from '../../gpu/cliArgs';

test('integerFlag: an integer string, at least min when one is given; else an error naming the option and the value', () => {
  assert.equal(integerFlag('budget', '512'), 512);
  assert.equal(integerFlag('seed', '-3'), -3, 'no min: any integer');
  assert.equal(integerFlag('passkeys', '0', 0), 0);
  assert.throws(() => integerFlag('budget', '1.5'), (e: unknown) => e instanceof Error && e.message === "--budget must be an integer, got '1.5'");
  assert.throws(() => integerFlag('context', undefined), /^Error: --context must be an integer, got 'undefined'$/);
  assert.throws(() => integerFlag('top-k', 'eight'), /--top-k must be an integer, got 'eight'/);
  assert.throws(() => integerFlag('steps', '0', 1), /^Error: --steps must be an integer >= 1, got '0'$/);
  // Number() would read these as 0 and 16.
  assert.throws(() => integerFlag('seed', ''), /--seed must be an integer, got ''/);
  assert.throws(() => integerFlag('seed', ' '), /--seed must be an integer, got ' '/);
  assert.throws(() => integerFlag('budget', '0x10'), /--budget must be an integer, got '0x10'/);
  assert.equal(integerFlag('budget', '1e3'), 1000);
});

test("integerFlag: the command's own error class (eval's UsageError appends its usage)", () => {
  class UsageError extends Error {}
  assert.throws(
    () => integerFlag('dense-layers', '-1', 0, (m) => new UsageError(m)),
    (e: unknown) => e instanceof UsageError && e.message === "--dense-layers must be an integer >= 0, got '-1'",
  );
});

test('numberFlag: any finite number; else an error naming the option and the value', () => {
  assert.equal(numberFlag('temperature', '0.7'), 0.7);
  assert.equal(numberFlag('top-p', '1'), 1);
  assert.throws(() => numberFlag('temperature', 'hot'), /^Error: --temperature must be a number, got 'hot'$/);
  assert.throws(() => numberFlag('top-p', 'Infinity'), /--top-p must be a number, got 'Infinity'/);
  assert.throws(() => numberFlag('top-p', undefined), /--top-p must be a number, got 'undefined'/);
  assert.throws(() => numberFlag('temperature', ''), /--temperature must be a number, got ''/);
  assert.equal(numberFlag('temperature', '.5'), 0.5);
});
