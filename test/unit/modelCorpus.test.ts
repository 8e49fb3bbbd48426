// The default model's corpus builder: licences, the package list and its split, tarballs, the files a package
// contributes, askable lines, and (the end-to-end check) a corpus part read by the Python example assembler
// (model/train/examples.py): every example it makes must be the extension's packing of real files plus questions
// whose answers are the right lines, tokenized as the engine tokenizes.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import type { FileEntry } from '../../extension/context/collectFiles';
import { p50kEndOfText, p50kTokenizerMetadata } from '../../gpu/tokenizer/p50k';
import { createTokenizer } from '../../gpu/tokenizer/tokenizer';
import { packerTokenizer } from '../../gpu/session/contextTokenizer';
import { findAskables } from '../../model/corpus/askable';
import { chooseCorpusFiles, moduleKey } from '../../model/corpus/corpusFiles';
import { licenceOf, spdxPermissive } from '../../model/corpus/licences';
import { groupPackages, isHeldOut, nameRoot, parsePackageList, repositoryKey } from '../../model/corpus/packageList';
import { type CorpusFile, packPackage, packageMeta } from '../../model/corpus/packagePacker';
import { PartWriter } from '../../model/corpus/partWriter';
import { notInContextAnswer, questionPart } from '../../model/corpus/promptFormat';
import { readTarball } from '../../model/corpus/tarball';
import { repoRoot } from '../util/paths';
import { rng } from '../util/random';

