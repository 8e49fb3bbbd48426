// Numbers from command-line option strings (quest-lens ask and generate, eval/options.ts): one rule and one wording,
// "--NAME must be an integer [>= MIN], got 'VALUE'", so every command reports a bad value alike.

/** Makes the error a command throws for a bad value: a plain Error here; eval/ makes its UsageError (usage appended). */
export type FlagError = (message: string) => Error;

const plain: FlagError = (message) => new Error(message);

// Number('') and Number(' ') are 0 and Number('0x10') is 16: only plain decimal text counts.
const decimal = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;
const parse = (v: string | undefined): number => (v !== undefined && decimal.test(v.trim()) ? Number(v) : NaN);

/** --`name`'s value `v` as an integer, at least `min` when one is given; else `fail`'s error naming the option. */
export function integerFlag(name: string, v: string | undefined, min?: number, fail: FlagError = plain): number {
  const n = parse(v);
  if (!(Number.isInteger(n) && (min === undefined || n >= min))) {
    throw fail(`--${name} must be an integer${min === undefined ? '' : ` >= ${min}`}, got '${v}'`);
  }
  return n;
}

/** --`name`'s value `v` as a finite number; else an Error naming the option. */
export function numberFlag(name: string, v: string | undefined): number {
  const n = parse(v);
  if (!Number.isFinite(n)) throw new Error(`--${name} must be a number, got '${v}'`);
  return n;
}
