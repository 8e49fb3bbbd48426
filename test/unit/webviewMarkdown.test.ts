// The answer's markdown parser and file:line references, without a browser: the block and inline structure, that
// hostile model text (HTML, script, javascript:/http/command: links) only ever becomes text or an inert link, that
// every text node is an exact slice of the source (token hover depends on it), and that the webview's sources never
// use an HTML sink.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { findFileRefs, parseFileRefTarget, resolveRefPath } from '../../webview/markdown/fileRefs';
import { parseMarkdown, type Block, type Inline } from '../../webview/markdown/parse';
import { rng } from '../util/random';

/** A compact rendering of the tree for literal expectations. */
function show(blocks: readonly Block[]): string[] {
  const inl = (xs: readonly Inline[]): string =>
    xs
      .map((x) => {
        switch (x.kind) {
          case 'text':
            return x.text;
          case 'break':
            return '⏎';
          case 'codeSpan':
            return `\`${inl(x.children)}\``;
          case 'strong':
          case 'em':
          case 'del':
            return `<${x.kind}>${inl(x.children)}</${x.kind}>`;
          case 'fileRef':
            return `[ref ${x.ref.path}:${x.ref.line}${x.ref.endLine ? `-${x.ref.endLine}` : ''}|${inl(x.children)}]`;
          case 'inertLink':
            return `[${x.image ? 'image' : 'inert'} ${x.target}|${inl(x.children)}]`;
        }
      })
      .join('');
  return blocks.map((b) => {
    switch (b.kind) {
      case 'paragraph':
        return `p: ${inl(b.inlines)}`;
      case 'heading':
        return `h${b.level}: ${inl(b.inlines)}`;
      case 'code':
        return `code(${b.lang}${b.closed ? '' : ', open'}): ${inl(b.children)}`;
      case 'list':
        return `list: ${b.items.map((i) => `${'  '.repeat(i.depth)}${i.ordered ? `${i.number}.` : '-'} ${inl(i.inlines)}`).join(' | ')}`;
      case 'quote':
        return `quote: ${inl(b.inlines)}`;
      case 'table':
        return `table(${b.align.join(',')}): ${[b.header, ...b.rows].map((r) => r.map(inl).join(' ¦ ')).join(' / ')}`;
      case 'rule':
        return 'rule';
    }
  });
}

test('blocks: headings, paragraphs, fenced code, lists, quotes, tables, rules', () => {
  const src = [
    '# Title #',
    'Some *em* and **strong** and ~~gone~~ text',
    'on two lines.',
    '',
    '```ts',
    'const x = a < b && c > d;',
    '```',
    '- one',
    '- two',
    '  - nested `code`',
    '3. three',
    '',
    '> quoted',
    '> text',
    '',
    '| a | b |',
    '|:--|--:|',
    '| `x|y` | 2 |',
    '',
    '---',
  ].join('\n');
  assert.deepEqual(show(parseMarkdown(src)), [
    'h1: Title',
    'p: Some <em>em</em> and <strong>strong</strong> and <del>gone</del> text⏎on two lines.',
    'code(ts): const x = a < b && c > d;',
    'list: - one | - two |   - nested `code` | 3. three',
    'quote: quoted⏎text',
    'table(left,right): a ¦ b / `x|y` ¦ 2',
    'rule',
  ]);
});

test('a code fence without its closing fence (still streaming) runs to the end', () => {
  assert.deepEqual(show(parseMarkdown('Intro\n```py\ndef f():\n    return 1')), [
    'p: Intro',
    'code(py, open): def f():\n    return 1',
  ]);
  assert.deepEqual(show(parseMarkdown('```\n')), ['code(, open): ']);
  assert.deepEqual(show(parseMarkdown('```js\n```')), ['code(js): ']);
});

