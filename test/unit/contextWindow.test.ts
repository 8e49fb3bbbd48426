import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FileEntry } from '../../extension/context/collectFiles';
import { importTargets, isImportTarget, questionTerms, RelevanceScorer } from '../../extension/context/contextWindow';

test('question terms: identifiers, names and paths, without stopwords; code-like words flagged', () => {
  assert.deepEqual(questionTerms('Where is `parseConfig` defined and how does the page_pool reuse pages in src/kv/pagePool.ts?'), [
    { term: 'parseconfig', codeLike: true },
    { term: 'page_pool', codeLike: true },
    { term: 'reuse', codeLike: false },
    { term: 'pages', codeLike: false },
    { term: 'src/kv/pagepool.ts', codeLike: true },
    { term: 'src', codeLike: false },
    { term: 'pagepool', codeLike: true },
  ]);
  assert.deepEqual(questionTerms('what is it?'), []);
});

test('import targets: JS/TS relative imports and requires, Python relative and dotted, C includes', () => {
  const ts = "import { a } from './a';\nimport b from '../lib/b.js';\nexport * from './c/index';\nconst d = require('./d');\nimport 'react';\nconst e = await import('./e');\n";
  assert.deepEqual([...importTargets('src/x/main.ts', ts)].sort(), [
    'src/lib/b', 'src/lib/b.js/index', 'src/x/a', 'src/x/a/index', 'src/x/c/index', 'src/x/c/index/index', 'src/x/d', 'src/x/d/index', 'src/x/e', 'src/x/e/index',
  ]);
  const py = 'from .models import User\nfrom ..util.text import slug\nimport pkg.sub.mod\nimport os\n';
  assert.deepEqual([...importTargets('app/api/views.py', py)].sort(), ['*pkg/sub/mod', 'app/api/models', 'app/api/models/__init__', 'app/util/text', 'app/util/text/__init__']);
  const c = '#include "util/str.h"\n#include <stdio.h>\n#include "../common.h"\n';
  assert.deepEqual([...importTargets('src/net/sock.c', c)].sort(), ['*util/str', 'src/common', 'src/net/util/str']);
  const targets = importTargets('src/x/main.ts', ts);
  assert.equal(isImportTarget(targets, 'src/lib/b.ts'), true, './b.js resolves to b.ts (TypeScript ESM)');
  assert.equal(isImportTarget(targets, 'src/x/c/index.ts'), true);
  assert.equal(isImportTarget(targets, 'src/x/main.ts'), false);
  assert.equal(isImportTarget(new Set(['*util/str']), 'include/util/str.h'), true);
  assert.equal(isImportTarget(new Set(['*util/str']), 'include/myutil/str.h'), false);
});

const entry = (relPath: string, folder = 0): FileEntry => ({ folder, relPath, path: `ws/${relPath}`, absPath: `/x/${relPath}`, size: 1, mtimeMs: 0 });

test('relevance: open file first; imports, folder, names and rare words raise the score; size lowers it', () => {
  const scorer = new RelevanceScorer({ question: 'How is parseConfig used with the cache?', openFile: { folder: 0, relPath: 'src/app/main.ts' } });
  scorer.setOpenFileText("import { h } from './helpers';\n");
  const open = scorer.observe(entry('src/app/main.ts'), 0, 100, "import { h } from './helpers';\n");
  const helper = scorer.observe(entry('src/app/helpers.ts'), 1, 100, 'export const h = 1;\n');
  const importer = scorer.observe(entry('src/other/usesMain.ts'), 2, 100, "import { main } from '../app/main';\n");
  const named = scorer.observe(entry('lib/parseConfig.ts'), 3, 100, 'export function parseConfig() {}\n');
  const common = scorer.observe(entry('lib/a.ts'), 4, 100, 'the cache\n');
  const common2 = scorer.observe(entry('lib/b.ts'), 5, 100, 'the cache\n');
  const plain = scorer.observe(entry('lib/c.ts'), 6, 100, 'nothing here\n');
  const otherFolder = scorer.observe(entry('src/app/helpers.ts', 1), 7, 100, 'export const h = 1;\n');
  assert.equal(scorer.score(open, 10_000), Number.POSITIVE_INFINITY);
  assert.equal(helper.importsOpenFile && importer.importsOpenFile, true);
  assert.equal(otherFolder.importsOpenFile, false, 'imports are matched within one workspace folder');
  assert.equal(named.nameMentioned, true);
  const s = (f: typeof helper) => scorer.score(f, 100);
  assert.ok(s(helper) > s(named) && s(named) > s(common) && s(common) > s(plain), [s(helper), s(named), s(common), s(plain)].join(' '));
  assert.ok(s(importer) > s(common));
  assert.equal(s(common), s(common2));
  assert.ok(scorer.score(plain, 100) > scorer.score(plain, 10_000), 'smaller first among equals');
});