const tmp = mkdtempSync(join(tmpdir(), 'quest-lens-corpus-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const tok = createTokenizer(p50kTokenizerMetadata());
const encode = (text: string) => tok.encode(text, { addBos: false, parseSpecial: false });
const corpusTok = { encode, tokenBytes: (id: number) => tok.tokenBytes(id), vocabSize: tok.vocabSize, eot: p50kEndOfText };

// --- a minimal tar writer (ustar; pax and GNU long-name records on request) -------------------------------------------
interface TarRecord {
  readonly name: string;
  readonly body?: string | Uint8Array;
  readonly type?: string;
}

function tarHeader(name: string, size: number, type: string, linkname = ''): Uint8Array {
  const h = new Uint8Array(512);
  const put = (s: string, off: number, len: number) => h.set(new TextEncoder().encode(s).subarray(0, len), off);
  put(name, 0, 100);
  put('0000644\0', 100, 8);
  put('0000000\0', 108, 8);
  put('0000000\0', 116, 8);
  put(size.toString(8).padStart(11, '0') + '\0', 124, 12);
  put('00000000000\0', 136, 12);
  put('        ', 148, 8);
  put(type, 156, 1);
  put(linkname, 157, 100);
  put('ustar\0', 257, 6);
  put('00', 263, 2);
  const sum = h.reduce((s, b) => s + b, 0);
  put(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8);
  return h;
}

function tgz(records: readonly TarRecord[]): Uint8Array {
  const chunks: Uint8Array[] = [];
  for (const r of records) {
    const body = typeof r.body === 'string' ? new TextEncoder().encode(r.body) : (r.body ?? new Uint8Array(0));
    chunks.push(tarHeader(r.name, body.length, r.type ?? '0', r.type === '2' ? 'target' : ''));
    chunks.push(body, new Uint8Array((512 - (body.length % 512)) % 512));
  }
  chunks.push(new Uint8Array(1024));
  return gzipSync(Buffer.concat(chunks));
}

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let len = body.length + 2;
  while (String(len).length + body.length !== len) len++;
  return `${len}${body}`;
}

// --- licences, list, groups ---------------------------------------------------------------------------------------
test('licences: permissive SPDX ids and expressions pass, everything else is dropped with a reason', () => {
  const cases: [unknown, boolean][] = [
    [{ license: 'MIT' }, true],
    [{ license: 'ISC' }, true],
    [{ license: 'Apache-2.0' }, true],
    [{ license: 'BSD-3-Clause' }, true],
    [{ license: '(MIT OR GPL-3.0)' }, true],
    [{ license: 'MIT AND BSD-2-Clause' }, true],
    [{ license: 'MIT AND GPL-2.0' }, false],
    [{ license: 'Apache-2.0 WITH LLVM-exception' }, true],
    [{ license: 'GPL-3.0' }, false],
    [{ license: 'MIT-0' }, false],
    [{ license: 'SEE LICENSE IN LICENSE' }, false],
    [{ license: 'UNLICENSED' }, false],
    [{ license: { type: 'MIT' } }, true],
    [{ licenses: [{ type: 'MIT' }, { type: 'Apache-2.0' }] }, true],
    [{ licenses: [{ type: 'WTFPL' }] }, false],
    [{}, false],
    [{ license: '(MIT' }, false],
    [{ license: 'MIT OR' }, false],
  ];
  for (const [pkg, ok] of cases) assert.equal(licenceOf(pkg).ok, ok, JSON.stringify(pkg));
  assert.match(licenceOf({ license: 'GPL-3.0' }).reason!, /GPL-3.0.*not one of MIT/);
  assert.equal(licenceOf({}).reason, 'no license field');
  assert.equal(spdxPermissive('((MIT))'), true);
});

test('package list: name@version lines, scoped names, comments; bad lines name their line number', () => {
  const list = parsePackageList('# top\nsemver@7.8.6\n@babel/core@8.1.2  # scoped\n\nlodash.merge@4.6.2\n');
  assert.deepEqual(list, [
    { name: 'semver', version: '7.8.6' },
    { name: '@babel/core', version: '8.1.2' },
    { name: 'lodash.merge', version: '4.6.2' },
  ]);
  assert.throws(() => parsePackageList('ok@1\nnoversion\n', 'x.txt'), /x\.txt:2: 'noversion' is not name@version/);
  assert.throws(() => parsePackageList('a@1\na@2\n'), /'a' is listed twice/);
});

test('groups: scopes, shared first words and shared repositories are held out together; the split is stable', () => {
  assert.equal(nameRoot('lodash-es'), 'lodash');
  assert.equal(nameRoot('@babel/core'), '@babel');
  assert.equal(repositoryKey('git+https://github.com/Owner/Repo.git'), 'github.com/owner/repo');
  assert.equal(repositoryKey({ url: 'git@github.com:owner/repo.git' }), 'github.com/owner/repo');
  assert.equal(repositoryKey('owner/repo'), 'github.com/owner/repo');
  assert.equal(repositoryKey('https://example.com'), undefined);
  const pkgs = [
    { name: 'lodash' },
    { name: 'lodash-es' },
    { name: 'lodash.merge' },
    { name: '@babel/core', repository: 'github.com/babel/babel' },
    { name: '@babel/parser' },
    { name: 'babel-plugin-x', repository: 'github.com/babel/babel' },
    { name: 'left-pad' },
  ];
  const g = groupPackages(pkgs);
  assert.equal(g.get('lodash-es'), 'lodash');
  assert.equal(g.get('lodash.merge'), 'lodash');
  assert.equal(g.get('@babel/parser'), '@babel/core');
  assert.equal(g.get('babel-plugin-x'), '@babel/core');
  assert.equal(g.get('left-pad'), 'left-pad');
  // Input order does not change the groups.
  assert.deepEqual([...groupPackages([...pkgs].reverse())].sort(), [...g].sort());
  // The split is a function of (seed, group): stable, and close to the fraction over many groups.
  const held = Array.from({ length: 2000 }, (_, i) => isHeldOut(1, `pkg${i}`, 0.1)).filter(Boolean).length;
  assert.ok(held > 150 && held < 250, `${held} of 2000 groups held out at 0.1`);
  assert.equal(isHeldOut(1, 'lodash', 0.1), isHeldOut(1, 'lodash', 0.1));
});

// --- tarballs -----------------------------------------------------------------------------------------------------
test('tarball: regular files under the leading folder; pax and GNU long names; links and unsafe paths skipped', () => {
  const long = `package/${'deep/'.repeat(30)}file.js`;
  const gz = tgz([
    { name: 'package/', type: '5' },
    { name: 'package/package.json', body: '{"name":"x","license":"MIT"}' },
    { name: 'PaxHeader', type: 'x', body: paxRecord('path', long) },
    { name: 'package/ignored-short-name', body: 'pax body' },
    { name: '././@LongLink', type: 'L', body: 'package/gnu/long/name.ts\0' },
    { name: 'package/short', body: 'gnu body' },
    { name: 'package/link.js', type: '2' },
    { name: 'package/../escape.js', body: 'no' },
    { name: 'top.txt', body: 'no folder' },
  ]);
  const t = readTarball(gz, 'test.tgz');
  assert.deepEqual(
    t.files.map((f) => [f.path, new TextDecoder().decode(f.bytes)]),
    [
      ['package.json', '{"name":"x","license":"MIT"}'],
      [long.slice('package/'.length), 'pax body'],
      ['gnu/long/name.ts', 'gnu body'],
    ],
  );
  assert.deepEqual(t.skipped.map((s) => s.path), ['package/link.js', 'package/../escape.js', 'top.txt']);
  assert.throws(() => readTarball(new Uint8Array([1, 2, 3]), 'bad.tgz'), /tarball bad\.tgz: gunzip failed/);
  assert.deepEqual(packageMeta(t), { licence: { ok: true, declared: 'MIT' }, declaredName: 'x' });
});

// --- files and askable lines --------------------------------------------------------------------------------------
test('corpus files: one build per module, TypeScript source first, declarations kept only without it', () => {
  const entry = (relPath: string, size = 500): FileEntry => ({ folder: 0, relPath, path: `p/${relPath}`, absPath: `/p/${relPath}`, size, mtimeMs: 0 });
  assert.equal(moduleKey('dist/esm/utils/x.js'), 'utils/x');
  assert.equal(moduleKey('types/x.d.ts'), 'x');
  const files = [
    'README.md', 'package.json', 'LICENSE', 'docs/guide.md',
    'src/a.ts', 'dist/a.js', 'dist/a.d.ts', 'dist/esm/a.mjs',
    'lib/b.js', 'lib/b.cjs', 'esm/b.js', 'types/b.d.ts',
    'c.js', 'dist/cjs/c.js',
    'tiny.js', 'huge.js',
  ].map((p) => entry(p, p === 'tiny.js' ? 10 : p === 'huge.js' ? 1 << 20 : 500));
  const { kept, dropped } = chooseCorpusFiles(files);
  assert.deepEqual(kept.map((f) => f.relPath), ['README.md', 'package.json', 'src/a.ts', 'esm/b.js', 'types/b.d.ts', 'c.js']);
  const reasons = Object.fromEntries(dropped.map((d) => [d.entry.relPath, d.reason]));
  assert.equal(reasons['LICENSE'], 'not-code');
  assert.equal(reasons['dist/a.d.ts'], 'other-build');
  assert.equal(reasons['lib/b.cjs'], 'other-build');
  assert.equal(reasons['tiny.js'], 'too-small');
  assert.equal(reasons['huge.js'], 'too-large');
});

test('askable lines: definitions of every kind, declarations and signatures, usages in import or call lines', () => {
  const text = [
    "import { parseConfig, helperOne as h } from './config';", // 1
    "const loadThing = require('./thing');", // 2: an import, not a definition
    '/**', // 3
    ' * function notADefinition() {}', // 4
    ' */', // 5
    'export async function fetchRemote(url: string, retries = 3): Promise<Response> {', // 6
    '  const parsed = parseConfig(url);', // 7
    '  return fetch(url);', // 8
    '}', // 9
    'export default class HttpClient extends Base {', // 10
    '  private async sendRequest(body: string): Promise<void> {', // 11
    '    loadThing();', // 12
    '  }', // 13
    '}', // 14
    'export const DEFAULT_TIMEOUT: number = 30;', // 15
    'exports.formatName = function (first, last) {', // 16
    'Widget.prototype.renderAll = function (nodes) {', // 17
    'export interface RequestOptions {', // 18
    '  timeoutMs?(value: number): number;', // 19
    'type Alias = string;', // 20
    'if (x) {', // 21
    'const a = 1;', // 22: too short a name
  ].join('\n');
  const found = findAskables(text, false);
  assert.deepEqual(
    found.definitions.map((d) => [d.name, d.line, d.kind, d.signature]),
    [
      ['fetchRemote', 6, 'function', true],
      ['HttpClient', 10, 'class', false],
      ['sendRequest', 11, 'method', true],
      ['DEFAULT_TIMEOUT', 15, 'variable', false],
      ['formatName', 16, 'export', true],
      ['renderAll', 17, 'prototype', true],
      ['RequestOptions', 18, 'type', false],
      ['timeoutMs', 19, 'method', true],
      ['Alias', 20, 'type', false],
    ],
  );
  assert.deepEqual(
    found.usages.map((u) => [u.name, u.line, u.kind]),
    [
      ['helperOne', 1, 'import'],
      ['parseConfig', 1, 'import'],
      ['loadThing', 2, 'import'],
      ['fetch', 8, 'call'],
    ],
  );
  const decl = findAskables('export declare function fetchRemote(url: string): Promise<Response>;\n', true);
  assert.deepEqual(decl.definitions.map((d) => [d.name, d.declaration, d.signature]), [['fetchRemote', true, true]]);
});

// --- packages → part → Python examples ----------------------------------------------------------------------------
/** A synthetic package: seeded TypeScript/JavaScript modules that define functions and use each other's. */
function syntheticPackage(name: string, seed: number, modules: number): TarRecord[] {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)];
  const words = ['parse', 'render', 'compute', 'format', 'load', 'merge', 'resolve', 'build', 'scan', 'emit'];
  const nouns = ['Config', 'Token', 'Tree', 'Node', 'Path', 'Range', 'Style', 'Value', 'Buffer', 'Frame'];
  const fnName = (m: number, k: number) => `${words[(m + k) % words.length]}${nouns[(m * 3 + k) % nouns.length]}${name.replace(/\W/g, '')}${m}`;
  const records: TarRecord[] = [
    { name: 'package/package.json', body: JSON.stringify({ name, version: '1.0.0', license: 'MIT' }, null, 2) },
    { name: 'package/README.md', body: `# ${name}\n\nUtilities.\n\n\`\`\`js\nconst x = require('${name}');\n\`\`\`\n` },
  ];
  for (let m = 0; m < modules; m++) {
    const ts = m % 3 !== 2;
    const lines: string[] = [];
    if (m % 5 === 4) lines.push(''); // a file whose first line is blank (its header does not split alone)
    lines.push(`// Module ${m} of ${name}.`);
    if (m > 0) lines.push(`import { ${fnName(m - 1, 0)} } from './mod${m - 1}';`);
    for (let k = 0; k < 3; k++) {
      const f = fnName(m, k);
      lines.push('');
      if (k === 1) {
        lines.push(`export class ${f}Store {`, `  private items: number[] = [];`, `  add${f}(value${ts ? ': number' : ''})${ts ? ': void' : ''} {`, `    this.items.push(value);`, `  }`, `}`);
        continue;
      }
      lines.push(`export function ${f}(input${ts ? ': string' : ''}, count${ts ? ' = 2' : ''})${ts ? ': string' : ''} {`);
      const body = 2 + Math.floor(r() * 8);
      for (let b = 0; b < body; b++) {
        lines.push(pick([`  const v${b} = input.slice(${b});`, `\tcount += ${b}; // tabs ${'é'.repeat(b % 3)}`, `  if (count > ${b}) {\n    count--;\n  }`, `  input = input + '${'x'.repeat(b)}';`]));
      }
      if (m > 0 && k === 0) lines.push(`  ${fnName(m - 1, 0)}(input);`);
      lines.push(`  return input.repeat(count);`, '}');
    }
    lines.push(`export const LIMIT_${m} = ${m * 7};`);
    records.push({ name: `package/src/mod${m}.${ts ? 'ts' : 'js'}`, body: lines.join('\n') + '\n' });
    if (!ts) records.push({ name: `package/types/mod${m}.d.ts`, body: `export declare function ${fnName(m, 0)}(input: string, count?: number): string;\n` });
  }
  // The same helper shipped by every package: kept once in the corpus.
  records.push({ name: 'package/src/shared.js', body: "'use strict';\nmodule.exports = function sharedHelper(value) {\n  return value;\n};\n" });
  return records;
}

