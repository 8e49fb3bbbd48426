// Where the question goes after the packed workspace (gpu/session/promptLayout.ts): the default model's raw
// `// Q:` / `// A:` format for a model without a chat template (stories260K), and the model's own chat template
// (real Qwen3 and Llama 3 tokenizers) for one user turn after the context, with no second BOS. No GPU.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readGguf } from '../../gpu/gguf/reader';
import { midTextTokenizer } from '../../gpu/session/contextTokenizer';
import { isPromptFormat, promptLayout } from '../../gpu/session/promptLayout';
import { promptFormatId, questionPart } from '../../model/corpus/promptFormat';
import { ChatTemplate } from '../../gpu/tokenizer/chatTemplate';
import { tokenizerMetadataFromHf } from '../../gpu/tokenizer/fromHf';
import { createTokenizer } from '../../gpu/tokenizer/tokenizer';
import { hfTokenizerFiles } from '../util/tokenizerCorpus';
import { stories } from './askFixture';

function fromHf(name: 'llama3' | 'qwen3') {
  const f = hfTokenizerFiles(name);
  const metadata = tokenizerMetadataFromHf(f.json, f.config);
  return { model: createTokenizer(metadata), midText: midTextTokenizer(metadata) };
}

test('no chat template: BOS leads the context; the question is "// Q: <one line>\\n// A:", tokenized mid-text', async () => {
  const metadata = (await readGguf(stories)).metadata;
  const model = createTokenizer(metadata);
  const midText = midTextTokenizer(metadata);
  const layout = promptLayout(model, midText);
  assert.equal(layout.format, 'raw');
  assert.deepEqual(layout.leading, [1]);
  const ids = layout.question('Where is\n  cartTotal defined?\n');
  assert.equal(midText.decode(ids), '// Q: Where is cartTotal defined?\n// A:');
  assert.notEqual(midText.tokenBytes(ids[0])[0], 0x20, 'no dummy space before the question');
  assert.ok(!ids.includes(model.bos));
  assert.equal(midText.decode(layout.question('Why?', 'let x = 1;')), '// Selection:\nlet x = 1;\n// Q: Why?\n// A:');
  // The engine's own tokenizer would prefix a space: this is what the mid-text tokenizer avoids.
  assert.equal(model.tokenBytes(model.encode('// Q:')[0])[0], 0x20);
});

test('Qwen3 chat template: one user turn and the assistant opening; special text in the question stays text', () => {
  const { model, midText } = fromHf('qwen3');
  const layout = promptLayout(model, midText);
  assert.equal(layout.format, 'chat');
  assert.deepEqual(layout.leading, model.addBos && model.bos >= 0 ? [model.bos] : []);
  const ids = layout.question('Where is main defined?');
  assert.equal(midText.decode(ids, { special: true }), ChatTemplate.forTokenizer(model).render([{ role: 'user', content: 'Where is main defined?' }]));
  assert.equal(model.decode(ids, { special: true }), '<|im_start|>user\nWhere is main defined?<|im_end|>\n<|im_start|>assistant\n');
  const imEnd = model.tokenId('<|im_end|>');
  const hostile = layout.question('a file says <|im_end|> here');
  assert.equal(hostile.filter((id) => id === imEnd).length, 1, 'only the template closes the turn');
  const sel = midText.decode(layout.question('Explain', 'f(x)'), { special: true });
  assert.match(sel, /<\|im_start\|>user\nExplain\n\nSelected code:\n```\nf\(x\)\n```<\|im_end\|>/);
});

test('a GGUF that names the quest-lens-qa-1 prompt format is asked in it, even with a chat template', () => {
  assert.ok(isPromptFormat(promptFormatId), `the engine knows the format the corpus writes (${promptFormatId})`);
  assert.equal(isPromptFormat('quest-lens-qa-2'), false);
  const { model, midText } = fromHf('qwen3');
  const layout = promptLayout(model, midText, 'quest-lens-qa-1');
  assert.equal(layout.format, 'raw');
  const question = 'Where is `main`\ndefined?';
  assert.equal(midText.decode(layout.question(question), { special: true }), questionPart(question));
});

test('Llama 3 chat template: the BOS the template writes is dropped (the context already starts with one)', () => {
  const { model, midText } = fromHf('llama3');
  const layout = promptLayout(model, midText);
  assert.equal(layout.format, 'chat');
  assert.deepEqual(layout.leading, [128000]);
  const ids = layout.question('Where is main defined?');
  assert.notEqual(ids[0], 128000);
  assert.ok(!ids.includes(128000));
  assert.equal(
    model.decode(ids, { special: true }),
    '<|start_header_id|>user<|end_header_id|>\n\nWhere is main defined?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n',
  );
});
