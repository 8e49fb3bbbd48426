import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GlobExpressionMatcher, globLiteralPrefix, globToRegExp } from '../../extension/context/globs';

const sensitive = { caseInsensitive: false };

// [pattern, path, matches] — VS Code semantics: the pattern covers the whole folder-relative path.
const cases: readonly [string, string, boolean][] = [
  ['**/node_modules', 'node_modules', true],
  ['**/node_modules', 'a/b/node_modules', true],
  ['**/node_modules', 'a/node_modules_x', false],
  ['**/.git', '.git', true],
  ['*.min.js', 'app.min.js', true],
  ['*.min.js', 'lib/app.min.js', false], // `*` stays within the top-level segment
  ['**/*.min.js', 'lib/deep/app.min.js', true],
  ['**/*.min.js', 'app.min.js', true],
  ['*', '.env', true], // `*` matches dotfiles in VS Code
  ['{a,b}.md', 'a.md', true],
  ['{a,b}.md', 'c.md', false],
  ['docs/{api,guide}/**', 'docs/api/x/y.md', true],
  ['docs/{api,guide}/**', 'docs/guide', true], // `dir/**` matches the folder itself, so walks can prune it
  ['docs/{api,guide}/**', 'docs/other/y.md', false],
  ['{**/*.html,**/*.txt}', 'x/y/z.txt', true],
  ['{**/*.html,**/*.txt}', 'x/y/z.md', false],
  ['**/*.{ts,tsx}', 'src/a.tsx', true],
  ['**/*.{ts,{js,mjs}}', 'src/a.mjs', true], // nested braces
  ['example.[0-9]', 'example.7', true],
  ['example.[0-9]', 'example.a', false],
  ['example.[!0-9]', 'example.a', true],
  ['example.[!0-9]', 'example.7', false],
  ['a?c', 'abc', true],
  ['a?c', 'a/c', false],
  ['build/', 'build/out.js', true], // trailing slash: the folder and what is in it
  ['build/', 'build', true],
  ['src/**/test/*.ts', 'src/test/a.ts', true], // `**` can be zero segments
  ['src/**/test/*.ts', 'src/x/y/test/a.ts', true],
  ['src/**/test/*.ts', 'src/x/test/deep/a.ts', false],
  ['a**b', 'axxb', true], // `**` inside a segment acts as `*`
  ['a**b', 'ax/xb', false],
  ['./src/*.ts', 'src/a.ts', true],
  ['file(1).txt', 'file(1).txt', true], // regex metacharacters are literal
  ['file+.txt', 'filee.txt', false],
  ['**', 'any/thing/at/all', true],
];

test('VS Code glob patterns match folder-relative paths as VS Code does', () => {
  const failures = cases.filter(([pattern, path, expected]) => globToRegExp(pattern, sensitive).test(path) !== expected);
  assert.deepEqual(failures, []);
});

test('glob case sensitivity follows the option', () => {
  assert.equal(globToRegExp('**/README.md', sensitive).test('docs/readme.md'), false);
  assert.equal(globToRegExp('**/README.md', { caseInsensitive: true }).test('docs/readme.md'), true);
});

test('an unclosed brace is an error that names the pattern', () => {
  assert.throws(() => globToRegExp('{a,b', sensitive), /glob "\{a,b": "\{" at 0 is never closed/);
});

test('literal prefixes are the leading segments without wildcards', () => {
  assert.equal(globLiteralPrefix('node_modules/left-pad/**'), 'node_modules/left-pad');
  assert.equal(globLiteralPrefix('**/*.ts'), '');
  assert.equal(globLiteralPrefix('src/{a,b}/x.ts'), 'src');
  assert.equal(globLiteralPrefix('config/secret.json'), 'config/secret.json');
  assert.equal(globLiteralPrefix('./vendor/lib/'), 'vendor/lib');
});

test('exclude expressions: true, false and when-sibling clauses', () => {
  const m = new GlobExpressionMatcher(
    { '**/*.js': { when: '$(basename).ts' }, '**/tmp': true, '**/*.log': false },
    sensitive,
  );
  assert.equal(m.match('src/a.js', new Set(['a.js', 'a.ts'])), '**/*.js (when $(basename).ts)');
  assert.equal(m.match('src/b.js', new Set(['b.js', 'a.ts'])), undefined);
  assert.equal(m.match('x/tmp'), '**/tmp');
  assert.equal(m.match('debug.log'), undefined, 'a pattern set to false is off');
  assert.equal(new GlobExpressionMatcher(['**/*.snap'], sensitive).match('a/b.snap'), '**/*.snap');
  assert.equal(new GlobExpressionMatcher(undefined, sensitive).isEmpty, true);
});
