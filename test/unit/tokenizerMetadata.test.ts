// Reading tokenizer metadata: errors that name the key, llama.cpp's defaults, the byte-level alphabet, GGUF entries.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { GgufValue } from '../../gpu/gguf/reader';
import { byteToChar, fromByteLevel, toByteLevel } from '../../gpu/tokenizer/byteLevel';
import { TokenizerError } from '../../gpu/errors';
import { detectPre, tokenizerMetadataFromHf } from '../../gpu/tokenizer/fromHf';
import { tokenizerGgufEntries } from '../../gpu/tokenizer/ggufEntries';
import { createTokenizer } from '../../gpu/tokenizer/tokenizer';

/** A tiny byte-level vocabulary: the 256 bytes, "ab", "abc", and a control token. */
function tinyGpt2(extra: [string, GgufValue][] = []): Map<string, GgufValue> {
  const tokens = [...byteToChar, 'ab', 'abc', '<|end|>'];
  const types = new Int32Array(tokens.length).fill(1);
  types[tokens.length - 1] = 3;
  return new Map<string, GgufValue>([
    ['tokenizer.ggml.model', 'gpt2'],
    ['tokenizer.ggml.pre', 'gpt-2'],
    ['tokenizer.ggml.tokens', tokens],
    ['tokenizer.ggml.token_type', types],
    ['tokenizer.ggml.merges', ['a b', 'ab c']],
    ...extra,
  ]);
}

const throwsNaming = (fn: () => unknown, pattern: RegExp) =>
  assert.throws(fn, (e: Error) => e instanceof TokenizerError && pattern.test(e.message));

test('a tiny byte-level vocabulary merges by rank and spells unknown text byte by byte', () => {
  const tok = createTokenizer(tinyGpt2([['tokenizer.ggml.eos_token_id', 258]]));
  // Token id b is byte b; 256 = "ab", 257 = "abc". Words: "abc" | " abd".
  assert.deepEqual(tok.encode('abc abd'), [257, 0x20, 256, 0x64]);
  assert.equal(tok.decode(tok.encode('abc abd é')), 'abc abd é');
  assert.deepEqual([tok.bos, tok.eos, tok.addBos, [...tok.eogIds]], [-1, 258, false, [258]], "no BOS key: no BOS (llama.cpp's default 11 is ',')");
  assert.deepEqual(tok.encode('a<|end|>', { parseSpecial: true }), [0x61, 258]);
  throwsNaming(() => tok.encode('x', { addBos: true }), /no BOS token/);
  throwsNaming(() => tok.tokenBytes(259), /token id 259 is outside the vocabulary \[0, 259\)/);
});

test('metadata errors name the key and what was found', () => {
  const without = (key: string) => new Map([...tinyGpt2()].filter(([k]) => k !== key));
  throwsNaming(() => createTokenizer(without('tokenizer.ggml.model')), /tokenizer\.ggml\.model: expected a string, found nothing/);
  throwsNaming(() => createTokenizer(tinyGpt2([['tokenizer.ggml.model', 'bert']])), /model is 'bert'.*'llama'.*'gpt2'/);
  throwsNaming(() => createTokenizer(tinyGpt2([['tokenizer.ggml.pre', 'chatglm-bpe']])), /pre is 'chatglm-bpe': this engine knows .*'qwen2'/);
  throwsNaming(() => createTokenizer(without('tokenizer.ggml.merges')), /merges: a 'gpt2' tokenizer needs its merges/);
  throwsNaming(() => createTokenizer(tinyGpt2([['tokenizer.ggml.tokens', new Int32Array(3)]])), /tokens: expected an array of strings, found a Int32Array/);
  throwsNaming(() => createTokenizer(tinyGpt2([['tokenizer.ggml.token_type', new Int32Array(5)]])), /token_type: holds 5 values, needs one per token \(259\)/);
  throwsNaming(() => createTokenizer(tinyGpt2([['tokenizer.ggml.merges', ['ab']]])), /merges\[0\] is 'ab': expected 'left right'/);
  throwsNaming(() => createTokenizer(tinyGpt2([['tokenizer.ggml.tokens', ['a', 'b']], ['tokenizer.ggml.token_type', new Int32Array(2)]])), /needs one token per byte; 254 bytes have none/);
  throwsNaming(() => createTokenizer(tinyGpt2([['tokenizer.ggml.bos_token_id', 'one']])), /bos_token_id: expected an integer, found string/);
});

