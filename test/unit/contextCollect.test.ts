import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { collectFiles, walkFiles, type CollectedFiles, type CollectOptions } from '../../extension/context/collectFiles';
import { ContextError } from '../../extension/context/errors';
import { failingFs, makeTree, manyFiles, setMtime, slowFs, withTree, writeTree } from './contextFixtures';

const folder = (path: string, name = 'ws') => [{ name, path }];
const collect = (path: string, extra: Partial<CollectOptions> = {}) =>
  collectFiles({ folders: folder(path), caseInsensitive: false, order: 'path', ...extra });
const keptPaths = (r: CollectedFiles) => r.files.map((f) => f.relPath).sort();
const skipOf = (r: CollectedFiles, path: string) => r.skipped.find((s) => s.path === `ws/${path}`);

function git(dir: string, ...args: string[]): string {
  try {
    return execFileSync('git', ['-c', 'core.excludesFile=/dev/null', ...args], { cwd: dir, encoding: 'utf8' });
  } catch (error) {
    throw new Error(`git ${args.join(' ')} failed in ${dir} (git is the oracle for .gitignore semantics: install git): ${error}`);
  }
}

test('nested .gitignore files (negation, folder and anchored patterns) and info/exclude keep exactly what git keeps', async () => {
  const dir = makeTree({});
  try {
    git(dir, 'init', '-q');
    writeTree(dir, {
      '.gitignore': '*.log\n!keep.log\nbuild/\n!build/keep.ts\n/anchored.txt\ndocs/**/*.tmp\n',
      'anchored.txt': 'root only\n',
      'keep.log': 'kept by !keep.log\n',
      'debug.log': 'ignored\n',
      build: { 'out.ts': 'ignored folder\n', 'keep.ts': 'a file in an ignored folder cannot be re-included\n' },
      'secret.env': 'ignored through .git/info/exclude\n',
      src: {
        '.gitignore': 'local.ts\n!important.log\n/only-here.ts\ngen/\n',
        'a.ts': 'export const a = 1;\n',
        'local.ts': 'ignored by src/.gitignore\n',
        'important.log': 're-included by the deeper file\n',
        'only-here.ts': 'anchored to src/\n',
        'anchored.txt': 'the root /anchored.txt does not reach here\n',
        gen: { 'x.ts': 'ignored folder\n' },
        build: { 'y.ts': 'build/ matches at any depth\n' },
        nested: {
          '.gitignore': '!local.ts\n',
          'local.ts': 're-included by the deepest file\n',
          'only-here.ts': 'not anchored here\n',
        },
      },
      docs: { guide: { 'a.tmp': 'x\n' }, 'b.tmp': 'x\n', 'readme.md': '# docs\n' },
    });
    writeFileSync(join(dir, '.git', 'info', 'exclude'), 'secret.env\n');
    const expected = [
      '.gitignore',
      'docs/readme.md',
      'keep.log',
      'src/.gitignore',
      'src/a.ts',
      'src/anchored.txt',
      'src/important.log',
      'src/nested/.gitignore',
      'src/nested/local.ts',
      'src/nested/only-here.ts',
    ];
    const result = await collect(dir);
    assert.deepEqual(keptPaths(result), expected);
    const oracle = git(dir, 'ls-files', '--others', '--exclude-standard').split('\n').filter(Boolean).sort();
    assert.deepEqual(keptPaths(result), oracle, 'git ls-files --others --exclude-standard disagrees');
    assert.deepEqual(skipOf(result, 'build/'), { path: 'ws/build/', reason: 'excluded', detail: '.gitignore: build/' });
    assert.deepEqual(skipOf(result, 'src/local.ts'), { path: 'ws/src/local.ts', reason: 'excluded', detail: 'src/.gitignore: local.ts' });
    assert.deepEqual(skipOf(result, 'secret.env'), { path: 'ws/secret.env', reason: 'excluded', detail: '.git/info/exclude: secret.env' });
    assert.equal(skipOf(result, '.git/')?.detail, 'version-control folder');
    // useGitignore: false keeps them all (the .git folder still goes).
    const all = await collect(dir, { useGitignore: false });
    assert.ok(keptPaths(all).includes('src/gen/x.ts') && keptPaths(all).includes('secret.env'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a workspace folder inside a repository gets the ancestors’ .gitignore files and info/exclude', async () => {
  const dir = makeTree({});
  try {
    git(dir, 'init', '-q');
    writeTree(dir, {
      '.gitignore': 'generated/\n*.snap\n',
      packages: { '.gitignore': 'scratch.ts\n', app: { 'index.ts': 'x\n', 'a.snap': 'x\n', 'scratch.ts': 'x\n', 'private.ts': 'x\n', generated: { 'g.ts': 'x\n' } } },
    });
    writeFileSync(join(dir, '.git', 'info', 'exclude'), 'private.ts\n');
    const result = await collect(join(dir, 'packages', 'app'));
    assert.deepEqual(keptPaths(result), ['index.ts']);
    assert.equal(skipOf(result, 'generated/')?.detail, '../../.gitignore: generated/');
    assert.equal(skipOf(result, 'a.snap')?.detail, '../../.gitignore: *.snap');
    assert.equal(skipOf(result, 'scratch.ts')?.detail, '../.gitignore: scratch.ts');
    assert.equal(skipOf(result, 'private.ts')?.detail, '../../.git/info/exclude: private.ts');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a nested repository does not inherit the outer rules and applies its own info/exclude', () =>
  withTree(
    {
      '.gitignore': '*.txt\n',
      'outer.txt': 'ignored\n',
      sub: { '.git': { info: { exclude: 'secret.md\n' } }, 'inner.txt': 'kept: outer rules stop here\n', 'secret.md': 'x\n', 'code.ts': 'x\n' },
    },
    async (dir) => {
      const result = await collect(dir);
      assert.deepEqual(keptPaths(result), ['.gitignore', 'sub/code.ts', 'sub/inner.txt']);
      assert.equal(skipOf(result, 'sub/secret.md')?.detail, 'sub/.git/info/exclude: secret.md');
    },
  ));

test('files.exclude, search.exclude, the extension’s include and exclude globs, and spelled-out includes', () =>
  withTree(
    {
      '.gitignore': 'node_modules/\n*.env\n',
      'package-lock.json': '{}\n',
      'local.env': 'A=1\n',
      src: { 'a.ts': 'x\n', 'a.js': 'compiled\n', 'b.js': 'hand-written\n', 'c.gen.ts': 'x\n', fixtures: { 'f.ts': 'x\n' }, 'skip-me.ts': 'x\n' },
      tmp: { 't.ts': 'x\n' },
      docs: { 'a.md': 'x\n', 'b.md': 'x\n', 'c.md': 'x\n' },
      node_modules: { 'left-pad': { 'index.js': 'module.exports = 1;\n' }, other: { 'index.js': 'x\n' } },
    },
    async (dir) => {
      const base = {
        filesExclude: { '**/*.js': { when: '$(basename).ts' }, tmp: true, 'docs/{a,b}.md': true, '**/*.md': false },
        searchExclude: ['**/fixtures/**'],
      };
      const r1 = await collect(dir, base);
      assert.deepEqual(keptPaths(r1), ['.gitignore', 'docs/c.md', 'src/a.ts', 'src/b.js', 'src/c.gen.ts', 'src/skip-me.ts']);
      assert.equal(skipOf(r1, 'src/a.js')?.detail, 'files.exclude "**/*.js (when $(basename).ts)"');
      assert.equal(skipOf(r1, 'tmp/')?.detail, 'files.exclude "tmp"');
      assert.equal(skipOf(r1, 'src/fixtures/')?.detail, 'search.exclude "**/fixtures/**"');
      assert.equal(skipOf(r1, 'node_modules/')?.detail, 'default skip list ("node_modules")');

      // Include narrows; exclude wins over include; a spelled-out include brings one package out of node_modules
      // (past both the default skip list and .gitignore) and nothing else from it.
      assert.equal(skipOf(r1, 'package-lock.json')?.reason, 'lock-file');
      assert.equal(skipOf(r1, 'local.env')?.detail, '.gitignore: *.env');
      const include = ['src/**', 'node_modules/left-pad/**', 'package-lock.json', 'local.env'];
      const r2 = await collect(dir, { ...base, include, exclude: ['**/skip-me.ts', '**/*.gen.ts'] });
      assert.deepEqual(keptPaths(r2), ['local.env', 'node_modules/left-pad/index.js', 'package-lock.json', 'src/a.ts', 'src/b.js']);
      assert.equal(skipOf(r2, 'src/skip-me.ts')?.detail, 'exclude glob "**/skip-me.ts"');
      assert.equal(skipOf(r2, 'docs/')?.detail, 'outside the include globs');
      assert.equal(skipOf(r2, 'node_modules/other/')?.detail, 'outside the include globs');
    },
  ));

test('lock files, binary extensions, generated names and the size cap are skipped by name and stat alone', () =>
  withTree(
    {
      'package-lock.json': '{}\n',
      'yarn.lock': '#\n',
      'Cargo.lock': '#\n',
      'poetry.lock': '#\n',
      'logo.png': 'not really a png\n',
      'app.min.js': 'x\n',
      'app.js.map': '{}\n',
      'huge.ts': 'x'.repeat(2000),
      'ok.ts': 'x\n',
    },
    async (dir) => {
      const r = await collect(dir, { maxFileBytes: 1000 });
      assert.deepEqual(keptPaths(r), ['ok.ts']);
      const reasons = Object.fromEntries(r.skipped.map((s) => [s.path, s.reason]));
      assert.deepEqual(reasons, {
        'ws/Cargo.lock': 'lock-file',
        'ws/app.js.map': 'minified',
        'ws/app.min.js': 'minified',
        'ws/huge.ts': 'too-large',
        'ws/logo.png': 'binary',
        'ws/package-lock.json': 'lock-file',
        'ws/poetry.lock': 'lock-file',
        'ws/yarn.lock': 'lock-file',
      });
      assert.equal(skipOf(r, 'huge.ts')?.detail, '2000 bytes > the 1000-byte cap');
      // The default cap is 1 MiB.
      writeFileSync(join(dir, 'big.txt'), Buffer.alloc(1024 * 1024 + 1, 0x61));
      assert.equal(skipOf(await collect(dir), 'big.txt')?.reason, 'too-large');
    },
  ));

test('unreadable entries are reported: a folder that cannot be listed (EACCES), a named pipe, a broken symlink', () =>
  withTree({ locked: { 'a.ts': 'x\n' }, 'ok.ts': 'x\n', dangling: { symlink: 'does-not-exist.ts' } }, async (dir) => {
    execFileSync('mkfifo', [join(dir, 'pipe')]);
    const fs = failingFs({ readdir: (p) => (p.endsWith('locked') ? 'EACCES' : undefined) });
    const r = await collect(dir, { fs });
    assert.deepEqual(keptPaths(r), ['ok.ts']);
    assert.deepEqual(skipOf(r, 'locked/'), { path: 'ws/locked/', reason: 'unreadable', detail: 'folder cannot be listed: EACCES' });
    assert.deepEqual(skipOf(r, 'pipe'), { path: 'ws/pipe', reason: 'unreadable', detail: 'not a regular file (a named pipe)' });
    assert.deepEqual(skipOf(r, 'dangling'), { path: 'ws/dangling', reason: 'unreadable', detail: 'broken symlink: its target does not exist' });
    const lstatFails = await collect(dir, { fs: failingFs({ lstat: (p) => (p.endsWith('ok.ts') ? 'EIO' : undefined) }) });
    assert.deepEqual(skipOf(lstatFails, 'ok.ts'), { path: 'ws/ok.ts', reason: 'unreadable', detail: 'cannot be read: EIO' });
  }));

test('symlinks: loops are reported, file links inside the workspace are followed once, others are left out', async () => {
  const outside = makeTree({ 'outside.ts': 'x\n' });
  try {
    await withTree(
      {
        '.gitignore': 'ignored/\n',
        src: { 'a.ts': 'export const a = 1;\n', back: { symlink: '..' }, again: { symlink: '../src' } },
        ignored: { 'gen.ts': 'x\n' },
        'alias.ts': { symlink: 'src/a.ts' },
        'alias2.ts': { symlink: 'src/a.ts' },
        'gen-link.ts': { symlink: 'ignored/gen.ts' },
        'self': { symlink: 'self' },
        'ping': { symlink: 'pong' },
        'pong': { symlink: 'ping' },
        'out.ts': { symlink: join(outside, 'outside.ts') },
        'lib': { symlink: 'src' },
      },
      async (dir) => {
        const r = await collect(dir);
        assert.deepEqual(keptPaths(r), ['.gitignore', 'gen-link.ts', 'src/a.ts']);
        const link = r.files.find((f) => f.relPath === 'gen-link.ts');
        assert.deepEqual(link?.linkTarget, { folder: 0, relPath: 'ignored/gen.ts' });
        const reasons = Object.fromEntries(r.skipped.map((s) => [s.path, s.reason]));
        assert.equal(reasons['ws/src/back/'], 'symlink-loop');
        assert.equal(reasons['ws/self'], 'symlink-loop');
        assert.equal(reasons['ws/ping'], 'symlink-loop');
        assert.equal(reasons['ws/pong'], 'symlink-loop');
        assert.equal(reasons['ws/src/again/'], 'symlink-loop', 'a link to the folder that holds it');
        assert.equal(reasons['ws/lib/'], 'excluded', 'a link to a sibling folder is not followed');
        assert.equal(skipOf(r, 'alias.ts')?.detail, 'symlink to ws/src/a.ts, which is already included');
        assert.equal(skipOf(r, 'alias2.ts')?.detail, 'symlink to ws/src/a.ts, which is already included');
        assert.match(skipOf(r, 'out.ts')?.detail ?? '', /outside the workspace$/);
      },
    );
  } finally {
    rmSync(outside, { recursive: true, force: true });
  }
});

test('order: modification time ascending then path; deterministic; a just-edited file moves to the end', () =>
  withTree(
    { b: { 'z.ts': 'x\n', 'a.ts': 'x\n' }, a: { 'm.ts': 'x\n', 'n-1.ts': 'x\n', n: { 'o.ts': 'x\n' } }, 'c.ts': 'x\n' },
    async (dir) => {
      const all = ['b/z.ts', 'b/a.ts', 'a/m.ts', 'a/n-1.ts', 'a/n/o.ts', 'c.ts'];
      for (const p of all) setMtime(join(dir, p), 1_700_000_000);
      const order = async (o: 'mtime' | 'path') => (await collectFiles({ folders: folder(dir), order: o })).files.map((f) => f.relPath);
      const pathOrder = ['a/m.ts', 'a/n/o.ts', 'a/n-1.ts', 'b/a.ts', 'b/z.ts', 'c.ts']; // a folder's files stay together
      assert.deepEqual(await order('mtime'), pathOrder, 'equal mtimes fall back to path order');
      assert.deepEqual(await order('path'), pathOrder);
      setMtime(join(dir, 'a/m.ts'), 1_700_000_500);
      setMtime(join(dir, 'b/a.ts'), 1_700_000_100);
      const edited = ['a/n/o.ts', 'a/n-1.ts', 'b/z.ts', 'c.ts', 'b/a.ts', 'a/m.ts'];
      assert.deepEqual(await order('mtime'), edited);
      assert.deepEqual(await order('mtime'), edited, 'same tree, same order');
      assert.deepEqual(await order('path'), pathOrder, 'path order ignores mtimes');
      // A copy with the same mtimes (cp -p) orders the same.
      const copy = join(tmpdir(), `ql-context-copy-${process.pid}`);
      try {
        cpSync(dir, copy, { recursive: true, preserveTimestamps: true });
        assert.equal(statSync(join(copy, 'a/m.ts')).mtimeMs, statSync(join(dir, 'a/m.ts')).mtimeMs);
        assert.deepEqual((await collectFiles({ folders: folder(copy), order: 'mtime' })).files.map((f) => f.relPath), edited);
      } finally {
        rmSync(copy, { recursive: true, force: true });
      }
    },
  ));

test('multi-root: each folder keeps its index; display paths start with the folder name, repeated names get ~2', async () => {
  const one = makeTree({ 'a.ts': 'x\n' });
  const two = makeTree({ 'b.ts': 'x\n', sub: { 'c.ts': 'x\n' } });
  try {
    const r = await collectFiles({
      folders: [
        { name: 'app', path: one },
        { name: 'app', path: two },
      ],
      order: 'path',
    });
    assert.deepEqual(
      r.files.map((f) => [f.folder, f.relPath, f.path]),
      [
        [0, 'a.ts', 'app/a.ts'],
        [1, 'b.ts', 'app~2/b.ts'],
        [1, 'sub/c.ts', 'app~2/sub/c.ts'],
      ],
    );
  } finally {
    rmSync(one, { recursive: true, force: true });
    rmSync(two, { recursive: true, force: true });
  }
});

test('a missing workspace folder is a ContextError naming it', async () => {
  const missing = join(tmpdir(), `ql-context-missing-${process.pid}`);
  await assert.rejects(collectFiles({ folders: [{ name: 'gone', path: missing }] }), (error: unknown) => {
    assert.ok(error instanceof ContextError);
    assert.match(error.message, /workspace folder "gone" at .* cannot be read \(ENOENT\)/);
    return true;
  });
});

test('the walk streams: items come out before the tree is finished', () =>
  withTree(manyFiles(300, 30), async (dir) => {
    const fs = slowFs(1);
    let first = -1;
    let count = 0;
    for await (const item of walkFiles({ folders: folder(dir), fs })) {
      if (item.kind === 'file' && first < 0) first = fs.calls;
      count++;
    }
    assert.equal(count, 300);
    assert.ok(first > 0 && first < fs.calls / 2, `first file after ${first} of ${fs.calls} fs calls`);
  }));

test('aborting a walk rejects within 100 ms', () =>
  withTree(manyFiles(2000, 20), async (dir) => {
    const fs = slowFs(2); // each call waits 2 ms: the whole walk would take several seconds
    const controller = new AbortController();
    const started = performance.now();
    const walk = collectFiles({ folders: folder(dir), fs, signal: controller.signal });
    await new Promise((r) => setTimeout(r, 80));
    const abortedAt = performance.now();
    controller.abort(new Error('user cancelled'));
    await assert.rejects(walk, /user cancelled/);
    const latency = performance.now() - abortedAt;
    assert.ok(latency < 100, `stopped ${latency.toFixed(1)} ms after the abort`);
    assert.ok(fs.calls < 2100, `the walk had not finished (${fs.calls} calls in ${(abortedAt - started).toFixed(0)} ms)`);
  }));

test('a folder skipped by default can be walked when skipDirs is overridden', () =>
  withTree({ dist: { 'x.ts': 'x\n' }, 'a.ts': 'x\n' }, async (dir) => {
    assert.deepEqual(keptPaths(await collect(dir)), ['a.ts']);
    assert.deepEqual(keptPaths(await collect(dir, { skipDirs: [] })), ['a.ts', 'dist/x.ts']);
    mkdirSync(join(dir, '.git'));
    assert.deepEqual(keptPaths(await collect(dir, { skipDirs: [] })), ['a.ts', 'dist/x.ts'], '.git is skipped regardless');
  }));