interface DumpedExample {
  readonly tokens: number[];
  readonly weights: number[];
  readonly answers: [number, number, string][];
  readonly files: [string, number, number, number, number][];
  readonly kind: string;
  readonly contextEnd: number;
}

function assemble(partDir: string, args: string[]): DumpedExample[] {
  const out = join(tmp, `dump-${Math.random().toString(36).slice(2)}.jsonl`);
  const r = spawnSync('python3', [join(repoRoot, 'model/train/examples.py'), partDir, '--dump', out, ...args], { encoding: 'utf8' });
  assert.equal(r.status, 0, `examples.py failed: ${r.stderr}`);
  return readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as DumpedExample);
}

test('corpus part → Python examples: exact packing, one right answer per question, quoted lines, loss weights', async () => {
  const packer = packerTokenizer(tok);
  const seen = new Set<string>();
  const writer = new PartWriter(corpusTok, { part: 'train-000', split: 'train', seed: 7, passkeys: 64, questPerLength: 2, questLengths: [1024] });
  const corpusFiles: { pkg: string; file: CorpusFile }[] = [];
  for (const [i, name] of ['alpha', '@scope/beta', 'gamma-utils'].entries()) {
    const contents = readTarball(tgz(syntheticPackage(name, 11 + i, 9 + 2 * i)), `${name}.tgz`);
    const packed = await packPackage(name, contents, packer, seen, 1 << 20);
    if (i > 0) assert.equal(packed.dropped.duplicate, 1, `${name}: the shared helper is a duplicate`);
    assert.ok(packed.files.every((f) => packer.tokens > 0 && f.tokens.length > 0));
    writer.addPackage(name, '1.0.0', packed);
    for (const file of packed.files) corpusFiles.push({ pkg: name, file });
  }
  const partDir = join(tmp, 'train-000');
  const index = writer.finish(partDir);
  assert.equal(index.totals.files, corpusFiles.length);
  assert.equal(index.newline, encode('\n')[0]);

  // Each file's tokens are what the extension's framing gives: the header line then the file.
  for (const { pkg, file } of corpusFiles) {
    assert.deepEqual(Array.from(file.tokens), encode(`// File: ${pkg}/${file.relPath}\n${file.text}${file.text.endsWith('\n') ? '' : '\n'}`), file.relPath);
  }

  const lineText = (f: CorpusFile, n: number) => (f.text.split('\n')[n - 1] ?? '').replace(/\r$/, '').trim();
  const runs: [string, string[]][] = [
    ['files, line answers', ['--length', '1024', '--count', '60', '--seed', '3', '--quest-fraction', '0.05']],
    ['files, name-first answers', ['--length', '2048', '--count', '30', '--seed', '4', '--answer-style', 'name-first']],
    ['windows', ['--length', '1024', '--kind', 'windows', '--count', '40', '--seed', '5']],
  ];
  const tasks = new Map<string, number>();
  let windows = 0;
  let needles = 0;
  for (const [label, args] of runs) {
    const nameFirst = args.includes('name-first');
    const length = Number(args[args.indexOf('--length') + 1]);
    for (const [e, ex] of assemble(partDir, args).entries()) {
      const where = `${label}, example ${e}`;
      assert.equal(ex.tokens.length, length + 1, where);
      assert.equal(ex.weights.length, length, where);
      // The context re-tokenizes to itself: files (and windows, and an inserted pass-key line) split exactly.
      const context = ex.tokens.slice(0, ex.contextEnd);
      const contextText = tok.decode(context);
      assert.deepEqual(encode(contextText), context, `${where}: the context is whole-text tokenization`);
      // Each span is its file's tokens: the whole file, or its header plus whole lines (and maybe the pass-key line).
      const needle = /\/\/ The pass key is \d+\. Remember it\. \d+ is the pass key\.\n/;
      for (const [k, [, f, start, a, b]] of ex.files.entries()) {
        const file = corpusFiles[f].file;
        const end = k + 1 < ex.files.length ? ex.files[k + 1][2] : ex.contextEnd;
        const got = ex.tokens.slice(start, end);
        const want = [...file.tokens.subarray(0, file.lineTokenStarts[0]), ...file.tokens.subarray(file.lineTokenStarts[a - 1], file.lineTokenStarts[b - 1])];
        const text = tok.decode(got);
        if (a > 1) windows++;
        if (needle.test(text)) needles++;
        if (needle.test(text)) assert.equal(text.replace(needle, ''), tok.decode(want), `${where}: ${file.relPath} lines ${a}..${b} around the pass key`);
        else assert.deepEqual(got, want, `${where}: ${file.relPath} lines ${a}..${b}`);
      }
      // Questions and answers.
      let prevEnd = ex.contextEnd;
      for (const [start, end, task] of ex.answers) {
        tasks.set(task, (tasks.get(task) ?? 0) + 1);
        assert.equal(ex.tokens[end - 1], p50kEndOfText, `${where}: answer ends with <|endoftext|>`);
        for (let t = start - 1; t < end - 1; t++) assert.equal(ex.weights[t], 5, `${where}: answer weight at ${t}`);
        const answer = tok.decode(ex.tokens.slice(start, end - 1));
        if (task === 'quest') {
          const key = /The pass key is (\d+)\./.exec(contextText)?.[1];
          assert.ok(key && answer === ` ${key}`, `${where}: quest answer '${answer}' for key ${key}`);
          continue;
        }
        const qTokens = ex.tokens.slice(prevEnd, start);
        const q = tok.decode(qTokens);
        prevEnd = end;
        const m = /^\/\/ Q: (.*)\n\/\/ A:$/.exec(q);
        assert.ok(m, `${where}: question part '${q}'`);
        assert.deepEqual(qTokens, encode(questionPart(m[1])), `${where}: the question part is tokenized alone`);
        if (task === 'passkey') {
          const key = /The pass key is (\d+)\. Remember it\./.exec(contextText)?.[1];
          assert.equal(m[1], 'What is the pass key?');
          assert.equal(answer, ` ${key}`, where);
          continue;
        }
        const name = /`([^`]+)`/.exec(m[1])![1];
        let body = answer;
        if (nameFirst) {
          assert.ok(answer.startsWith(` ${name}:`), `${where}: name-first answer '${answer}'`);
          body = answer.slice(name.length + 2);
        }
        // Every definition and usage of `name` visible in the context.
        const defs: { file: number; line: number; decl: boolean; sig: boolean }[] = [];
        const uses: { file: number; line: number }[] = [];
        for (const [, f, , a, b] of ex.files) {
          const file = corpusFiles[f].file;
          for (const d of file.askables.definitions) if (d.name === name && d.line >= a && d.line < b) defs.push({ file: f, line: d.line, decl: d.declaration, sig: d.signature });
          for (const u of file.askables.usages) if (u.name === name && u.line >= a && u.line < b) uses.push({ file: f, line: u.line });
        }
        const impl = defs.filter((d) => !d.decl);
        if (task === 'absent') {
          assert.equal(defs.length, 0, `${where}: '${name}' asked as absent is defined in the context`);
          assert.equal(body, notInContextAnswer, where);
          continue;
        }
        if (task === 'definition') {
          const only = impl.length > 0 ? impl : defs;
          assert.equal(only.length, 1, `${where}: '${name}' has ${only.length} definitions in the context`);
          assert.equal(body.trim(), lineText(corpusFiles[only[0].file].file, only[0].line), `${where}: definition of ${name}`);
        } else if (task === 'signature') {
          const sigs = defs.filter((d) => d.decl && d.sig).length > 0 ? defs.filter((d) => d.decl && d.sig) : impl.filter((d) => d.sig);
          assert.equal(sigs.length, 1, `${where}: '${name}' signature candidates`);
          assert.equal(body.trim(), lineText(corpusFiles[sigs[0].file].file, sigs[0].line), `${where}: signature of ${name}`);
        } else if (task === 'usage') {
          assert.ok(impl.length <= 1 && defs.length >= 1, where);
          const defFiles = new Set(defs.map((d) => d.file));
          const order = ex.files.map((s) => s[1]);
          const expected = uses
            .filter((u) => !defFiles.has(u.file))
            .sort((x, y) => order.indexOf(x.file) - order.indexOf(y.file))
            .slice(0, 3)
            .map((u) => lineText(corpusFiles[u.file].file, u.line));
          assert.deepEqual(body.split('\n').map((l) => l.trim()), expected, `${where}: users of ${name}`);
        } else {
          assert.fail(`${where}: unexpected task ${task}`);
        }
      }
      // Outside answers: weight 0 or 1, and 0 on the padding.
      const inAnswer = new Set(ex.answers.flatMap(([s, e]) => Array.from({ length: e - s }, (_, i) => s - 1 + i)));
      const lastContent = Math.max(ex.contextEnd, ...ex.answers.map((x) => x[1]));
      for (let t = 0; t < length; t++) {
        if (inAnswer.has(t)) continue;
        assert.ok(ex.weights[t] === 0 || ex.weights[t] === 1, `${where}: weight ${ex.weights[t]} at ${t}`);
        if (t >= lastContent) assert.equal(ex.weights[t], 0, `${where}: padding at ${t} is trained`);
      }
    }
  }
  assert.ok(windows > 20 && needles > 5, `${windows} windows starting past line 1, ${needles} pass-key lines: too few to test`);
  for (const t of ['definition', 'signature', 'usage', 'passkey', 'absent', 'quest']) assert.ok((tasks.get(t) ?? 0) > 0, `no '${t}' question in ${JSON.stringify([...tasks])}`);

  // Determinism: the same (seed, step, index) gives the same example.
  const again = assemble(partDir, ['--length', '1024', '--count', '5', '--seed', '3', '--quest-fraction', '0.05']);
  const first = assemble(partDir, ['--length', '1024', '--count', '5', '--seed', '3', '--quest-fraction', '0.05']);
  assert.deepEqual(again, first);
});
