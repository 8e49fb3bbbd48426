// extension/chat/openTarget.ts: where a webview's 'editor/open' may lead. The path is untrusted (model output, a
// heatmap click): only files inside a workspace folder open; absolute paths, '..', drive letters, URIs and symlinks
// that leave the folder are refused. Real folders in a temp dir, made at run time.
import assert from 'node:assert/strict';
import { mkdtempSync, realpathSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { type FolderRoot, resolveOpenTarget, type TargetFs } from '../../extension/chat/openTarget';
import { OpenTargetError } from '../../extension/errors';
import { writeTree } from './contextFixtures';

const root = realpathSync(mkdtempSync(join(tmpdir(), 'quest-lens-open-')));
after(() => rmSync(root, { recursive: true, force: true }));

writeTree(root, {
  app: {
    src: { 'a.ts': 'a\nb\nc\n', 'x..y.ts': 'dots\n' },
    'README.md': 'app\n',
    'escape.ts': { symlink: join(root, 'outside', 'secret.txt') },
    'inner.ts': { symlink: join(root, 'app', 'src', 'a.ts') },
  },
  lib: { src: { 'a.ts': 'lib a\n', 'b.ts': 'lib b\n' }, app: { 'README.md': 'lib/app/README\n', 'only.md': 'only in lib/app\n' } },
  outside: { 'secret.txt': 'secret\n' },
});
const folders: FolderRoot[] = [
  { name: 'app', path: join(root, 'app') },
  { name: 'lib', path: join(root, 'lib') },
];
const fs: TargetFs = {
  isFile: (p) => {
    try {
      return statSync(p).isFile();
    } catch {
      return false;
    }
  },
  realpath: (p) => realpathSync(p),
};

const refused = (path: string, why: RegExp, folder?: number) =>
  assert.throws(
    () => resolveOpenTarget({ path, line: 1, ...(folder !== undefined ? { folder } : {}) }, folders, fs),
    (err: unknown) => err instanceof OpenTargetError && why.test(err.message),
    `${JSON.stringify(path)} should be refused with ${why}`,
  );

test('a manifest path (folder index + relPath) opens in that folder', () => {
  const r = resolveOpenTarget({ path: 'src/a.ts', line: 2, endLine: 3, folder: 1 }, folders, fs);
  assert.deepEqual(r, { folder: 1, absPath: join(root, 'lib', 'src', 'a.ts'), line: 2, endLine: 3 });
});

test('without a folder: a leading folder name picks the folder, else the first folder that has the file', () => {
  assert.equal(resolveOpenTarget({ path: 'lib/src/a.ts', line: 1 }, folders, fs).absPath, join(root, 'lib', 'src', 'a.ts'));
  assert.equal(resolveOpenTarget({ path: 'src/a.ts', line: 1 }, folders, fs).absPath, join(root, 'app', 'src', 'a.ts'));
  assert.equal(resolveOpenTarget({ path: 'src/b.ts', line: 1 }, folders, fs).absPath, join(root, 'lib', 'src', 'b.ts'));
  // `app/README.md` is both "folder app, README.md" and "lib's app/README.md": the folder name wins.
  assert.equal(resolveOpenTarget({ path: 'app/README.md', line: 1 }, folders, fs).absPath, join(root, 'app', 'README.md'));
  // A leading folder name whose folder lacks the file falls back to the plain search.
  assert.equal(resolveOpenTarget({ path: 'app/only.md', line: 1 }, folders, fs).absPath, join(root, 'lib', 'app', 'only.md'));
  // With a folder index the path is inside that folder, whatever its first segment is called.
  assert.equal(resolveOpenTarget({ path: './app//README.md', line: 1, folder: 1 }, folders, fs).absPath, join(root, 'lib', 'app', 'README.md'));
});

test('backslashes and ./ segments are normalized; names with dots are not ".."', () => {
  assert.equal(resolveOpenTarget({ path: 'src\\a.ts', line: 1, folder: 0 }, folders, fs).absPath, join(root, 'app', 'src', 'a.ts'));
  assert.equal(resolveOpenTarget({ path: './src/./x..y.ts', line: 1, folder: 0 }, folders, fs).absPath, join(root, 'app', 'src', 'x..y.ts'));
});

test('lines: clamped to ≥ 1, endLine ≥ line, fractions floored', () => {
  const at = (line: number, endLine?: number) => {
    const r = resolveOpenTarget({ path: 'src/a.ts', line, ...(endLine !== undefined ? { endLine } : {}), folder: 0 }, folders, fs);
    return [r.line, r.endLine];
  };
  assert.deepEqual(at(0), [1, 1]);
  assert.deepEqual(at(-5, -2), [1, 1]);
  assert.deepEqual(at(3, 2), [3, 3]);
  assert.deepEqual(at(2.7, 9.2), [2, 9]);
  assert.deepEqual(at(Number.NaN), [1, 1]);
});

test('absolute paths, drive letters, UNC paths and URIs are refused', () => {
  refused(join(root, 'app', 'src', 'a.ts'), /absolute paths are refused/);
  refused('/etc/passwd', /absolute paths are refused/);
  refused('C:\\Windows\\win.ini', /absolute paths are refused/);
  refused('c:/x', /absolute paths are refused/);
  refused('\\\\server\\share\\a.ts', /absolute paths are refused/);
  refused('file:///etc/passwd', /URIs are refused/);
  refused('vscode://x/y', /URIs are refused/);
});

test('".." anywhere is refused, even when it would land back inside', () => {
  refused('../outside/secret.txt', /".." is refused/, 0);
  refused('src/../../outside/secret.txt', /".." is refused/);
  refused('src/../src/a.ts', /".." is refused/, 0);
  refused('..\\outside\\secret.txt', /".." is refused/);
});

test('a symlink inside a folder that points outside it is refused; one that stays inside opens', () => {
  refused('escape.ts', /link to a file outside the workspace folder app/, 0);
  assert.equal(resolveOpenTarget({ path: 'inner.ts', line: 1, folder: 0 }, folders, fs).absPath, join(root, 'app', 'inner.ts'));
});

test('missing files, bad folder indices, empty and NUL paths are refused with what was looked for', () => {
  refused('src/nope.ts', /no such file in the workspace folder app/, 0);
  refused('src/nope.ts', /no workspace folder \(app, lib\) has such a file/);
  refused('src/a.ts', /workspace folder 2 does not exist \(there are 2\)/, 2);
  refused('src/a.ts', /workspace folder -1 does not exist/, -1);
  refused('src', /no such file/, 0); // a folder is not a file
  refused('', /the path is empty/);
  refused('  ', /the path is empty/);
  refused('./.', /names no file/);
  refused('src/a.ts\0.png', /NUL/);
  assert.throws(() => resolveOpenTarget({ path: 'a.ts', line: 1 }, [], fs), /no workspace folder is open/);
});