test('the byte-level alphabet covers 256 bytes with distinct printable characters and round-trips', () => {
  assert.equal(new Set(byteToChar).size, 256);
  assert.equal(byteToChar[0x20], 'Ġ');
  assert.equal(byteToChar[0x0a], 'Ċ');
  assert.equal(byteToChar[0x41], 'A');
  const text = 'tab\t nl\n ü 日 🙂 \u0000';
  assert.deepEqual(fromByteLevel(toByteLevel(text)), new TextEncoder().encode(text));
  assert.deepEqual(fromByteLevel('<|end|>'), new TextEncoder().encode('<|end|>'), 'chars outside the alphabet stay UTF-8');
});

test('tokenizerGgufEntries types ids u32, token types i32, scores f32, lists as string arrays', () => {
  const entries = new Map(tokenizerGgufEntries(tinyGpt2([['tokenizer.ggml.eos_token_id', 258], ['tokenizer.ggml.add_bos_token', false], ['tokenizer.ggml.scores', new Float32Array(259)]])));
  assert.deepEqual(entries.get('tokenizer.ggml.eos_token_id'), { type: 'u32', value: 258 });
  assert.equal((entries.get('tokenizer.ggml.token_type') as { itemType: string }).itemType, 'i32');
  assert.equal((entries.get('tokenizer.ggml.scores') as { itemType: string }).itemType, 'f32');
  assert.equal((entries.get('tokenizer.ggml.tokens') as { itemType: string }).itemType, 'string');
  assert.deepEqual(entries.get('tokenizer.ggml.add_bos_token'), { type: 'bool', value: false });
  throwsNaming(() => tokenizerGgufEntries(new Map([['general.name', 'x']])), /'general\.name' is not a tokenizer\.\* key/);
});

test('tokenizer.json conversion: pre detection, added-token types, holes, errors', () => {
  const json = {
    model: { type: 'BPE', vocab: Object.fromEntries(byteToChar.map((c, i) => [c, i])), merges: [['a', 'b']] },
    added_tokens: [
      { id: 258, content: '<|im_end|>', special: true },
      { id: 259, content: '<think>', special: false },
      { id: 260, content: '<|fim_pad|>', special: false },
    ],
    pre_tokenizer: { type: 'ByteLevel', use_regex: true },
  };
  const meta = tokenizerMetadataFromHf(json, { eos_token: { content: '<|im_end|>' }, add_bos_token: false });
  assert.equal(meta.get('tokenizer.ggml.pre'), 'gpt-2');
  assert.deepEqual((meta.get('tokenizer.ggml.tokens') as string[]).slice(256), ['[PAD256]', '[PAD257]', '<|im_end|>', '<think>', '<|fim_pad|>']);
  assert.deepEqual([...(meta.get('tokenizer.ggml.token_type') as Int32Array).slice(255)], [1, 5, 5, 3, 4, 3]);
  assert.deepEqual(meta.get('tokenizer.ggml.merges'), ['a b']);
  assert.equal(meta.get('tokenizer.ggml.eos_token_id'), 258);
  throwsNaming(() => detectPre({ pre_tokenizer: { type: 'Split', pattern: { Regex: '\\w+' } } }), /Split pattern "\\\\w\+"… is not one this engine knows/);
  throwsNaming(() => tokenizerMetadataFromHf({ model: { type: 'Unigram' } }), /model\.type is "Unigram", expected "BPE"/);
});
