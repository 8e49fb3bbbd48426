import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { classifySource, minifiedReason } from '../../extension/context/readSource';
import { skipByName } from '../../extension/context/skipRules';

const utf8 = (s: string) => new TextEncoder().encode(s);
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

test('plain UTF-8 text is read with its sha256; a UTF-8 BOM is dropped from the text but not from the hash', () => {
  const bytes = new Uint8Array([0xef, 0xbb, 0xbf, ...utf8('const a = "é";\n')]);
  const r = classifySource(bytes);
  assert.equal(r.kind, 'text');
  if (r.kind !== 'text') return;
  assert.equal(r.text, 'const a = "é";\n');
  assert.equal(r.sha256, sha(bytes));
  assert.equal(r.invalidUtf8, 0);
});

test('a NUL byte in the first 8 KiB makes a file binary; a later one does not', () => {
  const early = utf8('x'.repeat(8191) + '\0');
  assert.deepEqual(classifySource(early), { kind: 'skipped', reason: 'binary', detail: 'NUL byte at offset 8191' });
  const late = utf8('x\n'.repeat(4096) + '\0');
  assert.equal(classifySource(late).kind, 'text');
});

test('UTF-16 with a byte-order mark is decoded, not taken for binary', () => {
  const le = new Uint8Array([0xff, 0xfe, 0x68, 0x00, 0x69, 0x00, 0x0a, 0x00]);
  const be = new Uint8Array([0xfe, 0xff, 0x00, 0x68, 0x00, 0x69, 0x00, 0x0a]);
  assert.deepEqual(classifySource(le), { kind: 'text', text: 'hi\n', sha256: sha(le), bytes: 8, invalidUtf8: 0 });
  assert.deepEqual(classifySource(be), { kind: 'text', text: 'hi\n', sha256: sha(be), bytes: 8, invalidUtf8: 0 });
});

test('invalid UTF-8 (Latin-1 bytes) is decoded with U+FFFD and counted; a literal U+FFFD is not counted', () => {
  // "café" in Latin-1 twice, plus a real U+FFFD written as UTF-8.
  const bytes = new Uint8Array([...utf8('// caf'), 0xe9, ...utf8(' and caf'), 0xe9, ...utf8(' \ufffd\nint x;\n')]);
  const r = classifySource(bytes);
  assert.equal(r.kind, 'text');
  if (r.kind !== 'text') return;
  assert.equal(r.invalidUtf8, 2);
  assert.equal(r.text, '// caf\ufffd and caf\ufffd \ufffd\nint x;\n');
});

test('files over the size cap are skipped with both sizes named', () => {
  assert.deepEqual(classifySource(utf8('a'.repeat(101)), 100), {
    kind: 'skipped',
    reason: 'too-large',
    detail: '101 bytes > the 100-byte cap',
  });
});

test('minified: long mean line, or long lines holding 20% of the text; short files and one long line are fine', () => {
  const bundle = 'var a=1;'.repeat(400); // 3200 chars on one line
  assert.match(minifiedReason(bundle) ?? '', /mean line length 3200 > 300/);
  const normalLines = Array.from({ length: 200 }, (_, i) => `  const value${i} = compute(${i});`).join('\n');
  const oneLongLine = `${normalLines}\nconst DATA = "${'A'.repeat(1500)}";\n`;
  assert.equal(minifiedReason(oneLongLine), undefined, 'one 1500-char line in 7 KB of code is not minified');
  const mostlyLong = `${'x'.repeat(1200)}\n`.repeat(5) + normalLines;
  assert.match(minifiedReason(mostlyLong) ?? '', /% of the text is in lines over 1000 characters/);
  assert.equal(minifiedReason('x'.repeat(2000)), undefined, 'files under 2048 characters are not judged');
  const r = classifySource(utf8(bundle));
  assert.equal(r.kind === 'skipped' && r.reason, 'minified');
});

test('names alone: lock files, generated names, binary extensions', () => {
  const table: [string, string | undefined][] = [
    ['package-lock.json', 'lock-file'],
    ['yarn.lock', 'lock-file'],
    ['pnpm-lock.yaml', 'lock-file'],
    ['Cargo.lock', 'lock-file'],
    ['poetry.lock', 'lock-file'],
    ['go.sum', 'lock-file'],
    ['app.min.js', 'minified'],
    ['style.min.css', 'minified'],
    ['app.js.map', 'minified'],
    ['vendor.bundle.js', 'minified'],
    ['logo.PNG', 'binary'],
    ['model.gguf', 'binary'],
    ['.DS_Store', 'binary'],
    ['main.ts', undefined],
    ['lockfile.ts', undefined],
    ['Makefile', undefined],
    ['minimal.js', undefined],
  ];
  assert.deepEqual(
    table.map(([name]) => [name, skipByName(name)?.reason]),
    table,
  );
});
