// Tokenizing in steps (Tokenizer.encodeSteps, what the packer uses so that a cancel need not wait for a whole file)
// gives exactly the ids of tokenizing in one piece. SentencePiece ('llama') text is cut into pieces where no token
// holds the two code points either side (spm.ts); here pieces of 1, 3, 64 … code units force a cut at every place the
// rule allows, on real code and on the awkward cases: CRLF, one long line, multi-byte UTF-8, byte fallback.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { readGguf } from '../../gpu/gguf/reader';
import { createTokenizer, type Tokenizer } from '../../gpu/tokenizer/tokenizer';
import { BpeEncoder, PIECE_BYTES } from '../../gpu/tokenizer/bpe';
import { PIECE_CHARS, SpmEncoder } from '../../gpu/tokenizer/spm';
import { readVocabulary, type Vocabulary } from '../../gpu/tokenizer/vocab';
import { llamaCppTokenize } from '../util/llamaCpp';
import { repoRoot, sharedModelPath } from '../util/paths';
import { rng } from '../util/random';

const stories = sharedModelPath('stories260K.gguf');
const defaultModel = join(repoRoot, 'model/default.gguf');
let vocab: Vocabulary;
let tok: Tokenizer;
let p50kVocab: Vocabulary;
let p50k: Tokenizer;
before(async () => {
  const metadata = (await readGguf(stories)).metadata;
  vocab = readVocabulary(metadata);
  tok = createTokenizer(metadata);
  const p50kMetadata = (await readGguf(defaultModel)).metadata;
  p50kVocab = readVocabulary(p50kMetadata);
  p50k = createTokenizer(p50kMetadata);
});

/** Real code with every awkward case mixed in, as SpmEncoder sees text (spaces as U+2581). */
function awkwardTexts(): Record<string, string> {
  const code = readFileSync(join(repoRoot, 'node_modules/typescript/lib/lib.es5.d.ts'), 'utf8').slice(0, 40_000);
  const next = rng(11);
  const base64 = Buffer.from(Array.from({ length: 6000 }, () => Math.floor(next() * 256))).toString('base64');
  const cjk = Array.from({ length: 3000 }, () => String.fromCodePoint(0x4e00 + Math.floor(next() * 500))).join('');
  const emoji = Array.from({ length: 2000 }, () => String.fromCodePoint(0x1f600 + Math.floor(next() * 60))).join('');
  const mixed = Array.from({ length: 4000 }, () => ['naïve ', 'e\u0301', '€', '\u0000', '\t', '\r\n', '日本', '🙂', 'a', ' '][Math.floor(next() * 10)]).join('');
  const texts: Record<string, string> = {
    code,
    crlf: code.replaceAll('\n', '\r\n'),
    'one long line': `const blob = "${base64}"; ${'x'.repeat(5000)} ${'ab '.repeat(2000)}`,
    cjk,
    'emoji (surrogate pairs)': emoji,
    'mixed, byte fallback': mixed,
    'lone surrogates': `a\uD800b\uDC00c${'\uD83D'.repeat(50)}x\uDE42\uD83D\uDE42`.repeat(100),
    'blank lines and spaces': `${'\n'.repeat(300)}${' '.repeat(3000)}}\n${'\t'.repeat(500)}`,
  };
  for (const k of Object.keys(texts)) texts[k] = texts[k].replaceAll(' ', '\u2581');
  return texts;
}

