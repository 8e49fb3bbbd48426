// The 'gpt2' (byte-level BPE) tokenizer on the real Llama 3 and Qwen3 vocabularies, turned into GGUF metadata as
// llama.cpp's converter does, against Hugging Face tokenization (@lenml/tokenizers) and llama.cpp on a GGUF written
// with that metadata.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TokenizerLoader } from '@lenml/tokenizers';
import { tokenizerMetadataFromHf } from '../../gpu/tokenizer/fromHf';
import { type Tokenizer, createTokenizer } from '../../gpu/tokenizer/tokenizer';
import { llamaCppTokenize } from '../util/llamaCpp';
import { hardStrings, hfTokenizerFiles, jsWhitespaceDiffers, readSource, sourceFiles } from '../util/tokenizerCorpus';
import { writeVocabGguf } from '../util/vocabGguf';

interface Setup {
  readonly name: 'llama3' | 'qwen3';
  readonly pre: string;
  /** Texts containing tokens llama.cpp makes control although HF treats them as text (Qwen's "</s>"). */
  readonly llamaCppOnly: readonly string[];
}

const setups: Setup[] = [
  { name: 'llama3', pre: 'llama-bpe', llamaCppOnly: [] },
  { name: 'qwen3', pre: 'qwen2', llamaCppOnly: ['</s>'] },
];

for (const setup of setups) {
  const files = hfTokenizerFiles(setup.name);
  const metadata = tokenizerMetadataFromHf(files.json, files.config);
  const tok: Tokenizer = createTokenizer(metadata);
  const strings = [...hardStrings(), readSource(sourceFiles[2]).slice(0, 20_000)];

  test(`${setup.name}: metadata as llama.cpp's converter writes it`, () => {
    assert.equal(tok.pre, setup.pre);
    assert.equal(tok.model, 'gpt2');
    if (setup.name === 'llama3') {
      assert.deepEqual([tok.vocabSize, tok.bos, tok.eos, tok.addBos], [128256, 128000, 128001, true]);
      assert.ok(tok.isEog(128009) && tok.isEog(128001) && !tok.isEog(128000), '<|eot_id|> and <|end_of_text|> end generation');
      assert.ok(tok.isControl(128006), '<|start_header_id|> is control');
    } else {
      assert.deepEqual([tok.vocabSize, tok.bos, tok.eos, tok.addBos], [151669, -1, 151645, false]);
      for (const id of [151643, 151645]) assert.ok(tok.isEog(id), `${tok.tokenText(id)} ends generation`);
      assert.ok(!tok.isControl(151667), '<think> stays user-defined');
    }
  });

  test(`${setup.name}: ids equal Hugging Face tokenization on the hard corpus and real code`, () => {
    const hf = TokenizerLoader.fromPreTrained({ tokenizerJSON: files.json, tokenizerConfig: files.config } as Parameters<typeof TokenizerLoader.fromPreTrained>[0]);
    // HF always matches special tokens in text, so compare with parseSpecial. Strings left out: JavaScript's \s in
    // @lenml's regex (checked against llama.cpp below instead) and llama.cpp-only control tokens.
    const comparable = strings.filter((s) => !jsWhitespaceDiffers(s) && !setup.llamaCppOnly.some((t) => s.includes(t)));
    assert.ok(comparable.length > strings.length - 6, `${strings.length - comparable.length} strings left out`);
    const bad: string[] = [];
    for (const s of comparable) {
      const got = tok.encode(s, { parseSpecial: true });
      const want = hf.encode(s, { add_special_tokens: false });
      if (JSON.stringify(got) !== JSON.stringify(want)) bad.push(`${JSON.stringify(s.slice(0, 60))}: got ${got.slice(0, 10)} HF ${want.slice(0, 10)}`);
    }
    assert.deepEqual(bad, [], `${bad.length} of ${comparable.length} strings differ from HF`);
  });

  test(`${setup.name}: ids equal llama.cpp on a GGUF with this vocabulary, plain and with special tokens parsed`, async () => {
    const path = await writeVocabGguf(setup.name, metadata);
    // llama.cpp applies no NFC normalization (Qwen's tokenizer.json asks for it): give it NFC text.
    const cases = strings.flatMap((s) => {
      const text = s.normalize('NFC');
      return [
        { text, special: false },
        { text, special: true },
      ];
    });
    const ref = llamaCppTokenize(path, cases);
    const bad: string[] = [];
    cases.forEach((c, i) => {
      const got = tok.encode(c.text, { parseSpecial: c.special });
      if (JSON.stringify(got) !== JSON.stringify(ref[i])) bad.push(`${JSON.stringify(c.text.slice(0, 60))} special=${c.special}: got ${got.slice(0, 10)} llama.cpp ${ref[i].slice(0, 10)}`);
    });
    assert.deepEqual(bad, [], `${bad.length} of ${cases.length} cases differ from llama.cpp`);
  });

  test(`${setup.name}: decode inverts encode; special tokens only when parsed or user-defined`, () => {
    const normalize = setup.name === 'qwen3' ? (s: string) => s.normalize('NFC') : (s: string) => s;
    for (const s of strings) assert.equal(tok.decode(tok.encode(s)), normalize(s));
    const imEnd = setup.name === 'qwen3' ? '<|im_end|>' : '<|eot_id|>';
    const id = tok.tokenId(imEnd);
    assert.ok(!tok.encode(`a${imEnd}b`).includes(id), `${imEnd} in plain text stays text`);
    assert.ok(tok.encode(`a${imEnd}b`, { parseSpecial: true }).includes(id));
    assert.equal(tok.decode([id]), '');
    assert.equal(tok.decode([id], { special: true }), imEnd);
    if (setup.name === 'qwen3') {
      assert.deepEqual(tok.encode('x<think>y'), [...tok.encode('x'), 151667, ...tok.encode('y')], 'user-defined tokens always match');
      assert.deepEqual(tok.encode('cafe\u0301'), tok.encode('café'), 'Qwen normalizes to NFC first');
    }
  });

  test(`${setup.name}: tokenizing ~1 MB of code (rate reported, not asserted)`, (t) => {
    const text = sourceFiles.map(readSource).join('\n');
    const fresh = createTokenizer(metadata); // empty word cache
    const t0 = performance.now();
    const n = fresh.encode(text).length;
    const s = (performance.now() - t0) / 1000;
    t.diagnostic(`${setup.name}: ${text.length} chars -> ${n} tokens in ${s.toFixed(2)} s = ${Math.round(n / s)} tokens/s`);
    assert.ok(n > text.length / 8);
  });
}
