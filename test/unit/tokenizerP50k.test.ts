// p50k_base written as GGUF 'gpt2' metadata (the default model's vocabulary) and read back by the 'gpt2' tokenizer:
// its ids must be gpt-tokenizer's (what the default model was trained with) and llama.cpp's on the same GGUF.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encode as p50kEncode } from 'gpt-tokenizer/encoding/p50k_base';
import { p50kEndOfText, p50kTokenizerMetadata } from '../../gpu/tokenizer/p50k';
import { TextStreamDecoder } from '../../gpu/tokenizer/streamDecoder';
import { createTokenizer } from '../../gpu/tokenizer/tokenizer';
import { llamaCppTokenize } from '../util/llamaCpp';
import { hardStrings, jsWhitespaceDiffers, readSource, sourceFiles } from '../util/tokenizerCorpus';
import { writeVocabGguf } from '../util/vocabGguf';

const metadata = p50kTokenizerMetadata();
const tok = createTokenizer(metadata);
const plain = { disallowedSpecial: new Set<string>() };
const special = { allowedSpecial: new Set(['<|endoftext|>']) };

test('p50k metadata: 50,281 tokens in byte-level spelling, one merge per multi-byte token', () => {
  const tokens = metadata.get('tokenizer.ggml.tokens') as readonly string[];
  const merges = metadata.get('tokenizer.ggml.merges') as readonly string[];
  assert.equal(tokens.length, 50281);
  assert.equal(merges.length, 50281 - 256 - 1);
  assert.equal(merges[0], 'Ġ t'); // rank 256 is " t"
  assert.equal(tokens[p50kEndOfText], '<|endoftext|>');
  assert.equal(tokens[50257], 'ĠĠ'); // the whitespace-run tokens 50257..50280
  assert.equal(tokens[50280], 'Ġ'.repeat(25));
  assert.deepEqual([tok.bos, tok.eos, tok.addBos, [...tok.eogIds]], [50256, 50256, false, [50256]]);
  assert.ok(tok.isControl(p50kEndOfText));
});

test('p50k ids equal gpt-tokenizer on the hard corpus, plain and with <|endoftext|> parsed', () => {
  const strings = hardStrings().filter((s) => !jsWhitespaceDiffers(s)); // those are checked against llama.cpp below
  const bad: string[] = [];
  for (const s of strings) {
    for (const [parseSpecial, opts] of [
      [false, plain],
      [true, special],
    ] as const) {
      const got = tok.encode(s, { parseSpecial });
      const want = p50kEncode(s, opts);
      if (JSON.stringify(got) !== JSON.stringify(want)) bad.push(`${JSON.stringify(s.slice(0, 60))} special=${parseSpecial}: got ${got.slice(0, 10)} gpt-tokenizer ${want.slice(0, 10)}`);
    }
  }
  assert.deepEqual(bad, [], `${bad.length} of ${strings.length * 2} cases differ from gpt-tokenizer`);
});

for (const file of sourceFiles) {
  test(`p50k ids equal gpt-tokenizer on ${file} (whole file) and decode restores it`, () => {
    const text = readSource(file);
    const got = tok.encode(text);
    const want = p50kEncode(text, plain);
    const at = got.findIndex((id, i) => id !== want[i]);
    assert.ok(at < 0 && got.length === want.length, `first difference at token ${at} of ${got.length} (gpt-tokenizer ${want.length})`);
    assert.equal(tok.decode(got), text);
  });
}

test('p50k: tokenizing ~1 MB of code (rate reported, not asserted)', (t) => {
  const text = sourceFiles.map(readSource).join('\n');
  const fresh = createTokenizer(metadata); // empty word cache
  const t0 = performance.now();
  const n = fresh.encode(text).length;
  const s = (performance.now() - t0) / 1000;
  const t1 = performance.now();
  p50kEncode(text, plain);
  const sRef = (performance.now() - t1) / 1000;
  t.diagnostic(`p50k: ${text.length} chars -> ${n} tokens in ${s.toFixed(2)} s = ${Math.round(n / s)} tokens/s (gpt-tokenizer ${sRef.toFixed(2)} s)`);
  assert.ok(n > text.length / 8);
});

test('p50k ids equal llama.cpp on a GGUF with this vocabulary, odd Unicode spaces included', async () => {
  const path = await writeVocabGguf('p50k', metadata);
  const strings = hardStrings();
  const cases = strings.flatMap((text) => [
    { text, special: false },
    { text, special: true },
  ]);
  const ref = llamaCppTokenize(path, cases);
  const bad = cases.filter((c, i) => JSON.stringify(tok.encode(c.text, { parseSpecial: c.special })) !== JSON.stringify(ref[i]));
  assert.deepEqual(bad, [], `${bad.length} of ${cases.length} cases differ from llama.cpp`);
});

test("pre 'default' (llama.cpp's fallback pre-tokenizer) equals llama.cpp, on the p50k vocabulary", async () => {
  const withDefault = new Map(metadata).set('tokenizer.ggml.pre', 'default');
  const path = await writeVocabGguf('p50k-default', withDefault);
  const strings = hardStrings();
  const ref = llamaCppTokenize(path, strings.map((text) => ({ text, special: false })));
  const fallback = createTokenizer(withDefault);
  const bad = strings.filter((s, i) => JSON.stringify(fallback.encode(s)) !== JSON.stringify(ref[i]));
  assert.deepEqual(bad, [], `${bad.length} of ${strings.length} strings differ from llama.cpp`);
  assert.notDeepEqual(fallback.encode('x += 1234;'), tok.encode('x += 1234;'), "'default' splits punctuation and digit runs apart");
});

test("p50k differs from gpt-tokenizer only where JavaScript's \\s is not Unicode White_Space", () => {
  // gpt-tokenizer splits with JavaScript's \s (U+FEFF counts, U+0085 does not); tiktoken, llama.cpp and this engine
  // use White_Space. A space before U+FEFF or U+0085 is where the two disagree.
  assert.deepEqual(tok.encode('a \uFEFFb'), [64, 27332, 119, 123, 65]);
  assert.deepEqual(p50kEncode('a \uFEFFb', plain), [64, 220, 171, 119, 123, 65]);
  assert.deepEqual(tok.encode('x \u0085y'), [87, 220, 126, 227, 88]);
  assert.deepEqual(p50kEncode('x \u0085y', plain), [87, 1587, 227, 88]);
  // A byte-order mark at the start of a file, the common case, tokenizes the same.
  assert.deepEqual(tok.encode('\uFEFF// file'), p50kEncode('\uFEFF// file', plain));
});

test('p50k streaming decode holds back a character split across byte-level tokens', () => {
  const ids = tok.encode('🙂');
  assert.ok(ids.length > 1);
  const stream = new TextStreamDecoder(tok);
  const chunks = ids.map((id) => stream.push(id));
  assert.deepEqual(chunks, [...Array(ids.length - 1).fill(''), '🙂']);
  assert.equal(stream.push(p50kEndOfText), '', '<|endoftext|> renders as nothing');
  assert.equal(new TextStreamDecoder(tok, { special: true }).push(p50kEndOfText), '<|endoftext|>');
});