test('SPM on stories260K: pieces cut anywhere the rule allows give the ids of the whole text', () => {
  const whole = new SpmEncoder(vocab, Infinity);
  const bad: string[] = [];
  for (const [name, text] of Object.entries(awkwardTexts())) {
    const want: number[] = [];
    whole.encode(text, want);
    for (const pieceChars of [1, 3, 64, 1000, PIECE_CHARS]) {
      const got: number[] = [];
      let steps = 0;
      for (const _ of new SpmEncoder(vocab, pieceChars).encodeSteps(text, got)) steps++;
      if (JSON.stringify(got) !== JSON.stringify(want)) bad.push(`${name}, pieces of ${pieceChars}: ${got.length} ids vs ${want.length}`);
      // The rule must leave cuts to take, or the test proves nothing (and a cancel would wait for the whole text).
      if (text.length > 2 * pieceChars && steps < Math.min(10, text.length / pieceChars / 4)) bad.push(`${name}, pieces of ${pieceChars}: only ${steps} cuts`);
    }
  }
  assert.deepEqual(bad, []);
});

test('SPM: stepped encode through the tokenizer equals llama.cpp on code, CRLF code and text with special tokens', () => {
  const code = readFileSync(join(repoRoot, 'node_modules/typescript/lib/lib.es5.d.ts'), 'utf8');
  const cases = [
    { text: code.slice(0, 40_000), special: false },
    { text: code.slice(40_000, 70_000).replaceAll('\n', '\r\n'), special: false },
    { text: `${code.slice(70_000, 85_000)}<s>${code.slice(85_000, 100_000)}</s>x`, special: true },
  ];
  const refs = llamaCppTokenize(stories, cases);
  cases.forEach((c, i) => {
    const ref = refs[i];
    const out: number[] = [];
    let steps = 0;
    for (const _ of tok.encodeSteps(c.text, out, { parseSpecial: c.special })) steps++;
    assert.ok(steps >= c.text.length / PIECE_CHARS / 2, `case ${i}: ${steps} steps for ${c.text.length} chars`);
    assert.deepEqual(out, ref, `case ${i}`);
    assert.deepEqual(tok.encode(c.text, { parseSpecial: c.special }), ref, `case ${i}, encode`);
  });
});

test('BPE (p50k, the default model): long words cut anywhere the rule allows give the ids of the whole word', () => {
  const whole = new BpeEncoder(p50kVocab, Infinity);
  const bad: string[] = [];
  for (const [name, spm] of Object.entries(awkwardTexts())) {
    const text = spm.replaceAll('\u2581', ' ');
    const want: number[] = [];
    whole.encode(text, want);
    for (const pieceBytes of [1, 3, 64, PIECE_BYTES]) {
      const got: number[] = [];
      for (const _ of new BpeEncoder(p50kVocab, pieceBytes).encodeSteps(text, got));
      if (JSON.stringify(got) !== JSON.stringify(want)) bad.push(`${name}, pieces of ${pieceBytes}: ${got.length} ids vs ${want.length}`);
    }
    // Through the tokenizer: steps every few thousand characters, ids as encode's.
    const out: number[] = [];
    let steps = 0;
    for (const _ of p50k.encodeSteps(text, out)) steps++;
    if (JSON.stringify(out) !== JSON.stringify(want)) bad.push(`${name}, tokenizer encodeSteps`);
    if (text.length > 3 * 4096 && steps < text.length / 4096 / 3) bad.push(`${name}: ${steps} steps for ${text.length} chars`);
  }
  assert.deepEqual(bad, []);
});

test('BPE: 45 KB words of CJK text, merged in pieces, equal llama.cpp on the default model', () => {
  const next = rng(12);
  const words = Array.from({ length: 3 }, () => Array.from({ length: 15_000 }, () => String.fromCodePoint(0x4e00 + Math.floor(next() * 3000))).join(''));
  const refs = llamaCppTokenize(defaultModel, words.map((text) => ({ text, special: false })));
  words.forEach((word, part) => {
    const out: number[] = [];
    let steps = 0;
    for (const _ of p50k.encodeSteps(word, out)) steps++;
    assert.ok(steps >= (3 * word.length) / PIECE_BYTES / 2, `${steps} steps for ${3 * word.length} bytes in one word`);
    assert.deepEqual(out, refs[part], `word ${part}`);
  });
});