test('inlines: escapes, unmatched delimiters, snake_case, nested emphasis, code spans with padding', () => {
  assert.deepEqual(show(parseMarkdown('a \\*not em\\* b')), ['p: a *not em* b']);
  assert.deepEqual(show(parseMarkdown('2 * 3 * 4 and a_b_c')), ['p: 2 * 3 * 4 and a_b_c']);
  assert.deepEqual(show(parseMarkdown('**bold *and em***')), ['p: <strong>bold <em>and em</em></strong>']);
  assert.deepEqual(show(parseMarkdown('`` a`b `` and ` `')), ['p: `a`b` and ` `']);
  assert.deepEqual(show(parseMarkdown('unclosed `code and **bold')), ['p: unclosed `code and **bold']);
});

test('hostile model text stays text: HTML, script, event handlers', () => {
  const src = '<script>window.__pwned = 1</script>\n<img src=x onerror="window.__pwned = 2">\n<a href="javascript:alert(1)">x</a>';
  const blocks = parseMarkdown(src);
  assert.deepEqual(show(blocks), [
    'p: <script>window.__pwned = 1</script>⏎<img src=x onerror="window.__pwned = 2">⏎<a href="javascript:alert(1)">x</a>',
  ]);
  // Only text and break nodes: nothing the renderer could turn into an element with attributes.
  const kinds = new Set((blocks[0] as { inlines: readonly Inline[] }).inlines.map((i) => i.kind));
  assert.deepEqual([...kinds].sort(), ['break', 'text']);
});

test('links: only file:line targets become references; javascript:, http, command:, data: and images stay inert', () => {
  const src =
    '[a](javascript:alert(1)) [b](http://example.com) [c](command:workbench.action.quit) ' +
    '[d](data:text/html,<script>x</script>) ![e](http://x/y.png) [f](src/alpha.ts:3) [g](lib/beta.py#L2-L4) [h](<src/a.ts:9> "t")';
  assert.deepEqual(show(parseMarkdown(src)), [
    'p: [inert javascript:alert(1)|a] [inert http://example.com|b] [inert command:workbench.action.quit|c] ' +
      '[inert data:text/html,<script>x</script>|d] [image http://x/y.png|e] [ref src/alpha.ts:3|f] [ref lib/beta.py:2-4|g] [ref src/a.ts:9|h]',
  ]);
});

test('bare file:line references in text, inline code and code blocks', () => {
  assert.deepEqual(show(parseMarkdown('See src/alpha.ts:3, `lib/beta.py:2-4` and\n```\nat a/b.c:7:12\n```')), [
    'p: See [ref src/alpha.ts:3|src/alpha.ts:3], `[ref lib/beta.py:2-4|lib/beta.py:2-4]` and',
    'code(): at [ref a/b.c:7|a/b.c:7:12]',
  ]);
});

test('findFileRefs: accepted forms and rejected paths', () => {
  const refs = (s: string) => findFileRefs(s).map((r) => [r.path, r.line, r.endLine ?? null, s.slice(r.start, r.end)]);
  assert.deepEqual(refs('src/a.ts:12'), [['src/a.ts', 12, null, 'src/a.ts:12']]);
  assert.deepEqual(refs('(src/a.ts:12-20).'), [['src/a.ts', 12, 20, 'src/a.ts:12-20']]);
  assert.deepEqual(refs('src/a.ts:12–20'), [['src/a.ts', 12, 20, 'src/a.ts:12–20']]);
  assert.deepEqual(refs('x.test.ts:5:9'), [['x.test.ts', 5, null, 'x.test.ts:5:9']]);
  assert.deepEqual(refs('src/a.ts#L3-L9'), [['src/a.ts', 3, 9, 'src/a.ts#L3-L9']]);
  assert.deepEqual(refs('a.ts:9-3'), [['a.ts', 9, null, 'a.ts:9-3']]);
  for (const bad of ['../etc/passwd.x:1', 'a/../b.ts:3', '/etc/hosts.txt:1', 'http://h.com/a.ts:3', 'file:///a.ts:1', 'a.ts:0', 'Makefile:3', 'a.ts:12abc', 'a.ts']) {
    assert.deepEqual(refs(bad), [], bad);
  }
  assert.deepEqual(parseFileRefTarget(' src/a.ts:4 '), { path: 'src/a.ts', line: 4 });
  assert.equal(parseFileRefTarget('src/a.ts:4 and more'), undefined);
  assert.equal(parseFileRefTarget('javascript:alert(1)'), undefined);
});

