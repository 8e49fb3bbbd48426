// The 'llama' (SentencePiece BPE) tokenizer on stories260K's real vocabulary, against llama.cpp on the same GGUF.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { readGguf } from '../../gpu/gguf/reader';
import { TextStreamDecoder } from '../../gpu/tokenizer/streamDecoder';
import { type Tokenizer, createTokenizer } from '../../gpu/tokenizer/tokenizer';
import { llamaCppTokenize } from '../util/llamaCpp';
import { sharedModelPath } from '../util/paths';
import { hardStrings, readSource, sourceFiles } from '../util/tokenizerCorpus';

const path = sharedModelPath('stories260K.gguf');
let tok: Tokenizer;
before(async () => {
  tok = createTokenizer((await readGguf(path)).metadata);
});

test('stories260K vocabulary facts', () => {
  assert.equal(tok.model, 'llama');
  assert.equal(tok.vocabSize, 512);
  assert.deepEqual([tok.bos, tok.eos, tok.addBos, tok.addSpacePrefix], [1, 2, true, true]);
  assert.deepEqual([...tok.eogIds], [2]);
  assert.ok(tok.isControl(1) && tok.isControl(2) && !tok.isControl(3) && !tok.isControl(300));
  assert.equal(tok.tokenText(259), '▁t');
  assert.deepEqual(tok.tokenBytes(259), new TextEncoder().encode(' t'));
  assert.deepEqual(tok.tokenBytes(3 + 0x0a), Uint8Array.of(0x0a)); // <0x0A>
  assert.equal(tok.tokenId('<0xFF>'), 3 + 0xff);
  assert.equal(tok.tokenId('not a token'), -1);
});

test('stories260K ids equal llama.cpp on the hard corpus, plain and with special tokens parsed', () => {
  const strings = hardStrings();
  const cases = strings.flatMap((text) => [
    { text, special: false },
    { text, special: true },
  ]);
  const ref = llamaCppTokenize(path, cases);
  const bad: string[] = [];
  cases.forEach((c, i) => {
    const got = tok.encode(c.text, { parseSpecial: c.special });
    if (JSON.stringify(got) !== JSON.stringify(ref[i])) bad.push(`${JSON.stringify(c.text.slice(0, 60))} special=${c.special}: got ${got.slice(0, 12)} llama.cpp ${ref[i].slice(0, 12)}`);
  });
  assert.deepEqual(bad, [], `${bad.length} of ${cases.length} cases differ from llama.cpp`);
});

test('stories260K ids equal llama.cpp on 500 KB of code in one oracle run (MBs of ids JSON arrive whole)', () => {
  // The oracle once exited before its pipe drained and cut its line short past ≈ 200–430 KB; the small case after the
  // large one checks that every case arrives, in order.
  const code = sourceFiles.map(readSource).join('\n').slice(0, 500_000);
  const cases = [
    { text: code, special: false },
    { text: `<s>${code.slice(0, 20_000)}</s>`, special: true },
    { text: 'Once upon a time,', special: false },
  ];
  const ref = llamaCppTokenize(path, cases);
  const bytes = JSON.stringify(ref).length;
  assert.ok(bytes > 1_000_000, `only ${bytes} bytes of ids: too few to test a large result`);
  assert.equal(ref.length, cases.length);
  cases.forEach((c, i) => {
    const got = tok.encode(c.text, { parseSpecial: c.special });
    const at = got.findIndex((id, j) => id !== ref[i][j]);
    assert.ok(at < 0 && got.length === ref[i].length, `case ${i}: first difference at token ${at} of ${got.length} (llama.cpp ${ref[i].length})`);
  });
  assert.equal(tok.decode(ref[0]), code);
});

test('stories260K known ids (a golden-sample prefix) and BOS handling', () => {
  // "Once upon a time, there was a little girl" is how Karpathy's sample starts: 403, 407, 261, 378, 432, 383 ….
  assert.deepEqual(tok.encode('Once upon a time,').slice(0, 4), [403, 407, 261, 378]);
  assert.deepEqual(tok.encode('Once', { addBos: true })[0], 1);
  assert.deepEqual(tok.encode(''), []);
  assert.deepEqual(tok.encode('', { addBos: true }), [1]);
  // Control tokens in text are text unless parsed; after a parsed one the space prefix is added again.
  assert.deepEqual(tok.encode('<s>x', { parseSpecial: true }), [1, ...tok.encode('x')]);
  assert.ok(!tok.encode('<s>x').includes(1));
});

test('stories260K decode inverts encode on every hard string', () => {
  for (const s of hardStrings()) {
    assert.equal(tok.decode(tok.encode(s)), s);
    assert.equal(tok.decode(tok.encode(s, { parseSpecial: true }), { special: true }), s);
  }
  // Without `special`, control tokens decode to nothing.
  assert.equal(tok.decode(tok.encode('<s>hi</s>', { parseSpecial: true })), 'hi');
});

test('stories260K streaming decode emits only whole characters when bytes split across tokens', () => {
  const text = 'naïve 日本語 🙂!';
  const ids = tok.encode(text);
  assert.ok(ids.length > [...text].length, 'non-ASCII characters fall back to byte tokens here');
  const stream = new TextStreamDecoder(tok);
  const chunks = ids.map((id) => stream.push(id));
  chunks.push(stream.end());
  for (const c of chunks) assert.ok(!c.includes('\uFFFD'), `chunk ${JSON.stringify(c)} holds a broken character`);
  assert.equal(chunks.join(''), ` ${text}`); // the stream keeps the space the encoder prefixed
  assert.ok(chunks.includes(''), 'some tokens complete no character');
  // An incomplete character left at the end becomes U+FFFD.
  const cut = new TextStreamDecoder(tok);
  for (const id of tok.encode('🙂').slice(0, -1)) cut.push(id);
  assert.equal(cut.end(), '\uFFFD');
});

test('stories260K: tokenizing ~1 MB of code (rate reported, not asserted)', (t) => {
  const text = sourceFiles.map(readSource).join('\n');
  const t0 = performance.now();
  const n = tok.encode(text).length;
  const s = (performance.now() - t0) / 1000;
  t.diagnostic(`stories260K (SPM, 512 tokens): ${text.length} chars -> ${n} tokens in ${s.toFixed(2)} s = ${Math.round(n / s)} tokens/s`);
  assert.ok(n > text.length / 4);
});