test('resolveRefPath: header path, unique relPath, unique suffix; unknown or ambiguous is not a link', () => {
  const files = [
    { path: 'app/src/a.ts', relPath: 'src/a.ts', folder: 0 },
    { path: 'lib/src/a.ts', relPath: 'src/a.ts', folder: 1 },
    { path: 'app/src/only.ts', relPath: 'src/only.ts', folder: 0 },
  ];
  assert.deepEqual(resolveRefPath('lib/src/a.ts', files), { display: 'lib/src/a.ts', path: 'src/a.ts', folder: 1 });
  assert.deepEqual(resolveRefPath('src/only.ts', files), { display: 'app/src/only.ts', path: 'src/only.ts', folder: 0 });
  assert.deepEqual(resolveRefPath('only.ts', files), { display: 'app/src/only.ts', path: 'src/only.ts', folder: 0 });
  assert.equal(resolveRefPath('src/a.ts', files), undefined, 'two folders have src/a.ts');
  assert.equal(resolveRefPath('nope.ts', files), undefined);
  assert.deepEqual(resolveRefPath('any/x.ts', undefined), { display: 'any/x.ts', path: 'any/x.ts' });
});

/** Every text node is `source.slice(start, start + text.length)`. */
function checkSlices(source: string, blocks: readonly Block[]): number {
  let n = 0;
  const visit = (xs: readonly Inline[]): void => {
    for (const x of xs) {
      if (x.kind === 'text') {
        assert.equal(source.slice(x.start, x.start + x.text.length), x.text, `text node at ${x.start}`);
        n++;
      } else if ('children' in x) visit(x.children);
    }
  };
  for (const b of blocks) {
    if (b.kind === 'paragraph' || b.kind === 'heading' || b.kind === 'quote') visit(b.inlines);
    if (b.kind === 'code') visit(b.children);
    if (b.kind === 'list') b.items.forEach((i) => visit(i.inlines));
    if (b.kind === 'table') [b.header, ...b.rows].forEach((r) => r.forEach(visit));
  }
  return n;
}

test('every text node is an exact slice of the source (seeded random markdown, every streaming prefix)', () => {
  const pieces = ['a', ' ', 'word', '\n', '\n\n', '*', '**', '_', '`', '```', '~~', '[', ']', '(', ')', '\\', '#', '# ', '- ', '  - ', '1. ', '> ', '|', '|--|', 'src/a.ts:3', '<b>', '\r\n', 'é', '—'];
  for (let seed = 1; seed <= 40; seed++) {
    const next = rng(seed);
    let src = '';
    const len = 10 + Math.floor(next() * 60);
    for (let i = 0; i < len; i++) src += pieces[Math.floor(next() * pieces.length)];
    // Every prefix, as the answer streams.
    for (let end = 1; end <= src.length; end += 1 + Math.floor(next() * 4)) {
      const prefix = src.slice(0, end);
      checkSlices(prefix, parseMarkdown(prefix));
    }
    assert.ok(checkSlices(src, parseMarkdown(src)) >= 0);
  }
});

test('the webview never uses an HTML sink or eval', () => {
  const root = 'webview';
  const files = readdirSync(root, { recursive: true })
    .map(String)
    .filter((f) => f.endsWith('.ts'))
    .map((f) => join(root, f));
  assert.ok(files.length > 10, `expected the webview sources under ${root}/, found ${files.length}`);
  const sinks = /\.(innerHTML|outerHTML|insertAdjacentHTML)\b|document\.write|\beval\(|new Function\(|createContextualFragment|srcdoc/;
  for (const f of files) {
    const code = readFileSync(f, 'utf8')
      .split('\n')
      .filter((l) => !l.trim().startsWith('//') && !l.trim().startsWith('*'))
      .join('\n');
    assert.equal(sinks.exec(code)?.[0], undefined, `${f} uses an HTML sink`);
  }
});
